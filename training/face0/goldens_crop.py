"""Write tests/golden/face_crop.json: face_crop.py outputs that tests/unit/faceCrop.test.ts and
tests/unit/resample.test.ts must reproduce.

Run from training/:  ../.venv/bin/python -m face0.goldens_crop
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from face0.face_crop import (
    FACE0_CROP_MARGINS,
    Box,
    crop_and_resize,
    expand_box,
    face_crop_box,
    largest_face,
    square_box,
    to_pixel_values,
)
from face0.goldens import GOLDEN_DIR, golden_arguments, write_golden

GOLDEN_PATH = GOLDEN_DIR / "face_crop.json"

# Values are written with this many decimals; the TypeScript tests state their tolerance above it.
DECIMALS = 4


def synthetic_image(width: int, height: int) -> np.ndarray:
    """HxWx3 float32 image from integer arithmetic only, so TypeScript regenerates it exactly:
    a diagonal gradient per channel plus a high-frequency pattern that aliases under naive sampling."""
    y, x, c = np.meshgrid(np.arange(height), np.arange(width), np.arange(3), indexing="ij")
    grad = (255 * (x + 2 * y + 40 * c)) // (width + 2 * height + 80)
    pattern = (x * x * 7 + y * y * 3 + x * y * 5 + c * 11) % 64 - 32
    return np.clip(grad + pattern, 0, 255).astype(np.float32)


# (name, image width, image height, box, output size, stride of the stored samples)
CROP_CASES = [
    ("small_down", 37, 53, Box(3.3, 5.7, 28.4, 28.4), 12, 1),
    ("small_up_partly_outside", 37, 53, Box(-6.25, 40.5, 20.5, 20.5), 48, 1),
    ("small_anisotropic", 37, 53, Box(1.5, 2.25, 30.0, 45.5), 20, 1),
    ("small_fully_outside", 37, 53, Box(50.0, 60.0, 10.0, 10.0), 4, 1),
    ("face0_up", 640, 480, face_crop_box(Box(301.7, 143.2, 95.3, 95.3), FACE0_CROP_MARGINS), 150, 7),
    ("face0_down", 640, 480, face_crop_box(Box(205.35, 121.9, 250.6, 262.1), FACE0_CROP_MARGINS), 150, 7),
    ("large_partly_outside", 640, 480, Box(520.4, -40.8, 190.3, 190.3), 64, 2),
    ("box_contains_image", 640, 480, Box(-100.5, -180.5, 841.0, 841.0), 32, 1),
]

BOX_CASES = [
    Box(301.7, 143.2, 95.3, 95.3),
    Box(10.0, 20.0, 160.0, 160.0),
    Box(-5.5, 7.25, 40.0, 61.0),
    Box(100.0, 50.0, 80.5, 30.25),
]

LARGEST_FACE_CASES = [
    [],
    [Box(0, 0, 10, 10)],
    [Box(0, 0, 10, 10), Box(5, 5, 20, 5), Box(1, 1, 11, 11)],
    [Box(0, 0, 4, 9), Box(3, 3, 6, 6), Box(2, 2, 9, 4)],  # equal areas: the first wins
]

PIXEL_VALUES_CASE = {"crop": "small_down", "mean": [122.782, 117.001, 104.298], "std": [255.0, 128.0, 64.0]}


@dataclass(frozen=True)
class _Face:
    box: Box


def _round(a: np.ndarray) -> list[float]:
    return [round(float(v), DECIMALS) for v in a.ravel()]


def build() -> dict:
    crops = []
    outputs = {}
    for name, width, height, box, size, stride in CROP_CASES:
        out = crop_and_resize(synthetic_image(width, height), box, size)
        outputs[name] = out
        crops.append(
            {
                "name": name,
                "image_width": width,
                "image_height": height,
                "box": asdict(box),
                "size": size,
                "stride": stride,
                "values": _round(out[::stride, ::stride]),
                "channel_sums": [float(out[..., c].astype(np.float64).sum()) for c in range(3)],
            }
        )

    pv = PIXEL_VALUES_CASE
    pixel_values = to_pixel_values(outputs[pv["crop"]], pv["mean"], pv["std"])

    return {
        "generator": "training/face0/goldens_crop.py",
        "decimals": DECIMALS,
        "margins": asdict(FACE0_CROP_MARGINS),
        "crops": crops,
        "boxes": [
            {
                "box": asdict(b),
                "expanded": asdict(expand_box(b, FACE0_CROP_MARGINS)),
                "squared": asdict(square_box(b)),
                "face_crop": asdict(face_crop_box(b, FACE0_CROP_MARGINS)),
            }
            for b in BOX_CASES
        ],
        "largest_face": [
            {"boxes": [asdict(b) for b in boxes], "index": largest_face([_Face(b) for b in boxes])}
            for boxes in LARGEST_FACE_CASES
        ],
        "pixel_values": {**pv, "values": _round(pixel_values)},
    }


def main() -> None:
    args = golden_arguments(__doc__, GOLDEN_PATH.name).parse_args()
    write_golden(args.out, build(), separators=(",", ":"))


if __name__ == "__main__":
    main()
