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

``--dtype int8`` runs bertcore in int8 against ONNX Runtime int8 and CTranslate2 int8, ``--dtype bfloat16``
against OpenVINO (its default precision) and torch bf16 autocast (the peers of ``_lowp_peers.py``), each in
order and sorted; ratios are then against the fastest peer, shares against the matching measured peak.

Usage:
    python benchmarks/bench_corpus.py [--sentences 2000] [--threads 2] [--batch-size 32] [--dtype D] [--json PATH]
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    minilm_dir,
    default_json_path,
    fmt,
    markdown_table,
    measure_peak,
    package_version,
    report_load,
    run_metadata,
    write_json,
)
from _lowp_peers import Ct2Peer, OpenVinoPeer, OrtInt8Peer, TorchBf16Peer
from _peers import OrtPeer, PeerUnavailable, configure_torch_threads
from bench_forward import PEAK_KIND, forward_flops

import bertcore
import bertcore._core as C

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from corpus import real_sentences  # noqa: E402


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


def lowp_peer_rows(
    dtype: str, mdir: Path, work: Path, threads: int, feeds: dict[str, list[dict]], repeats: int
) -> dict[str, float]:
    """Median seconds of the dtype's peers over the in-order and the sorted batches (a peer that cannot run
    is skipped with its reason)."""
    makers: dict[str, Callable[[], Callable[[dict], Any]]] = (
        {
            "ORT int8": lambda: OrtInt8Peer(mdir, work, threads, num_heads=12, hidden_size=384),
            "CT2 int8": lambda: Ct2Peer(mdir, work, threads),
        }
        if dtype == "int8"
        else {
            "OpenVINO": lambda: OpenVinoPeer(mdir, work, threads),
            "torch bf16": lambda: TorchBf16Peer(mdir),
        }
    )
    rows: dict[str, float] = {}
    for label, make in makers.items():
        try:
            peer = make()
        except PeerUnavailable as exc:
            print(f"{label} skipped: {exc}")
            continue
        for order, batches_ in feeds.items():
            rows[f"{label} {order}"], _ = timed(lambda b=batches_, p=peer: [p(f) for f in b], repeats)
        del peer
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument(
        "--dtype", choices=sorted(PEAK_KIND), default="float32", help="bertcore's dtype; picks the peers"
    )
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per workload (median reported)")
    ap.add_argument(
        "--json",
        default=None,
        help="JSON output path (default: benchmarks/results/corpus[-<dtype>]-<UTC date>.json)",
    )
    args = ap.parse_args()
    lowp = args.dtype != "float32"
    args.json = args.json or str(default_json_path("corpus" + (f"-{args.dtype}" if lowp else "")))

    mdir = minilm_dir()
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
        f"bertcore {args.dtype}, CPU {info['brand']}"
    )
    load_before = report_load()
    isa = str(bertcore.cpu_info()["isa"])
    kind = PEAK_KIND[args.dtype]
    probe = functools.partial(C.peak_gops, kind)
    peak_before = measure_peak(probe, isa, args.threads)
    print(f"measured {kind} peak {isa} x{args.threads} threads: {peak_before:.1f} G/s")
    cfg = json.loads((mdir / "config.json").read_text())
    lengths = [int(n) for f in feeds_in_order for n in f["attention_mask"].sum(axis=1)]
    real_flops = sum(forward_flops(cfg, 1, n) for n in lengths)  # the work on real tokens, padding skipped

    rows: dict[str, float] = {}
    embeddings: dict[str, np.ndarray] = {}
    torch_version = configure_torch_threads(args.threads)

    model = bertcore.BertModel.from_pretrained(mdir, num_threads=args.threads, dtype=args.dtype)
    for name, feeds in (("bertcore in order", feeds_in_order), ("bertcore sorted", feeds_sorted)):
        rows[name], _ = timed(lambda feeds=feeds: [model(**f) for f in feeds], args.repeats)

    encoder = bertcore.SentenceEncoder.from_pretrained(mdir, num_threads=args.threads, dtype=args.dtype)
    rows["bertcore encode"], embeddings["bertcore"] = timed(
        lambda: encoder.encode(sentences, batch_size=args.batch_size, show_progress_bar=False),
        args.repeats,
    )

    if lowp:
        with tempfile.TemporaryDirectory() as work:
            feeds_by_order = {"in order": feeds_in_order, "sorted": feeds_sorted}
            rows.update(
                lowp_peer_rows(args.dtype, mdir, Path(work), args.threads, feeds_by_order, args.repeats)
            )
    else:
        rows.update(
            fp32_peer_rows(mdir, args.threads, feeds_in_order, feeds_sorted, args.repeats, torch_version)
        )
        embeddings.update(st_embeddings(mdir, sentences, args.batch_size, args.repeats, torch_version, rows))

    peak_after = measure_peak(probe, isa, args.threads)
    peak = max(peak_before, peak_after)
    print(f"measured {kind} peak after the run: {peak_after:.1f} G/s")
    bc_peak = {k: real_flops / v / 1e9 / peak for k, v in rows.items() if k.startswith("bertcore")}

    diff = None
    if "bertcore" in embeddings and "st" in embeddings:
        diff = float(np.abs(np.asarray(embeddings["bertcore"]) - np.asarray(embeddings["st"])).max())

    peers = {k: v for k, v in rows.items() if not k.startswith("bertcore")}
    if lowp:
        best = min(peers, key=lambda k: peers[k]) if peers else None
        bases = {f"x {best}": peers[best]} if best else {}
    else:
        bases = {"x ORT sorted": rows.get("ORT sorted"), "x st.encode": rows.get("st.encode")}
    table = []
    for name, secs in sorted(rows.items(), key=lambda kv: kv[1]):
        table.append(
            [
                name,
                fmt(secs * 1e3, 0),
                fmt(real_tokens / secs, 0),
                *(fmt(base / secs, 2) if base else "-" for base in bases.values()),
                fmt(100 * bc_peak[name], 1) if name in bc_peak else "-",
            ]
        )
    print(
        f"\nbc %peak: real-token matmul work / time, as a share of the {isa} {kind} peak ({peak:.1f} G/s)\n"
    )
    headers = ["workload", "median ms", "real tokens/s", *bases, "bc %peak"]
    print(markdown_table(headers, table))
    if diff is not None:
        print(
            f"\nmax abs diff, bertcore encode vs sentence-transformers encode, {len(sentences)} sentences: {diff:.2e}"
        )
    payload = {
        **run_metadata(info, args.threads, isa),
        "benchmark": "corpus",
        "dtype": args.dtype,
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
        **(
            {"fma_peak_gflops": peak, "fma_peak_gflops_before_after": [peak_before, peak_after]}
            if not lowp
            else {}
        ),
        "peak_kind": kind,
        "peak_gops": peak,
        "peak_gops_before_after": [peak_before, peak_after],
        "bertcore_peak_fraction": bc_peak,
        "load_average_before": load_before,
        "load_average_after": report_load(),
        "versions": {
            p: package_version(p)
            for p in (
                "torch",
                "transformers",
                "onnxruntime",
                "sentence-transformers",
                "ctranslate2",
                "openvino",
            )
        },
    }
    print(f"wrote {write_json(args.json, payload)}")


def fp32_peer_rows(
    mdir: Path,
    threads: int,
    feeds_in_order: list[dict],
    feeds_sorted: list[dict],
    repeats: int,
    torch_version: str | None,
) -> dict[str, float]:
    """Median seconds of ORT fp32 (in order, sorted) and transformers (in order)."""
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as work:
        try:
            ort_peer = OrtPeer(mdir, Path(work), threads, num_heads=12, hidden_size=384)
            for name, feeds in (("ORT in order", feeds_in_order), ("ORT sorted", feeds_sorted)):
                rows[name], _ = timed(lambda feeds=feeds, peer=ort_peer: [peer(f) for f in feeds], repeats)
            del ort_peer
        except PeerUnavailable as exc:
            print(f"onnxruntime skipped: {exc}")
    if torch_version is None:
        print("torch not installed: torch and sentence-transformers skipped")
        return rows
    import torch
    import transformers

    hf = transformers.BertModel.from_pretrained(mdir).eval()

    def run_torch() -> None:
        with torch.inference_mode():
            for f in feeds_in_order:
                hf(**{k: torch.from_numpy(v) for k, v in f.items()})

    rows["torch in order"], _ = timed(run_torch, max(1, repeats - 2))
    return rows


def st_embeddings(
    mdir: Path,
    sentences: list[str],
    batch_size: int,
    repeats: int,
    torch_version: str | None,
    rows: dict[str, float],
) -> dict[str, np.ndarray]:
    """sentence-transformers' ``encode`` of the corpus, timed into ``rows["st.encode"]``."""
    if torch_version is None:
        return {}
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        print("sentence-transformers not installed; skipped")
        return {}
    st = SentenceTransformer(str(mdir), device="cpu")
    rows["st.encode"], emb = timed(
        lambda: st.encode(sentences, batch_size=batch_size, show_progress_bar=False), repeats
    )
    return {"st": emb}


if __name__ == "__main__":
    main()
