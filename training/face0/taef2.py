"""TAEF2, the pretrained tiny autoencoder in ../shared/pretrained/taef2 (Ollin Boer Bohan, MIT licence):
32 latent channels at 1/8 resolution, images in [0, 1].

Written here from the weights' README (the key layout of two `nn.Sequential`s); no code of the original is
copied. `load_taef2()` builds both halves and loads the published float16 state dicts into float32 modules.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from face0.configs import PRETRAINED_DIR

TAEF2_DIR = PRETRAINED_DIR / "taef2"
TAEF2_LATENT_CHANNELS = 32
WIDTH = 64
POOL_WIDTH = 256
POOL_GROUPS = 4
# The decoder's first layer softly limits latents to about +-3.
LATENT_LIMIT = 3.0


def conv(c_in: int, c_out: int, bias: bool = True, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias)


class Block(nn.Module):
    """x (+ pool(x) when pooled), then ReLU(conv3(ReLU(conv2(ReLU(conv1(x))))) + x)."""

    def __init__(self, pooled: bool):
        super().__init__()
        self.conv = nn.Sequential(
            conv(WIDTH, WIDTH), nn.ReLU(), conv(WIDTH, WIDTH), nn.ReLU(), conv(WIDTH, WIDTH)
        )
        self.pool = (
            nn.Sequential(
                nn.Conv2d(WIDTH, POOL_WIDTH, 1, bias=False),
                nn.GroupNorm(POOL_GROUPS, POOL_WIDTH),
                nn.ReLU(),
                nn.Conv2d(POOL_WIDTH, WIDTH, 1, bias=False),
            )
            if pooled
            else None
        )
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return self.relu(self.conv(x) + x)


class SoftLimit(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return LATENT_LIMIT * torch.tanh(x / LATENT_LIMIT)


def taef2_encoder() -> nn.Sequential:
    """RGB [0, 1] (B, 3, H, W) -> raw latents (B, 32, H/8, W/8)."""
    layers: list[nn.Module] = [conv(3, WIDTH), Block(False)]
    for pooled in (False, False, True):
        layers += [conv(WIDTH, WIDTH, bias=False, stride=2), Block(pooled), Block(pooled), Block(pooled)]
    layers.append(conv(WIDTH, TAEF2_LATENT_CHANNELS))
    return nn.Sequential(*layers)


def taef2_decoder() -> nn.Sequential:
    """Raw latents (B, 32, h, w) -> RGB (B, 3, 8h, 8w), about [0, 1] (clamp it)."""
    layers: list[nn.Module] = [SoftLimit(), conv(TAEF2_LATENT_CHANNELS, WIDTH), nn.ReLU()]
    for blocks, pooled in ((3, True), (3, False), (3, False)):
        layers += [Block(pooled) for _ in range(blocks)]
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), conv(WIDTH, WIDTH, bias=False)]
    layers += [Block(False), conv(WIDTH, 3)]
    return nn.Sequential(*layers)


def load_taef2(directory: Path = TAEF2_DIR) -> tuple[nn.Sequential, nn.Sequential]:
    """(encoder, decoder) in float32 eval mode with the published weights; fails naming a missing file."""
    halves = []
    for name, build in (("encoder", taef2_encoder), ("decoder", taef2_decoder)):
        path = directory / f"taef2_{name}.pth"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: TAEF2 {name} weights not found (../shared/pretrained/taef2)")
        module = build()
        module.load_state_dict({k: v.float() for k, v in torch.load(path, weights_only=True).items()})
        halves.append(module.eval())
    return halves[0], halves[1]


class Taef2Autoencoder(nn.Module):
    """TAEF2 on the [-1, 1] images the rest of the pipeline uses, with the latents the U-Net sees: TAEF2's raw
    latents standardised per channel (`latent_mean`, `latent_std`, fitted on training latents and stored in
    checkpoints; the exported decoder graph undoes them). Unit-variance channels are what made this latent
    space learnable on a CPU budget (issue 16's probe), where raw ones (std 1.05) were not."""

    def __init__(self, directory: Path | None = TAEF2_DIR):
        super().__init__()
        if directory is None:  # weights come from a checkpoint's state dict
            self.encoder, self.decoder = taef2_encoder().eval(), taef2_decoder().eval()
        else:
            self.encoder, self.decoder = load_taef2(directory)
        self.register_buffer("latent_mean", torch.zeros(TAEF2_LATENT_CHANNELS))
        self.register_buffer("latent_std", torch.ones(TAEF2_LATENT_CHANNELS))

    def set_latent_statistics(self, raw_latents: torch.Tensor) -> None:
        """Per-channel mean and std of (N, 32, h, w) raw training latents."""
        self.latent_mean.copy_(raw_latents.mean((0, 2, 3)))
        self.latent_std.copy_(raw_latents.std((0, 2, 3)).clamp_min(1e-6))

    def encode_raw(self, images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images (B, 3, H, W) -> raw TAEF2 latents (B, 32, H/8, W/8)."""
        return self.encoder((images + 1.0) * 0.5)

    def standardise(self, raw: torch.Tensor) -> torch.Tensor:
        return (raw - self.latent_mean[:, None, None]) / self.latent_std[:, None, None]

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images -> the latents the U-Net denoises."""
        return self.standardise(self.encode_raw(images))

    def decode_unit(self, latents: torch.Tensor) -> torch.Tensor:
        """U-Net latents -> images in [0, 1] (TAEF2's own range: what the bundle's decoder graph outputs)."""
        raw = latents * self.latent_std[:, None, None] + self.latent_mean[:, None, None]
        return self.decoder(raw).clamp(0.0, 1.0)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """U-Net latents -> images in [-1, 1]."""
        return self.decode_unit(latents) * 2.0 - 1.0
