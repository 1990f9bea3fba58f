"""The common baseline of bench_serve.py: a hand-written FastAPI server around sentence-transformers.

``POST /embed`` takes TEI's body (``{"inputs": str | [str], "normalize": bool}``; ``truncate`` is accepted and
ignored, since sentence-transformers always cuts at ``max_seq_length``) and answers with the list of vectors;
``GET /health`` answers once the model is loaded. One request is one ``SentenceTransformer.encode`` call, as
in the usual wrapper: no batching across requests. torch gets ``--threads`` intra-op threads and one inter-op
thread. ``--handler threadpool`` (the default) is FastAPI's documented way to serve blocking code, a plain
``def`` endpoint run on its thread pool, so concurrent requests run concurrent ``encode`` calls;
``--handler async`` calls ``encode`` from an ``async def`` endpoint on the event loop, one at a time.

Not imported by the benchmark: it runs as its own process (``python benchmarks/_st_server.py --model DIR
--port P``). No ``from __future__ import annotations`` here: FastAPI reads the annotations at run time.
"""

import argparse
from typing import List, Union

from pydantic import BaseModel


class EmbedRequest(BaseModel):
    inputs: Union[str, List[str]]
    normalize: bool = True
    truncate: bool = False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--handler", choices=("threadpool", "async"), default="threadpool")
    args = ap.parse_args()

    import torch
    import uvicorn
    from fastapi import FastAPI
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    model = SentenceTransformer(args.model, device="cpu")
    app = FastAPI()

    def encode(req: EmbedRequest) -> List[List[float]]:
        texts = [req.inputs] if isinstance(req.inputs, str) else req.inputs
        return model.encode(texts, normalize_embeddings=req.normalize, show_progress_bar=False).tolist()

    if args.handler == "threadpool":

        @app.post("/embed")
        def embed(req: EmbedRequest):  # no return annotation, as usual: FastAPI's jsonable_encoder + json
            return encode(req)

    else:

        @app.post("/embed")
        async def embed_async(req: EmbedRequest):
            return encode(req)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
