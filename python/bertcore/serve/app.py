"""The ASGI application of ``bertcore serve``: OpenAI- and TEI-shaped endpoints in front of one batching thread.

Models load on a background thread after the server starts (``/health`` is 503 until then). Each request is
checked (API key, body size, JSON, types, input count), tokenized (a small request on the event loop, a
large one on the thread pool), queued as token rows and answered from the batching thread's results; any failure
is one JSON error in its API's shape, and concerns that request only. Bodies are parsed and written by orjson,
which writes float32 vectors straight from numpy in their shortest form, about 20x faster than ``json`` on
lists of Python floats.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import logging
import threading
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Optional, TypeVar

import numpy as np
import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._version import __version__
from ..encode import SentenceEncoder
from ..rerank import CrossEncoder
from ..sentence_layers import l2_normalize
from . import protocol
from .batcher import Batcher, Draining, QueueFull
from .protocol import ApiError

log = logging.getLogger("bertcore.serve")

T = TypeVar("T")

# Requests with fewer characters are tokenized on the event loop: that takes less than the hop to the
# thread pool and back.
INLINE_CHARS = 2048


class JSONResponse(Response):
    """A JSON response written by orjson; numpy arrays and scalars in the content are written as numbers."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


async def off_loop(chars: int, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``: inline for a request of at most INLINE_CHARS characters, else on the thread pool."""
    if chars <= INLINE_CHARS:
        return fn(*args)
    return await run_in_threadpool(fn, *args)


def _chars(texts: Optional[List[str]]) -> int:
    return sum(len(t) for t in texts or ())


@dataclass(frozen=True)
class ServeSettings:
    """What ``bertcore serve`` runs and its limits.

    Attributes:
        model: embedding model directory (``/v1/embeddings``, ``/embed``, ``/tokenize``), or None.
        reranker: cross-encoder directory (``/rerank``), or None. At least one of the two.
        dtype, num_threads: as for ``from_pretrained``.
        max_batch_tokens: real tokens per forward call.
        max_queue: inputs waiting at most; more gets 429.
        max_client_batch_size: inputs per request at most; more gets 413.
        max_body_bytes: request body size at most; more gets 413.
        api_key: when set, every endpoint but ``/health`` needs ``Authorization: Bearer <key>``.
        model_id: the name reported in responses (default: the model directory's name).
    """

    model: Optional[str] = None
    reranker: Optional[str] = None
    dtype: str = "float32"
    num_threads: Optional[int] = None
    max_batch_tokens: int = 16384
    max_queue: int = 4096
    max_client_batch_size: int = 512
    max_body_bytes: int = 4 << 20
    api_key: Optional[str] = None
    model_id: Optional[str] = None

    def __post_init__(self) -> None:
        if self.model is None and self.reranker is None:
            raise ValueError("bertcore serve needs --model (embeddings), --reranker, or both")
        for name in ("max_batch_tokens", "max_queue", "max_client_batch_size", "max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")


class Metrics:
    """Prometheus metrics of one server, in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "bertcore_requests",
            "Requests by endpoint and HTTP status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.queue = Histogram(
            "bertcore_queue_seconds", "Time a batch's oldest request waited in the queue", ["kind"],
            registry=self.registry,
        )  # fmt: skip
        self.inference = Histogram(
            "bertcore_inference_seconds", "Forward time of one batch", ["kind"], registry=self.registry
        )
        self.batch_tokens = Histogram(
            "bertcore_batch_tokens", "Real tokens per batch", ["kind"], registry=self.registry,
            buckets=(16, 64, 256, 1024, 4096, 16384, 65536),
        )  # fmt: skip
        self.queued = Gauge("bertcore_queued_inputs", "Inputs waiting in the queue", registry=self.registry)

    def observe_batch(self, kind: str, waited: float, seconds: float, tokens: int) -> None:
        self.queue.labels(kind).observe(waited)
        self.inference.labels(kind).observe(seconds)
        self.batch_tokens.labels(kind).observe(tokens)


class Service:
    """The server's state: settings, models, the batching thread, readiness and draining."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.encoder: Optional[SentenceEncoder] = None
        self.reranker: Optional[CrossEncoder] = None
        self.batcher: Optional[Batcher] = None
        self.ready = threading.Event()
        self.load_error: Optional[str] = None
        self.draining = False
        self.on_load_failure: Callable[[], None] = lambda: None

    def load(self) -> None:
        """Loads the models and starts the batching thread (on a background thread)."""
        s = self.settings
        try:
            runners: Dict[str, Callable[[List[Any]], np.ndarray]] = {}
            if s.model is not None:
                self.encoder = SentenceEncoder.from_pretrained(
                    s.model, num_threads=s.num_threads, dtype=s.dtype
                )
                if self.encoder.pooling is None:
                    raise ValueError(f"{s.model} has no Pooling module, so no sentence embeddings")
                runners["embed"] = self.encoder.embed_token_rows
            if s.reranker is not None:
                self.reranker = CrossEncoder.from_pretrained(
                    s.reranker, num_threads=s.num_threads, dtype=s.dtype
                )
                if self.reranker.num_labels != 1:
                    raise ValueError(f"{s.reranker} has {self.reranker.num_labels} labels; /rerank needs one")
                runners["rerank"] = self.reranker.score_pair_rows
        except (OSError, ValueError, TypeError) as exc:
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("could not load the models: %s", self.load_error)
            self.on_load_failure()
            return
        self.batcher = Batcher(runners, s.max_batch_tokens, s.max_queue, self.metrics.observe_batch)
        self.ready.set()
        log.info("models loaded; serving")

    def shutdown(self) -> None:
        self.draining = True
        if self.batcher is not None:
            self.batcher.drain()

    @property
    def model_id(self) -> str:
        s = self.settings
        if s.model_id:
            return s.model_id
        path = (s.model or s.reranker or "").rstrip("/")
        return path.rsplit("/", 1)[-1]

    # ------------------------------------------------------------------ request handling
    def check_key(self, request: Request) -> None:
        key = self.settings.api_key
        if key:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
                raise ApiError("unauthorized", "missing or wrong API key; send 'Authorization: Bearer <key>'")

    def check_admission(self, request: Request, needs_key: bool = True) -> None:
        if needs_key:
            self.check_key(request)
        if self.draining:
            raise ApiError("unavailable", "the server is shutting down")
        if not self.ready.is_set():
            raise ApiError("unavailable", self.load_error or "the model is loading; retry shortly")

    async def read_json(self, request: Request) -> Dict[str, Any]:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ApiError(
                "too_large", f"the request body has {declared} bytes, more than the limit of {limit}"
            )
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError("too_large", f"the request body is over the limit of {limit} bytes")
            chunks.append(chunk)
        try:
            body = orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError as exc:
            raise ApiError("invalid", f"the request body is not valid JSON: {exc}") from exc
        return protocol.check_object(body)

    async def run(self, kind: str, rows: List[Any], lengths: List[int]) -> np.ndarray:
        if self.batcher is None:
            raise ApiError("unavailable", "the model is loading; retry shortly")
        try:
            future = self.batcher.submit(kind, rows, lengths)
        except QueueFull as exc:
            raise ApiError("overloaded", str(exc)) from exc
        except Draining as exc:
            raise ApiError("unavailable", str(exc)) from exc
        finally:
            self.metrics.queued.set(self.batcher.queued_rows)
        return await future

    def need_encoder(self) -> SentenceEncoder:
        if self.encoder is None:
            raise ApiError("not_found", "this server has no embedding model; start it with --model")
        return self.encoder

    def need_reranker(self) -> CrossEncoder:
        if self.reranker is None:
            raise ApiError("not_found", "this server has no reranker; start it with --reranker")
        return self.reranker


async def _embed(service: Service, req: protocol.EmbeddingsRequest) -> tuple[np.ndarray, int]:
    """Sentence embeddings (float32, n x dims) and the tokens they took."""
    encoder = service.need_encoder()
    dim = encoder.get_sentence_embedding_dimension()
    if req.dimensions is not None and dim is not None and req.dimensions > dim:
        raise ApiError("invalid", f"'dimensions' is {req.dimensions}, above the model's {dim}", "dimensions")

    def tokenize() -> List[List[int]]:
        if req.token_ids is not None:
            return [encoder.frame_token_ids(ids, req.truncate, i) for i, ids in enumerate(req.token_ids)]
        return encoder.token_rows(req.texts or [], req.truncate)

    chars = sum(len(ids) for ids in req.token_ids) if req.token_ids is not None else _chars(req.texts)
    try:
        rows = await off_loop(chars, tokenize)
    except ValueError as exc:
        raise ApiError("too_large", str(exc), "input") from exc
    lengths = protocol.tokens_of(rows)
    vectors = await service.run("embed", rows, lengths)
    if req.dimensions is not None:
        vectors = np.ascontiguousarray(vectors[:, : req.dimensions])
        if encoder.normalizes:  # a shortened unit vector is made unit again, as the full one was
            vectors = l2_normalize(vectors)
    if req.normalize:
        vectors = l2_normalize(vectors)
    return vectors.astype(np.float32, copy=False), sum(lengths)


async def openai_embeddings(service: Service, body: Dict[str, Any]) -> Any:
    vocab = service.need_encoder().model.config.vocab_size
    req = protocol.openai_embeddings(body, service.settings.max_client_batch_size, vocab)
    vectors, tokens = await _embed(service, req)
    data = []
    for i, v in enumerate(vectors):
        embedding: Any = base64.b64encode(v.astype("<f4").tobytes()).decode("ascii") if req.base64 else v
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    return {
        "object": "list",
        "data": data,
        "model": body.get("model") or service.model_id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


async def tei_embed(service: Service, body: Dict[str, Any]) -> Any:
    req = protocol.tei_embed(body, service.settings.max_client_batch_size)
    vectors, _ = await _embed(service, req)
    return vectors


async def tei_rerank(service: Service, body: Dict[str, Any]) -> Any:
    reranker = service.need_reranker()
    req = protocol.tei_rerank(body, service.settings.max_client_batch_size)
    try:
        chars = len(req.query) * len(req.texts) + _chars(req.texts)
        rows = await off_loop(chars, reranker.pair_rows, req.query, req.texts, req.truncate)
    except ValueError as exc:
        raise ApiError("too_large", str(exc), "texts") from exc
    logits = await service.run("rerank", rows, [len(ids) for ids, _ in rows])
    scores = logits if req.raw_scores else reranker.activate(logits)
    ranked = sorted(range(len(req.texts)), key=lambda i: -float(scores[i]))
    out = []
    for i in ranked:
        item: Dict[str, Any] = {"index": i, "score": float(scores[i])}
        if req.return_text:
            item["text"] = req.texts[i]
        out.append(item)
    return out


async def tei_tokenize(service: Service, body: Dict[str, Any]) -> Any:
    encoder = service.need_encoder()
    req = protocol.tei_tokenize(body, service.settings.max_client_batch_size)

    def spans() -> List[List[Dict[str, Any]]]:
        return [
            [
                {
                    "id": i,
                    "text": t,
                    "special": special,
                    "start": None if special else a,
                    "stop": None if special else b,
                }
                for i, t, special, a, b in encoder.tokenizer.token_spans(text, req.add_special_tokens)
            ]
            for text in req.texts
        ]

    return await off_loop(_chars(req.texts), spans)


def create_app(settings: ServeSettings, service: Optional[Service] = None) -> Starlette:
    """The Starlette app serving ``settings``; models load in the background once it starts."""
    service = service or Service(settings)

    def endpoint(
        name: str, style: str, handler: Callable[[Service, Dict[str, Any]], Awaitable[Any]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def call(request: Request) -> Response:
            try:
                service.check_admission(request)
                result = await handler(service, await service.read_json(request))
                response: Response = JSONResponse(result)
            except ApiError as exc:
                response = JSONResponse(exc.body(style), status_code=exc.status)
            except Exception:  # a bug must cost this request only, with a logged trace
                log.exception("error serving %s", name)
                error = ApiError("internal", "internal error; see the server log")
                response = JSONResponse(error.body(style), status_code=error.status)
            service.metrics.requests.labels(name, str(response.status_code)).inc()
            return response

        return call

    async def health(request: Request) -> Response:
        try:
            service.check_admission(request, needs_key=False)
        except ApiError as exc:
            return JSONResponse(exc.body("tei"), status_code=exc.status)
        return JSONResponse({"status": "ok"})

    async def info(request: Request) -> Response:
        try:
            service.check_admission(request)
        except ApiError as exc:
            return JSONResponse(exc.body("tei"), status_code=exc.status)
        s = settings
        model_type: Dict[str, Any] = {}
        if service.encoder is not None:
            pooling = service.encoder.pooling
            model_type["embedding"] = {"pooling": ",".join(pooling.modes) if pooling is not None else None}
        if service.reranker is not None:
            model_type["reranker"] = {"id2label": {"0": "score"}}
        max_input = service.encoder.max_seq_length if service.encoder else service.need_reranker().max_length
        return JSONResponse(
            {
                "model_id": service.model_id,
                "model_dtype": s.dtype,
                "model_type": model_type,
                "max_input_length": max_input,
                "max_batch_tokens": s.max_batch_tokens,
                "max_concurrent_requests": s.max_queue,
                "max_client_batch_size": s.max_client_batch_size,
                "version": __version__,
                "runtime": "bertcore",
            }
        )

    async def metrics(request: Request) -> Response:
        try:
            service.check_key(request)
        except ApiError as exc:
            return JSONResponse(exc.body("tei"), status_code=exc.status)
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=service.load, name="bertcore-load", daemon=True).start()
        yield
        await run_in_threadpool(service.shutdown)

    routes = [
        Route("/v1/embeddings", endpoint("/v1/embeddings", "openai", openai_embeddings), methods=["POST"]),
        Route("/embed", endpoint("/embed", "tei", tei_embed), methods=["POST"]),
        Route("/rerank", endpoint("/rerank", "tei", tei_rerank), methods=["POST"]),
        Route("/tokenize", endpoint("/tokenize", "tei", tei_tokenize), methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/info", info, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return app
