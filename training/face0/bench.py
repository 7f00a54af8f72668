"""Prints training throughput (samples/s) on synthetic inputs."""

import argparse
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from face0.captions import caption_vocabulary_text
from face0.clip_vocab import clip_tokenizer
from face0.config_json import load_model_config
from face0.configs import ModelConfig
from face0.diffusion_loss import (
    Batch,
    Denoiser,
    Identity,
    ddpm_scheduler,
    diffusion_loss,
    trainable_parameters,
)
from face0.distributed import init_distributed
from face0.facemodels import DEFAULT_MODEL_DIR
from face0.facemodels.torch_embedder import FaceEmbedderTorch
from face0.identity_loss import IdentityLoss
from face0.models import build_models, build_vocabulary


def bench(
    config: ModelConfig, batch: int, steps: int, warmup: int, bf16: bool, gradient_checkpointing: bool,
    identity_weight: float = 0.0,
) -> tuple[float, float]:  # fmt: skip
    """(training samples/s, training FLOPs per sample) of one process on synthetic inputs (random images,
    captions, embeddings; for TAEF2 configurations cached latents, as `pack --autoencoder` gives). FLOPs are
    torch's count of one step's matmuls, convolutions and attention (forward and backward, the autoencoder's
    encoder or the identity loss's decoder and embedder included): a figure that does not depend on the
    machine's load. With `identity_weight`, every sample is in the identity loss's timestep range."""
    info = init_distributed()
    tokenizer = clip_tokenizer(config.face_token_positions)
    vocabulary = build_vocabulary(caption_vocabulary_text(), tokenizer.encode)
    models = build_models(config, vocabulary, seed=0).to(info.device)
    models.vae.eval().requires_grad_(False)
    if gradient_checkpointing:
        models.unet.enable_gradient_checkpointing()
    named = trainable_parameters(models, train_text_encoder=True)
    optimizer = torch.optim.AdamW(named.values(), lr=1e-4)
    denoiser, scheduler = Denoiser(models, True), ddpm_scheduler(config)
    g = torch.Generator().manual_seed(0)
    batch_data = Batch(
        images=torch.rand(batch, 3, config.image_size, config.image_size, generator=g) * 2 - 1,
        input_ids=torch.from_numpy(tokenizer(["a photo of a smiling woman with blond hair"] * batch)),
        face_embedding=torch.randn(batch, config.projector.embedding_width, generator=g),
        has_face=torch.ones(batch, dtype=torch.bool),
        captions=[],
        latents=(
            torch.randn(
                batch, config.vae.latent_channels, config.latent_size, config.latent_size, generator=g
            )
            if config.vae.kind == "taef2"
            else None
        ),
        crop_boxes=torch.tensor([[0.1, 0.1, 0.8, 0.8]]).repeat(batch, 1) * config.image_size,
    )
    identity = None
    if identity_weight:
        embedder = FaceEmbedderTorch.from_bundle(DEFAULT_MODEL_DIR).to(info.device)
        steps_all = config.scheduler.num_train_timesteps
        identity = Identity(IdentityLoss(embedder, steps_all, batch), identity_weight)

    def step() -> None:
        loss, _ = diffusion_loss(denoiser, models.vae, scheduler, batch_data, g, info.device, bf16, identity)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    counter = FlopCounterMode(display=False)
    with counter:
        step()
    elapsed = 0.0
    for i in range(warmup + steps):
        if info.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if info.device.type == "cuda":
            torch.cuda.synchronize()
        if i >= warmup:
            elapsed += time.perf_counter() - start
    return steps * batch / elapsed, counter.get_total_flops() / batch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--identity-weight", type=float, default=0.0, help="identity loss on every sample")


def run(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_model_config(args.config)
    rate, flops = bench(
        config,
        args.batch,
        args.steps,
        args.warmup,
        args.bf16,
        args.gradient_checkpointing,
        args.identity_weight,
    )
    device = "cuda" if torch.cuda.is_available() else f"cpu, {torch.get_num_threads()} threads"
    print(
        f"bench {config.name}: batch {args.batch}, {rate:.2f} training samples/s ({device}), "
        f"{flops / 1e9:.2f} GFLOP per training sample"
    )
