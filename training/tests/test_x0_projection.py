"""face0.x0_projection: the fit, the file, the step's algebra, and the bundle validator's checks."""

import json

import numpy as np
import pytest
import torch

from face0.bundle import MANIFEST_FILE, validate_bundle, write_manifest
from face0.x0_projection import X0Projection, fit_x0_projection, read_x0_projection, write_x0_projection


def latents(seed: int = 0) -> torch.Tensor:
    return torch.randn(40, 2, 3, 3, generator=torch.Generator().manual_seed(seed)) * 2 + 0.5


def test_fit_gives_orthonormal_rows_by_falling_variance_and_a_full_basis_projects_onto_itself():
    x = latents()
    full = fit_x0_projection(x, 18, 0)
    # float16 rows: orthonormal and the identity on the span to ~1e-3.
    assert np.allclose(full.basis @ full.basis.T, np.eye(18), atol=3e-3)
    assert torch.allclose(full.project(x), x, atol=2e-2)
    two = fit_x0_projection(x, 2, 0)
    spread = (x.reshape(40, -1).numpy() - two.mean) @ two.basis.T
    assert spread[:, 0].std() >= spread[:, 1].std() > 0


def test_projection_keeps_the_span_and_maps_the_rest_to_the_mean():
    two = fit_x0_projection(latents(), 2, 0)
    inside = torch.from_numpy(two.mean + np.array([1.5, -2.0], np.float32) @ two.basis).reshape(1, 2, 3, 3)
    assert torch.allclose(two.project(inside), inside, atol=1e-2)
    outside = np.random.default_rng(1).standard_normal(18)
    for _ in range(2):  # float16 rows are orthonormal to ~1e-3: subtract twice
        outside -= (outside @ two.basis.T) @ two.basis
    moved = torch.from_numpy((two.mean + outside).astype(np.float32)).reshape(1, 2, 3, 3)
    assert torch.allclose(two.project(moved), torch.from_numpy(two.mean).reshape(1, 2, 3, 3), atol=1e-2)


def test_projected_epsilon_makes_the_step_predict_the_projected_x0():
    p = fit_x0_projection(latents(), 3, 0)
    g = torch.Generator().manual_seed(2)
    sample, eps = torch.randn(1, 2, 3, 3, generator=g), torch.randn(1, 2, 3, 3, generator=g)
    alpha = 0.3
    projected = p.epsilon(sample, eps, alpha)
    x0 = (sample - np.sqrt(1 - alpha) * eps) / np.sqrt(alpha)
    implied = (sample - np.sqrt(1 - alpha) * projected) / np.sqrt(alpha)
    assert torch.allclose(implied, p.project(x0), atol=1e-5)
    assert not torch.allclose(projected, eps, atol=1e-2)


def test_file_round_trip_and_the_validator(tmp_path):
    p = fit_x0_projection(latents(), 4, 700)
    entry = write_x0_projection(tmp_path, p)
    assert entry == {"file": "x0_projection.bin", "components": 4, "from_timestep": 700}
    assert (tmp_path / entry["file"]).stat().st_size == 5 * 18 * 2
    manifest = {"latent_channels": 2, "latent_size": 3, "x0_projection": entry}
    back = read_x0_projection(tmp_path, manifest)
    assert isinstance(back, X0Projection) and back.from_timestep == 700
    assert np.array_equal(back.mean, p.mean) and np.array_equal(back.basis, p.basis)
    assert read_x0_projection(tmp_path, {}) is None
    with pytest.raises(ValueError, match="expected"):
        read_x0_projection(tmp_path, {**manifest, "x0_projection": {**entry, "components": 5}})


def test_validator_names_a_projection_that_does_not_fit_the_latents(tmp_path):
    """On a copy of the micro bundle the e2e flows use (training/tests/micro_bundle.py)."""
    from micro_bundle import export_micro

    bundle = tmp_path / "bundle"
    export_micro(bundle)
    manifest = json.loads((bundle / MANIFEST_FILE).read_text())
    assert validate_bundle(bundle) == [] and manifest["x0_projection"]["components"] == 8
    size = manifest["latent_channels"] * manifest["latent_size"] ** 2
    fields = {k: v for k, v in manifest.items() if k != "files"}
    (bundle / "x0_projection.bin").write_bytes(np.zeros(3 * size, "<f2").tobytes())
    write_manifest(bundle, fields)
    assert any("x0_projection needs" in p for p in validate_bundle(bundle))
    entry = {"file": "x0_projection.bin", "components": 2, "from_timestep": 1000}
    write_manifest(bundle, {**fields, "x0_projection": entry})
    assert any("from_timestep" in p for p in validate_bundle(bundle))
