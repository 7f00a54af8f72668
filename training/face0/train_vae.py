"""Trains the VAE alone (from-scratch configurations) before `train`.

Writes a train-vae file (face0.checkpoints) with the latent scaling factor 1 / std(latents), which
`train --vae` starts from and `--decoder-only` fine-tunes.
"""

import argparse
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

from face0.checkpoints import VAE_FORMAT, encoder_keys, read_vae_file, save_atomic
from face0.config_json import load_model_config
from face0.configs import ModelConfig
from face0.data import CACHE_HELP, Sample, SampleReader, SampleStream, list_shards
from face0.diffusion_loss import images_to_tensor
from face0.distributed import allow_tf32
from face0.models import build_vae
from face0.progress import Progress
from face0.step_schedule import derived_seed, scheduled_lr


def face_weights(samples: list[Sample], size: int, face_weight: float) -> torch.Tensor:
    """(B, 1, S, S) per-pixel loss weights: 1, and 1 + face_weight inside the sample's face box."""
    weights = torch.ones(len(samples), 1, size, size)
    grid = torch.arange(size) + 0.5  # pixel centres
    for i, sample in enumerate(samples):
        box = sample.face_box
        if box is None:
            continue
        rows = (grid >= box["y"]) & (grid < box["y"] + box["height"])
        cols = (grid >= box["x"]) & (grid < box["x"] + box["width"])
        weights[i, 0] += face_weight * (rows[:, None] & cols[None, :])
    return weights


def vae_loss(
    vae, images: torch.Tensor, generator: torch.Generator, kl_weight: float,
    weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(L1 + L2 reconstruction + kl_weight * KL, the sampled latents). `weights` (B, 1, S, S) weighs the
    reconstruction's pixels; the mean stays a per-element mean (all-ones weights give the plain loss)."""
    posterior = vae.encode(images).latent_dist
    z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=generator).to(
        images.device
    )
    reconstruction = vae.decode(z).sample
    if weights is None:
        loss = F.l1_loss(reconstruction, images) + F.mse_loss(reconstruction, images)
    else:
        error = reconstruction - images
        loss = ((error.abs() + error.square()) * weights).sum() / (weights.sum() * images.shape[1])
    return loss + kl_weight * posterior.kl().mean(), z


def train_vae(
    shards: list[Path], config: ModelConfig, out: Path, steps: int, batch: int = 16, lr: float = 1e-4,
    kl_weight: float = 1e-6, seed: int = 0, device: str | None = None, log_every: int = 50,
    init: Path | None = None, decoder_only: bool = False, lr_warmup: int = 0, lr_final: float | None = None,
    cache_decoded: bool = False, face_weight: float = 0.0,
) -> dict:  # fmt: skip
    """Trains the AutoencoderKL alone on images and saves it with the scaling factor 1 / std(latents).

    `decoder_only` fine-tunes the decoder of the `init` VAE and keeps its encoder frozen, so the latents,
    their scaling factor and a U-Net trained on them stay valid (what SD's ft-MSE decoders did). The lr
    warms up over `lr_warmup` steps; with `lr_final` it then decays (cosine) to lr_final at the last step.
    `face_weight` > 0 weighs the reconstruction inside each sample's face box 1 + face_weight times the rest:
    identity lives in the face, and a small decoder cannot render every pixel well."""
    if decoder_only and init is None:
        raise ValueError("--decoder-only fine-tunes an existing VAE: give it with --init")
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    allow_tf32(target)
    torch.manual_seed(seed)
    vae = build_vae(config)
    start = read_vae_file(init) if init else None
    if start:
        vae.load_state_dict(start["vae"])
    vae = vae.to(target)
    if decoder_only:
        frozen = set(encoder_keys(vae.state_dict()))
        for name, parameter in vae.named_parameters():
            parameter.requires_grad_(name not in frozen)
    reader = SampleReader(
        SampleStream(shards, 0, 1, seed, 1000), config.image_size, config.projector.embedding_width, False,
        cache=cache_decoded,
    )  # fmt: skip
    optimizer = torch.optim.AdamW([p for p in vae.parameters() if p.requires_grad], lr=lr)
    progress = Progress(steps, "train-vae", "steps", every_s=30.0)
    losses = []
    decay_from = None if lr_final is None else lr_warmup
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = scheduled_lr(step, lr, lr_warmup, decay_from, lr_final or 0.0, steps)
        generator = torch.Generator().manual_seed(derived_seed(seed, step))
        samples = reader.next_batch(batch)
        weights = face_weights(samples, config.image_size, face_weight).to(target) if face_weight else None
        loss, _ = vae_loss(vae, images_to_tensor(samples).to(target), generator, kl_weight, weights)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        progress.update(1, f"loss {loss.item():.4f}")
    vae.eval()
    with torch.no_grad():
        generator = torch.Generator().manual_seed(derived_seed(seed, steps))
        latents = [
            vae_loss(vae, images_to_tensor(reader.next_batch(batch)).to(target), generator, 0)[1]
            for _ in range(4)
        ]
    # The frozen encoder's latents are the init's: its scaling factor stays exact.
    scaling_factor = (
        start["scaling_factor"] if decoder_only else float(1.0 / torch.cat(latents).flatten().std())
    )
    state = {
        "format": VAE_FORMAT,
        "model_config": asdict(config),
        "vae": {k: v.cpu() for k, v in vae.state_dict().items()},
        "scaling_factor": scaling_factor,
        "steps": steps,
        "losses": losses[::log_every],
        "init": None if init is None else str(init),
        "decoder_only": decoder_only,
        "face_weight": face_weight,
    }
    save_atomic(state, out)
    print(f"train-vae: {out}, final loss {losses[-1]:.4f}, scaling factor {scaling_factor:.4f}")
    return state


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", nargs="+")
    parser.add_argument("--out", type=Path, required=True, help="VAE file (.pt) for `train --vae`")
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--lr-warmup", type=int, default=0)
    parser.add_argument(
        "--lr-final", type=float, help="cosine decay to this lr at the last step (default: constant)"
    )
    parser.add_argument("--kl-weight", type=float, default=1e-6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--init", type=Path, help="train-vae file to start from")
    parser.add_argument(
        "--decoder-only", action="store_true", help="train only the decoder; the --init encoder stays frozen"
    )
    parser.add_argument("--cache-decoded", action="store_true", help=CACHE_HELP)
    parser.add_argument(
        "--face-weight", type=float, default=0.0, help="extra loss weight inside the face box (1 + W there)"
    )


def run(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_model_config(args.config)
    shards = list_shards(args.shards)
    train_vae(
        shards, config, args.out, args.steps, args.batch, args.lr, args.kl_weight, args.seed, args.device,
        init=args.init, decoder_only=args.decoder_only, lr_warmup=args.lr_warmup, lr_final=args.lr_final,
        cache_decoded=args.cache_decoded, face_weight=args.face_weight,
    )  # fmt: skip
