import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from face0.bundle import GRAPH_IO, MANIFEST_FILE, validate_bundle, write_manifest
from face0.configs import TINY, ModelConfig, TextEncoderConfig, UNetConfig, VAEConfig
from face0.export import (
    CLIP_VOCAB_FILE,
    GRAPH_FILES,
    GRAPH_TOLERANCE,
    bundle_manifest,
    example_inputs,
    export_graphs,
)
from face0.face_prior import fit_face_prior
from face0.facemodels.detector import DETECTOR_FILE
from face0.facemodels.embedder import EMBEDDER_FILE
from face0.models import CompactVocabulary, build_models

REPO = Path(__file__).resolve().parents[2]
# The face models and tokenizer file are copied, not rebuilt, into every bundle.
FACE_MODELS = REPO / "models" / "default"

# Same structure as tiny, small enough to export in a second: 32x32 images, 16x16 latents, D = 64.
SMALL = dataclasses.replace(
    TINY,
    name="test",
    image_size=32,
    context_width=64,
    text_encoder=TextEncoderConfig(width=64, layers=1, heads=2, intermediate=128),
    unet=UNetConfig(
        block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1,
        attention_heads=2,
    ),
    vae=VAEConfig(block_out_channels=(32, 32), layers_per_block=1, latent_channels=4, scaling_factor=0.5),
)
VOCABULARY = CompactVocabulary(clip_ids=(320, 539, 1125))

# The tracer warns about shape checks in diffusers/transformers code; dynamic batch is verified below.
pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")


def make_bundle(out: Path, config: ModelConfig, float16: bool) -> dict:
    models = build_models(config, VOCABULARY, seed=0)
    report = export_graphs(models, out, float16=float16, seed=0)
    for name in (DETECTOR_FILE, EMBEDDER_FILE, CLIP_VOCAB_FILE):
        shutil.copyfile(FACE_MODELS / name, out / name)
    prior = fit_face_prior(np.random.default_rng(0).normal(size=(64, 256)), components=2)
    write_manifest(out, bundle_manifest(config, "test", "MIT", "test bundle", ["a", "of", "photo"], prior))
    return report


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bundle")
    return out, make_bundle(out, SMALL, float16=True)


def test_export_matches_pytorch_in_onnxruntime(bundle):
    _, report = bundle
    assert set(report) == set(GRAPH_FILES)
    for graph, entry in report.items():
        assert set(entry["max_abs_diff"]) == {1, 2, 3}, graph
        # export_graphs already raises above GRAPH_TOLERANCE; outputs here are O(1).
        assert max(entry["max_abs_diff"].values()) < GRAPH_TOLERANCE * 10, graph
        # Float16 weights move outputs by well under 1% of their range for these random weights.
        diff, scale = entry["float16_vs_float32"]
        assert 0 < diff < 0.01 * max(1.0, scale), graph


def test_float16_storage_keeps_float32_io_and_stores_float16_weights(bundle):
    out, _ = bundle
    model = onnx.load(str(out / GRAPH_FILES["unet"]))
    kinds = {init.data_type for init in model.graph.initializer if len(init.dims) >= 2}
    assert kinds == {onnx.TensorProto.FLOAT16}
    io = [*model.graph.input, *model.graph.output]
    assert {v.type.tensor_type.elem_type for v in io} == {onnx.TensorProto.FLOAT}


def test_vae_decoder_output_is_clamped(bundle):
    out, _ = bundle
    session = ort.InferenceSession(str(out / GRAPH_FILES["vae_decoder"]), providers=["CPUExecutionProvider"])
    latents = example_inputs(SMALL, VOCABULARY, "vae_decoder", 2, seed=5)["latent_sample"].numpy() * 50
    (image,) = session.run(None, {"latent_sample": latents})
    assert image.shape == (2, 3, 32, 32)
    assert image.min() == -1.0 and image.max() == 1.0


def test_text_encoder_graph_maps_clip_ids_inside(bundle):
    out, _ = bundle
    session = ort.InferenceSession(str(out / GRAPH_FILES["text_encoder"]), providers=["CPUExecutionProvider"])
    ids = np.full((2, 77), 49407, dtype=np.int64)
    ids[:, 0] = 49406
    ids[:, 1] = [2368, 1929]  # "cat", "dog": both unseen, so both <unk>
    (states,) = session.run(None, {"input_ids": ids})
    assert states.shape == (2, 77, 64)
    np.testing.assert_array_equal(states[0], states[1])


def test_valid_bundle_has_no_problems(bundle):
    out, _ = bundle
    assert validate_bundle(out) == []
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert sorted(manifest["files"]) == sorted(
        [*GRAPH_FILES.values(), DETECTOR_FILE, EMBEDDER_FILE, CLIP_VOCAB_FILE]
    )
    assert set(GRAPH_IO) == {*GRAPH_FILES, "face_embedder"}


def copy_bundle(bundle, tmp_path: Path) -> Path:
    out, _ = bundle
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    return copy


def edit_manifest(path: Path, edit) -> None:
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    edit(manifest)
    (path / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_validate_catches_wrong_hash(bundle, tmp_path):
    copy = copy_bundle(bundle, tmp_path)
    data = bytearray((copy / "unet.onnx").read_bytes())
    data[-1] ^= 1
    (copy / "unet.onnx").write_bytes(bytes(data))
    problems = validate_bundle(copy)
    assert len(problems) == 1 and problems[0].startswith("unet.onnx: sha256")


def test_validate_catches_wrong_size_and_missing_file(bundle, tmp_path):
    copy = copy_bundle(bundle, tmp_path)
    (copy / "face_projector.onnx").write_bytes(b"")
    (copy / DETECTOR_FILE).unlink()
    problems = validate_bundle(copy)
    assert any(p.startswith("face_projector.onnx: 0 bytes") for p in problems)
    assert any(p.startswith(f"{DETECTOR_FILE}: listed in the manifest but missing") for p in problems)


def test_validate_catches_wrong_embedder_id(bundle, tmp_path):
    copy = copy_bundle(bundle, tmp_path)
    edit_manifest(copy, lambda m: m["face_projector"].update(embedder_id="some-other-embedder"))
    assert validate_bundle(copy) == [
        "face_projector.onnx: trained for embedder 'some-other-embedder', "
        "but the bundle's embedder is 'faceapi-resnet-pool256-v1'"
    ]


def test_validate_catches_graph_shapes_that_disagree_with_the_manifest(bundle, tmp_path):
    copy = copy_bundle(bundle, tmp_path)
    edit_manifest(copy, lambda m: m.update(context_width=128))
    problems = validate_bundle(copy)
    assert "unet.onnx: encoder_hidden_states has shape ('B', 77, 64), expected ('B', 77, 128)" in problems
    assert "text_encoder.onnx: last_hidden_state has shape ('B', 77, 64), expected ('B', 77, 128)" in problems
    assert "face_projector.onnx: face_tokens has shape ('B', 3, 64), expected ('B', 3, 128)" in problems


def test_export_is_deterministic(bundle, tmp_path):
    out, _ = bundle
    make_bundle(tmp_path, SMALL, float16=True)
    for name in GRAPH_FILES.values():
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    assert (tmp_path / MANIFEST_FILE).read_bytes() == (out / MANIFEST_FILE).read_bytes()
