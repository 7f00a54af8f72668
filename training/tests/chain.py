"""The training pipeline end to end through its command line, for the browser test that closes the loop
(tests/e2e/engine/chain.test.ts): cut a few dozen celeba128 images into shards -> `augment` -> `pack` them
with their TAEF2 latents (as the default model is trained) -> `train` the tiny U-Net on those latents a few
steps -> `export` a float32 bundle (U-Net weights as ONNX external data; TAEF2's decoder, [0, 1] out) ->
`sample` one image from the checkpoint in PyTorch.

    python training/tests/chain.py --out test-output/chain

writes bundle/ (what the app loads), request.json (prompt, face embedding, seed, steps, w, c, a) and
python.rgb (the PyTorch image, H x W x 3 bytes) for the app's engine to reproduce.
"""

import argparse
import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np
from PIL import Image
from shards import write_raw_shards

from face0.__main__ import main as face0
from face0.configs import CELEBA128_TAEF2, TINY
from face0.data import EMBEDDING_EXTENSION, npy_array, read_samples

REPO = Path(__file__).resolve().parents[2]
PROMPT = "a photo of a smiling woman with blond hair"
# c and a strictly between 0 and 1, so all four guidance terms run in the one batched U-Net call.
SETTINGS = {"seed": 7, "steps": 4, "w": 5.0, "c": 0.6, "a": 0.3}
TRAIN_STEPS = 4
# The tiny U-Net on the default model's latent space (TAEF2, 32 channels), at 64 px to stay fast.
TINY_TAEF2 = dataclasses.replace(
    TINY, name="tiny-taef2", vae=CELEBA128_TAEF2.vae, defaults=CELEBA128_TAEF2.defaults
)


def embeddings_of(shards: list[Path]) -> np.ndarray:
    return np.stack(
        [
            npy_array(files[EMBEDDING_EXTENSION])
            for shard in shards
            for _, files in read_samples(shard)
            if EMBEDDING_EXTENSION in files
        ]
    )


def stage(*argv: object) -> None:
    start = time.perf_counter()
    face0([str(a) for a in argv])
    print(f"chain: {argv[0]} took {time.perf_counter() - start:.1f} s", flush=True)


def chain(out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    raw = write_raw_shards(out / "raw")
    stage("augment", *raw, "--out", out / "augmented")
    augmented = sorted((out / "augmented").glob("*.tar"))
    config = out / "tiny-taef2.json"
    config.write_text(json.dumps(dataclasses.asdict(TINY_TAEF2)))
    stage(
        "pack",
        *augmented,
        "--out",
        out / "packed",
        "--image-size",
        TINY_TAEF2.image_size,
        "--autoencoder",
        "taef2",
    )
    stage(
        "train", out / "packed", "--config", config, "--out", out / "train", "--max-steps", TRAIN_STEPS,
        "--global-batch", 4, "--checkpoint-every", TRAIN_STEPS, "--validate-every", 0, "--threads", 2,
    )  # fmt: skip
    checkpoint = max((out / "train" / "checkpoints").glob("step-*.pt"))
    embeddings = embeddings_of(augmented)
    np.save(out / "prior-embeddings.npy", embeddings)
    stage(
        "export", "--checkpoint", checkpoint, "--out", out / "bundle", "--name", "chain-tiny-taef2",
        "--description", "tiny U-Net on TAEF2 latents, a few steps on two dozen celeba128 faces (test)",
        "--license", "CelebA non-commercial research", "--no-float16",
        "--face-models", REPO / "models" / "default",
        "--prior-embeddings", out / "prior-embeddings.npy", "--prior-components", 2,
        # The U-Net (~45 MB) goes to unet.onnx.data, as an SD-size one must: the app loads external data.
        "--external-data-threshold", 20_000_000,
    )  # fmt: skip
    face = embeddings[0].astype(np.float32)
    np.save(out / "face.npy", face)
    s = SETTINGS
    stage(
        "sample", "--checkpoint", checkpoint, "--prompt", PROMPT, "--face", out / "face.npy",
        "--seeds", s["seed"], "--steps", s["steps"], "--w", s["w"], "--c", s["c"], "--a", s["a"],
        "--out", out / "python.png",
    )  # fmt: skip
    image = np.asarray(Image.open(out / "python.png").convert("RGB"))
    (out / "python.rgb").write_bytes(image.tobytes())
    height, width = image.shape[:2]
    request = {"prompt": PROMPT, "face_embedding": face.tolist(), **s, "width": width, "height": height}
    (out / "request.json").write_text(json.dumps(request) + "\n")
    return request


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    chain(parser.parse_args().out.resolve())
