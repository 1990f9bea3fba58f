"""Builds the native module from this source tree with extra CMake options, into a copy of the package, for
the tests that check a special build (scalar-only, sanitizers)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import bertcore
from conftest import find_executable, missing, require, require_executable

ROOT = Path(__file__).resolve().parents[1]


def configure(build: Path, *options: str) -> str:
    """Configures a build of ``_core`` in ``build`` with the CMake ``options`` (Release unless they say
    otherwise); returns the build rules' text (the generated ninja/make files), for flag checks. Skips (fails
    under BERTCORE_REQUIRE_REFERENCES=1) without the source tree, cmake or pybind11."""
    if not (ROOT / "CMakeLists.txt").exists():
        missing(f"the source tree ({ROOT / 'CMakeLists.txt'})", "run the tests from a repository checkout")
    cmake = require_executable("cmake")
    pybind11 = require("pybind11")
    configure = [
        cmake,
        "-S",
        str(ROOT),
        "-B",
        str(build),
        "-DCMAKE_BUILD_TYPE=Release",
        *options,
        f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
        f"-DPython_EXECUTABLE={sys.executable}",
    ]
    ninja = find_executable("ninja")
    if ninja:
        configure += ["-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"]
    subprocess.run(configure, check=True, capture_output=True, text=True, timeout=600)
    return "".join(p.read_text() for p in build.rglob("*.ninja")) + "".join(
        p.read_text() for p in build.rglob("flags.make")
    )


def build_module(build: Path) -> Path:
    """Builds the configured ``build``; returns the module."""
    cmake = require_executable("cmake")
    subprocess.run(
        [cmake, "--build", str(build), "-j", "2"], check=True, capture_output=True, text=True, timeout=1800
    )
    (module,) = build.glob("_core*.so")
    return module


def package_with(module: Path, root: Path) -> Path:
    """A copy of the installed bertcore package under ``root`` with ``module`` as its core; returns the folder
    to put on PYTHONPATH."""
    package = root / "bertcore"
    shutil.copytree(
        Path(bertcore.__file__).parent, package, ignore=shutil.ignore_patterns("_core*.so", "__pycache__")
    )
    shutil.copy(module, package / module.name)
    return root
