"""Writes tests/golden/latent_preview.json: latents and the preview bytes face0.latent_preview computes for
them, for the TypeScript projection (src/diffusion/latentPreview.ts). Bundle-independent: each case carries
its own map (random ones, with 4 and 32 channels; values chosen so that some pixels saturate).

Run from training/: ../.venv/bin/python -m face0.goldens_latent_preview
"""

import numpy as np

from face0.goldens import golden_arguments, write_golden
from face0.latent_preview import preview_bytes

CASES = ((4, 3, 5), (32, 4, 2))  # (channels, height, width)


def cases(seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for channels, h, w in CASES:
        spec = {
            "weights": (rng.standard_normal((3, channels)) * 0.3).tolist(),
            "bias": rng.uniform(0.2, 0.8, 3).tolist(),
        }
        latent = (rng.standard_normal((channels, h, w)) * 1.5).astype(np.float32)
        out.append(
            {
                "spec": spec,
                "height": h,
                "width": w,
                "latent": latent.reshape(-1).tolist(),
                "rgba": preview_bytes(latent, spec).reshape(-1).tolist(),
            }
        )
    return out


def main() -> None:
    args = golden_arguments(__doc__, "latent_preview.json").parse_args()
    write_golden(args.out, {"cases": cases()})


if __name__ == "__main__":
    main()
