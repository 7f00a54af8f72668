"""Paired differences between two bundles' evaluation records: the same person, probe, prompt and seed.

Two bundles judged on the same people differ far less from each other than the people differ among
themselves, so a difference is read against its standard error over people (each person's mean difference
is one observation), not against the spread of single images. The figures "A minus B: face +0.037 ± 0.013"
in docs/ come from here.

`python -m face0.compare_reports A/report.json B/report.json [--people N]` (from `training/`); a report
written with `--compare-bundle` holds two bundles, so name the one to read with `--bundle-a` / `--bundle-b`.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

Key = tuple[int, str, str, int]  # person, probe, prompt, seed
METRICS = ("face_align", "text_accuracy", "rank1")  # rank1: per image since 2026-12-08, absent before


@dataclass(frozen=True)
class Paired:
    method: str
    metric: str
    pairs: int
    people: int
    mean_a: float
    mean_b: float
    difference: float  # mean over people of each person's mean of A - B
    standard_error: float  # of that mean, over people; nan with one person


def bundle_records(report: dict, bundle: str | None, people: int | None) -> list[dict]:
    """One bundle's records (the report's only bundle when `bundle` is None) of its first `people` people."""
    names = sorted({r["bundle"] for r in report["records"]})
    if bundle is None:
        if len(names) != 1:
            raise ValueError(f"the report holds the bundles {names}: name one")
        bundle = names[0]
    elif bundle not in names:
        raise ValueError(f"the report holds no bundle {bundle!r} (it holds {names})")
    return [
        r for r in report["records"] if r["bundle"] == bundle and (people is None or r["person"] < people)
    ]


def by_key(records: list[dict], method: str) -> dict[Key, dict]:
    return {(r["person"], r["probe"], r["prompt"], r["seed"]): r for r in records if r["method"] == method}


def paired(a: dict[Key, dict], b: dict[Key, dict], method: str, metric: str) -> Paired | None:
    """A minus B over the keys both hold where both values exist; None when there are none."""
    per_person: dict[int, list[float]] = defaultdict(list)
    values_a, values_b = [], []
    for key in sorted(a.keys() & b.keys()):
        x, y = a[key].get(metric), b[key].get(metric)
        if x is None or y is None:
            continue
        per_person[key[0]].append(x - y)
        values_a.append(x)
        values_b.append(y)
    if not per_person:
        return None
    means = [sum(d) / len(d) for d in per_person.values()]
    n = len(means)
    difference = sum(means) / n
    spread = math.sqrt(sum((m - difference) ** 2 for m in means) / (n - 1)) if n > 1 else math.nan
    return Paired(
        method=method,
        metric=metric,
        pairs=len(values_a),
        people=n,
        mean_a=sum(values_a) / len(values_a),
        mean_b=sum(values_b) / len(values_b),
        difference=difference,
        standard_error=spread / math.sqrt(n),
    )


def compare(a_records: list[dict], b_records: list[dict]) -> list[Paired]:
    """Every method (in A's order) and metric that both record sets share."""
    methods = list(dict.fromkeys(r["method"] for r in a_records))
    rows = []
    for method in methods:
        a, b = by_key(a_records, method), by_key(b_records, method)
        for metric in METRICS:
            row = paired(a, b, method, metric)
            if row is not None:
                rows.append(row)
    return rows


def format_row(row: Paired) -> str:
    if row.metric in ("text_accuracy", "rank1"):  # shares: in percent, differences in points
        values = (row.mean_a, row.mean_b, abs(row.difference), row.standard_error)
        a, b, d, se = (f"{100 * v:.1f}" for v in values)
        a, b, unit = f"{a}%", f"{b}%", " points"
    else:
        values = (row.mean_a, row.mean_b, abs(row.difference), row.standard_error)
        a, b, d, se = (f"{v:.3f}" for v in values)
        unit = ""
    sign = "-" if row.difference < 0 else "+"
    return (
        f"{row.method:12s} {row.metric:14s} A {a}  B {b}  A - B {sign}{d} ± {se}{unit} "
        f"({row.pairs} pairs, SE over {row.people} people)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m face0.compare_reports", description=__doc__.splitlines()[0]
    )
    parser.add_argument("a", type=Path, help="report.json of bundle A")
    parser.add_argument("b", type=Path, help="report.json of bundle B")
    parser.add_argument("--bundle-a", help="bundle name in A (needed when A holds two)")
    parser.add_argument("--bundle-b", help="bundle name in B (needed when B holds two)")
    parser.add_argument("--people", type=int, help="first N people only")
    args = parser.parse_args(argv)
    reports = [json.loads(path.read_text()) for path in (args.a, args.b)]
    try:
        a = bundle_records(reports[0], args.bundle_a, args.people)
        b = bundle_records(reports[1], args.bundle_b, args.people)
    except ValueError as error:
        parser.error(str(error))
    rows = compare(a, b)
    if not rows:
        parser.error("the reports share no image (same person, probe, prompt and seed)")
    for row in rows:
        print(format_row(row))


if __name__ == "__main__":
    main()
