"""A model directory's tokenizer files -> a `tokenizers.Tokenizer` and its `TokenizerSettings`.

As transformers 5.24's `from_pretrained` does for the families bertcore runs: the class comes from
tokenizer_config.json (`tokenizer_class`), else config.json (`tokenizer_class`, then `model_type`).
`BertTokenizer` (and DistilBERT's, ELECTRA's) and `RobertaTokenizer` rebuild their pipeline from the
vocabulary and the config, whether the vocabulary comes from tokenizer.json or from vocab.txt /
vocab.json + merges.txt: here with `tokenizers`' own `BertWordPieceTokenizer` and `ByteLevelBPETokenizer`.
Other classes (SentencePiece ones: ALBERT, XLM-R, CamemBERT) use tokenizer.json as it is. Added tokens come
from `added_tokens_decoder`, or (older saves) special_tokens_map.json, added_tokens.json and tokenizer.json;
named special tokens missing from the vocabulary are added as special tokens.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from tokenizers import AddedToken, BertWordPieceTokenizer, ByteLevelBPETokenizer, Tokenizer, processors
from tokenizers.models import BPE, WordPiece

from .._json import read_json_object

__all__ = ["CONFIG_OVERRIDES", "SPECIAL_TOKEN_NAMES", "TokenizerSettings", "load_pretrained"]

VERY_LARGE_INTEGER = int(1e30)  # transformers' model_max_length when the model declares none
SPECIAL_TOKEN_NAMES = tuple(f"{n}_token" for n in ("bos", "eos", "unk", "sep", "pad", "cls", "mask"))
SpecialToken = Union[str, AddedToken]

_BERT_TOKENS = {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]"}
_BERT_TOKENS["mask_token"] = "[MASK]"
_ROBERTA_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>"}
_ROBERTA_TOKENS.update(unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
# Classes whose __init__ rebuilds the pipeline: its kind, and the special tokens the class defaults to.
_REBUILT = {
    "BertTokenizer": ("wordpiece", _BERT_TOKENS),
    "DistilBertTokenizer": ("wordpiece", _BERT_TOKENS),
    "RobertaTokenizer": ("bpe", _ROBERTA_TOKENS),
}
_VOCAB_FILES = {"wordpiece": ("vocab.txt",), "bpe": ("vocab.json", "merges.txt")}
_ALIASES = {"ElectraTokenizer": "BertTokenizer"}  # transformers resolves the name to that class
# config.json model_type -> class, when no tokenizer_class is named
_MODEL_TYPES = dict.fromkeys(("bert", "distilbert", "electra", "ernie"), "BertTokenizer")
_MODEL_TYPES.update(roberta="RobertaTokenizer", albert="AlbertTokenizer", camembert="CamembertTokenizer")
_MODEL_TYPES["xlm-roberta"] = "XLMRobertaTokenizer"
# Classes without token_type_ids in their model_input_names (None: transformers' TokenizersBackend).
_NO_TYPE_IDS = {None, "TokenizersBackend", "PreTrainedTokenizer", "DistilBertTokenizer", "RobertaTokenizer"}
_NO_TYPE_IDS |= {"XLMRobertaTokenizer", "CamembertTokenizer", "AlbertTokenizer"}
SENTENCEPIECE_FILES = ("sentencepiece.bpe.model", "spiece.model", "spm.model", "sentencepiece.model")
# from_pretrained's keyword overrides of tokenizer_config.json entries
CONFIG_OVERRIDES = frozenset(SPECIAL_TOKEN_NAMES) | frozenset(
    "model_max_length padding_side truncation_side model_input_names clean_up_tokenization_spaces "
    "split_special_tokens do_lower_case strip_accents tokenize_chinese_chars add_prefix_space trim_offsets "
    "tokenizer_class extra_special_tokens".split()
)


@dataclass(frozen=True)
class TokenizerSettings:
    """Everything a tokenizer needs besides its `tokenizers.Tokenizer`, resolved from the config files.

    `tokenizer_class` is the transformers class mirrored (without "Fast"), or None; `model_max_length` is
    `VERY_LARGE_INTEGER` when the model declares none; `split_special_tokens` splits special tokens written
    in the text like ordinary text; `special_tokens` maps names ("pad_token", ...) to strings or AddedTokens.

    Example:
        >>> AutoTokenizer.from_pretrained(model_dir).settings.model_input_names
        ('input_ids', 'token_type_ids', 'attention_mask')
    """

    name_or_path: str = ""
    tokenizer_class: str | None = None
    model_max_length: int = VERY_LARGE_INTEGER
    padding_side: str = "right"
    truncation_side: str = "right"
    model_input_names: tuple[str, ...] = ("input_ids", "token_type_ids", "attention_mask")
    clean_up_tokenization_spaces: bool = False
    split_special_tokens: bool = False
    special_tokens: Mapping[str, SpecialToken | None] = field(default_factory=dict)
    extra_special_tokens: tuple[SpecialToken, ...] = ()


def load_pretrained(model_dir: Path, overrides: Mapping[str, Any]) -> tuple[Tokenizer, TokenizerSettings]:
    """The backend (no padding, no truncation) and settings of `model_dir`, as transformers loads them.

    `overrides` are from_pretrained's keyword arguments (keys of `CONFIG_OVERRIDES`).

    Raises:
        FileNotFoundError: No tokenizer files bertcore can read (the message says how to get them).
        ValueError: A file cannot be parsed or holds invalid values.
    """
    config = read_json_object(model_dir / "tokenizer_config.json", "tokenizer config", missing_ok=True)
    config.update(overrides)
    model_config = read_json_object(model_dir / "config.json", "model config", missing_ok=True)
    name = config.get("tokenizer_class") or model_config.get("tokenizer_class")
    if isinstance(name, str) and name:
        name = _ALIASES.get(name.removesuffix("Fast"), name.removesuffix("Fast"))
    else:
        name = _MODEL_TYPES.get(str(model_config.get("model_type")))
    kind, default_tokens = _REBUILT.get(str(name), (None, {}))
    source, model = _read_files(model_dir, name, kind)
    where = str(model_dir / "tokenizer_config.json")

    if "added_tokens_decoder" in config:
        if not isinstance(config["added_tokens_decoder"], dict):
            raise ValueError(f"{where}: added_tokens_decoder should be an object of id -> token")
        added = {int(i): _added_token(t, where) for i, t in config["added_tokens_decoder"].items()}
    else:  # older saves: special_tokens_map.json wins over the config; added tokens are listed apart
        special_map = read_json_object(
            model_dir / "special_tokens_map.json", "special tokens map", missing_ok=True
        )
        config.update({k: v for k, v in special_map.items() if k not in overrides})
        added = _legacy_added_tokens(model_dir / "added_tokens.json", config)
        added.update(source.get_added_tokens_decoder() if source is not None else {})
    special = {
        n: _special_token(config[n], where) if n in config else default_tokens[n]
        for n in SPECIAL_TOKEN_NAMES
        if n in config or n in default_tokens
    }
    extras = config.get("extra_special_tokens", config.get("additional_special_tokens"))
    extras = extras if isinstance(extras, (list, tuple)) else []  # a dict names tokens BERTs do not use
    extra = tuple(t for t in (_special_token(v, where) for v in extras) if t is not None)

    backend = _pipeline(kind, model, config, special)
    _add_tokens(backend, added, special, extra, rebuilt=kind is not None)
    if kind == "bpe":  # RobertaTokenizer's post-processor needs the ids of the added special tokens
        sep, cls = str(special.get("sep_token")), str(special.get("cls_token"))
        backend.post_processor = processors.RobertaProcessing(
            (sep, _id_of(backend, sep, "sep_token")),
            (cls, _id_of(backend, cls, "cls_token")),
            trim_offsets=bool(config.get("trim_offsets", True)),
            add_prefix_space=bool(config.get("add_prefix_space", False)),
        )
    backend.encode_special_tokens = bool(config.get("split_special_tokens", False))

    max_len = config.get("model_max_length", config.get("max_len"))
    if max_len is not None and (
        isinstance(max_len, bool) or not isinstance(max_len, (int, float)) or not math.isfinite(max_len)
    ):
        raise ValueError(f"{where}: model_max_length must be a finite number, got {max_len!r}")
    input_names = config.get("model_input_names")
    if input_names is not None and (
        not isinstance(input_names, (list, tuple)) or not all(isinstance(n, str) for n in input_names)
    ):
        raise ValueError(
            f'{where}: model_input_names must be a list of names such as "input_ids", got {input_names!r}'
        )
    # tokenizer.json's padding/truncation directions count as defaults; the rest of those settings not
    pad_side, cut_side = (
        (getattr(source, key, None) or {}).get("direction") for key in ("padding", "truncation")
    )
    backend.no_padding()
    backend.no_truncation()
    try:  # a pipeline that cannot run (a post-processor naming tokens it lacks, ...) fails here, not on first use
        backend.encode("a")
    except BaseException as e:
        if not _tokenizers_error(e):
            raise
        raise ValueError(f"{model_dir}: the tokenizer its files describe cannot encode text: {e}") from e
    default_names = (
        ("input_ids", "attention_mask") if name in _NO_TYPE_IDS else TokenizerSettings.model_input_names
    )
    settings = TokenizerSettings(
        name_or_path=str(model_dir),
        tokenizer_class=name,
        model_max_length=VERY_LARGE_INTEGER if max_len is None else int(max_len),
        padding_side=config.get("padding_side") or pad_side or "right",
        truncation_side=config.get("truncation_side") or cut_side or "right",
        model_input_names=tuple(input_names or default_names),
        clean_up_tokenization_spaces=bool(config.get("clean_up_tokenization_spaces", False)),
        split_special_tokens=backend.encode_special_tokens,
        special_tokens=special,
        extra_special_tokens=extra,
    )
    return backend, settings


def _read_files(model_dir: Path, name: str | None, kind: str | None) -> tuple[Tokenizer | None, Any]:
    """tokenizer.json (None when absent), and what the backend is built from: a WordPiece vocab, BPE's
    (vocab, merges), or for classes that rebuild nothing (`kind` None) tokenizer.json itself."""
    path = model_dir / "tokenizer.json"
    if path.is_file():
        try:
            source = Tokenizer.from_file(str(path))
        except BaseException as e:
            if not _tokenizers_error(e):
                raise
            raise ValueError(f"could not parse {path}: {e}") from e
        if type(source.model).__name__ != "Unigram":  # a Unigram vocabulary is a list: its ids have no holes
            _check_ids(source.get_vocab(with_added_tokens=False), path)
        if kind == "wordpiece":
            return source, source.get_vocab(with_added_tokens=False)
        if kind == "bpe":
            model = json.loads(source.to_str())["model"]
            if model.get("type") != "BPE":
                raise ValueError(f"{path}: {name} needs a BPE model with merges, found {model.get('type')}")
            # merges are "left right" strings, or [left, right] pairs since tokenizers 0.20
            merges = [tuple(m.split(" ") if isinstance(m, str) else m) for m in model["merges"]]
            return source, (model["vocab"], merges)
        return source, source
    paths = [model_dir / f for f in _VOCAB_FILES.get(str(kind), ())]
    if not paths or not all(p.is_file() for p in paths):
        raise FileNotFoundError(_why_no_files(model_dir, name, kind))
    try:
        read: Any = (
            WordPiece.read_file(str(paths[0])) if kind == "wordpiece" else BPE.read_file(*map(str, paths))
        )
    except BaseException as e:
        if not _tokenizers_error(e):
            raise
        raise ValueError(f"could not read {' and '.join(map(str, paths))}: {e}") from e
    if not read:
        raise ValueError(f"{paths[0]} is empty: it should hold one token a line")
    _check_ids(read if kind == "wordpiece" else read[0], paths[0])  # BPE: (vocab, merges)
    return None, read


def _check_ids(vocab: Mapping[str, int], path: Path) -> None:
    """Refuses a vocabulary whose ids run far past its size: the tokenizers library lists the unused ids below
    the largest one whenever it writes the model out (4 bytes each; bertcore copies tokenizers that way), so
    one corrupt id such as 2**31 would allocate gigabytes. Ids are 0..N-1 in a sound vocabulary."""
    if not vocab:
        return
    token, top = max(vocab.items(), key=lambda item: item[1])
    if top >= 2 * len(vocab) + 1024:
        raise ValueError(
            f"{path}: token {token!r} has id {top}, far beyond the {len(vocab)} tokens of the vocabulary "
            "(whose ids should run from 0 to the vocabulary size - 1): the file is corrupt"
        )


def _tokenizers_error(error: BaseException) -> bool:
    """Whether ``error`` is how the tokenizers library reports bad input: a bare Exception, or a Rust panic
    (pyo3's PanicException, a BaseException)."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


def _why_no_files(model_dir: Path, name: str | None, kind: str | None) -> str:
    spm = [f for f in SENTENCEPIECE_FILES if (model_dir / f).is_file()]
    found = ", ".join(f for f in ("vocab.txt", "vocab.json", "merges.txt") if (model_dir / f).is_file())
    save = f"AutoTokenizer.from_pretrained({str(model_dir)!r}).save_pretrained({str(model_dir)!r})"
    hint = f'\n    python -c "from transformers import AutoTokenizer; {save}"\n(it writes tokenizer.json)'
    if spm:
        return (
            f"{model_dir} has a SentencePiece model ({', '.join(spm)}) but no tokenizer.json, which bertcore "
            "reads (not the .model files, which need the sentencepiece and protobuf packages). To write it, "
            f"run this once where transformers and sentencepiece are installed:{hint}"
        )
    if found and name is None:
        return (
            f"{model_dir} has {found} but no tokenizer.json, and the tokenizer class is unknown "
            "(transformers cannot load it either): set tokenizer_class in tokenizer_config.json, e.g. "
            '"BertTokenizer" for vocab.txt or "RobertaTokenizer" for vocab.json + merges.txt'
        )
    if found and kind is None:
        return (
            f"{model_dir} has {found} but no tokenizer.json, and bertcore builds tokenizers from vocabulary "
            f"files only for {', '.join([*_REBUILT, *_ALIASES])}, not {name}. To write a tokenizer.json, run "
            f"this once where transformers is installed:{hint}"
        )
    looked_for = " or ".join(("tokenizer.json", *([" + ".join(_VOCAB_FILES[kind])] if kind else [])))
    found = f", found only {found}" if found else ""
    return (
        f"no tokenizer files{f' for {name}' if name else ''} in {model_dir}: looked for {looked_for}{found}"
    )


def _pipeline(
    kind: str | None, model: Any, config: Mapping[str, Any], special: Mapping[str, SpecialToken | None]
) -> Tokenizer:
    """The pipeline BertTokenizer/RobertaTokenizer.__init__ builds from the vocabulary and the config, or
    tokenizer.json as it is for other classes."""
    if kind is None:
        return model  # type: ignore[no-any-return]
    if kind == "wordpiece":
        unk, sep, cls, pad, mask = (
            str(special.get(f"{n}_token")) for n in ("unk", "sep", "cls", "pad", "mask")
        )
        strip_accents = config.get("strip_accents")
        if strip_accents is not None and not isinstance(strip_accents, bool):
            raise ValueError(
                f"tokenizer config strip_accents must be true, false or null, got {strip_accents!r}"
            )
        try:
            impl: Any = BertWordPieceTokenizer(
                model,
                unk_token=unk,
                sep_token=sep,
                cls_token=cls,
                pad_token=pad,
                mask_token=mask,
                handle_chinese_chars=bool(config.get("tokenize_chinese_chars", True)),
                strip_accents=strip_accents,
                lowercase=bool(config.get("do_lower_case", True)),
            )
        except TypeError as e:  # the vocabulary lacks the [CLS] or [SEP] token
            raise ValueError(
                f"cannot build the WordPiece tokenizer: {e} (cls_token {cls!r}, sep_token {sep!r})"
            ) from e
    else:
        vocab, merges = model
        impl = ByteLevelBPETokenizer(
            vocab, merges, add_prefix_space=bool(config.get("add_prefix_space", False))
        )
    # The implementations keep their Tokenizer private: a JSON round trip gets it by the public API.
    return Tokenizer.from_str(impl.to_str())


def _id_of(backend: Tokenizer, token: str, name: str) -> int:
    index = backend.token_to_id(token)
    if index is None:
        raise ValueError(f"{name} {token!r} is not in the vocabulary: set {name} in tokenizer_config.json")
    return int(index)


def _added_token(value: Any, where: str, **forced: bool) -> AddedToken:
    """An AddedToken from its dict in a config file ({"content": ..., "lstrip": ..., ...})."""
    if not isinstance(value, dict) or "content" not in value:
        raise ValueError(f"{where}: a token must be a string or an AddedToken object, got {value!r}")
    flags = {k: value[k] for k in ("single_word", "lstrip", "rstrip", "normalized", "special") if k in value}
    return AddedToken(value["content"], **{**flags, **forced})


def _special_token(value: Any, where: str) -> SpecialToken | None:
    """A named special token from a config file: None, a string, or an AddedToken dict."""
    if value is None or isinstance(value, (str, AddedToken)):
        return value
    return _added_token(value, where, special=True)


def _legacy_added_tokens(path: Path, config: Mapping[str, Any]) -> dict[int, AddedToken]:
    """added_tokens.json (token -> id), as slow tokenizers saved their added tokens."""
    special = {str(t) for n in SPECIAL_TOKEN_NAMES if (t := _special_token(config.get(n), str(path)))}
    extras = config.get("extra_special_tokens") or []
    special.update(str(t) for t in extras if isinstance(extras, (list, tuple)))
    added = {}
    for token, index in read_json_object(path, "added tokens", missing_ok=True).items():
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(f"{path}: the id of {token!r} should be an integer, got {index!r}")
        is_special = token in special
        added[index] = AddedToken(
            token, rstrip=False, lstrip=False, normalized=not is_special, special=is_special
        )
    return added


def _add_tokens(
    backend: Tokenizer,
    added: Mapping[int, AddedToken],
    special: Mapping[str, SpecialToken | None],
    extra: tuple[SpecialToken, ...],
    rebuilt: bool,
) -> None:
    """Adds the saved added tokens, then any named or extra special token the backend lacks.

    A `rebuilt` backend's own added tokens (BertWordPieceTokenizer adds its special tokens) do not count:
    transformers' classes build theirs without any, so the flags saved with the tokens win.
    """
    present = [] if rebuilt else list(backend.get_added_tokens_decoder().values())
    to_add = [t for _, t in sorted(added.items()) if repr(t) not in {repr(p) for p in present}]
    known = {str(t) for t in [*present, *to_add]}
    for token in [*special.values(), *extra]:
        if token is not None and str(token) not in known:
            to_add.append(AddedToken(token, special=True) if isinstance(token, str) else token)
            known.add(str(token))
    named = {str(t) for t in special.values() if t}
    for token in to_add:
        if not token.special and str(token) in named:
            token.special = True
    if to_add:
        backend.add_tokens(to_add)
