import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from conftest import FACE_MODELS, MICRO, export_checkpoint

from face0.bundle import GRAPH_IO, MANIFEST_FILE, validate_bundle
from face0.configs import ModelConfig, VAEConfig
from face0.export import (
    CLIP_VOCAB_FILE,
    GRAPH_FILES,
    GRAPH_TOLERANCE,
    example_inputs,
    export_bundle,
    export_graphs,
    save_graph,
    session,
    stored_as_float16,
    weight_bytes,
)
from face0.face_prior import fit_face_prior
from face0.facemodels.detector import DETECTOR_FILE
from face0.facemodels.embedder import EMBEDDER_FILE
from face0.models import CompactVocabulary, build_models

# MICRO with a two-block VAE (16x16 latents) and a scaling factor that is not 1, small enough to export
# in a second.
SMALL = dataclasses.replace(
    MICRO,
    name="test",
    vae=VAEConfig(block_out_channels=(32, 32), layers_per_block=1, latent_channels=4, scaling_factor=0.5),
)
VOCABULARY = CompactVocabulary(clip_ids=(320, 539, 1125))

# The tracer warns about shape checks in diffusers/transformers code; dynamic batch is verified below.
pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")


def make_bundle(out: Path, config: ModelConfig, float16: bool, **options) -> dict:
    models = build_models(config, VOCABULARY, seed=0)
    prior = fit_face_prior(np.random.default_rng(0).normal(size=(64, 256)), components=2)
    _, report, _ = export_bundle(
        models, out, "test", "MIT", "test bundle", prior, FACE_MODELS, FACE_MODELS, float16, seed=0, **options
    )
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
    kinds = {init.data_type for init in model.graph.initializer if stored_as_float16(init.dims)}
    assert kinds == {onnx.TensorProto.FLOAT16}
    # Folded vectors such as GroupNorm scales reshaped to (C, 1, 1) stay float32, like their parameters.
    vectors = [
        init for init in model.graph.initializer if len(init.dims) >= 2 and not stored_as_float16(init.dims)
    ]
    assert vectors and {init.data_type for init in vectors} == {onnx.TensorProto.FLOAT}
    io = [*model.graph.input, *model.graph.output]
    assert {v.type.tensor_type.elem_type for v in io} == {onnx.TensorProto.FLOAT}


def test_float16_export_of_trained_like_weights_matches_its_pytorch_twin(tmp_path):
    """Vector parameters (norm scales, biases) away from float16-representable values, as after training:
    export_graphs raises if onnxruntime and the float16-rounded PyTorch twin differ by > GRAPH_TOLERANCE."""
    models = build_models(SMALL, VOCABULARY, seed=1)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in models.parameters():
            if p.ndim == 1:
                p.add_(torch.randn(p.shape, generator=generator) * 0.1)
    report = export_graphs(models, tmp_path, float16=True, seed=0)
    assert set(report) == set(GRAPH_FILES)


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


def test_export_from_a_checkpoint_uses_its_ema_weights_config_and_vocabulary(augmented_shards, tmp_path):
    """`export --checkpoint`: EMA weights (not the raw ones), the checkpoint's vae_scaling_factor and
    vocabulary, and the projector's input standardisation fitted by train, all inside the graphs; the
    configuration's guidance defaults, except the w and c given by `--w` and `--c`."""

    from face0 import export
    from face0.checkpoints import latest_checkpoint, load_checkpoint_models
    from face0.clip_vocab import clip_tokenizer
    from face0.train import TrainOptions, train

    model = dataclasses.replace(MICRO, vae=dataclasses.replace(MICRO.vae, scaling_factor=0.37))
    options = TrainOptions(
        shards=augmented_shards, out=tmp_path / "run", model=model, max_steps=2, global_batch=4, lr=1e-3,
        ema_decay=0.5, checkpoint_every=2, shuffle_buffer=8, threads=1, device="cpu",
    )  # fmt: skip
    train(options)
    checkpoint = latest_checkpoint(tmp_path / "run")
    out = tmp_path / "bundle"
    manifest = export_checkpoint(checkpoint, out, "ckpt", ("--w", "3.25", "--c", "0.5"))
    assert manifest["vae_scaling_factor"] == 0.37
    assert (
        manifest["defaults"]
        == dataclasses.asdict(MICRO.defaults) | {"w": 3.25, "c": 0.5}
        != dataclasses.asdict(MICRO.defaults)
    )
    ema, raw = load_checkpoint_models(checkpoint), load_checkpoint_models(checkpoint, ema=False)
    tokenizer = clip_tokenizer(MICRO.face_token_positions)
    assert manifest["vocabulary_seen"] == export.vocabulary_words(ema.vocabulary, tokenizer)
    assert "smiling" in manifest["vocabulary_seen"]
    assert float(ema.face_projector.embedding_std.min()) != 1.0  # fitted, not the initial identity
    face = np.random.default_rng(2).normal(size=(1, 256)).astype(np.float32)
    sess = ort.InferenceSession(str(out / GRAPH_FILES["face_projector"]), providers=["CPUExecutionProvider"])
    (tokens,) = sess.run(None, {"face_embedding": face})
    with torch.no_grad():
        want = ema.face_projector(torch.from_numpy(face)).numpy()
        other = raw.face_projector(torch.from_numpy(face)).numpy()
    # float32 graphs: GRAPH_TOLERANCE (1e-4 x max(1, |output|)); EMA and raw weights differ by far more.
    assert np.abs(tokens - want).max() <= GRAPH_TOLERANCE * max(1.0, np.abs(want).max())
    assert np.abs(tokens - other).max() > 100 * GRAPH_TOLERANCE


def test_export_with_a_fine_tuned_vae_decoder(augmented_shards, tmp_path):
    """`export --checkpoint C --vae-decoder F`: the bundle's vae_decoder is F's decoder; the other graphs
    and the scaling factor stay C's."""
    from face0.checkpoints import latest_checkpoint, load_checkpoint_models
    from face0.train import TrainOptions, train
    from face0.train_vae import train_vae

    vae = train_vae(augmented_shards, MICRO, tmp_path / "vae.pt", steps=2, batch=4)
    options = TrainOptions(
        shards=augmented_shards, out=tmp_path / "run", model=MICRO, max_steps=2, global_batch=4, lr=1e-3,
        ema_decay=0.5, checkpoint_every=2, shuffle_buffer=8, threads=1, device="cpu", vae=tmp_path / "vae.pt",
    )  # fmt: skip
    train(options)
    checkpoint = latest_checkpoint(tmp_path / "run")
    tuned = train_vae(
        augmented_shards, MICRO, tmp_path / "decoder.pt", steps=3, batch=4, lr=1e-2,
        init=tmp_path / "vae.pt", decoder_only=True,
    )  # fmt: skip
    plain = export_checkpoint(checkpoint, tmp_path / "plain", "plain")
    manifest = export_checkpoint(
        checkpoint, tmp_path / "tuned", "tuned", ("--vae-decoder", str(tmp_path / "decoder.pt"))
    )
    assert manifest["vae_scaling_factor"] == plain["vae_scaling_factor"] == vae["scaling_factor"]
    for graph in ("text_encoder", "face_projector", "unet"):
        assert manifest["files"][GRAPH_FILES[graph]]["sha256"] == plain["files"][GRAPH_FILES[graph]]["sha256"]

    models = load_checkpoint_models(checkpoint)
    latents = np.random.default_rng(3).normal(size=(1, 4, MICRO.latent_size, MICRO.latent_size))
    latents = latents.astype(np.float32)
    decoded = {}
    for name in ("plain", "tuned"):
        path = tmp_path / name / GRAPH_FILES["vae_decoder"]
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (decoded[name],) = sess.run(None, {"latent_sample": latents})
    models.vae.load_state_dict(tuned["vae"])
    with torch.no_grad():
        want = models.vae.decode(torch.from_numpy(latents)).sample.clamp(-1, 1).numpy()
    # float32 graphs: GRAPH_TOLERANCE; the fine-tuned decoder differs from the checkpoint's by far more.
    assert np.abs(decoded["tuned"] - want).max() <= GRAPH_TOLERANCE
    assert np.abs(decoded["plain"] - want).max() > 100 * GRAPH_TOLERANCE


UNET_DATA = "unet.onnx.data"


@pytest.fixture(scope="module")
def external_unet_bundle(bundle, tmp_path_factory) -> tuple[Path, dict]:
    """`bundle` exported again with a threshold between the U-Net's weight bytes and the other graphs':
    the U-Net, and only it, stores its weights in an external-data file, as SD 1.x's U-Net does by
    default."""
    single, _ = bundle
    sizes = {graph: weight_bytes(onnx.load(str(single / name))) for graph, name in GRAPH_FILES.items()}
    threshold = max(size for graph, size in sizes.items() if graph != "unet")
    assert threshold < sizes["unet"]
    out = tmp_path_factory.mktemp("bundle_external_unet")
    return out, make_bundle(out, SMALL, float16=True, external_data_threshold=threshold)


def test_small_bundles_keep_single_file_graphs(bundle):
    out, report = bundle
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert all(entry["external_data"] == [] for entry in report.values())
    assert all("external_data" not in manifest[graph] for graph in GRAPH_IO)
    assert not list(out.glob("*.data"))


def test_external_data_bundle_is_valid_and_lists_the_data_file(external_unet_bundle):
    out, report = external_unet_bundle
    assert validate_bundle(out) == []
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["unet"] == {"file": "unet.onnx", "external_data": [UNET_DATA]}
    assert [graph for graph in GRAPH_IO if "external_data" in manifest[graph]] == ["unet"]
    assert sorted(manifest["files"]) == sorted(
        [*GRAPH_FILES.values(), UNET_DATA, DETECTOR_FILE, EMBEDDER_FILE, CLIP_VOCAB_FILE]
    )
    assert report["unet"]["external_data"] == [UNET_DATA]
    sizes = {name: (out / name).stat().st_size for name in ("unet.onnx", UNET_DATA)}
    assert manifest["files"][UNET_DATA]["bytes"] == sizes[UNET_DATA]
    assert report["unet"]["bytes"] == sum(sizes.values())
    # The weights left the graph: every initializer of 1 KiB or more (onnx's default size_threshold)
    # points into the data file, and those are most of the U-Net's bytes.
    graph = onnx.load(str(out / "unet.onnx"), load_external_data=False)
    inline = [init for init in graph.graph.initializer if init.data_location != onnx.TensorProto.EXTERNAL]
    assert len(inline) < len(graph.graph.initializer)
    assert all(len(init.raw_data) < 1024 for init in inline)
    assert sizes[UNET_DATA] > 4 * sizes["unet.onnx"]


def test_external_data_export_equals_the_single_file_export(bundle, external_unet_bundle):
    """Same graph, same weights: onnxruntime computes the same numbers to the bit, so the export's check
    against PyTorch measures the same differences. (The reports' max_abs_diff values are not compared:
    PyTorch's side of them depends on torch's thread count, which train() sets for the whole process.)"""
    (single, single_report), (split, split_report) = bundle, external_unet_bundle
    for graph in GRAPH_FILES:
        assert split_report[graph]["parameters"] == single_report[graph]["parameters"], graph
    for name in ("text_encoder.onnx", "face_projector.onnx", "vae_decoder.onnx"):
        assert (split / name).read_bytes() == (single / name).read_bytes(), name
    # onnx.load reads the data file back into the graph: the model is the single-file one, byte for byte,
    # once the explicit data_location=DEFAULT that onnx.load leaves on each tensor it read is cleared.
    loaded = onnx.load(str(split / "unet.onnx"))
    for init in loaded.graph.initializer:
        assert init.data_location == onnx.TensorProto.DEFAULT
        init.ClearField("data_location")
    assert loaded.SerializeToString() == (single / "unet.onnx").read_bytes()
    sessions = [session(path / "unet.onnx") for path in (single, split)]
    for batch in (1, 2, 3):  # export_graphs' check inputs
        inputs = example_inputs(SMALL, VOCABULARY, "unet", batch, seed=batch)
        feed = {name: t.numpy() for name, t in inputs.items()}
        single_out, split_out = (sess.run(None, feed)[0] for sess in sessions)
        np.testing.assert_array_equal(single_out, split_out)


def test_save_graph_replaces_a_previous_data_file(bundle, tmp_path):
    """onnx appends to an existing data file; a re-export must not, nor leave a stale one behind."""
    out, _ = bundle
    model = onnx.load(str(out / "face_projector.onnx"))
    path = tmp_path / "face_projector.onnx"
    assert save_graph(model, path, external_data_threshold=0) == ["face_projector.onnx.data"]
    size = (tmp_path / "face_projector.onnx.data").stat().st_size
    model = onnx.load(str(path))
    assert save_graph(model, path, external_data_threshold=0) == ["face_projector.onnx.data"]
    assert (tmp_path / "face_projector.onnx.data").stat().st_size == size
    model = onnx.load(str(path))
    assert save_graph(model, path, external_data_threshold=2**30) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face_projector.onnx"]
    tensors = onnx.load(str(path), load_external_data=False).graph.initializer
    assert {init.data_location for init in tensors} == {onnx.TensorProto.DEFAULT}


def test_validate_checks_external_data_files(external_unet_bundle, tmp_path):
    copy = copy_bundle(external_unet_bundle, tmp_path)
    data = bytearray((copy / UNET_DATA).read_bytes())
    data[0] ^= 1
    (copy / UNET_DATA).write_bytes(bytes(data))
    problems = validate_bundle(copy)
    assert len(problems) == 1 and problems[0].startswith(f"{UNET_DATA}: sha256")
    (copy / UNET_DATA).unlink()
    assert validate_bundle(copy) == [f"{UNET_DATA}: listed in the manifest but missing"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda m: m["unet"].pop("external_data"),
            ["unet.onnx: stores weights in 'unet.onnx.data', which its external_data does not list"],
        ),
        (
            lambda m: m["text_encoder"].update(external_data=[UNET_DATA]),
            ["text_encoder.onnx: external_data lists 'unet.onnx.data', which the graph does not use"],
        ),
        (
            lambda m: m["files"].pop(UNET_DATA),
            ["unet.onnx.data: external data of unet.onnx is not listed in the manifest's files"],
        ),
        (
            lambda m: m["unet"].update(external_data=[]),
            ["unet.onnx: external_data must be a non-empty list of file paths"],
        ),
        (
            lambda m: m["unet"].update(external_data="unet.onnx.data"),
            ["unet.onnx: external_data must be a non-empty list of file paths"],
        ),
    ],
    ids=["undeclared", "unused", "unlisted", "empty", "not-a-list"],
)
def test_validate_checks_external_data_declarations(external_unet_bundle, tmp_path, edit, expected):
    copy = copy_bundle(external_unet_bundle, tmp_path)
    edit_manifest(copy, edit)
    assert validate_bundle(copy) == expected


def test_vocabulary_seen_lists_whole_caption_words_not_bpe_fragments():
    """ "goatee" is two BPE tokens ("go", "atee"): with both seen the list has the word, never a fragment;
    with only one seen it has neither."""
    from face0.export import caption_words, vocabulary_words
    from face0.sample import clip_tokenizer

    tokenizer = clip_tokenizer(MICRO.face_token_positions)
    goatee, smiling = tokenizer.encode("goatee"), tokenizer.encode("smiling")
    assert len(goatee) > 1
    both = vocabulary_words(CompactVocabulary(clip_ids=tuple(sorted({*goatee, *smiling}))), tokenizer)
    assert "goatee" in both and "smiling" in both
    assert not {"go", "atee"} & set(both)
    assert "goatee" not in vocabulary_words(CompactVocabulary(clip_ids=tuple(goatee[:1])), tokenizer)
    assert caption_words(["clean-shaven, o'clock:"]) == {"clean-shaven", "o'clock"}
