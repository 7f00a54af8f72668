"""Writes tests/golden/extraction.json: the Python extraction pipeline's numbers for a few real photos
(celeba-identities) and for synthetic scenes with small and several faces (face0.synthetic_scenes), for the
TypeScript pipeline (browser e2e), tests/unit/faceEmbedderReference.test.ts and
tests/unit/detectionPasses.test.ts (which replays each scene's recorded detector calls) to reproduce, and
for training/tests/test_extraction.py to re-check.

Run from training/: ../.venv/bin/python -m face0.goldens_extraction [--out ../tests/golden/extraction.json]
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, features

from face0 import detection_passes
from face0.detection_passes import RawDetection
from face0.extraction import (
    MAX_DETECT_SIDE,
    MIN_CONFIDENCE,
    DetectorCall,
    Extraction,
    FaceExtractor,
    load_image,
)
from face0.extraction_report import IDENTITIES_DIR
from face0.face_crop import Box
from face0.facemodels import DEFAULT_MODEL_DIR
from face0.facemodels.detector import DETECTOR_FILE
from face0.facemodels.embedder import EMBEDDER_FILE, EMBEDDER_ID, INPUT_SIZE, MEAN_RGB, STD_RGB
from face0.goldens import GOLDEN_DIR, golden_arguments, write_golden
from face0.synthetic_scenes import SCENES, Scene, render_scene

# Two photos each of three people (one of them grayscale), the source repo's 150x150 grayscale crop
# (its crop box leaves the image, so the crop has black borders) and one more person.
GOLDEN_PHOTOS = (
    "id_00209/166636.jpg",
    "id_00209/172264.jpg",
    "id_00301/038652.jpg",
    "id_00301/071229.jpg",
    "id_00343/042700.jpg",
    "id_00343/007590_gray.jpg",
    "id_00209/162886_gray.jpg",
    "id_01301/017554.jpg",
)
# detection_passes' constants, which src/face/detectionPasses.ts must equal (camelCase there).
PASS_CONSTANTS = (
    "TILE_ZOOM",
    "MIN_TILE_SIDE",
    "TILE_MAX_FACE",
    "OVERLAP_IOU",
    "OVERLAP_CONTAINMENT",
    "REFINE_BELOW",
    "REFINE_ZOOM",
    "TILE_MIN_SCORE",
    "MIN_EYE_RATIO",
)
GOLDEN_PATH = GOLDEN_DIR / "extraction.json"
# An 8x8 grid of (row, col) pixel centres in the crop.
SAMPLE_POSITIONS = [
    (int((i + 0.5) * INPUT_SIZE / 8), int((j + 0.5) * INPUT_SIZE / 8)) for i in range(8) for j in range(8)
]


def _box(box: Box) -> dict[str, float]:
    return {k: round(v, 4) for k, v in asdict(box).items()}


def _points(points) -> list[list[float]]:
    return [[round(x, 4), round(y, 4)] for x, y in points]


def _raw(d: RawDetection) -> dict:
    """Exact values (no rounding): TypeScript replays them through the same arithmetic."""
    return {"box": asdict(d.box), "score": d.score, "keypoints": [list(k) for k in d.keypoints]}


def _extraction(extraction: Extraction) -> dict:
    crop = extraction.crop
    return {
        "detections": [
            {
                "box": _box(d.box),
                "score": round(d.score, 6),
                "keypoints": _points(d.keypoints),
                "found_by": d.found_by,
            }
            for d in extraction.detections
        ],
        "chosen": extraction.chosen,
        "box": _box(extraction.box),
        "crop_box": _box(extraction.crop_box),
        "crop_mean": [round(float(v), 4) for v in crop.reshape(-1, 3).mean(axis=0, dtype=np.float64)],
        "crop_samples": [[round(float(v), 4) for v in crop[r, c]] for r, c in SAMPLE_POSITIONS],
        "embedding": [round(float(v), 6) for v in extraction.embedding],
    }


def photo_golden(extractor: FaceExtractor, data_dir: Path, rel_path: str) -> dict:
    rgb = load_image(data_dir / rel_path)
    with Image.open(data_dir / rel_path) as img:
        mode = img.mode
    extraction = extractor.extract(rgb)
    if extraction is None:
        raise RuntimeError(f"{rel_path}: no face found")
    return {"path": rel_path, "width": rgb.shape[1], "height": rgb.shape[0], "file_mode": mode} | _extraction(
        extraction
    )


def scene_golden(extractor: FaceExtractor, data_dir: Path, scene: Scene) -> dict:
    """The scene's recipe, every detector call it took (rectangle, raw detections) and the result."""
    if max(scene.width, scene.height) > MAX_DETECT_SIDE:
        raise ValueError(f"{scene.name}: scenes are detected at full size (no resampling to reproduce)")
    calls: list[DetectorCall] = []
    extraction = extractor.extract(render_scene(scene, data_dir), calls)
    return {
        "scene": asdict(scene),
        "calls": [{"rect": asdict(rect), "detections": [_raw(d) for d in raw]} for rect, raw in calls],
        "faces": 0 if extraction is None else len(extraction.detections),
        **({} if extraction is None else _extraction(extraction)),
    }


def build_goldens(model_dir: Path, data_dir: Path) -> dict:
    with FaceExtractor(model_dir) as extractor:
        photos = [photo_golden(extractor, data_dir, p) for p in GOLDEN_PHOTOS]
        scenes = [scene_golden(extractor, data_dir, scene) for scene in SCENES]
    return {
        "generator": "training/face0/goldens_extraction.py",
        "data": "shared/data/celeba-identities (paths relative to it)",
        "decoder": f"Pillow {PIL.__version__}, libjpeg-turbo {features.version('libjpeg_turbo')}",
        "models": {
            name: hashlib.sha256((model_dir / name).read_bytes()).hexdigest()
            for name in (DETECTOR_FILE, EMBEDDER_FILE)
        },
        "detector": {
            "min_confidence": MIN_CONFIDENCE,
            "max_detect_side": MAX_DETECT_SIDE,
            "passes": {name: getattr(detection_passes, name) for name in PASS_CONSTANTS},
        },
        "embedder": {
            "id": EMBEDDER_ID,
            "input_size": INPUT_SIZE,
            "mean": list(MEAN_RGB),
            "std": list(STD_RGB),
        },
        "margins": asdict(extractor.margins),
        "sample_positions": [list(p) for p in SAMPLE_POSITIONS],
        "photos": photos,
        "scenes": scenes,
    }


def main() -> None:
    parser = golden_arguments(__doc__, GOLDEN_PATH.name)
    parser.add_argument("--data", type=Path, default=IDENTITIES_DIR)
    parser.add_argument("--model-dir", type=Path, default=DEFAULT_MODEL_DIR)
    args = parser.parse_args()
    goldens = build_goldens(args.model_dir, args.data)
    write_golden(args.out, goldens, separators=(",", ":"))
    print(f"{len(goldens['photos'])} photos, {len(goldens['scenes'])} scenes")


if __name__ == "__main__":
    main()
