"""Runs face extraction over an identity folder tree (celeba-identities layout: one `id_*` folder per
person) and reports the face-found rate, same- vs different-person embedding similarity, and a contact
sheet of the crops.

Run from training/:
  ../.venv/bin/python -m face0.extraction_report --data ../../shared/data/celeba-identities \
      --out ../test-output/extraction
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from face0.extraction import Extraction, FaceExtractor, load_image, to_pixel_values
from face0.facemodels import DEFAULT_MODEL_DIR, REPO_ROOT

IDENTITIES_DIR = REPO_ROOT.parent / "shared" / "data" / "celeba-identities"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
# face-api's own same-person threshold on the Euclidean distance between descriptors.
FACEAPI_DISTANCE_THRESHOLD = 0.6
SHEET_TILE = 96


@dataclass(frozen=True)
class Photo:
    path: Path
    identity: str  # the person's folder name


@dataclass
class PairStats:
    same_pairs: int
    different_pairs: int
    same_mean_cosine: float
    different_mean_cosine: float


@dataclass
class Report:
    photos: int
    faces_found: int
    face_found_rate: float
    missed: list[str]
    embedding: PairStats  # 256-d face_embedding (what Face0 conditions on)
    # The same after subtracting the mean embedding of the set: the pooled ReLU features share a large
    # positive component that dominates the raw cosine.
    embedding_centred: PairStats
    descriptor: PairStats  # face-api's 128-d descriptor
    descriptor_same_mean_distance: float
    descriptor_different_mean_distance: float
    descriptor_accuracy_at_threshold: float  # pairs on the right side of FACEAPI_DISTANCE_THRESHOLD


def list_photos(data_dir: Path) -> list[Photo]:
    return [
        Photo(path, folder.name)
        for folder in sorted(p for p in Path(data_dir).iterdir() if p.is_dir())
        for path in sorted(folder.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]


def _normalized(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def pair_stats(vectors: np.ndarray, identities: list[str]) -> PairStats:
    """Mean cosine similarity over all unordered pairs of the same / of different identities."""
    cos = _normalized(vectors) @ _normalized(vectors).T
    same, different = [], []
    for i, j in combinations(range(len(identities)), 2):
        (same if identities[i] == identities[j] else different).append(cos[i, j])
    return PairStats(len(same), len(different), float(np.mean(same)), float(np.mean(different)))


def evaluate(extractor: FaceExtractor, photos: list[Photo]) -> tuple[Report, list[Extraction | None]]:
    extractions = [extractor.extract(load_image(p.path)) for p in photos]
    found = [(p, e) for p, e in zip(photos, extractions, strict=True) if e is not None]
    identities = [p.identity for p, _ in found]
    embeddings = np.stack([e.embedding for _, e in found])
    descriptors = np.concatenate([extractor.run(to_pixel_values(e.crop))[1] for _, e in found])

    distances = np.linalg.norm(descriptors[:, None] - descriptors[None], axis=2)
    same_d, different_d, correct = [], [], 0
    for i, j in combinations(range(len(found)), 2):
        same = identities[i] == identities[j]
        (same_d if same else different_d).append(distances[i, j])
        correct += (distances[i, j] < FACEAPI_DISTANCE_THRESHOLD) == same
    report = Report(
        photos=len(photos),
        faces_found=len(found),
        face_found_rate=len(found) / len(photos),
        missed=[str(p.path) for p, e in zip(photos, extractions, strict=True) if e is None],
        embedding=pair_stats(embeddings, identities),
        embedding_centred=pair_stats(embeddings - embeddings.mean(axis=0), identities),
        descriptor=pair_stats(descriptors, identities),
        descriptor_same_mean_distance=float(np.mean(same_d)),
        descriptor_different_mean_distance=float(np.mean(different_d)),
        descriptor_accuracy_at_threshold=float(correct) / (len(same_d) + len(different_d)),
    )
    return report, extractions


def contact_sheet(
    photos: list[Photo], extractions: list[Extraction | None], columns: int = 12
) -> Image.Image:
    """Every crop as a tile labelled with its identity folder; photos without a face stay grey."""
    rows = math.ceil(len(photos) / columns)
    sheet = Image.new("RGB", (columns * SHEET_TILE, rows * SHEET_TILE), (128, 128, 128))
    draw = ImageDraw.Draw(sheet)
    for k, (photo, extraction) in enumerate(zip(photos, extractions, strict=True)):
        x, y = (k % columns) * SHEET_TILE, (k // columns) * SHEET_TILE
        if extraction is not None:
            crop = Image.fromarray(np.clip(np.rint(extraction.crop), 0, 255).astype(np.uint8))
            sheet.paste(crop.resize((SHEET_TILE, SHEET_TILE), Image.Resampling.BILINEAR), (x, y))
        draw.text((x + 2, y + 2), photo.identity.removeprefix("id_"), fill=(255, 255, 0))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=IDENTITIES_DIR)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    args = parser.parse_args()

    photos = list_photos(args.data)
    with FaceExtractor(args.model_dir) as extractor:
        report, extractions = evaluate(extractor, photos)
    args.out.mkdir(parents=True, exist_ok=True)
    contact_sheet(photos, extractions).save(args.out / "contact_sheet.png")
    (args.out / "report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")

    print(f"faces found: {report.faces_found}/{report.photos} ({100 * report.face_found_rate:.1f}%)")
    for name, stats in (
        ("face_embedding (256)", report.embedding),
        ("face_embedding, centred", report.embedding_centred),
        ("descriptor (128)", report.descriptor),
    ):
        print(
            f"{name}: mean cosine same person {stats.same_mean_cosine:.4f} ({stats.same_pairs} pairs), "
            f"different people {stats.different_mean_cosine:.4f} ({stats.different_pairs} pairs)"
        )
    print(
        f"descriptor distance: same {report.descriptor_same_mean_distance:.4f}, "
        f"different {report.descriptor_different_mean_distance:.4f}, pairs right at face-api's "
        f"{FACEAPI_DISTANCE_THRESHOLD}: {100 * report.descriptor_accuracy_at_threshold:.1f}%"
    )
    print(f"contact sheet: {args.out / 'contact_sheet.png'}")


if __name__ == "__main__":
    main()
