"""The device script's helpers (training/device/), which run only where a GPU is lent."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

DEVICE = Path(__file__).resolve().parents[1] / "device"
sys.path.insert(0, str(DEVICE))

from phase_rate import phase_rate  # noqa: E402
from slim_diffusers_wheel import main as slim_wheel  # noqa: E402


def test_phase_rate_separates_the_steady_rate_from_start_up():
    """A phase of steps 31..60 (batch 100): 10 s of start-up outside the loop, the first 10 steps at 50
    samples/s (decoding), the rest at 200 samples/s. Logged every 10 steps with the cumulative rate, as train
    logs it."""
    times, t = {}, 0.0
    for step in range(31, 61):
        t += 100 / (50 if step <= 40 else 200)
        times[step] = t
    rows = [{"step": s, "samples_per_s": (s - 30) * 100 / times[s]} for s in (40, 50, 60)]
    steady, overhead = phase_rate(rows, 30, 60, 10 + times[60], 100)
    assert steady == pytest.approx(200)
    assert overhead == pytest.approx(10 + 10 * (2 - 0.5))  # start-up + the decoding steps' extra time
    # One logged step: the phase's average
    one = phase_rate([rows[-1]], 30, 60, 10 + times[60], 100)
    assert one[0] == pytest.approx(3000 / times[60]) and one[1] == pytest.approx(10)


def test_the_slimmed_diffusers_wheel_still_gives_face0_its_models(tmp_path):
    import diffusers

    source = tmp_path / "diffusers-src.whl"
    # A wheel built from the installed package: its files, with pipelines, as a RECORD'ed zip.
    package = Path(diffusers.__file__).parent
    with zipfile.ZipFile(source, "w") as wheel:
        for file in package.rglob("*.py"):
            wheel.write(file, f"diffusers/{file.relative_to(package)}")
        records = "".join(f"diffusers/{f.relative_to(package)},,\n" for f in package.rglob("*.py"))
        wheel.writestr("diffusers-0.0.dist-info/RECORD", records)
    slim_wheel(str(source), str(tmp_path / "slim.whl"))
    with zipfile.ZipFile(tmp_path / "slim.whl") as wheel:
        names = wheel.namelist()
        record = wheel.read("diffusers-0.0.dist-info/RECORD").decode()
    assert "diffusers/pipelines/__init__.py" in names
    assert not [n for n in names if n.startswith("diffusers/pipelines/") and n.count("/") > 2]
    assert "diffusers/pipelines/stable_diffusion/" not in record
    site = tmp_path / "site"
    with zipfile.ZipFile(tmp_path / "slim.whl") as wheel:
        wheel.extractall(site)
    code = (
        f"import diffusers; assert diffusers.__file__.startswith({str(site)!r}); "
        "from diffusers import UNet2DConditionModel, AutoencoderKL, DDPMScheduler, DDIMScheduler; "
        "import face0.train, face0.train_vae, face0.bench, face0.slim, face0.export, face0.sample"
    )
    env_path = f"{site}:{Path(__file__).resolve().parents[1]}"
    result = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
