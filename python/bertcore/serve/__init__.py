"""``bertcore serve``: embeddings and reranking over HTTP (``pip install 'bertcore[serve]'``).

One process, one batching thread that owns the models, continuous batching by a budget of real tokens.
Endpoints: OpenAI ``POST /v1/embeddings``; Text Embeddings Inference's ``POST /embed``, ``/rerank``,
``/tokenize``, ``GET /health``, ``/info``; Prometheus ``GET /metrics``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from types import FrameType
from typing import Iterator, Optional

from .app import ServeSettings, Service, create_app

__all__ = ["ServeSettings", "Service", "create_app", "serve"]


def serve(settings: ServeSettings, host: str = "127.0.0.1", port: int = 8080, log_level: str = "info") -> int:
    """Runs the server until SIGINT/SIGTERM: then it stops admitting requests (503), finishes the accepted
    ones and exits. Returns the exit status: 1 when the models could not be loaded."""
    try:
        import uvicorn
    except ImportError as exc:
        raise ImportError("bertcore serve needs its extra: pip install 'bertcore[serve]'") from exc

    service = Service(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Optional[FrameType]) -> None:
            service.draining = True  # /health and new requests get 503 while the accepted ones finish
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn's own re-raises the signal after the graceful shutdown, so the process would end by
            # SIGTERM rather than with serve()'s status.
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    config = uvicorn.Config(
        create_app(settings, service), host=host, port=port, log_level=log_level, lifespan="on",
        timeout_graceful_shutdown=60,
    )  # fmt: skip
    server = Server(config)

    def stop() -> None:
        server.handle_exit(signal.SIGTERM, None)

    service.on_load_failure = stop
    logging.getLogger("bertcore.serve").setLevel(log_level.upper())
    server.run()
    return 1 if service.load_error else 0
