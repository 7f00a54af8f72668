"""The goldens the app's TypeScript tests compare with (tests/golden/): every face0.goldens_* module builds
its data in Python, independently of the TypeScript, and writes it here with these two functions."""

import argparse
import json
from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "tests" / "golden"


def golden_arguments(description: str | None, name: str) -> argparse.ArgumentParser:
    """A goldens module's command line: --out, by default tests/golden/<name>."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=GOLDEN_DIR / name)
    return parser


def write_golden(path: Path, goldens: dict, **dump_options) -> None:
    """Writes `goldens` as JSON (json.dumps with `dump_options`) and a line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(goldens, **dump_options) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")
