"""Shared fixtures for the training-pipeline tests: the tiny shards of shards.py, their augmented
version, and the micro model config (face0.configs.MICRO, re-exported for the tests)."""

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from shards import write_raw_shards

from face0.configs import MICRO

REPO = Path(__file__).resolve().parents[2]
# The face models and the CLIP BPE file are copied, not rebuilt, into every bundle.
FACE_MODELS = REPO / "models" / "default"


@pytest.fixture(scope="session")
def raw_shards(tmp_path_factory) -> list[Path]:
    return write_raw_shards(tmp_path_factory.mktemp("raw"))


@pytest.fixture(scope="session")
def augmented(raw_shards, tmp_path_factory):
    """(output folder, stats) of `augment` over raw_shards, single process."""
    from face0.augment import augment

    out = tmp_path_factory.mktemp("augmented")
    stats, skipped = augment(raw_shards, out)
    assert skipped == []
    return out, stats


@pytest.fixture(scope="session")
def augmented_shards(augmented) -> list[Path]:
    out, _ = augmented
    return sorted(out.glob("*.tar"))


@pytest.fixture(scope="session")
def micro_config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "micro.json"
    path.write_text(json.dumps(dataclasses.asdict(MICRO)))
    return path


def export_checkpoint(checkpoint: Path, out: Path, name: str, extra: tuple[str, ...] = ()) -> dict:
    """`python -m face0 export --checkpoint` (float32, a 2-component prior on random embeddings) into
    `out`; returns the manifest."""
    from face0 import export
    from face0.bundle import MANIFEST_FILE, validate_bundle

    faces = out.parent / f"{name}-faces.npy"
    np.save(faces, np.random.default_rng(1).normal(size=(16, 256)).astype(np.float32))
    parser = argparse.ArgumentParser()
    export.add_arguments(parser)
    export.run(
        parser.parse_args(
            ["--checkpoint", str(checkpoint), "--out", str(out), "--name", name, "--description", "test",
             "--face-models", str(FACE_MODELS), "--clip-dir", str(FACE_MODELS), "--prior-embeddings",
             str(faces), "--prior-components", "2", "--no-float16", *extra]
        )
    )  # fmt: skip
    assert validate_bundle(out) == []
    return json.loads((out / MANIFEST_FILE).read_text())
