"""Photos with faces at chosen sizes, made from celeba-identities photos pasted onto a textured background,
for the detector's tests. Only integer arithmetic (a box-filter shrink, a pixel-repeat grow, an integer
background pattern), so tests/e2e builds the same pixels in the browser from the same recipe
(tests/golden/extraction.json, "scenes").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from face0.extraction import load_image


@dataclass(frozen=True)
class Paste:
    path: str  # relative to the celeba-identities folder
    x: int
    y: int
    shrink: int = 1  # mean of shrink x shrink blocks (rounded half up); trailing pixels dropped
    grow: int = 1  # each pixel repeated grow x grow times


@dataclass(frozen=True)
class Scene:
    name: str
    width: int
    height: int
    pastes: tuple[Paste, ...]


def background(width: int, height: int) -> np.ndarray:
    """A fine diagonal texture (uint8 RGB), so no pass sees a flat image."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [96 + (x * 7 + y * 3) % 48, 112 + (x * 5 + y * 11) % 40, 128 + (x * 3 + y * 7) % 56], axis=-1
    ).astype(np.uint8)


def resized(photo: np.ndarray, shrink: int, grow: int) -> np.ndarray:
    h, w = photo.shape[0] // shrink * shrink, photo.shape[1] // shrink * shrink
    blocks = photo[:h, :w].astype(np.int32).reshape(h // shrink, shrink, w // shrink, shrink, 3)
    n = shrink * shrink
    small = (blocks.sum(axis=(1, 3)) + n // 2) // n
    return np.repeat(np.repeat(small, grow, axis=0), grow, axis=1).astype(np.uint8)


def render_scene(scene: Scene, data_dir: Path) -> np.ndarray:
    """The scene as RGB float32 0..255 (load_image's format); pastes are clipped to the canvas."""
    canvas = background(scene.width, scene.height)
    for p in scene.pastes:
        photo = resized(load_image(data_dir / p.path).astype(np.uint8), p.shrink, p.grow)
        h, w = min(photo.shape[0], scene.height - p.y), min(photo.shape[1], scene.width - p.x)
        canvas[p.y : p.y + h, p.x : p.x + w] = photo[:h, :w]
    return canvas.astype(np.float32)


# Faces in CelebA's aligned photos (178x218) are about 100 px wide.
SCENES = (
    # The case: two faces of ~9% of the longer side gave "No face found".
    Scene(
        "two-faces-9pct",
        1024,
        512,
        (Paste("id_00209/166636.jpg", 120, 150), Paste("id_00301/038652.jpg", 700, 60)),
    ),
    Scene("one-face-5pct", 1024, 768, (Paste("id_00343/042700.jpg", 610, 420, shrink=2),)),
    Scene(
        "three-sizes",
        1024,
        1024,
        (
            Paste("id_01301/017554.jpg", 40, 60, shrink=2),
            Paste("id_01496/043596.jpg", 420, 520),
            Paste("id_00209/172264.jpg", 600, 40, grow=2),
        ),
    ),
    Scene("one-face-40pct", 512, 512, (Paste("id_00301/071229.jpg", 60, 20, grow=2),)),
    Scene("no-face", 1024, 768, ()),
)
