"""The Ray Data path against plain ``SentenceEncoder.encode`` on this machine: the committed corpus repeated to
about 100k passages, all-MiniLM-L6-v2, real tokens per second.

Workloads (the same passages, in memory as Arrow blocks of ``--block-rows`` rows, results collected in the
driver; the local cluster has every CPU of the machine):
  * encode, T threads          ``SentenceEncoder.encode`` in this process, T = the machine's CPUs and 1
  * ray, A actors x 1 CPU      ``bertcore.ray.embed_dataset``: the default pool (room left for read/write
                               tasks: 1 actor on a 2-CPU machine) and one actor per CPU
The Ray path's overhead is its throughput over ``encode``'s on the CPUs its actors hold (one thread per
actor CPU), and over ``encode`` on the whole machine.

Usage:
    python benchmarks/bench_ray.py [--passages 100000] [--block-rows 1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
from _common import (
    minilm_dir,
    default_json_path,
    fmt,
    markdown_table,
    package_version,
    report_load,
    run_metadata,
    write_json,
)

import bertcore
import bertcore._core as C

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from corpus import real_sentences  # noqa: E402


def run_ray(
    ray: Any, pa: Any, texts: List[str], block_rows: int, mdir: str, actors: int
) -> tuple[float, Any]:
    """Seconds for the Ray path with ``actors`` 1-CPU actors (0: the default pool), and its embeddings."""
    from bertcore.ray import embed_dataset

    blocks = [pa.table({"text": texts[i : i + block_rows]}) for i in range(0, len(texts), block_rows)]
    ds = ray.data.from_arrow(blocks)
    start = time.perf_counter()
    out = embed_dataset(ds, mdir, num_actors=actors or None)
    table = pa.concat_tables(ray.get(out.to_arrow_refs()))
    seconds = time.perf_counter() - start
    return seconds, np.array(table.column("embedding").to_pylist(), dtype=np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passages", type=int, default=100_000)
    ap.add_argument("--block-rows", type=int, default=1000)
    ap.add_argument("--json", default=str(default_json_path("ray")), help="JSON output path")
    args = ap.parse_args()
    try:
        import pyarrow as pa
        import ray
        import ray.data
    except ImportError:
        sys.exit("needs Ray Data: pip install 'bertcore[ray]'")

    mdir = str(minilm_dir())
    base = real_sentences(2000)
    texts = [base[i % len(base)] for i in range(args.passages)]
    cpus = os.cpu_count() or 1
    encoder = bertcore.SentenceEncoder.from_pretrained(mdir, num_threads=cpus)
    real_tokens = sum(len(r) for r in encoder.token_rows(texts))
    info = C.cpu_info()
    print(f"{len(texts)} passages, {real_tokens} real tokens, {cpus} CPUs, CPU {info['brand']}")
    load_before = report_load()

    seconds: Dict[str, float] = {}
    reference = None
    for threads in sorted({cpus, 1}, reverse=True):
        encoder.num_threads = threads
        start = time.perf_counter()
        emb = encoder.encode(texts, batch_size=32, show_progress_bar=False)
        seconds[f"encode, {threads} thread{'s' if threads > 1 else ''}"] = time.perf_counter() - start
        reference = emb if reference is None else reference

    ray.init(num_cpus=cpus, include_dashboard=False, logging_level="WARNING")
    ray.data.DataContext.get_current().enable_progress_bars = False
    from bertcore.ray import _cpus_per_node, default_sizing

    default_actors = default_sizing(_cpus_per_node(ray), 1)
    diffs = {}
    try:
        for actors in sorted({default_actors, cpus}):
            label = f"ray, {actors} actor{'s' if actors > 1 else ''} x 1 CPU"
            seconds[label], emb = run_ray(ray, pa, texts, args.block_rows, mdir, actors)
            diffs[label] = float(np.abs(emb - reference).max())
    finally:
        ray.shutdown()

    def tps(label: str) -> float:
        return real_tokens / seconds[label]

    rows = []
    for label in seconds:
        threads = 1 if "1 thread" in label or label.startswith("ray, 1 actor") else cpus
        same_cpus = f"encode, {threads} thread{'s' if threads > 1 else ''}"
        rows.append(
            [
                label,
                fmt(seconds[label], 1),
                fmt(tps(label), 0),
                fmt(tps(label) / tps(same_cpus), 2) if label.startswith("ray") else "-",
                fmt(tps(label) / tps(f"encode, {cpus} threads" if cpus > 1 else same_cpus), 2),
                f"{diffs[label]:.1e}" if label in diffs else "-",
            ]
        )
    headers = [
        "workload",
        "seconds",
        "real tokens/s",
        "x encode, same CPUs",
        "x encode, whole machine",
        "max abs diff",
    ]
    print()
    print(markdown_table(headers, rows))
    print("\ntarget: the Ray path >= 0.8x encode's tokens/s on the same CPUs")
    payload = {
        **run_metadata(info, cpus, str(bertcore.cpu_info()["isa"])),
        "benchmark": "ray",
        "passages": len(texts),
        "real_tokens": real_tokens,
        "block_rows": args.block_rows,
        "default_actors": default_actors,
        "seconds": seconds,
        "real_tokens_per_s": {k: tps(k) for k in seconds},
        "max_abs_diff_vs_encode": diffs,
        "load_average_before": load_before,
        "load_average_after": report_load(),
        "versions": {p: package_version(p) for p in ("ray", "pyarrow")},
    }
    print(f"wrote {write_json(args.json, payload)}")


if __name__ == "__main__":
    main()
