"""Writes a checkpoint's models with their EMA weights and no optimizer state (export, --init)."""

import argparse
from pathlib import Path

import torch

from face0.checkpoints import slim_checkpoint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--float16", action="store_true", help="store floating-point tensors as float16")
    parser.add_argument("--no-ema", action="store_true", help="the raw weights instead of the EMA ones")


def run(args: argparse.Namespace) -> None:
    dtype = torch.float16 if args.float16 else torch.float32
    slim_checkpoint(args.checkpoint, args.out, dtype, ema=not args.no_ema)
    print(f"slim: {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB)")
