"""The denoising objective `train` optimises and `bench` times: the Denoiser (what DDP wraps), a
micro-batch's tensors, the prediction MSE (epsilon or v, face0.prediction) plus the identity loss, and which
parameters train."""

from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DDPMScheduler
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from face0.configs import ModelConfig
from face0.data import Sample
from face0.identity_loss import IdentityLoss
from face0.models import Face0Models, decode_latents, encode_latents, insert_face_tokens
from face0.prediction import training_target, x0_from_output
from face0.taef2 import Taef2Autoencoder


class Denoiser(nn.Module):
    """The U-Net's prediction (the config's prediction_type) from noisy latents, timesteps, CLIP ids and face
    embeddings (what DDP wraps)."""

    def __init__(self, models: Face0Models, train_text_encoder: bool):
        super().__init__()
        self.models = models
        self.train_text_encoder = train_text_encoder

    def forward(self, noisy, timesteps, input_ids, face_embedding, has_face):
        with torch.set_grad_enabled(self.train_text_encoder and torch.is_grad_enabled()):
            text = self.models.text_encoder(input_ids)
        tokens = self.models.face_projector(face_embedding)
        context = insert_face_tokens(text, tokens, has_face, self.models.config.face_token_positions)
        return self.models.unet(noisy, timesteps, context).sample


def ddpm_scheduler(config: ModelConfig) -> DDPMScheduler:
    s = config.scheduler
    return DDPMScheduler(
        num_train_timesteps=s.num_train_timesteps,
        beta_start=s.beta_start,
        beta_end=s.beta_end,
        beta_schedule=s.beta_schedule,
        prediction_type=s.prediction_type,
        clip_sample=False,
    )


def images_to_tensor(samples: list[Sample]) -> torch.Tensor:
    """uint8 (S, S, 3) images -> (B, 3, S, S) float32 in [-1, 1]."""
    images = torch.from_numpy(np.stack([s.image for s in samples])).permute(0, 3, 1, 2).contiguous()
    return images.float().div_(127.5).sub_(1.0)


@dataclass
class Batch:
    images: torch.Tensor  # (B, 3, S, S) in [-1, 1]
    input_ids: torch.Tensor  # (B, 77)
    face_embedding: torch.Tensor  # (B, E)
    has_face: torch.Tensor  # (B,) bool
    captions: list[str]
    # (B, C, h, w) raw latents packed with the images (each the image's or, at random, its mirror's); None:
    # the autoencoder encodes `images` at every step.
    latents: torch.Tensor | None = None
    crop_boxes: torch.Tensor | None = None  # (B, 4) face crop boxes in image pixels, NaN without a face


@dataclass
class Identity:
    """The identity loss of a run and its weight."""

    loss: IdentityLoss
    weight: float


def draw_timesteps(
    count: int, steps: int, generator: torch.Generator, high_timesteps: tuple[float, int] = (0.0, 0)
) -> torch.Tensor:
    """Uniform in [0, steps), except the first round(share * count), uniform in [first, steps)."""
    timesteps = torch.randint(0, steps, (count,), generator=generator)
    share, first = high_timesteps
    high = round(share * count)
    if high:
        timesteps[:high] = torch.randint(first, steps, (high,), generator=generator)
    return timesteps


def diffusion_loss(
    denoiser: nn.Module,
    vae: nn.Module,
    scheduler: DDPMScheduler,
    batch: Batch,
    generator: torch.Generator,
    device: torch.device,
    bf16: bool,
    identity: Identity | None = None,
    high_timesteps: tuple[float, int] = (0.0, 0),
    v_loss_cap: float = 0.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Prediction MSE (epsilon or v, the scheduler's prediction_type) at random timesteps (noise, timesteps
    and latents drawn from `generator`), plus the weighted identity loss on the decoded x0-predictions of
    low-noise samples; returns the total and its terms for the log. `high_timesteps` (share, first): that
    share of the batch has t >= first.
    `v_loss_cap` > 0 weighs each sample's MSE by min(1 / alpha-bar_t, cap): v-prediction's loss written in
    epsilon (v error = epsilon error / sqrt(alpha-bar)), which asks for x0 accuracy at high t; the logged
    "mse" stays unweighted (a v-prediction model's loss already is v's: TrainOptions refuses both)."""
    prediction_type = scheduler.config.prediction_type
    with torch.no_grad():
        if batch.latents is not None:
            latents = vae.standardise(batch.latents.to(device))
        else:
            latents = encode_latents(vae, batch.images.to(device), generator)
    noise = torch.randn(latents.shape, generator=generator).to(device)
    steps = scheduler.config.num_train_timesteps
    timesteps = draw_timesteps(latents.shape[0], steps, generator, high_timesteps).to(device)
    noisy = scheduler.add_noise(latents, noise, timesteps)
    face_embedding, has_face = batch.face_embedding.to(device), batch.has_face.to(device)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        pred = denoiser(noisy, timesteps, batch.input_ids.to(device), face_embedding, has_face)
    alpha_bar = scheduler.alphas_cumprod.to(device)[timesteps].float()[:, None, None, None]
    target = training_target(prediction_type, latents, noise, alpha_bar)
    per_sample = ((pred.float() - target) ** 2).mean((1, 2, 3))
    terms = {"mse": per_sample.mean().item()}
    if v_loss_cap > 0:
        weights = (1.0 / alpha_bar.flatten()).clamp(max=v_loss_cap)
        mse = (weights * per_sample).mean()
    else:
        mse = per_sample.mean()
    if identity is None:
        return mse, terms
    boxes = batch.crop_boxes.to(device)
    chosen = identity.loss.selected(timesteps, has_face, boxes)
    terms["identity_samples"] = len(chosen)
    if len(chosen) == 0:
        return mse, terms
    x0 = x0_from_output(prediction_type, pred[chosen].float(), noisy[chosen], alpha_bar[chosen])
    images = decode_latents(vae, x0 / vae_scaling_factor(vae))
    projector = unwrapped(denoiser).models.face_projector
    identity_term = identity.loss(
        images, boxes[chosen], face_embedding[chosen], projector.embedding_mean, projector.embedding_std
    )
    terms["identity"] = identity_term.item()
    return mse + identity.weight * identity_term, terms


def vae_scaling_factor(vae: nn.Module) -> float:
    return 1.0 if isinstance(vae, Taef2Autoencoder) else vae.config.scaling_factor


def unwrapped(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, DistributedDataParallel) else module


def trainable_parameters(models: Face0Models, train_text_encoder: bool) -> dict[str, nn.Parameter]:
    parts = ["face_projector", "unet"] + (["text_encoder"] if train_text_encoder else [])
    named = {}
    for part in parts:
        for name, p in getattr(models, part).named_parameters():
            named[f"{part}.{name}"] = p
    for name, p in models.named_parameters():
        p.requires_grad_(name in named)
    return named
