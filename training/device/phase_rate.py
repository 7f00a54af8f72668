"""Prints "RATE OVERHEAD" for a `train` phase that ran steps FIRST+1..LAST in WALL seconds: its steady
samples/s over the second half of its steps (the first half includes decoding the shards once), and the
seconds it spent beyond its steps at that rate (process start, model load, the first decoding pass).
Usage: python phase_rate.py METRICS_JSONL FIRST LAST WALL BATCH"""

import json
import sys


def phase_rate(rows: list[dict], first: int, last: int, wall: float, batch: int) -> tuple[float, float]:
    by_step = {r["step"]: r for r in rows if first < r["step"] <= last}

    def elapsed(step: int) -> float:  # samples_per_s is cumulative over the phase's own steps
        return (step - first) * batch / by_step[step]["samples_per_s"]

    middle = min(by_step, key=lambda s: abs(s - (first + last) / 2))
    if middle == last:  # one logged step: the phase's own average is all there is
        middle = first
    steady = (last - middle) * batch / (elapsed(last) - (elapsed(middle) if middle > first else 0.0))
    return steady, wall - (last - first) * batch / steady


if __name__ == "__main__":
    path, first, last, wall, batch = sys.argv[1:]
    rows = [json.loads(line) for line in open(path)]
    steady, overhead = phase_rate(rows, int(first), int(last), float(wall), int(batch))
    print(f"{steady:.1f} {overhead:.1f}")
