"""face0.sampling_diagnosis on a micro checkpoint: the projection's algebra, and the three outputs."""

import json

import torch

from face0.checkpoints import latest_checkpoint
from face0.configs import MICRO
from face0.sampling_diagnosis import PrincipalComponents, diagnose, principal_components, project
from face0.train import TrainOptions, train


def test_projection_keeps_the_span_and_removes_the_rest():
    latents = torch.randn(40, 2, 3, 3, generator=torch.Generator().manual_seed(0))
    full = principal_components(latents, 18)
    assert torch.allclose(project(latents, full), latents, atol=1e-5)
    two = principal_components(latents, 2)
    assert torch.allclose(two.basis @ two.basis.T, torch.eye(2), atol=1e-5)
    inside = (two.mean + torch.tensor([1.5, -2.0]) @ two.basis).reshape(1, 2, 3, 3)
    assert torch.allclose(project(inside, two), inside, atol=1e-5)
    outside = torch.randn(18, generator=torch.Generator().manual_seed(1))
    outside -= (outside @ two.basis.T) @ two.basis
    moved = (two.mean + outside).reshape(1, 2, 3, 3)
    assert torch.allclose(project(moved, two), two.mean.reshape(1, 2, 3, 3), atol=1e-5)
    assert isinstance(two, PrincipalComponents) and two.std[0] >= two.std[1] > 0


def test_diagnosis_writes_its_grids_and_errors(augmented_shards, tmp_path):
    options = TrainOptions(
        shards=list(augmented_shards), out=tmp_path / "run", model=MICRO, max_steps=2, global_batch=4,
        lr=1e-3, ema_decay=0.9, checkpoint_every=2, log_every=1, shuffle_buffer=8, threads=1, device="cpu",
    )  # fmt: skip
    train(options)
    report = diagnose(
        latest_checkpoint(tmp_path / "run"), list(augmented_shards), tmp_path / "out", fit_samples=8,
        components=4, t_from=500, people=2, measured=4, steps=3,
    )  # fmt: skip
    assert (tmp_path / "out" / "sdedit.png").stat().st_size > 0 and (
        tmp_path / "out" / "projection.png"
    ).exists()
    assert json.loads((tmp_path / "out" / "x0_errors.json").read_text()) == report
    rows = report["x0_errors"]
    assert [r["t"] for r in rows] == [999, 900, 800, 600, 400]
    # The x0 implied by epsilon is noisier the more noise there is (an untrained model's too).
    assert rows[0]["x0_error_std_per_dimension"] > rows[-1]["x0_error_std_per_dimension"]
    assert all(len(r["x0_error_std_along_components"]) == 4 for r in rows)
