"""The pipeline's code-initialised `micro` bundle (face0.configs.MICRO: tiny's graphs at the smallest sizes,
float16 weights as shipped bundles have), for the app's WebGPU tests: the engine test in Chromium
(tests/e2e/engine/browser.test.ts) and the WebGPU e2e flows (tests/e2e, --webgpu-bundle=micro) run the WebGPU
plumbing on it, where software WebGPU takes seconds per call of the default bundle's U-Net.

    PYTHONPATH=training python training/tests/micro_bundle.py --out test-output/bundles/micro

Its face detector and embedder are the default bundle's; its face prior is fitted on real faces (two
images of each celeba128 shard), its x0 projection on 64 celeba128 images.
"""

import argparse
from pathlib import Path

from face0.__main__ import main as face0
from face0.configs import DATA_DIR

REPO = Path(__file__).resolve().parents[2]
DESCRIPTION = "Code-initialised micro configuration for tests of the WebGPU plumbing: noise-like images."


def export_micro(out: Path) -> None:
    face0(
        [
            "export", "--config", "micro", "--out", str(out), "--name", "face0-micro",
            "--description", DESCRIPTION,
            "--license", "MIT", "--face-models", str(REPO / "models" / "default"),
            "--prior-images-per-shard", "2", "--prior-components", "2",
            # An x0 projection (face0.x0_projection) from the first timesteps on, so that both backends'
            # projected steps run too.
            "--x0-projection-shards", str(DATA_DIR / "celeba128"), "--x0-projection-samples", "64",
            "--x0-projection-components", "8", "--x0-projection-from-timestep", "500",
        ]
    )  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    export_micro(parser.parse_args().out.resolve())
