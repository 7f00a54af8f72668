"""The conditioning face embedder (face-api's recognition net) in PyTorch, rebuilt from a bundle's
`face_embedder.onnx`: differentiable, for the identity loss (face0.identity_loss).

The weights are read from the ONNX file's initializers and dequantised exactly as the graph does
(`float32(float64(q) * scale + min)`); the layers follow face0.facemodels.embedder's builder, which follows
face-api's source. It matches onnxruntime within 1e-6 on real crops (tests/test_identity_loss.py allows 1e-4).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

from face0.facemodels.embedder import _RESIDUAL_BLOCKS, EMBEDDER_FILE, MEAN_RGB, STD_RGB

QUANTIZED_SUFFIX = "/quantized"


def onnx_weights(path: Path) -> dict[str, np.ndarray]:
    """Every weight of the embedder graph by face-api name, dequantised as the graph does, float32."""
    arrays = {
        init.name: numpy_helper.to_array(init).copy() for init in onnx.load(str(path)).graph.initializer
    }
    weights = {}
    for name, values in arrays.items():
        if name.endswith(QUANTIZED_SUFFIX):
            base = name.removesuffix(QUANTIZED_SUFFIX)
            scale, minimum = float(arrays[f"{base}/scale"]), float(arrays[f"{base}/min"])
            weights[base] = (values.astype(np.float64) * scale + minimum).astype(np.float32)
        elif values.dtype == np.float32 and not name.endswith(("/scale", "/min")):
            weights[name] = values
    return weights


class ConvLayer(nn.Module):
    """face-api convLayer: conv + bias, per-channel scale and shift, optional ReLU."""

    def __init__(self, weights: dict[str, np.ndarray], prefix: str, stride: int, relu: bool, same: bool):
        super().__init__()
        filters = torch.from_numpy(weights[f"{prefix}/conv/filters"])
        self.register_buffer("filters", filters)
        self.register_buffer("bias", torch.from_numpy(weights[f"{prefix}/conv/bias"]))
        self.register_buffer("scale", torch.from_numpy(weights[f"{prefix}/scale/weights"]))
        self.register_buffer("shift", torch.from_numpy(weights[f"{prefix}/scale/biases"]))
        self.stride, self.relu = stride, relu
        self.padding = filters.shape[-1] // 2 if same else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.filters, self.bias, self.stride, self.padding) * self.scale + self.shift
        return F.relu(x) if self.relu else x


class Residual(nn.Module):
    def __init__(self, weights: dict[str, np.ndarray], prefix: str, down: bool):
        super().__init__()
        self.down = down
        self.conv1 = ConvLayer(weights, f"{prefix}/conv1", 2 if down else 1, relu=True, same=not down)
        self.conv2 = ConvLayer(weights, f"{prefix}/conv2", 1, relu=False, same=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        if not self.down:
            return F.relu(out + x)
        shortcut = F.avg_pool2d(x, 2, 2)
        # face-api pads the conv branch with a zero row and column where pooling keeps one more, and the
        # shortcut with zero channels where the block widens.
        rows, cols = shortcut.shape[-2] - out.shape[-2], shortcut.shape[-1] - out.shape[-1]
        out = F.pad(out, (0, cols, 0, rows))
        shortcut = F.pad(shortcut, (0, 0, 0, 0, 0, out.shape[1] - shortcut.shape[1]))
        return F.relu(shortcut + out)


class FaceEmbedderTorch(nn.Module):
    """pixel_values (B, 3, 150, 150) = (RGB 0..255 - mean) / 255 -> (face_embedding (B, 256), descriptor
    (B, 128)), as face_embedder.onnx. Its weights are buffers: it is a fixed judge inside training."""

    def __init__(self, path: Path):
        super().__init__()
        weights = onnx_weights(path)
        self.stem = ConvLayer(weights, "conv32_down", 2, relu=True, same=False)
        self.blocks = nn.Sequential(*(Residual(weights, prefix, down) for prefix, down in _RESIDUAL_BLOCKS))
        self.register_buffer("fc", torch.from_numpy(weights["fc"]))
        self.register_buffer("mean", torch.tensor(MEAN_RGB).reshape(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD_RGB).reshape(1, 3, 1, 1))

    @classmethod
    def from_bundle(cls, bundle_dir: Path) -> FaceEmbedderTorch:
        return cls(Path(bundle_dir) / EMBEDDER_FILE).eval()

    def pixel_values(self, rgb: torch.Tensor) -> torch.Tensor:
        """(B, 3, 150, 150) RGB 0..255 -> the graph's input."""
        return (rgb - self.mean) / self.std

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(self.stem(pixel_values), 3, 2)
        embedding = self.blocks(x).mean((2, 3))
        return embedding, embedding @ self.fc
