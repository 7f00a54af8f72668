"""Tiny WebDataset shards cut from celeba128, with injected corrupt members and a face-less image: the
input of the training-pipeline tests (conftest.py) and of the end-to-end chain (chain.py)."""

import csv
import io
import json
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from face0.configs import DATA_DIR

CELEBA = DATA_DIR / "celeba128"
SOURCE_SHARD = CELEBA / "celeba128-000000.tar"
IDENTITIES = 8  # people with >= 3 photos in the source shard, 3 photos each: 24 real samples
PHOTOS_PER_IDENTITY = 3
BAD_MEMBERS = {
    "bad_truncated": "truncated",  # the first half of a real JPEG
    "bad_text": b"this is not an image",
    "bad_empty": b"",
}


def _chosen_keys() -> list[str]:
    by_identity: dict[str, list[str]] = {}
    with open(CELEBA / "attributes.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["shard"] == SOURCE_SHARD.name:
                by_identity.setdefault(row["celeba_identity"], []).append(row["key"])
    people = [keys for _, keys in sorted(by_identity.items()) if len(keys) >= PHOTOS_PER_IDENTITY]
    return [key for keys in people[:IDENTITIES] for key in keys[:PHOTOS_PER_IDENTITY]]


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _gray_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((128, 128, 3), 128, np.uint8)).save(buffer, "JPEG")
    return buffer.getvalue()


def write_raw_shards(out: Path) -> list[Path]:
    """Two shards: 12 real samples each (interleaved identities); shard 0 also has the 3 bad samples,
    shard 1 a plain gray image (no face)."""
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(_chosen_keys())
    samples: dict[str, dict[str, bytes]] = {}
    with tarfile.open(SOURCE_SHARD) as tar:
        for member in tar:
            key, _, ext = member.name.partition(".")
            if key in wanted:
                samples.setdefault(key, {})[ext] = tar.extractfile(member).read()
    keys = sorted(samples)
    assert len(keys) == IDENTITIES * PHOTOS_PER_IDENTITY
    paths = [out / "part-000000.tar", out / "part-000001.tar"]
    for index, path in enumerate(paths):
        with tarfile.open(path, "w") as tar:
            for key in keys[index::2]:
                for ext in ("jpg", "txt", "json"):
                    _add(tar, f"{key}.{ext}", samples[key][ext])
            if index == 0:
                real = samples[keys[0]]["jpg"]
                for key, content in BAD_MEMBERS.items():
                    data = real[: len(real) // 2] if content == "truncated" else content
                    _add(tar, f"{key}.jpg", data)
                    _add(tar, f"{key}.txt", b"a photo of nothing")
            else:
                _add(tar, "gray_square.jpg", _gray_jpeg())
                _add(tar, "gray_square.txt", b"a gray square")
                _add(tar, "gray_square.json", json.dumps({"key": "gray_square"}).encode())
    return paths
