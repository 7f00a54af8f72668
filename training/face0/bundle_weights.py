"""PyTorch weights read back from a bundle's text encoder and face projector graphs, to start a new model from
them (`train --init-text-from BUNDLE`).

export names most initializers after their PyTorch parameters (`.float16` appended when stored as float16);
the tracer gives the Linear layers of the text encoder anonymous transposed MatMul weights instead, each
followed by an Add of the layer's named bias, which names the weight.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from face0.models import FIRST_WORD_ID, CompactVocabulary, Face0Models

FLOAT16_SUFFIX = ".float16"


def graph_state(path: Path) -> dict[str, torch.Tensor]:
    """The graph's weights under their PyTorch names, float32 (int64 buffers as they are)."""
    model = onnx.load(str(path))
    values = {}
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init).copy()
        values[init.name.removesuffix(FLOAT16_SUFFIX)] = (
            array.astype(np.float32) if array.dtype == np.float16 else array
        )
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    state = {}
    for name, array in values.items():
        if not name.startswith("onnx::MatMul"):
            state[name] = array
            continue
        matmul = next(n for n in consumers[name] if n.op_type == "MatMul")
        add = next(n for n in consumers[matmul.output[0]] if n.op_type == "Add")
        bias = next(i for i in add.input if i.endswith(".bias"))
        state[bias.removesuffix(".bias") + ".weight"] = array.T
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}


def bundle_vocabulary(text_state: dict[str, torch.Tensor]) -> CompactVocabulary:
    """The compact vocabulary the bundle's text encoder was trained with, from its id_map buffer."""
    id_map = text_state["id_map"]
    words = (id_map >= FIRST_WORD_ID).nonzero()[:, 0]
    ordered = words[torch.argsort(id_map[words])]
    return CompactVocabulary(tuple(int(i) for i in ordered))


def init_text_from_bundle(models: Face0Models, bundle_dir: Path) -> list[int]:
    """Copies the bundle's text encoder (token embeddings row by row for the CLIP tokens both vocabularies
    hold) and face projector (with its input standardisation) into `models`; returns the CLIP ids of
    `models`' vocabulary the bundle lacks (their rows keep their initialisation)."""
    text = graph_state(bundle_dir / "text_encoder.onnx")
    projector = graph_state(bundle_dir / "face_projector.onnx")
    theirs = bundle_vocabulary(text)
    their_row = {clip_id: FIRST_WORD_ID + i for i, clip_id in enumerate(theirs.clip_ids)}
    table_name = "clip.embeddings.token_embedding.weight"
    table = text.pop(table_name)
    text.pop("id_map")
    own = models.text_encoder
    with torch.no_grad():
        own.load_state_dict({**text, table_name: own.state_dict()[table_name], "id_map": own.id_map})
        rows = own.clip.embeddings.token_embedding.weight
        rows[:FIRST_WORD_ID] = table[:FIRST_WORD_ID]
        missing: list[int] = []
        for i, clip_id in enumerate(models.vocabulary.clip_ids):
            if clip_id in their_row:
                rows[FIRST_WORD_ID + i] = table[their_row[clip_id]]
            else:
                missing.append(clip_id)
        models.face_projector.load_state_dict(projector)
    return missing
