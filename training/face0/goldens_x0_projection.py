"""Writes tests/golden/x0_projection.json: x0 projections as the bundle file stores them (float16 bytes,
base64), and the epsilon face0.x0_projection makes of a guided epsilon with them, for the TypeScript twin
(src/diffusion/x0Projection.ts). Bundle-independent: each case fits its own components on random latents.

Run from training/: ../.venv/bin/python -m face0.goldens_x0_projection
"""

import base64
import tempfile
from pathlib import Path

import numpy as np
import torch

from face0.goldens import golden_arguments, write_golden
from face0.x0_projection import X0_PROJECTION_FILE, fit_x0_projection, write_x0_projection

CASES = ((2, 3, 4, 0.9), (32, 2, 8, 0.05))  # (channels, latent size, components, alpha-bar of the step)


def cases(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for channels, size, components, alpha in CASES:
        # Correlated latents, so that the components differ in variance as real latents' do.
        mixing = rng.standard_normal((channels * size * size,) * 2) * 0.3 + np.eye(channels * size * size)
        latents = rng.standard_normal((64, channels * size * size)) @ mixing + 0.5
        projection = fit_x0_projection(
            torch.from_numpy(latents.reshape(64, channels, size, size)), components, 0
        )
        with tempfile.TemporaryDirectory() as folder:
            write_x0_projection(Path(folder), projection)
            stored = (Path(folder) / X0_PROJECTION_FILE).read_bytes()
        sample = torch.from_numpy(rng.standard_normal((1, channels, size, size)).astype(np.float32))
        eps = torch.from_numpy(rng.standard_normal((1, channels, size, size)).astype(np.float32))
        out.append(
            {
                "channels": channels,
                "latent_size": size,
                "components": components,
                "file_base64": base64.b64encode(stored).decode(),
                "alpha_cumprod": alpha,
                "sample": sample.reshape(-1).tolist(),
                "eps": eps.reshape(-1).tolist(),
                "projected_eps": projection.epsilon(sample, eps, alpha).reshape(-1).tolist(),
            }
        )
    return out


def main() -> None:
    args = golden_arguments(__doc__, "x0_projection.json").parse_args()
    write_golden(args.out, {"cases": cases()})


if __name__ == "__main__":
    main()
