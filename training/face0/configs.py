"""Model shapes and the diffusion schedule of each Face0 configuration.

`tiny` is sized for the browser app (64x64 images, ~30 MiB of float16 weights); `celeba64` is a smaller
64x64 model that could be trained from scratch on 2 shared CPU cores (models/default ships it);
`celeba64-c8`, `celeba128-f8` and `celeba128-f4` are its measured variants (8 latent channels, 128 px);
`celeba128-taef2` is 128 px on the pretrained TAEF2 autoencoder, `celeba64-taef2` the same networks at 64 px;
`micro` is for tests (tiny's block types at the smallest sizes); `sd15` has Stable Diffusion 1.x shapes, as in
the Face0 paper; `train --pretrained DIR` derives the same shapes (and the noise schedule) from a diffusers
layout SD 1.x directory and loads its weights (face0.pretrained).
"""

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from face0.facemodels.embedder import EMBEDDING_WIDTH

# Shared read-only training data (celeba128, clip), beside the repository; FACE0_DATA overrides it.
DATA_DIR = Path(os.environ.get("FACE0_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
# Shared read-only pretrained weights (taef2), beside DATA_DIR.
PRETRAINED_DIR = DATA_DIR.parent / "pretrained"
TAEF2_DOWNSCALE = 8

# The projected face tokens replace the last three of CLIP's 77 context tokens (paper: "tokens 75-77").
FACE_TOKEN_POSITIONS = (74, 75, 76)
CONTEXT_LENGTH = 77


@dataclass(frozen=True)
class TextEncoderConfig:
    width: int
    layers: int
    heads: int
    intermediate: int
    hidden_act: str = "quick_gelu"


@dataclass(frozen=True)
class UNetConfig:
    block_out_channels: tuple[int, ...]
    down_block_types: tuple[str, ...]
    up_block_types: tuple[str, ...]
    layers_per_block: int
    # diffusers' `attention_head_dim` is the number of heads per attention block.
    attention_heads: int | tuple[int, ...]


@dataclass(frozen=True)
class VAEConfig:
    block_out_channels: tuple[int, ...]
    layers_per_block: int
    latent_channels: int
    # Latents are multiplied by this before diffusion; the decoder graph receives latents / scaling_factor.
    scaling_factor: float
    # "autoencoder-kl": diffusers' AutoencoderKL of these blocks, trained here (train-vae); "taef2": the
    # pretrained TAEF2 (face0.taef2, frozen; blocks unused), latents standardised per channel.
    kind: str = "autoencoder-kl"

    @property
    def downscale(self) -> int:
        return TAEF2_DOWNSCALE if self.kind == "taef2" else 2 ** (len(self.block_out_channels) - 1)


@dataclass(frozen=True)
class ProjectorConfig:
    embedding_width: int
    num_tokens: int = len(FACE_TOKEN_POSITIONS)
    num_layers: int = 4


# What the U-Net is trained to predict (face0.prediction).
PREDICTION_TYPES = ("epsilon", "v_prediction")


@dataclass(frozen=True)
class SchedulerConfig:
    """diffusers DDIMScheduler settings; the training noise schedule uses the same betas."""

    num_train_timesteps: int = 1000
    beta_schedule: str = "scaled_linear"
    beta_start: float = 0.00085
    beta_end: float = 0.012
    prediction_type: str = "epsilon"
    clip_sample: bool = False
    set_alpha_to_one: bool = False
    steps_offset: int = 1
    timestep_spacing: str = "leading"

    def __post_init__(self):
        if self.prediction_type not in PREDICTION_TYPES:
            raise ValueError(
                f"prediction_type must be one of {PREDICTION_TYPES} (got {self.prediction_type!r})"
            )


@dataclass(frozen=True)
class GuidanceDefaults:
    steps: int = 20
    w: float = 7.5
    c: float = 1.0
    a: float = 0.0


@dataclass(frozen=True)
class ModelConfig:
    name: str
    image_size: int
    context_width: int
    text_encoder: TextEncoderConfig
    unet: UNetConfig
    vae: VAEConfig
    projector: ProjectorConfig
    face_token_positions: tuple[int, ...] = FACE_TOKEN_POSITIONS
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    defaults: GuidanceDefaults = field(default_factory=GuidanceDefaults)

    @property
    def latent_size(self) -> int:
        return self.image_size // self.vae.downscale


TINY = ModelConfig(
    name="tiny",
    image_size=64,
    context_width=256,
    text_encoder=TextEncoderConfig(width=256, layers=2, heads=4, intermediate=1024),
    unet=UNetConfig(
        # 224 rather than 256 at the lowest resolution keeps the whole bundle under 40 MiB (10.8M parameters).
        block_out_channels=(64, 128, 224),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1,
        attention_heads=8,
    ),
    # Three blocks = two 2x downsamplings: 64x64x3 images -> 16x16x4 latents. The scaling factor
    # stays 1 until a trained VAE's latent standard deviation is measured.
    vae=VAEConfig(
        block_out_channels=(64, 128, 128), layers_per_block=1, latent_channels=4, scaling_factor=1.0
    ),
    projector=ProjectorConfig(embedding_width=EMBEDDING_WIDTH),
)

# About half tiny's U-Net, a one-layer text encoder and a VAE with 32 channels at full resolution (the
# VAE encoder runs on every training sample). The context stays 256 wide, as in tiny.
CELEBA64 = ModelConfig(
    name="celeba64",
    image_size=64,
    context_width=256,
    text_encoder=TextEncoderConfig(width=256, layers=1, heads=4, intermediate=512),
    unet=UNetConfig(
        block_out_channels=(64, 128, 128),
        down_block_types=TINY.unet.down_block_types,
        up_block_types=TINY.unet.up_block_types,
        layers_per_block=1,
        attention_heads=4,
    ),
    vae=VAEConfig(block_out_channels=(32, 64, 64), layers_per_block=1, latent_channels=4, scaling_factor=1.0),
    projector=ProjectorConfig(embedding_width=EMBEDDING_WIDTH),
    # 10 DDIM steps scored as 20 did on the evaluation, at half the browser time (MODEL_CARD.md, "Steps").
    defaults=GuidanceDefaults(steps=10),
)

# The 128 px alternatives to celeba64 that the resolution decision measured (MODEL_CARD.md, "Resolution"):
# the same U-Net, text encoder and projector. f8: one more VAE downsampling keeps the U-Net on 16x16
# latents; f4: the same VAE, so the U-Net runs on 32x32 latents.
CELEBA128_F8 = replace(
    CELEBA64,
    name="celeba128-f8",
    image_size=128,
    vae=replace(CELEBA64.vae, block_out_channels=(32, 64, 64, 64)),
)
CELEBA128_F4 = replace(CELEBA64, name="celeba128-f4", image_size=128)
# celeba64 with 8 latent channels: the same U-Net cost (only its first and last convolutions widen); its
# VAE kept more identity than celeba64's after the same training (MODEL_CARD.md, "Resolution").
CELEBA64_C8 = replace(CELEBA64, name="celeba64-c8", vae=replace(CELEBA64.vae, latent_channels=8))

# 128 px faces on the pretrained TAEF2 (32x16x16 latents, issue 16): a U-Net of 11.2M parameters that keeps
# the shipped model's browser cost. Attention only at 8x8 and 4x4: self-attention over 16x16 latents is
# what costs at this size, and a 64-token 8x8 map already spans the face. Measured with cached latents
# (PyTorch, 2 threads, batch 32): 39.8 training samples/s; (64,128,256) trains as fast but its 16.9M
# parameters would take the bundle past 40 MiB; a 2x2-patch U-Net at 8x8 (23.9M) reached 52/s but
# predicts 16x16 latents in 2x2 blocks. Text encoder and projector as celeba64's (their weights can
# start from the shipped bundle: train --init-text-from).
CELEBA128_TAEF2 = ModelConfig(
    name="celeba128-taef2",
    image_size=128,
    context_width=256,
    text_encoder=CELEBA64.text_encoder,
    unet=UNetConfig(
        block_out_channels=(64, 128, 192),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        layers_per_block=1,
        attention_heads=4,
    ),
    vae=VAEConfig(
        block_out_channels=(), layers_per_block=0, latent_channels=32, scaling_factor=1.0, kind="taef2"
    ),
    projector=ProjectorConfig(embedding_width=EMBEDDING_WIDTH),
    # v: an epsilon model's x0 at high noise is its error times up to 14.6 (docs/training.md, section 10).
    scheduler=SchedulerConfig(prediction_type="v_prediction"),
    defaults=GuidanceDefaults(steps=10),
)

# The same networks on 64 px faces (32x8x8 latents; TAEF2 passes a photo through at 28.62 dB and likeness
# 0.591 there, against celeba64's VAE 25.01 dB and 0.484): a quarter of the U-Net's positions, 106 training
# samples/s against about 50 at 128 px (batch 64, bf16, 2 threads). Its weights,
# models/celeba64-taef2.slim.pt, started from celeba128-taef2's (train --init across image sizes);
# docs/training.md, section 10, has what they measured.
CELEBA64_TAEF2 = replace(CELEBA128_TAEF2, name="celeba64-taef2", image_size=64)

# tiny's block types at the smallest sizes: 32x32 images, 8x8 latents, a two-level U-Net, a 64-wide context.
# For tests only: the training-pipeline tests train and export it in seconds, and the app's WebGPU flows
# run on its code-initialised bundle (scripts/test-all.sh): software WebGPU takes seconds per call of
# celeba64's U-Net.
MICRO = replace(
    TINY,
    name="micro",
    image_size=32,
    context_width=64,
    text_encoder=TextEncoderConfig(width=64, layers=1, heads=2, intermediate=128),
    unet=UNetConfig(
        block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1,
        attention_heads=2,
    ),
    vae=VAEConfig(block_out_channels=(32, 32, 32), layers_per_block=1, latent_channels=4, scaling_factor=1.0),
)

SD15 = ModelConfig(
    name="sd15",
    image_size=512,
    context_width=768,
    text_encoder=TextEncoderConfig(width=768, layers=12, heads=12, intermediate=3072),
    unet=UNetConfig(
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        layers_per_block=2,
        attention_heads=8,
    ),
    vae=VAEConfig(
        block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, scaling_factor=0.18215
    ),
    projector=ProjectorConfig(embedding_width=EMBEDDING_WIDTH),
)

CONFIGS = {
    config.name: config
    for config in (
        TINY,
        CELEBA64,
        CELEBA64_C8,
        CELEBA128_F8,
        CELEBA128_F4,
        CELEBA128_TAEF2,
        CELEBA64_TAEF2,
        MICRO,
        SD15,
    )
}
