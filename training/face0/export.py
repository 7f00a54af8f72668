"""Exports a model bundle: ONNX graphs checked against PyTorch, face models, tokenizer, face prior, manifest.

The graphs follow models/README.md. The app must feed the U-Net a float32 timestep per batch row and
pass `latents / vae_scaling_factor` to vae_decoder, whose `sample` is clamped to [-1, 1] inside the
graph (pixel = (sample + 1) * 127.5).
"""

import argparse
import csv
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from face0.bundle import (
    BATCH,
    BUNDLE_FORMAT,
    BUNDLE_FORMAT_VERSION,
    GRAPH_IO,
    MANIFEST_FILE,
    validate_bundle,
    write_manifest,
)
from face0.captions import caption_vocabulary_text
from face0.checkpoints import load_checkpoint_models, replace_vae_decoder
from face0.clip_vocab import CLIP_VOCAB_FILE, clip_tokenizer, vocabulary_for
from face0.configs import CONFIGS, CONTEXT_LENGTH, DATA_DIR, ModelConfig
from face0.data import list_shards
from face0.diffusion_loss import ddpm_scheduler
from face0.extraction import MAX_DETECT_SIDE, MIN_CONFIDENCE
from face0.face_crop import FACE0_CROP_MARGINS
from face0.face_prior import embed_shard_faces, fit_face_prior
from face0.facemodels.detector import DETECTOR_FILE
from face0.facemodels.embedder import (
    EMBEDDER_FILE,
    EMBEDDER_ID,
    EMBEDDING_WIDTH,
    INPUT_SIZE,
    MEAN_RGB,
    STD_RGB,
)
from face0.latent_preview import PREVIEW_IMAGES, add_latent_preview
from face0.models import (
    CLIP_BOS_ID,
    CLIP_EOS_ID,
    CLIP_PAD_ID,
    FULL_VOCABULARY,
    CompactVocabulary,
    Face0Models,
    build_models,
)
from face0.prediction import EpsilonUNet, bundle_scheduler
from face0.taef2 import Taef2Autoencoder
from face0.tokenize import Face0Tokenizer
from face0.x0_projection import (
    X0Projection,
    first_samples,
    fit_x0_projection,
    latents_of,
    write_x0_projection,
)

# The x0 projection's defaults: docs/training.md, section 10 (64 components from t = 700 on removed the
# colour casts of the 128 px TAEF2 model).
X0_PROJECTION_SAMPLES = 2000
X0_PROJECTION_COMPONENTS = 64
X0_PROJECTION_FROM_TIMESTEP = 700

OPSET = 17
GRAPH_FILES = {graph: f"{graph}.onnx" for graph in ("text_encoder", "face_projector", "unet", "vae_decoder")}
# Max abs difference allowed between onnxruntime and PyTorch (same weights), relative to max(1, max |output|).
GRAPH_TOLERANCE = 1e-4
# Only float tensors with >= 2 dimensions larger than 1 (weight matrices, kernels, embedding tables) are
# stored as float16: vectors stay float32 because some are not weights but precise constants (timestep
# frequencies), and their size is negligible. Counting non-singleton dimensions matters because the
# exporter folds vectors into shapes such as (C, 1, 1) (GroupNorm scales), which must stay float32 as
# their PyTorch parameters do.
FLOAT16_MIN_DIMS = 2
# A graph whose weights (initializers) take more than this many bytes is saved with them in one ONNX
# external-data file beside it (`<graph>.onnx.data`). Protobuf cannot serialize a message over 2 GiB
# (onnx.checker and shape inference refuse such in-memory models too). Half that limit leaves a margin
# rather than a float16 SD U-Net (1.7 GB) 20% under it, and puts Stable Diffusion 1.x's U-Net outside
# its graph in float16 as in float32 (3.4 GB), so its layout does not depend on --float16, while its
# text encoder (<= 0.5 GB), its VAE decoder and every small bundle (models/default) stay single files.
EXTERNAL_DATA_THRESHOLD = 2**30


def stored_as_float16(shape) -> bool:
    return sum(int(d) > 1 for d in shape) >= FLOAT16_MIN_DIMS


FLOAT16_MAX = float(np.finfo(np.float16).max)


class VAEDecoderGraph(nn.Module):
    """latents / vae_scaling_factor -> image in the autoencoder's own range (decoder_spec's output_range):
    [-1, 1] for an AutoencoderKL, [0, 1] for TAEF2, whose per-channel standardisation is undone inside."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        if isinstance(self.vae, Taef2Autoencoder):
            return self.vae.decode_unit(latent_sample)
        return self.vae.decode(latent_sample, return_dict=False)[0].clamp(-1.0, 1.0)


def decoder_spec(models: Face0Models) -> dict:
    """The manifest's statement of what vae_decoder takes and gives (models/README.md)."""
    vae = models.vae
    if isinstance(vae, Taef2Autoencoder):
        return {
            "autoencoder": "taef2",
            "output_range": [0.0, 1.0],
            "latent_mean": vae.latent_mean.tolist(),
            "latent_std": vae.latent_std.tolist(),
        }
    return {"autoencoder": "autoencoder-kl", "output_range": [-1.0, 1.0]}


def graph_modules(models: Face0Models) -> dict[str, nn.Module]:
    return {
        "text_encoder": models.text_encoder,
        "face_projector": models.face_projector,
        "unet": EpsilonUNet(
            models.unet, models.config.scheduler.prediction_type, ddpm_scheduler(models.config).alphas_cumprod
        ),
        "vae_decoder": VAEDecoderGraph(models.vae),
    }


def example_inputs(
    config: ModelConfig, vocabulary: CompactVocabulary, graph: str, batch: int, seed: int
) -> dict:
    """Random inputs for one graph, keyed by input name; token ids mix seen, unseen and special ids."""
    g = torch.Generator().manual_seed(seed)
    c, h, d = config.vae.latent_channels, config.latent_size, config.context_width
    if graph == "text_encoder":
        seen = torch.tensor(vocabulary.clip_ids, dtype=torch.int64)
        words = torch.where(
            torch.rand(batch, CONTEXT_LENGTH, generator=g) < 0.8,
            seen[torch.randint(len(seen), (batch, CONTEXT_LENGTH), generator=g)],
            torch.randint(CLIP_BOS_ID, (batch, CONTEXT_LENGTH), generator=g),
        )
        lengths = torch.randint(CONTEXT_LENGTH - 1, (batch, 1), generator=g) + 1
        positions = torch.arange(CONTEXT_LENGTH)[None]
        ids = torch.where(positions < lengths, words, torch.full_like(words, CLIP_PAD_ID))
        ids[torch.arange(batch), lengths[:, 0]] = CLIP_EOS_ID
        ids[:, 0] = CLIP_BOS_ID
        return {"input_ids": ids}
    if graph == "face_projector":
        return {"face_embedding": torch.randn(batch, config.projector.embedding_width, generator=g)}
    if graph == "unet":
        return {
            "sample": torch.randn(batch, c, h, h, generator=g),
            "timestep": torch.rand(batch, generator=g) * config.scheduler.num_train_timesteps,
            "encoder_hidden_states": torch.randn(batch, CONTEXT_LENGTH, d, generator=g),
        }
    if graph == "vae_decoder":
        return {"latent_sample": torch.randn(batch, c, h, h, generator=g)}
    raise ValueError(f"unknown graph {graph!r}")


def store_weights_float16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Weight initializers stored as float16, each Cast back to float32: I/O and arithmetic stay float32."""
    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or not stored_as_float16(init.dims):
            continue
        values = numpy_helper.to_array(init)
        if np.abs(values).max(initial=0.0) > FLOAT16_MAX:
            continue  # e.g. attention masks holding float32's lowest value
        name = init.name
        init.CopyFrom(numpy_helper.from_array(values.astype(np.float16), f"{name}.float16"))
        casts.append(
            onnx.helper.make_node("Cast", [init.name], [name], to=onnx.TensorProto.FLOAT, name=f"{name}.cast")
        )
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def round_weights_float16(module: nn.Module) -> None:
    """The PyTorch twin of store_weights_float16, for checking the float16 graph at float32 tolerance."""
    with torch.no_grad():
        for p in module.parameters():
            if stored_as_float16(p.shape):
                p.copy_(p.half().float())


def set_output_shapes(model: onnx.ModelProto, shapes: dict[str, tuple[int, ...]]) -> None:
    """Static non-batch output dims (the tracer leaves some symbolic, e.g. after Reshape)."""
    for output in model.graph.output:
        dims = output.type.tensor_type.shape.dim
        for dim, size in zip(dims[1:], shapes[output.name][1:], strict=True):
            dim.Clear()
            dim.dim_value = size


def graph_parameters(model: onnx.ModelProto) -> int:
    """Number of floating-point weights stored in a graph."""
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    return sum(int(np.prod(init.dims)) for init in model.graph.initializer if init.data_type in floats)


def export_graph(
    module: nn.Module,
    inputs: dict,
    output_names: list[str],
    path: Path,
    float16: bool,
    external_data_threshold: int,
) -> list[str]:
    """Writes `path`; returns the external-data files written beside it (empty: one self-contained file)."""
    with torch.no_grad():
        outputs = module(*inputs.values())
    output_shapes = {output_names[0]: tuple(outputs.shape)}
    # torch saves a graph over 2 GiB as one file per tensor beside it: a scratch folder keeps those out
    # of the bundle, and onnx.load reads them back.
    with tempfile.TemporaryDirectory() as scratch:
        traced = Path(scratch) / path.name
        torch.onnx.export(
            module,
            tuple(inputs.values()),
            str(traced),
            input_names=list(inputs),
            output_names=output_names,
            dynamic_axes={name: {0: BATCH} for name in [*inputs, *output_names]},
            opset_version=OPSET,
            dynamo=False,
            do_constant_folding=True,
        )
        model = onnx.load(str(traced))
    set_output_shapes(model, output_shapes)
    if float16:
        model = store_weights_float16(model)
    return save_graph(model, path, external_data_threshold)


def weight_bytes(model: onnx.ModelProto) -> int:
    """Serialized size of the graph's initializers: what external data moves out of the graph file.
    (model.ByteSize() itself fails past protobuf's 2 GiB, e.g. for SD's float32 U-Net.)"""
    return sum(init.ByteSize() for init in model.graph.initializer)


def save_graph(model: onnx.ModelProto, path: Path, external_data_threshold: int) -> list[str]:
    """Saves `model` as one file, or as `path` plus `<path>.data` holding its weights when they take more
    than `external_data_threshold` bytes; returns the external-data file names (relative to the graph's
    folder)."""
    data = path.with_name(f"{path.name}.data")
    # onnx appends to an existing data file, and a stale one would be listed in the manifest.
    data.unlink(missing_ok=True)
    if weight_bytes(model) > external_data_threshold:
        onnx.save_model(
            model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data.name
        )
        external = [data.name]
    else:
        onnx.save(model, str(path))
        external = []
    # By path: the checker refuses an in-memory model over 2 GiB, and this also checks the data file.
    onnx.checker.check_model(str(path))
    return external


def session(path: Path, threads: int = 1) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def max_abs_diff(module: nn.Module, path: Path, inputs: dict) -> tuple[float, float]:
    """(max |onnxruntime - PyTorch|, max |PyTorch|) for one graph's first output."""
    with torch.no_grad():
        expected = module(*inputs.values()).numpy()
    got = session(path).run(None, {name: t.numpy() for name, t in inputs.items()})[0]
    return float(np.abs(got - expected).max()), float(np.abs(expected).max())


def export_graphs(
    models: Face0Models,
    out: Path,
    float16: bool,
    seed: int,
    external_data_threshold: int = EXTERNAL_DATA_THRESHOLD,
) -> dict[str, dict]:
    """Writes the four graphs and checks each in onnxruntime against PyTorch at batch 1, 2 and 3."""
    models.eval()
    reference = models
    if float16:
        reference = Face0Models(models.config, models.vocabulary)
        reference.load_state_dict(models.state_dict())
        round_weights_float16(reference)
        reference.eval()
    report = {}
    for graph, module in graph_modules(models).items():
        path = out / GRAPH_FILES[graph]
        inputs = example_inputs(models.config, models.vocabulary, graph, batch=2, seed=seed)
        external = export_graph(
            module, inputs, GRAPH_IO[graph]["outputs"], path, float16, external_data_threshold
        )
        twin = graph_modules(reference)[graph]
        diffs = {}
        for batch in (1, 2, 3):
            check_inputs = example_inputs(models.config, models.vocabulary, graph, batch, seed=seed + batch)
            diff, scale = max_abs_diff(twin, path, check_inputs)
            if diff > GRAPH_TOLERANCE * max(1.0, scale):
                raise AssertionError(
                    f"{path.name}: onnxruntime differs from PyTorch by {diff:.3g} at batch {batch}"
                )
            diffs[batch] = diff
        entry = {
            "parameters": graph_parameters(onnx.load(str(path), load_external_data=False)),
            "bytes": sum((out / name).stat().st_size for name in [path.name, *external]),
            "external_data": external,
            "max_abs_diff": diffs,
        }
        if float16:
            # What storing float16 weights costs: onnxruntime against the float32 PyTorch model.
            inputs = example_inputs(models.config, models.vocabulary, graph, 2, seed=seed + 2)
            entry["float16_vs_float32"] = max_abs_diff(module, path, inputs)
        report[graph] = entry
    return report


def time_unet(path: Path, config: ModelConfig, batches=(1, 2, 3), threads=(1, 2), runs: int = 10) -> dict:
    """Median onnxruntime CPU milliseconds per U-Net call, by (threads, batch)."""
    times = {}
    for n in threads:
        sess = session(path, threads=n)
        for batch in batches:
            inputs = example_inputs(config, CompactVocabulary(()), "unet", batch, seed=0)
            feed = {name: t.numpy() for name, t in inputs.items()}
            sess.run(None, feed)
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                sess.run(None, feed)
                samples.append((time.perf_counter() - start) * 1000)
            times[(n, batch)] = statistics.median(samples)
    return times


def read_captions(attributes_csv: Path) -> list[str]:
    with open(attributes_csv, newline="") as f:
        return [row["caption"] for row in csv.DictReader(f)]


def caption_words(phrases: Iterable[str]) -> set[str]:
    """Whole words of caption phrases: split at spaces, outer punctuation stripped (hyphens and
    apostrophes inside a word, as in "good-looking" or "o'clock", stay)."""
    return {w.strip(",:.;!?") for phrase in phrases for w in phrase.split()} - {""}


def vocabulary_words(vocabulary: CompactVocabulary, tokenizer: Face0Tokenizer) -> list[str]:
    """The manifest's `vocabulary_seen`: the whole words the caption generator can write (face0.captions)
    whose every BPE token the text encoder saw, so the app lists "goatee", not the fragments "go" and
    "atee"; empty for a pretrained CLIP's full vocabulary, which knows every word (the app lists none)."""
    if vocabulary == FULL_VOCABULARY:
        return []
    seen = set(vocabulary.clip_ids)
    return sorted(w for w in caption_words(caption_vocabulary_text()) if set(tokenizer.encode(w)) <= seen)


def graph_spec(graph: str, external_data: list[str]) -> dict:
    """A graph's manifest entry; `external_data` appears only for graphs that have it."""
    return {"file": GRAPH_FILES[graph], **({"external_data": external_data} if external_data else {})}


def bundle_manifest(
    config: ModelConfig,
    decoder: dict,
    name: str,
    license: str,
    description: str,
    words: list[str],
    face_prior: dict,
    external_data: dict[str, list[str]],
) -> dict:
    """`external_data`: each exported graph's external-data files (export_graphs' report)."""
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "name": name,
        "license": license,
        "description": description,
        "image_size": config.image_size,
        "latent_channels": config.vae.latent_channels,
        "latent_size": config.latent_size,
        "vae_scaling_factor": config.vae.scaling_factor,
        "tokenizer": {
            "kind": "clip-bpe",
            "vocab_file": CLIP_VOCAB_FILE,
            "max_length": CONTEXT_LENGTH,
            "bos_id": CLIP_BOS_ID,
            "eos_id": CLIP_EOS_ID,
            "pad_id": CLIP_PAD_ID,
        },
        "context_width": config.context_width,
        "face_token_positions": list(config.face_token_positions),
        "face_detector": {
            "file": DETECTOR_FILE,
            "kind": "mediapipe-blazeface-short-range",
            "min_confidence": MIN_CONFIDENCE,
            "max_detect_side": MAX_DETECT_SIDE,
        },
        "face_embedder": {
            "file": EMBEDDER_FILE,
            "id": EMBEDDER_ID,
            "input_size": INPUT_SIZE,
            "mean": list(MEAN_RGB),
            "std": list(STD_RGB),
            "embedding_width": EMBEDDING_WIDTH,
            "crop_margins": asdict(FACE0_CROP_MARGINS),
        },
        "face_projector": {
            **graph_spec("face_projector", external_data["face_projector"]),
            "embedder_id": EMBEDDER_ID,
        },
        "text_encoder": graph_spec("text_encoder", external_data["text_encoder"]),
        "unet": graph_spec("unet", external_data["unet"]),
        "vae_decoder": {**graph_spec("vae_decoder", external_data["vae_decoder"]), **decoder},
        "face_prior": face_prior,
        "scheduler": bundle_scheduler(config.scheduler),
        "defaults": asdict(config.defaults),
        "vocabulary_seen": words,
    }


def export_bundle(
    models: Face0Models,
    out: Path,
    name: str,
    license: str,
    description: str,
    face_prior: dict,
    face_models_dir: Path,
    clip_dir: Path,
    float16: bool,
    seed: int,
    external_data_threshold: int = EXTERNAL_DATA_THRESHOLD,
    preview_images: int = PREVIEW_IMAGES,
    x0_projection: X0Projection | None = None,
) -> tuple[dict, dict, dict]:
    """Writes a complete, validated bundle for `models` (with `x0_projection` where given), its latent
    preview fitted on `preview_images` sampled images; returns (manifest, export_graphs report, the preview
    fit's report)."""
    out.mkdir(parents=True, exist_ok=True)
    report = export_graphs(models, out, float16, seed, external_data_threshold)
    for source in (
        face_models_dir / DETECTOR_FILE,
        face_models_dir / EMBEDDER_FILE,
        clip_dir / CLIP_VOCAB_FILE,
    ):
        if source.resolve() != (out / source.name).resolve():
            shutil.copyfile(source, out / source.name)
    tokenizer = clip_tokenizer(models.config.face_token_positions, clip_dir / CLIP_VOCAB_FILE)
    words = vocabulary_words(models.vocabulary, tokenizer)
    external_data = {graph: entry["external_data"] for graph, entry in report.items()}
    manifest = bundle_manifest(
        models.config, decoder_spec(models), name, license, description, words, face_prior, external_data
    )
    if x0_projection is not None:
        manifest["x0_projection"] = write_x0_projection(out, x0_projection)
    write_manifest(out, manifest)
    preview = add_latent_preview(out, preview_images, None, seed, threads=1)
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    problems = validate_bundle(out)
    if problems:
        raise ValueError(f"invalid bundle {out}:\n" + "\n".join(problems))
    return manifest, report, preview


def add_arguments(parser: argparse.ArgumentParser) -> None:
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--config", choices=sorted(CONFIGS), help="code-initialised weights (default tiny)")
    weights.add_argument("--checkpoint", type=Path, help="training checkpoint (.pt): its EMA weights")
    parser.add_argument("--no-ema", action="store_true", help="checkpoint: raw weights instead of EMA")
    parser.add_argument(
        "--vae-decoder",
        type=Path,
        help="checkpoint: a `train-vae --decoder-only` file fine-tuned from its VAE replaces its decoder",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="bundle folder")
    parser.add_argument("--name", required=True)
    parser.add_argument("--license", default="MIT")
    parser.add_argument("--description", required=True)
    parser.add_argument(
        "--float16", action=argparse.BooleanOptionalAction, default=True, help="float16 weights"
    )
    parser.add_argument(
        "--face-models", type=Path, default=Path("models/default"), help="face_detector + embedder"
    )
    parser.add_argument("--clip-dir", type=Path, default=DATA_DIR / "clip")
    parser.add_argument(
        "--captions",
        type=Path,
        default=DATA_DIR / "celeba128" / "attributes.csv",
        help="code-initialised weights: captions for the vocabulary",
    )
    parser.add_argument("--prior-embeddings", type=Path, help="(N, E) .npy; default: embed celeba128 images")
    parser.add_argument("--prior-images-per-shard", type=int, default=38)
    parser.add_argument("--prior-components", type=int, default=8)
    parser.add_argument(
        "--external-data-threshold",
        type=int,
        default=EXTERNAL_DATA_THRESHOLD,
        help="graphs with more weight bytes than this keep them in <graph>.onnx.data",
    )
    parser.add_argument("--benchmark", action="store_true", help="time the U-Net in onnxruntime")
    parser.add_argument(
        "--x0-projection-shards", nargs="+", help="fit the bundle's x0 projection on these training shards"
    )
    parser.add_argument("--x0-projection-samples", type=int, default=X0_PROJECTION_SAMPLES)
    parser.add_argument("--x0-projection-components", type=int, default=X0_PROJECTION_COMPONENTS)
    parser.add_argument("--x0-projection-from-timestep", type=int, default=X0_PROJECTION_FROM_TIMESTEP)
    parser.add_argument(
        "--w",
        type=float,
        help="the bundle's default guidance w (default: the configuration's), chosen on evaluations",
    )
    parser.add_argument(
        "--c",
        type=float,
        help="the bundle's default weight c of the text+face term (default: the configuration's)",
    )


def run(args: argparse.Namespace) -> None:
    if args.checkpoint:
        models = load_checkpoint_models(args.checkpoint, ema=not args.no_ema)
        print(f"{args.checkpoint}: {'raw' if args.no_ema else 'EMA'} weights")
        if args.vae_decoder:
            replace_vae_decoder(models, args.vae_decoder)
            print(f"VAE decoder: {args.vae_decoder}")
    elif args.vae_decoder:
        raise SystemExit("--vae-decoder replaces a --checkpoint's decoder")
    else:
        config = CONFIGS[args.config or "tiny"]
        tokenizer = clip_tokenizer(config.face_token_positions, args.clip_dir / CLIP_VOCAB_FILE)
        vocabulary = vocabulary_for([], tokenizer, read_captions(args.captions))
        models = build_models(config, vocabulary, args.seed)
    print(f"vocabulary: compact size {models.vocabulary.size}")
    chosen = {name: value for name, value in (("w", args.w), ("c", args.c)) if value is not None}
    models.config = replace(models.config, defaults=replace(models.config.defaults, **chosen))

    if args.prior_embeddings:
        embeddings = np.load(args.prior_embeddings)
    else:
        shards = sorted((args.captions.parent).glob("*.tar"))
        embeddings = embed_shard_faces(shards, args.prior_images_per_shard, args.face_models)
    face_prior = fit_face_prior(embeddings, args.prior_components, args.seed)
    print(f"face prior: {args.prior_components} components fitted on {len(embeddings)} embeddings")

    projection = None
    if args.x0_projection_shards:
        samples = first_samples(
            list_shards(args.x0_projection_shards), models.config.image_size, args.x0_projection_samples
        )
        projection = fit_x0_projection(
            latents_of(models, samples), args.x0_projection_components, args.x0_projection_from_timestep
        )
        print(f"x0 projection: {args.x0_projection_components} components fitted on {len(samples)} latents")

    manifest, report, preview = export_bundle(
        models, args.out, args.name, args.license, args.description, face_prior, args.face_models,
        args.clip_dir, args.float16, args.seed, args.external_data_threshold, x0_projection=projection,
    )  # fmt: skip
    for graph, entry in report.items():
        print(f"{graph}: {entry}")
    print(
        f"latent_preview: held-out error {preview['mae_levels']:.1f} levels "
        f"(predicting the mean colour: {preview['mean_colour_mae']:.1f}) on {preview['latents']} latents"
    )
    total = sum(entry["bytes"] for entry in manifest["files"].values())
    print(f"bundle {args.out}: {len(manifest['files'])} files, {total / 2**20:.1f} MiB")

    if args.benchmark:
        for (threads, batch), ms in time_unet(args.out / GRAPH_FILES["unet"], models.config).items():
            print(f"unet onnxruntime CPU: {threads} thread(s), batch {batch}: {ms:.1f} ms/call")
