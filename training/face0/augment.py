"""Adds the largest face's box, crop box and face embedding to every sample of WebDataset shards.

Uses exactly face0.extraction (same detector file, crop and embedder ONNX as the app). Each output
shard keeps every input member; KEY.json gains `face` (null when no face was found) and KEY.emb.npy
holds the (E,) float32 embedding. Undecodable samples are counted and dropped. An output shard is
written under a temporary name and renamed at the end, so a rerun skips the finished ones.
"""

import argparse
import json
import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from face0.data import (
    EMBEDDING_EXTENSION,
    ShardWriter,
    count_images,
    image_extension,
    list_shards,
    npy_bytes,
    rank_shards,
    read_samples,
)
from face0.extraction import FaceExtractor, ImageError, load_image
from face0.facemodels import DEFAULT_MODEL_DIR
from face0.facemodels.embedder import EMBEDDER_ID
from face0.progress import Progress

STATS_SUFFIX = ".stats.json"


@dataclass
class ShardStats:
    samples: int = 0  # samples read
    faces: int = 0
    no_face: int = 0  # kept without a face (or dropped with require_face)
    bad: int = 0  # undecodable or missing image: dropped
    written: int = 0
    seconds: float = 0.0

    def add(self, other: "ShardStats") -> None:
        for name in asdict(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def face_record(extraction) -> dict:
    return {
        "box": asdict(extraction.box),
        "crop_box": asdict(extraction.crop_box),
        "score": extraction.detections[extraction.chosen].score,
        "num_faces": len(extraction.detections),
        "embedder_id": EMBEDDER_ID,
    }


def augment_shard(
    source: Path, target: Path, extractor: FaceExtractor, require_face: bool, on_image=None
) -> ShardStats:
    stats = ShardStats()
    start = time.perf_counter()
    with ShardWriter(target) as writer:
        for key, files in read_samples(source):
            stats.samples += 1
            extension = image_extension(files)
            try:
                if extension is None:
                    raise ImageError(f"{key}: no image member")
                extraction = extractor.extract(load_image(files[extension]))
            except ImageError:
                stats.bad += 1
                continue
            finally:
                if on_image is not None:
                    on_image()
            meta = json.loads(files["json"]) if "json" in files else {"key": key}
            out = {ext: data for ext, data in files.items() if ext != EMBEDDING_EXTENSION}
            if extraction is None:
                stats.no_face += 1
                if require_face:
                    continue
                meta["face"] = None
            else:
                stats.faces += 1
                meta["face"] = face_record(extraction)
                out[EMBEDDING_EXTENSION] = npy_bytes(extraction.embedding.astype("float32"))
            out["json"] = json.dumps(meta).encode("utf-8")
            writer.write(key, out)
            stats.written += 1
        stats.seconds = time.perf_counter() - start
        # The stats file is written before the tar is renamed into place, so a finished shard has both.
        target.with_name(target.name + STATS_SUFFIX).write_text(json.dumps(asdict(stats)) + "\n")
    return stats


# Worker-process state (multiprocessing Pool initializer).
_worker: dict = {}


def _init_worker(model_dir: str, counter) -> None:
    _worker["extractor"] = FaceExtractor(model_dir)
    _worker["counter"] = counter


def _bump() -> None:
    with _worker["counter"].get_lock():
        _worker["counter"].value += 1


def _worker_shard(source: Path, target: Path, require_face: bool) -> ShardStats:
    return augment_shard(source, target, _worker["extractor"], require_face, _bump)


def augment(
    shards: list[Path],
    out_dir: Path,
    model_dir: Path = DEFAULT_MODEL_DIR,
    require_face: bool = False,
    num_workers: int = 1,
    rank: int = 0,
    world_size: int = 1,
    progress_every_s: float = 10.0,
) -> tuple[ShardStats, list[Path]]:
    """Augments this rank's unfinished shards; returns (stats of the work done, shards skipped)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    mine = rank_shards(shards, rank, world_size)
    todo = [s for s in mine if not (out_dir / s.name).exists()]
    skipped = [s for s in mine if s not in todo]
    total = ShardStats()
    progress = Progress(sum(count_images(s) for s in todo), "augment", "images", progress_every_s)
    if num_workers <= 1:
        with FaceExtractor(model_dir) as extractor:
            for source in todo:
                total.add(
                    augment_shard(source, out_dir / source.name, extractor, require_face, progress.update)
                )
        return total, skipped
    context = mp.get_context("spawn")  # mediapipe and onnxruntime are not fork-safe
    counter = context.Value("q", 0)
    with context.Pool(num_workers, _init_worker, (str(model_dir), counter)) as pool:
        pending = [pool.apply_async(_worker_shard, (s, out_dir / s.name, require_face)) for s in todo]
        while not all(r.ready() for r in pending):
            time.sleep(1.0)
            progress.update(counter.value - progress.done)
        for result in pending:
            total.add(result.get())
    progress.update(counter.value - progress.done)
    return total, skipped


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", nargs="+", help="input .tar shards, folders or glob patterns")
    parser.add_argument("--out", type=Path, required=True, help="output folder (same shard names)")
    parser.add_argument("--face-models", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--require-face", action="store_true", help="drop samples without a face (paper)")
    parser.add_argument("--num-workers", type=int, default=1, help="processes on this machine")
    parser.add_argument("--rank", type=int, default=int(os.environ.get("RANK", 0)), help="this job's index")
    parser.add_argument("--world-size", type=int, default=int(os.environ.get("WORLD_SIZE", 1)), help="jobs")


def run(args: argparse.Namespace) -> None:
    shards = list_shards(args.shards)
    stats, skipped = augment(
        shards, args.out, args.face_models, args.require_face, args.num_workers, args.rank, args.world_size
    )
    for shard in skipped:
        print(f"skipped {shard.name}: already in {args.out}")
    print(f"augment: {json.dumps(asdict(stats))}")
