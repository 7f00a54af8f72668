"""The Face0 networks: compact-vocabulary CLIP text encoder, face projector, U-Net and VAE."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from torch import nn
from transformers import CLIPTextConfig, CLIPTextModel

from face0.configs import CONTEXT_LENGTH, ModelConfig, ProjectorConfig, TextEncoderConfig
from face0.taef2 import TAEF2_DIR, Taef2Autoencoder

# OpenAI CLIP BPE tokenizer facts (bpe_simple_vocab_16e6); pad is the end-of-text id, as in SD 1.x.
CLIP_VOCAB_SIZE = 49408
CLIP_BOS_ID = 49406
CLIP_EOS_ID = 49407
CLIP_PAD_ID = CLIP_EOS_ID

# Compact ids of the special tokens; seen BPE tokens follow from FIRST_WORD_ID on.
COMPACT_BOS_ID = 0
COMPACT_EOS_ID = 1  # also padding, since CLIP pads with end-of-text
COMPACT_UNK_ID = 2
FIRST_WORD_ID = 3


@dataclass(frozen=True)
class CompactVocabulary:
    """The CLIP BPE tokens seen in the training captions, renumbered densely.

    A full 49408-row embedding table would dominate the shipped text encoder; the map from CLIP ids
    to compact ids is a buffer inside the graph, so callers keep feeding real CLIP ids and every
    unseen token becomes <unk>.
    """

    clip_ids: tuple[int, ...]  # sorted CLIP ids of the seen BPE tokens, bos/eos excluded

    @property
    def size(self) -> int:
        return FIRST_WORD_ID + len(self.clip_ids)

    def id_map(self) -> torch.Tensor:
        mapping = torch.full((CLIP_VOCAB_SIZE,), COMPACT_UNK_ID, dtype=torch.int64)
        mapping[CLIP_BOS_ID] = COMPACT_BOS_ID
        mapping[CLIP_EOS_ID] = COMPACT_EOS_ID
        mapping[torch.tensor(self.clip_ids, dtype=torch.int64)] = torch.arange(
            FIRST_WORD_ID, self.size, dtype=torch.int64
        )
        return mapping


# Every CLIP BPE token: the vocabulary of a pretrained CLIP text encoder (face0.pretrained), which knows them
# all. The 49406 word rows follow the three special rows, so the graph keeps taking real CLIP ids.
FULL_VOCABULARY = CompactVocabulary(clip_ids=tuple(range(CLIP_BOS_ID)))


def build_vocabulary(captions: Iterable[str], encode: Callable[[str], Sequence[int]]) -> CompactVocabulary:
    """`encode` maps text to CLIP BPE ids without bos/eos."""
    seen: set[int] = set()
    for caption in captions:
        seen.update(encode(caption))
    seen -= {CLIP_BOS_ID, CLIP_EOS_ID}
    return CompactVocabulary(clip_ids=tuple(sorted(seen)))


class TextEncoder(nn.Module):
    """CLIP ids (B, 77) -> last_hidden_state (B, 77, D) through a CLIPTextModel with a compact vocabulary."""

    def __init__(self, config: TextEncoderConfig, vocabulary: CompactVocabulary):
        super().__init__()
        self.register_buffer("id_map", vocabulary.id_map())
        clip_config = CLIPTextConfig(
            vocab_size=vocabulary.size,
            hidden_size=config.width,
            intermediate_size=config.intermediate,
            num_hidden_layers=config.layers,
            num_attention_heads=config.heads,
            max_position_embeddings=CONTEXT_LENGTH,
            hidden_act=config.hidden_act,
            bos_token_id=COMPACT_BOS_ID,
            eos_token_id=COMPACT_EOS_ID,
            pad_token_id=COMPACT_EOS_ID,
        )
        # Eager attention traces to plain MatMul/Softmax, which every onnxruntime-web backend runs.
        clip_config._attn_implementation = "eager"
        self.clip = CLIPTextModel(clip_config)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.clip(input_ids=self.id_map[input_ids]).last_hidden_state


class FaceProjector(nn.Module):
    """Face embedding (B, E) -> face tokens (B, n, D): Linear layers of width D with ReLU between."""

    def __init__(self, config: ProjectorConfig, width: int):
        super().__init__()
        self.num_tokens = config.num_tokens
        self.width = width
        dims = [config.embedding_width] + [width] * (config.num_layers - 1) + [config.num_tokens * width]
        layers: list[nn.Module] = []
        for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            if i:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(d_in, d_out))
        self.mlp = nn.Sequential(*layers)
        # Raw embeddings of all faces point nearly the same way (cosine ~0.98 between different people);
        # identity lives in the deviation from the mean, so the graph standardises its input.
        self.register_buffer("embedding_mean", torch.zeros(config.embedding_width))
        self.register_buffer("embedding_std", torch.ones(config.embedding_width))

    def set_embedding_statistics(self, embeddings: torch.Tensor) -> None:
        """Standardisation fitted on (N, E) training embeddings; stored in checkpoints and the ONNX graph."""
        self.embedding_mean.copy_(embeddings.mean(0))
        self.embedding_std.copy_(embeddings.std(0).clamp_min(1e-6))

    def forward(self, face_embedding: torch.Tensor) -> torch.Tensor:
        standardised = (face_embedding - self.embedding_mean) / self.embedding_std
        return self.mlp(standardised).reshape(-1, self.num_tokens, self.width)


def insert_face_tokens(
    text_states: torch.Tensor, face_tokens: torch.Tensor, has_face: torch.Tensor, positions: Sequence[int]
) -> torch.Tensor:
    """(B, L, D) text states with face_tokens (B, n, D) at `positions`, zeros where has_face (B,) is False.

    Zeros are the "no face" condition: what classifier-free guidance and the app's *_noface rows use.
    """
    context = text_states.clone()
    # Under bf16 autocast the projector's Linear layers give bfloat16 while the text encoder's final
    # LayerNorm gives float32: the face tokens take the context's dtype.
    face_tokens = face_tokens.to(context.dtype)
    context[:, list(positions)] = face_tokens * has_face.to(face_tokens.dtype)[:, None, None]
    return context


def build_unet(config: ModelConfig) -> UNet2DConditionModel:
    unet = config.unet
    return UNet2DConditionModel(
        sample_size=config.latent_size,
        in_channels=config.vae.latent_channels,
        out_channels=config.vae.latent_channels,
        block_out_channels=unet.block_out_channels,
        down_block_types=unet.down_block_types,
        up_block_types=unet.up_block_types,
        layers_per_block=unet.layers_per_block,
        attention_head_dim=unet.attention_heads,
        cross_attention_dim=config.context_width,
    )


def build_vae(config: ModelConfig, pretrained_weights: bool = True) -> AutoencoderKL | Taef2Autoencoder:
    """The configuration's autoencoder: TAEF2 with its published weights (none when `pretrained_weights` is
    False, for a state dict to fill), or a randomly initialised AutoencoderKL."""
    vae = config.vae
    if vae.kind == "taef2":
        return Taef2Autoencoder(TAEF2_DIR if pretrained_weights else None)
    blocks = len(vae.block_out_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks,
        block_out_channels=vae.block_out_channels,
        layers_per_block=vae.layers_per_block,
        latent_channels=vae.latent_channels,
        sample_size=config.image_size,
        scaling_factor=vae.scaling_factor,
    )


def encode_latents(
    vae: nn.Module, images: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """[-1, 1] images -> the latents the U-Net denoises: TAEF2's standardised ones, or an AutoencoderKL
    posterior sample (its mean without a generator) times the scaling factor."""
    if isinstance(vae, Taef2Autoencoder):
        return vae.encode(images)
    posterior = vae.encode(images).latent_dist
    if generator is None:
        return posterior.mean * vae.config.scaling_factor
    eps = torch.randn(posterior.mean.shape, generator=generator).to(images.device)
    return (posterior.mean + posterior.std * eps) * vae.config.scaling_factor


def decode_latents(vae: nn.Module, latents: torch.Tensor) -> torch.Tensor:
    """What the bundle's decoder graph receives (U-Net latents / scaling factor) -> images in [-1, 1]."""
    if isinstance(vae, Taef2Autoencoder):
        return vae.decode(latents)
    return vae.decode(latents).sample.clamp(-1.0, 1.0)


class Face0Models(nn.Module):
    """All trainable parts of one configuration; its state_dict is a checkpoint's weights."""

    def __init__(self, config: ModelConfig, vocabulary: CompactVocabulary, pretrained_vae: bool = True):
        super().__init__()
        self.config = config
        self.vocabulary = vocabulary
        self.text_encoder = TextEncoder(config.text_encoder, vocabulary)
        self.face_projector = FaceProjector(config.projector, config.context_width)
        self.unet = build_unet(config)
        self.vae = build_vae(config, pretrained_vae)

    def context(
        self, input_ids: torch.Tensor, face_embedding: torch.Tensor, has_face: torch.Tensor
    ) -> torch.Tensor:
        """U-Net encoder_hidden_states (B, 77, D) from CLIP ids (B, 77) and face embeddings (B, E)."""
        return insert_face_tokens(
            self.text_encoder(input_ids),
            self.face_projector(face_embedding),
            has_face,
            self.config.face_token_positions,
        )


def build_models(config: ModelConfig, vocabulary: CompactVocabulary, seed: int) -> Face0Models:
    """Randomly initialised models; the same seed gives the same weights."""
    torch.manual_seed(seed)
    return Face0Models(config, vocabulary)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
