"""Face0 models from a Stable Diffusion 1.x diffusers-layout directory: the paper fine-tunes SD 1.4/1.5.

The directory is what `StableDiffusionPipeline.save_pretrained` writes (runwayml/stable-diffusion-v1-5):
model_index.json, unet/, vae/, text_encoder/ (CLIPTextModel), tokenizer/ (CLIP BPE) and scheduler/. Its
configs give the ModelConfig; whatever the Face0 graphs (face0.models), the bundle's tokenizer or the
app's DDIM (src/diffusion/ddim.ts) cannot express is refused with the file and field that says it.
"""

import json
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from face0.clip_vocab import CLIP_BPE
from face0.configs import (
    CONTEXT_LENGTH,
    ModelConfig,
    ProjectorConfig,
    SchedulerConfig,
    TextEncoderConfig,
    UNetConfig,
    VAEConfig,
)
from face0.facemodels.embedder import EMBEDDING_WIDTH
from face0.models import (
    CLIP_BOS_ID,
    CLIP_EOS_ID,
    CLIP_VOCAB_SIZE,
    FULL_VOCABULARY,
    CompactVocabulary,
    Face0Models,
    TextEncoder,
    build_models,
    build_unet,
    build_vae,
)
from face0.tokenize import clip_vocab_and_merges

MODEL_INDEX = "model_index.json"
# model_index.json entries Face0 reads: (library, accepted classes).
COMPONENTS = {
    "unet": ("diffusers", ("UNet2DConditionModel",)),
    "vae": ("diffusers", ("AutoencoderKL",)),
    "text_encoder": ("transformers", ("CLIPTextModel",)),
    "tokenizer": ("transformers", ("CLIPTokenizer", "CLIPTokenizerFast")),
}
# What the app's DDIM runs (src/diffusion/ddim.ts); face0.diffusion_loss's target is the noise (epsilon).
SCHEDULER_CHOICES = {
    "beta_schedule": ("linear", "scaled_linear"),
    "prediction_type": ("epsilon",),
    "timestep_spacing": ("leading", "trailing", "linspace"),
}
# Scheduler options outside the bundle's scheduler spec: only their diffusers defaults can be run.
SCHEDULER_FIXED = {
    "trained_betas": None,
    "thresholding": False,
    "rescale_betas_zero_snr": False,
    "clip_sample_range": 1.0,
}
# CLIPTextConfig fields that shape last_hidden_state; the rest (token ids, projection_dim, dropout at
# eval, initialisation) do not reach the graph.
TEXT_ENCODER_FIELDS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "max_position_embeddings",
    "hidden_act",
    "layer_norm_eps",
)


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise ValueError(f"{path}: missing (not a diffusers-layout Stable Diffusion directory?)")
    return json.loads(path.read_text())


def _tuples(value):
    """JSON lists as tuples, so a file's config compares equal to the one a model was built with."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list | tuple) else value


def _require_same(file: Path, wanted: Mapping, built: Mapping, keys) -> None:
    for key in keys:
        if _tuples(wanted[key]) != _tuples(built[key]):
            raise ValueError(
                f"{file}: {key} = {wanted[key]!r}, but the Face0 graph built from this directory has "
                f"{built[key]!r} (face0.models cannot express it)"
            )


def _public_keys(config: Mapping) -> list[str]:
    return [key for key in config if not key.startswith("_")]


def _check_components(directory: Path) -> None:
    index = _read_json(directory / MODEL_INDEX)
    for name, (library, classes) in COMPONENTS.items():
        entry = index.get(name)
        if not entry or entry[0] != library or entry[1] not in classes:
            raise ValueError(
                f"{directory / MODEL_INDEX}: {name} is {entry!r}, expected [{library!r}, one of {classes}]"
            )


def _check_tokenizer(tokenizer_dir: Path, bpe_gz: Path) -> None:
    """The bundle ships OpenAI's BPE file and the app tokenizes with it: the directory's tokenizer must
    give the same ids (same vocabulary and merges) or the text encoder would read other tokens."""
    vocab, merges = clip_vocab_and_merges(bpe_gz)
    # vocab.json + merges.txt (the SD 1.x layout) or tokenizer.json (newer transformers) alike.
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    if tokenizer.get_vocab() != vocab:
        raise ValueError(f"{tokenizer_dir}: vocabulary is not OpenAI CLIP's BPE ({bpe_gz.name})")
    model = json.loads(tokenizer.backend_tokenizer.to_str())["model"]
    got = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    if got != list(merges):
        raise ValueError(f"{tokenizer_dir}: merges are not OpenAI CLIP's BPE merges ({bpe_gz.name})")


def _text_encoder_config(directory: Path) -> TextEncoderConfig:
    file = directory / "text_encoder" / "config.json"
    clip = CLIPTextConfig.from_dict(_read_json(file))
    if clip.vocab_size != CLIP_VOCAB_SIZE:
        raise ValueError(f"{file}: vocab_size = {clip.vocab_size}, expected CLIP's {CLIP_VOCAB_SIZE}")
    if clip.max_position_embeddings != CONTEXT_LENGTH:
        raise ValueError(
            f"{file}: max_position_embeddings = {clip.max_position_embeddings}; Face0's context (and the "
            f"bundle's tokenizer max_length) is {CONTEXT_LENGTH} tokens"
        )
    config = TextEncoderConfig(
        width=clip.hidden_size,
        layers=clip.num_hidden_layers,
        heads=clip.num_attention_heads,
        intermediate=clip.intermediate_size,
        hidden_act=clip.hidden_act,
    )
    with torch.device("meta"):
        built = TextEncoder(config, CompactVocabulary(())).clip.config
    _require_same(file, clip.to_dict(), built.to_dict(), TEXT_ENCODER_FIELDS)
    return config


def _scheduler_config(directory: Path) -> SchedulerConfig:
    """The noise schedule training uses and the bundle's DDIM spec carries. Fields the file leaves out
    keep Face0's defaults, which are Stable Diffusion's (what StableDiffusionPipeline enforces for DDIM:
    steps_offset 1, clip_sample False)."""
    file = directory / "scheduler" / "scheduler_config.json"
    raw = _read_json(file)
    for key, choices in SCHEDULER_CHOICES.items():
        if key in raw and raw[key] not in choices:
            raise ValueError(f"{file}: {key} = {raw[key]!r}; Face0 supports {choices}")
    for key, value in SCHEDULER_FIXED.items():
        if key in raw and raw[key] != value:
            raise ValueError(f"{file}: {key} = {raw[key]!r}; the bundle's DDIM spec only runs {value!r}")
    return SchedulerConfig(**{f.name: raw[f.name] for f in fields(SchedulerConfig) if f.name in raw})


def pretrained_model_config(directory: Path, bpe_gz: Path = CLIP_BPE) -> ModelConfig:
    """The ModelConfig of a diffusers-layout SD 1.x directory, from its configs alone (no weights read);
    raises ValueError naming the file and field of anything the Face0 graphs cannot express."""
    directory = Path(directory)
    _check_components(directory)
    _check_tokenizer(directory / "tokenizer", Path(bpe_gz))
    text = _text_encoder_config(directory)
    unet_file, vae_file = directory / "unet" / "config.json", directory / "vae" / "config.json"
    # Instantiated on the meta device, the models' configs have every field, with diffusers' defaults
    # for those the file leaves out (SD 1.5's vae/config.json has no scaling_factor: 0.18215).
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(_read_json(unet_file)).config
        vae = AutoencoderKL.from_config(_read_json(vae_file)).config
    if unet.cross_attention_dim != text.width:
        raise ValueError(
            f"{unet_file}: cross_attention_dim = {unet.cross_attention_dim}, but the text encoder's "
            f"hidden_size is {text.width}: Face0's context has one width"
        )
    if not isinstance(vae.sample_size, int):
        raise ValueError(f"{vae_file}: sample_size = {vae.sample_size!r}; Face0 images are square")
    latent_size = vae.sample_size // 2 ** (len(vae.block_out_channels) - 1)
    # diffusers only records the U-Net's sample_size; a file may leave it out, but not contradict the VAE.
    if unet.sample_size not in (None, latent_size):
        raise ValueError(
            f"{unet_file}: sample_size = {unet.sample_size}, but {vae_file.parent.name}/ makes "
            f"{vae.sample_size}px images into {latent_size}x{latent_size} latents"
        )
    config = ModelConfig(
        name=directory.resolve().name,
        image_size=vae.sample_size,
        context_width=text.width,
        text_encoder=text,
        unet=UNetConfig(
            block_out_channels=_tuples(unet.block_out_channels),
            down_block_types=_tuples(unet.down_block_types),
            up_block_types=_tuples(unet.up_block_types),
            layers_per_block=_tuples(unet.layers_per_block),
            attention_heads=_tuples(unet.attention_head_dim),
        ),
        vae=VAEConfig(
            block_out_channels=_tuples(vae.block_out_channels),
            layers_per_block=vae.layers_per_block,
            latent_channels=vae.latent_channels,
            scaling_factor=vae.scaling_factor,
        ),
        projector=ProjectorConfig(embedding_width=EMBEDDING_WIDTH),
        scheduler=_scheduler_config(directory),
    )
    # Every other field (in_channels, use_linear_projection, norm_num_groups, sample_size, ...) must be
    # what face0.models builds, or the copied weights would run in a different network.
    with torch.device("meta"):
        keys = [key for key in _public_keys(unet) if key != "sample_size"]
        _require_same(unet_file, unet, build_unet(config).config, keys)
        _require_same(vae_file, vae, build_vae(config).config, _public_keys(vae))
    return config


def compact_token_rows(vocabulary: CompactVocabulary) -> torch.Tensor:
    """The CLIP id whose pretrained embedding row fills each compact row: bos, eos, then <unk> as
    CLIPTokenizer reads unknown text (<|endoftext|>), then the vocabulary's words."""
    return torch.tensor([CLIP_BOS_ID, CLIP_EOS_ID, CLIP_EOS_ID, *vocabulary.clip_ids], dtype=torch.int64)


def load_pretrained_models(directory: Path, seed: int, bpe_gz: Path = CLIP_BPE) -> Face0Models:
    """Face0Models with the directory's U-Net, VAE and CLIP text encoder (full vocabulary, so the text
    encoder graph outputs what the pretrained CLIPTextModel does on real CLIP ids) and a FaceProjector
    initialised from `seed`. Components are loaded one at a time to bound peak memory."""
    directory = Path(directory)
    config = pretrained_model_config(directory, bpe_gz)
    models = build_models(config, FULL_VOCABULARY, seed)
    with torch.no_grad():
        unet = UNet2DConditionModel.from_pretrained(directory, subfolder="unet", local_files_only=True)
        models.unet.load_state_dict(unet.state_dict())
        del unet
        vae = AutoencoderKL.from_pretrained(directory, subfolder="vae", local_files_only=True)
        models.vae.load_state_dict(vae.state_dict())
        del vae
        # transformers maps older checkpoints' names (SD 1.5's text_model.* keys) onto today's module.
        clip = CLIPTextModel.from_pretrained(directory / "text_encoder", local_files_only=True)
        embedding = clip.get_input_embeddings().weight
        key = next(name for name, p in clip.named_parameters() if p is embedding)
        state = clip.state_dict()
        state[key] = embedding[compact_token_rows(models.vocabulary)]
        models.text_encoder.clip.load_state_dict(state)
    return models
