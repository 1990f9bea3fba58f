"""Corpus-scale embedding with Ray Data (``pip install 'bertcore[ray]'``): a callable class for
``Dataset.map_batches`` (one model per actor, loaded once) and :func:`embed_dataset`, which builds the call.

Each actor runs bertcore with as many threads as CPUs it claims (Ray sets ``OMP_NUM_THREADS`` from the
actor's ``num_cpus``; bertcore's default thread count follows it). Batches arrive as Arrow tables; each is
embedded by ``SentenceEncoder.encode``, which sorts its texts by length and skips padding, and comes back
with a fixed-size-list float32 column appended, rows in their order.

Sizing: actors that claim every CPU of a node leave none for Ray Data's read and write tasks and the
dataset stalls (ray-project/ray#44687), so by default the actors leave one CPU per node free on nodes of
up to 8 CPUs and an eighth of them above.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Dict, Optional, Type

import numpy as np

from .encode import SentenceEncoder, TruncationWarning


def _require_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise ImportError("bertcore.ray needs Ray Data: pip install 'bertcore[ray]'") from exc
    return ray


class SentenceEmbedder:
    """``map_batches`` callable: appends the embeddings of ``column`` to each Arrow batch.

    Args:
        model_dir: a sentence-transformers (or Hugging Face) model directory, readable on every node.
        column: the text column.
        output_column: the embedding column to add (fixed-size list of float32).
        dtype: "float32", "bfloat16" or "int8" (see ``from_pretrained``).
        num_threads: threads per forward call; default: OMP_NUM_THREADS (set by Ray from the actor's CPUs).
        batch_size: texts per forward call inside a batch.
        normalize_embeddings: L2-normalise the embeddings.
    """

    def __init__(
        self,
        model_dir: str,
        column: str = "text",
        output_column: str = "embedding",
        dtype: str = "float32",
        num_threads: Optional[int] = None,
        batch_size: int = 32,
        normalize_embeddings: bool = False,
    ) -> None:
        self.encoder = SentenceEncoder.from_pretrained(model_dir, num_threads=num_threads, dtype=dtype)
        self.column = column
        self.output_column = output_column
        self.batch_size = batch_size
        self.normalize_embeddings = normalize_embeddings
        self._truncation_reported = False

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        texts = batch.column(self.column)
        if texts.null_count:
            raise ValueError(
                f"column {self.column!r} has {texts.null_count} null values; every row needs a text"
            )
        # encode warns per call about cut texts; once per actor is enough in a job of thousands of batches.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            vectors = self.encoder.encode(
                texts.to_pylist(),
                batch_size=self.batch_size,
                show_progress_bar=False,
                normalize_embeddings=self.normalize_embeddings,
            )
        for w in caught:
            if issubclass(w.category, TruncationWarning):
                if self._truncation_reported:
                    continue
                self._truncation_reported = True
                w.message = TruncationWarning(
                    f"{w.message} (said once per actor; later batches are not reported)"
                )
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1] if vectors.ndim == 2 else 0
        column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), type=pa.float32()), dim)
        return batch.append_column(self.output_column, column)


def default_sizing(cpus_per_node: Dict[str, float], cpus_per_actor: int) -> int:
    """Actors of ``cpus_per_actor`` CPUs that fit the nodes while leaving each node room for Ray Data's read
    and write tasks (one CPU on nodes of up to 8, an eighth above); at least one."""
    actors = 0
    for cpus in cpus_per_node.values():
        spare = 1 if cpus <= 8 else math.ceil(cpus / 8)
        actors += max(0, int((cpus - spare) // cpus_per_actor))
    return max(1, actors)


def _cpus_per_node(ray: Any) -> Dict[str, float]:
    return {
        node["NodeID"]: float(node["Resources"].get("CPU", 0))
        for node in ray.nodes()
        if node.get("Alive") and node["Resources"].get("CPU", 0) > 0
    }


def embed_dataset(
    ds: Any,
    model: str,
    column: str = "text",
    output_column: str = "embedding",
    *,
    dtype: str = "float32",
    num_actors: Optional[int] = None,
    cpus_per_actor: int = 1,
    rows_per_batch: int = 256,
    batch_size: int = 32,
    normalize_embeddings: bool = False,
    embedder: Type[SentenceEmbedder] = SentenceEmbedder,
) -> Any:
    """A dataset with ``output_column`` (the embeddings of ``column``) added, computed by a pool of actors.

    Args:
        ds: a ``ray.data.Dataset`` with a string ``column``.
        model: the model directory (readable on every node).
        dtype: "float32", "bfloat16" or "int8".
        num_actors: actors in the pool; default: as many as fit the cluster with room left for reading and
            writing (see :func:`default_sizing`).
        cpus_per_actor: CPUs (and threads) per actor.
        rows_per_batch: rows per ``map_batches`` call (each actor sorts them by length).
        batch_size: texts per forward call.
        normalize_embeddings: L2-normalise the embeddings.
        embedder: the callable class (a subclass of :class:`SentenceEmbedder` to customise it).

    Returns:
        The lazy dataset, set to keep the input's row order.

    Raises:
        ValueError: ``column`` is missing or ``output_column`` exists; the dataset is empty (an actor pool
            over an empty dataset never finishes in Ray 2.60); a size is not positive.
        TypeError: ``column`` does not hold strings.
    """
    ray = _require_ray()
    import pyarrow as pa

    for name, value in (("cpus_per_actor", cpus_per_actor), ("rows_per_batch", rows_per_batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if num_actors is not None and (
        isinstance(num_actors, bool) or not isinstance(num_actors, int) or num_actors < 1
    ):
        raise ValueError(f"num_actors must be a positive integer or None, got {num_actors!r}")
    schema = ds.schema()
    names = list(schema.names) if schema is not None else []
    if column not in names:
        raise ValueError(f"the dataset has no column {column!r}; its columns are {names}")
    if output_column in names:
        raise ValueError(f"the dataset already has a column {output_column!r}; pass another output_column")
    kind = schema.types[names.index(column)]
    if not isinstance(kind, pa.DataType) or not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise TypeError(f"column {column!r} must hold strings, not {kind}")
    if ds.count() == 0:
        raise ValueError("the dataset is empty: nothing to embed")
    if num_actors is None:
        num_actors = default_sizing(_cpus_per_node(ray), cpus_per_actor)
    out = ds.map_batches(
        embedder,
        batch_size=rows_per_batch,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=num_actors),
        num_cpus=cpus_per_actor,
        fn_constructor_kwargs={
            "model_dir": str(model),
            "column": column,
            "output_column": output_column,
            "dtype": dtype,
            "batch_size": batch_size,
            "normalize_embeddings": normalize_embeddings,
        },
    )
    out.context.execution_options.preserve_order = True  # rows come out in the input's order
    return out


def embed_parquet(
    source: str,
    output_dir: str,
    model: str,
    *,
    column: str = "text",
    id_column: Optional[str] = None,
    address: Optional[str] = None,
    dtype: str = "float32",
    num_actors: Optional[int] = None,
    cpus_per_actor: int = 1,
    batch_size: int = 32,
    normalize_embeddings: bool = False,
    progress: bool = True,
) -> int:
    """Embeds the ``column`` of a Parquet file or folder into Parquet files in ``output_dir``: ``id_column``
    (default: ``id`` when the input has one) and ``embedding``, rows in the input's order. Connects to
    ``address`` ("auto": the running cluster), else starts a local Ray; returns the rows written.

    Raises:
        FileNotFoundError: ``source`` does not exist.
        ValueError: ``output_dir`` holds files already; a missing column; an empty input.
    """
    import os

    import pyarrow.parquet as pq

    ray = _require_ray()
    if not os.path.exists(source):
        raise FileNotFoundError(f"no Parquet input at {source}")
    if os.path.isdir(output_dir) and os.listdir(output_dir):
        raise ValueError(f"the output folder {output_dir} is not empty; pass a new or empty folder")
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, logging_level="WARNING")
    try:
        ray.data.DataContext.get_current().enable_progress_bars = progress
        ds = ray.data.read_parquet(source)
        names = list(ds.schema().names)
        if id_column is None:
            id_column = "id" if "id" in names else None
        elif id_column not in names:
            raise ValueError(f"the input has no column {id_column!r}; its columns are {names}")
        embedded = embed_dataset(
            ds, model, column, dtype=dtype, num_actors=num_actors, cpus_per_actor=cpus_per_actor,
            batch_size=batch_size, normalize_embeddings=normalize_embeddings,
        )  # fmt: skip
        keep = ([id_column] if id_column else []) + ["embedding"]
        embedded.select_columns(keep).write_parquet(output_dir)
    finally:
        if started:
            ray.shutdown()
    return sum(
        pq.read_metadata(os.path.join(output_dir, f)).num_rows
        for f in os.listdir(output_dir)
        if f.endswith(".parquet")
    )
