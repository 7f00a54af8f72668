"""The model-bundle contract (src/bundle/contract.json, which the app reads too; models/README.md):
manifest writing and checks."""

import hashlib
import json
import posixpath
from pathlib import Path

import numpy as np
import onnx

CONTRACT_FILE = Path(__file__).resolve().parents[2] / "src" / "bundle" / "contract.json"
CONTRACT = json.loads(CONTRACT_FILE.read_text())

BUNDLE_FORMAT = CONTRACT["format"]
BUNDLE_FORMAT_VERSION = CONTRACT["format_version"]
MANIFEST_FILE = CONTRACT["manifest_file"]
REQUIRED_FIELDS = tuple(CONTRACT["manifest_fields"]["required"])
OPTIONAL_FIELDS = tuple(CONTRACT["manifest_fields"]["optional"])

# Each graph's input and output names, in the contract's order (also the app's session order).
GRAPH_IO = {
    graph: {"inputs": list(io["inputs"]), "outputs": list(io["outputs"])}
    for graph, io in CONTRACT["graphs"].items()
}

BATCH = "B"  # the dynamic batch dimension
_ELEMENT_TYPES = {"float32": onnx.TensorProto.FLOAT, "int64": onnx.TensorProto.INT64}


def file_entry(path: str | Path) -> dict:
    data = Path(path).read_bytes()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_manifest(bundle_dir: str | Path, manifest: dict) -> dict:
    """Writes manifest.json with `files` listing every other file of the folder; returns the manifest."""
    bundle_dir = Path(bundle_dir)
    paths = sorted(p for p in bundle_dir.rglob("*") if p.is_file() and p.name != MANIFEST_FILE)
    manifest = {**manifest, "files": {p.relative_to(bundle_dir).as_posix(): file_entry(p) for p in paths}}
    (bundle_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _resolve_dim(dim: int | str, manifest: dict) -> int | str:
    """A contract dimension for this manifest: BATCH, a fixed size, or a manifest field's value (a dotted
    path; `.length` of a list is its length)."""
    if isinstance(dim, int) or dim == BATCH:
        return dim
    value = manifest
    for key in dim.split("."):
        value = len(value) if key == "length" and isinstance(value, list) else value[key]
    if not isinstance(value, int):
        raise ValueError(f"bundle contract: shape dimension {dim!r} is not an integer in the manifest")
    return value


def graph_shapes(manifest: dict) -> dict[str, dict[str, tuple[int, tuple]]]:
    """(element type, shape) of each graph input and output the contract names; BATCH: the batch axis."""
    return {
        graph: {
            name: (_ELEMENT_TYPES[value["type"]], tuple(_resolve_dim(d, manifest) for d in value["shape"]))
            for side in ("inputs", "outputs")
            for name, value in io[side].items()
        }
        for graph, io in CONTRACT["graphs"].items()
    }


def _value_shape(value: onnx.ValueInfoProto) -> tuple:
    dims = value.type.tensor_type.shape.dim
    return tuple(
        BATCH if i == 0 and dim.dim_param else (dim.dim_value or dim.dim_param) for i, dim in enumerate(dims)
    )


def _graph_problems(
    graph: str, path: Path, model: onnx.ModelProto, expected: dict[str, tuple[int, tuple]]
) -> list[str]:
    inputs = {v.name: v for v in model.graph.input}
    outputs = {v.name: v for v in model.graph.output}
    problems = []
    names = GRAPH_IO[graph]
    if sorted(inputs) != sorted(names["inputs"]):
        problems.append(f"{path.name}: inputs {sorted(inputs)}, expected {sorted(names['inputs'])}")
    # Extra outputs are harmless (the app fetches outputs by name); missing ones are not.
    for name in names["outputs"]:
        if name not in outputs:
            problems.append(f"{path.name}: missing output {name!r} (has {sorted(outputs)})")
    for name, value in {**inputs, **outputs}.items():
        if name not in expected:
            continue
        elem_type, shape = expected[name]
        got_type = value.type.tensor_type.elem_type
        got_shape = _value_shape(value)
        if got_type != elem_type:
            problems.append(
                f"{path.name}: {name} has type {onnx.TensorProto.DataType.Name(got_type)}, "
                f"expected {onnx.TensorProto.DataType.Name(elem_type)}"
            )
        if got_shape != shape:
            problems.append(f"{path.name}: {name} has shape {got_shape}, expected {shape}")
    return problems


def _external_locations(model: onnx.ModelProto) -> set[str]:
    """The `location` of every tensor of the main graph whose data lives in an external file."""
    tensors = [*model.graph.initializer]
    for node in model.graph.node:
        for attribute in node.attribute:
            tensors += [attribute.t, *attribute.tensors]
    return {
        entry.value
        for tensor in tensors
        if tensor.data_location == onnx.TensorProto.EXTERNAL
        for entry in tensor.external_data
        if entry.key == "location"
    }


def _external_data_problems(spec: dict, files: dict, model: onnx.ModelProto | None) -> list[str]:
    """A graph's `external_data` against the manifest's files and, when the graph file exists (`model`,
    loaded without its data), against the data files the graph refers to."""
    graph_file = spec["file"]
    declared = spec.get("external_data", [])
    if not (isinstance(declared, list) and all(isinstance(d, str) for d in declared)) or (
        "external_data" in spec and not declared
    ):
        return [f"{graph_file}: external_data must be a non-empty list of file paths"]
    problems = []
    folder = posixpath.dirname(graph_file)
    for rel in declared:
        if rel not in files:
            problems.append(f"{rel}: external data of {graph_file} is not listed in the manifest's files")
        # ONNX records each location relative to the graph; the app hands onnxruntime-web the file name.
        if posixpath.dirname(rel) != folder:
            problems.append(f"{rel}: external data of {graph_file} must be in the same folder")
    if model is None:
        return problems
    used = {posixpath.normpath(posixpath.join(folder, location)) for location in _external_locations(model)}
    for rel in sorted(used - set(declared)):
        problems.append(f"{graph_file}: stores weights in {rel!r}, which its external_data does not list")
    for rel in sorted(set(declared) - used):
        problems.append(f"{graph_file}: external_data lists {rel!r}, which the graph does not use")
    return problems


def _prior_problems(prior: dict, width: int) -> list[str]:
    weights = np.asarray(prior["weights"], dtype=np.float64)
    means = np.asarray(prior["means"], dtype=np.float64)
    variances = np.asarray(prior["variances"], dtype=np.float64)
    k = len(weights)
    problems = []
    if prior["kind"] != "gmm-diag":
        problems.append(f"face_prior: kind {prior['kind']!r}, expected 'gmm-diag'")
    if means.shape != (k, width) or variances.shape != (k, width):
        problems.append(
            f"face_prior: means {means.shape} / variances {variances.shape}, expected ({k}, {width})"
        )
    elif not (abs(weights.sum() - 1) < 1e-6 and (weights > 0).all() and (variances > 0).all()):
        problems.append("face_prior: weights must be positive and sum to 1, variances positive")
    return problems


AUTOENCODERS = ("autoencoder-kl", "taef2")


def _decoder_problems(decoder: dict, channels: int) -> list[str]:
    """vae_decoder's statement of its output range and of the latents it takes (models/README.md)."""
    where = f"{decoder['file']} (vae_decoder)"
    problems = []
    if decoder.get("autoencoder") not in AUTOENCODERS:
        problems.append(
            f"{where}: autoencoder {decoder.get('autoencoder')!r}, expected one of {AUTOENCODERS}"
        )
    low_high = decoder.get("output_range")
    if not (
        isinstance(low_high, list)
        and len(low_high) == 2
        and all(isinstance(v, int | float) for v in low_high)
        and low_high[0] < low_high[1]
    ):
        problems.append(f"{where}: output_range must be [low, high] with low < high (got {low_high!r})")
    if ("latent_mean" in decoder) != ("latent_std" in decoder):
        problems.append(f"{where}: latent_mean and latent_std come together")
    elif "latent_mean" in decoder:
        mean, std = np.asarray(decoder["latent_mean"], float), np.asarray(decoder["latent_std"], float)
        if mean.shape != (channels,) or std.shape != (channels,) or not (std > 0).all():
            problems.append(f"{where}: latent_mean and latent_std must hold {channels} values, std > 0")
    return problems


def _latent_preview_problems(manifest: dict) -> list[str]:
    """The optional `latent_preview`: 3 rows of latent_channels finite weights and 3 finite biases."""
    preview = manifest.get("latent_preview")
    if preview is None:
        return []
    try:
        weights = np.asarray(preview["weights"], dtype=np.float64)
        bias = np.asarray(preview["bias"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as err:
        return [f"latent_preview: needs numeric weights and bias ({err})"]
    channels = manifest["latent_channels"]
    problems = []
    if weights.shape != (3, channels) or bias.shape != (3,):
        problems.append(
            f"latent_preview: weights {weights.shape} / bias {bias.shape}, expected (3, {channels}) / (3,)"
        )
    elif not (np.isfinite(weights).all() and np.isfinite(bias).all()):
        problems.append("latent_preview: weights and bias must be finite")
    return problems


def _x0_projection_problems(manifest: dict, files: dict) -> list[str]:
    """The optional `x0_projection`: a listed file of (components + 1) * latent values in float16."""
    entry = manifest.get("x0_projection")
    if entry is None:
        return []
    components, start = entry.get("components"), entry.get("from_timestep")
    total = manifest["scheduler"]["num_train_timesteps"]
    if not (isinstance(components, int) and components >= 1):
        return [f"x0_projection: components must be an integer >= 1 (got {components!r})"]
    if not (isinstance(start, int) and 0 <= start < total):
        return [f"x0_projection: from_timestep must be an integer in [0, {total}) (got {start!r})"]
    if entry.get("file") not in files:
        return [f"{entry.get('file')}: x0_projection file is not listed in the manifest's files"]
    expected = (components + 1) * manifest["latent_channels"] * manifest["latent_size"] ** 2 * 2
    if files[entry["file"]]["bytes"] != expected:
        return [f"{entry['file']}: {files[entry['file']]['bytes']} bytes, x0_projection needs {expected}"]
    return []


def validate_bundle(bundle_dir: str | Path) -> list[str]:
    """Everything wrong with a bundle, one message per problem naming the file; empty if it is valid."""
    bundle_dir = Path(bundle_dir)
    manifest = json.loads((bundle_dir / MANIFEST_FILE).read_text())
    missing = [field for field in REQUIRED_FIELDS if field not in manifest]
    if missing:
        return [f"{MANIFEST_FILE}: missing {', '.join(missing)}"]
    problems = [
        f"{MANIFEST_FILE}: {field} is not a field of the bundle contract ({CONTRACT_FILE.name})"
        for field in manifest
        if field not in REQUIRED_FIELDS + OPTIONAL_FIELDS
    ]
    if (manifest.get("format"), manifest.get("format_version")) != (BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION):
        problems.append(
            f"{MANIFEST_FILE}: format {manifest.get('format')!r} v{manifest.get('format_version')}"
        )
    files = manifest["files"]
    for rel, entry in files.items():
        path = bundle_dir / rel
        if not path.is_file():
            problems.append(f"{rel}: listed in the manifest but missing")
            continue
        actual = file_entry(path)
        if actual["bytes"] != entry["bytes"]:
            problems.append(f"{rel}: {actual['bytes']} bytes, manifest says {entry['bytes']}")
        elif actual["sha256"] != entry["sha256"]:
            problems.append(f"{rel}: sha256 {actual['sha256']}, manifest says {entry['sha256']}")
    referenced = {
        "tokenizer": manifest["tokenizer"]["vocab_file"],
        "face_detector": manifest["face_detector"]["file"],
    }
    referenced.update({graph: manifest[graph]["file"] for graph in GRAPH_IO})
    for key, rel in referenced.items():
        if rel not in files:
            problems.append(f"{rel}: {key} file is not listed in the manifest's files")
    embedder_id = manifest["face_embedder"]["id"]
    if manifest["face_projector"]["embedder_id"] != embedder_id:
        problems.append(
            f"{manifest['face_projector']['file']}: trained for embedder "
            f"{manifest['face_projector']['embedder_id']!r}, but the bundle's embedder is {embedder_id!r}"
        )
    shapes = graph_shapes(manifest)
    for graph in GRAPH_IO:
        path = bundle_dir / manifest[graph]["file"]
        # The structure only: shapes and external-data locations do not need the weights.
        model = onnx.load(str(path), load_external_data=False) if path.is_file() else None
        if model is not None:
            problems += _graph_problems(graph, path, model, shapes[graph])
        problems += _external_data_problems(manifest[graph], files, model)
    problems += _prior_problems(manifest["face_prior"], manifest["face_embedder"]["embedding_width"])
    problems += _decoder_problems(manifest["vae_decoder"], manifest["latent_channels"])
    problems += _latent_preview_problems(manifest)
    problems += _x0_projection_problems(manifest, files)
    return problems
