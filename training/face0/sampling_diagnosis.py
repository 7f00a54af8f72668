"""Where a checkpoint's sampling goes wrong, in three measurements (docs/training.md, section 10).

1. SDEdit grid: DDIM (eta 0, w = 1) from a training latent noised to t0 in T0S: the noise levels the model
   denoises well return the real face, the ones it does not return haze.
2. x0 errors: the x0 implied by the epsilon prediction at high t against the true latent, per dimension and
   along the latents' top principal components (against their natural spread).
3. Projection grid: DDIM from noise, plain and with each x0-prediction at t >= `t_from` projected on the
   top K principal components (the mean elsewhere; face0.x0_projection), which removes the errors of (2)
   outside them.

`python -m face0.sampling_diagnosis CHECKPOINT SHARDS... --out DIR` (from training/) writes sdedit.png,
projection.png and x0_errors.json.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from face0.checkpoints import load_checkpoint_models
from face0.clip_vocab import clip_tokenizer
from face0.data import Sample, list_shards
from face0.diffusion_loss import Denoiser, ddpm_scheduler, vae_scaling_factor
from face0.models import Face0Models, decode_latents
from face0.prediction import bundle_scheduler, epsilon_from_output
from face0.sample import image_grid, scheduler_from_config, to_uint8
from face0.x0_projection import X0Projection, first_samples, fit_x0_projection, latents_of

T0S = (200, 400, 600, 800, 999)
ERROR_TIMESTEPS = (999, 900, 800, 600, 400)


def natural_std(latents: torch.Tensor, projection: X0Projection) -> torch.Tensor:
    """(K,) the latents' spread along each of the projection's directions."""
    centred = latents.reshape(len(latents), -1) - torch.from_numpy(projection.mean)
    return (centred @ torch.from_numpy(projection.basis).T).std(0)


class Sampler:
    """DDIM with the checkpoint's schedule on its PyTorch models (eta 0; classifier-free guidance on the text
    and face together, as the app's default c = 1, a = 0)."""

    def __init__(self, models: Face0Models):
        self.models = models
        self.train_scheduler = ddpm_scheduler(models.config)
        self.tokenizer = clip_tokenizer(models.config.face_token_positions)
        self.denoiser = Denoiser(models, False)

    def epsilon(self, latent: torch.Tensor, t: int, sample: Sample, w: float) -> torch.Tensor:
        ids = torch.from_numpy(self.tokenizer([sample.caption, ""]))
        faces = torch.from_numpy(np.stack([sample.embedding, sample.embedding]))
        has_face = torch.tensor([sample.has_face, False])
        output = self.denoiser(latent.expand(2, -1, -1, -1), torch.full((2,), t), ids, faces, has_face)
        both = self.as_epsilon(output, latent, t)
        return both[1:] + w * (both[:1] - both[1:])

    def as_epsilon(self, output: torch.Tensor, noisy: torch.Tensor, t: int) -> torch.Tensor:
        prediction_type = self.models.config.scheduler.prediction_type
        return epsilon_from_output(prediction_type, output, noisy, self.train_scheduler.alphas_cumprod[t])

    @torch.no_grad()
    def sdedit(self, sample: Sample, real: torch.Tensor, t0: int, steps: int, seed: int) -> np.ndarray:
        """DDIM at w = 1 from `real` noised to t0, over `steps` evenly spaced timesteps down to 0."""
        alphas = self.train_scheduler.alphas_cumprod
        noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(seed))
        latent = self.train_scheduler.add_noise(real, noise, torch.tensor([t0]))
        timesteps = np.linspace(t0, 0, steps).round().astype(int)
        for i, t in enumerate(timesteps):
            eps = self.epsilon(latent, int(t), sample, 1.0)
            a = alphas[t]
            x0 = (latent - (1 - a).sqrt() * eps) / a.sqrt()
            a_next = alphas[timesteps[i + 1]] if i + 1 < len(timesteps) else torch.tensor(1.0)
            latent = a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps
        return self.decode(latent)

    @torch.no_grad()
    def from_noise(
        self, sample: Sample, steps: int, w: float, seed: int,
        projection: X0Projection | None = None,
    ) -> np.ndarray:  # fmt: skip
        """DDIM from noise with the checkpoint's scheduler settings; with a projection, as the app samples
        a bundle that has it (face0.x0_projection)."""
        scheduler = scheduler_from_config(bundle_scheduler(self.models.config.scheduler))
        scheduler.set_timesteps(steps)
        c, size = self.models.config.vae.latent_channels, self.models.config.latent_size
        latent = torch.randn((1, c, size, size), generator=torch.Generator().manual_seed(seed))
        for t in scheduler.timesteps:
            eps = self.epsilon(latent, int(t), sample, w)
            if projection is not None and int(t) >= projection.from_timestep:
                eps = projection.epsilon(latent, eps, float(scheduler.alphas_cumprod[int(t)]))
            latent = scheduler.step(eps, t, latent).prev_sample
        return self.decode(latent)

    def decode(self, latent: torch.Tensor) -> np.ndarray:
        image = decode_latents(self.models.vae, latent / vae_scaling_factor(self.models.vae))
        return to_uint8(image[0].permute(1, 2, 0).numpy())

    @torch.no_grad()
    def x0_errors(
        self, samples: list[Sample], real: torch.Tensor, projection: X0Projection, natural: torch.Tensor,
        t: int, seed: int,
    ) -> dict:  # fmt: skip
        """At timestep t: epsilon MSE, and the spread of the implied x0's error per dimension and along the
        components (beside their natural spread), conditioned on each sample's caption and face."""
        noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(seed))
        noisy = self.train_scheduler.add_noise(real, noise, torch.full((len(real),), t))
        ids = torch.from_numpy(self.tokenizer([s.caption for s in samples]))
        faces = torch.from_numpy(np.stack([s.embedding for s in samples]))
        has_face = torch.tensor([s.has_face for s in samples])
        output = self.denoiser(noisy, torch.full((len(real),), t), ids, faces, has_face)
        eps = self.as_epsilon(output, noisy, t)
        a = self.train_scheduler.alphas_cumprod[t]
        error = ((noisy - (1 - a).sqrt() * eps) / a.sqrt() - real).reshape(len(real), -1)
        return {
            "t": t,
            "epsilon_mse": float(((eps - noise) ** 2).mean()),
            "x0_error_std_per_dimension": float(error.std()),
            "x0_error_std_along_components": (error @ torch.from_numpy(projection.basis).T).std(0).tolist(),
            "natural_std_along_components": natural.tolist(),
        }


def diagnose(
    checkpoint: Path, shards: list[Path], out: Path, fit_samples: int = 2000, components: int = 64,
    t_from: int = 700, people: int = 3, measured: int = 16, steps: int = 10, seed: int = 0,
) -> dict:  # fmt: skip
    models = load_checkpoint_models(checkpoint).eval()
    size = models.config.image_size
    fit = latents_of(models, first_samples(shards, size, fit_samples))
    fitted = fit_x0_projection(fit, components, t_from)
    natural = natural_std(fit, fitted)
    # The people shown and measured come after the ones the components were fitted on.
    shown = first_samples(shards, size, max(people, measured), skip=fit_samples)
    real = latents_of(models, shown)
    sampler = Sampler(models)
    out.mkdir(parents=True, exist_ok=True)
    sdedit, projection = [], []
    for i, s in enumerate(shown[:people]):
        sdedit.append([s.image] + [sampler.sdedit(s, real[i : i + 1], t0, 20, seed) for t0 in T0S])
        plain = sampler.from_noise(s, steps, 3.0, seed + i)
        projection.append([s.image, plain, sampler.from_noise(s, steps, 3.0, seed + i, fitted)])
    image_grid(sdedit).save(out / "sdedit.png")
    image_grid(projection).save(out / "projection.png")
    report = {
        "checkpoint": str(checkpoint),
        "components": components,
        "projection_from_t": t_from,
        "x0_errors": [
            sampler.x0_errors(shown[:measured], real[:measured], fitted, natural, t, seed)
            for t in ERROR_TIMESTEPS
        ],
    }
    (out / "x0_errors.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m face0.sampling_diagnosis", description=__doc__.splitlines()[0]
    )
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("shards", nargs="+", help="training shards (packed ones bring their latents)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--fit-samples", type=int, default=2000)
    parser.add_argument("--components", type=int, default=64)
    parser.add_argument("--t-from", type=int, default=700)
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = diagnose(
        args.checkpoint, list_shards(args.shards), args.out, args.fit_samples, args.components, args.t_from,
        args.people,
    )  # fmt: skip
    for row in report["x0_errors"]:
        along = ", ".join(f"{e:.1f}" for e in row["x0_error_std_along_components"][:3])
        natural = ", ".join(f"{e:.1f}" for e in row["natural_std_along_components"][:3])
        print(
            f"t={row['t']}: epsilon MSE {row['epsilon_mse']:.5f}; x0 error per dimension "
            f"{row['x0_error_std_per_dimension']:.2f}; along the top components {along} (natural {natural})"
        )


if __name__ == "__main__":
    main()
