"""Face similarity for the evaluation, measured by human's `faceres` network (not the conditioning embedder).

The model is conditioned on face-api's recognition net; grading identity with that same net would reward
images that fool it rather than images that look like the person. faceres (HSE FaceRes, via
@vladmandic/human, TF.js) runs in Node through scripts/faceres-embed.mjs; this module prepares the crops.

Crops follow human's: the detector box enlarged 1.4x about its centre, made square, resized to 224x224,
RGB 0..255. Before that, every crop is brought to at most `max_side` pixels: real photos are sharper than
64x64 generated images, and without this the same-person reference (ceiling) would be measured at a
resolution the generated faces can never reach.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from face0.face_crop import Box, crop_and_resize, square_box

FACERES_SIZE = 224
FACERES_WIDTH = 1024
# human's blazeface.ts: enlargeBox(box, config.face.detector.scale || 1.4) then squarifyBox.
FACERES_BOX_SCALE = 1.4
REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "faceres-embed.mjs"


def scale_box(box: Box, factor: float) -> Box:
    """The box scaled by `factor` about its centre."""
    cx, cy = box.x + box.width / 2, box.y + box.height / 2
    w, h = box.width * factor, box.height * factor
    return Box(cx - w / 2, cy - h / 2, w, h)


def faceres_crop(rgb: np.ndarray, box: Box, max_side: int | None = None) -> np.ndarray:
    """(224, 224, 3) float32 RGB 0..255 crop around a detected face box."""
    crop_box = square_box(scale_box(box, FACERES_BOX_SCALE))
    if max_side is not None and crop_box.width > max_side:
        small = crop_and_resize(rgb, crop_box, max_side)
        return crop_and_resize(small, Box(0, 0, max_side, max_side), FACERES_SIZE)
    return crop_and_resize(rgb, crop_box, FACERES_SIZE)


def faceres_embed(
    crops: list[np.ndarray] | np.ndarray, node: str = "node", timeout_s: float = 600
) -> np.ndarray:
    """(N, 224, 224, 3) crops -> (N, 1024) faceres descriptors (one Node process for the whole batch)."""
    crops = np.ascontiguousarray(np.asarray(crops, dtype="<f4"))
    if crops.ndim != 4 or crops.shape[1:] != (FACERES_SIZE, FACERES_SIZE, 3):
        raise ValueError(f"crops must be (N, {FACERES_SIZE}, {FACERES_SIZE}, 3); got {crops.shape}")
    if len(crops) == 0:
        return np.zeros((0, FACERES_WIDTH), np.float32)
    with tempfile.TemporaryDirectory(prefix="faceres-") as tmp:
        inp, out = Path(tmp) / "crops.f32", Path(tmp) / "descriptors.f32"
        crops.tofile(inp)
        done = subprocess.run(
            [node, str(SCRIPT), str(inp), str(out)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{SCRIPT.name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        info = json.loads(done.stdout.strip().splitlines()[-1])
        descriptors = np.fromfile(out, dtype="<f4").reshape(-1, FACERES_WIDTH)
    if len(descriptors) != len(crops) or info["crops"] != len(crops):
        raise RuntimeError(f"{SCRIPT.name} returned {len(descriptors)} descriptors for {len(crops)} crops")
    return descriptors


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norm = np.linalg.norm(a64) * np.linalg.norm(b64)
    return float(a64 @ b64 / norm) if norm > 0 else 0.0
