"""A tuning set of training people in the layout of ../shared/data/celeba-identities (one folder of photos
per person), for choosing sampler settings with `face0.evaluate` without looking at the held-out people.

`python -m face0.tuning_identities SHARD... --out DIR` (from training/): `people` identities with at least
3 photos in the given celeba128 shards, drawn with `seed`, up to 4 photos each. docs/training.md, section 10
used shards 12, 13 and 11 (in that order), 30 people, seed 7.
"""

import argparse
import collections
import json
import random
import tarfile
from pathlib import Path


def write_tuning_identities(shards: list[Path], out: Path, people: int = 30, seed: int = 7) -> int:
    """Writes the folders; returns how many identities qualified."""
    photos: dict[int, list[tuple[Path, str]]] = collections.defaultdict(list)
    for shard in shards:
        with tarfile.open(shard) as tar:
            for member in tar.getmembers():
                if member.name.endswith(".json"):
                    meta = json.load(tar.extractfile(member))
                    if "celeba_identity" in meta:
                        photos[meta["celeba_identity"]].append((shard, member.name[: -len(".json")]))
    candidates = sorted(i for i, found in photos.items() if len(found) >= 3)
    random.Random(seed).shuffle(candidates)
    for identity in candidates[:people]:
        folder = out / f"id_{identity:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        for shard, key in sorted(photos[identity])[:4]:
            with tarfile.open(shard) as tar:
                (folder / f"{key}.jpg").write_bytes(tar.extractfile(f"{key}.jpg").read())
    return len(candidates)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m face0.tuning_identities", description=__doc__.splitlines()[0]
    )
    parser.add_argument("shards", type=Path, nargs="+", help="celeba128 .tar shards")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--people", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    found = write_tuning_identities(args.shards, args.out, args.people, args.seed)
    print(f"{args.out}: {min(found, args.people)} of {found} people with 3 or more photos")


if __name__ == "__main__":
    main()
