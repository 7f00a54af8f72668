"""Images from a training checkpoint (PyTorch) or an exported bundle (onnxruntime), sampled as the app does.

Both backends run the same loop: prompt and empty prompt through the text encoder (face0.tokenize's
Face0 truncation), face tokens from the projector, initial latents `Rng(seed).normal(C*h*w)`, then per
DDIM step (diffusers DDIMScheduler from the manifest's scheduler config) ONE batched U-Net call over
the conditions of face0.guidance.plan_guidance, combined by combine_guidance (at high noise, with the
bundle's face0.x0_projection); finally the VAE decoder
on latents / vae_scaling_factor, clamped to [-1, 1], pixel = (sample + 1) * 127.5.
"""

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from diffusers import DDIMScheduler
from PIL import Image

from face0.checkpoints import load_checkpoint_models
from face0.clip_vocab import clip_tokenizer
from face0.context import build_contexts
from face0.extraction import FaceExtractor, load_image
from face0.facemodels import DEFAULT_MODEL_DIR
from face0.guidance import combine_guidance, plan_guidance
from face0.models import Face0Models, decode_latents
from face0.prediction import EpsilonUNet, bundle_scheduler
from face0.rng import Rng
from face0.tokenize import Face0Tokenizer
from face0.x0_projection import X0Projection, read_x0_projection


class SamplerGraphs(Protocol):
    """The four graphs of a bundle, on torch tensors (float32, CPU in and out), and its x0 projection."""

    x0_projection: X0Projection | None

    def text_encoder(self, input_ids: torch.Tensor) -> torch.Tensor: ...
    def face_projector(self, face_embedding: torch.Tensor) -> torch.Tensor: ...
    def unet(self, sample: torch.Tensor, timestep: torch.Tensor, context: torch.Tensor) -> torch.Tensor: ...
    def vae_decoder(self, latent_sample: torch.Tensor) -> torch.Tensor: ...


class TorchGraphs:
    def __init__(self, models: Face0Models, x0_projection: X0Projection | None = None):
        self.models = models
        self.x0_projection = x0_projection
        self.device = next(models.parameters()).device
        scheduler = models.config.scheduler
        alphas = scheduler_from_config(bundle_scheduler(scheduler)).alphas_cumprod
        self.epsilon_unet = EpsilonUNet(models.unet, scheduler.prediction_type, alphas).to(self.device)

    def text_encoder(self, input_ids):
        return self.models.text_encoder(input_ids.to(self.device)).float().cpu()

    def face_projector(self, face_embedding):
        return self.models.face_projector(face_embedding.to(self.device)).float().cpu()

    def unet(self, sample, timestep, context):
        d = self.device
        return self.epsilon_unet(sample.to(d), timestep.to(d), context.to(d)).float().cpu()

    def vae_decoder(self, latent_sample):
        return decode_latents(self.models.vae, latent_sample.to(self.device)).float().cpu()


class OrtGraphs:
    def __init__(self, bundle_dir: Path, manifest: dict, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.sessions = {
            graph: ort.InferenceSession(
                str(bundle_dir / manifest[graph]["file"]), options, ["CPUExecutionProvider"]
            )
            for graph in ("text_encoder", "face_projector", "unet", "vae_decoder")
        }
        self.output_range = manifest["vae_decoder"]["output_range"]
        self.x0_projection = read_x0_projection(bundle_dir, manifest)

    def _run(self, graph: str, **inputs) -> torch.Tensor:
        feed = {name: value.numpy() for name, value in inputs.items()}
        return torch.from_numpy(self.sessions[graph].run(None, feed)[0])

    def text_encoder(self, input_ids):
        return self._run("text_encoder", input_ids=input_ids.to(torch.int64))

    def face_projector(self, face_embedding):
        return self._run("face_projector", face_embedding=face_embedding.float())

    def unet(self, sample, timestep, context):
        return self._run("unet", sample=sample, timestep=timestep.float(), encoder_hidden_states=context)

    def vae_decoder(self, latent_sample):
        """The bundle's decoder, its output (in the manifest's output_range) mapped to [-1, 1]."""
        decoded = self._run("vae_decoder", latent_sample=latent_sample)
        low, high = self.output_range
        # Exact for [-1, 1]: (x + 1) - 1 rounds small values in float32.
        return decoded if (low, high) == (-1, 1) else (decoded - low) * (2.0 / (high - low)) - 1.0


def scheduler_from_config(config: dict) -> DDIMScheduler:
    """DDIMScheduler from a manifest `scheduler` entry (its `kind` is ours, not a diffusers field)."""
    return DDIMScheduler(**{k: v for k, v in config.items() if k != "kind"})


@torch.no_grad()
def sample_image(
    graphs: SamplerGraphs,
    tokenizer: Face0Tokenizer,
    manifest: dict,
    prompt: str,
    face_embedding: np.ndarray | None,
    seed: int,
    steps: int,
    w: float,
    c: float,
    a: float,
    on_step: Callable[[torch.Tensor], None] | None = None,
) -> np.ndarray:
    """One image as (H, W, 3) float32 in [-1, 1]; `manifest` needs the fields bundle_fields() gives.
    `on_step` receives each step's prediction of the clean latent, (1, C, h, w) before the division by
    vae_scaling_factor (what the app's step previews show)."""
    plan = plan_guidance(w, c, a, face_embedding is not None)
    ids = torch.from_numpy(tokenizer([prompt, ""]))
    text = graphs.text_encoder(ids)
    face_tokens = None
    if face_embedding is not None:
        face_tokens = graphs.face_projector(torch.from_numpy(np.asarray(face_embedding, np.float32))[None])[0]
    positions = manifest["face_token_positions"]
    contexts = build_contexts(text[0], text[1], face_tokens, positions, plan.conditions)

    scheduler = scheduler_from_config(manifest["scheduler"])
    scheduler.set_timesteps(steps)
    c_lat, size = manifest["latent_channels"], manifest["latent_size"]
    noise = torch.from_numpy(Rng(seed).normal(c_lat * size * size)).reshape(1, c_lat, size, size)
    latents = noise * scheduler.init_noise_sigma
    n = len(plan.conditions)
    projection = graphs.x0_projection
    for t in scheduler.timesteps:
        eps = combine_guidance(
            graphs.unet(latents.expand(n, -1, -1, -1), torch.full((n,), float(t)), contexts), plan
        )[None]
        if projection is not None and int(t) >= projection.from_timestep:
            eps = projection.epsilon(latents, eps, float(scheduler.alphas_cumprod[int(t)]))
        step = scheduler.step(eps, t, latents)
        latents = step.prev_sample
        if on_step is not None:
            on_step(step.pred_original_sample)
    image = graphs.vae_decoder(latents / manifest["vae_scaling_factor"])[0]
    return image.permute(1, 2, 0).numpy()


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[-1, 1] -> 0..255, as the app writes pixels."""
    return np.clip(np.rint((image + 1.0) * 127.5), 0, 255).astype(np.uint8)


def bundle_fields(models: Face0Models) -> dict:
    """The manifest fields sample_image reads, for a PyTorch model (what export writes for it)."""
    config = models.config
    return {
        "face_token_positions": list(config.face_token_positions),
        "scheduler": bundle_scheduler(config.scheduler),
        "latent_channels": config.vae.latent_channels,
        "latent_size": config.latent_size,
        "vae_scaling_factor": config.vae.scaling_factor,
    }


def load_bundle(bundle_dir: Path, threads: int = 1) -> tuple[OrtGraphs, Face0Tokenizer, dict]:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    tokenizer = clip_tokenizer(
        manifest["face_token_positions"], bundle_dir / manifest["tokenizer"]["vocab_file"]
    )
    return OrtGraphs(bundle_dir, manifest, threads), tokenizer, manifest


def image_grid(rows: list[list[np.ndarray]]) -> Image.Image:
    """uint8 (H, W, 3) tiles, all the same size, as one image (rows of columns)."""
    return Image.fromarray(np.concatenate([np.concatenate(row, axis=1) for row in rows], axis=0))


def face_embedding_from(path: Path, face_models: Path) -> np.ndarray:
    """An .npy embedding, or the embedding of the largest face in an image (face0.extraction)."""
    if path.suffix == ".npy":
        return np.load(path).astype(np.float32)

    with FaceExtractor(face_models) as extractor:
        extraction = extractor.extract(load_image(path))
    if extraction is None:
        raise SystemExit(f"{path}: no face found")
    return extraction.embedding


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="training checkpoint (.pt): PyTorch")
    source.add_argument("--bundle", type=Path, help="exported bundle folder: onnxruntime")
    parser.add_argument("--no-ema", action="store_true", help="checkpoint: raw weights instead of EMA")
    parser.add_argument("--prompt", default="")
    parser.add_argument("--face", type=Path, help="face photo, or an .npy face embedding; omit for no face")
    parser.add_argument("--face-models", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int)
    parser.add_argument("--w", type=float)
    parser.add_argument("--c", type=float)
    parser.add_argument("--a", type=float)
    parser.add_argument("--out", type=Path, required=True, help="PNG (one row of one image per seed)")


def run(args: argparse.Namespace) -> None:
    if args.bundle:
        graphs, tokenizer, manifest = load_bundle(args.bundle)
        defaults = manifest["defaults"]
    else:
        models = load_checkpoint_models(args.checkpoint, ema=not args.no_ema).eval()
        graphs, manifest = TorchGraphs(models), bundle_fields(models)
        tokenizer = clip_tokenizer(models.config.face_token_positions)
        defaults = asdict(models.config.defaults)
    settings = {
        k: defaults[k] if getattr(args, k) is None else getattr(args, k) for k in ("steps", "w", "c", "a")
    }
    embedding = face_embedding_from(args.face, args.face_models) if args.face else None
    images = [
        to_uint8(sample_image(graphs, tokenizer, manifest, args.prompt, embedding, seed, **settings))
        for seed in args.seeds
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    image_grid([images]).save(args.out)
    print(f"wrote {args.out} ({len(images)} image(s), {settings})")
