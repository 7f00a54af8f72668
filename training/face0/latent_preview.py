"""Fits a bundle's latent preview: a linear map from U-Net latents to RGB that lets the app show every
denoising step for almost nothing (src/diffusion/latentPreview.ts, manifest field `latent_preview`).

The map is fitted per bundle on the bundle's own graphs: images are sampled as the app samples them
(prompts in the model's vocabulary, faces from its face prior, half without a face), each step's
prediction of the clean latent is kept, decoded by the bundle's decoder, scaled to [0, 1] (from the
decoder's output range) and averaged down to the latent's resolution; least squares then gives
rgb = bias + weights @ latent per latent pixel. So it holds for any channel count and any autoencoder.

`python -m face0 latent-preview models/NAME` adds it to an exported bundle; export writes it itself.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from face0.bundle import MANIFEST_FILE, validate_bundle
from face0.embedding_ops import sample_face_prior
from face0.rng import Rng
from face0.sample import SamplerGraphs, load_bundle, sample_image
from face0.tokenize import Face0Tokenizer

# In the grammar of the training captions (face0.captions), so any bundle trained here knows the words.
FIT_PROMPTS = (
    "a photo of a person",
    "a photo of a smiling woman with blond hair",
    "a photo of an older man with a beard and eyeglasses",
    "a photo of a young woman with black hair and heavy makeup",
    "a photo of a man with gray hair and a hat",
    "a photo of a woman with brown wavy hair and rosy cheeks",
)
# Ridge regulariser relative to the mean squared latent: keeps weights finite for unused channels.
RIDGE = 1e-4
# The held-out share of the sampled images, for the reported error.
HELD_OUT = 0.25
# Images sampled for a fit: each gives one latent per step, each latent h*w pixels, for 3*(C+1) unknowns.
PREVIEW_IMAGES = 12


@torch.no_grad()
def sample_latents(
    graphs: SamplerGraphs, tokenizer: Face0Tokenizer, manifest: dict, images: int, steps: int, seed: int
) -> list[np.ndarray]:
    """For each of `images` samples, its (steps, C, h, w) predicted clean latents, step by step."""
    defaults = manifest["defaults"]
    out = []
    for i in range(images):
        face = sample_face_prior(manifest["face_prior"], Rng(seed + i)) if i % 2 == 0 else None
        predicted: list[np.ndarray] = []
        keep = predicted.append
        sample_image(
            graphs, tokenizer, manifest, FIT_PROMPTS[i % len(FIT_PROMPTS)], face, seed + i, steps,
            defaults["w"], defaults["c"], defaults["a"], on_step=lambda x0, keep=keep: keep(x0[0].numpy()),
        )  # fmt: skip
        out.append(np.stack(predicted))
    return out


@torch.no_grad()
def pooled_rgb(graphs: SamplerGraphs, manifest: dict, latents: np.ndarray) -> np.ndarray:
    """(N, 3, h, w) in [0, 1]: the decoder's images of (N, C, h, w) latents, averaged to latent size
    (`graphs.vae_decoder` gives [-1, 1] whatever the bundle's output_range)."""
    h = manifest["latent_size"]
    factor = manifest["image_size"] // h
    rows = []
    for latent in latents:
        image = graphs.vae_decoder(torch.from_numpy(latent[None] / manifest["vae_scaling_factor"]).float())
        image = ((image[0].numpy() + 1.0) / 2.0).clip(0.0, 1.0)
        rows.append(image.reshape(3, h, factor, h, factor).mean(axis=(2, 4)))
    return np.stack(rows)


def pixels(latents: np.ndarray) -> np.ndarray:
    """(N, C, h, w) -> (N*h*w, C): one row per latent pixel."""
    return latents.transpose(0, 2, 3, 1).reshape(-1, latents.shape[1])


def fit_linear(latents: np.ndarray, rgb: np.ndarray) -> dict:
    """Least squares (with a small ridge) of rgb (N, 3, h, w) on latents (N, C, h, w) plus a bias."""
    x = pixels(latents).astype(np.float64)
    y = pixels(rgb).astype(np.float64)
    design = np.concatenate([x, np.ones((len(x), 1))], axis=1)
    gram = design.T @ design
    ridge = RIDGE * np.trace(gram[:-1, :-1]) / max(1, x.shape[1])
    gram[:-1, :-1] += ridge * np.eye(x.shape[1])
    solution = np.linalg.solve(gram, design.T @ y)  # (C + 1, 3)
    return {"weights": solution[:-1].T.tolist(), "bias": solution[-1].tolist()}


def project(latents: np.ndarray, spec: dict) -> np.ndarray:
    """(N, C, h, w) -> (N, 3, h, w) in [0, 1], as src/diffusion/latentPreview.ts projects (before bytes)."""
    weights = np.asarray(spec["weights"])
    rgb = np.einsum("kc,nchw->nkhw", weights, latents) + np.asarray(spec["bias"])[None, :, None, None]
    return rgb.clip(0.0, 1.0)


def preview_bytes(latent: np.ndarray, spec: dict) -> np.ndarray:
    """(C, h, w) -> (h, w, 4) uint8 RGBA, the app's preview pixels: round(255 * clamp(rgb, 0, 1))."""
    rgb = np.rint(255.0 * project(latent[None].astype(np.float64), spec)[0]).astype(np.uint8)
    alpha = np.full((1, *rgb.shape[1:]), 255, np.uint8)
    return np.concatenate([rgb, alpha]).transpose(1, 2, 0)


def fit_latent_preview(
    graphs: SamplerGraphs, tokenizer: Face0Tokenizer, manifest: dict, images: int, steps: int, seed: int
) -> tuple[dict, dict]:
    """(spec, report): the map fitted on all but the last HELD_OUT of the images; the report gives the
    held-out mean absolute error in 0..255 levels, against predicting every pixel's mean colour."""
    per_image = sample_latents(graphs, tokenizer, manifest, images, steps, seed)
    latents = np.concatenate(per_image)
    rgb = pooled_rgb(graphs, manifest, latents)
    held = max(1, round(HELD_OUT * images)) * steps
    spec = fit_linear(latents[:-held], rgb[:-held])
    error = np.abs(project(latents[-held:], spec) - rgb[-held:]).mean() * 255
    baseline = np.abs(rgb[:-held].mean(axis=(0, 2, 3))[None, :, None, None] - rgb[-held:]).mean() * 255
    report = {
        "latents": len(latents),
        "held_out": held,
        "mae_levels": float(error),
        "mean_colour_mae": float(baseline),
    }
    # Refit on every image: the held-out error above describes this map's quality.
    return fit_linear(latents, rgb), report


def add_latent_preview(bundle_dir: Path, images: int, steps: int | None, seed: int, threads: int) -> dict:
    """Fits the map for an exported bundle and writes it into its manifest.json (the files listed there are
    left as they are); returns the fit's report."""
    graphs, tokenizer, manifest = load_bundle(bundle_dir, threads)
    spec, report = fit_latent_preview(
        graphs, tokenizer, manifest, images, steps or manifest["defaults"]["steps"], seed
    )
    fields = {k: v for k, v in manifest.items() if k not in ("latent_preview", "files")}
    manifest = {**fields, "latent_preview": spec, "files": manifest["files"]}
    (bundle_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    problems = validate_bundle(bundle_dir)
    if problems:
        raise ValueError(f"invalid bundle {bundle_dir}:\n" + "\n".join(problems))
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", type=Path, help="bundle folder (its manifest.json is rewritten)")
    parser.add_argument(
        "--images", type=int, default=PREVIEW_IMAGES, help="sampled images (each gives one latent per step)"
    )
    parser.add_argument("--steps", type=int, help="DDIM steps per image (default: the bundle's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)


def run(args: argparse.Namespace) -> None:
    report = add_latent_preview(args.bundle, args.images, args.steps, args.seed, args.threads)
    print(
        f"{args.bundle / MANIFEST_FILE}: latent_preview fitted on {report['latents']} latents; "
        f"held-out error {report['mae_levels']:.1f} levels "
        f"(predicting the mean colour: {report['mean_colour_mae']:.1f})"
    )
