"""Progress lines with rate and ETA for long stages (augment, train, bench)."""

import sys
import time
from typing import TextIO


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Counts work toward `total`; prints `label done/total rate ETA` at most every `every_s` seconds."""

    def __init__(
        self, total: int, label: str, unit: str = "it", every_s: float = 10.0, stream: TextIO | None = None
    ):
        self.total = total
        self.label = label
        self.unit = unit
        self.every_s = every_s
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.monotonic()
        self._last_print = self.start

    def rate(self) -> float:
        elapsed = time.monotonic() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def line(self, extra: str = "") -> str:
        rate = self.rate()
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta_text = format_duration(eta) if eta == eta else "?"
        text = f"{self.label} {self.done}/{self.total} {self.unit} {rate:.2f} {self.unit}/s ETA {eta_text}"
        return f"{text} {extra}".rstrip()

    def update(self, n: int = 1, extra: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last_print >= self.every_s or self.done >= self.total:
            self._last_print = now
            print(self.line(extra), file=self.stream, flush=True)
