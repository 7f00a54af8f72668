"""Paired differences between evaluation reports (face0.compare_reports), against sums worked by hand."""

import json
import math

import pytest

from face0.compare_reports import bundle_records, compare, main


def record(bundle, person, seed, face, text, method="face", probe="plain"):
    return {
        "bundle": bundle,
        "method": method,
        "person": person,
        "probe": probe,
        "prompt": f"a photo of person {person}",
        "seed": seed,
        "face_align": face,
        "text_accuracy": text,
    }


def test_the_difference_is_a_mean_over_people_and_its_error_is_over_people():
    # Person 0: differences 0.1 and 0.3 (mean 0.2); person 1: 0.0 (its second image has no face score in B);
    # person 2: -0.1. The difference is the mean of 0.2, 0.0 and -0.1; its error their sd over sqrt(3).
    a = [
        record("A", 0, 0, 0.5, 1.0),
        record("A", 0, 1, 0.6, 1.0),
        record("A", 1, 0, 0.4, 0.5),
        record("A", 1, 1, 0.4, 0.5),
        record("A", 2, 0, 0.3, 0.0),
        record("A", 3, 0, 0.9, 1.0),  # B has no such image: not paired
    ]
    b = [
        record("B", 0, 0, 0.4, 1.0),
        record("B", 0, 1, 0.3, 0.0),
        record("B", 1, 0, 0.4, 0.5),
        record("B", 1, 1, None, 0.5),
        record("B", 2, 0, 0.4, 1.0),
    ]
    face, text = compare(a, b)
    means = [0.2, 0.0, -0.1]
    mean = sum(means) / 3
    sd = math.sqrt(sum((m - mean) ** 2 for m in means) / 2)
    assert (face.method, face.metric, face.pairs, face.people) == ("face", "face_align", 4, 3)
    assert face.difference == pytest.approx(mean)
    assert face.standard_error == pytest.approx(sd / math.sqrt(3))
    assert face.mean_a == pytest.approx((0.5 + 0.6 + 0.4 + 0.3) / 4)
    assert face.mean_b == pytest.approx((0.4 + 0.3 + 0.4 + 0.4) / 4)
    # Text: person 0 +0.5, person 1 0, person 2 -1.
    assert (text.pairs, text.people) == (5, 3)
    assert text.difference == pytest.approx(-0.5 / 3)


def test_methods_are_compared_apart():
    methods = ("face", "no_face")
    a = [record("A", p, 0, 0.5, 1.0, method=m) for p in range(2) for m in methods]
    b = [record("B", p, 0, 0.5 if m == "face" else 0.2, 1.0, method=m) for p in range(2) for m in methods]
    rows = {(r.method, r.metric): r for r in compare(a, b)}
    assert rows["face", "face_align"].difference == pytest.approx(0.0)
    assert rows["no_face", "face_align"].difference == pytest.approx(0.3)
    assert rows["no_face", "face_align"].standard_error == pytest.approx(0.0)


def test_a_report_of_two_bundles_needs_a_name_and_people_limit_the_records():
    records = [record("A", 0, 0, 0.1, 1.0), record("B", 0, 0, 0.2, 1.0), record("B", 5, 0, 0.2, 1.0)]
    report = {"records": records}
    with pytest.raises(ValueError, match=r"holds the bundles \['A', 'B'\]: name one"):
        bundle_records(report, None, None)
    with pytest.raises(ValueError, match="holds no bundle 'C'"):
        bundle_records(report, "C", None)
    assert [r["person"] for r in bundle_records(report, "B", 5)] == [0]


def test_rank1_is_paired_where_both_reports_record_it():
    # Reports before 2026-12-08 have no per-image rank1: the metric is left out, the others stay.
    a = [record("A", p, 0, 0.5, 1.0) | {"rank1": hit} for p, hit in enumerate((True, True, False))]
    b = [record("B", p, 0, 0.5, 1.0) | {"rank1": hit} for p, hit in enumerate((False, True, False))]
    rank1 = {r.metric: r for r in compare(a, b)}["rank1"]
    assert (rank1.mean_a, rank1.mean_b, rank1.people) == (pytest.approx(2 / 3), pytest.approx(1 / 3), 3)
    assert rank1.difference == pytest.approx(1 / 3)
    older = [record("B", p, 0, 0.5, 1.0) for p in range(3)]
    assert [r.metric for r in compare(a, older)] == ["face_align", "text_accuracy"]


def test_the_command_prints_one_line_per_method_and_metric(tmp_path, capsys):
    a = {"records": [record("A", p, 0, 0.5, 1.0) for p in range(3)]}
    b = {"records": [record("B", p, 0, 0.4, 0.5) for p in range(3)]}
    (tmp_path / "a.json").write_text(json.dumps(a))
    (tmp_path / "b.json").write_text(json.dumps(b))
    main([str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("face         face_align     A 0.500  B 0.400  A - B +0.100 ± 0.000")
    assert "A 100.0%  B 50.0%  A - B +50.0 ± 0.0 points (3 pairs, SE over 3 people)" in lines[1]
    with pytest.raises(SystemExit):
        main([str(tmp_path / "a.json"), str(tmp_path / "a.json"), "--people", "0"])
