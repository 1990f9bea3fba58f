"""bertcore serve under load: N concurrent clients sending real sentences, against offline ``encode`` and a
hand-written FastAPI + sentence-transformers server.

Both servers run as their own processes on 127.0.0.1 with the same thread count: ``python -m bertcore serve``
(``--threads N``, access log off) and ``benchmarks/_st_server.py`` (FastAPI + uvicorn, one
``SentenceTransformer.encode`` per request, torch with N intra-op threads; ``--st-handler``). The clients are
asyncio tasks in this process, each with its own ``httpx.AsyncClient`` and connection: at each level (1, 4, 16, 64 clients) every
client sends requests back to back, taking the next one of one fixed request sequence until it is used up, so
both servers get the same requests in the same order. A request is TEI's ``POST /embed`` with
``{"inputs": ..., "normalize": true, "truncate": true}``: half of them one text, the others a list of 2 to
8 texts, drawn from tests/corpus.py's real sentences (Python docstring paragraphs, some past the model's
256 tokens). Bodies are serialized once beforehand; each response is parsed and its vector count checked
after the latency clock stops.

Reported per level and server: requests/s, real tokens/s (tokens counted with the model's tokenizer,
special tokens included, cut at 256, as bench_corpus.py counts), p50/p99 latency; for bertcore the batching
from its /metrics (batches, real tokens per batch, the share of the wall time spent in forward calls); the CPU
seconds of the server, of the client and of everything else on the machine. References, in this process with
the same thread count: offline ``SentenceEncoder.encode`` of all the sequence's texts (batch 32, normalized),
and the direct call, ``encode`` of each request's texts one request at a time (the 1-client comparison).

Timing: ``--rounds`` passes (default 2) over the levels; in each, per level an offline pass, then the servers
one after the other (order flipped each round), a 1 s pause before each; direct calls before the first level.
Rates are the median of the rounds, latency percentiles pool the rounds' requests. On 2 cores there is no spare
core: the client loop shares the CPUs with the server under test, for both servers alike, while offline
``encode`` runs alone.

Usage:
    python benchmarks/bench_serve.py [--clients 1 4 16 64] [--requests 400] [--rounds 2] [--threads 2]
        [--max-batch-tokens N] [--st-handler async|threadpool] [--servers bertcore st] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

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

try:
    import httpx
    from _serve_load import REQUEST_S, Request, ServerProcess, combine_rounds, make_requests, run_level
except ImportError:
    sys.exit("needs httpx (and the server's extra): pip install 'bertcore[serve]' httpx")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from corpus import real_sentences  # noqa: E402

SETTLE_S = 1.0  # pause before each level, so that one runtime's spinning threads do not slow the next
MAX_LENGTH = 256  # all-MiniLM-L6-v2's max_seq_length
DIRECT_REQUESTS = 200  # requests timed as direct calls, once per round


# ------------------------------------------------------------------------------------------ offline references
class References:
    """The in-process references, timed between the levels so that they see the same phases of the machine:
    offline ``encode`` of all the sequence's texts (batch 32, normalized) and direct calls (``encode`` of each
    of the first requests' texts, one call per request, back to back, as a direct caller would)."""

    def __init__(
        self, encoder: bertcore.SentenceEncoder, requests: list[Request], direct_requests: int
    ) -> None:
        self.encoder = encoder
        self.texts = [t for r in requests for t in r.texts]
        self.tokens = sum(r.tokens for r in requests)
        self.direct_requests = requests[:direct_requests]
        self.offline_rates: list[float] = []  # real tokens/s, one per pass
        self.direct_ms: list[float] = []  # one per call, requests in order, pass after pass

    def offline_pass(self) -> float:
        t0 = time.perf_counter()
        self.encoder.encode(self.texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        self.offline_rates.append(self.tokens / (time.perf_counter() - t0))
        return self.offline_rates[-1]

    def direct_pass(self) -> float:
        for r in self.direct_requests:
            t0 = time.perf_counter()
            self.encoder.encode(
                list(r.texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
            self.direct_ms.append(1e3 * (time.perf_counter() - t0))
        return float(np.median(self.direct_ms[-len(self.direct_requests) :]))

    @property
    def offline(self) -> float:
        return float(np.median(self.offline_rates))

    def direct(self) -> dict[str, Any]:
        """p50/p99 of the direct calls, and the p50 of the one-text requests' alone."""
        n = len(self.direct_requests)
        single = [t for i, t in enumerate(self.direct_ms) if self.direct_requests[i % n].single]
        return {
            "requests": n,
            "calls": len(self.direct_ms),
            "p50_ms": float(np.percentile(self.direct_ms, 50)),
            "p99_ms": float(np.percentile(self.direct_ms, 99)),
            "single_text_p50_ms": float(np.percentile(single, 50)) if single else None,
        }


def check_outputs(
    servers: list[ServerProcess], encoder: bertcore.SentenceEncoder, texts: list[str]
) -> dict[str, float]:
    """Max abs difference between each server's /embed (normalize false) and ``encode`` of the same texts."""
    reference = encoder.encode(texts, show_progress_bar=False)
    out = {}
    for server in servers:
        body = {"inputs": texts, "normalize": False, "truncate": True}
        response = httpx.post(f"{server.url}/embed", json=body, timeout=REQUEST_S)
        response.raise_for_status()
        out[server.name] = float(np.abs(np.asarray(response.json(), dtype=np.float32) - reference).max())
    return out


# ------------------------------------------------------------------------------------------ main
def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 64])
    ap.add_argument("--requests", type=int, default=400, help="requests per level (the same sequence each)")
    ap.add_argument("--rounds", type=int, default=2, help="passes over the levels, the servers in turn")
    ap.add_argument("--max-list", type=int, default=8, help="largest list of texts in one request")
    ap.add_argument("--threads", type=int, default=2, help="threads of each server and of offline encode")
    ap.add_argument("--max-batch-tokens", type=int, default=None, help="bertcore serve's (default: its own)")
    ap.add_argument("--st-handler", choices=("threadpool", "async"), default="async")
    ap.add_argument("--servers", nargs="+", choices=("bertcore", "st"), default=["bertcore", "st"])
    ap.add_argument(
        "--server-env", nargs="+", default=[], metavar="NAME=VALUE",
        help="environment of both servers on top of this one's (e.g. OMP_WAIT_POLICY=PASSIVE)",
    )  # fmt: skip
    ap.add_argument("--level-budget", type=float, default=120.0, help="seconds per level and server, at most")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--json", default=None, help="JSON path (default: benchmarks/results/serve-<UTC date>.json)"
    )
    return ap.parse_args()


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """``--server-env`` as a dict (NAME=VALUE items)."""
    pairs = [item.partition("=") for item in args.server_env]
    if any(not name or not sep for name, sep, _ in pairs):
        sys.exit(f"--server-env takes NAME=VALUE items, got {args.server_env}")
    return {name: value for name, _, value in pairs}


def start_servers(args: argparse.Namespace, mdir: Path, logs: Path) -> list[ServerProcess]:
    """The servers asked for, started in turn and healthy (the caller stops them)."""
    servers = []
    if "bertcore" in args.servers:
        argv = [sys.executable, "-m", "bertcore", "serve", "--model", str(mdir), "--threads", str(args.threads),
                "--log-level", "warning", "--max-queue", "65536"]  # fmt: skip
        if args.max_batch_tokens:
            argv += ["--max-batch-tokens", str(args.max_batch_tokens)]
        servers.append(ServerProcess("bertcore", argv, logs, server_env(args)))
    if "st" in args.servers:
        argv = [sys.executable, str(Path(__file__).with_name("_st_server.py")), "--model", str(mdir),
                "--threads", str(args.threads), "--handler", args.st_handler]  # fmt: skip
        servers.append(ServerProcess("st", argv, logs, server_env(args)))
    for server in servers:
        print(f"{server.name} server healthy after {server.wait_healthy():.1f} s")
    return servers


def measure_levels(
    servers: list[ServerProcess],
    args: argparse.Namespace,
    requests: list[Request],
    refs: References,
    loads: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Every level against every server, ``args.rounds`` times (the servers' order flipped each round), an
    offline pass before each level and direct calls before the first; per server and client count, the
    rounds combined."""
    bodies = [r.body() for r in requests]
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for round_ in range(args.rounds):
        for clients in args.clients:
            loads[f"round {round_ + 1}, {clients} clients"] = list(os.getloadavg())
            time.sleep(SETTLE_S)
            if clients == args.clients[0]:
                print(f"round {round_ + 1}, direct calls: p50 {refs.direct_pass():.2f} ms")
            print(f"round {round_ + 1}, offline encode: {refs.offline_pass():,.0f} tok/s")
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                time.sleep(SETTLE_S)
                res = run_level(server, requests, bodies, clients, args.level_budget)
                runs.setdefault((server.name, clients), []).append(res)
                print(
                    f"round {round_ + 1}, {clients:2d} clients, {server.name:8s}: {res['requests_per_s']:6.1f} "
                    f"req/s {res['real_tokens_per_s']:7.0f} tok/s p50 {res['p50_ms']:7.1f} ms p99 "
                    f"{res['p99_ms']:7.1f} ms; other processes {100 * (res.get('other_cpu_share') or 0):3.0f}% "
                    "of the CPUs"
                )
    results: dict[str, dict[str, Any]] = {server.name: {} for server in servers}
    for (name, clients), rounds in runs.items():
        results[name][str(clients)] = combine_rounds(rounds)
    return results


def server_cells(r: dict[str, Any] | None) -> list[str]:
    """req/s, tokens/s, p50 and p99 of one server at one level, for the table."""
    if not r:
        return ["-"] * 4
    return [fmt(r["requests_per_s"]), fmt(r["real_tokens_per_s"], 0), fmt(r["p50_ms"]), fmt(r["p99_ms"])]


def report_table(results: dict[str, dict[str, Any]], clients: list[int], offline: float) -> str:
    bc, st = results.get("bertcore", {}), results.get("st", {})
    rows = []
    for n in map(str, clients):
        b, s = bc.get(n), st.get(n)
        batching = b.get("batching") if b else None
        rows.append(
            [
                n,
                *server_cells(b),
                *server_cells(s),
                fmt(b["real_tokens_per_s"] / s["real_tokens_per_s"] if b and s else None, 2),
                fmt(b["real_tokens_per_s"] / offline if b else None, 2),
                fmt(batching["mean_real_tokens_per_call"] if batching else None, 0),
                fmt(100 * batching["forward_share_of_wall"] if batching else None, 0),
            ]
        )
    headers = ["clients", "bc req/s", "bc tok/s", "bc p50 ms", "bc p99 ms", "ST req/s", "ST tok/s", "ST p50 ms",
               "ST p99 ms", "bc/ST tok/s", "bc/offline tok/s", "bc tok/batch", "bc fwd % wall"]  # fmt: skip
    return markdown_table(headers, rows)


def check_targets(results: dict[str, dict[str, Any]], offline: float, direct: dict[str, Any]) -> list[dict]:
    """Issue 12's targets, each with the measured value and whether it holds in this run."""
    bc, st = results.get("bertcore", {}), results.get("st", {})
    targets = []

    def add(target: str, value: float, holds: bool) -> None:
        targets.append({"target": target, "value": value, "holds": holds})

    for n in (n for n in bc if int(n) >= 16):
        ratio = bc[n]["real_tokens_per_s"] / offline
        add(f"{n} clients: bertcore tokens/s >= 0.8x offline encode's", ratio, ratio >= 0.8)
        if n in st:
            ratio = bc[n]["real_tokens_per_s"] / st[n]["real_tokens_per_s"]
            add(f"{n} clients: bertcore tokens/s >= 3x the sentence-transformers server's", ratio, ratio >= 3)
    if "1" in bc:
        over = bc["1"]["p50_ms"] - direct["p50_ms"]
        add("1 client: bertcore p50 <= direct call p50 + 2 ms (ms over the direct call)", over, over <= 2)
        if bc["1"]["single_text_p50_ms"] is not None and direct["single_text_p50_ms"] is not None:
            over = bc["1"]["single_text_p50_ms"] - direct["single_text_p50_ms"]
            add("1 client, one-text requests: p50 <= direct call p50 + 2 ms (ms over)", over, over <= 2)
    return targets


def main() -> None:
    args = parse_args()
    args.json = args.json or str(default_json_path("serve"))
    warnings.filterwarnings("ignore", message=".*longer than max_seq_length.*")

    mdir = minilm_dir()
    sentences = real_sentences(2000)
    tok = bertcore.AutoTokenizer.from_pretrained(mdir)
    counts = [len(ids) for ids in tok(sentences, truncation=True, max_length=MAX_LENGTH)["input_ids"]]
    rng = random.Random(args.seed)
    warmup = make_requests(sentences, counts, 40, args.max_list, rng)
    requests = make_requests(sentences, counts, args.requests, args.max_list, rng)
    texts = [t for r in requests for t in r.texts]
    tokens = sum(r.tokens for r in requests)
    info = bertcore.cpu_info()
    isa = str(info["isa"])
    print(
        f"{len(requests)} requests per level ({sum(r.single for r in requests)} of one text, the rest 2-"
        f"{args.max_list}): {len(texts)} texts, {tokens} real tokens; clients {args.clients}, {args.rounds} "
        f"rounds; {args.threads} threads per server; {isa}, {info.get('brand')}, {os.cpu_count()} logical CPUs"
    )
    load_before = report_load()

    encoder = bertcore.SentenceEncoder.from_pretrained(mdir, num_threads=args.threads)
    encoder.encode(texts[:256], batch_size=32, show_progress_bar=False)  # warm-up
    refs = References(encoder, requests, DIRECT_REQUESTS)

    loads: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as logs:
        servers: list[ServerProcess] = []
        try:
            servers = start_servers(args, mdir, Path(logs))
            check_texts = sentences[:6] + [max(sentences, key=len)]
            diffs = check_outputs(servers, encoder, check_texts)
            for name, diff in diffs.items():
                print(f"max abs diff, {name} /embed vs encode, {len(check_texts)} texts (one past 256 tokens): "
                      f"{diff:.2e}")  # fmt: skip
            for server in servers:
                run_level(server, warmup, [r.body() for r in warmup], 4, args.level_budget)
            results = measure_levels(servers, args, requests, refs, loads)
        finally:
            exit_codes = {server.name: server.stop() for server in servers}
    offline, direct = refs.offline, refs.direct()
    load_after = report_load()

    print(
        f"\noffline encode (batch 32, the same texts): {offline:,.0f} real tokens/s (median of "
        f"{len(refs.offline_rates)} passes, {min(refs.offline_rates):,.0f} to {max(refs.offline_rates):,.0f}); "
        f"direct call p50 {direct['p50_ms']:.2f} ms, one-text requests {direct['single_text_p50_ms']:.2f} ms\n"
    )
    print(report_table(results, args.clients, offline))
    targets = check_targets(results, offline, direct)
    print()
    for t in targets:
        print(f"{'holds' if t['holds'] else 'FAILS'}: {t['target']}: {t['value']:.2f}")

    payload = {
        **run_metadata(info, args.threads, isa),
        "benchmark": "serve",
        "model": mdir.name,
        "requests_per_level": len(requests),
        "texts_per_level": len(texts),
        "real_tokens_per_level": tokens,
        "single_text_requests": sum(r.single for r in requests),
        "max_list": args.max_list,
        "seed": args.seed,
        "clients": args.clients,
        "rounds": args.rounds,
        "level_budget_s": args.level_budget,
        "bertcore_server": {"max_batch_tokens": args.max_batch_tokens or "default", "threads": args.threads},
        "st_server": {"handler": args.st_handler, "threads": args.threads},
        "server_env": server_env(args),
        "offline_encode": {"real_tokens_per_s": offline, "passes": refs.offline_rates, "batch_size": 32},
        "direct_call": direct,
        "max_abs_diff_embed_vs_encode": diffs,
        "results": results,
        "targets": targets,
        "load_average_before": load_before,
        "load_average_per_level": loads,
        "load_average_after": load_after,
        "server_exit_codes": exit_codes,
        "versions": {
            p: package_version(p)
            for p in (
                "torch",
                "transformers",
                "sentence-transformers",
                "fastapi",
                "starlette",
                "uvicorn",
                "uvloop",
                "httptools",
                "orjson",
                "httpx",
                "h11",
            )  # fmt: skip
        },
    }
    print(f"wrote {write_json(args.json, payload)}")


if __name__ == "__main__":
    main()
