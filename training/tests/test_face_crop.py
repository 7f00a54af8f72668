import json

import numpy as np
import pytest
from PIL import Image

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
from face0.goldens_crop import GOLDEN_PATH, build, synthetic_image


def _pil_resize(rgb: np.ndarray, box: Box, size: int) -> np.ndarray:
    """PIL's BILINEAR resize of a float image, channel by channel in mode "F" (float64 accumulation)."""
    pil_box = (box.x, box.y, box.x + box.width, box.y + box.height)
    return np.stack(
        [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(rgb[..., c]), mode="F").resize(
                    (size, size), Image.BILINEAR, box=pil_box
                )
            )
            for c in range(3)
        ],
        axis=-1,
    )


# PIL takes the box as C floats, so these coordinates are exact in float32 (multiples of 1/64).
# Their filter windows stay inside the 640x480 image, where PIL's edge renormalisation does not apply.
IN_BOUNDS = [
    (Box(100.3125, 50.75, 300.25, 300.25), 150),  # downscale by 2
    (Box(200.5, 100.25, 40.375, 40.375), 150),  # upscale by 3.7
    (Box(101.25, 90.625, 200.5, 120.125), 64),  # different scale per axis
    (Box(30.0, 20.0, 400.0, 400.0), 16),  # downscale by 25: wide antialiasing support
]


@pytest.mark.parametrize(("box", "size"), IN_BOUNDS)
def test_matches_pil_bilinear_float(box, size):
    rgb = np.random.default_rng(0).uniform(0, 255, (480, 640, 3)).astype(np.float32)
    # Both sides round to float32 (1.5e-5 at 255); PIL stores its horizontal pass in float32 too.
    assert np.abs(crop_and_resize(rgb, box, size) - _pil_resize(rgb, box, size)).max() <= 1e-4


@pytest.mark.parametrize(("box", "size"), IN_BOUNDS)
def test_matches_pil_bilinear_uint8(box, size):
    rgb = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    pil_box = (box.x, box.y, box.x + box.width, box.y + box.height)
    ref = np.asarray(Image.fromarray(rgb).resize((size, size), Image.BILINEAR, box=pil_box)).astype(
        np.float32
    )
    # PIL's 8-bit path rounds its horizontal pass and its result to integers (0.5 each) and uses 22-bit
    # fixed-point weights: within 1.01 of the exact value (measured 0.58 to 0.99 on these cases).
    assert np.abs(crop_and_resize(rgb.astype(np.float32), box, size) - ref).max() <= 1.01


def test_outside_pixels_are_black():
    """PIL on a zero-padded copy (padding wider than the filter support) shows what "outside = 0" means."""
    rgb = synthetic_image(37, 53)
    pad = 40
    padded = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)))
    for box, size in [(Box(-6.25, 40.5, 20.5, 20.5), 48), (Box(-20.0, -12.5, 70.25, 70.25), 12)]:
        shifted = Box(box.x + pad, box.y + pad, box.width, box.height)
        assert np.abs(crop_and_resize(rgb, box, size) - _pil_resize(padded, shifted, size)).max() <= 1e-4


def test_fully_outside_is_black_and_empty_box_rejected():
    assert not crop_and_resize(synthetic_image(37, 53), Box(50, 60, 10, 10), 4).any()
    with pytest.raises(ValueError, match="empty crop"):
        crop_and_resize(synthetic_image(4, 4), Box(0, 0, 3, 0), 2)


def test_output_shape_and_dtype():
    out = crop_and_resize(synthetic_image(640, 480), Box(1.5, 2.5, 100.0, 100.0), 150)
    assert out.shape == (150, 150, 3) and out.dtype == np.float32


def test_expand_box_uses_margins_at_reference_size():
    assert expand_box(Box(100, 200, 160, 170), FACE0_CROP_MARGINS) == Box(90, 167, 180, 218)
    # Margins scale with the box width: half the reference size, half the margins.
    assert expand_box(Box(100, 200, 80, 85), FACE0_CROP_MARGINS) == Box(95, 183.5, 90, 109)


def test_square_box_keeps_centre_and_covers_box():
    assert square_box(Box(10, 20, 40, 60)) == Box(0, 20, 60, 60)
    assert square_box(Box(10, 20, 60, 40)) == Box(10, 10, 60, 60)
    assert face_crop_box(Box(100, 200, 160, 170), FACE0_CROP_MARGINS) == Box(71, 167, 218, 218)


def test_largest_face():
    class Face:
        def __init__(self, box):
            self.box = box

    assert largest_face([]) == -1
    assert largest_face([Face(Box(0, 0, 2, 2)), Face(Box(0, 0, 3, 2)), Face(Box(9, 9, 1, 5))]) == 1
    assert largest_face([Face(Box(0, 0, 2, 3)), Face(Box(5, 5, 3, 2))]) == 0


def test_to_pixel_values():
    rgb = synthetic_image(5, 4)
    mean, std = [122.782, 117.001, 104.298], [255.0, 128.0, 64.0]
    pv = to_pixel_values(rgb, mean, std)
    assert pv.shape == (3, 4, 5) and pv.dtype == np.float32
    for c in range(3):
        np.testing.assert_allclose(pv[c], (rgb[..., c] - mean[c]) / std[c], rtol=1e-6, atol=1e-6)


def test_golden_file_is_current():
    """tests/golden/face_crop.json must be what goldens_crop.py writes now (rerun it after changes)."""
    assert json.loads(GOLDEN_PATH.read_text()) == json.loads(json.dumps(build()))
