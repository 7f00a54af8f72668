"""face0.sampling_diagnosis on a micro checkpoint: its three outputs (the projection: test_x0_projection)."""

import json

from face0.checkpoints import latest_checkpoint
from face0.configs import MICRO
from face0.sampling_diagnosis import diagnose
from face0.train import TrainOptions, train


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
