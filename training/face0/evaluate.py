"""Evaluates a bundle on held-out people: face alignment, text alignment, baselines and sweep grids.

For each person (one sub-folder of photos), one photo is embedded (face0.extraction) and images are
sampled with the bundle through onnxruntime exactly as the app does (face0.sample) for probe prompts
(face0.eval_prompts) and several seeds. Face alignment = cosine similarity of human's faceres descriptors
(face0.eval_faceres) of the generated face and the input photo, 0 when no face is found; text alignment =
the attribute classifier's (face0.attributes) probability of each attribute value the prompt states.
See docs/evaluation.md for the protocol.

`python -m face0.evaluate --bundle models/default --identities ../shared/data/celeba-identities --out DIR`
(from the repository root with `training/` on PYTHONPATH; from `training/` the paths are
`../models/default` and `../../shared/...`)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from face0.attributes import AttributeClassifier
from face0.captions import CELEBA_ATTRIBUTES
from face0.checkpoints import read_vae_file
from face0.config_json import config_from_dict
from face0.embedding_ops import interpolate, sample_face_prior
from face0.eval_faceres import FACERES_SIZE, cosine, faceres_crop, faceres_embed
from face0.eval_prompts import Probe, probe_prompts, relation
from face0.extraction import Detection, FaceExtractor, load_image
from face0.face_crop import Box, crop_and_resize, largest_face
from face0.models import build_vae
from face0.progress import Progress
from face0.rng import Rng
from face0.sample import image_grid, load_bundle, sample_image, to_uint8
from face0.taef2 import Taef2Autoencoder

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
# Where BlazeFace's box sits in a celeba128 crop (measured on 300 celeba128 images, aligned and in-the-wild
# crops alike): box centre at (0.51, 0.58) of the side, box width 0.55 of the side. Real photos are framed
# like this for the attribute classifier and for thumbnails, so they look like what the model generates.
FRAMING_CENTER = (0.51, 0.58)
FRAMING_WIDTH = 0.55
METHODS = ("face", "random_face", "no_face")
CA_GRID_C = (0.0, 0.4, 0.7, 1.0, 1.4)
CA_GRID_A = (0.0, 0.5, 1.0)
INTERPOLATION_STEPS = 6
PRIOR_SEED = 1_000_003


@dataclass
class Person:
    name: str
    photo: Path
    rgb: np.ndarray
    box: Box
    embedding: np.ndarray  # conditioning embedding of `photo`, from the main bundle's embedder
    framed: np.ndarray  # photo framed like celeba128, at the bundle's image size
    reference: Path | None = None  # another photo of the same person
    reference_rgb: np.ndarray | None = None
    reference_box: Box | None = None
    attributes: dict[str, bool] = field(default_factory=dict)  # classifier reading of `framed`
    probes: list[Probe] = field(default_factory=list)


@dataclass
class Generated:
    bundle: str
    method: str
    person: int
    probe: Probe
    seed: int
    image: np.ndarray  # uint8 (H, W, 3)
    box: Box | None  # largest detected face


@dataclass
class Bundle:
    label: str
    path: Path
    graphs: object
    tokenizer: object
    manifest: dict
    extractor: FaceExtractor


REPO_ROOT = Path(__file__).resolve().parents[2]


def repo_relative(path: Path) -> str:
    """A path as the repository names it (`models/default`, `../shared/data/...`), wherever one runs."""
    return os.path.relpath(Path(path).resolve(), REPO_ROOT)


def framing_box(face: Box) -> Box:
    side = face.width / FRAMING_WIDTH
    cx, cy = face.x + face.width / 2, face.y + face.height / 2
    return Box(cx - FRAMING_CENTER[0] * side, cy - FRAMING_CENTER[1] * side, side, side)


def largest_box(detections: Sequence[Detection]) -> Box | None:
    chosen = largest_face(detections)
    return None if chosen < 0 else detections[chosen].box


def photos_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def load_people(
    identities: Path, limit: int | None, extractor: FaceExtractor, image_size: int
) -> list[Person]:
    """A Person per sub-folder (sorted): the first photo with a face is the input, the next the reference."""
    people = []
    for folder in sorted(p for p in identities.iterdir() if p.is_dir()):
        if limit is not None and len(people) >= limit:
            break
        found = []
        for path in photos_of(folder):
            rgb = load_image(path)
            extraction = extractor.extract(rgb)
            if extraction is not None:
                found.append((path, rgb, extraction))
            if len(found) == 2:
                break
        if not found:
            print(f"{folder.name}: no face found in any photo, skipped", flush=True)
            continue
        path, rgb, ex = found[0]
        person = Person(
            folder.name,
            path,
            rgb,
            ex.box,
            ex.embedding,
            crop_and_resize(rgb, framing_box(ex.box), image_size),
        )
        if len(found) == 2:
            person.reference, person.reference_rgb, reference = found[1]
            person.reference_box = reference.box
        people.append(person)
    return people


def found_reference(scores: list[float], boxes: dict[int, Box | None]) -> dict:
    """A reference scored like generated images: 0 where the detector finds no face, and found only."""
    found = [s for s, b in zip(scores, boxes.values(), strict=True) if b is not None]
    return {
        "pairs": len(scores),
        "cosine": mean_std(scores),
        "face_found_rate": float(np.mean([b is not None for b in boxes.values()])),
        "cosine_found_only": mean_std(found) if found else None,
    }


def floor_pairs(people: int, with_reference: Sequence[int]) -> list[tuple[int, int]]:
    """(input i, reference k) pairs for the different-person floor: every input against the reference photo
    of every other person (one "next person" pair each made the floor depend on who sat next to whom)."""
    return [(i, k) for i in range(people) for k in with_reference if k != i]


def gap_closed(score: float, floor: float, ceiling: float) -> float:
    """Where a score sits between the different-person floor (0) and the same-person ceiling (1)."""
    return (score - floor) / (ceiling - floor)


def skin_luminance(image: np.ndarray, box: Box) -> float:
    """Mean Rec. 601 luma (0..255) of the middle of a face box (the central half of its width and height:
    cheeks, nose and forehead, little hair or background)."""
    height, width = image.shape[:2]
    x0, x1 = int(max(0, box.x + box.width / 4)), int(min(width, box.x + 3 * box.width / 4))
    y0, y1 = int(max(0, box.y + box.height / 4)), int(min(height, box.y + 3 * box.height / 4))
    region = image[y0:y1, x0:x1].astype(np.float64)
    if region.size == 0:
        return float("nan")
    return float((region @ np.array([0.299, 0.587, 0.114])).mean())


def mean_std(values: Sequence[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()) if v.size else float("nan"),
        "std": float(v.std()) if v.size else float("nan"),
    }


def text_scores(probabilities: np.ndarray, stated: dict[str, int]) -> tuple[float, float]:
    """(mean probability of the stated values, fraction of stated values the classifier reads)."""
    index = {name: i for i, name in enumerate(CELEBA_ATTRIBUTES)}
    p = [probabilities[index[k]] if v else 1.0 - probabilities[index[k]] for k, v in stated.items()]
    return float(np.mean(p)), float(np.mean([x >= 0.5 for x in p]))


def summarize(records: list[dict], seeds: int) -> dict:
    """Per (bundle, method): paper Table 1's numbers, Table 2's best of seeds, text alignment splits."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["bundle"], r["method"])].append(r)
    summary = {}
    for (bundle, method), rows in groups.items():
        best: dict[tuple[int, str], float] = {}
        for r in rows:
            key = (r["person"], r["probe"])
            best[key] = max(best.get(key, -np.inf), r["overall"])
        pairs: dict[str, list[bool]] = defaultdict(list)
        per_attribute: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
        per_probe: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            per_probe[r["probe"]].append(r)
            for name, check in r["attribute_checks"].items():
                pairs[check["relation"]].append(check["correct"])
                per_attribute[name][check["relation"]].append(check["correct"])
        summary[f"{bundle}/{method}"] = {
            "bundle": bundle,
            "method": method,
            "images": len(rows),
            "text_align": mean_std([r["text_align"] for r in rows]),
            "face_align": mean_std([r["face_align"] for r in rows]),
            "face_align_found_only": mean_std([r["face_align"] for r in rows if r["face_found"]]),
            "overall": mean_std([r["overall"] for r in rows]),
            "overall_best_of_seeds": mean_std(list(best.values())) if seeds > 1 else None,
            "face_found_rate": float(np.mean([r["face_found"] for r in rows])),
            "text_accuracy": float(np.mean([r["text_accuracy"] for r in rows])),
            **{
                f"attribute_accuracy_{rel}": float(np.mean(pairs[rel])) if pairs[rel] else None
                for rel in ("agree", "contradict")
            },
            "per_probe": {
                name: {
                    "images": len(rs),
                    "text_align": float(np.mean([r["text_align"] for r in rs])),
                    "text_accuracy": float(np.mean([r["text_accuracy"] for r in rs])),
                    "face_align": float(np.mean([r["face_align"] for r in rs])),
                    "face_found_rate": float(np.mean([r["face_found"] for r in rs])),
                }
                for name, rs in per_probe.items()
            },
            "per_attribute": {
                name: {rel: {"n": len(v), "accuracy": float(np.mean(v))} for rel, v in by_rel.items()}
                for name, by_rel in sorted(per_attribute.items())
            },
        }
    return summary


def cosine_matrix(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    a = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    b = columns / np.linalg.norm(columns, axis=1, keepdims=True)
    return a.astype(np.float64) @ b.astype(np.float64).T


def best_match(descriptors: dict, key: tuple[str, int], inputs: np.ndarray) -> int | None:
    """The person whose input photo a face's descriptor is closest to; None when no face was found."""
    if key not in descriptors:
        return None
    return int(np.argmax(cosine_matrix(descriptors[key][None], inputs)[0]))


def identification(records: list[dict]) -> dict[str, dict]:
    """Per bundle/method: rank-1 identification from the records' per-image `rank1` (best_match); an image
    without a detected face counts as a miss in `rank1` and is left out of `rank1_found_only`."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        groups[f"{r['bundle']}/{r['method']}"].append(r)
    out = {}
    for key, items in groups.items():
        found = [r for r in items if r["face_found"]]
        hits = sum(r["rank1"] for r in found)
        out[key] = {
            "images": len(items),
            "found": len(found),
            "rank1": hits / len(items),
            "rank1_found_only": hits / len(found) if found else None,
        }
    return out


def skin_tone(generated: list[Generated], people: list[Person], detect: Callable) -> dict[str, dict]:
    """Per bundle: mean skin luma of the faces generated with the person's face against the same people's
    input photos framed at the image size (skin_luminance; images without a detected face left out)."""
    framed = {}
    for i, p in enumerate(people):
        image = np.clip(np.rint(p.framed), 0, 255).astype(np.uint8)
        box = largest_box(detect(image))
        if box is not None:
            framed[i] = skin_luminance(image, box)
    by_bundle: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for g in generated:
        if g.method == "face" and g.box is not None and g.person in framed:
            by_bundle[g.bundle].append((skin_luminance(g.image, g.box), framed[g.person]))
    return {
        bundle: {
            "images": len(pairs),
            "generated": float(np.mean([a for a, _ in pairs])),
            "input": float(np.mean([b for _, b in pairs])),
            "difference": mean_std([a - b for a, b in pairs]),
        }
        for bundle, pairs in by_bundle.items()
    }


class Sampler:
    """Samples with one bundle and counts images and seconds, for the report's timings."""

    def __init__(self, bundle: Bundle, steps: int, w: float, c: float, a: float):
        self.bundle, self.steps, self.w, self.c, self.a = bundle, steps, w, c, a
        self.images, self.seconds = 0, 0.0

    def __call__(self, prompt: str, embedding: np.ndarray | None, seed: int, c=None, a=None) -> np.ndarray:
        start = time.monotonic()
        b = self.bundle
        image = sample_image(
            b.graphs,
            b.tokenizer,
            b.manifest,
            prompt,
            embedding,
            seed,
            self.steps,
            self.w,
            self.c if c is None else c,
            self.a if a is None else a,
        )
        self.images += 1
        self.seconds += time.monotonic() - start
        return to_uint8(image)


def prior_face(manifest: dict, seed: int) -> np.ndarray:
    return sample_face_prior(manifest["face_prior"], Rng(PRIOR_SEED + seed))


def latent_seed(person: int, seed: int) -> int:
    """The seed of an image's initial latents: one per (person, seed), shared by the three face sources. With
    one seed shared by every person, a draw's low frequencies (the whole image's brightness, say) moved every
    image of that seed together, so the means rested on `seeds` draws."""
    return 1000 * person + seed


def run_protocol(sampler: Sampler, people: list[Person], seeds: int, detect: Callable) -> list[Generated]:
    bundle = sampler.bundle
    out = []
    total = sum(len(p.probes) for p in people) * seeds * len(METHODS)
    progress = Progress(total, f"sample {bundle.label}", "images", every_s=30.0)
    for i, person in enumerate(people):
        for probe in person.probes:
            for seed in range(seeds):
                faces = {
                    "face": person.embedding,
                    # A different prior draw per (person, seed): "a random face", not one fixed stranger.
                    "random_face": prior_face(bundle.manifest, i * 1000 + seed),
                    "no_face": None,
                }
                for method in METHODS:
                    image = sampler(probe.prompt, faces[method], latent_seed(i, seed))
                    out.append(
                        Generated(bundle.label, method, i, probe, seed, image, largest_box(detect(image)))
                    )
                    progress.update(1)
    return out


def check_judge() -> None:
    """Runs the faceres judge once on a blank crop, so that a missing `npm install` (or Node) fails here and
    not after the sampling."""
    try:
        faceres_embed(np.zeros((1, FACERES_SIZE, FACERES_SIZE, 3), np.float32), timeout_s=120)
    except (OSError, RuntimeError, subprocess.SubprocessError) as e:
        raise SystemExit(
            f"the faceres judge does not run ({e}); it needs Node and the npm packages: run `npm install` "
            "in the repository first"
        ) from e


def blank(size: int) -> np.ndarray:
    return np.full((size, size, 3), 255, np.uint8)


def thumbnail(person: Person) -> np.ndarray:
    return np.clip(np.rint(person.framed), 0, 255).astype(np.uint8)


def sweep_grids(sampler: Sampler, people: list[Person], out: Path, size: int, grid_seeds: int) -> dict:
    """The paper's qualitative figures as PNG grids; returns {name: {file, rows, columns}}."""
    grids = {}

    def save(name, rows, row_labels, col_labels, note):
        image_grid(rows).save(out / f"{name}.png")
        grids[name] = {"file": f"{name}.png", "rows": row_labels, "columns": col_labels, "note": note}

    p0 = people[0]
    by_name = {p.name: p for p in p0.probes}
    prompt = by_name["eyeglasses"].prompt
    rows = [[sampler(prompt, p0.embedding, 0, c=c, a=a) for a in CA_GRID_A] for c in CA_GRID_C]
    save(
        "sweep_c_a",
        rows,
        [f"c={c}" for c in CA_GRID_C],
        [f"a={a}" for a in CA_GRID_A],
        f"Fig. 7: {p0.name}, '{prompt}', seed 0; c weights the combined text+face term, a the face-only term",
    )

    if len(people) > 1:
        p1 = people[1]
        ts = np.linspace(0.0, 1.0, INTERPOLATION_STEPS)
        prompt = by_name["plain"].prompt
        rows = [
            [thumbnail(p0)]
            + [sampler(prompt, interpolate(p0.embedding, p1.embedding, float(t)), seed) for t in ts]
            + [thumbnail(p1)]
            for seed in range(min(2, grid_seeds))
        ]
        save(
            "sweep_interpolation",
            rows,
            [f"seed {s}" for s in range(len(rows))],
            [f"photo {p0.name}", *(f"t={t:.2f}" for t in ts), f"photo {p1.name}"],
            f"Fig. 5: linear interpolation of the two conditioning embeddings, '{prompt}'",
        )

    probes = p0.probes[:4]
    rows = [[thumbnail(p0)] + [sampler(p.prompt, p0.embedding, s) for s in range(grid_seeds)] for p in probes]
    save(
        "sweep_seeds",
        rows,
        [p.prompt for p in probes],
        ["photo", *(f"seed {s}" for s in range(grid_seeds))],
        f"Fig. 9: consistency across seeds for {p0.name}",
    )

    rows = [
        [sampler(p.prompt, prior_face(sampler.bundle.manifest, -1 - d), 0) for p in p0.probes]
        for d in range(min(2, grid_seeds))
    ]
    save(
        "sweep_random_face",
        rows,
        [f"prior draw {d + 1}" for d in range(len(rows))],
        [p.prompt for p in p0.probes],
        "one random face from the bundle's face prior, fixed across prompts (seed 0)",
    )

    names = ["plain", "smiling", "eyeglasses", "blond_hair", "black_hair", "hat", "beard", "age", "gender"]
    shown = people[:4]
    rows = []
    for person in shown:
        probes_by_name = {p.name: p for p in person.probes}
        row = [thumbnail(person)]
        for name in names:
            probe = probes_by_name.get(name)
            row.append(blank(size) if probe is None else sampler(probe.prompt, person.embedding, 0))
        rows.append(row)
    save(
        "sweep_text_override",
        rows,
        [p.name for p in shown],
        ["photo", *names],
        "Fig. 4: prompts stating traits that agree with or contradict the face (seed 0; blank: not in the"
        " caption grammar for this face); relations per cell are in report.json people[].probes",
    )

    shown = people[:6]
    prompts = [by_name["plain"].prompt, by_name["hat"].prompt]
    rows = [[thumbnail(p) for p in shown]] + [[sampler(pr, p.embedding, 0) for p in shown] for pr in prompts]
    save(
        "sweep_face_swap",
        rows,
        ["photos", *prompts],
        [p.name for p in shown],
        "same prompt and seed (0), only the face embedding changes",
    )
    return grids


def fmt(ms: dict | None) -> str:
    return "–" if ms is None else f"{ms['mean']:.3f} ± {ms['std']:.3f}"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def write_markdown(report: dict, path: Path) -> None:
    ref = report["references"]
    small, small_ref = report["settings"]["image_size"], ref["ceiling_as_generated"]
    vae_ref = ref.get("ceiling_through_vae")
    vae_rows = (
        [
            f"| ceiling through the VAE: that {small} px photo encoded by the VAE's encoder, decoded by the "
            f"bundle's decoder (PSNR {vae_ref['psnr_db']:.2f} dB; found in "
            f"{pct(vae_ref['face_found_rate'])}; found only "
            f"{fmt(vae_ref['cosine_found_only'])}) | {vae_ref['pairs']} | {fmt(vae_ref['cosine'])} |"
        ]
        if vae_ref
        else []
    )
    lines = [
        "# Face0 evaluation",
        "",
        f"Bundles: {', '.join(f'`{b}`' for b in report['bundles'])}; {report['settings']['people']} people, "
        f"{report['settings']['seeds']} seed(s), {report['settings']['steps']} DDIM steps, "
        f"w={report['settings']['w']}, c={report['settings']['c']}, a={report['settings']['a']}. "
        "Protocol: docs/evaluation.md.",
        "",
        "## Alignment (paper Table 1)",
        "",
        "Face align.: faceres cosine with the input photo (0 when no face is found). Text align.: attribute "
        "classifier's probability of the stated attribute values. Overall = text + face.",
        "",
        "| bundle / method | images | text align. | face align. | face align. (found only) | overall "
        "| best of seeds | face found |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, s in report["methods"].items():
        lines.append(
            f"| {key} | {s['images']} | {fmt(s['text_align'])} | {fmt(s['face_align'])} | "
            f"{fmt(s['face_align_found_only'])} | {fmt(s['overall'])} | {fmt(s['overall_best_of_seeds'])} | "
            f"{pct(s['face_found_rate'])} |"
        )
    lines += [
        "",
        "## Identity",
        "",
        "Gap closed: (face align. - floor) / (ceiling - floor), the floor being the mean over all "
        "different-person pairs. Rank-1: the generated face's best match among all "
        f"{report['settings']['people']} people's input photos is its own person (chance "
        f"{pct(ref['identification_chance'])}; a real second photo of each person: "
        f"{pct(ref['identification_ceiling']['rank1'])}); images without a detected face count as misses, "
        "except in the found-only column.",
        "",
        "| bundle / method | gap closed | gap closed (found only) | rank-1 | rank-1 (found only) |",
        "|---|---|---|---|---|",
    ]
    for key, s in report["methods"].items():
        ident = s["identification"]
        lines.append(
            f"| {key} | {s['gap_closed']:.2f} | {s['gap_closed_found_only']:.2f} | {pct(ident['rank1'])} | "
            f"{pct(ident['rank1_found_only'])} |"
        )
    lines += [
        "",
        "Skin tone: mean Rec. 601 luma (0-255) of the middle of the detected face box, generated with the "
        "person's face vs the same people's input photos framed at the image size:",
        "",
        *(
            f"- {bundle}: generated {v['generated']:.1f}, input {v['input']:.1f}, difference "
            f"{fmt(v['difference'])} ({v['images']} images)"
            for bundle, v in report["skin_luminance"].items()
        ),
    ]
    lines += [
        "",
        "References from the same network (real photos, same crops and resolution cap):",
        "",
        "| reference | pairs | faceres cosine |",
        "|---|---|---|",
        f"| ceiling: another photo of the same person vs. the input | {ref['ceiling']['pairs']} | "
        f"{fmt(ref['ceiling']['cosine'])} |",
        f"| ceiling, as generated: that photo framed like celeba128 at {small} px, face found on it by the "
        f"detector (0 if not; found in {pct(small_ref['face_found_rate'])}; found only "
        f"{fmt(small_ref['cosine_found_only'])}) | {small_ref['pairs']} | "
        f"{fmt(small_ref['cosine'])} |",
        *vae_rows,
        f"| floor: a photo of a different person vs. the input | {ref['floor']['pairs']} | "
        f"{fmt(ref['floor']['cosine'])} |",
        "",
        "## Text alignment: attributes that agree with the face vs. contradict it",
        "",
        "Fraction of stated attribute values the classifier reads on the generated image.",
        "",
        "| bundle / method | text accuracy | agree | contradict |",
        "|---|---|---|---|",
    ]
    for key, s in report["methods"].items():
        lines.append(
            f"| {key} | {pct(s['text_accuracy'])} | {pct(s['attribute_accuracy_agree'])} | "
            f"{pct(s['attribute_accuracy_contradict'])} |"
        )
    first = next(iter(report["methods"].values()))
    lines += ["", f"Per attribute ({first['bundle']}/{first['method']}):", ""]
    lines += [
        "| attribute | agree (n) | contradict (n) | classifier held-out balanced acc. |",
        "|---|---|---|---|",
    ]
    held = report["attribute_classifier"]["held_out"]
    for name, by_rel in first["per_attribute"].items():
        cells = [
            f"{pct(by_rel[rel]['accuracy'])} ({by_rel[rel]['n']})" if rel in by_rel else "–"
            for rel in ("agree", "contradict")
        ]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {held[name]['balanced_accuracy']:.3f} |")
    lines += [
        "",
        "Per probe prompt:",
        "",
        "| bundle / method | probe | text align. | text acc. | face align. |",
    ]
    lines.append("|---|---|---|---|---|")
    for key, s in report["methods"].items():
        for name, p in s["per_probe"].items():
            lines.append(
                f"| {key} | {name} | {p['text_align']:.3f} | {pct(p['text_accuracy'])} | "
                f"{p['face_align']:.3f} |"
            )
    lines += ["", "## Sweeps", ""]
    for name, g in report["grids"].items():
        lines += [f"### {name}", "", g["note"], "", f"![{name}]({g['file']})", ""]
        lines.append("Rows: " + "; ".join(g["rows"]) + ".  ")
        lines.append("Columns: " + "; ".join(g["columns"]) + ".")
        lines.append("")
    lines += ["## Timings", "", *(f"- {k}: {v:.1f} s" for k, v in report["timings_s"].items()), ""]
    path.write_text("\n".join(lines))


def images_to_unit(images: Sequence[np.ndarray]) -> torch.Tensor:
    """(size, size, 3) 0..255 images -> (B, 3, size, size) float32 in [-1, 1]."""
    return torch.from_numpy(np.stack(images).astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1.0


def vae_round_trip(
    images: Sequence[np.ndarray], vae_file: Path, bundle: Bundle | None = None
) -> list[np.ndarray]:
    """(size, size, 3) 0..255 images encoded by a train-vae file's encoder (posterior mean) and decoded by
    the bundle's own vae_decoder graph (the best any generation can look through that decoder), or without
    a bundle by the file's own decoder in PyTorch float32."""
    state = read_vae_file(vae_file)
    if bundle is not None and state["scaling_factor"] != bundle.manifest["vae_scaling_factor"]:
        raise SystemExit(
            f"--vae {vae_file}: scaling factor {state['scaling_factor']} is not the bundle's "
            f"{bundle.manifest['vae_scaling_factor']}: it is not the VAE the bundle's U-Net was trained on"
        )
    vae = build_vae(config_from_dict(state["model_config"]))
    vae.load_state_dict(state["vae"])
    with torch.no_grad():
        latents = vae.eval().encode(images_to_unit(images)).latent_dist.mean
        decoded = bundle.graphs.vae_decoder(latents) if bundle else vae.decode(latents).sample.clamp(-1, 1)
    return [to_uint8(im) for im in decoded.permute(0, 2, 3, 1).numpy()]


def taef2_round_trip(images: Sequence[np.ndarray], bundle: Bundle | None = None) -> list[np.ndarray]:
    """(size, size, 3) 0..255 images through TAEF2's encoder (PyTorch float32) and TAEF2's decoder, or a
    TAEF2 bundle's vae_decoder graph given the latents standardised with the bundle's statistics (what the
    U-Net produces)."""
    autoencoder = Taef2Autoencoder()
    with torch.no_grad():
        raw = autoencoder.encode_raw(images_to_unit(images))
        if bundle is None:
            decoded = autoencoder.decoder(raw).clamp(0.0, 1.0) * 2.0 - 1.0
        else:
            spec = bundle.manifest["vae_decoder"]
            if spec["autoencoder"] != "taef2":
                raise ValueError(f"{bundle.path}: its decoder is {spec['autoencoder']}, not taef2")
            mean = torch.tensor(spec["latent_mean"])[:, None, None]
            std = torch.tensor(spec["latent_std"])[:, None, None]
            decoded = bundle.graphs.vae_decoder(((raw - mean) / std).float())
    return [to_uint8(im) for im in decoded.permute(0, 2, 3, 1).numpy()]


def psnr_db(images: Sequence[np.ndarray], references: Sequence[np.ndarray]) -> float:
    """PSNR of 0..255 images against their references, over all pixels of all images."""
    diff = np.stack(images).astype(np.float64) - np.stack(references).astype(np.float64)
    mse = float(np.mean(diff**2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def open_bundle(path: Path, threads: int, label: str | None = None) -> Bundle:
    graphs, tokenizer, manifest = load_bundle(path, threads)
    return Bundle(label or manifest["name"], path, graphs, tokenizer, manifest, FaceExtractor(path))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--compare-bundle", type=Path, help="a second bundle evaluated on the same protocol")
    parser.add_argument("--identities", type=Path, required=True, help="one sub-folder of photos per person")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--attributes-model", type=Path, default=REPO_ROOT / "models/eval")
    parser.add_argument("--people", type=int, help="first N people only (default: all)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds 0..K-1 per prompt")
    parser.add_argument("--steps", type=int, help="DDIM steps (default: the bundle's)")
    parser.add_argument("--w", type=float)
    parser.add_argument("--c", type=float)
    parser.add_argument("--a", type=float)
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    parser.add_argument("--grid-seeds", type=int, default=4, help="seeds in the consistency grid")
    parser.add_argument("--no-sweeps", action="store_true", help="skip the PNG grids")
    parser.add_argument(
        "--vae",
        type=Path,
        help="the train-vae file whose encoder the bundle's U-Net was trained on: adds the reference "
        "'through the VAE' (reference photo, encoder, the bundle's decoder)",
    )


def evaluate(args: argparse.Namespace) -> dict:
    timings: dict[str, float] = {}
    t = time.monotonic()
    main = open_bundle(args.bundle, args.threads)
    bundles = [main]
    if args.compare_bundle:
        other = open_bundle(args.compare_bundle, args.threads)
        if other.label == main.label:
            other.label = f"{other.label} ({args.compare_bundle.name})"
        bundles.append(other)
    classifier = AttributeClassifier(args.attributes_model)
    check_judge()
    defaults = main.manifest["defaults"]
    settings = {
        k: defaults[k] if getattr(args, k) is None else getattr(args, k) for k in ("steps", "w", "c", "a")
    }
    size = main.manifest["image_size"]
    timings["load models"] = time.monotonic() - t

    t = time.monotonic()
    people = load_people(args.identities, args.people, main.extractor, size)
    if not people:
        raise SystemExit(f"{args.identities}: no person with a detectable face")
    probabilities = classifier.predict([p.framed for p in people])
    for person, probs in zip(people, probabilities, strict=True):
        person.attributes = {name: bool(x >= 0.5) for name, x in zip(CELEBA_ATTRIBUTES, probs, strict=True)}
        person.probes = probe_prompts(person.attributes)
    timings["people"] = time.monotonic() - t

    t = time.monotonic()
    detect = main.extractor.detect
    generated: list[Generated] = []
    samplers = {}
    for bundle in bundles:
        # The compare bundle is conditioned through its own embedder, in case it differs.
        conditioned = people if bundle is main else [_re_embed(p, bundle.extractor) for p in people]
        samplers[bundle.label] = Sampler(bundle, **settings)
        generated += run_protocol(samplers[bundle.label], conditioned, args.seeds, detect)
    timings["sample protocol"] = time.monotonic() - t

    t = time.monotonic()
    with_reference = [i for i, p in enumerate(people) if p.reference is not None]
    # The reference photo also goes through the generated images' path (framed, shrunk to image_size,
    # face found by the detector on the small image): what a perfect generation would score.
    small_refs = {
        i: crop_and_resize(people[i].reference_rgb, framing_box(people[i].reference_box), size)
        for i in with_reference
    }
    small_boxes = {i: largest_box(detect(im)) for i, im in small_refs.items()}
    through_vae = {}
    references_small = [small_refs[i] for i in with_reference]
    if main.manifest["vae_decoder"]["autoencoder"] == "taef2" and with_reference:
        through_vae = dict(zip(with_reference, taef2_round_trip(references_small, main), strict=True))
    elif args.vae and with_reference:
        through_vae = dict(zip(with_reference, vae_round_trip(references_small, args.vae, main), strict=True))
    vae_boxes = {i: largest_box(detect(im)) for i, im in through_vae.items()}
    keyed = [(("input", i), faceres_crop(p.rgb, p.box, size)) for i, p in enumerate(people)]
    keyed += [
        (("reference", i), faceres_crop(people[i].reference_rgb, people[i].reference_box, size))
        for i in with_reference
    ]
    keyed += [
        (("small_reference", i), faceres_crop(small_refs[i], b, size)) for i, b in small_boxes.items() if b
    ]
    keyed += [
        (("through_vae", i), faceres_crop(through_vae[i].astype(np.float32), b, size))
        for i, b in vae_boxes.items()
        if b
    ]
    keyed += [
        (("generated", k), faceres_crop(g.image.astype(np.float32), g.box, size))
        for k, g in enumerate(generated)
        if g.box is not None
    ]
    descriptors = dict(
        zip([key for key, _ in keyed], faceres_embed([crop for _, crop in keyed]), strict=True)
    )

    def face_score(key: tuple[str, int], person: int) -> float:
        """Cosine with the person's input photo; 0 when no face was found (the paper's rule)."""
        return cosine(descriptors[key], descriptors[("input", person)]) if key in descriptors else 0.0

    timings["faceres"] = time.monotonic() - t

    t = time.monotonic()
    inputs = np.stack([descriptors[("input", i)] for i in range(len(people))])
    gen_probs = classifier.predict([g.image for g in generated])
    records = []
    for k, (g, probs) in enumerate(zip(generated, gen_probs, strict=True)):
        face_align = face_score(("generated", k), g.person)
        text_align, text_accuracy = text_scores(probs, g.probe.stated)
        index = {name: i for i, name in enumerate(CELEBA_ATTRIBUTES)}
        checks = {
            name: {
                "relation": relation(value, people[g.person].attributes[name]),
                "correct": bool((probs[index[name]] >= 0.5) == bool(value)),
            }
            for name, value in g.probe.stated.items()
        }
        records.append(
            {
                "bundle": g.bundle,
                "method": g.method,
                "person": g.person,
                "probe": g.probe.name,
                "prompt": g.probe.prompt,
                "seed": g.seed,
                "latent_seed": latent_seed(g.person, g.seed),
                "face_found": g.box is not None,
                "face_align": face_align,
                "rank1": best_match(descriptors, ("generated", k), inputs) == g.person,
                "text_align": text_align,
                "text_accuracy": text_accuracy,
                "overall": face_align + text_align,
                "attribute_checks": checks,
            }
        )
    ceiling = [face_score(("reference", i), i) for i in with_reference]
    as_generated = [face_score(("small_reference", i), i) for i in with_reference]
    vae_scores = [face_score(("through_vae", i), i) for i in through_vae]
    floor = [face_score(("reference", k), i) for i, k in floor_pairs(len(people), with_reference)]
    identified = identification(records)
    ceiling_rank1 = (
        float(np.mean([best_match(descriptors, ("reference", i), inputs) == i for i in with_reference]))
        if with_reference
        else None
    )
    methods = summarize(records, args.seeds)
    floor_mean, ceiling_mean = mean_std(floor)["mean"], mean_std(ceiling)["mean"]
    for key, summary in methods.items():
        summary["identification"] = identified[key]
        found_only = summary["face_align_found_only"]["mean"]
        summary["gap_closed"] = gap_closed(summary["face_align"]["mean"], floor_mean, ceiling_mean)
        summary["gap_closed_found_only"] = gap_closed(found_only, floor_mean, ceiling_mean)
    skin = skin_tone(generated, people, detect)
    timings["metrics"] = time.monotonic() - t

    args.out.mkdir(parents=True, exist_ok=True)
    grids = {}
    if not args.no_sweeps:
        t = time.monotonic()
        grids = sweep_grids(samplers[main.label], people, args.out, size, args.grid_seeds)
        timings["sweeps"] = time.monotonic() - t
    for label, s in samplers.items():
        timings[f"sampling {label}: {s.images} images"] = s.seconds

    report = {
        "bundles": [b.label for b in bundles],
        "bundle_paths": [repo_relative(b.path) for b in bundles],
        "settings": {**settings, "seeds": args.seeds, "people": len(people), "image_size": size},
        "face_metric": {
            "network": "@vladmandic/human 3.3.6 faceres (global_pooling/Mean, 1024-d)",
            "crop": "detector box x1.4, square, capped at image_size px, resized to 224",
        },
        "attribute_classifier": {
            "path": repo_relative(args.attributes_model),
            "mean_balanced_accuracy": classifier.metrics["mean_balanced_accuracy"],
            "held_out": classifier.metrics["held_out"],
        },
        "references": {
            "ceiling": {"pairs": len(ceiling), "cosine": mean_std(ceiling)},
            "ceiling_as_generated": found_reference(as_generated, small_boxes),
            **(
                {
                    "ceiling_through_vae": found_reference(vae_scores, vae_boxes)
                    | {"psnr_db": psnr_db(list(through_vae.values()), [small_refs[i] for i in through_vae])}
                }
                if through_vae
                else {}
            ),
            "floor": {"pairs": len(floor), "cosine": mean_std(floor)},
            "identification_ceiling": {"photos": len(with_reference), "rank1": ceiling_rank1},
            "identification_chance": 1 / len(people),
        },
        "skin_luminance": skin,
        "methods": methods,
        "people": [
            {
                "name": p.name,
                "photo": repo_relative(p.photo),
                "reference": None if p.reference is None else repo_relative(p.reference),
                "attributes": [k for k, v in p.attributes.items() if v],
                "probes": [
                    {
                        "name": pr.name,
                        "prompt": pr.prompt,
                        "stated": {
                            k: {"value": v, "relation": relation(v, p.attributes[k])}
                            for k, v in pr.stated.items()
                        },
                    }
                    for pr in p.probes
                ],
            }
            for p in people
        ],
        "grids": grids,
        "timings_s": timings,
        "records": records,
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    write_markdown(report, args.out / "report.md")
    for b in bundles:
        b.extractor.close()
    return report


def _re_embed(person: Person, extractor: FaceExtractor) -> Person:
    extraction = extractor.extract(person.rgb)
    if extraction is None:
        raise RuntimeError(f"{person.photo}: the compare bundle's detector finds no face")
    return replace(person, embedding=extraction.embedding)


def run(args: argparse.Namespace) -> None:
    start = time.monotonic()
    report = evaluate(args)
    for key, s in report["methods"].items():
        print(
            f"{key}: text {fmt(s['text_align'])} (accuracy {pct(s['text_accuracy'])}, contradicting "
            f"{pct(s['attribute_accuracy_contradict'])})  face {fmt(s['face_align'])} (found only "
            f"{fmt(s['face_align_found_only'])})  overall {fmt(s['overall'])}  face found "
            f"{pct(s['face_found_rate'])}  gap closed {s['gap_closed_found_only']:.2f} (found only)  rank-1 "
            f"{pct(s['identification']['rank1'])}"
        )
    ref = report["references"]
    print(
        f"faceres ceiling {fmt(ref['ceiling']['cosine'])}, floor {fmt(ref['floor']['cosine'])} (all "
        f"{ref['floor']['pairs']} different-person pairs); rank-1 of a real second photo "
        f"{pct(ref['identification_ceiling']['rank1'])}, chance {pct(ref['identification_chance'])}"
    )
    for bundle, v in report["skin_luminance"].items():
        print(f"{bundle}: skin luma generated {v['generated']:.1f} vs input {v['input']:.1f}")
    if "ceiling_through_vae" in ref:
        vae_ref = ref["ceiling_through_vae"]
        print(
            f"through the VAE {fmt(vae_ref['cosine'])} (found only {fmt(vae_ref['cosine_found_only'])}, "
            f"PSNR {vae_ref['psnr_db']:.2f} dB, "
            f"face found {pct(vae_ref['face_found_rate'])})"
        )
    seconds = time.monotonic() - start
    print(f"wrote {args.out}/report.md, report.json and {len(report['grids'])} grids in {seconds:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m face0.evaluate", description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args())
