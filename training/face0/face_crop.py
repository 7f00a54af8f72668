"""Face crop geometry and resampling; src/face/faceCrop.ts and src/face/resample.ts implement the same
formulas and are checked against this module through tests/golden/face_crop.json (goldens_crop.py).

Boxes are in pixels of the full image, floats allowed, origin at the top-left corner of the top-left
pixel (pixel (i, j) covers [j, j+1) x [i, i+1), its centre is at (j + 0.5, i + 0.5)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class CropMargins:
    """Field names as in the bundle manifest's ``face_embedder.crop_margins``."""

    left: float
    right: float
    top: float
    bottom: float
    reference_face_size: float


# Face0 paper, section 2.3: margins picked by hand for MTCNN boxes on faces resized to 160 px.
FACE0_CROP_MARGINS = CropMargins(left=10, right=10, top=33, bottom=15, reference_face_size=160)


class HasBox(Protocol):
    @property
    def box(self) -> Box: ...


def largest_face(faces: Sequence[HasBox]) -> int:
    """Index of the face whose box has the largest area (first one on ties), -1 if there is none."""
    best, best_area = -1, -1.0
    for i, face in enumerate(faces):
        area = face.box.width * face.box.height
        if area > best_area:
            best, best_area = i, area
    return best


def expand_box(box: Box, m: CropMargins) -> Box:
    """Grow a detection box by the margins, which are given for a face ``reference_face_size`` px wide."""
    s = box.width / m.reference_face_size
    return Box(
        x=box.x - m.left * s,
        y=box.y - m.top * s,
        width=box.width + (m.left + m.right) * s,
        height=box.height + (m.top + m.bottom) * s,
    )


def square_box(box: Box) -> Box:
    """Square of side max(width, height) with the same centre, so the crop is never stretched."""
    side = max(box.width, box.height)
    return Box(
        x=box.x + box.width / 2 - side / 2,
        y=box.y + box.height / 2 - side / 2,
        width=side,
        height=side,
    )


def face_crop_box(box: Box, m: CropMargins) -> Box:
    return square_box(expand_box(box, m))


def _axis_weights(start: float, length: float, out_size: int, in_size: int) -> tuple[int, np.ndarray]:
    """Resampling weights along one axis: (first, W) with W (out_size, n) over input pixels first..first+n-1.

    Output sample i has centre c_i = start + (i + 0.5) * scale in input coordinates, scale = length/out_size.
    With f = max(scale, 1) (the triangle widens when downscaling, which is what antialiases), input pixel k
    gets the weight  w_ik = max(0, 1 - |k + 0.5 - c_i| / f) / sum_k' max(0, 1 - |k' + 0.5 - c_i| / f),
    the sum running over every integer k' (inside the image or not), so pixels outside the image act as
    black instead of being renormalised away. Only columns for pixels inside the image are returned.
    """
    scale = length / out_size
    f = max(scale, 1.0)
    centres = start + (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    k_all = np.arange(np.floor(centres[0] - f), np.ceil(centres[-1] + f) + 1, dtype=np.float64)
    w_all = np.maximum(0.0, 1.0 - np.abs(k_all[None, :] + 0.5 - centres[:, None]) / f)
    w_all /= w_all.sum(axis=1, keepdims=True)
    inside = (k_all >= 0) & (k_all < in_size)
    if not inside.any():
        return 0, np.zeros((out_size, 0), dtype=np.float64)
    return int(k_all[inside][0]), w_all[:, inside]


def crop_and_resize(rgb: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Sample ``box`` of an HxWx3 float image (0..255) into a size x size x 3 float32 image.

    Separable antialiased bilinear (triangle) filter, the one PIL's ``Image.resize(..., BILINEAR, box=...)``
    and ``torch.nn.functional.interpolate(..., mode="bilinear", antialias=True)`` use (see _axis_weights for
    the weights), except that pixels outside the image count as 0 rather than being renormalised away.
    Horizontal pass first: out[i, j] = sum_y wy[i, y] * (sum_x wx[j, x] * rgb[y, x]), in float64.
    """
    if box.width <= 0 or box.height <= 0 or size <= 0:
        raise ValueError(f"empty crop: box {box}, size {size}")
    height, width = rgb.shape[:2]
    x0, wx = _axis_weights(box.x, box.width, size, width)
    y0, wy = _axis_weights(box.y, box.height, size, height)
    region = rgb[y0 : y0 + wy.shape[1], x0 : x0 + wx.shape[1]].astype(np.float64)
    rows = np.tensordot(wx, region, axes=([1], [1]))  # (size, H', 3), indexed [j, y]
    return np.tensordot(wy, rows, axes=([1], [1])).astype(np.float32)  # (size, size, 3), indexed [i, j]


def to_pixel_values(rgb: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """(rgb - mean) / std per channel, HxWx3 -> 3xHxW float32."""
    normed = (rgb.astype(np.float64) - np.asarray(mean, dtype=np.float64)) / np.asarray(std, dtype=np.float64)
    return np.ascontiguousarray(normed.transpose(2, 0, 1), dtype=np.float32)
