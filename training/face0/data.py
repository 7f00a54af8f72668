"""WebDataset shards (img2dataset/LAION layout: KEY.jpg, KEY.txt, KEY.json, ...): reading, atomic writing,
and the deterministic, resumable per-rank sample stream that training reads.

After `augment`, a sample's json has a `face` field (null when no face was found) and, when a face was
found, the shard holds `KEY.emb.npy` (float32 face embedding, face0.extraction's embedder).
"""

from __future__ import annotations

import glob
import io
import json
import os
import tarfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from face0.extraction import ImageError, load_image

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
EMBEDDING_EXTENSION = "emb.npy"
# pack --autoencoder: (2, C, h, w) float16 raw latents of the training image and of its mirror image.
LATENT_EXTENSION = "latent.npy"


def split_name(name: str) -> tuple[str, str]:
    """WebDataset's rule: key = path up to the first dot of the base name, extension = the rest."""
    directory, _, base = name.rpartition("/")
    stem, _, extension = base.partition(".")
    return (f"{directory}/{stem}" if directory else stem), extension


def read_samples(shard: str | Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """(key, {extension: bytes}) for each sample, members of one key being consecutive as in WebDataset."""
    key, files = None, {}
    with tarfile.open(shard) as tar:
        for member in tar:
            if not member.isfile():
                continue
            member_key, extension = split_name(member.name)
            if member_key != key and files:
                yield key, files
                files = {}
            key = member_key
            files[extension] = tar.extractfile(member).read()
    if files:
        yield key, files


def count_images(shard: str | Path) -> int:
    with tarfile.open(shard) as tar:
        return sum(split_name(name)[1].lower() in IMAGE_EXTENSIONS for name in tar.getnames())


def image_extension(files: dict[str, bytes]) -> str | None:
    return next((ext for ext in files if ext.lower() in IMAGE_EXTENSIONS), None)


class ShardWriter:
    """Writes a tar under a temporary name and renames it into place on success, so an existing
    output shard is always complete and a killed run leaves only a temporary file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._tar: tarfile.TarFile | None = None

    def __enter__(self) -> ShardWriter:
        self._tar = tarfile.open(self.tmp, "w:gz" if self.path.name.endswith(".gz") else "w")
        return self

    def write(self, key: str, files: dict[str, bytes]) -> None:
        for extension, data in files.items():
            info = tarfile.TarInfo(f"{key}.{extension}")
            info.size = len(data)
            info.mtime = 0  # same input, same bytes
            self._tar.addfile(info, io.BytesIO(data))

    def __exit__(self, exc_type, *_exc) -> None:
        self._tar.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def npy_array(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


@dataclass
class Sample:
    key: str
    image: np.ndarray  # (S, S, 3) uint8
    caption: str
    attributes: dict[str, int] | None
    embedding: np.ndarray  # (E,) float32, zeros without a face
    has_face: bool
    identity: int | None
    face_box: dict[str, float] | None = None  # the detector's box in `image` pixels (augment's face.box)
    latents: np.ndarray | None = None  # (2, C, h, w) float32 raw latents of `image` and its mirror (pack)


def centre_square(height: int, width: int) -> tuple[int, int, int]:
    """(top, left, side) of the centred square that square_resize keeps."""
    side = min(height, width)
    return (height - side) // 2, (width - side) // 2, side


def square_resize(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre square crop, then an antialiased bicubic resize to size x size (uint8)."""
    top, left, side = centre_square(*rgb.shape[:2])
    square = np.clip(np.rint(rgb[top : top + side, left : left + side]), 0, 255).astype(np.uint8)
    if side == size:
        return square
    return np.asarray(Image.fromarray(square).resize((size, size), Image.Resampling.BICUBIC))


def box_in_square(box: dict, height: int, width: int, size: int) -> dict[str, float]:
    """A box {x, y, width, height} of a height x width image, in square_resize(image, size)'s pixels."""
    top, left, side = centre_square(height, width)
    scale = size / side
    return {
        "x": (box["x"] - left) * scale,
        "y": (box["y"] - top) * scale,
        "width": box["width"] * scale,
        "height": box["height"] * scale,
    }


def decode_sample(key: str, files: dict[str, bytes], image_size: int, embedding_width: int) -> Sample:
    """Raises ImageError for a sample without a decodable image."""
    extension = image_extension(files)
    if extension is None:
        raise ImageError(f"{key}: no image member")
    rgb = load_image(files[extension])
    image = square_resize(rgb, image_size)
    meta = json.loads(files["json"]) if "json" in files else {}
    face = meta.get("face")
    face_box = box_in_square(face["box"], *rgb.shape[:2], image_size) if face else None
    caption = files["txt"].decode("utf-8") if "txt" in files else meta.get("caption", "")
    has_face = EMBEDDING_EXTENSION in files
    embedding = (
        npy_array(files[EMBEDDING_EXTENSION]).astype(np.float32)
        if has_face
        else np.zeros(embedding_width, np.float32)
    )
    if embedding.shape != (embedding_width,):
        raise ValueError(f"{key}: face embedding of shape {embedding.shape}, expected ({embedding_width},)")
    identity = meta.get("celeba_identity")
    latents = npy_array(files[LATENT_EXTENSION]).astype(np.float32) if LATENT_EXTENSION in files else None
    return Sample(
        key, image, caption, meta.get("attributes"), embedding, has_face, identity, face_box, latents
    )


def decode_or_none(key: str, files: dict[str, bytes], image_size: int, embedding_width: int) -> Sample | None:
    try:
        return decode_sample(key, files, image_size, embedding_width)
    except ImageError:
        return None


def list_shards(sources: Sequence[str | Path]) -> list[Path]:
    """Shard paths from files, folders (every *.tar and *.tar.gz inside) and glob patterns, sorted and
    deduplicated."""
    found: set[Path] = set()
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found.update([*path.glob("*.tar"), *path.glob("*.tar.gz")])
        elif any(ch in str(source) for ch in "*?["):
            found.update(Path(p) for p in glob.glob(str(source)))
        else:
            found.add(path)
    return sorted(found)


def rank_shards(shards: Sequence[Path], rank: int, world: int) -> list[Path]:
    return list(shards[rank::world])


@dataclass
class StreamPosition:
    epoch: int = 0
    consumed: int = 0  # raw samples taken from this rank's stream in this epoch


class SampleStream:
    """Endless, deterministic stream of raw samples for one rank, resumable from a StreamPosition.

    Each epoch permutes the shards with (seed, epoch); rank r reads every world-th shard of that order,
    or, with fewer shards than ranks, every world-th sample of all shards. A shuffle buffer seeded by
    (seed, epoch, rank) mixes samples. Decoding happens after the position advances, so skipping to a
    resume position reads but never decodes the skipped samples. A shard's (key, item) pairs come from
    `shard_samples` (default read_samples: item = {extension: bytes}; SampleReader's cache: decoded).
    """

    def __init__(
        self, shards: Sequence[Path], rank: int, world: int, seed: int, shuffle_buffer: int,
        position: StreamPosition | None = None,
        shard_samples: Callable[[Path], Iterable[tuple[str, Any]]] | None = None,
    ):  # fmt: skip
        if not shards:
            raise ValueError("no training shards")
        self.shards = list(shards)
        self.rank, self.world, self.seed = rank, world, seed
        self.shuffle_buffer = max(1, shuffle_buffer)
        self.position = position or StreamPosition()
        self.shard_samples = shard_samples or read_samples

    def _epoch_samples(self, epoch: int) -> Iterator[tuple[str, Any]]:
        order = [
            self.shards[i] for i in np.random.default_rng([self.seed, epoch]).permutation(len(self.shards))
        ]
        by_shard = len(order) >= self.world
        mine = rank_shards(order, self.rank, self.world) if by_shard else order
        index = 0
        for shard in mine:
            for sample in self.shard_samples(shard):
                if by_shard or index % self.world == self.rank:
                    yield sample
                index += 1

    def _shuffled(self, epoch: int) -> Iterator[tuple[str, Any]]:
        rng = np.random.default_rng([self.seed, epoch, self.rank])
        buffer: list = []
        for sample in self._epoch_samples(epoch):
            buffer.append(sample)
            if len(buffer) >= self.shuffle_buffer:
                yield buffer.pop(int(rng.integers(len(buffer))))
        while buffer:
            yield buffer.pop(int(rng.integers(len(buffer))))

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        while True:
            epoch, skip = self.position.epoch, self.position.consumed
            produced = 0
            for sample in self._shuffled(epoch):
                produced += 1
                if produced <= skip:
                    continue
                self.position = StreamPosition(epoch, produced)
                yield sample
            if produced == 0:
                raise ValueError(f"rank {self.rank}: no samples in its shards")
            self.position = StreamPosition(epoch + 1, 0)


# The --cache-decoded help of the stages that read samples (SampleReader's `cache`).
CACHE_HELP = "keep decoded samples in memory after the first epoch (datasets that fit in RAM; for GPUs)"


class SampleReader:
    """Decoded samples from a SampleStream; undecodable ones are counted and skipped.

    `cache` keeps every decoded sample in memory after its shard's first pass (decoding is deterministic,
    so later epochs get identical samples without reading or decoding): for datasets that fit in RAM,
    where one process could not otherwise feed an accelerator."""

    def __init__(
        self, stream: SampleStream, image_size: int, embedding_width: int, require_face: bool,
        cache: bool = False,
    ):  # fmt: skip
        self.stream = stream
        self.image_size = image_size
        self.embedding_width = embedding_width
        self.require_face = require_face
        self.bad = 0
        self.skipped_no_face = 0
        self._decoded: dict[Path, list[tuple[str, Sample | None]]] = {}
        if cache:
            stream.shard_samples = self._cached_shard
        self._raw = iter(stream)

    def _decode(self, key: str, files: dict[str, bytes]) -> Sample | None:
        return decode_or_none(key, files, self.image_size, self.embedding_width)

    def _cached_shard(self, shard: Path) -> list[tuple[str, Sample | None]]:
        if shard not in self._decoded:
            self._decoded[shard] = [(key, self._decode(key, files)) for key, files in read_samples(shard)]
        return self._decoded[shard]

    def next_batch(self, size: int) -> list[Sample]:
        batch = []
        while len(batch) < size:
            key, item = next(self._raw)
            sample = self._decode(key, item) if isinstance(item, dict) else item
            if sample is None:
                self.bad += 1
                continue
            if self.require_face and not sample.has_face:
                self.skipped_no_face += 1
                continue
            batch.append(sample)
        return batch


class IdentityIndex:
    """identity -> face embeddings of all its photos in some shards (for `--face-source other`)."""

    def __init__(self, shards: Sequence[Path]):
        self.by_identity: dict[int, list[tuple[str, np.ndarray]]] = {}
        for shard in shards:
            for key, files in read_samples(shard):
                if EMBEDDING_EXTENSION not in files or "json" not in files:
                    continue
                identity = json.loads(files["json"]).get("celeba_identity")
                if identity is not None:
                    entry = (key, npy_array(files[EMBEDDING_EXTENSION]).astype(np.float32))
                    self.by_identity.setdefault(int(identity), []).append(entry)

    def other_face(self, identity: int | None, key: str, rng: np.random.Generator) -> np.ndarray | None:
        """Embedding of a random other photo of the same person, None if there is none."""
        others = (
            [e for k, e in self.by_identity.get(identity, []) if k != key] if identity is not None else []
        )
        return others[int(rng.integers(len(others)))] if others else None
