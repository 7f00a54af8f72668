"""face0.facemodels: the committed face models are exactly what the script builds, the detector works in
MediaPipe's FaceDetector, and the embedder graph has the agreed interface. Equality with the original
face-api is checked in tests/unit/faceEmbedderReference.test.ts."""

import hashlib
import json
import subprocess
import sys

import mediapipe as mp
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from mediapipe.tasks.python import BaseOptions, vision

from face0.extraction import load_image, to_pixel_values
from face0.extraction_report import IDENTITIES_DIR
from face0.face_crop import Box, crop_and_resize
from face0.facemodels import DEFAULT_MODEL_DIR, REPO_ROOT
from face0.facemodels.__main__ import DETECTOR_SOURCE, EMBEDDER_SOURCE
from face0.facemodels.detector import DETECTOR_FILE, read_metadata_json
from face0.facemodels.embedder import EMBEDDER_FILE, INPUT_SIZE, read_tfjs_weights

NODE_MODULES = REPO_ROOT / "node_modules"
PHOTO = IDENTITIES_DIR / "id_00301" / "038652.jpg"
# Ops the graph may use: all on onnxruntime-web's WebGPU operator list, except the float64 Cast/Mul/Add
# of the weight dequantisation, which onnxruntime folds into constants when the session is created.
ALLOWED_OPS = {"Conv", "Relu", "Mul", "Add", "MaxPool", "AveragePool", "Pad", "ReduceMean", "MatMul", "Cast"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_script_rebuilds_the_committed_files_byte_for_byte(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "face0.facemodels", "--out", str(tmp_path)],
        check=True,
        cwd=REPO_ROOT / "training",
        capture_output=True,
    )
    for name in (DETECTOR_FILE, EMBEDDER_FILE):
        assert sha256((tmp_path / name).read_bytes()) == sha256((DEFAULT_MODEL_DIR / name).read_bytes()), name


def _detector(model: bytes) -> vision.FaceDetector:
    options = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_buffer=model),
        running_mode=vision.RunningMode.IMAGE,
        min_detection_confidence=0.5,
    )
    return vision.FaceDetector.create_from_options(options)


def test_stock_detector_needs_the_metadata():
    with pytest.raises(Exception, match="NormalizationOptions"):
        _detector((NODE_MODULES / DETECTOR_SOURCE).read_bytes())


def test_detector_metadata():
    meta = json.loads(read_metadata_json((DEFAULT_MODEL_DIR / DETECTOR_FILE).read_bytes()))
    (subgraph,) = meta["subgraph_metadata"]
    (image,) = subgraph["input_tensor_metadata"]
    assert image["content"]["content_properties"]["color_space"] == "RGB"
    (normalization,) = image["process_units"]
    assert normalization["options"] == {"mean": [127.5], "std": [127.5]}
    assert [t["name"] for t in subgraph["output_tensor_metadata"]] == ["regressors", "classificators"]


def test_patched_detector_finds_the_face_in_a_real_photo():
    rgb = load_image(PHOTO).astype(np.uint8)
    with _detector((DEFAULT_MODEL_DIR / DETECTOR_FILE).read_bytes()) as detector:
        result = detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
    assert len(result.detections) == 1
    d = result.detections[0]
    assert d.categories[0].score > 0.8
    # The aligned CelebA photo (178x218) has its face centred, roughly 100 px wide, below the middle.
    b = d.bounding_box
    assert 70 < b.width < 140 and 70 < b.height < 140
    assert abs(b.origin_x + b.width / 2 - 89) < 15
    assert abs(b.origin_y + b.height / 2 - 130) < 25


@pytest.fixture(scope="module")
def embedder() -> onnx.ModelProto:
    return onnx.load(DEFAULT_MODEL_DIR / EMBEDDER_FILE)


def test_embedder_interface(embedder):
    assert [(o.domain, o.version) for o in embedder.opset_import] == [("", 17)]

    def shape(value):
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    assert [(v.name, shape(v)) for v in embedder.graph.input] == [("pixel_values", ["B", 3, 150, 150])]
    assert [(v.name, shape(v)) for v in embedder.graph.output] == [
        ("face_embedding", ["B", 256]),
        ("descriptor", ["B", 128]),
    ]
    assert {n.op_type for n in embedder.graph.node} <= ALLOWED_OPS


def test_embedder_keeps_the_weights_quantised(embedder):
    uint8 = [t for t in embedder.graph.initializer if t.data_type == onnx.TensorProto.UINT8]
    assert len(uint8) == 109  # every uint8 entry of face-api's manifest; 8 conv64 filters are float32
    assert (DEFAULT_MODEL_DIR / EMBEDDER_FILE).stat().st_size < 7_000_000


def _real_crops() -> np.ndarray:
    crops = [
        crop_and_resize(load_image(PHOTO), Box(21.35, 56.1, 144.3, 144.3), INPUT_SIZE),
        crop_and_resize(
            load_image(IDENTITIES_DIR / "id_01301" / "017554.jpg"), Box(30, 65, 118, 118), INPUT_SIZE
        ),
    ]
    return np.concatenate([to_pixel_values(c) for c in crops])


def test_batch_items_are_independent_and_descriptor_is_face_apis_fc():
    session = ort.InferenceSession(str(DEFAULT_MODEL_DIR / EMBEDDER_FILE), providers=["CPUExecutionProvider"])
    batch = _real_crops()
    embedding, descriptor = session.run(None, {"pixel_values": batch})
    for i in range(len(batch)):
        single_embedding, single_descriptor = session.run(None, {"pixel_values": batch[i : i + 1]})
        np.testing.assert_allclose(single_embedding[0], embedding[i], atol=1e-5)
        np.testing.assert_allclose(single_descriptor[0], descriptor[i], atol=1e-6)
    assert (embedding >= 0).all()  # mean of ReLU outputs

    fc = read_tfjs_weights(NODE_MODULES / EMBEDDER_SOURCE)["fc"]
    fc_values = fc.values.astype(np.float64) * fc.scale + fc.minimum
    np.testing.assert_allclose(embedding.astype(np.float64) @ fc_values, descriptor, atol=1e-5)
    # Two different people: clearly apart by face-api's 0.6 distance threshold.
    assert np.linalg.norm(descriptor[0] - descriptor[1]) > 0.6
