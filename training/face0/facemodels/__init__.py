"""Face0's face models, rebuilt reproducibly from npm packages: the MediaPipe BlazeFace detector
(TFLite + metadata) and face-api's recognition net (ONNX). Run `python -m face0.facemodels --out DIR`."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "default"
