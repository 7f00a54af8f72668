"""Writes tests/golden/diffusion.json: reference numbers for the TypeScript Rng, DDIM scheduler and
embedding ops. The DDIM references come from diffusers' DDIMScheduler, not from our own port.

Run from training/: ../.venv/bin/python -m face0.goldens_diffusion
"""

import numpy as np
import torch
from diffusers import DDIMScheduler

from face0.embedding_ops import add_noise, interpolate, sample_face_prior, weighted_mean
from face0.goldens import golden_arguments, write_golden
from face0.rng import Rng

RNG_SEEDS = [0, 1, 42, 123456789, -1, 2**53 - 1]

# Every SchedulerSpec option is exercised by at least one config.
DDIM_CONFIGS = [
    {
        "num_train_timesteps": 1000,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "prediction_type": "epsilon",
        "clip_sample": False,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "timestep_spacing": "leading",
    },
    {
        "num_train_timesteps": 1000,
        "beta_schedule": "linear",
        "beta_start": 0.0001,
        "beta_end": 0.02,
        "prediction_type": "epsilon",
        "clip_sample": True,
        "set_alpha_to_one": True,
        "steps_offset": 0,
        "timestep_spacing": "trailing",
    },
    {
        "num_train_timesteps": 1000,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "prediction_type": "epsilon",
        "clip_sample": False,
        "set_alpha_to_one": True,
        "steps_offset": 0,
        "timestep_spacing": "linspace",
    },
    {
        "num_train_timesteps": 100,
        "beta_schedule": "linear",
        "beta_start": 0.001,
        "beta_end": 0.05,
        "prediction_type": "epsilon",
        "clip_sample": False,
        "set_alpha_to_one": False,
        "steps_offset": 1,
        "timestep_spacing": "trailing",
    },
]
TIMESTEP_COUNTS = [1, 2, 3, 7, 10, 20, 25, 30, 50, 99]
TRAJECTORY_STEPS = 10
TRAJECTORY_SIZE = 24


def _floats(x) -> list[float]:
    return [float(v) for v in np.asarray(x, dtype=np.float32).reshape(-1)]


def rng_goldens() -> list[dict]:
    out = []
    for seed in RNG_SEEDS:
        words = Rng(seed)
        uniforms = Rng(seed)
        out.append(
            {
                "seed": seed,
                "uint32": [words.next_uint32() for _ in range(8)],
                "uniform": [uniforms.uniform() for _ in range(4)],
                "normal": _floats(Rng(seed).normal(7)),
            }
        )
    return out


def ddim_goldens() -> list[dict]:
    out = []
    for index, config in enumerate(DDIM_CONFIGS):
        kwargs = {k: v for k, v in config.items()}
        scheduler = DDIMScheduler(**kwargs)
        timesteps = {}
        for n in TIMESTEP_COUNTS:
            if n <= config["num_train_timesteps"]:
                scheduler.set_timesteps(n)
                timesteps[str(n)] = [int(t) for t in scheduler.timesteps]
        # A full eta=0 trajectory: the sample starts as Rng(seed) normals and each step's epsilon is
        # the next normal(TRAJECTORY_SIZE) of Rng(seed + 1), so TypeScript can regenerate the inputs.
        seed = 1000 + index
        scheduler.set_timesteps(TRAJECTORY_STEPS)
        sample = torch.from_numpy(Rng(seed).normal(TRAJECTORY_SIZE))
        eps_rng = Rng(seed + 1)
        samples = []
        for t in scheduler.timesteps:
            eps = torch.from_numpy(eps_rng.normal(TRAJECTORY_SIZE))
            sample = scheduler.step(eps, int(t), sample, eta=0.0).prev_sample
            samples.append(_floats(sample))
        out.append(
            {
                "config": {"kind": "ddim", **config},
                "timesteps": timesteps,
                "trajectory": {
                    "seed": seed,
                    "steps": TRAJECTORY_STEPS,
                    "size": TRAJECTORY_SIZE,
                    "timesteps": [int(t) for t in scheduler.timesteps],
                    "samples": samples,
                },
            }
        )
    return out


def embedding_goldens() -> dict:
    width = 16
    a = Rng(11).normal(width)
    b = Rng(12).normal(width)
    c = Rng(13).normal(width)
    prior = {
        "kind": "gmm-diag",
        "weights": [0.2, 0.5, 0.3],
        "means": [_floats(Rng(20 + k).normal(width)) for k in range(3)],
        "variances": [_floats(Rng(30 + k).normal(width) ** 2 + 0.1) for k in range(3)],
    }
    prior_rng = Rng(7)
    prior_samples = [_floats(sample_face_prior(prior, prior_rng)) for _ in range(6)]
    mean_weights = [1.0, 2.0, -0.5]
    return {
        "a": _floats(a),
        "b": _floats(b),
        "c": _floats(c),
        "interpolate_t": 0.3,
        "interpolate": _floats(interpolate(a, b, 0.3)),
        "weighted_mean_weights": mean_weights,
        "weighted_mean": _floats(weighted_mean([a, b, c], mean_weights)),
        "prior": prior,
        "prior_seed": 7,
        "prior_samples": prior_samples,
        "noise_seed": 9,
        "noise_scale": 0.25,
        "add_noise": _floats(add_noise(a, 0.25, Rng(9))),
    }


def main() -> None:
    args = golden_arguments(__doc__, "diffusion.json").parse_args()
    goldens = {
        "generator": "training/face0/goldens_diffusion.py",
        "rng": rng_goldens(),
        "ddim": ddim_goldens(),
        "embedding_ops": embedding_goldens(),
    }
    write_golden(args.out, goldens, indent=1)


if __name__ == "__main__":
    main()
