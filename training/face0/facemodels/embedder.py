"""Rebuilds face-api's face recognition network (a dlib-style ResNet-34 variant) as ONNX.

The npm package `@vladmandic/face-api` ships only weights (`face_recognition_model-weights_manifest.json`
+ `.bin`); the architecture lives in its source (`src/faceRecognitionNet/`). This module follows that
code layer by layer, in NCHW instead of TF.js's NHWC.

Weights stay uint8 in the graph, dequantised by Cast -> Mul(scale) -> Add(min) -> Cast in float64,
exactly as TF.js's decodeWeights does (`v = q * scale + min` in JS numbers, stored as float32): a
float32 Mul/Add would round twice and move the descriptor by ~3e-6. onnxruntime folds these constant
subgraphs into float weights when the session is created, so the file stays as small as face-api's.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EMBEDDER_FILE = "face_embedder.onnx"
EMBEDDER_ID = "faceapi-resnet-pool256-v1"
INPUT_SIZE = 150
# face-api's FaceRecognitionNet.forwardInput: normalize(x, meanRgb).div(255), x RGB 0..255.
MEAN_RGB = (122.782, 117.001, 104.298)
STD_RGB = (255.0, 255.0, 255.0)
EMBEDDING_WIDTH = 256
DESCRIPTOR_WIDTH = 128
OPSET = 17
INPUT_NAME = "pixel_values"
EMBEDDING_NAME = "face_embedding"
DESCRIPTOR_NAME = "descriptor"

# (name, downsamples) in face-api's order; a "down" block halves the size and may double channels.
_RESIDUAL_BLOCKS = (
    ("conv32_1", False),
    ("conv32_2", False),
    ("conv32_3", False),
    ("conv64_down", True),
    ("conv64_1", False),
    ("conv64_2", False),
    ("conv64_3", False),
    ("conv128_down", True),
    ("conv128_1", False),
    ("conv128_2", False),
    ("conv256_down", True),
    ("conv256_1", False),
    ("conv256_2", False),
    ("conv256_down_out", True),
)


@dataclass(frozen=True)
class StoredWeight:
    """One tensor as stored in the TF.js weights file: float32 values or uint8 codes."""

    name: str
    shape: tuple[int, ...]
    values: np.ndarray  # float32, or uint8 codes when scale is set
    scale: float | None = None
    minimum: float | None = None


def read_tfjs_weights(manifest_path: Path) -> dict[str, StoredWeight]:
    """Parses a TF.js weights manifest and its binary shards (float32 or uint8-quantised entries)."""
    groups = json.loads(Path(manifest_path).read_text())
    weights: dict[str, StoredWeight] = {}
    for group in groups:
        data = b"".join((Path(manifest_path).parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = tuple(spec["shape"])
            count = int(np.prod(shape))
            quant = spec.get("quantization")
            if spec["dtype"] != "float32":
                raise ValueError(f"{spec['name']}: unsupported dtype {spec['dtype']}")
            if quant is None:
                values = np.frombuffer(data, np.float32, count, offset).reshape(shape)
                weights[spec["name"]] = StoredWeight(spec["name"], shape, values)
                offset += 4 * count
            elif quant["dtype"] == "uint8":
                values = np.frombuffer(data, np.uint8, count, offset).reshape(shape)
                weights[spec["name"]] = StoredWeight(
                    spec["name"], shape, values, quant["scale"], quant["min"]
                )
                offset += count
            else:
                raise ValueError(f"{spec['name']}: unsupported quantization {quant['dtype']}")
        if offset != len(data):
            raise ValueError(f"{manifest_path}: {len(data) - offset} bytes left after the last weight")
    return weights


class _GraphBuilder:
    def __init__(self, weights: dict[str, StoredWeight]):
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._used: set[str] = set()

    def node(self, op: str, inputs: list[str], output: str, **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def weight(
        self, name: str, layout: tuple[int, ...] | None = None, shape: tuple[int, ...] | None = None
    ) -> str:
        """A float32 tensor for weight `name`: transposed by `layout`, then reshaped to `shape`."""
        stored = self.weights[name]
        self._used.add(name)
        values = stored.values if layout is None else np.transpose(stored.values, layout)
        if shape is not None:
            values = values.reshape(shape)
        values = np.ascontiguousarray(values)
        if stored.scale is None:
            return self.constant(name, values)
        codes = self.constant(f"{name}/quantized", values)
        scale = self.constant(f"{name}/scale", np.array(stored.scale, np.float64))
        minimum = self.constant(f"{name}/min", np.array(stored.minimum, np.float64))
        as_double = self.node("Cast", [codes], f"{name}/as_double", to=TensorProto.DOUBLE)
        scaled = self.node("Mul", [as_double, scale], f"{name}/scaled")
        shifted = self.node("Add", [scaled, minimum], f"{name}/shifted")
        return self.node("Cast", [shifted], name, to=TensorProto.FLOAT)

    def conv_layer(self, x: str, prefix: str, stride: int, relu: bool, same_padding: bool) -> str:
        """face-api convLayer: conv2d + bias, then the per-channel scale layer, optional ReLU."""
        filters = self.weight(f"{prefix}/conv/filters", layout=(3, 2, 0, 1))  # HWIO -> OIHW
        bias = self.weight(f"{prefix}/conv/bias")
        kernel = self.weights[f"{prefix}/conv/filters"].shape[0]
        # face-api only uses 'same' with stride 1 and odd kernels, where TF pads symmetrically.
        pads = [kernel // 2] * 4 if same_padding else [0] * 4
        out = self.node(
            "Conv",
            [x, filters, bias],
            f"{prefix}/conv",
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=pads,
        )
        channels = self.weights[f"{prefix}/scale/weights"].shape[0]
        scale_w = self.weight(f"{prefix}/scale/weights", shape=(channels, 1, 1))
        scale_b = self.weight(f"{prefix}/scale/biases", shape=(channels, 1, 1))
        out = self.node("Mul", [out, scale_w], f"{prefix}/scale/mul")
        out = self.node("Add", [out, scale_b], f"{prefix}/scale/add")
        return self.node("Relu", [out], f"{prefix}/relu") if relu else out

    def residual(self, x: str, prefix: str, size: int, channels: int, down: bool) -> tuple[str, int, int]:
        """face-api residual / residualDown; returns the output and its spatial size and channels."""
        if not down:
            out = self.conv_layer(x, f"{prefix}/conv1", 1, relu=True, same_padding=True)
            out = self.conv_layer(out, f"{prefix}/conv2", 1, relu=False, same_padding=True)
            out = self.node("Add", [out, x], f"{prefix}/add")
            return self.node("Relu", [out], f"{prefix}/out"), size, channels
        out_channels = self.weights[f"{prefix}/conv1/conv/filters"].shape[3]
        out = self.conv_layer(x, f"{prefix}/conv1", 2, relu=True, same_padding=False)
        out = self.conv_layer(out, f"{prefix}/conv2", 1, relu=False, same_padding=True)
        conv_size = (size - 3) // 2 + 1
        pooled_size = size // 2
        shortcut = self.node(
            "AveragePool", [x], f"{prefix}/shortcut/pool", kernel_shape=[2, 2], strides=[2, 2]
        )
        if pooled_size != conv_size:
            # face-api appends one zero row and one zero column to the conv branch.
            if pooled_size != conv_size + 1:
                raise ValueError(f"{prefix}: cannot align {conv_size} with {pooled_size}")
            pads = self.constant(f"{prefix}/conv_pads", np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64))
            out = self.node("Pad", [out, pads], f"{prefix}/conv_padded")
        if out_channels != channels:
            # Zero channels appended to the shortcut (face-api concatenates a zero tensor).
            extra = out_channels - channels
            pads = self.constant(f"{prefix}/shortcut_pads", np.array([0, 0, 0, 0, 0, extra, 0, 0], np.int64))
            shortcut = self.node("Pad", [shortcut, pads], f"{prefix}/shortcut/padded")
        out = self.node("Add", [shortcut, out], f"{prefix}/add")
        return self.node("Relu", [out], f"{prefix}/out"), pooled_size, out_channels

    def unused_weights(self) -> list[str]:
        return sorted(set(self.weights) - self._used)


def build_face_embedder(weights: dict[str, StoredWeight]) -> onnx.ModelProto:
    """face-api FaceRecognitionNet from its weights; outputs the pooled features and the descriptor."""
    g = _GraphBuilder(weights)
    out = g.conv_layer(INPUT_NAME, "conv32_down", 2, relu=True, same_padding=False)
    size = (INPUT_SIZE - 7) // 2 + 1
    out = g.node("MaxPool", [out], "pool", kernel_shape=[3, 3], strides=[2, 2])
    size = (size - 3) // 2 + 1
    channels = weights["conv32_down/conv/filters"].shape[3]
    for prefix, down in _RESIDUAL_BLOCKS:
        out, size, channels = g.residual(out, prefix, size, channels, down)
    if channels != EMBEDDING_WIDTH:
        raise ValueError(f"pooled width {channels} != {EMBEDDING_WIDTH}")
    g.node("ReduceMean", [out], EMBEDDING_NAME, axes=[2, 3], keepdims=0)
    g.node("MatMul", [EMBEDDING_NAME, g.weight("fc")], DESCRIPTOR_NAME)
    if g.unused_weights():
        raise ValueError(f"weights not used by the graph: {g.unused_weights()}")

    graph = helper.make_graph(
        g.nodes,
        "face_embedder",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["B", 3, INPUT_SIZE, INPUT_SIZE])],
        [
            helper.make_tensor_value_info(EMBEDDING_NAME, TensorProto.FLOAT, ["B", EMBEDDING_WIDTH]),
            helper.make_tensor_value_info(DESCRIPTOR_NAME, TensorProto.FLOAT, ["B", DESCRIPTOR_WIDTH]),
        ],
        g.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="face0.facemodels",
        doc_string=(
            "face-api (@vladmandic/face-api 1.7.15, MIT) face recognition net. "
            f"{INPUT_NAME} = (RGB 0..255 - {list(MEAN_RGB)}) / 255, NCHW 150x150. "
            f"{EMBEDDING_NAME}: mean-pooled features before face-api's final fc; "
            f"{DESCRIPTOR_NAME}: face-api's 128-d descriptor."
        ),
    )
    model.ir_version = 8  # opset 17's IR version; keeps older onnxruntime-web builds able to load it
    onnx.checker.check_model(model, full_check=True)
    return model
