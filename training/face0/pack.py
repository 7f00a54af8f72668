"""Packs augmented shards small for an accelerator machine: images framed and resized to the training size
and stored as WebP, face embeddings as float16, json reduced to the fields training reads (the face box
moved into the packed image's pixels), gzip.

The celeba128 shards (225 MB) become 43 MB at 64 px, under a device call's 64 MiB working tree. Training
reads packed shards unchanged (`train SHARDS_DIR`): a packed image is the same square_resize the trainer
applies, through WebP quality 90 (37 dB PSNR at 64 px); a float16 embedding is within 2^-11 relative of
face0.extraction's float32 one.
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

from face0.data import (
    EMBEDDING_EXTENSION,
    ShardWriter,
    box_in_square,
    image_extension,
    list_shards,
    npy_array,
    npy_bytes,
    read_samples,
    square_resize,
)
from face0.extraction import ImageError, load_image

# What decode_sample and the caption/face-source options read from a sample's json (and the face box).
TRAINING_FIELDS = ("key", "celeba_identity", "attributes", "caption")


def pack_sample(files: dict[str, bytes], image_size: int, quality: int) -> dict[str, bytes]:
    """One sample's packed members; raises ImageError for an undecodable image."""
    rgb = load_image(files[image_extension(files)])
    image = square_resize(rgb, image_size)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "WEBP", quality=quality, method=6)
    packed = {"webp": buffer.getvalue()}
    if "txt" in files:
        packed["txt"] = files["txt"]
    if "json" in files:
        meta = json.loads(files["json"])
        fields = {k: meta[k] for k in TRAINING_FIELDS if k in meta}
        if meta.get("face"):  # the box, moved into the packed image's pixels
            fields["face"] = {"box": box_in_square(meta["face"]["box"], *rgb.shape[:2], image_size)}
        packed["json"] = json.dumps(fields).encode()
    if EMBEDDING_EXTENSION in files:
        packed[EMBEDDING_EXTENSION] = npy_bytes(npy_array(files[EMBEDDING_EXTENSION]).astype(np.float16))
    return packed


def pack(shards: list[Path], out: Path, image_size: int, quality: int = 90) -> list[Path]:
    """Writes out/NAME.tar.gz for each shard (samples without a decodable image are left out)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for shard in shards:
        path = out / f"{shard.name.removesuffix('.gz')}.gz"
        with ShardWriter(path) as writer:
            for key, files in read_samples(shard):
                if image_extension(files) is None:
                    continue
                try:
                    writer.write(key, pack_sample(files, image_size, quality))
                except ImageError:
                    continue
        written.append(path)
        print(f"pack: {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", nargs="+", help="augmented shards, folders or glob patterns")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--image-size", type=int, default=64, help="the model config's image_size")
    parser.add_argument("--quality", type=int, default=90, help="WebP quality")


def run(args: argparse.Namespace) -> None:
    pack(list_shards(args.shards), args.out, args.image_size, args.quality)
