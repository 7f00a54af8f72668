"""Joint training of the U-Net and FaceProjector (and the text encoder, for from-scratch configurations)
on (image, caption, face embedding), plus the `train-vae` and `bench` stages.

Randomness is a function of (seed, step, rank, micro-batch) — captions, face/caption dropout, VAE
latent sampling, noise and timesteps — and the models have no dropout, so a checkpoint's step,
data-stream positions, weights, EMA and optimizer state are the whole training state: a resumed run
reproduces the uninterrupted one exactly (on the same hardware, thread count and world size).
"""

import argparse
import copy
import dataclasses
import itertools
import json
import math
import os
import random
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.flop_counter import FlopCounterMode

from face0.bundle_weights import init_text_from_bundle
from face0.captions import attribute_caption, caption_vocabulary_text
from face0.configs import (
    CONFIGS,
    GuidanceDefaults,
    ModelConfig,
    ProjectorConfig,
    SchedulerConfig,
    TextEncoderConfig,
    UNetConfig,
    VAEConfig,
)
from face0.data import (
    EMBEDDING_EXTENSION,
    IdentityIndex,
    Sample,
    SampleReader,
    SampleStream,
    StreamPosition,
    decode_or_none,
    list_shards,
    npy_array,
    read_samples,
)
from face0.distributed import DistInfo, barrier, gather_objects, init_distributed, mean_across_ranks, shutdown
from face0.facemodels import DEFAULT_MODEL_DIR
from face0.facemodels.torch_embedder import FaceEmbedderTorch
from face0.identity_loss import IdentityLoss, crop_boxes
from face0.models import (
    CompactVocabulary,
    Face0Models,
    build_models,
    build_vae,
    build_vocabulary,
    decode_latents,
    encode_latents,
    insert_face_tokens,
    parameter_count,
)
from face0.prefetch import Prefetched
from face0.pretrained import load_pretrained_models, pretrained_model_config
from face0.progress import Progress, format_duration
from face0.sample import TorchGraphs, bundle_fields, clip_tokenizer, image_grid, sample_image, to_uint8
from face0.taef2 import Taef2Autoencoder

CHECKPOINT_FORMAT = "face0-checkpoint"
VAE_FORMAT = "face0-vae"
CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.jsonl"
# Face embeddings the FaceProjector's input standardisation is fitted on at a fresh start.
PROJECTOR_STATISTICS_SAMPLES = 4096
# The keys of TAEF2's published (frozen) weights in a checkpoint.
TAEF2_WEIGHTS = ("vae.encoder.", "vae.decoder.")
# Training images (image and mirror latents each) the TAEF2 latent standardisation is fitted on.
LATENT_STATISTICS_SAMPLES = 2048


# ---------------------------------------------------------------------------------------------- configs


def config_from_dict(d: dict) -> ModelConfig:
    """Inverse of dataclasses.asdict for ModelConfig (lists back to tuples)."""

    def build(cls, values: dict):
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    return ModelConfig(
        name=d["name"],
        image_size=d["image_size"],
        context_width=d["context_width"],
        text_encoder=build(TextEncoderConfig, d["text_encoder"]),
        unet=build(UNetConfig, d["unet"]),
        vae=build(VAEConfig, d["vae"]),
        projector=build(ProjectorConfig, d["projector"]),
        face_token_positions=tuple(d["face_token_positions"]),
        scheduler=build(SchedulerConfig, d["scheduler"]),
        defaults=build(GuidanceDefaults, d["defaults"]),
    )


def load_model_config(name_or_path: str) -> ModelConfig:
    """A named configuration (configs.CONFIGS) or a JSON file holding asdict(ModelConfig)."""
    if name_or_path in CONFIGS:
        return CONFIGS[name_or_path]
    return config_from_dict(json.loads(Path(name_or_path).read_text()))


@dataclass
class TrainOptions:
    shards: list[Path]
    out: Path
    model: ModelConfig
    max_steps: int
    vae: Path | None = None  # train-vae output; None keeps the randomly initialised VAE (tests only)
    # A checkpoint (full or `slim`) whose weights, EMA ones where it has them, start this run at step 0 with a
    # fresh optimizer and schedule: a new phase of training (another batch size, another machine).
    init: Path | None = None
    # Diffusers-layout SD 1.x directory (face0.pretrained): U-Net, VAE and CLIP text encoder start from its
    # weights; `model` must then be pretrained_model_config(pretrained).
    pretrained: Path | None = None
    global_batch: int = 8
    grad_accum: int = 1
    lr: float = 1e-4
    lr_warmup: int = 0
    # Cosine decay from `lr` at this step to `lr_final` at max_steps (None: constant after warm-up). A
    # function of the step alone, so a resumed run (even one that adds the decay later) stays exact.
    lr_decay_from: int | None = None
    lr_final: float = 0.0
    weight_decay: float = 1e-2
    max_grad_norm: float = 1.0
    ema_decay: float = 0.999
    face_drop_p: float = 0.1
    caption_drop_p: float = 0.1
    captions: str = (
        "shard"  # "shard": KEY.txt; "attributes": face0.captions from the json's CelebA attributes
    )
    face_source: str = "same"  # "same" (paper) or "other": another photo of the same celeba_identity
    require_face: bool = False
    # Identity loss (face0.identity_loss): weight (0: off), the timesteps below which it applies, and at most
    # this many samples of a micro-batch (decoding and embedding cost ~7x a U-Net step per sample).
    identity_weight: float = 0.0
    identity_max_timestep: int = 400
    identity_samples: int = 4
    # The bundle whose face_embedder.onnx the identity loss runs (the one that made the training embeddings).
    face_models: Path = DEFAULT_MODEL_DIR
    # A bundle whose text encoder and projector weights start a fresh run (face0.bundle_weights).
    init_text_from: Path | None = None
    train_text_encoder: bool | None = None  # None: trained from scratch, frozen when pretrained
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    validate_every: int = 0
    validation_images: int = 4
    validation_steps: int = 20
    log_every: int = 10
    seed: int = 0
    bf16: bool = False
    gradient_checkpointing: bool = False
    shuffle_buffer: int = 1000
    prefetch: int = 0  # >0: micro-batches built that many ahead in a child process (face0.prefetch)
    cache_decoded: bool = False  # SampleReader(cache=True): decode each sample once, keep it in memory
    threads: int | None = None
    device: str | None = None
    vocabulary_captions: list[str] = field(default_factory=list)  # extra text for the compact vocabulary

    def __post_init__(self):
        if self.pretrained and self.vae:
            raise ValueError("--vae: a --pretrained run keeps the pretrained VAE and its scaling factor")
        if self.init and (self.vae or self.pretrained):
            raise ValueError("--init: the checkpoint brings its own VAE, text encoder and vocabulary")
        if self.train_text_encoder is None:
            # The paper keeps the pretrained CLIP frozen; a from-scratch text encoder has to learn.
            self.train_text_encoder = self.pretrained is None


# ---------------------------------------------------------------------------------------------- helpers


class EMA:
    """Exponential moving average of the trainable parameters, kept in float32.

    The decay warms up, min(decay, (1 + step) / (10 + step)) as in diffusers' EMAModel: with a fixed 0.999,
    1,299 steps still left 27% of the random initialisation in the average (the H200 run)."""

    def __init__(self, named_parameters: dict[str, nn.Parameter], decay: float):
        self.decay = decay
        self.params = named_parameters
        self.shadow = {name: p.detach().clone().float() for name, p in named_parameters.items()}

    def decay_at(self, step: int) -> float:
        """The decay of the update after 0-based optimizer step `step`."""
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        names = list(self.params)
        torch._foreach_lerp_(
            [self.shadow[n] for n in names],
            [self.params[n].detach().float() for n in names],
            1.0 - self.decay_at(step),
        )

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {name: t.cpu() for name, t in self.shadow.items()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, tensor in state.items():
            self.shadow[name].copy_(tensor)


class Denoiser(nn.Module):
    """Epsilon prediction from noisy latents, timesteps, CLIP ids and face embeddings (what DDP wraps)."""

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


def derived_seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint64)[0] >> 1)


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


def make_batch(
    samples: list[Sample],
    options: TrainOptions,
    tokenizer,
    rng: np.random.Generator,
    index: IdentityIndex | None,
) -> tuple[Batch, int]:
    """The conditioning for one micro-batch; returns it and how many `other` faces were missing."""
    captions, embeddings, has_face = [], [], []
    missing_other = 0
    for s in samples:
        caption = s.caption
        if options.captions == "attributes" and s.attributes:
            caption = attribute_caption(s.attributes, random.Random(int(rng.integers(2**63))))
        if rng.random() < options.caption_drop_p:
            caption = ""
        embedding = s.embedding
        if index is not None and s.has_face:
            other = index.other_face(s.identity, s.key, rng)
            missing_other += other is None
            embedding = embedding if other is None else other
        face = s.has_face and rng.random() >= options.face_drop_p
        captions.append(caption)
        embeddings.append(embedding)
        has_face.append(face)
    latents = None
    if all(s.latents is not None for s in samples):
        mirrored = rng.random(len(samples)) < 0.5
        latents = torch.from_numpy(
            np.stack([s.latents[int(m)] for s, m in zip(samples, mirrored, strict=True)])
        )
    batch = Batch(
        images=images_to_tensor(samples),
        input_ids=torch.from_numpy(tokenizer(captions)),
        face_embedding=torch.from_numpy(np.stack(embeddings)),
        has_face=torch.tensor(has_face),
        captions=captions,
        latents=latents,
        crop_boxes=crop_boxes(samples),
    )
    return batch, missing_other


@dataclass
class BuiltBatch:
    batch: Batch
    missing_other: int
    position: StreamPosition  # the reader's stream position after this batch's samples
    bad: int  # undecodable samples the reader has skipped so far


def built_batches(
    reader: SampleReader, options: TrainOptions, tokenizer, index: IdentityIndex | None, rank: int,
    per_rank: int, step: int,
) -> Iterator[BuiltBatch]:  # fmt: skip
    """The run's micro-batches from `step` on, in order; each one's conditioning draws from its own
    (seed, step, rank, micro) generator, so they do not depend on where they are built."""
    while True:
        for micro in range(options.grad_accum):
            rng = np.random.default_rng([options.seed, step, rank, micro])
            batch, missing = make_batch(reader.next_batch(per_rank), options, tokenizer, rng, index)
            yield BuiltBatch(batch, missing, reader.stream.position, reader.bad)
        step += 1


def learning_rate(step: int, options: TrainOptions) -> float:
    return scheduled_lr(
        step, options.lr, options.lr_warmup, options.lr_decay_from, options.lr_final, options.max_steps
    )


def scheduled_lr(
    step: int, lr: float, warmup: int, decay_from: int | None, final: float, max_steps: int
) -> float:
    """The lr of 0-based `step`: linear warm-up over `warmup` steps, then constant, then (from decay_from)
    cosine decay reaching `final` at max_steps."""
    lr = lr * min(1.0, (step + 1) / warmup) if warmup else lr
    if decay_from is None or step < decay_from or max_steps <= decay_from:
        return lr
    progress = min(1.0, (step - decay_from) / (max_steps - decay_from))
    return final + (lr - final) * 0.5 * (1.0 + math.cos(math.pi * progress))


def allow_tf32(device: torch.device) -> None:
    """TensorFloat-32 matrix products and convolutions on CUDA (PyTorch leaves matmul TF32 off)."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


@dataclass
class Identity:
    """The identity loss of a run and its weight."""

    loss: IdentityLoss
    weight: float


def diffusion_loss(
    denoiser: nn.Module,
    vae: nn.Module,
    scheduler: DDPMScheduler,
    batch: Batch,
    generator: torch.Generator,
    device: torch.device,
    bf16: bool,
    identity: Identity | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Epsilon-prediction MSE at random timesteps (noise, timesteps and latents drawn from `generator`), plus
    the weighted identity loss on the decoded x0-predictions of low-noise samples; returns the total and
    its terms for the log."""
    with torch.no_grad():
        if batch.latents is not None:
            latents = vae.standardise(batch.latents.to(device))
        else:
            latents = encode_latents(vae, batch.images.to(device), generator)
    noise = torch.randn(latents.shape, generator=generator).to(device)
    steps = scheduler.config.num_train_timesteps
    timesteps = torch.randint(0, steps, (latents.shape[0],), generator=generator).to(device)
    noisy = scheduler.add_noise(latents, noise, timesteps)
    face_embedding, has_face = batch.face_embedding.to(device), batch.has_face.to(device)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        pred = denoiser(noisy, timesteps, batch.input_ids.to(device), face_embedding, has_face)
    mse = F.mse_loss(pred.float(), noise)
    terms = {"mse": mse.item()}
    if identity is None:
        return mse, terms
    boxes = batch.crop_boxes.to(device)
    chosen = identity.loss.selected(timesteps, has_face, boxes)
    terms["identity_samples"] = len(chosen)
    if len(chosen) == 0:
        return mse, terms
    alpha = scheduler.alphas_cumprod.to(device)[timesteps[chosen]].float()[:, None, None, None]
    x0 = (noisy[chosen] - (1 - alpha).sqrt() * pred[chosen].float()) / alpha.sqrt()
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


# ---------------------------------------------------------------------------------------------- checkpoints


def checkpoint_path(out: Path, step: int) -> Path:
    return out / CHECKPOINT_DIR / f"step-{step:08d}.pt"


def latest_checkpoint(out: Path) -> Path | None:
    found = sorted((out / CHECKPOINT_DIR).glob("step-*.pt"))
    return found[-1] if found else None


def save_atomic(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a {CHECKPOINT_FORMAT} file")
    return state


def load_checkpoint_models(path: Path, ema: bool = True) -> Face0Models:
    """Face0Models from a training checkpoint, with the EMA weights unless ema=False."""
    state = read_checkpoint(path)
    config = config_from_dict(state["model_config"])
    # A slim checkpoint leaves out TAEF2's published weights (frozen): they come from ../shared again.
    pretrained = config.vae.kind == "taef2" and not any(k.startswith(TAEF2_WEIGHTS) for k in state["models"])
    models = Face0Models(config, CompactVocabulary(tuple(state["vocabulary"])), pretrained_vae=pretrained)
    models.load_state_dict(state["models"], strict=not pretrained)
    missing = set(models.state_dict()) - set(state["models"])
    if any(not k.startswith(TAEF2_WEIGHTS) for k in missing):
        raise ValueError(f"{path}: weights missing: {sorted(missing)[:5]}")
    if ema:
        with torch.no_grad():
            params = dict(models.named_parameters())
            for name, tensor in state["ema"].items():
                params[name].copy_(tensor)
    return models


def slim_checkpoint(path: Path, out: Path, dtype: torch.dtype = torch.float32, ema: bool = True) -> None:
    """`path`'s models with their EMA weights (raw ones if not `ema`), without optimizer state: what export,
    sample and `--init` read. Floating-point tensors are stored as `dtype` (float16 halves a file that has
    to travel), except the frozen VAE's: it defines the latents, and export checks a fine-tuned decoder's
    encoder against it exactly."""
    state = read_checkpoint(path)
    weights = {**state["models"], **state["ema"]} if ema else state["models"]
    if state["model_config"]["vae"].get("kind") == "taef2":
        # TAEF2's published weights are frozen and in ../shared/pretrained; its latent statistics stay.
        weights = {k: v for k, v in weights.items() if not k.startswith(TAEF2_WEIGHTS)}
    cast = {k for k, v in weights.items() if v.is_floating_point() and not k.startswith("vae.")}
    state["models"] = {k: v.to(dtype) if k in cast else v for k, v in weights.items()}
    state["ema"] = {}
    state.pop("optimizer", None)
    save_atomic(state, out)


def init_models(options: TrainOptions) -> Face0Models:
    models = load_checkpoint_models(options.init)
    # The VAE comes with the checkpoint, and with it the scaling factor its train-vae file had set.
    vae = dataclasses.replace(options.model.vae, scaling_factor=models.config.vae.scaling_factor)
    # A new noise schedule is a fine-tune of the same networks: the run's schedule replaces the checkpoint's.
    if models.config.scheduler != options.model.scheduler:
        print(f"train: --init {options.init}: noise schedule {models.config.scheduler} -> {options.model.scheduler}")
    if dataclasses.replace(models.config, scheduler=options.model.scheduler) != dataclasses.replace(
        options.model, vae=vae
    ):
        raise ValueError(
            f"--init {options.init}: its model configuration is {models.config.name!r}, not the run's "
            f"{options.model.name!r}"
        )
    models.config = dataclasses.replace(models.config, scheduler=options.model.scheduler)
    return models


def truncate_metrics(path: Path, step: int) -> None:
    """Drops log lines a killed run wrote after its last checkpoint."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in kept))


def vocabulary_for(shards: list[Path], tokenizer, extra: list[str]) -> CompactVocabulary:
    """Every BPE token of the shards' captions, of face0.captions' phrases and of `extra`."""

    def texts():
        yield from caption_vocabulary_text()
        yield from extra
        for shard in shards:
            for _key, files in read_samples(shard):
                if "txt" in files:
                    yield files["txt"].decode("utf-8")

    return build_vocabulary(texts(), tokenizer.encode)


def training_embeddings(shards: list[Path], limit: int) -> np.ndarray:
    """(N, E) face embeddings: the first ceil(limit / shards) of each shard, so every shard is represented."""
    per_shard = -(-limit // max(1, len(shards)))
    embeddings = []
    for shard in shards:
        taken = 0
        for _key, files in read_samples(shard):
            if taken == per_shard:
                break
            if EMBEDDING_EXTENSION in files:
                embeddings.append(npy_array(files[EMBEDDING_EXTENSION]).astype(np.float32))
                taken += 1
    return np.stack(embeddings) if embeddings else np.zeros((0, 0), np.float32)


def fresh_models(options: TrainOptions, tokenizer) -> Face0Models:
    """Models for a run's step 0: the pretrained directory's weights and full CLIP vocabulary, or else the
    shards' vocabulary, seeded weights and the train-vae VAE; then the FaceProjector standardisation
    fitted on training embeddings (a resume takes all from its checkpoint)."""
    if options.pretrained:
        models = load_pretrained_models(options.pretrained, options.seed)
        if models.config != options.model:
            raise ValueError(f"{options.pretrained}: options.model is not this directory's configuration")
    else:
        vocabulary = vocabulary_for(options.shards, tokenizer, options.vocabulary_captions)
        models = build_models(options.model, vocabulary, options.seed)
        if options.vae:
            load_vae(models, options.vae)
    embeddings = training_embeddings(options.shards, PROJECTOR_STATISTICS_SAMPLES)
    if len(embeddings) >= 2:
        models.face_projector.set_embedding_statistics(torch.from_numpy(embeddings))
    if isinstance(models.vae, Taef2Autoencoder):
        models.vae.set_latent_statistics(training_latents(options.shards, models, LATENT_STATISTICS_SAMPLES))
    if options.init_text_from:
        # After the projector's statistics: its weights were trained with the bundle's.
        missing = init_text_from_bundle(models, options.init_text_from)
        print(f"train: text encoder and projector from {options.init_text_from}; {len(missing)} new tokens")
    return models


def training_latents(shards: list[Path], models: Face0Models, limit: int) -> torch.Tensor:
    """(N, C, h, w) raw latents: the packed ones (image and mirror) of the first samples of each shard, or
    the autoencoder's encoding of their images where the shards hold none."""
    per_shard = -(-limit // max(1, len(shards)))
    size, width = models.config.image_size, models.config.projector.embedding_width
    samples: list[Sample] = []
    for shard in shards:
        decoded = (decode_or_none(key, files, size, width) for key, files in read_samples(shard))
        samples += list(itertools.islice((s for s in decoded if s is not None), per_shard))
    if all(s.latents is not None for s in samples):
        latents = torch.from_numpy(np.concatenate([s.latents for s in samples]))
    else:
        with torch.no_grad():
            latents = models.vae.encode_raw(images_to_tensor(samples))
    expected = (models.config.vae.latent_channels, models.config.latent_size, models.config.latent_size)
    if tuple(latents.shape[1:]) != expected:
        raise ValueError(
            f"packed latents of shape {tuple(latents.shape[1:])}, but {models.config.name} needs {expected}: "
            "pack the shards again with this configuration's --image-size"
        )
    return latents


# ---------------------------------------------------------------------------------------------- training


@dataclass
class TrainResult:
    step: int
    losses: dict[int, float]  # step -> loss averaged over ranks (this run's steps only)
    nan_skipped: int
    bad_images: int
    samples_per_s: float
    models: Face0Models
    ema: EMA


def validation_grid(
    models: Face0Models, ema: EMA, samples: list[Sample], tokenizer, options: TrainOptions, path
):
    """Rows: [training image | EMA sample with its face and caption | same prompt without the face]."""
    shadow = copy.deepcopy(models).eval()
    with torch.no_grad():
        params = dict(shadow.named_parameters())
        for name, tensor in ema.shadow.items():
            params[name].copy_(tensor)
    graphs, fields = TorchGraphs(shadow), bundle_fields(shadow)
    d = models.config.defaults
    rows = []
    for i, s in enumerate(samples):
        row = [s.image]
        for face in (s.embedding if s.has_face else None, None):
            image = sample_image(
                graphs,
                tokenizer,
                fields,
                s.caption,
                face,
                options.seed + i,
                options.validation_steps,
                d.w,
                d.c,
                d.a,
            )
            row.append(to_uint8(image))
        rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(rows).save(path)


def read_vae_file(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state.get("format") != VAE_FORMAT:
        raise ValueError(f"{path}: not a {VAE_FORMAT} file")
    return state


def load_vae(models: Face0Models, path: Path) -> Face0Models:
    """Models whose VAE (and config's scaling factor) come from a train-vae file."""
    state = read_vae_file(path)
    vae_config = dataclasses.replace(models.config.vae, scaling_factor=state["scaling_factor"])
    config = dataclasses.replace(models.config, vae=vae_config)
    models.config = config
    models.vae.load_state_dict(state["vae"])
    models.vae.register_to_config(scaling_factor=state["scaling_factor"])
    return models


def encoder_keys(vae_state: dict) -> list[str]:
    """The VAE tensors that produce latents (diffusers AutoencoderKL names)."""
    return [k for k in vae_state if k.startswith(("encoder.", "quant_conv."))]


def replace_vae_decoder(models: Face0Models, path: Path) -> Face0Models:
    """Models whose VAE decoder comes from a `train-vae --decoder-only` file. The U-Net was trained on the
    encoder's latents, so that file's encoder and scaling factor must be exactly the models' own."""
    state = read_vae_file(path)
    own = models.vae.state_dict()
    changed = [k for k in encoder_keys(own) if not torch.equal(own[k].cpu(), state["vae"][k])]
    if changed or state["scaling_factor"] != models.config.vae.scaling_factor:
        raise ValueError(
            f"{path}: its encoder or scaling factor differs from the model's ({len(changed)} encoder "
            f"tensors differ; scaling factor {state['scaling_factor']} vs "
            f"{models.config.vae.scaling_factor}). Only a decoder fine-tuned from this model's VAE "
            "(train-vae --init ... --decoder-only) can replace its decoder"
        )
    models.vae.load_state_dict(state["vae"])
    return models


def train(options: TrainOptions, info: DistInfo | None = None) -> TrainResult:
    info = info or init_distributed(options.device)
    if options.threads:
        torch.set_num_threads(options.threads)
    per_rank, remainder = divmod(options.global_batch, info.world_size * options.grad_accum)
    if remainder or per_rank == 0:
        raise ValueError(
            f"global batch {options.global_batch} is not divisible by {info.world_size} ranks x "
            f"{options.grad_accum} accumulation steps"
        )
    out = options.out
    device = info.device
    allow_tf32(device)
    tokenizer = clip_tokenizer(options.model.face_token_positions)
    resume_from = latest_checkpoint(out)
    state = torch.load(resume_from, map_location="cpu", weights_only=False) if resume_from else None

    if state is not None:
        vocabulary = CompactVocabulary(tuple(state["vocabulary"]))
        models = Face0Models(config_from_dict(state["model_config"]), vocabulary, pretrained_vae=False)
        models.load_state_dict(state["models"])
    else:
        models = init_models(options) if options.init else fresh_models(options, tokenizer)
        vocabulary = models.vocabulary
    models.to(device)
    models.vae.eval().requires_grad_(False)
    if not options.train_text_encoder:
        models.text_encoder.eval()
    if options.gradient_checkpointing:
        models.unet.enable_gradient_checkpointing()
    named = trainable_parameters(models, options.train_text_encoder)
    optimizer = torch.optim.AdamW(named.values(), lr=options.lr, weight_decay=options.weight_decay)
    ema = EMA(named, options.ema_decay)
    denoiser = Denoiser(models, options.train_text_encoder)
    if info.world_size > 1:
        ids = [info.local_rank] if device.type == "cuda" else None
        denoiser = DistributedDataParallel(denoiser, device_ids=ids)
    scheduler = ddpm_scheduler(models.config)

    step, nan_skipped, bad_before = 0, 0, 0
    position = StreamPosition()
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        ema.load_state_dict(state["ema"])
        step, nan_skipped = state["step"], state["nan_skipped"]
        if state["world_size"] == info.world_size:
            position = StreamPosition(*state["stream_positions"][info.rank])
        else:
            # Per-rank streams differ with the world size; start the next epoch rather than guess.
            position = StreamPosition(max(p[0] for p in state["stream_positions"]) + 1, 0)
        bad_before = state["bad_images"]
    stream = SampleStream(
        options.shards, info.rank, info.world_size, options.seed, options.shuffle_buffer, position
    )
    reader = SampleReader(
        stream, models.config.image_size, models.config.projector.embedding_width, options.require_face,
        cache=options.cache_decoded,
    )  # fmt: skip
    index = IdentityIndex(options.shards) if options.face_source == "other" else None
    validation = []
    if info.is_main and options.validate_every:
        validation = SampleReader(
            SampleStream(options.shards[:1], 0, 1, options.seed, 1), models.config.image_size,
            models.config.projector.embedding_width, require_face=True,
        ).next_batch(options.validation_images)  # fmt: skip

    metrics = out / METRICS_FILE
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        truncate_metrics(metrics, step)
        (out / "model_config.json").write_text(json.dumps(asdict(models.config), indent=2) + "\n")
        trainable = sum(p.numel() for p in named.values())
        print(
            f"train: {parameter_count(models) / 1e6:.1f}M parameters ({trainable / 1e6:.1f}M trainable), "
            f"vocabulary {vocabulary.size}, world {info.world_size}, per-rank batch {per_rank} x "
            f"{options.grad_accum} accumulation, from step {step}"
            + (f" ({resume_from.name})" if resume_from else "")
        )
    losses: dict[int, float] = {}
    progress = Progress(options.max_steps - step, "train", "steps", every_s=30.0)
    missing_other = 0
    identity_terms: list[float] = []
    identity = None
    if options.identity_weight:
        embedder = FaceEmbedderTorch.from_bundle(options.face_models).to(device)
        loss_module = IdentityLoss(embedder, options.identity_max_timestep, options.identity_samples)
        identity = Identity(loss_module, options.identity_weight)
    start = time.perf_counter()
    first_step = step
    make_batches = partial(built_batches, reader, options, tokenizer, index, info.rank, per_rank, step)
    batches = Prefetched(make_batches, options.prefetch) if options.prefetch else make_batches()
    built = None
    try:
        while step < options.max_steps:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, options)
            optimizer.zero_grad(set_to_none=True)
            step_loss, step_mse = 0.0, 0.0
            for micro in range(options.grad_accum):
                built = next(batches)
                batch = built.batch
                missing_other += built.missing_other
                seed = derived_seed(options.seed, step, info.rank, micro, 1)
                generator = torch.Generator().manual_seed(seed)
                last = micro == options.grad_accum - 1
                sync = (
                    denoiser.no_sync()
                    if isinstance(denoiser, DistributedDataParallel) and not last
                    else nullcontext()
                )
                with sync:
                    loss, terms = diffusion_loss(
                        denoiser, models.vae, scheduler, batch, generator, device, options.bf16, identity
                    )
                    (loss / options.grad_accum).backward()
                step_loss += loss.item() / options.grad_accum
                step_mse += terms["mse"] / options.grad_accum
                if "identity" in terms:
                    identity_terms.append(terms["identity"])
            grad_norm = torch.nn.utils.clip_grad_norm_(named.values(), options.max_grad_norm)
            # Gradients are all-reduced, so every rank sees the same norm and takes the same decision.
            if torch.isfinite(grad_norm):
                optimizer.step()
                ema.update(step)
            else:
                nan_skipped += 1
            step += 1
            mean_loss = mean_across_ranks(step_loss, info)
            losses[step] = mean_loss
            progress.update(1, f"loss {mean_loss:.4f}")
            if info.is_main and (step % options.log_every == 0 or step == options.max_steps):
                elapsed = time.perf_counter() - start
                record = {
                    "step": step,
                    "loss": mean_loss,
                    "mse": step_mse,
                    # Mean over the micro-batches since the last record that had identity-loss samples.
                    "identity": float(np.mean(identity_terms)) if identity_terms else None,
                    "grad_norm": float(grad_norm),
                    "lr": optimizer.param_groups[0]["lr"],
                    "nan_skipped": nan_skipped,
                    "samples_per_s": (step - first_step) * options.global_batch / elapsed,
                    "missing_other_face": missing_other,
                }
                with open(metrics, "a") as f:
                    f.write(json.dumps(record) + "\n")
                identity_terms.clear()
            every = options.checkpoint_every
            if every and (step % every == 0 or step == options.max_steps):
                positions = gather_objects(dataclasses.astuple(built.position), info)
                bad = sum(gather_objects(built.bad, info)) + bad_before
                if info.is_main:
                    save_checkpoint(
                        out, step, models, ema, optimizer, positions, info, nan_skipped, bad, options
                    )
            if info.is_main and options.validate_every and step % options.validate_every == 0:
                validation_grid(
                    models, ema, validation, tokenizer, options, out / "samples" / f"step-{step:08d}.png"
                )
            barrier(info)
    finally:
        if isinstance(batches, Prefetched):
            batches.close()
    elapsed = time.perf_counter() - start
    rate = (step - first_step) * options.global_batch / elapsed if elapsed > 0 else 0.0
    if info.is_main:
        print(
            f"train: step {step}, {rate:.1f} samples/s, {format_duration(elapsed)}, "
            f"NaN steps skipped {nan_skipped}"
        )
    bad = (built.bad if built else reader.bad) + bad_before
    return TrainResult(step, losses, nan_skipped, bad, rate, models, ema)


def save_checkpoint(out, step, models, ema, optimizer, positions, info, nan_skipped, bad, options) -> None:
    state = {
        "format": CHECKPOINT_FORMAT,
        "step": step,
        "model_config": asdict(models.config),
        "vocabulary": list(models.vocabulary.clip_ids),
        "models": {k: v.cpu() for k, v in models.state_dict().items()},
        "ema": ema.state_dict(),
        "optimizer": optimizer.state_dict(),
        "world_size": info.world_size,
        "stream_positions": positions,
        "nan_skipped": nan_skipped,
        "bad_images": bad,
        "options": {
            k: str(v) for k, v in asdict(options).items() if k not in ("model", "vocabulary_captions")
        },
    }
    save_atomic(state, checkpoint_path(out, step))
    kept = sorted((out / CHECKPOINT_DIR).glob("step-*.pt"))
    for old in kept[: -options.keep_checkpoints]:
        old.unlink()


# ---------------------------------------------------------------------------------------------- train-vae


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


# ---------------------------------------------------------------------------------------------- bench


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


# ---------------------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainOptions(shards=[], out=Path(), model=CONFIGS["tiny"], max_steps=0)
    parser.add_argument("shards", nargs="+", help="augmented shards, folders or glob patterns")
    parser.add_argument(
        "--out", type=Path, required=True, help="run folder: checkpoints/, samples/, metrics.jsonl"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--config", default="tiny", help=f"{sorted(CONFIGS)} or a ModelConfig JSON file")
    source.add_argument(
        "--pretrained",
        type=Path,
        help="Stable Diffusion 1.x diffusers-layout directory to fine-tune (its VAE and text encoder frozen)",
    )
    parser.add_argument("--vae", type=Path, help="train-vae output (frozen VAE and its scaling factor)")
    parser.add_argument(
        "--init", type=Path, help="checkpoint whose (EMA) weights start this run at step 0, fresh optimizer"
    )
    parser.add_argument("--max-steps", type=int, required=True)
    parser.add_argument("--global-batch", type=int, default=d.global_batch, help="over all ranks")
    parser.add_argument("--grad-accum", type=int, default=d.grad_accum)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--lr-warmup", type=int, default=d.lr_warmup)
    parser.add_argument(
        "--lr-decay-from", type=int, help="step where cosine decay to --lr-final at --max-steps starts"
    )
    parser.add_argument("--lr-final", type=float, default=d.lr_final)
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay)
    parser.add_argument("--max-grad-norm", type=float, default=d.max_grad_norm)
    parser.add_argument("--ema-decay", type=float, default=d.ema_decay)
    parser.add_argument("--face-drop-p", type=float, default=d.face_drop_p)
    parser.add_argument("--caption-drop-p", type=float, default=d.caption_drop_p)
    parser.add_argument("--captions", choices=["shard", "attributes"], default=d.captions)
    parser.add_argument("--face-source", choices=["same", "other"], default=d.face_source)
    parser.add_argument("--require-face", action="store_true")
    parser.add_argument(
        "--identity-weight", type=float, default=d.identity_weight, help="identity loss weight (0: off)"
    )
    parser.add_argument("--identity-max-timestep", type=int, default=d.identity_max_timestep)
    parser.add_argument(
        "--identity-samples", type=int, default=d.identity_samples, help="at most this many per micro-batch"
    )
    parser.add_argument(
        "--face-models",
        type=Path,
        default=d.face_models,
        help="bundle whose face_embedder.onnx the loss runs",
    )
    parser.add_argument(
        "--init-text-from", type=Path, help="bundle whose text encoder and projector start a fresh run"
    )
    parser.add_argument(
        "--freeze-text-encoder", action="store_true", help="from-scratch configs (always with --pretrained)"
    )
    parser.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    parser.add_argument("--keep-checkpoints", type=int, default=d.keep_checkpoints)
    parser.add_argument("--validate-every", type=int, default=d.validate_every, help="0: never")
    parser.add_argument("--validation-images", type=int, default=d.validation_images)
    parser.add_argument("--validation-steps", type=int, default=d.validation_steps)
    parser.add_argument("--log-every", type=int, default=d.log_every)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--shuffle-buffer", type=int, default=d.shuffle_buffer)
    parser.add_argument("--cache-decoded", action="store_true", help=CACHE_HELP)
    parser.add_argument(
        "--prefetch", type=int, default=d.prefetch, help="micro-batches built ahead in a child process"
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")


def run(args: argparse.Namespace) -> None:
    options = TrainOptions(
        shards=list_shards(args.shards),
        out=args.out,
        model=pretrained_model_config(args.pretrained) if args.pretrained else load_model_config(args.config),
        vae=args.vae,
        init=args.init,
        pretrained=args.pretrained,
        train_text_encoder=False if args.freeze_text_encoder else None,
        **{
            name: getattr(args, name)
            for name in (
                "max_steps", "global_batch", "grad_accum", "lr", "lr_warmup", "lr_decay_from", "lr_final",
                "weight_decay", "max_grad_norm",
                "ema_decay", "face_drop_p", "caption_drop_p", "captions", "face_source", "require_face",
                "identity_weight", "identity_max_timestep", "identity_samples", "face_models",
                "init_text_from",
                "checkpoint_every", "keep_checkpoints", "validate_every", "validation_images",
                "validation_steps", "log_every", "seed", "bf16", "gradient_checkpointing", "shuffle_buffer",
                "cache_decoded", "prefetch", "threads", "device",
            )
        },
    )  # fmt: skip
    info = init_distributed(options.device)
    try:
        train(options, info)
    finally:
        shutdown(info)


CACHE_HELP = "keep decoded samples in memory after the first epoch (datasets that fit in RAM; for GPUs)"


def _add_vae_arguments(parser: argparse.ArgumentParser) -> None:
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


def _run_vae(args: argparse.Namespace) -> None:
    if args.threads:
        torch.set_num_threads(args.threads)
    config = load_model_config(args.config)
    shards = list_shards(args.shards)
    train_vae(
        shards, config, args.out, args.steps, args.batch, args.lr, args.kl_weight, args.seed, args.device,
        init=args.init, decoder_only=args.decoder_only, lr_warmup=args.lr_warmup, lr_final=args.lr_final,
        cache_decoded=args.cache_decoded, face_weight=args.face_weight,
    )  # fmt: skip


def _add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="tiny")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--identity-weight", type=float, default=0.0, help="identity loss on every sample")


def _run_bench(args: argparse.Namespace) -> None:
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


def _add_slim_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--float16", action="store_true", help="store floating-point tensors as float16")
    parser.add_argument("--no-ema", action="store_true", help="the raw weights instead of the EMA ones")


def _run_slim(args: argparse.Namespace) -> None:
    dtype = torch.float16 if args.float16 else torch.float32
    slim_checkpoint(args.checkpoint, args.out, dtype, ema=not args.no_ema)
    print(f"slim: {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB)")


# `python -m face0 train-vae|bench|slim`: stages with the same add_arguments/run interface as a stage module.
VAE_STAGE = SimpleNamespace(
    __doc__="Trains the VAE alone (from-scratch configurations) before `train`.",
    add_arguments=_add_vae_arguments,
    run=_run_vae,
)
SLIM_STAGE = SimpleNamespace(
    __doc__="Writes a checkpoint's models with their EMA weights and no optimizer state (export, --init).",
    add_arguments=_add_slim_arguments,
    run=_run_slim,
)
BENCH_STAGE = SimpleNamespace(
    __doc__="Prints training throughput (samples/s) on synthetic inputs.",
    add_arguments=_add_bench_arguments,
    run=_run_bench,
)
