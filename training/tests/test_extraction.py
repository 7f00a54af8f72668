"""face0.extraction on real photos (shared/data/celeba-identities): goldens, image loading, detection
rules, and that embeddings separate people (face0.extraction_report)."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from face0.extraction import FaceExtractor, ImageError, detection_size, load_image
from face0.extraction_report import IDENTITIES_DIR, evaluate, list_photos
from face0.facemodels import DEFAULT_MODEL_DIR
from face0.goldens_extraction import GOLDEN_PATH, build_goldens

PHOTO = IDENTITIES_DIR / "id_00301" / "038652.jpg"
OTHER_PHOTO = IDENTITIES_DIR / "id_01301" / "017554.jpg"


@pytest.fixture(scope="module")
def extractor():
    with FaceExtractor(DEFAULT_MODEL_DIR) as ex:
        yield ex


def _close(actual, expected, atol: float, what: str) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), atol=atol, err_msg=what
    )


def _box(b: dict) -> list[float]:
    return [b["x"], b["y"], b["width"], b["height"]]


def test_pipeline_reproduces_the_committed_goldens():
    """Tolerances: boxes 1e-3 px, scores 1e-4, crop values 1e-3 (0..255 scale), embeddings 1e-4."""
    committed = json.loads(GOLDEN_PATH.read_text())
    fresh = json.loads(json.dumps(build_goldens(DEFAULT_MODEL_DIR, IDENTITIES_DIR)))
    assert {k: v for k, v in fresh.items() if k not in ("photos", "scenes")} == {
        k: v for k, v in committed.items() if k not in ("photos", "scenes")
    }
    assert [p["path"] for p in fresh["photos"]] == [p["path"] for p in committed["photos"]]
    for new, old in zip(fresh["photos"], committed["photos"], strict=True):
        what = new["path"]
        assert (new["width"], new["height"], new["file_mode"], new["chosen"]) == (
            old["width"],
            old["height"],
            old["file_mode"],
            old["chosen"],
        ), what
        assert len(new["detections"]) == len(old["detections"]), what
        for d_new, d_old in zip(new["detections"], old["detections"], strict=True):
            _close(_box(d_new["box"]), _box(d_old["box"]), 1e-3, what)
            _close(d_new["score"], d_old["score"], 1e-4, what)
        _close(_box(new["box"]), _box(old["box"]), 1e-3, what)
        _close(_box(new["crop_box"]), _box(old["crop_box"]), 1e-3, what)
        _close(new["crop_mean"], old["crop_mean"], 1e-3, what)
        _close(new["crop_samples"], old["crop_samples"], 1e-3, what)
        _close(new["embedding"], old["embedding"], 1e-4, what)
    assert [s["scene"] for s in fresh["scenes"]] == [s["scene"] for s in committed["scenes"]]
    for new, old in zip(fresh["scenes"], committed["scenes"], strict=True):
        what = new["scene"]["name"]
        assert [c["rect"] for c in new["calls"]] == [c["rect"] for c in old["calls"]], what
        assert (new["faces"], new.get("chosen")) == (old["faces"], old.get("chosen")), what
        for d_new, d_old in zip(new.get("detections", []), old.get("detections", []), strict=True):
            _close(_box(d_new["box"]), _box(d_old["box"]), 1e-3, what)
            _close(d_new["keypoints"], d_old["keypoints"], 1e-3, what)
            assert d_new["found_by"] == d_old["found_by"], what
        if new["faces"]:
            _close(new["embedding"], old["embedding"], 1e-4, what)


def test_goldens_cover_small_several_and_no_faces():
    scenes = json.loads(GOLDEN_PATH.read_text())["scenes"]
    sizes = [
        d["box"]["width"] / max(s["scene"]["width"], s["scene"]["height"])
        for s in scenes
        for d in s.get("detections", [])
    ]
    assert min(sizes) < 0.06 and max(sizes) > 0.35
    assert {s["faces"] for s in scenes} >= {0, 1, 2, 3}
    assert any(d["found_by"] == "tile" for s in scenes for d in s.get("detections", []))


def test_goldens_cover_grayscale_and_repeated_people():
    photos = json.loads(GOLDEN_PATH.read_text())["photos"]
    assert {p["file_mode"] for p in photos} == {"RGB", "L"}
    people = [p["path"].split("/")[0] for p in photos]
    assert sum(people.count(person) >= 2 for person in set(people)) >= 3


@pytest.mark.parametrize(
    "data",
    [b"", b"this is not an image", PHOTO.read_bytes()[: PHOTO.stat().st_size // 2]],
    ids=["zero-bytes", "not-an-image", "truncated-jpeg"],
)
def test_bad_images_raise_image_error(data):
    with pytest.raises(ImageError):
        load_image(data)


def test_missing_file_is_not_an_image_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.jpg")


def test_load_image_applies_exif_orientation():
    original = Image.open(PHOTO)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    stored = io.BytesIO()
    original.transpose(Image.Transpose.ROTATE_90).save(stored, format="PNG", exif=exif)
    loaded = load_image(stored.getvalue())
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, np.asarray(original, np.float32))


def test_grayscale_becomes_three_equal_channels():
    rgb = load_image(IDENTITIES_DIR / "id_00343" / "007590_gray.jpg")
    assert rgb.shape == (218, 178, 3)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 0] == rgb[..., 2]).all()


def test_no_face_gives_none(extractor):
    shoulders = load_image(PHOTO)[-60:]  # the bottom strip of an aligned CelebA photo: clothes, no face
    assert extractor.extract(shoulders) is None


def test_largest_face_wins_not_the_most_confident(extractor):
    big = load_image(PHOTO)
    small = np.asarray(Image.open(OTHER_PHOTO).resize((89, 109), Image.Resampling.BILINEAR), np.float32)
    canvas = np.zeros((218, 178 + 89, 3), np.float32)
    canvas[:, :178] = big
    canvas[:109, 178:] = small
    extraction = extractor.extract(canvas)
    assert len(extraction.detections) == 2
    largest = max(extraction.detections, key=lambda d: d.box.width * d.box.height)
    assert extraction.box == largest.box
    assert extraction.box.x < 178  # the big face on the left
    assert max(d.score for d in extraction.detections) > extraction.detections[extraction.chosen].score


def test_detection_size():
    assert detection_size(178, 218, 1024) == (178, 218)
    assert detection_size(1024, 1024, 1024) == (1024, 1024)
    assert detection_size(4000, 3000, 1024) == (1024, 768)
    assert detection_size(1068, 1308, 1024) == (836, 1024)


def test_large_images_are_detected_downscaled_but_boxed_at_full_resolution(extractor):
    rgb = load_image(PHOTO)
    big = np.asarray(
        Image.fromarray(rgb.astype(np.uint8)).resize((178 * 6, 218 * 6), Image.Resampling.BICUBIC), np.float32
    )
    small_box = extractor.extract(rgb).box
    big_extraction = extractor.extract(big)
    assert big_extraction.crop.shape == (150, 150, 3)
    # Detection runs at 836x1024 here, so boxes agree to a few percent of the face width, not exactly.
    expected = np.array([small_box.x, small_box.y, small_box.width, small_box.height]) * 6
    b = big_extraction.box
    _close([b.x, b.y, b.width, b.height], expected, 0.05 * expected[2], "upscaled box")


def test_same_person_embeddings_are_closer_than_different_people(extractor):
    subset = [p for p in list_photos(IDENTITIES_DIR) if p.identity in {"id_00209", "id_00301", "id_05263"}]
    report, _ = evaluate(extractor, subset)
    assert report.face_found_rate == 1.0
    assert report.embedding.same_mean_cosine > report.embedding.different_mean_cosine
    assert report.embedding_centred.same_mean_cosine > report.embedding_centred.different_mean_cosine + 0.2
    assert report.descriptor.same_mean_cosine > report.descriptor.different_mean_cosine
    assert report.descriptor_same_mean_distance < report.descriptor_different_mean_distance
