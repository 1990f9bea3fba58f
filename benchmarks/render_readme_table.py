"""Print the README's benchmark section from a bench_forward.py results JSON.

The section is one line saying when, where and with what the run was made (date, CPU, threads, ISA, the FMA
peak measured in that run, software versions, load average), one markdown table and one sentence on how to
read it. Paste it over the README's benchmark section; the JSON it names is committed alongside.

Usage:
    python benchmarks/render_readme_table.py        # the latest benchmarks/results/forward*.json
    python benchmarks/render_readme_table.py benchmarks/results/forward-2026-12-04.json --heading "## Speed"
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import RESULTS_DIR, fmt, markdown_table

REPO = RESULTS_DIR.parents[1]


def latest_result(folder: Path = RESULTS_DIR) -> Path | None:
    """The fp32 forward results JSON with the latest recorded date (file name as the tie-break), or None.

    bench_forward.py's ``--dtype`` runs (``forward-int8-*.json``, benchmark "forward-int8") are skipped.
    """
    best: tuple[str, str, Path] | None = None
    for path in folder.glob("forward*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("benchmark") != "forward":
            continue
        date = str(data.get("date", ""))
        if best is None or (date, path.name) > best[:2]:
            best = (date, path.name, path)
    return best[2] if best else None


def shown_path(path: Path) -> str:
    """``path`` relative to the repository root when it lies inside it."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def versions_text(data: dict[str, Any]) -> str:
    bc = f"bertcore {data.get('bertcore') or '?'}"
    commit = data.get("bertcore_commit")
    if commit:
        bc += f" ({commit[:7]}{' + uncommitted changes' if data.get('bertcore_dirty') else ''})"
    peers = data.get("versions", {})
    others = [f"{name} {peers[name]}" for name in ("torch", "transformers", "onnxruntime") if peers.get(name)]
    return ", ".join([bc, *others, f"numpy {data.get('numpy', '?')}"])


def run_line(data: dict[str, Any]) -> str:
    """Date, machine, threads, ISA, FMA peak, versions and load average of the run, as one paragraph."""
    cpus = data.get("usable_cpus") or data.get("logical_cpus")
    load = data.get("load_average_before")
    load_text = f"; 1-minute load average {load[0]:.1f} at the start" if load else ""
    return (
        f"{str(data['date'])[:10]}, {data.get('cpu_brand') or 'unknown CPU'} ({cpus} CPUs), "
        f"{data['threads']} threads for every runtime, bertcore ISA {data['isa']}, "
        f"FMA peak measured in the run {data['fma_peak_gflops']:.0f} GFLOP/s; "
        f"{versions_text(data)}{load_text}."
    )


def table(data: dict[str, Any]) -> str:
    headers = [
        "model", "B x S", "bertcore ms", "torch ms", "ORT ms", "torch/bc", "ORT/bc", "bc % of FMA peak",
        "max abs diff vs torch",
    ]  # fmt: skip
    rows = []
    for r in data["results"]:
        peers = r["peers"]

        def ms(name: str, peers: dict[str, Any] = peers) -> str:
            return fmt(peers[name]["median_ms"], 2) if name in peers else "-"

        diff = r.get("max_abs_diff_bertcore_vs_torch")
        fraction = r.get("bertcore_peak_fraction")
        rows.append([
            r["model"], f"{r['batch']} x {r['seq']}", ms("bertcore"), ms("torch"), ms("onnxruntime"),
            fmt(r.get("torch_over_bertcore"), 2), fmt(r.get("onnxruntime_over_bertcore"), 2),
            fmt(fraction and 100 * fraction, 0), "-" if diff is None else f"{diff:.1e}",
        ])  # fmt: skip
    return markdown_table(headers, rows)


def render(path: Path, heading: str) -> str:
    data = json.loads(path.read_text())
    if data.get("benchmark") != "forward":
        raise ValueError(f"{path} is not a bench_forward.py result (benchmark = {data.get('benchmark')!r})")
    note = (
        "Median wall time of one forward pass, fp32, the runtimes interleaved in one process on the same "
        "inputs; "
        "torch/bc and ORT/bc are the peer's time over bertcore's (> 1: bertcore is faster). "
        f"Every number and the run's settings: `{shown_path(path)}` (from `benchmarks/bench_forward.py`)."
    )
    parts = [heading, ""] if heading else []
    return "\n".join([*parts, run_line(data), "", table(data), "", note])


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "json",
        nargs="?",
        type=Path,
        default=None,
        help="a bench_forward.py JSON (default: the latest benchmarks/results/forward*.json)",
    )
    p.add_argument("--heading", default="## Benchmark", help="the section's heading line ('' for none)")
    args = p.parse_args(argv)
    path = args.json or latest_result()
    if path is None:
        print(f"error: no forward*.json in {RESULTS_DIR}; run bench_forward.py first", file=sys.stderr)
        return 2
    try:
        print(render(path, args.heading))
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: cannot render {path}: {exc!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
