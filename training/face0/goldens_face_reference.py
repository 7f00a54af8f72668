"""Writes tests/golden/face_reference.json: Python's face extraction (face0.extraction, mediapipe +
onnxruntime) of the face-api demo photos, which tests/e2e/engine/browser.test.ts compares with the
engine's analyzeImage in Chromium.

Run from training/: ../.venv/bin/python -m face0.goldens_face_reference
"""

from face0.extraction import FaceExtractor, load_image
from face0.facemodels import DEFAULT_MODEL_DIR, REPO_ROOT
from face0.goldens import golden_arguments, write_golden

PHOTOS = ["sample1.jpg", "sample2.jpg", "sample5.jpg"]
DEMO = REPO_ROOT / "node_modules/@vladmandic/face-api/demo"


def main() -> None:
    args = golden_arguments(__doc__, "face_reference.json").parse_args()
    out = {}
    with FaceExtractor(DEFAULT_MODEL_DIR) as fx:
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
    write_golden(args.out, out)


if __name__ == "__main__":
    main()
