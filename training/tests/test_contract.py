"""The Python side of the bundle contract (src/bundle/contract.json) against the file: the names export
traces each graph with, the face embedder's names, the manifest fields export writes, and the default
bundle's graphs. tests/unit/bundleContract.test.ts holds the app's side to the same file; a name or
field that one side changes without the contract fails here or there."""

import json
from pathlib import Path

from conftest import MICRO

from face0.bundle import (
    CONTRACT,
    GRAPH_IO,
    MANIFEST_FILE,
    OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
    graph_shapes,
    validate_bundle,
)
from face0.export import bundle_manifest, example_inputs, graph_modules
from face0.facemodels.embedder import DESCRIPTOR_NAME, EMBEDDING_NAME, INPUT_NAME
from face0.models import CompactVocabulary, build_models

DEFAULT_BUNDLE = Path(__file__).resolve().parents[2] / "models" / "default"
VOCABULARY = CompactVocabulary(clip_ids=(320, 539))


def test_export_traces_each_graph_with_the_contract_input_names():
    models = build_models(MICRO, VOCABULARY, seed=0)
    traced = {graph: list(example_inputs(MICRO, VOCABULARY, graph, 1, 0)) for graph in graph_modules(models)}
    assert traced == {graph: GRAPH_IO[graph]["inputs"] for graph in traced}
    # The face embedder is not exported from PyTorch: its graph is built with these names.
    assert set(GRAPH_IO) == {*traced, "face_embedder"}
    assert GRAPH_IO["face_embedder"]["inputs"] == [INPUT_NAME]
    assert GRAPH_IO["face_embedder"]["outputs"] == [EMBEDDING_NAME]
    assert DESCRIPTOR_NAME not in GRAPH_IO["face_embedder"]["outputs"]  # an extra output the app ignores


def test_export_writes_the_contract_manifest_fields():
    no_external_data = {graph: [] for graph in GRAPH_IO}
    manifest = bundle_manifest(MICRO, {}, "n", "MIT", "d", [], {}, no_external_data)
    # write_manifest adds `files`; export adds the optional latent_preview and x0_projection.
    assert [*manifest, "files"] == list(REQUIRED_FIELDS)
    assert set(OPTIONAL_FIELDS) == {"latent_preview", "x0_projection"}


def test_the_default_bundle_has_the_contract_fields_and_graphs():
    manifest = json.loads((DEFAULT_BUNDLE / MANIFEST_FILE).read_text())
    assert set(REQUIRED_FIELDS) <= set(manifest) <= {*REQUIRED_FIELDS, *OPTIONAL_FIELDS}
    assert validate_bundle(DEFAULT_BUNDLE) == []
    assert graph_shapes(manifest)["face_projector"]["face_tokens"][1] == ("B", 3, manifest["context_width"])


def test_validate_names_fields_outside_the_contract(tmp_path):
    for path in DEFAULT_BUNDLE.iterdir():
        (tmp_path / path.name).symlink_to(path)
    manifest = json.loads((DEFAULT_BUNDLE / MANIFEST_FILE).read_text())
    (tmp_path / MANIFEST_FILE).unlink()
    (tmp_path / MANIFEST_FILE).write_text(json.dumps({**manifest, "x0_projector": {}}))
    assert validate_bundle(tmp_path) == [
        f"{MANIFEST_FILE}: x0_projector is not a field of the bundle contract (contract.json)"
    ]
    del manifest["defaults"]
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(manifest))
    assert validate_bundle(tmp_path) == [f"{MANIFEST_FILE}: missing defaults"]


def test_shapes_are_stated_in_manifest_fields():
    dims = {
        d
        for io in CONTRACT["graphs"].values()
        for side in io.values()
        for v in side.values()
        for d in v["shape"]
    }
    assert "B" in dims
    assert all(isinstance(d, int) or d == "B" or d.split(".")[0] in REQUIRED_FIELDS for d in dims)
