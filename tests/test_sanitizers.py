"""The kernel, op and model tests, run again on a build with AddressSanitizer and UndefinedBehaviorSanitizer
(``-DBERTCORE_SANITIZE=ON``: any report stops the process), under every kernel family the CPU supports (the
suites parametrize over them). Reference packages are left out of that run (``BERTCORE_SKIP_REFERENCES``):
their native code is not instrumented, and the committed fixtures hold transformers' outputs."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REQUIRE_ENV, SKIP_ENV
from native_build import ROOT, build_module, configure, package_with

SUITES = [
    "test_kernels.py",
    "test_cpu.py",
    "test_bert_fixtures.py",
    "test_families.py",
    "test_relative.py",
    "test_lowp.py",
    "test_model_api.py",
    "test_fork.py",
]


def preloads(build: Path) -> str:
    """LD_PRELOAD for the sanitized module: the AddressSanitizer runtime of the compiler the build used (it must
    come before every other library, and the interpreter is not instrumented), then libstdc++ (loaded only
    with the module, too late for ASan to find the ``__cxa_throw`` it intercepts)."""
    cache = (build / "CMakeCache.txt").read_text()
    compiler = re.search(r"^CMAKE_CXX_COMPILER:\w+=(.+)$", cache, flags=re.M)
    assert compiler, "CMakeCache.txt names no C++ compiler"
    paths = []
    for library in ("libasan.so", "libstdc++.so"):
        out = subprocess.run(
            [compiler.group(1), f"-print-file-name={library}"], check=True, capture_output=True, text=True
        )
        if not os.path.isabs(out.stdout.strip()):
            pytest.skip(f"{compiler.group(1)} has no shared {library}")
        paths.append(out.stdout.strip())
    return ":".join(paths)


@pytest.mark.slow
def test_suites_clean_under_sanitizers(tmp_path: Path) -> None:
    if platform.system() != "Linux":
        pytest.skip("the sanitizer run uses LD_PRELOAD (Linux)")
    build = tmp_path / "build"
    configure(build, "-DBERTCORE_SANITIZE=ON")
    module = build_module(build)
    assert b"__asan_init" in module.read_bytes() and b"__ubsan_handle" in module.read_bytes()
    env = {k: v for k, v in os.environ.items() if k not in (REQUIRE_ENV, "BERTCORE_ISA")}
    env.update(
        PYTHONPATH=str(package_with(module, tmp_path / "pkg")),
        LD_PRELOAD=preloads(build),
        # CPython frees little at exit by design: leaks are not what this run looks for. Reports go to files,
        # since pytest captures the stderr of a test that dies.
        ASAN_OPTIONS=f"detect_leaks=0:log_path={tmp_path / 'asan'}",
        UBSAN_OPTIONS=f"print_stacktrace=1:log_path={tmp_path / 'ubsan'}",
        **{SKIP_ENV: "1"},
    )
    which = subprocess.run(
        [sys.executable, "-c", "import bertcore._core as c; print(c.__file__)"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert which.returncode == 0, which.stderr
    assert which.stdout.strip().startswith(env["PYTHONPATH"]), which.stdout
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(str(ROOT / "tests" / s) for s in SUITES)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=2400,
    )  # fmt: skip
    reports = "".join(p.read_text(errors="replace")[:6000] for p in sorted(tmp_path.glob("[au]*san.*")))
    summary = run.stdout[-6000:] + run.stderr[-6000:]
    assert not reports, f"sanitizer reports:\n{reports}\n{summary}"
    assert run.returncode == 0, summary
    assert re.search(r"\d+ passed", run.stdout), summary
