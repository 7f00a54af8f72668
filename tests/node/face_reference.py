"""Writes tests/node/face_reference.json: Python's face extraction (face0.extraction, mediapipe +
onnxruntime) of the face-api demo photos, which tests/node/browser.test.ts compares with the
engine's analyzeImage in Chromium.

Run from the repository root: .venv/bin/python tests/node/face_reference.py
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
from face0.extraction import FaceExtractor, load_image  # noqa: E402

PHOTOS = ["sample1.jpg", "sample2.jpg", "sample5.jpg"]
DEMO = ROOT / "node_modules/@vladmandic/face-api/demo"


def main() -> None:
    out = {}
    with FaceExtractor(ROOT / "models/default") as fx:
        for name in PHOTOS:
            rgb = load_image(DEMO / name)
            ex = fx.extract(rgb)
            out[name] = {
                "width": rgb.shape[1],
                "height": rgb.shape[0],
                "faces": [[d.box.x, d.box.y, d.box.width, d.box.height, d.score] for d in ex.detections],
                "chosen": ex.chosen,
                "crop_box": [ex.crop_box.x, ex.crop_box.y, ex.crop_box.width, ex.crop_box.height],
                "embedding": [float(v) for v in ex.embedding],
            }
    path = Path(__file__).with_name("face_reference.json")
    path.write_text(json.dumps(out) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
