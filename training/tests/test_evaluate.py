"""The evaluation command (face0.evaluate) end to end, and the pieces its numbers rest on."""

import argparse
import json
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from face0.attributes import AttributeClassifier, attribute_metrics, held_out, load_celeba
from face0.captions import CELEBA_ATTRIBUTES
from face0.configs import DATA_DIR
from face0.eval_faceres import FACERES_SIZE, cosine, faceres_crop, faceres_embed, scale_box
from face0.eval_prompts import probe_prompts, relation
from face0.evaluate import add_arguments, evaluate, framing_box, psnr_db, text_scores, write_markdown
from face0.extraction import FaceExtractor, load_image
from face0.face_crop import Box

REPO = Path(__file__).resolve().parents[2]
BUNDLE = REPO / "models" / "default"
ATTRIBUTES_MODEL = REPO / "models" / "eval"
IDENTITIES = DATA_DIR / "celeba-identities"
CELEBA128 = DATA_DIR / "celeba128"
needs_identities = pytest.mark.skipif(not IDENTITIES.is_dir(), reason="celeba-identities data not present")
FACERES_MODEL = REPO / "node_modules/@vladmandic/human/models/faceres.json"
needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not FACERES_MODEL.is_file(),
    reason="node or @vladmandic/human not installed",
)


def test_probe_prompts_follow_the_caption_grammar_and_state_attributes():
    young_man = dict.fromkeys(CELEBA_ATTRIBUTES, False) | {"Male": True, "Young": True}
    probes = {p.name: p for p in probe_prompts(young_man)}
    assert probes["smiling"].prompt == "a photo of a smiling young man"
    assert probes["beard"].prompt == "a photo of a young man with a goatee and a mustache"
    assert probes["age"].prompt == "a photo of an older man with gray hair"
    assert probes["age"].stated == {"Male": 1, "Young": 0, "Gray_Hair": 1}
    assert probes["gender"].stated == {"Male": 0, "Young": 1}
    older_woman = dict.fromkeys(CELEBA_ATTRIBUTES, False)
    names = [p.name for p in probe_prompts(older_woman)]
    assert "beard" not in names  # facial hair is only captioned for men
    assert {p.name: p.prompt for p in probe_prompts(older_woman)}["age"] == "a photo of a young woman"
    assert relation(1, True) == "agree" and relation(0, True) == "contradict"


def test_text_scores_use_the_probability_of_each_stated_value():
    probs = np.zeros(len(CELEBA_ATTRIBUTES), np.float32)
    probs[CELEBA_ATTRIBUTES.index("Male")] = 0.9
    probs[CELEBA_ATTRIBUTES.index("Smiling")] = 0.2
    align, accuracy = text_scores(probs, {"Male": 1, "Smiling": 1, "Eyeglasses": 0})
    assert align == pytest.approx((0.9 + 0.2 + 1.0) / 3, abs=1e-6)
    assert accuracy == pytest.approx(2 / 3)


def test_attribute_metrics_balanced_accuracy():
    labels = np.zeros((4, len(CELEBA_ATTRIBUTES)), np.uint8)
    labels[0, 0] = 1  # one positive of four
    probs = np.zeros(labels.shape, np.float32)  # always "no"
    m = attribute_metrics(probs, labels)[CELEBA_ATTRIBUTES[0]]
    assert m == {"accuracy": 0.75, "balanced_accuracy": 0.5, "positive_rate": 0.25}


def test_held_out_split_is_by_identity_and_subset_stable():
    ids = np.repeat(np.arange(400), 3)
    mask = held_out(ids)
    assert 0.08 < mask.mean() < 0.22  # about 15% of the people
    for person in range(400):
        assert len(set(mask[ids == person])) == 1  # never split a person
    np.testing.assert_array_equal(held_out(ids[::7]), mask[::7])


def test_boxes_scale_and_frame_about_the_face_centre():
    box = Box(10, 20, 40, 60)
    s = scale_box(box, 1.5)
    assert (s.x + s.width / 2, s.y + s.height / 2, s.width, s.height) == (30, 50, 60, 90)
    f = framing_box(Box(0, 0, 55, 55))
    assert f.width == pytest.approx(100) and f.x == pytest.approx(27.5 - 51)


@pytest.mark.skipif(not CELEBA128.is_dir(), reason="celeba128 data not present")
def test_attribute_classifier_reads_held_out_people():
    """The committed classifier on held-out celeba128 people; thresholds well below its card's numbers."""
    classifier = AttributeClassifier(ATTRIBUTES_MODEL)
    images, labels, ids = load_celeba(CELEBA128, limit=1500)
    mask = held_out(ids)
    assert mask.sum() >= 100
    probs = classifier.predict(images[mask])
    m = attribute_metrics(probs, labels[mask])
    assert m["Male"]["balanced_accuracy"] > 0.8
    assert m["Smiling"]["balanced_accuracy"] > 0.7
    assert m["Eyeglasses"]["balanced_accuracy"] > 0.6


@needs_identities
@needs_node
def test_faceres_same_person_ceiling_above_different_person_floor():
    """On real photos the face metric must rank another photo of the same person above a stranger."""
    people = sorted(p for p in IDENTITIES.iterdir() if p.is_dir())[:4]
    crops = []
    with FaceExtractor(BUNDLE) as extractor:
        for folder in people:
            colour = [p for p in sorted(folder.glob("*.jpg")) if "_gray" not in p.name][:2]
            for path in colour:
                rgb = load_image(path)
                crops.append(faceres_crop(rgb, extractor.extract(rgb).box, 64))
    assert np.asarray(crops).shape == (8, FACERES_SIZE, FACERES_SIZE, 3)
    d = faceres_embed(crops)
    same = [cosine(d[2 * i], d[2 * i + 1]) for i in range(4)]
    other = [cosine(d[2 * i], d[2 * j + 1]) for i in range(4) for j in range(4) if i != j]
    assert np.mean(same) > np.mean(other) + 0.1, (same, other)
    assert cosine(d[0], d[0]) == pytest.approx(1.0, abs=1e-6)


@needs_identities
@needs_node
def test_evaluate_command_end_to_end(tmp_path):
    """2 people x 1 seed x 1 DDIM step with the committed bundle: every report field, numbers in range."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "eval"
    args = parser.parse_args(
        ["--bundle", str(BUNDLE), "--identities", str(IDENTITIES), "--out", str(out)]
        + ["--people", "2", "--seeds", "1", "--steps", "1", "--grid-seeds", "1"]
    )
    report = evaluate(args)
    assert json.loads((out / "report.json").read_text())["settings"] == report["settings"]
    md = (out / "report.md").read_text()
    assert "## Alignment (paper Table 1)" in md and "ceiling" in md

    assert report["settings"]["people"] == 2 and report["settings"]["steps"] == 1
    methods = report["methods"]
    name = report["bundles"][0]
    assert set(methods) == {f"{name}/face", f"{name}/random_face", f"{name}/no_face"}
    n_probes = sum(len(p["probes"]) for p in report["people"])
    for s in methods.values():
        assert s["images"] == n_probes
        assert 0 <= s["text_align"]["mean"] <= 1 and 0 <= s["text_accuracy"] <= 1
        assert 0 <= s["face_align"]["mean"] <= 1  # faceres descriptors are non-negative (ReLU, then mean)
        assert 0 <= s["face_found_rate"] <= 1
        total = s["text_align"]["mean"] + s["face_align"]["mean"]
        assert s["overall"]["mean"] == pytest.approx(total, abs=1e-9)
        assert s["overall_best_of_seeds"] is None  # one seed
        assert 0 <= s["identification"]["rank1"] <= 1 and s["identification"]["images"] == s["images"]
    for key, s in methods.items():
        found = [
            r["face_align"]
            for r in report["records"]
            if f"{r['bundle']}/{r['method']}" == key and r["face_found"]
        ]
        if found:
            assert s["face_align_found_only"]["mean"] == pytest.approx(np.mean(found))
    for r in report["records"]:
        assert (r["face_align"] == 0.0) or r["face_found"]
        assert r["face_found"] or not r["rank1"]
    # Initial latents are drawn per person and seed (a seed shared by everyone moved all its images together),
    # and shared by the three face sources, so that they compare on the same draw.
    seeds = defaultdict(set)
    for r in report["records"]:
        seeds[r["person"], r["seed"]].add(r["latent_seed"])
    assert len(seeds) == 2 and all(len(s) == 1 for s in seeds.values())
    assert len(set.union(*seeds.values())) == 2
    assert report["bundle_paths"] == ["models/default"]  # as the repository names it
    assert report["people"][0]["photo"].startswith("../shared/data/celeba-identities/")
    ref = report["references"]
    assert ref["identification_chance"] == 0.5 and ref["identification_ceiling"]["rank1"] is not None
    assert ref["ceiling"]["pairs"] == ref["ceiling_as_generated"]["pairs"] == ref["floor"]["pairs"] == 2
    for name in ("ceiling", "ceiling_as_generated", "floor"):
        assert 0 <= ref[name]["cosine"]["mean"] <= 1
    assert ref["ceiling"]["cosine"]["mean"] > ref["floor"]["cosine"]["mean"]
    # Real photos at 64 px keep their faces for the detector (the generated images' path works on faces).
    assert ref["ceiling_as_generated"]["face_found_rate"] == 1.0
    assert ref["ceiling_as_generated"]["cosine"]["mean"] > ref["floor"]["cosine"]["mean"]
    found_only = ref["ceiling_as_generated"]["cosine_found_only"]["mean"]
    assert found_only == pytest.approx(ref["ceiling_as_generated"]["cosine"]["mean"])  # every face found
    assert "ceiling_through_vae" not in ref  # no --vae given
    # With --vae its row joins the references table (vae_round_trip has its own test below).
    ref["ceiling_through_vae"] = ref["ceiling_as_generated"] | {"psnr_db": 24.0}
    write_markdown(report, tmp_path / "with-vae.md")
    assert "| ceiling through the VAE: that 64 px photo" in (tmp_path / "with-vae.md").read_text()
    assert "(PSNR 24.00 dB;" in (tmp_path / "with-vae.md").read_text()

    size = report["settings"]["image_size"]
    expected = {
        "sweep_c_a": (5, 3),
        "sweep_interpolation": (1, 8),
        "sweep_seeds": (4, 2),
        "sweep_text_override": (2, 10),
        "sweep_face_swap": (3, 2),
    }
    for grid, (rows, cols) in expected.items():
        with Image.open(out / report["grids"][grid]["file"]) as im:
            assert im.size == (cols * size, rows * size), grid
        assert len(report["grids"][grid]["rows"]) == rows and len(report["grids"][grid]["columns"]) == cols
    with Image.open(out / "sweep_random_face.png") as im:
        assert im.size == (len(report["people"][0]["probes"]) * size, size)


def test_vae_round_trip_uses_the_files_encoder_and_the_bundles_decoder(augmented_shards, tmp_path):
    """The 'through the VAE' reference: encoder (posterior mean) from the train-vae file, decoder from the
    bundle's ONNX graph; a VAE file the U-Net was not trained on is refused."""
    import torch
    from conftest import MICRO, export_checkpoint

    from face0.checkpoints import latest_checkpoint
    from face0.evaluate import open_bundle, vae_round_trip
    from face0.models import build_vae
    from face0.sample import to_uint8
    from face0.train import TrainOptions, train
    from face0.train_vae import train_vae

    vae_file = tmp_path / "vae.pt"
    state = train_vae(augmented_shards, MICRO, vae_file, steps=2, batch=4)
    options = TrainOptions(
        shards=augmented_shards, out=tmp_path / "run", model=MICRO, max_steps=1, global_batch=4, lr=1e-3,
        checkpoint_every=1, shuffle_buffer=8, threads=1, device="cpu", vae=vae_file,
    )  # fmt: skip
    train(options)
    export_checkpoint(latest_checkpoint(tmp_path / "run"), tmp_path / "bundle", "round-trip")
    bundle = open_bundle(tmp_path / "bundle", threads=1)
    size = MICRO.image_size
    images = [np.random.default_rng(k).integers(0, 256, (size, size, 3)).astype(np.uint8) for k in range(2)]
    decoded = vae_round_trip(images, vae_file, bundle)

    vae = build_vae(MICRO)
    vae.load_state_dict(state["vae"])
    x = torch.from_numpy(np.stack(images).astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1.0
    with torch.no_grad():
        want = vae.eval().decode(vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)
    want = [to_uint8(im) for im in want.permute(0, 2, 3, 1).numpy()]
    for got, expected in zip(decoded, want, strict=True):
        assert got.shape == (size, size, 3) and got.dtype == np.uint8
        # float32 graph vs PyTorch: at most one 8-bit step where the two round differently.
        assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1

    other = tmp_path / "other.pt"
    train_vae(augmented_shards, MICRO, other, steps=2, batch=4, seed=1)
    with pytest.raises(SystemExit, match="not the VAE the bundle's U-Net was trained on"):
        vae_round_trip(images, other, bundle)
    bundle.extractor.close()


def test_floor_pairs_are_all_different_person_pairs():
    from face0.evaluate import floor_pairs

    assert floor_pairs(3, [0, 2]) == [(0, 2), (1, 0), (1, 2), (2, 0)]


def test_best_match_is_the_closest_input_photo_and_none_without_a_face():
    from face0.evaluate import best_match

    inputs = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 2.0, 0.0]])
    descriptors = {("generated", 0): np.array([0.1, 2.0, 0.1]), ("generated", 1): np.array([1.0, 0.1, 0.0])}
    assert best_match(descriptors, ("generated", 0), inputs) == 1
    assert best_match(descriptors, ("generated", 1), inputs) == 0  # cosine; the largest dot product is row 2
    assert best_match(descriptors, ("generated", 2), inputs) is None


def test_gap_closed():
    from face0.evaluate import gap_closed

    assert gap_closed(0.55, floor=0.40, ceiling=0.65) == pytest.approx(0.6)


def test_skin_luminance_reads_the_middle_of_the_face_box():
    from face0.evaluate import skin_luminance
    from face0.face_crop import Box

    image = np.zeros((40, 40, 3), np.uint8)
    image[15:25, 15:25] = (200, 100, 50)  # the middle half of a 20 px box at (10, 10)
    assert skin_luminance(image, Box(10, 10, 20, 20)) == pytest.approx(0.299 * 200 + 0.587 * 100 + 0.114 * 50)


def test_psnr_db():
    image = np.full((4, 4, 3), 100, np.uint8)
    assert psnr_db([image], [image]) == float("inf")
    # One 8-bit level everywhere: 20 log10(255) dB.
    assert psnr_db([image, image], [image + 1, image - 1]) == pytest.approx(20 * np.log10(255), abs=1e-9)
    assert psnr_db([image], [image + 10]) == pytest.approx(20 * np.log10(25.5), abs=1e-9)


@needs_identities
@needs_node
def test_evaluate_vae_scores_each_file_at_its_own_image_size(augmented_shards, tmp_path):
    """Two VAE files of different image sizes on one protocol: the file's own decoder (PyTorch) does the
    round trip, people are framed at each file's size, and a 2-step VAE scores below the photo it blurs."""
    import dataclasses

    import torch
    from conftest import MICRO

    from face0.evaluate import vae_round_trip
    from face0.evaluate_vae import add_arguments as vae_arguments
    from face0.evaluate_vae import run as run_evaluate_vae
    from face0.models import build_vae
    from face0.sample import to_uint8
    from face0.train_vae import train_vae

    small, large = tmp_path / "micro32.pt", tmp_path / "micro64.pt"
    state = train_vae(augmented_shards, MICRO, small, steps=2, batch=4)
    train_vae(
        augmented_shards, dataclasses.replace(MICRO, name="micro64", image_size=64), large, steps=2, batch=4
    )

    images = [np.random.default_rng(k).integers(0, 256, (32, 32, 3)).astype(np.uint8) for k in range(2)]
    vae = build_vae(MICRO)
    vae.load_state_dict(state["vae"])
    x = torch.from_numpy(np.stack(images).astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1.0
    with torch.no_grad():
        want = vae.eval().decode(vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)
    for got, expected in zip(vae_round_trip(images, small), want.permute(0, 2, 3, 1).numpy(), strict=True):
        np.testing.assert_array_equal(got, to_uint8(expected))  # the same PyTorch ops: exact

    parser = argparse.ArgumentParser()
    vae_arguments(parser)
    out = tmp_path / "vae-report.json"
    args = parser.parse_args(
        ["--vae", str(small), str(large), "--identities", str(IDENTITIES), "--out", str(out), "--people", "3"]
        + ["--face-models", str(BUNDLE)]
    )
    rows = run_evaluate_vae(args)
    assert json.loads(out.read_text()) == rows
    assert out.with_suffix(".md").read_text().count("| micro") == 2
    with Image.open(out.with_suffix(".png")) as grid:  # framed and round trip per file, 3 people, at 64 px
        assert grid.size == (3 * 64, 4 * 64)
    assert [(r["config"], r["image_size"], r["latent_shape"]) for r in rows] == [
        ("micro", 32, [4, 8, 8]),
        ("micro64", 64, [4, 16, 16]),
    ]
    for r in rows:
        assert r["steps"] == 2 and not r["decoder_only"]
        assert r["parameters"]["encoder"] > 0 and r["parameters"]["decoder"] > 0
        assert r["ceiling"]["pairs"] == r["framed"]["pairs"] == 3
        assert r["floor"]["pairs"] == 3 * 2  # every input against every other person's reference
        assert r["ceiling"]["cosine"]["mean"] > r["floor"]["cosine"]["mean"]
        # An untrained VAE blurs the photo: less likeness and a low PSNR.
        assert r["through_vae"]["cosine"]["mean"] < r["framed"]["cosine"]["mean"]
        assert r["psnr_db"] < 20
    # At 64 px every framed real photo keeps a detectable face (as in the evaluation's own reference).
    assert rows[1]["framed"]["face_found_rate"] == 1.0
