"""Compares autoencoders by what a perfect latent would score through each, at each one's image size:
train-vae files and the pretrained TAEF2 (../shared/pretrained/taef2) at any size.

For every person of an identities folder (face0.evaluate's layout and people), the reference photo is framed
like celeba128 at the autoencoder's image size, sent through it (encoder, posterior mean for a VAE; decoder;
PyTorch float32) and scored like a generated image: PSNR against the framed photo, face found, faceres cosine
with the person's input photo (0 when no face is found). Beside it, the same photo framed at that size
without the autoencoder, the full-resolution reference (ceiling) and different people (floor: all pairs),
each with faceres crops capped at that size as in face0.evaluate. It measures autoencoders of different
resolutions on one protocol (MODEL_CARD.md, "Autoencoder").

`python -m face0.evaluate_vae --vae A.pt --taef2 64 128 --identities ../shared/data/celeba-identities \
    --out F.json`
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from face0.checkpoints import read_vae_file
from face0.config_json import config_from_dict
from face0.configs import TAEF2_DOWNSCALE
from face0.data import square_resize
from face0.eval_faceres import cosine, faceres_crop, faceres_embed
from face0.evaluate import (
    Person,
    floor_pairs,
    found_reference,
    framing_box,
    largest_box,
    load_people,
    mean_std,
    open_bundle,
    psnr_db,
    repo_relative,
    taef2_round_trip,
    vae_round_trip,
)
from face0.extraction import FaceExtractor
from face0.face_crop import crop_and_resize
from face0.models import parameter_count
from face0.sample import image_grid
from face0.taef2 import TAEF2_LATENT_CHANNELS, Taef2Autoencoder

REPO_ROOT = Path(__file__).resolve().parents[2]


def vae_summary(vae_file: Path) -> dict:
    """The file's configuration name, sizes, parameter counts and training record."""
    state = read_vae_file(vae_file)
    config = config_from_dict(state["model_config"])
    count = {
        part: sum(v.numel() for k, v in state["vae"].items() if k.startswith(prefixes))
        for part, prefixes in (
            ("encoder", ("encoder.", "quant_conv.")),
            ("decoder", ("decoder.", "post_quant_conv.")),
        )
    }
    return {
        "file": str(vae_file),
        "config": config.name,
        "image_size": config.image_size,
        "latent_shape": [config.vae.latent_channels, config.latent_size, config.latent_size],
        "parameters": count,
        "steps": state["steps"],
        "decoder_only": state.get("decoder_only", False),
    }


def taef2_summary(size: int) -> dict:
    encoder, decoder = Taef2Autoencoder().encoder, Taef2Autoencoder().decoder
    return {
        "file": "../shared/pretrained/taef2",
        "config": "taef2",
        "image_size": size,
        "latent_shape": [TAEF2_LATENT_CHANNELS, size // TAEF2_DOWNSCALE, size // TAEF2_DOWNSCALE],
        "parameters": {"encoder": parameter_count(encoder), "decoder": parameter_count(decoder)},
        "steps": None,
        "decoder_only": False,
    }


def score_vae(
    summary: dict, round_trip: Callable[[list[np.ndarray]], list[np.ndarray]], people: list[Person],
    extractor: FaceExtractor, size: int,
) -> tuple[dict, list[np.ndarray], list[np.ndarray]]:  # fmt: skip
    """(scores, framed reference photos, the same through the autoencoder's `round_trip`)."""
    with_reference = [i for i, p in enumerate(people) if p.reference is not None]
    framed = [
        crop_and_resize(people[i].reference_rgb, framing_box(people[i].reference_box), size)
        for i in with_reference
    ]
    decoded = round_trip(framed)
    framed_boxes = {
        i: largest_box(extractor.detect(im)) for i, im in zip(with_reference, framed, strict=True)
    }
    vae_boxes = {i: largest_box(extractor.detect(im)) for i, im in zip(with_reference, decoded, strict=True)}

    keyed = [(("input", i), faceres_crop(p.rgb, p.box, size)) for i, p in enumerate(people)]
    keyed += [
        (("reference", i), faceres_crop(people[i].reference_rgb, people[i].reference_box, size))
        for i in with_reference
    ]
    for name, images, boxes in (("framed", framed, framed_boxes), ("through_vae", decoded, vae_boxes)):
        keyed += [
            ((name, i), faceres_crop(im.astype(np.float32), boxes[i], size))
            for i, im in zip(with_reference, images, strict=True)
            if boxes[i] is not None
        ]
    descriptors = dict(zip([k for k, _ in keyed], faceres_embed([c for _, c in keyed]), strict=True))

    def score(key: tuple[str, int], person: int) -> float:
        return cosine(descriptors[key], descriptors[("input", person)]) if key in descriptors else 0.0

    ceiling = [score(("reference", i), i) for i in with_reference]
    floor = [score(("reference", k), i) for i, k in floor_pairs(len(people), with_reference)]
    scores = {
        **summary,
        "psnr_db": psnr_db(decoded, framed),
        "through_vae": found_reference([score(("through_vae", i), i) for i in with_reference], vae_boxes),
        "framed": found_reference([score(("framed", i), i) for i in with_reference], framed_boxes),
        "ceiling": {"pairs": len(ceiling), "cosine": mean_std(ceiling)},
        "floor": {"pairs": len(floor), "cosine": mean_std(floor)},
    }
    return scores, framed, decoded


def comparison_grid(rows: list[list[np.ndarray]], columns: int) -> Image.Image:
    """The first `columns` tiles of each row, all shown at the largest tile size (bicubic)."""
    side = max(row[0].shape[0] for row in rows)
    return image_grid([[square_resize(t, side) for t in row[:columns]] for row in rows])


def markdown_table(rows: list[dict]) -> str:
    def found_only(ref: dict) -> str:
        x = ref["cosine_found_only"]
        return "n/a" if x is None else f"{x['mean']:.3f}"

    lines = [
        "| VAE file | config | image | latents | encoder / decoder parameters | steps | PSNR "
        "| through the VAE (found only; found) | framed photo, no VAE | same person | different person |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        tv, fr = r["through_vae"], r["framed"]
        lines.append(
            f"| `{Path(r['file']).name}` | {r['config']} | {r['image_size']} px "
            f"| {'x'.join(map(str, r['latent_shape']))} "
            f"| {r['parameters']['encoder']:,} / {r['parameters']['decoder']:,} "
            f"| {'pretrained' if r['steps'] is None else format(r['steps'], ',')}"
            f"{' (decoder only)' if r['decoder_only'] else ''} | {r['psnr_db']:.2f} dB "
            f"| {tv['cosine']['mean']:.3f} ({found_only(tv)}; {tv['face_found_rate']:.0%}) "
            f"| {fr['cosine']['mean']:.3f} ({found_only(fr)}; {fr['face_found_rate']:.0%}) "
            f"| {r['ceiling']['cosine']['mean']:.3f} | {r['floor']['cosine']['mean']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vae", type=Path, nargs="*", default=[], help="train-vae files")
    parser.add_argument(
        "--taef2",
        type=int,
        nargs="*",
        default=[],
        help="image sizes at which to measure the pretrained TAEF2",
    )
    parser.add_argument(
        "--bundle",
        type=Path,
        nargs="*",
        default=[],
        help="TAEF2 bundles: their vae_decoder graph, as shipped",
    )
    parser.add_argument("--identities", type=Path, required=True, help="one sub-folder of photos per person")
    parser.add_argument(
        "--out", type=Path, required=True, help="report .json; a .md table is written beside it"
    )
    parser.add_argument("--people", type=int, help="first N people only (default: all)")
    parser.add_argument("--grid-people", type=int, default=8, help="columns of the PNG grid")
    parser.add_argument(
        "--face-models", type=Path, default=REPO_ROOT / "models/default", help="face_detector + embedder"
    )


def run(args: argparse.Namespace) -> list[dict]:
    if not (args.vae or args.taef2 or args.bundle):
        raise SystemExit("nothing to measure: give --vae files, --taef2 sizes or --bundle folders")
    candidates = [
        (
            config_from_dict(read_vae_file(f)["model_config"]).image_size,
            vae_summary(f),
            partial(vae_round_trip, vae_file=f),
        )
        for f in args.vae
    ] + [(size, taef2_summary(size), taef2_round_trip) for size in args.taef2]
    for path in args.bundle:
        bundle = open_bundle(path, threads=1)
        size = bundle.manifest["image_size"]
        summary = taef2_summary(size) | {
            "file": repo_relative(path),
            "config": f"taef2, {bundle.label}'s graph",
        }
        candidates.append((size, summary, partial(taef2_round_trip, bundle=bundle)))
    rows, tiles = [], []
    people_at: dict[int, list[Person]] = {}
    with FaceExtractor(args.face_models) as extractor:
        for size, summary, round_trip in candidates:
            if size not in people_at:
                people_at[size] = load_people(args.identities, args.people, extractor, size)
            scores, framed, decoded = score_vae(summary, round_trip, people_at[size], extractor, size)
            rows.append(scores)
            tiles += [framed, decoded]
            print(markdown_table(rows[-1:]).splitlines()[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(markdown_table(rows))
    # Rows: each autoencoder's framed photos, then the same through it.
    comparison_grid(tiles, args.grid_people).save(args.out.with_suffix(".png"))
    print(f"wrote {args.out} and its .md and .png")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m face0.evaluate_vae", description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args())
