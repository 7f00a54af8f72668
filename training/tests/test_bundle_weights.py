"""`train --init-text-from BUNDLE`: the text encoder and projector read back from a bundle's graphs compute
what the graphs compute."""

import numpy as np
import onnxruntime as ort
import torch
from conftest import FACE_MODELS

from face0.bundle_weights import bundle_vocabulary, graph_state, init_text_from_bundle
from face0.clip_vocab import clip_tokenizer
from face0.configs import CONFIGS
from face0.models import CompactVocabulary, build_models


def run_graph(name: str, **inputs) -> np.ndarray:
    return ort.InferenceSession(str(FACE_MODELS / f"{name}.onnx"), providers=["CPUExecutionProvider"]).run(
        None, inputs
    )[0]


def test_a_model_initialised_from_the_default_bundle_encodes_prompts_as_its_graphs_do():
    text = graph_state(FACE_MODELS / "text_encoder.onnx")
    theirs = bundle_vocabulary(text)
    tokenizer = clip_tokenizer((74, 75, 76))
    ids = tokenizer(
        ["a photo of a smiling woman with blond hair", "an older man with a beard and eyeglasses", ""]
    )
    # The new model's vocabulary: the bundle's tokens but one the prompts do not use, plus two it never saw
    # (their rows keep their initialisation).
    unused = next(i for i in theirs.clip_ids if i not in set(ids.flatten().tolist()))
    ours = CompactVocabulary(tuple(sorted((set(theirs.clip_ids) - {unused}) | {1000, 1001})))
    models = build_models(CONFIGS["celeba128-taef2"], ours, seed=0)
    missing = init_text_from_bundle(models, FACE_MODELS)
    assert missing == [1000, 1001]

    with torch.no_grad():
        got = models.text_encoder(torch.from_numpy(ids)).numpy()
    expected = run_graph("text_encoder", input_ids=ids.astype(np.int64))
    assert np.abs(got - expected).max() < 1e-4

    embeddings = np.random.default_rng(0).normal(0.1, 0.05, size=(3, 256)).astype(np.float32)
    with torch.no_grad():
        tokens = models.face_projector(torch.from_numpy(embeddings)).numpy()
    assert np.abs(tokens - run_graph("face_projector", face_embedding=embeddings)).max() < 1e-4


def test_the_compact_vocabulary_read_from_the_graph_maps_ids_as_the_graph_does():
    text = graph_state(FACE_MODELS / "text_encoder.onnx")
    vocabulary = bundle_vocabulary(text)
    assert torch.equal(vocabulary.id_map(), text["id_map"])
