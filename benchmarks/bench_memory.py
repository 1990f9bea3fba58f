"""Memory: peak resident set of a bert-base forward workload, bertcore vs ONNX Runtime vs transformers + torch.

Peak RSS is a per-process figure, so each runtime runs alone in a child process of this script, on the same
model directory, inputs and thread count. Each child goes through four phases and resets the kernel's
peak-RSS mark (VmHWM, through /proc/self/clear_refs) between them, so each phase's peak is its own:

  import  RSS after importing the runtime (bertcore; onnxruntime; torch + transformers)
  load    peak RSS while loading the model, and RSS once loaded (ORT loads the graph optimized beforehand by
          the parent with onnxruntime.transformers' BERT optimizer, as in bench_forward.py)
  run     peak RSS over --runs forward calls at --shape (default 32x128)
  spike   one call at --spike (default 32x512), then 10 calls at 1x128: RSS after them, i.e. whether the
          runtime gives back what the large batch took (bertcore's scratch shrinks; ORT's arena does not)

Reported: the whole process's peak up to the end of the run phase (max of the first three phases), each
phase relative to the RSS after import, the load peak as a multiple of the checkpoint's size (about 1 means
the weights are never held twice), and bertcore's peak over each peer's.

Linux only (it reads /proc/self/status). Usage:
    python benchmarks/bench_memory.py                       # bert-base, 32x128, 2 threads
    python benchmarks/bench_memory.py --model minilm --shape 32x128 --spike 64x256
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _common import default_json_path, fmt, markdown_table, package_version, run_metadata, write_json
from bench_forward import MODELS, make_feeds, parse_shape, resolve_model

RUNTIMES = ("bertcore", "onnxruntime", "torch")
MB = 1 << 20


def status() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in bytes."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def child(args: argparse.Namespace) -> dict[str, Any]:
    """One runtime's phases; returns byte counts."""
    if args.child == "bertcore":
        import bertcore  # noqa: F401
    elif args.child == "onnxruntime":
        import onnxruntime  # noqa: F401
    else:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    from _peers import BertcorePeer, OrtPeer, TorchPeer, configure_torch_threads

    cfg = json.loads((Path(args.model_dir) / "config.json").read_text())
    result: dict[str, Any] = {"import_rss": status()["VmRSS"]}
    resettable = reset_peak()
    result["peak_resettable"] = resettable
    t0 = time.perf_counter()
    if args.child == "bertcore":
        peer: Any = BertcorePeer(Path(args.model_dir), args.threads, None)
    elif args.child == "onnxruntime":
        info = json.loads(args.ort_info)
        peer = OrtPeer(Path(args.model_dir), Path(args.onnx).parent, args.threads, cfg["num_attention_heads"],
                       cfg["hidden_size"], prepared=(Path(args.onnx), info))  # fmt: skip
    else:
        configure_torch_threads(args.threads)
        peer = TorchPeer(Path(args.model_dir))
    result["load_seconds"] = time.perf_counter() - t0
    s = status()
    result["load_peak"], result["loaded_rss"] = s["VmHWM"], s["VmRSS"]

    batch, seq = args.shape
    feeds = make_feeds(cfg["vocab_size"], batch, seq, seed=1)
    reset_peak()
    for _ in range(args.runs):
        peer(feeds)
    s = status()
    result["run_peak"], result["run_rss"] = s["VmHWM"], s["VmRSS"]

    big = make_feeds(cfg["vocab_size"], *args.spike, seed=2)
    small = make_feeds(cfg["vocab_size"], 1, 128, seed=3)
    reset_peak()
    peer(big)
    result["spike_peak"] = status()["VmHWM"]
    for _ in range(10):
        peer(small)
    result["after_spike_rss"] = status()["VmRSS"]
    result["info"] = getattr(peer, "info", {})
    return result


def run_child(runtime: str, model_dir: Path, onnx: tuple[Path, dict[str, Any]] | None,
              args: argparse.Namespace) -> dict[str, Any] | None:  # fmt: skip
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--child", runtime, "--model-dir", str(model_dir),
        "--threads", str(args.threads), "--shape", "x".join(map(str, args.shape)),
        "--spike", "x".join(map(str, args.spike)), "--runs", str(args.runs),
    ]  # fmt: skip
    if onnx is not None:
        cmd += ["--onnx", str(onnx[0]), "--ort-info", json.dumps(onnx[1])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  {runtime} failed:\n{proc.stderr[-2000:]}")
        return None
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="bert-base")
    p.add_argument("--shape", type=parse_shape, default=(32, 128), help="the workload, BATCHxSEQ")
    p.add_argument("--spike", type=parse_shape, default=(32, 512), help="the one large batch, BATCHxSEQ")
    p.add_argument("--runs", type=int, default=5, help="forward calls in the run phase")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runtimes", nargs="+", choices=RUNTIMES, default=list(RUNTIMES))
    p.add_argument(
        "--json",
        default=str(default_json_path("memory")),
        help="JSON output path (default: benchmarks/results/memory-<UTC date>.json)",
    )
    p.add_argument("--child", choices=RUNTIMES, help=argparse.SUPPRESS)
    p.add_argument("--model-dir", help=argparse.SUPPRESS)
    p.add_argument("--onnx", help=argparse.SUPPRESS)
    p.add_argument("--ort-info", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    if not Path("/proc/self/status").exists():
        print("error: bench_memory.py reads /proc/self/status (Linux only)", file=sys.stderr)
        return 2
    import bertcore._core as C

    spec = MODELS[args.model]
    if spec.config is not None and package_version("transformers") is None:
        print("error: building a random-weight model needs transformers + torch", file=sys.stderr)
        return 2
    runtimes = [r for r in args.runtimes if r == "bertcore" or package_version(r) is not None]
    for r in set(args.runtimes) - set(runtimes):
        print(f"  skipping {r}: not installed")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bertcore-mem-") as tmp:
        model_dir = resolve_model(spec, Path(tmp))
        weights = sum(f.stat().st_size for f in model_dir.glob("*.safetensors"))
        onnx = None
        if "onnxruntime" in runtimes:
            from _peers import PeerUnavailable, prepare_ort_model

            cfg = json.loads((model_dir / "config.json").read_text())
            try:
                onnx = prepare_ort_model(model_dir, Path(tmp), cfg["num_attention_heads"], cfg["hidden_size"])
            except PeerUnavailable as exc:
                print(f"  skipping onnxruntime: {exc}")
                runtimes.remove("onnxruntime")
        for r in runtimes:
            res = run_child(r, model_dir, onnx, args)
            if res is not None:
                results[r] = res
                print(f"  {r}: peak {max(res['load_peak'], res['run_peak'], res['import_rss']) / MB:.0f} MB")

    rows, table = [], []
    base_peak = None
    for r, res in results.items():
        imp = res["import_rss"]
        peak = max(imp, res["load_peak"], res["run_peak"])
        row = {
            "runtime": r, **res, "peak_rss": peak,
            "load_peak_over_weights": (res["load_peak"] - imp) / weights,
        }  # fmt: skip
        if r == "bertcore":
            base_peak = peak
        rows.append(row)
    for row in rows:
        if base_peak is not None:
            row["bertcore_peak_over_this"] = base_peak / row["peak_rss"]
        imp = row["import_rss"]
        table.append([
            row["runtime"], fmt(row["peak_rss"] / MB, 0), fmt(imp / MB, 0),
            fmt((row["load_peak"] - imp) / MB, 0), fmt(row["load_peak_over_weights"], 2),
            fmt((row["loaded_rss"] - imp) / MB, 0), fmt((row["run_peak"] - imp) / MB, 0),
            fmt((row["spike_peak"] - imp) / MB, 0), fmt((row["after_spike_rss"] - imp) / MB, 0),
            fmt(row.get("bertcore_peak_over_this"), 2),
        ])  # fmt: skip
    b, s = args.shape
    sb, ss = args.spike
    print(f"\nMemory, {args.model} ({weights / MB:.0f} MB of weights), {args.threads} threads, MB of RSS.")
    print(
        "Δ: above the RSS after import. Phases as in the docstring; bc/this: bertcore's peak over this one's.\n"
    )
    headers = [
        "runtime", f"peak RSS to end of {b}x{s} run", "after import", "load peak Δ", "load peak Δ / weights",
        "loaded Δ", f"{b}x{s} run peak Δ", f"{sb}x{ss} spike peak Δ", "after spike + 10x 1x128 Δ", "bc/this",
    ]  # fmt: skip
    print(markdown_table(headers, table))
    payload = {
        "benchmark": "memory",
        **run_metadata(C.cpu_info(), args.threads, str(C.active_isa())),
        "model": args.model, "weights_bytes": weights, "shape": list(args.shape), "spike": list(args.spike),
        "runs": args.runs, "versions": {r: package_version(r) for r in ("onnxruntime", "torch", "transformers")},
        "results": rows,
    }  # fmt: skip
    path = write_json(args.json, payload)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
