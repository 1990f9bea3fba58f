"""GFLOP/s of bertcore's packed GEMM (``_core.linear``) per ISA at the shapes BERT encoders run.

For every ISA the CPU supports, and each (M, K, N) below, times ``y = x Wᵀ + b`` with a weight packed once
(``_core.PackedLinear``), and reports GFLOP/s and the share of the FMA peak measured in the same run, for
the same ISA and thread count (``_core.fma_peak_gflops``). numpy's ``x @ w.T`` (OpenBLAS, limited to the
same thread count through threadpoolctl when it is installed) is the peer column. The scalar path is slow
and only runs on a couple of small shapes.

Usage:
    python benchmarks/bench_gemm.py                       # M in {256, 1024}, 2 threads
    python benchmarks/bench_gemm.py --big                 # adds M = 4096
    python benchmarks/bench_gemm.py --threads 1 --isas avx2 avx512 --kn 768x3072 3072x768
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

# OpenBLAS's idle threads spin for 2^28 TSC cycles (about 0.1 s) after each numpy matmul before they sleep;
# interleaved with bertcore's calls, that spin takes a core from bertcore's threads. 2^4 cycles makes them
# sleep at once. Read when OpenBLAS starts, so set before numpy is imported.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
from _common import (
    default_json_path,
    TimingPolicy,
    fmt,
    markdown_table,
    measure_peak,
    report_load,
    run_metadata,
    time_interleaved,
    write_json,
)

import bertcore._core as C

# (K, N) = (in_features, out_features) of the Linear layers in the BERT sizes we care about:
# MiniLM (H=384, I=1536), bert-base (768, 3072), bert-large (1024, 4096). QKV fused is N = 3H.
KN_PAIRS: tuple[tuple[int, int], ...] = (
    (384, 1152),
    (384, 1536),
    (1536, 384),
    (768, 768),
    (768, 2304),
    (768, 3072),
    (3072, 768),
    (1024, 3072),
    (1024, 4096),
    (4096, 1024),
)
M_DEFAULT = (256, 1024)
M_BIG = 4096
# The scalar kernels run at a few GFLOP/s; time them only here.
SCALAR_CASES = frozenset({(256, 384, 1152), (256, 768, 768)})

POLICY = TimingPolicy(min_runs=5, min_time=0.5, max_runs=100, max_time=3.0, warmup_time=0.2)


def parse_kn(text: str) -> tuple[int, int]:
    k, _, n = text.lower().partition("x")
    try:
        return int(k), int(n)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KxN such as 768x3072, got {text!r}") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="threads for bertcore and numpy (default 2)")
    p.add_argument("--isas", nargs="+", default=None, help="ISAs to time (default: all supported)")
    p.add_argument("--m", nargs="+", type=int, default=list(M_DEFAULT), help="row counts (default 256 1024)")
    p.add_argument("--big", action="store_true", help=f"also time M = {M_BIG}")
    p.add_argument("--kn", nargs="+", type=parse_kn, default=None, help="only these KxN pairs")
    p.add_argument("--scalar-all", action="store_true", help="time the scalar path on every shape (slow)")
    p.add_argument("--no-numpy", action="store_true", help="skip the numpy peer")
    p.add_argument(
        "--json",
        default=str(default_json_path("gemm")),
        help="JSON output path (default: benchmarks/results/gemm-<UTC date>.json)",
    )
    return p.parse_args(argv)


@contextlib.contextmanager
def blas_threads(threads: int) -> Iterator[list[dict[str, Any]]]:
    """Limit numpy's BLAS to ``threads`` if threadpoolctl is installed; yield its thread-pool info."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        print("threadpoolctl not installed: numpy's BLAS uses its own default thread count")
        yield []
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield threadpool_info()


def gflops(m: int, k: int, n: int, seconds: float) -> float:
    return 2.0 * m * k * n / seconds / 1e9


def run_case(
    m: int, k: int, n: int, isas: list[str], threads: int, rng: np.random.Generator, args: argparse.Namespace
) -> dict[str, Any]:
    """Time numpy and every selected ISA on one shape, interleaved; check each ISA against float64."""
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((n, k), dtype=np.float32) / np.sqrt(k, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    wt = w.T
    calls: dict[str, Callable[[], Any]] = {}
    if not args.no_numpy:
        calls["numpy"] = lambda: x @ wt
    for isa in isas:
        if isa == "scalar" and not args.scalar_all and (m, k, n) not in SCALAR_CASES:
            continue
        packed = C.PackedLinear(w, b, isa=isa)
        calls[isa] = lambda p=packed: C.linear(x, p, num_threads=threads)
    timings = time_interleaved(calls, POLICY)

    ref = x.astype(np.float64) @ wt.astype(np.float64) + b
    scale = float(np.abs(ref).max())
    row: dict[str, Any] = {"m": m, "k": k, "n": n, "gflop": 2e-9 * m * k * n, "isa": {}}
    for name, t in timings.items():
        res = {**t.summary(), "gflops": gflops(m, k, n, t.median)}
        if name == "numpy":
            row["numpy"] = res
            continue
        res["max_rel_err"] = float(np.abs(t.result - ref).max()) / scale
        if res["max_rel_err"] > 1e-4:
            print(f"warning: {name} {m}x{k}x{n}: max |y - ref| / max|ref| = {res['max_rel_err']:.2e}")
        row["isa"][name] = res
    return row


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    info = C.cpu_info()
    supported = list(info["supported_isas"])
    isas = args.isas or supported
    unknown = [i for i in isas if i not in supported]
    if unknown:
        print(f"error: ISA(s) {unknown} not supported on this CPU (supported: {supported})", file=sys.stderr)
        return 2
    isas = sorted(isas, key=lambda i: -supported.index(i))  # widest first
    ms = list(args.m) + ([M_BIG] if args.big and M_BIG not in args.m else [])
    kns = list(args.kn) if args.kn else list(KN_PAIRS)
    cases = [(m, k, n) for m in ms for (k, n) in kns]
    threads = args.threads

    print(f"CPU: {info['brand']} ({info['vendor']}), supported ISAs: {supported}, best: {info['best_isa']}")
    print(f"threads: {threads}, OpenMP: {info.get('openmp')}")
    load_before = report_load()
    for isa in isas:
        print(f"gemm blocking {isa}: {C.gemm_blocking(isa=isa)}")

    peaks_before = {isa: measure_peak(C.fma_peak_gflops, isa, threads) for isa in isas}
    for isa, peak in peaks_before.items():
        print(f"measured FMA peak {isa} x{threads} threads: {peak:.1f} GFLOP/s")

    rng = np.random.default_rng(0)
    results: list[dict[str, Any]] = []
    with blas_threads(threads) as pools:
        if pools:
            keys = ("internal_api", "version", "num_threads", "architecture")
            print("threadpoolctl:", [{k: p.get(k) for k in keys} for p in pools])
        for m, k, n in cases:
            results.append(run_case(m, k, n, isas, threads, rng, args))
            done = [f"{i} {r['gflops']:.1f}" for i, r in results[-1]["isa"].items()]
            if "numpy" in results[-1]:
                done.append(f"numpy {results[-1]['numpy']['gflops']:.1f}")
            print(f"  {m}x{k}x{n} GFLOP/s: " + ", ".join(done), flush=True)

    peaks_after = {isa: measure_peak(C.fma_peak_gflops, isa, threads) for isa in isas}
    peaks = {isa: max(peaks_before[isa], peaks_after[isa]) for isa in isas}
    for row in results:
        for isa, res in row["isa"].items():
            res["peak_fraction"] = res["gflops"] / peaks[isa]

    headers = ["M", "K", "N"]
    for isa in isas:
        headers += [f"{isa} GF/s", f"{isa} %peak"]
    if not args.no_numpy:
        headers += ["numpy GF/s", f"{isas[0]}/numpy"]
    rows = []
    for r in results:
        cells = [str(r["m"]), str(r["k"]), str(r["n"])]
        for isa in isas:
            res = r["isa"].get(isa)
            cells += [fmt(res and res["gflops"]), fmt(res and 100 * res["peak_fraction"])]
        if "numpy" in r:
            top = r["isa"].get(isas[0])
            cells += [fmt(r["numpy"]["gflops"]), fmt(top and top["gflops"] / r["numpy"]["gflops"], 2)]
        rows.append(cells)
    print()
    print(f"bertcore C.linear (x Wᵀ + b, fp32), {threads} threads, interleaved with numpy call by call.")
    print("%peak: share of the best FMA peak measured before and after, per ISA:")
    print(", ".join(f"{isa} {peaks[isa]:.1f} GFLOP/s" for isa in isas))
    print()
    print(markdown_table(headers, rows))

    payload = {
        "benchmark": "gemm",
        **run_metadata(info, threads, isas[0]),
        "isas": isas,
        "fma_peak_gflops": peaks,
        "fma_peak_gflops_before": peaks_before,
        "fma_peak_gflops_after": peaks_after,
        "gemm_blocking": {isa: C.gemm_blocking(isa=isa) for isa in isas},
        "threadpool_info": pools,
        "policy": asdict(POLICY),
        "results": results,
    }
    payload["load_average_before"] = load_before
    payload["load_average_after"] = report_load()
    out = write_json(args.json, payload)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
