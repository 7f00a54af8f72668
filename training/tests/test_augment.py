"""`augment`: face fields and embeddings from face0.extraction, corrupt samples counted and skipped,
faceless images kept (or dropped with require_face), finished shards skipped, rank and worker splits."""

import json
import os

import numpy as np
from shards import BAD_MEMBERS, IDENTITIES, PHOTOS_PER_IDENTITY

from face0.augment import augment
from face0.data import EMBEDDING_EXTENSION, npy_array, read_samples
from face0.extraction import FaceExtractor, load_image
from face0.facemodels import DEFAULT_MODEL_DIR
from face0.facemodels.embedder import EMBEDDER_ID, EMBEDDING_WIDTH

REAL = IDENTITIES * PHOTOS_PER_IDENTITY


def test_augment_counts_bad_samples_and_keeps_faceless_ones(augmented, augmented_shards):
    _, stats = augmented
    assert stats.samples == REAL + len(BAD_MEMBERS) + 1
    assert stats.bad == len(BAD_MEMBERS)
    assert stats.written == REAL + 1
    assert stats.faces + stats.no_face == stats.written
    # The gray square has no face; BlazeFace finds the face in (almost) every aligned CelebA crop.
    assert stats.no_face >= 1 and stats.faces >= REAL - 2
    written = {key: files for shard in augmented_shards for key, files in read_samples(shard)}
    assert len(written) == REAL + 1
    assert not any(key.startswith("bad_") for key in written)
    gray = json.loads(written["gray_square"]["json"])
    assert gray["face"] is None and EMBEDDING_EXTENSION not in written["gray_square"]
    for key, files in written.items():
        meta = json.loads(files["json"])
        assert ("face" in meta) and (meta["face"] is not None) == (EMBEDDING_EXTENSION in files), key
        assert {"jpg", "txt", "json"} <= set(files), key


def test_augment_uses_exactly_face0_extraction(augmented_shards):
    """Box, crop box and embedding equal a direct FaceExtractor run on the same JPEG bytes (tolerance 0)."""
    with FaceExtractor(DEFAULT_MODEL_DIR) as extractor:
        checked = 0
        for key, files in read_samples(augmented_shards[0]):
            if EMBEDDING_EXTENSION not in files:
                continue
            face = json.loads(files["json"])["face"]
            expected = extractor.extract(load_image(files["jpg"]))
            assert face["embedder_id"] == EMBEDDER_ID
            assert face["box"] == {k: getattr(expected.box, k) for k in ("x", "y", "width", "height")}, key
            assert face["crop_box"]["width"] == expected.crop_box.width
            embedding = npy_array(files[EMBEDDING_EXTENSION])
            assert embedding.dtype == np.float32 and embedding.shape == (EMBEDDING_WIDTH,)
            np.testing.assert_array_equal(embedding, expected.embedding)
            checked += 1
            if checked == 3:
                break
    assert checked == 3


def test_rerun_skips_finished_shards(raw_shards, augmented):
    out, _ = augmented
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*.tar")}
    stats, skipped = augment(raw_shards, out)
    assert skipped == raw_shards and stats.samples == 0
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.glob("*.tar")} == before


def test_rank_split_and_require_face(raw_shards, tmp_path):
    """Rank 1 of 2 takes only the second shard; require_face drops the faceless gray square there.
    A temporary file left by a killed run is not taken for a finished shard."""
    leftover = tmp_path / f".{raw_shards[1].name}.tmp-12345"
    leftover.write_bytes(b"partial")
    stats, _ = augment(raw_shards, tmp_path, require_face=True, rank=1, world_size=2)
    assert [p.name for p in tmp_path.glob("*.tar")] == [raw_shards[1].name]
    assert stats.no_face >= 1 and stats.written == stats.faces
    keys = [key for key, _ in read_samples(tmp_path / raw_shards[1].name)]
    assert "gray_square" not in keys and len(keys) == stats.faces
    assert json.loads((tmp_path / f"{raw_shards[1].name}.stats.json").read_text())["written"] == stats.written


def test_worker_processes_write_the_same_shards(raw_shards, augmented, tmp_path):
    out, _ = augmented
    stats, _ = augment(raw_shards, tmp_path, num_workers=2)
    assert stats.bad == len(BAD_MEMBERS)
    for shard in raw_shards:
        assert (tmp_path / shard.name).read_bytes() == (out / shard.name).read_bytes(), shard.name
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]
