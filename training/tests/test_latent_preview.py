import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from face0.bundle import MANIFEST_FILE, validate_bundle
from face0.latent_preview import add_latent_preview, fit_linear, preview_bytes, project

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "models" / "default"


def test_fit_linear_recovers_a_linear_map_for_any_channel_count():
    rng = np.random.default_rng(0)
    for channels in (4, 32):
        weights = rng.normal(0, 0.1, (3, channels))
        bias = rng.uniform(0.3, 0.7, 3)
        latents = rng.normal(0, 1, (40, channels, 4, 4))
        rgb = np.einsum("kc,nchw->nkhw", weights, latents) + bias[None, :, None, None]
        spec = fit_linear(latents, rgb + rng.normal(0, 1e-3, rgb.shape))
        np.testing.assert_allclose(spec["weights"], weights, atol=2e-3)
        np.testing.assert_allclose(spec["bias"], bias, atol=2e-3)


def test_preview_bytes_clamp_and_round_like_the_app():
    spec = {"weights": [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], "bias": [0.5, 0.0, 0.0]}
    latent = np.array([[[0.6, -1.0]], [[0.25, 2.0]]], np.float32)  # (C=2, h=1, w=2)
    rgba = preview_bytes(latent, spec)
    # pixel 0: r = 0.5 + 0.6 -> 1 (clamped), g = 0.25, b = 0.425; pixel 1: r = -0.5 -> 0, g = 2 -> 1, b = 0.5
    assert rgba.tolist() == [[[255, 64, 108, 255], [0, 255, 128, 255]]]
    assert project(latent[None], spec).shape == (1, 3, 1, 2)


@pytest.fixture(scope="module")
def default_copy(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "default"
    shutil.copytree(DEFAULT_BUNDLE, out)
    return out


def test_fit_on_the_default_bundle_beats_the_mean_colour_and_keeps_the_bundle_valid(default_copy):
    before = json.loads((default_copy / MANIFEST_FILE).read_text())
    report = add_latent_preview(default_copy, images=4, steps=4, seed=0, threads=1)
    after = json.loads((default_copy / MANIFEST_FILE).read_text())
    channels = after["latent_channels"]
    assert np.asarray(after["latent_preview"]["weights"]).shape == (3, channels)
    assert len(after["latent_preview"]["bias"]) == 3
    # Nothing else changes (the files listed stay as they were).
    assert {k: v for k, v in after.items() if k != "latent_preview"} == {
        k: v for k, v in before.items() if k != "latent_preview"
    }
    assert validate_bundle(default_copy) == []
    # Held out: well under the error of painting every pixel the mean colour.
    assert report["mae_levels"] < 0.6 * report["mean_colour_mae"], report


def test_validate_refuses_a_preview_for_another_channel_count(default_copy, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(default_copy, broken)
    manifest = json.loads((broken / MANIFEST_FILE).read_text())
    manifest["latent_preview"] = {"weights": [[0.1] * 32] * 3, "bias": [0.5] * 3}
    (broken / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert any("latent_preview: weights (3, 32)" in p for p in validate_bundle(broken))
