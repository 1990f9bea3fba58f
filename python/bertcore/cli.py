"""The ``bertcore`` command: embed, rerank, info, convert, bench.

    bertcore embed --model DIR [--pooling MODE] [--normalize] [--batch-size N] [-o OUT.npy|OUT.jsonl] [FILE|-]
    bertcore rerank --model DIR --query Q [--top-k K] [FILE|-]
    bertcore info [--json]
    bertcore convert DIR
    bertcore bench --model DIR [--batch B] [--seq S] [--threads T] [--repeats R] [--no-torch] [--json]

Input (embed, rerank): a file or ``-`` (stdin, the default). As text, every line is one text (a blank line is
an empty text, so row i is line i); as JSONL (``--format jsonl``, or a ``.jsonl``/``.ndjson`` file), every
non-blank line is a JSON object whose ``--text-field`` (default ``text``) is the text, or a JSON string. An
``id`` field of a JSONL record is copied to the output.

Output: ``embed`` writes a float32 (n, dim) ``.npy`` file, or JSONL (``{"index": i, "embedding": [...]}``
per text, in input order) to a ``.jsonl`` file or stdout; ``rerank`` prints JSONL
``{"corpus_id": i, "score": s, "text": ...}`` best first. Progress bars and warnings go to stderr.

Exit status: 0 on success; 1 with one ``bertcore: error: ...`` line on stderr when something is wrong (a
missing model, bad input); 2 for a usage error. ``BERTCORE_DEBUG=1`` shows the traceback of unexpected errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from typing import IO, Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._version import __version__
from .models.loading import DTYPES

JSONL_SUFFIXES = (".jsonl", ".ndjson")


class CliError(Exception):
    """A problem with the command's input or arguments, reported as one line."""


# ------------------------------------------------------------------------------------------------- input


def _read_input(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    if not os.path.isfile(path):
        raise CliError(f"input file {path!r} does not exist")
    with open(path, encoding="utf-8") as f:
        return f.read()


def _input_format(path: str, fmt: Optional[str]) -> str:
    if fmt is not None:
        return fmt
    return "jsonl" if path.lower().endswith(JSONL_SUFFIXES) else "text"


def read_texts(path: str, fmt: Optional[str], field: str) -> Tuple[List[str], List[Any]]:
    """(texts, ids): ids[i] is the JSONL record's "id" (or None)."""
    data = _read_input(path)
    if _input_format(path, fmt) == "text":
        lines = data.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        rows = [line[:-1] if line.endswith("\r") else line for line in lines]
        return rows, [None] * len(rows)
    texts: List[str] = []
    ids: List[Any] = []
    for number, line in enumerate(data.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise CliError(f"input line {number} is not valid JSON: {e.msg}") from e
        if isinstance(record, str):
            texts.append(record)
            ids.append(None)
            continue
        if not isinstance(record, dict) or not isinstance(record.get(field), str):
            raise CliError(f"input line {number} has no string field {field!r}")
        texts.append(record[field])
        ids.append(record.get("id"))
    return texts, ids


# ------------------------------------------------------------------------------------------------ output


def _json_floats(row: np.ndarray) -> str:
    """A float32 vector as a JSON array, each value with 9 significant digits (round-trips float32)."""
    if np.isfinite(row).all():
        return "[" + ",".join(f"{v:.9g}" for v in row.tolist()) + "]"
    return json.dumps([float(f"{v:.9g}") for v in row.tolist()])


def _open_output(path: Optional[str]) -> IO[str]:
    if path is None or path == "-":
        return sys.stdout
    return open(path, "w", encoding="utf-8")


def check_embedding_output(output: Optional[str]) -> None:
    if output in (None, "-") or output.lower().endswith((".npy", *JSONL_SUFFIXES)):
        return
    raise CliError(f"--output {output!r}: use a .npy or .jsonl file name (or - for JSONL on stdout)")


def write_embeddings(embeddings: np.ndarray, ids: Sequence[Any], output: Optional[str]) -> None:
    if output is not None and output.lower().endswith(".npy"):
        np.save(output, np.ascontiguousarray(embeddings, dtype=np.float32))
        return
    out = _open_output(output)
    try:
        for i, (row, record_id) in enumerate(zip(embeddings, ids)):
            head = f'{{"index": {i}, ' + (f'"id": {json.dumps(record_id)}, ' if record_id is not None else "")
            out.write(head + f'"embedding": {_json_floats(row)}}}\n')
    finally:
        if out is not sys.stdout:
            out.close()


# ---------------------------------------------------------------------------------------------- commands


def cmd_embed(args: argparse.Namespace) -> None:
    from .encode import SentenceEncoder

    if args.ray:
        cmd_embed_ray(args)
        return
    check_embedding_output(args.output)
    texts, ids = read_texts(args.input, args.format, args.text_field)
    pooling = None if args.pooling is None else tuple(m.strip() for m in args.pooling.split(","))
    encoder = SentenceEncoder.from_pretrained(
        args.model,
        num_threads=args.threads,
        pooling=pooling,
        max_seq_length=args.max_seq_length,
        dtype=args.dtype,
    )
    embeddings = encoder.encode(
        texts,
        prompt=args.prompt,
        batch_size=args.batch_size,
        show_progress_bar=not args.no_progress,
        normalize_embeddings=args.normalize,
        long_text=args.long_text,
    )
    write_embeddings(embeddings, ids, args.output)


def cmd_embed_ray(args: argparse.Namespace) -> None:
    from .ray import embed_parquet

    if args.input == "-" or not args.output:
        raise CliError("--ray reads a Parquet file or folder and writes a folder: pass INPUT and -o OUT_DIR")
    for flag, value in (
        ("--pooling", args.pooling),
        ("--prompt", args.prompt),
        ("--max-seq-length", args.max_seq_length),
    ):
        if value is not None:
            raise CliError(f"{flag} is not supported with --ray (the model's own settings are used)")
    rows = embed_parquet(
        args.input,
        args.output,
        args.model,
        column=args.text_field,
        id_column=args.id_column,
        address=args.address,
        dtype=args.dtype,
        num_actors=args.actors,
        cpus_per_actor=args.cpus_per_actor,
        batch_size=args.batch_size,
        normalize_embeddings=args.normalize,
        progress=not args.no_progress,
    )
    print(f"wrote {rows} embeddings to {args.output}", file=sys.stderr)


def cmd_rerank(args: argparse.Namespace) -> None:
    from .rerank import CrossEncoder

    docs, ids = read_texts(args.input, args.format, args.text_field)
    reranker = CrossEncoder.from_pretrained(
        args.model, num_threads=args.threads, max_length=args.max_length, dtype=args.dtype
    )
    ranked = reranker.rank(
        args.query,
        docs,
        top_k=args.top_k,
        return_documents=True,
        batch_size=args.batch_size,
        show_progress_bar=not args.no_progress,
    )
    out = _open_output(args.output)
    try:
        for item in ranked:
            record: Dict[str, Any] = {"corpus_id": item["corpus_id"]}
            if ids[item["corpus_id"]] is not None:
                record["id"] = ids[item["corpus_id"]]
            record["score"] = float(f"{item['score']:.9g}")
            record["text"] = item["text"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()


def cmd_info(args: argparse.Namespace) -> None:
    from .cpu import cpu_info

    info = cpu_info()
    info = {"version": __version__, **info, "BERTCORE_ISA": os.environ.get("BERTCORE_ISA")}
    if args.json:
        print(json.dumps(info, indent=2))
        return
    features = " ".join(k for k, v in info.get("features", {}).items() if v)
    forced = f" (forced by BERTCORE_ISA={info['BERTCORE_ISA']})" if info["BERTCORE_ISA"] else ""
    omp = os.environ.get("OMP_NUM_THREADS")
    print(f"bertcore {__version__}")
    print(f"cpu:            {info.get('brand', '?')} ({info.get('vendor', '?')})")
    print(f"features:       {features or '-'}")
    print(f"supported ISAs: {', '.join(info['supported_isas'])}")
    print(f"best ISA:       {info['best_isa']}")
    print(f"active ISA:     {info['isa']}{forced}")
    print(
        f"threads:        {info['num_threads']} (available CPUs {info['available_cpus']}"
        + (f", OMP_NUM_THREADS={omp})" if omp else ")")
    )
    runtime = f" ({info['openmp_runtime']})" if info.get("openmp_runtime") else ""
    print(f"openmp:         {'yes' if info.get('openmp') else 'no'}{runtime}")


def cmd_convert(args: argparse.Namespace) -> None:
    import bertcore

    convert = getattr(bertcore, "convert_to_safetensors", None)
    if convert is None:
        raise CliError("this bertcore build has no convert_to_safetensors (no pytorch_model.bin conversion)")
    result = convert(args.model_dir, overwrite=True) if args.overwrite else convert(args.model_dir)
    if result is None:
        print(f"converted {args.model_dir}")
    elif isinstance(result, (list, tuple)):
        for path in result:
            print(f"wrote {os.fspath(path)}")
    else:
        print(f"wrote {os.fspath(result) if isinstance(result, os.PathLike) else result}")


def cmd_bench(args: argparse.Namespace) -> None:
    from .bench import run_bench

    report = run_bench(
        args.model,
        batch=args.batch,
        seq=args.seq,
        threads=args.threads,
        repeats=args.repeats,
        warmup=args.warmup,
        with_torch=not args.no_torch,
        dtype=args.dtype,
    )
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.table())


# ---------------------------------------------------------------------------------------------- parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_input(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("input", nargs="?", default="-", help=f"{what}: a file, or - for stdin (default)")
    p.add_argument(
        "--format", choices=("text", "jsonl"), help="input format (default: by extension, else text)"
    )
    p.add_argument("--text-field", default="text", help="JSONL field holding the text (default: text)")
    p.add_argument("--batch-size", type=_positive, default=32, help="texts per forward call (default: 32)")
    p.add_argument("--threads", type=_positive, help="threads (default: OMP_NUM_THREADS, else usable CPUs)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    _add_dtype(p)


def _add_dtype(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dtype",
        choices=DTYPES,
        default="float32",
        help="weights of the dense layers: float32 (exact, default), bfloat16 or int8",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bertcore", description="Fast, exact BERT-family encoders on CPU.", allow_abbrev=False
    )
    parser.add_argument("--version", action="version", version=f"bertcore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("embed", help="sentence embeddings of texts", allow_abbrev=False)
    p.add_argument("--model", required=True, help="model directory (sentence-transformers or Hugging Face)")
    p.add_argument(
        "--pooling",
        help="pooling mode(s), comma-separated: cls, mean, max, mean_sqrt_len_tokens, weightedmean, "
        "lasttoken (default: the model's)",
    )
    p.add_argument("--normalize", action="store_true", help="L2-normalise the embeddings")
    p.add_argument("--max-seq-length", type=_positive, help="tokens per text (default: the model's)")
    p.add_argument(
        "--long-text",
        choices=("truncate", "chunk"),
        default="truncate",
        help="texts over max-seq-length: truncate (default) or embed overlapping chunks",
    )
    p.add_argument("--prompt", help="text put before every input text")
    p.add_argument(
        "--output", "-o", help="FILE.npy or FILE.jsonl (default: JSONL on stdout); with --ray, a folder"
    )
    p.add_argument(
        "--ray",
        action="store_true",
        help="embed a Parquet file or folder on a Ray cluster into Parquet files",
    )
    p.add_argument(
        "--address", help="with --ray: the cluster ('auto': the running one; default: start a local one)"
    )
    p.add_argument(
        "--id-column", help="with --ray: the column carried to the output (default: id, if present)"
    )
    p.add_argument(
        "--actors", type=_positive, help="with --ray: actors (default: as many as fit, leaving room)"
    )
    p.add_argument(
        "--cpus-per-actor", type=_positive, default=1, help="with --ray: CPUs and threads per actor"
    )
    _add_input(p, "texts")
    p.set_defaults(run=cmd_embed)

    p = sub.add_parser("rerank", help="rank documents for a query with a cross-encoder", allow_abbrev=False)
    p.add_argument("--model", required=True, help="sequence-classification (cross-encoder) model directory")
    p.add_argument("--query", required=True, help="the query")
    p.add_argument("--top-k", type=_positive, help="print only the best K documents")
    p.add_argument(
        "--max-length", type=_positive, help="tokens per query-document pair (default: the model's)"
    )
    p.add_argument("--output", "-o", help="JSONL file (default: stdout)")
    _add_input(p, "documents, one per line")
    p.set_defaults(run=cmd_rerank)

    p = sub.add_parser("info", help="version, CPU, ISAs and threads", allow_abbrev=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_info)

    p = sub.add_parser(
        "convert", help="convert a pytorch_model.bin directory to safetensors", allow_abbrev=False
    )
    p.add_argument("model_dir", help="model directory")
    p.add_argument("--overwrite", action="store_true", help="replace existing safetensors weights")
    p.set_defaults(run=cmd_convert)

    p = sub.add_parser("bench", help="time a forward pass (bertcore, and transformers+torch if installed)",
                       allow_abbrev=False)  # fmt: skip
    p.add_argument("--model", required=True, help="model directory")
    p.add_argument("--batch", type=_positive, default=8, help="sequences per call (default: 8)")
    p.add_argument("--seq", type=_positive, default=128, help="tokens per sequence (default: 128)")
    p.add_argument("--threads", type=_positive, help="threads (default: OMP_NUM_THREADS, else usable CPUs)")
    p.add_argument("--repeats", type=_positive, default=10, help="timed calls (default: 10)")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls first (default: 2)")
    p.add_argument("--no-torch", action="store_true", help="time bertcore only")
    _add_dtype(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_bench)

    p = sub.add_parser(
        "serve",
        help="embeddings and reranking over HTTP (needs pip install 'bertcore[serve]')",
        allow_abbrev=False,
    )
    p.add_argument("--model", help="embedding model directory (/v1/embeddings, /embed, /tokenize)")
    p.add_argument("--reranker", help="cross-encoder directory (/rerank)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_positive, default=8080, help="port (default: 8080)")
    p.add_argument("--threads", type=_positive, help="threads per forward call (default: usable CPUs)")
    p.add_argument("--max-batch-tokens", type=_positive, default=16384, help="real tokens per forward call")
    p.add_argument("--max-queue", type=_positive, default=4096, help="inputs waiting at most (then 429)")
    p.add_argument(
        "--max-client-batch-size", type=_positive, default=512, help="inputs per request (then 413)"
    )
    p.add_argument("--max-body-bytes", type=_positive, default=4 << 20, help="request body size (then 413)")
    p.add_argument("--api-key", help="require 'Authorization: Bearer KEY' (default: env BERTCORE_API_KEY)")
    p.add_argument("--model-id", help="model name in responses (default: the directory's name)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    _add_dtype(p)
    p.set_defaults(run=cmd_serve)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        from .serve import ServeSettings, serve
    except ImportError as exc:
        raise ValueError(f"bertcore serve needs its extra ({exc}): pip install 'bertcore[serve]'") from exc
    settings = ServeSettings(
        model=args.model,
        reranker=args.reranker,
        dtype=args.dtype,
        num_threads=args.threads,
        max_batch_tokens=args.max_batch_tokens,
        max_queue=args.max_queue,
        max_client_batch_size=args.max_client_batch_size,
        max_body_bytes=args.max_body_bytes,
        api_key=args.api_key or os.environ.get("BERTCORE_API_KEY") or None,
        model_id=args.model_id,
    )
    return serve(settings, args.host, args.port, args.log_level)


# ------------------------------------------------------------------------------------------------- main


def _one_line(message: str) -> str:
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help, --version (0) and usage errors (2)
        return int(e.code) if isinstance(e.code, int) else 2

    def show_warning(message: Any, category: Any, *rest: Any, **kw: Any) -> None:
        print(f"bertcore: warning: {_one_line(str(message))}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            status = args.run(args)
        except (CliError, ValueError, TypeError, OSError) as e:
            if os.environ.get("BERTCORE_DEBUG") and not isinstance(e, CliError):
                raise
            if isinstance(e, BrokenPipeError):
                return _broken_pipe()
            print(f"bertcore: error: {_one_line(str(e)) or type(e).__name__}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bertcore: interrupted", file=sys.stderr)
            return 130
        except Exception as e:  # an unexpected failure: still one line, unless debugging
            if os.environ.get("BERTCORE_DEBUG"):
                raise
            print(
                f"bertcore: error: {type(e).__name__}: {_one_line(str(e))} (BERTCORE_DEBUG=1 shows where)",
                file=sys.stderr,
            )
            return 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return _broken_pipe()
    return status if isinstance(status, int) else 0


def _broken_pipe() -> int:
    """The reader of stdout went away (e.g. ``| head``): stop quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
