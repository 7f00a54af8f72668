"""A bundle's x0 projection: the sampler keeps each high-noise prediction of the clean latent inside the span
of the training latents' top principal components (manifest field `x0_projection`; the app's twin is
src/diffusion/x0Projection.ts).

At high noise a small U-Net's epsilon prediction implies an x0 far from any real latent (docs/training.md,
section 10: per dimension 1.48 at t = 999 against a natural spread of 0.89); DDIM's first steps write that
error into the latent as colour casts and haze. Replacing x0 there by mean + B^T B (x0 - mean), B the top K
principal directions of the training latents, keeps what the model predicts along the directions real faces
vary in and drops the rest; the step then goes on with the epsilon that x0 implies.

File: float16 little-endian, the mean (D values) then the K rows of B (D values each), D = C*h*w in the
U-Net latent's (C, h, w) order, latents as the U-Net sees them (before the division by vae_scaling_factor).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from face0.data import Sample, SampleReader, SampleStream
from face0.diffusion_loss import images_to_tensor
from face0.models import Face0Models, encode_latents

X0_PROJECTION_FILE = "x0_projection.bin"


@dataclass(frozen=True)
class X0Projection:
    mean: np.ndarray  # (D,) float32
    basis: np.ndarray  # (K, D) float32, rows orthonormal, by falling variance
    from_timestep: int  # applied at every step whose timestep is >= this

    def project(self, x0: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w): x0 kept along the basis, the mean elsewhere."""
        mean, basis = torch.from_numpy(self.mean), torch.from_numpy(self.basis)
        centred = x0.reshape(len(x0), -1) - mean
        return (mean + (centred @ basis.T) @ basis).reshape(x0.shape)

    def epsilon(self, latent: torch.Tensor, eps: torch.Tensor, alpha_cumprod: float) -> torch.Tensor:
        """The epsilon that makes the step's x0 the projected one (DDIM, eta 0)."""
        a = torch.tensor(alpha_cumprod, dtype=torch.float64)
        x0 = (latent - (1 - a).sqrt() * eps) / a.sqrt()
        return ((latent - a.sqrt() * self.project(x0.float())) / (1 - a).sqrt()).float()


def first_samples(shards: list[Path], image_size: int, count: int, skip: int = 0) -> list[Sample]:
    reader = SampleReader(SampleStream(shards, 0, 1, 0, 1), image_size, 256, False)
    if skip:
        reader.next_batch(skip)
    return reader.next_batch(count)


def latents_of(models: Face0Models, samples: list[Sample]) -> torch.Tensor:
    """(N, C, h, w) U-Net latents: the packed ones (not the mirror images') where the shards have them."""
    if all(s.latents is not None for s in samples):
        raw = torch.from_numpy(np.stack([s.latents[0] for s in samples]))
        return models.vae.standardise(raw)
    with torch.no_grad():
        return encode_latents(models.vae, images_to_tensor(samples))


def fit_x0_projection(latents: torch.Tensor, components: int, from_timestep: int) -> X0Projection:
    """Principal components of (N, C, h, w) U-Net latents, rounded to float16 as the bundle stores them."""
    flat = latents.reshape(len(latents), -1).double()
    mean = flat.mean(0)
    _, _, basis = torch.linalg.svd(flat - mean, full_matrices=False)
    return rounded(X0Projection(mean.numpy(), basis[:components].numpy(), from_timestep))


def rounded(projection: X0Projection) -> X0Projection:
    return X0Projection(
        projection.mean.astype(np.float16).astype(np.float32),
        projection.basis.astype(np.float16).astype(np.float32),
        projection.from_timestep,
    )


def manifest_entry(projection: X0Projection) -> dict:
    return {
        "file": X0_PROJECTION_FILE,
        "components": len(projection.basis),
        "from_timestep": projection.from_timestep,
    }


def write_x0_projection(bundle_dir: Path, projection: X0Projection) -> dict:
    """Writes the file into the bundle folder; returns its manifest entry."""
    values = np.concatenate([projection.mean[None], projection.basis]).astype("<f2")
    (bundle_dir / X0_PROJECTION_FILE).write_bytes(values.tobytes())
    return manifest_entry(projection)


def read_x0_projection(bundle_dir: Path, manifest: dict) -> X0Projection | None:
    entry = manifest.get("x0_projection")
    if entry is None:
        return None
    d = manifest["latent_channels"] * manifest["latent_size"] ** 2
    values = np.fromfile(bundle_dir / entry["file"], dtype="<f2").astype(np.float32)
    if values.size != (entry["components"] + 1) * d:
        raise ValueError(f"{entry['file']}: {values.size} values, expected ({entry['components']} + 1) * {d}")
    rows = values.reshape(entry["components"] + 1, d)
    return X0Projection(rows[0], rows[1:], entry["from_timestep"])
