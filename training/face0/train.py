"""Joint training of the U-Net and FaceProjector (and the text encoder, for from-scratch configurations)
on (image, caption, face embedding): the `train` stage's loop and its options.

Randomness is a function of (seed, step, rank, micro-batch) — captions, face/caption dropout, VAE
latent sampling, noise and timesteps — and the models have no dropout, so a checkpoint's step,
data-stream positions, weights, EMA and optimizer state are the whole training state: a resumed run
reproduces the uninterrupted one exactly (on the same hardware, thread count and world size).
The checkpoint format is face0.checkpoints; the objective, face0.diffusion_loss.
"""

import argparse
import copy
import dataclasses
import itertools
import json
import random
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from face0.bundle_weights import init_text_from_bundle
from face0.captions import CAPTION_MODES, training_caption
from face0.checkpoints import latest_checkpoint, load_checkpoint_models, load_vae, save_checkpoint
from face0.clip_vocab import clip_tokenizer, vocabulary_for
from face0.config_json import config_from_dict, load_model_config
from face0.configs import CONFIGS, ModelConfig
from face0.data import (
    CACHE_HELP,
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
from face0.diffusion_loss import (
    Batch,
    Denoiser,
    Identity,
    ddpm_scheduler,
    diffusion_loss,
    images_to_tensor,
    trainable_parameters,
)
from face0.distributed import (
    DistInfo,
    allow_tf32,
    barrier,
    gather_objects,
    init_distributed,
    mean_across_ranks,
    shutdown,
)
from face0.facemodels import DEFAULT_MODEL_DIR
from face0.facemodels.torch_embedder import FaceEmbedderTorch
from face0.identity_loss import IdentityLoss, crop_boxes
from face0.models import CompactVocabulary, Face0Models, build_models, parameter_count
from face0.prefetch import Prefetched
from face0.pretrained import load_pretrained_models, pretrained_model_config
from face0.progress import Progress, format_duration
from face0.sample import TorchGraphs, bundle_fields, image_grid, sample_image, to_uint8
from face0.step_schedule import derived_seed, scheduled_lr
from face0.taef2 import Taef2Autoencoder

METRICS_FILE = "metrics.jsonl"
# Face embeddings the FaceProjector's input standardisation is fitted on at a fresh start.
PROJECTOR_STATISTICS_SAMPLES = 4096
# Training images (image and mirror latents each) the TAEF2 latent standardisation is fitted on.
LATENT_STATISTICS_SAMPLES = 2048


# ---------------------------------------------------------------------------------------------- options


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
    # One of face0.captions.CAPTION_MODES; "attribute-subsets" makes short prompts ("a photo of a woman") as
    # common as full ones (the TAEF2 models drew no face for it: docs/training.md, section 10).
    captions: str = "shard"
    face_source: str = "same"  # "same" (paper) or "other": another photo of the same celeba_identity
    require_face: bool = False
    # Identity loss (face0.identity_loss): weight (0: off), the timesteps below which it applies, and at most
    # this many samples of a micro-batch (decoding and embedding cost ~7x a U-Net step per sample).
    identity_weight: float = 0.0
    identity_max_timestep: int = 400
    # This share of each micro-batch draws its timesteps from [high_timesteps_from, T) instead of [0, T): the
    # celeba128-taef2 model denoised well from t <= 600 and poorly from t >= 800 after 6,500 uniform steps.
    high_timesteps_share: float = 0.0
    high_timesteps_from: int = 600
    # > 0: each sample's loss weighed by min(1 / alpha-bar_t, cap) (face0.diffusion_loss).
    v_loss_cap: float = 0.0
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
        if self.v_loss_cap > 0 and self.model.scheduler.prediction_type != "epsilon":
            raise ValueError("--v-loss-cap weighs an epsilon loss like v's; a v model's loss already is v's")
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
        # A generator is drawn only where a caption is made, so shard-caption runs keep their random stream.
        if options.captions != "shard" and s.attributes:
            caption = training_caption(
                options.captions, s.caption, s.attributes, random.Random(int(rng.integers(2**63)))
            )
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


# ---------------------------------------------------------------------------------------------- run start


def init_models(options: TrainOptions) -> Face0Models:
    models = load_checkpoint_models(options.init)
    # The VAE comes with the checkpoint, and with it the scaling factor its train-vae file had set.
    vae = dataclasses.replace(options.model.vae, scaling_factor=models.config.vae.scaling_factor)
    # A new noise schedule is a fine-tune of the same networks: the run's schedule replaces the checkpoint's.
    if models.config.scheduler != options.model.scheduler:
        print(
            f"train: --init {options.init}: noise schedule {models.config.scheduler} -> "
            f"{options.model.scheduler}"
        )
    # Another image size starts the same networks on another latent grid (no weight depends on it): the
    # TAEF2 latent statistics are then refitted on the run's shards.
    resized = models.config.image_size != options.model.image_size
    carried = {"scheduler": options.model.scheduler}
    if resized:
        carried |= {"image_size": options.model.image_size, "name": options.model.name}
        print(f"train: --init {options.init}: {models.config.image_size} px -> {options.model.image_size} px")
    if dataclasses.replace(models.config, **carried) != dataclasses.replace(options.model, vae=vae):
        raise ValueError(
            f"--init {options.init}: its model configuration is {models.config.name!r}, not the run's "
            f"{options.model.name!r}"
        )
    models.config = dataclasses.replace(models.config, **carried)
    if resized and isinstance(models.vae, Taef2Autoencoder):
        models.vae.set_latent_statistics(training_latents(options.shards, models, LATENT_STATISTICS_SAMPLES))
    return models


def truncate_metrics(path: Path, step: int) -> None:
    """Drops log lines a killed run wrote after its last checkpoint."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in kept))


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
                        denoiser,
                        models.vae,
                        scheduler,
                        batch,
                        generator,
                        device,
                        options.bf16,
                        identity,
                        (options.high_timesteps_share, options.high_timesteps_from),
                        options.v_loss_cap,
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
    parser.add_argument("--captions", choices=CAPTION_MODES, default=d.captions)
    parser.add_argument("--face-source", choices=["same", "other"], default=d.face_source)
    parser.add_argument("--require-face", action="store_true")
    parser.add_argument(
        "--identity-weight", type=float, default=d.identity_weight, help="identity loss weight (0: off)"
    )
    parser.add_argument("--identity-max-timestep", type=int, default=d.identity_max_timestep)
    parser.add_argument(
        "--high-timesteps-share", type=float, default=d.high_timesteps_share,
        help="share of each batch with timesteps from --high-timesteps-from on",
    )  # fmt: skip
    parser.add_argument("--high-timesteps-from", type=int, default=d.high_timesteps_from)
    parser.add_argument(
        "--v-loss-cap", type=float, default=d.v_loss_cap, help="weigh losses by min(1/alpha-bar, cap); 0: off"
    )
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
                "high_timesteps_share", "high_timesteps_from", "v_loss_cap",
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
