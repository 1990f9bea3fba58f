"""The load side of bench_serve.py: the request sequence, the server processes, the asyncio clients.

Imported by bench_serve.py (as ``_serve_load``, from the script's folder); not part of the installed package.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

START_S = 180.0  # a server's start-up, model load included
STOP_S = 60.0  # SIGTERM to exit
REQUEST_S = 60.0  # one request


# ------------------------------------------------------------------------------------------ the requests
@dataclass(frozen=True)
class Request:
    texts: tuple[str, ...]
    single: bool  # sent as one string rather than a list
    tokens: int  # real tokens, special tokens included, cut at MAX_LENGTH

    def body(self, normalize: bool = True) -> bytes:
        inputs: Any = self.texts[0] if self.single else list(self.texts)
        return json.dumps({"inputs": inputs, "normalize": normalize, "truncate": True}).encode()


def make_requests(
    sentences: list[str], tokens: list[int], n: int, max_list: int, rng: random.Random
) -> list[Request]:
    """``n`` requests: half one text, the rest 2..max_list texts, drawn at random from ``sentences``."""
    out = []
    for _ in range(n):
        single = rng.random() < 0.5
        picks = rng.sample(range(len(sentences)), 1 if single else rng.randint(2, max_list))
        out.append(Request(tuple(sentences[i] for i in picks), single, sum(tokens[i] for i in picks)))
    return out


# ------------------------------------------------------------------------------------------ the servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A server subprocess on a free loopback port, its output in a log file; ``stop`` sends SIGTERM."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
        self.proc = subprocess.Popen(
            [*argv, "--port", str(self.port)], stdout=self._log, stderr=subprocess.STDOUT, env=env
        )

    def wait_healthy(self, timeout: float = START_S) -> float:
        """Polls GET /health until 200; returns the seconds it took. Raises if the process exits or the
        time runs out."""
        start = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            if time.monotonic() - start > timeout:
                self.stop()
                raise RuntimeError(f"{self.name} was not healthy within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the process so far (Linux), or None."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> int | None:
        """SIGTERM, then up to STOP_S for the exit (SIGKILL after that); the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(STOP_S)
        self._log.close()
        return code


def machine_cpu_seconds() -> float | None:
    """Busy CPU seconds of the whole machine so far, all CPUs (Linux /proc/stat), or None."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def bertcore_metrics(url: str) -> dict[str, float]:
    """The batching counters of bertcore serve's /metrics (sums and counts of the embed histograms)."""
    text = httpx.get(f"{url}/metrics", timeout=REQUEST_S).text
    out = {}
    for name in ("inference_seconds", "batch_tokens", "queue_seconds"):
        for part in ("sum", "count"):
            m = re.search(rf'^bertcore_{name}_{part}{{kind="embed"}} (\S+)$', text, re.M)
            out[f"{name}_{part}"] = float(m.group(1)) if m else 0.0
    return out


# ------------------------------------------------------------------------------------------ the clients
@dataclass
class LevelRun:
    latencies: list[float]  # seconds, per completed request
    single_latencies: list[float]  # those of one-text requests
    completed: int
    errors: list[str]
    wall: float
    tokens: int
    client_cpu: float

    def summary(self) -> dict[str, Any]:
        lat = np.asarray(self.latencies) * 1e3
        single = np.asarray(self.single_latencies) * 1e3
        return {
            "completed": self.completed,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "wall_s": self.wall,
            "real_tokens": self.tokens,
            "requests_per_s": self.completed / self.wall,
            "real_tokens_per_s": self.tokens / self.wall,
            "p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
            "p90_ms": float(np.percentile(lat, 90)) if lat.size else None,
            "p99_ms": float(np.percentile(lat, 99)) if lat.size else None,
            "max_ms": float(lat.max()) if lat.size else None,
            "single_text_p50_ms": float(np.percentile(single, 50)) if single.size else None,
            "client_cpu_s": self.client_cpu,
        }


async def _load(
    url: str, requests: list[Request], bodies: list[bytes], clients: int, budget: float
) -> LevelRun:
    """``clients`` workers sending the requests back to back, each taking the next unsent one; no new request
    starts after ``budget`` seconds."""
    latencies: list[float | None] = [None] * len(requests)
    errors: list[str] = []
    next_index = 0
    headers = {"content-type": "application/json"}
    # One connection per client, as separate users have: one shared pool of 64 connections took the client
    # process (which shares the CPUs with the server here) over twice the CPU per request.
    pool = [httpx.AsyncClient(base_url=url, timeout=REQUEST_S) for _ in range(clients)]
    async with contextlib.AsyncExitStack() as stack:
        for client in pool:
            await stack.enter_async_context(client)
        start = time.perf_counter()
        cpu0 = time.process_time()

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal next_index
            while next_index < len(requests) and time.perf_counter() - start < budget:
                i = next_index
                next_index += 1
                t0 = time.perf_counter()
                try:
                    response = await client.post("/embed", content=bodies[i], headers=headers)
                except httpx.HTTPError as exc:
                    errors.append(f"request {i}: {type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - t0
                if response.status_code != 200:
                    errors.append(f"request {i}: HTTP {response.status_code}: {response.text[:200]}")
                    continue
                vectors = response.json()
                if len(vectors) != len(requests[i].texts):
                    errors.append(f"request {i}: {len(vectors)} vectors for {len(requests[i].texts)} texts")
                    continue
                latencies[i] = elapsed

        await asyncio.wait_for(asyncio.gather(*(worker(c) for c in pool)), budget + 2 * REQUEST_S)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    done = [i for i, t in enumerate(latencies) if t is not None]
    return LevelRun(
        latencies=[latencies[i] for i in done],  # type: ignore[misc]
        single_latencies=[latencies[i] for i in done if requests[i].single],  # type: ignore[misc]
        completed=len(done),
        errors=errors,
        wall=wall,
        tokens=sum(requests[i].tokens for i in done),
        client_cpu=cpu,
    )


def run_level(
    server: ServerProcess, requests: list[Request], bodies: list[bytes], clients: int, budget: float
) -> dict[str, Any]:
    """One level against one server: the client-side summary, the server's CPU seconds and, for bertcore,
    its batching counters over the level."""
    is_bc = server.name == "bertcore"
    before = bertcore_metrics(server.url) if is_bc else None
    cpu0, machine0 = server.cpu_seconds(), machine_cpu_seconds()
    run = asyncio.run(_load(server.url, requests, bodies, clients, budget))
    cpu1, machine1 = server.cpu_seconds(), machine_cpu_seconds()
    out = run.summary()
    out["server_cpu_s"] = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
    out["machine_busy_cpu_s"] = None if machine0 is None or machine1 is None else machine1 - machine0
    if out["server_cpu_s"] is not None and out["machine_busy_cpu_s"] is not None:
        # what neither the server nor the client used: other processes (the other server's idle threads too)
        out["other_cpu_s"] = out["machine_busy_cpu_s"] - out["server_cpu_s"] - run.client_cpu
        out["other_cpu_share"] = out["other_cpu_s"] / (run.wall * (os.cpu_count() or 1))
    if before is not None:
        after = bertcore_metrics(server.url)
        delta = {k: after[k] - before[k] for k in after}
        calls = delta["inference_seconds_count"]
        out["batching"] = {
            "forward_calls": int(calls),
            "mean_real_tokens_per_call": delta["batch_tokens_sum"] / calls if calls else None,
            "forward_seconds": delta["inference_seconds_sum"],
            "forward_share_of_wall": delta["inference_seconds_sum"] / run.wall,
            "real_tokens_per_forward_s": delta["batch_tokens_sum"] / delta["inference_seconds_sum"]
            if delta["inference_seconds_sum"]
            else None,
            "mean_queue_ms_of_oldest": 1e3 * delta["queue_seconds_sum"] / calls if calls else None,
        }
    if run.errors:
        print(f"  {server.name} at {clients} clients: {len(run.errors)} errors, first: {run.errors[0]}")
    out["_latencies"] = (run.latencies, run.single_latencies)  # pooled over the rounds, then dropped
    return out


def combine_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One level of one server over its rounds: rates and batching figures are the median of the rounds'
    values, latency percentiles are over all the rounds' requests together; each round's own figures kept."""
    latencies = np.asarray([t for r in rounds for t in r["_latencies"][0]]) * 1e3
    single = np.asarray([t for r in rounds for t in r["_latencies"][1]]) * 1e3
    per_round = [{k: v for k, v in r.items() if k != "_latencies"} for r in rounds]

    def median(key: str, part: str | None = None) -> float | None:
        values = [(r.get(part) or {}).get(key) if part else r.get(key) for r in per_round]
        values = [v for v in values if v is not None]
        return float(np.median(values)) if values else None

    out: dict[str, Any] = {
        "requests_per_s": median("requests_per_s"),
        "real_tokens_per_s": median("real_tokens_per_s"),
        "p50_ms": float(np.percentile(latencies, 50)) if latencies.size else None,
        "p90_ms": float(np.percentile(latencies, 90)) if latencies.size else None,
        "p99_ms": float(np.percentile(latencies, 99)) if latencies.size else None,
        "single_text_p50_ms": float(np.percentile(single, 50)) if single.size else None,
        "errors": sum(r["errors"] for r in per_round),
        "other_cpu_share": median("other_cpu_share"),
        "rounds": per_round,
    }
    if "batching" in per_round[0]:
        out["batching"] = {k: median(k, "batching") for k in per_round[0]["batching"]}
    return out
