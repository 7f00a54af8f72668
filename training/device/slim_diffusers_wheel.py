"""Rewrites a diffusers wheel without its pipelines (about 4 MB of a 6.4 MB wheel), so that a device call's
working tree (64 MiB) has room for a starting checkpoint. face0 imports diffusers' models and schedulers
only, and diffusers imports its pipelines lazily. Usage: python slim_diffusers_wheel.py WHEEL OUT_WHEEL"""

import sys
import zipfile

DROPPED = ("diffusers/pipelines/", "diffusers/modular_pipelines/")


def kept(name: str) -> bool:
    # The packages' __init__.py stay: diffusers' lazy import tables name them.
    return not name.startswith(DROPPED) or name.endswith("/__init__.py") and name.count("/") == 2


def main(source: str, target: str) -> None:
    with zipfile.ZipFile(source) as wheel, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in wheel.infolist():
            if not kept(info.filename):
                continue
            data = wheel.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines(keepends=True)
                data = "".join(line for line in lines if kept(line.split(",", 1)[0])).encode()
            out.writestr(info, data)


if __name__ == "__main__":
    main(*sys.argv[1:])
