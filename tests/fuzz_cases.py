"""Shared pieces of the loader fuzz tests: hypothesis settings, the sandbox fixture, case directories."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Dict, Iterator, Optional

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

from fuzz_sandbox import Sandbox

# Hypothesis caches what it learns (here: constants read from the source) under ./.hypothesis; keep the
# checkout clean (there is no example database: database=None below).
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "bertcore-hypothesis")

# BERTCORE_FUZZ_SCALE=10 runs ten times the examples (a longer hunt); the default keeps the suite quick.
SCALE = float(os.environ.get("BERTCORE_FUZZ_SCALE", "1"))


def fuzz_settings(max_examples: int) -> settings:
    """Seeded (derandomized), no example database, a deadline per example well above a load's time (the
    sandbox's own timeout catches hangs first)."""
    return settings(
        max_examples=max(1, int(max_examples * SCALE)),
        deadline=timedelta(seconds=60),
        derandomize=True,
        database=None,
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def sandbox_fixture(tokenizer_dir: Optional[str]) -> Iterator[Sandbox]:
    with Sandbox(tokenizer_dir) as box:
        yield box


class CaseDirs:
    """Directories for fuzz cases: a mirror of a base directory (symlinks, so the unchanged files cost
    nothing and are never written) with some files replaced."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._count = itertools.count()
        self._last: Optional[Path] = None

    def make(self, base: Path, files: Dict[str, bytes]) -> Path:
        if self._last is not None:
            shutil.rmtree(self._last, ignore_errors=True)
        case = self._last = self.root / f"case{next(self._count)}"
        for dirpath, _, filenames in os.walk(base):
            target = case / Path(dirpath).relative_to(base)
            target.mkdir(parents=True, exist_ok=True)
            for name in filenames:
                (target / name).symlink_to(Path(dirpath) / name)
        for rel, data in files.items():
            path = case / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                path.unlink()
            path.write_bytes(data)
        return case
