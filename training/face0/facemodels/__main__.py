"""Writes face_detector.tflite and face_embedder.onnx into --out from the npm packages' files."""

import argparse
import hashlib
from pathlib import Path

from face0.facemodels import REPO_ROOT
from face0.facemodels.detector import DETECTOR_FILE, add_detector_metadata
from face0.facemodels.embedder import EMBEDDER_FILE, build_face_embedder, read_tfjs_weights

DETECTOR_SOURCE = Path("@mediapipe/face_detection/face_detection_short_range.tflite")
EMBEDDER_SOURCE = Path("@vladmandic/face-api/model/face_recognition_model-weights_manifest.json")


def write_face_models(out_dir: Path, node_modules: Path) -> dict[str, bytes]:
    embedder = build_face_embedder(read_tfjs_weights(node_modules / EMBEDDER_SOURCE))
    files = {
        DETECTOR_FILE: add_detector_metadata((node_modules / DETECTOR_SOURCE).read_bytes()),
        EMBEDDER_FILE: embedder.SerializeToString(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--node-modules", type=Path, default=REPO_ROOT / "node_modules")
    args = parser.parse_args()
    for name, data in write_face_models(args.out, args.node_modules).items():
        print(f"{args.out / name}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
