"""Variants of one bundle graph for tests/bench/gap.mjs, each isolating one suspect of the wasm/native gap:

  NAME_fp32.onnx      float16 weights stored as float32 (the Cast nodes after them folded away): what the
                      float16 unpacking costs per call, if anything survives session creation
  NAME_basic.onnx     onnxruntime's own graph after its basic optimisations (constant folding, redundant
                      node removal), saved: the browser then starts from native's basic graph
  NAME_extended.onnx  the same after the extended ones (operator fusions: attention, GELU, layer norm...),
                      which onnxruntime-web applies only for the operators its wasm kernels have

    .venv/bin/python tests/bench/variants.py models/default/unet.onnx --out bench-output/variants

then `node tests/bench/gap.mjs --models=bench-output/variants/unet_fp32.onnx,...`.
"""

import argparse
from pathlib import Path

import onnx
import onnxruntime as ort
from onnx import numpy_helper

LEVELS = {
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
}


def float32_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Every float16 initializer read only by Cast-to-float32 nodes becomes a float32 initializer of the
    Casts' outputs; those Casts are removed."""
    graph = model.graph
    init = {i.name: i for i in graph.initializer}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    removed = set()
    for name, tensor in init.items():
        if tensor.data_type != onnx.TensorProto.FLOAT16:
            continue
        casts = readers.get(name, [])
        to_float = [
            n
            for n in casts
            if n.op_type == "Cast"
            and any(a.name == "to" and a.i == onnx.TensorProto.FLOAT for a in n.attribute)
        ]
        if not casts or len(to_float) != len(casts):
            continue
        values = numpy_helper.to_array(tensor).astype("float32")
        for cast in to_float:
            graph.initializer.append(numpy_helper.from_array(values, cast.output[0]))
            removed.add(id(cast))
        graph.initializer.remove(tensor)
    kept = [n for n in graph.node if id(n) not in removed]
    del graph.node[:]
    graph.node.extend(kept)
    return model


def optimised(path: Path, level: str, out: Path) -> None:
    options = ort.SessionOptions()
    options.graph_optimization_level = LEVELS[level]
    options.optimized_model_filepath = str(out)
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("graph", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.graph.stem
    onnx.save(float32_weights(onnx.load(str(args.graph))), str(args.out / f"{stem}_fp32.onnx"))
    for level in LEVELS:
        optimised(args.graph, level, args.out / f"{stem}_{level}.onnx")
    for path in sorted(args.out.glob(f"{stem}_*.onnx")):
        print(f"{path}: {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
