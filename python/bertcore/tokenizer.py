"""Tokenizers for bertcore: a thin layer over the `tokenizers` library that behaves like transformers.

`AutoTokenizer.from_pretrained(model_dir)` reads `tokenizer.json` (plus `tokenizer_config.json`,
`special_tokens_map.json` and `config.json` when present) and returns a tokenizer that is called exactly
like a transformers tokenizer and gives the same ids, masks and decoded text, as Python lists or int64
numpy arrays. transformers and torch are never imported.

What is mirrored from transformers (5.x, `TokenizersBackend` and `BertTokenizer`):
- For BERT-style tokenizer classes (`BertTokenizer`, `DistilBertTokenizer`, `ElectraTokenizer`, ...)
  the pipeline is rebuilt from the vocabulary and `tokenizer_config.json` (`do_lower_case`,
  `strip_accents`, `tokenize_chinese_chars`, `unk/cls/sep_token`), as transformers does; other classes
  use `tokenizer.json` as it is.
- Named special tokens missing from the added vocabulary are added as special tokens.
- padding/truncation arguments are resolved as in `PreTrainedTokenizerBase`, including `max_length`
  alone turning on truncation and a huge `model_max_length` (no limit known) turning truncation and
  `'max_length'` padding off.

Where bertcore is stricter than transformers, it raises instead of returning something unusable:
ragged batches with `return_tensors="np"`, a `max_length` too small to hold the special tokens, an
empty-batch crash (bertcore returns empty outputs), and `return_tensors="pt"`.

Thread safety: the padding/truncation state of a `tokenizers.Tokenizer` is mutable, so calls that pad or
truncate use a copy private to the calling thread, set up for each call; calls with different settings
can run at the same time in different threads without leaking into each other.
"""

from __future__ import annotations

import copy
import json
import logging
import operator
import os
import threading
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np
from tokenizers import AddedToken, Encoding, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import WordPiece

__all__ = ["AutoTokenizer", "BatchEncoding", "TokenizerSettings"]

logger = logging.getLogger(__name__)

VERY_LARGE_INTEGER = int(1e30)  # transformers' model_max_length when the model declares none
LARGE_INTEGER = int(1e20)  # above this, model_max_length counts as "no limit known"

SPECIAL_TOKEN_NAMES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
_PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
_TRUNCATION_STRATEGIES = ("only_first", "only_second", "longest_first", "do_not_truncate")
_SIDES = ("right", "left")

# transformers classes that resolve to BertTokenizer (or a subclass): they rebuild the WordPiece pipeline
# from the vocabulary and tokenizer_config.json. Names are given without the "Fast" suffix.
_BERT_STYLE_CLASSES = frozenset(
    {
        "BertTokenizer",
        "DistilBertTokenizer",
        "ConvBertTokenizer",
        "MobileBertTokenizer",
        "SqueezeBertTokenizer",
        "ElectraTokenizer",
        "LayoutLMTokenizer",
        "LxmertTokenizer",
        "DPRQuestionEncoderTokenizer",
        "DPRContextEncoderTokenizer",
    }
)
# config.json model_type -> tokenizer class, used when tokenizer_config.json names no class.
_MODEL_TYPE_TO_CLASS = {
    "bert": "BertTokenizer",
    "convbert": "BertTokenizer",
    "distilbert": "BertTokenizer",
    "electra": "BertTokenizer",
    "ernie": "BertTokenizer",
    "layoutlm": "BertTokenizer",
    "megatron-bert": "BertTokenizer",
    "mobilebert": "MobileBertTokenizer",
    "nomic_bert": "BertTokenizer",
    "squeezebert": "BertTokenizer",
}
_BERT_DEFAULT_TOKENS = {
    "unk_token": "[UNK]",
    "sep_token": "[SEP]",
    "pad_token": "[PAD]",
    "cls_token": "[CLS]",
    "mask_token": "[MASK]",
}
_BERT_INPUT_NAMES = ("input_ids", "token_type_ids", "attention_mask")
_NO_TYPE_IDS = ("input_ids", "attention_mask")
_CLASS_INPUT_NAMES = {
    None: _NO_TYPE_IDS,  # transformers' TokenizersBackend, used when no class is known
    "DistilBertTokenizer": _NO_TYPE_IDS,
    "RobertaTokenizer": _NO_TYPE_IDS,
    "XLMRobertaTokenizer": _NO_TYPE_IDS,
    "CamembertTokenizer": _NO_TYPE_IDS,
    "MPNetTokenizer": _NO_TYPE_IDS,
    "AlbertTokenizer": _NO_TYPE_IDS,
    "TokenizersBackend": _NO_TYPE_IDS,
    "PreTrainedTokenizer": _NO_TYPE_IDS,
}

TextInput = Union[str, Sequence[str]]
SpecialToken = Union[str, AddedToken]


# --------------------------------------------------------------------------------------------------------
# Output container
# --------------------------------------------------------------------------------------------------------


class BatchEncoding(dict):  # type: ignore[type-arg]
    """The output of a tokenizer call: a dict of `input_ids`, `token_type_ids`, `attention_mask`, ...

    A plain `dict` subclass, so `model(**enc)` works; keys are also readable as attributes
    (`enc.input_ids`). Integer indexing returns the `tokenizers.Encoding` of that batch item, as in
    transformers.

    Example:
        >>> enc = tokenizer(["Hello world"], padding=True, return_tensors="np")
        >>> enc.input_ids.shape, list(enc.keys())
        ((1, 4), ['input_ids', 'token_type_ids', 'attention_mask'])
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        encodings: Sequence[Encoding] | None = None,
        n_sequences: int | None = None,
    ) -> None:
        super().__init__(data or {})
        self._encodings = list(encodings) if encodings is not None else None
        self._n_sequences = n_sequences

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no key or attribute {name!r}") from None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(key)
        if isinstance(key, int) and self._encodings is not None:
            return self._encodings[key]
        if isinstance(key, slice):
            return {name: value[key] for name, value in self.items()}
        raise KeyError(f"BatchEncoding keys are strings (or ints for encodings, or slices), got {key!r}")

    @property
    def encodings(self) -> list[Encoding] | None:
        """The `tokenizers.Encoding` of each row (overflowing rows included), or None."""
        return self._encodings

    @property
    def n_sequences(self) -> int | None:
        """1 for single sequences, 2 for pairs, None when unknown."""
        return self._n_sequences

    def tokens(self, batch_index: int = 0) -> list[str]:
        """The token strings of row `batch_index` (special and padding tokens included)."""
        return list(self._encoding(batch_index).tokens)

    def word_ids(self, batch_index: int = 0) -> list[int | None]:
        """The word index of each token of row `batch_index` (None for special tokens)."""
        return list(self._encoding(batch_index).word_ids)

    def sequence_ids(self, batch_index: int = 0) -> list[int | None]:
        """0 or 1 for tokens of the first or second sequence of row `batch_index`, None for special tokens."""
        return list(self._encoding(batch_index).sequence_ids)

    def _encoding(self, batch_index: int) -> Encoding:
        if self._encodings is None:
            raise ValueError("this BatchEncoding holds no tokenizers.Encoding objects")
        return self._encodings[batch_index]


# --------------------------------------------------------------------------------------------------------
# Loading: files -> (backend tokenizer, settings)
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenizerSettings:
    """Everything a tokenizer needs besides its `tokenizers.Tokenizer`, resolved from the config files.

    Args:
        name_or_path: Where the tokenizer was loaded from.
        tokenizer_class: The transformers class name it mirrors (without "Fast"), or None.
        model_max_length: The longest input the model accepts (`VERY_LARGE_INTEGER` when unknown).
        padding_side: Default side to pad on, "right" or "left".
        truncation_side: Default side to truncate from, "right" or "left".
        model_input_names: Keys returned by default, e.g. ("input_ids", "token_type_ids", "attention_mask").
        clean_up_tokenization_spaces: Default for `decode(clean_up_tokenization_spaces=None)`.
        split_special_tokens: Whether special tokens written in the text are split like ordinary text.
        special_tokens: Named special tokens ("pad_token", "cls_token", ...) as strings or AddedTokens.
        extra_special_tokens: Further special tokens without a name.
    """

    name_or_path: str = ""
    tokenizer_class: Optional[str] = None
    model_max_length: int = VERY_LARGE_INTEGER
    padding_side: str = "right"
    truncation_side: str = "right"
    model_input_names: tuple[str, ...] = _BERT_INPUT_NAMES
    clean_up_tokenization_spaces: bool = False
    split_special_tokens: bool = False
    special_tokens: Mapping[str, Optional[SpecialToken]] = field(default_factory=dict)
    extra_special_tokens: tuple[SpecialToken, ...] = ()


@dataclass(frozen=True)
class _BackendLoader:
    """One way to build the backend `tokenizers.Tokenizer` from the files of a model directory.

    `load(model_dir)` returns None when the files it needs are absent. A later loader (vocab.txt for
    WordPiece, vocab.json + merges.txt for BPE) is added to `_BACKEND_LOADERS` after the existing ones.
    """

    looks_for: str
    load: Callable[[Path], Optional[Tokenizer]]


def _load_tokenizer_json(model_dir: Path) -> Optional[Tokenizer]:
    path = model_dir / "tokenizer.json"
    if not path.is_file():
        return None
    try:
        return Tokenizer.from_file(str(path))
    except Exception as e:  # the tokenizers library raises a bare Exception on bad JSON
        raise ValueError(f"could not parse {path}: {e}") from e


_BACKEND_LOADERS: tuple[_BackendLoader, ...] = (_BackendLoader("tokenizer.json", _load_tokenizer_json),)

# Keyword overrides accepted by from_pretrained, on top of tokenizer_config.json.
_CONFIG_OVERRIDES = frozenset(
    {
        "model_max_length",
        "padding_side",
        "truncation_side",
        "model_input_names",
        "clean_up_tokenization_spaces",
        "split_special_tokens",
        "do_lower_case",
        "strip_accents",
        "tokenize_chinese_chars",
        "tokenizer_class",
        "extra_special_tokens",
        *SPECIAL_TOKEN_NAMES,
    }
)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"could not read {path}: {e}") from e
    if not isinstance(data, dict):
        raise ValueError(f"{path} should hold a JSON object, found {type(data).__name__}")
    return data


def _as_special_token(value: Any, where: str) -> Optional[SpecialToken]:
    """A special-token value from a config file: a string, an AddedToken dict, or None."""
    if value is None or isinstance(value, (str, AddedToken)):
        return value
    if isinstance(value, dict) and "content" in value:
        fields = {k: value[k] for k in ("single_word", "lstrip", "rstrip", "normalized") if k in value}
        return AddedToken(value["content"], special=True, **fields)
    raise ValueError(f"{where}: a special token must be a string or an AddedToken object, got {value!r}")


def _added_token_from_dict(value: Mapping[str, Any], where: str) -> AddedToken:
    if "content" not in value:
        raise ValueError(f"{where}: added token {value!r} has no 'content'")
    fields = {k: value[k] for k in ("single_word", "lstrip", "rstrip", "normalized", "special") if k in value}
    return AddedToken(value["content"], **fields)


def _resolve_class(tok_config: Mapping[str, Any], model_config: Mapping[str, Any]) -> Optional[str]:
    name = tok_config.get("tokenizer_class") or model_config.get("tokenizer_class")
    if isinstance(name, str) and name:
        return name[: -len("Fast")] if name.endswith("Fast") else name
    model_type = model_config.get("model_type")
    return _MODEL_TYPE_TO_CLASS.get(model_type) if isinstance(model_type, str) else None


def _load_pretrained(model_dir: Path, overrides: Mapping[str, Any]) -> tuple[Tokenizer, TokenizerSettings]:
    """Builds the backend tokenizer and its settings the way transformers' `from_pretrained` does."""
    source = None
    for loader in _BACKEND_LOADERS:
        source = loader.load(model_dir)
        if source is not None:
            break
    if source is None:
        looked_for = " or ".join(loader.looks_for for loader in _BACKEND_LOADERS)
        raise FileNotFoundError(f"no tokenizer files in {model_dir}: looked for {looked_for}")

    # tokenizer.json may carry padding/truncation settings: only their directions are kept, as defaults.
    source_padding = source.padding or {}
    source_truncation = source.truncation or {}
    tok_config = _read_json(model_dir / "tokenizer_config.json")
    tok_config.update(overrides)
    model_config = _read_json(model_dir / "config.json")
    tokenizer_class = _resolve_class(tok_config, model_config)
    bert_style = tokenizer_class in _BERT_STYLE_CLASSES
    cfg_name = str(model_dir / "tokenizer_config.json")

    # Added tokens: tokenizer_config.json's added_tokens_decoder when present; otherwise (older saves)
    # special_tokens_map.json overrides the config's special tokens and tokenizer.json's added tokens count.
    if "added_tokens_decoder" in tok_config:
        raw = tok_config["added_tokens_decoder"]
        if not isinstance(raw, dict):
            raise ValueError(f"{cfg_name}: added_tokens_decoder should be an object of id -> token")
        added = {int(i): _added_token_from_dict(t, cfg_name) for i, t in raw.items()}
    else:
        for key, value in _read_json(model_dir / "special_tokens_map.json").items():
            if key not in overrides:
                tok_config[key] = value
        added = dict(source.get_added_tokens_decoder())

    special: dict[str, Optional[SpecialToken]] = {}
    for name in SPECIAL_TOKEN_NAMES:
        if name in tok_config:
            special[name] = _as_special_token(tok_config[name], cfg_name)
        elif bert_style and name in _BERT_DEFAULT_TOKENS:  # BertTokenizer's keyword defaults
            special[name] = _BERT_DEFAULT_TOKENS[name]
    extras = tok_config.get("extra_special_tokens", tok_config.get("additional_special_tokens")) or []
    if not isinstance(extras, (list, tuple)):  # the dict form names model-specific tokens: not used by BERTs
        extras = []
    extra: tuple[SpecialToken, ...] = tuple(
        t for t in (_as_special_token(v, cfg_name) for v in extras) if t is not None
    )

    if bert_style:
        backend = _bert_backend(source, tok_config, special)
    else:
        backend = source
    _add_tokens_like_transformers(backend, added, special, extra)
    if bert_style:
        backend.post_processor = _bert_post_processor(backend, special)

    split = bool(tok_config.get("split_special_tokens", False))
    backend.encode_special_tokens = split
    backend.no_padding()
    backend.no_truncation()

    max_len = tok_config.get("model_max_length", tok_config.get("max_len"))
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, (int, float))):
        raise ValueError(f"{cfg_name}: model_max_length must be a number, got {max_len!r}")
    input_names = tok_config.get("model_input_names") or _CLASS_INPUT_NAMES.get(
        tokenizer_class, _BERT_INPUT_NAMES
    )
    settings = TokenizerSettings(
        name_or_path=str(model_dir),
        tokenizer_class=tokenizer_class,
        model_max_length=VERY_LARGE_INTEGER if max_len is None else int(max_len),
        padding_side=tok_config.get("padding_side") or source_padding.get("direction") or "right",
        truncation_side=tok_config.get("truncation_side") or source_truncation.get("direction") or "right",
        model_input_names=tuple(input_names),
        clean_up_tokenization_spaces=bool(tok_config.get("clean_up_tokenization_spaces", False)),
        split_special_tokens=split,
        special_tokens=special,
        extra_special_tokens=extra,
    )
    return backend, settings


def _bert_backend(source: Tokenizer, tok_config: Mapping[str, Any], special: Mapping[str, Any]) -> Tokenizer:
    """The WordPiece pipeline transformers' BertTokenizer builds from the vocabulary and the config."""
    vocab = source.get_vocab(with_added_tokens=False)
    backend = Tokenizer(WordPiece(vocab, unk_token=str(special.get("unk_token"))))
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=bool(tok_config.get("tokenize_chinese_chars", True)),
        strip_accents=tok_config.get("strip_accents"),
        lowercase=bool(tok_config.get("do_lower_case", True)),
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    return backend


def _bert_post_processor(backend: Tokenizer, special: Mapping[str, Any]) -> processors.TemplateProcessing:
    cls, sep = str(special.get("cls_token")), str(special.get("sep_token"))
    unk_id = backend.token_to_id(str(special.get("unk_token")))

    def token_id(token: str, fallback: int) -> int:
        idx = backend.token_to_id(token)
        idx = unk_id if idx is None else idx
        return fallback if idx is None else idx

    return processors.TemplateProcessing(
        single=f"{cls}:0 $A:0 {sep}:0",
        pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
        special_tokens=[(cls, token_id(cls, 2)), (sep, token_id(sep, 3))],
    )


def _add_tokens_like_transformers(
    backend: Tokenizer,
    added: Mapping[int, AddedToken],
    special: Mapping[str, Optional[SpecialToken]],
    extra: Sequence[SpecialToken],
) -> None:
    """Adds the saved added tokens and any named special token the backend lacks (TokenizersBackend)."""
    present = {repr(token) for token in backend.get_added_tokens_decoder().values()}
    to_add: list[SpecialToken] = [t for _, t in sorted(added.items()) if repr(t) not in present]
    encoder = {str(t) for t in backend.get_added_tokens_decoder().values()} | {str(t) for t in to_add}
    named = {str(t) for t in special.values() if t}
    for token in [*special.values(), *extra]:
        if token is not None and str(token) not in encoder and token not in to_add:
            to_add.append(token)
            encoder.add(str(token))
    if to_add:
        tokens = []
        for token in to_add:
            if isinstance(token, str):
                token = AddedToken(token, special=True)
            elif not token.special and str(token) in named:
                token.special = True
            tokens.append(token)
        backend.add_tokens(tokens)


# --------------------------------------------------------------------------------------------------------
# Argument resolution (PreTrainedTokenizerBase._get_padding_truncation_strategies)
# --------------------------------------------------------------------------------------------------------


def _strategy(value: Any, arg: str, choices: tuple[str, ...], when_true: str, when_false: str) -> str:
    value = getattr(value, "value", value)  # also accept transformers' PaddingStrategy/TruncationStrategy
    if value is True:
        return when_true
    if value is False:
        return when_false
    if isinstance(value, str) or value is None:  # None: a ValueError, as in transformers
        if value not in choices:
            raise ValueError(f"{arg}={value!r} is not valid: use True, False or one of {list(choices)}")
        return value
    raise TypeError(f"{arg} must be a bool or one of {list(choices)}, got {type(value).__name__} {value!r}")


def _optional_int(value: Any, arg: str, minimum: int) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{arg} must be an int, got bool {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{arg} must be an int, got {type(value).__name__} {value!r}") from None
    if number < minimum:
        raise ValueError(f"{arg} must be >= {minimum}, got {number}")
    return number


def _side(value: Any, arg: str) -> str:
    if value not in _SIDES:
        raise ValueError(f"{arg} must be 'right' or 'left', got {value!r}")
    return str(value)


def _is_valid_text(t: Any) -> bool:
    """transformers' check: str, list[str], list[list[str]] or list[tuple[list[str], list[str]]]."""
    if isinstance(t, str):
        return True
    if not isinstance(t, (list, tuple)):
        return False
    if len(t) == 0 or isinstance(t[0], str):
        return True
    if not isinstance(t[0], (list, tuple)):
        return False
    if len(t[0]) == 0 or isinstance(t[0][0], str):
        return True
    return isinstance(t[0][0], (list, tuple)) and (len(t[0][0]) == 0 or isinstance(t[0][0][0], str))


def _is_pair(item: Any, split_into_words: bool) -> bool:
    if split_into_words:
        return isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], (list, tuple))
    return isinstance(item, (list, tuple))


def _to_numpy(key: str, value: list[Any]) -> np.ndarray:
    lengths = {len(row) for row in value if isinstance(row, (list, tuple))}
    if len(lengths) > 1:
        raise ValueError(
            f"Unable to create a numpy array for {key!r}: the sequences have different lengths "
            f"({sorted(lengths)[0]}..{sorted(lengths)[-1]} tokens). Activate padding (padding=True or "
            "padding='max_length', with truncation=True if needed) to get one rectangular array, or use "
            "return_tensors=None to get lists."
        )
    if not value:
        return np.zeros((0, 0) if key != "length" else (0,), dtype=np.int64)
    return np.asarray(value, dtype=np.int64)


def _to_py(obj: Any) -> Any:
    """numpy arrays and scalars -> Python lists and ints (transformers' to_py_obj, numpy only)."""
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [_to_py(o) for o in obj]
    return obj


# --------------------------------------------------------------------------------------------------------
# The tokenizer
# --------------------------------------------------------------------------------------------------------


class AutoTokenizer:
    """A BERT-family tokenizer called like transformers' tokenizers, returning lists or numpy arrays.

    Build one with `AutoTokenizer.from_pretrained(model_dir)`; the constructor takes an already built
    `tokenizers.Tokenizer` and its `TokenizerSettings`.

    Example:
        >>> tokenizer = AutoTokenizer.from_pretrained(model_dir)
        >>> tokenizer("Hello world")["input_ids"]
        [101, 7592, 2088, 102]
        >>> enc = tokenizer(["Hello", "Hello world"], padding=True, return_tensors="np")
        >>> enc["attention_mask"]
        array([[1, 1, 1, 0],
               [1, 1, 1, 1]])
    """

    def __init__(self, backend: Tokenizer, settings: TokenizerSettings | None = None) -> None:
        settings = settings or TokenizerSettings()
        base = copy.deepcopy(backend)
        base.no_padding()
        base.no_truncation()
        base.encode_special_tokens = settings.split_special_tokens
        self._base = base  # never reconfigured: serves calls without padding/truncation, decode, vocab
        self._settings = settings
        self._local = threading.local()  # per-thread backend with padding/truncation (see _backend_for)
        self._warned_too_long = False
        self.model_max_length: int = settings.model_max_length
        self.padding_side = settings.padding_side
        self.truncation_side = settings.truncation_side
        self.model_input_names: list[str] = list(settings.model_input_names)
        self.clean_up_tokenization_spaces: bool = settings.clean_up_tokenization_spaces

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike[str], **kwargs: Any) -> AutoTokenizer:
        """Loads the tokenizer saved in a local model directory.

        Args:
            model_dir: A directory holding `tokenizer.json`, and usually `tokenizer_config.json` and
                `special_tokens_map.json` (a Hugging Face model snapshot).
            **kwargs: Overrides for `tokenizer_config.json` entries, as in transformers:
                `model_max_length`, `padding_side`, `truncation_side`, `do_lower_case`, `pad_token`, ...

        Returns:
            The tokenizer.

        Raises:
            FileNotFoundError: `model_dir` does not exist, or holds no tokenizer files.
            NotADirectoryError: `model_dir` is a file.
            ValueError: A tokenizer file cannot be parsed.
            TypeError: An unknown keyword argument.

        Example:
            >>> tokenizer = AutoTokenizer.from_pretrained("/models/all-MiniLM-L6-v2")
            >>> tokenizer.model_max_length
            512
        """
        unknown = sorted(set(kwargs) - _CONFIG_OVERRIDES)
        if unknown:
            raise TypeError(
                f"AutoTokenizer.from_pretrained() got unexpected keyword arguments {unknown}; "
                f"accepted: {sorted(_CONFIG_OVERRIDES)}"
            )
        path = Path(os.fspath(model_dir))
        if not path.exists():
            raise FileNotFoundError(
                f"model directory {str(path)!r} does not exist (bertcore loads local directories only; "
                "download a Hub model first, e.g. with huggingface_hub.snapshot_download)"
            )
        if not path.is_dir():
            raise NotADirectoryError(f"{str(path)!r} is not a directory: pass the model directory")
        backend, settings = _load_pretrained(path, kwargs)
        return cls(backend, settings)

    # ---- attributes --------------------------------------------------------------------------------

    @property
    def padding_side(self) -> str:
        """Side padding goes on by default: "right" or "left"."""
        return self._padding_side

    @padding_side.setter
    def padding_side(self, value: str) -> None:
        self._padding_side = _side(value, "padding_side")

    @property
    def truncation_side(self) -> str:
        """Side tokens are dropped from when truncating: "right" or "left"."""
        return self._truncation_side

    @truncation_side.setter
    def truncation_side(self, value: str) -> None:
        self._truncation_side = _side(value, "truncation_side")

    @property
    def name_or_path(self) -> str:
        """The directory the tokenizer was loaded from."""
        return self._settings.name_or_path

    @property
    def settings(self) -> TokenizerSettings:
        """The settings resolved at load time (with the current sides and model_max_length)."""
        return replace(
            self._settings,
            model_max_length=self.model_max_length,
            padding_side=self.padding_side,
            truncation_side=self.truncation_side,
            model_input_names=tuple(self.model_input_names),
            clean_up_tokenization_spaces=self.clean_up_tokenization_spaces,
        )

    @property
    def vocab_size(self) -> int:
        """Size of the base vocabulary, without added tokens."""
        return int(self._base.get_vocab_size(with_added_tokens=False))

    def __len__(self) -> int:
        """Size of the full vocabulary, added tokens included."""
        return int(self._base.get_vocab_size(with_added_tokens=True))

    def get_vocab(self) -> dict[str, int]:
        """The vocabulary, added tokens included, as token -> id."""
        return dict(self._base.get_vocab(with_added_tokens=True))

    def _special(self, name: str) -> Optional[str]:
        token = self._settings.special_tokens.get(name)
        return None if token is None else str(token)

    def _special_id(self, name: str) -> Optional[int]:
        token = self._special(name)
        return None if token is None else self.convert_tokens_to_ids(token)

    pad_token = property(lambda self: self._special("pad_token"), doc="Padding token, or None.")
    cls_token = property(lambda self: self._special("cls_token"), doc="Classifier token, or None.")
    sep_token = property(lambda self: self._special("sep_token"), doc="Separator token, or None.")
    unk_token = property(lambda self: self._special("unk_token"), doc="Unknown token, or None.")
    mask_token = property(lambda self: self._special("mask_token"), doc="Mask token, or None.")
    bos_token = property(lambda self: self._special("bos_token"), doc="Beginning-of-sequence token, or None.")
    eos_token = property(lambda self: self._special("eos_token"), doc="End-of-sequence token, or None.")
    pad_token_id = property(lambda self: self._special_id("pad_token"), doc="Id of pad_token, or None.")
    cls_token_id = property(lambda self: self._special_id("cls_token"), doc="Id of cls_token, or None.")
    sep_token_id = property(lambda self: self._special_id("sep_token"), doc="Id of sep_token, or None.")
    unk_token_id = property(lambda self: self._special_id("unk_token"), doc="Id of unk_token, or None.")
    mask_token_id = property(lambda self: self._special_id("mask_token"), doc="Id of mask_token, or None.")
    bos_token_id = property(lambda self: self._special_id("bos_token"), doc="Id of bos_token, or None.")
    eos_token_id = property(lambda self: self._special_id("eos_token"), doc="Id of eos_token, or None.")

    @property
    def pad_token_type_id(self) -> int:
        """token_type_id given to padding positions."""
        return 0

    @property
    def special_tokens_map(self) -> dict[str, str]:
        """Named special tokens that are set, e.g. {"unk_token": "[UNK]", ...}."""
        return {n: str(t) for n in SPECIAL_TOKEN_NAMES if (t := self._settings.special_tokens.get(n))}

    @property
    def all_special_tokens(self) -> list[str]:
        """All special tokens (named, then extra), without duplicates."""
        tokens = [*self.special_tokens_map.values(), *(str(t) for t in self._settings.extra_special_tokens)]
        return list(dict.fromkeys(tokens))

    @property
    def all_special_ids(self) -> list[int]:
        """Ids of `all_special_tokens`."""
        return [int(i) for i in self.convert_tokens_to_ids(self.all_special_tokens) if i is not None]

    def num_special_tokens_to_add(self, pair: bool = False) -> int:
        """Number of special tokens added around one sequence (or a pair when `pair=True`)."""
        return int(self._base.num_special_tokens_to_add(pair))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size}, "
            f"model_max_length={self.model_max_length}, padding_side={self.padding_side!r}, "
            f"truncation_side={self.truncation_side!r}, special_tokens={self.special_tokens_map})"
        )

    # ---- encoding ----------------------------------------------------------------------------------

    def __call__(
        self,
        text: TextInput | Sequence[TextInput] | None = None,
        text_pair: TextInput | Sequence[TextInput] | None = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        is_split_into_words: bool = False,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | None = None,
        return_token_type_ids: bool | None = None,
        return_attention_mask: bool | None = None,
        return_overflowing_tokens: bool = False,
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        verbose: bool = True,
    ) -> BatchEncoding:
        """Tokenizes one text, a batch of texts, or (batches of) text pairs.

        Args:
            text: A string, a list of strings (a batch), or with `is_split_into_words=True` a list of
                words (one pre-split text) or a list of such lists (a batch).
            text_pair: The second sequence(s) of pairs, shaped like `text`.
            add_special_tokens: Add [CLS]/[SEP] (or the model's equivalents).
            padding: True or "longest" (pad to the longest in the batch), "max_length" (pad to
                `max_length`, or `model_max_length`), False or "do_not_pad".
            truncation: True or "longest_first", "only_first", "only_second", False or
                "do_not_truncate". None means False, unless `max_length` alone is given.
            max_length: Length to truncate/pad to; defaults to `model_max_length` when truncation or
                "max_length" padding is asked for (not applied when the model declares no maximum).
            stride: Tokens shared between overflowing windows (with `return_overflowing_tokens`).
            is_split_into_words: The inputs are already split into words.
            pad_to_multiple_of: Round the padded length up to a multiple of this.
            padding_side: "right" or "left" for this call (default: `self.padding_side`).
            return_tensors: None for Python lists, "np" for int64 numpy arrays (always batched).
            return_token_type_ids: Include token_type_ids (default: when in `model_input_names`).
            return_attention_mask: Include attention_mask (default: when in `model_input_names`).
            return_overflowing_tokens: Return truncated-away tokens as extra rows, plus
                `overflow_to_sample_mapping`.
            return_special_tokens_mask: Include special_tokens_mask (1 for special tokens).
            return_offsets_mapping: Include offset_mapping: (start, end) character spans.
            return_length: Include length: the number of tokens of each row (padding included).
            verbose: Emit warnings (e.g. a sequence longer than `model_max_length`).

        Returns:
            A `BatchEncoding` with input_ids, token_type_ids, attention_mask (and what else was asked
            for): lists (unbatched for a single text) or int64 numpy arrays of shape (batch, length).

        Raises:
            ValueError: Invalid argument values, `return_tensors="pt"`, ragged rows with
                `return_tensors="np"`, or a `max_length` too small for the special tokens.
            TypeError: Arguments of the wrong type.

        Example:
            >>> enc = tokenizer(["a short one", "and a longer sentence"], padding=True, truncation=True,
            ...                 max_length=8, return_tensors="np")
            >>> enc["input_ids"].shape
            (2, 6)
        """
        if text is None:
            raise ValueError("You need to specify `text` (a string, or a list of strings for a batch).")
        if return_tensors is not None:
            return_tensors = getattr(return_tensors, "value", return_tensors)
            if return_tensors == "pt":
                raise ValueError(
                    "return_tensors='pt' is not supported: bertcore returns numpy arrays and never imports "
                    "torch. Use return_tensors='np' (then torch.from_numpy(...) if you need tensors)."
                )
            if return_tensors != "np":
                raise ValueError(f"return_tensors must be None (lists) or 'np', got {return_tensors!r}")
        max_length = _optional_int(max_length, "max_length", 0)
        pad_to_multiple_of = _optional_int(pad_to_multiple_of, "pad_to_multiple_of", 1)
        stride = _optional_int(stride, "stride", 0) or 0
        if padding_side is not None:
            padding_side = _side(padding_side, "padding_side")
        pad_strategy, trunc_strategy, max_length = self._strategies(
            padding, truncation, max_length, pad_to_multiple_of, verbose
        )
        return self._encode(
            text,
            text_pair,
            add_special_tokens=add_special_tokens,
            pad_strategy=pad_strategy,
            trunc_strategy=trunc_strategy,
            max_length=max_length,
            stride=stride,
            is_split_into_words=is_split_into_words,
            pad_to_multiple_of=pad_to_multiple_of,
            padding_side=padding_side,
            return_tensors=return_tensors,
            returns={
                "token_type_ids": return_token_type_ids,
                "attention_mask": return_attention_mask,
                "special_tokens_mask": return_special_tokens_mask,
                "offset_mapping": return_offsets_mapping,
                "length": return_length,
            },
            return_overflowing_tokens=return_overflowing_tokens,
            verbose=verbose,
        )

    def _strategies(
        self,
        padding: Any,
        truncation: Any,
        max_length: Optional[int],
        pad_multiple: Optional[int],
        verbose: bool,
    ) -> tuple[str, str, Optional[int]]:
        """transformers' _get_padding_truncation_strategies, step for step."""
        if max_length is not None and padding is False and truncation is None:
            truncation = "longest_first"  # max_length alone asks for truncation
        no_truncation = truncation is None or truncation is False or truncation == "do_not_truncate"
        if padding is True and verbose and max_length is not None and no_truncation:
            warnings.warn(
                "`max_length` is ignored when `padding`=`True` and there is no truncation strategy. "
                "To pad to max length, use `padding='max_length'`.",
                UserWarning,
                stacklevel=3,
            )
        pad = _strategy(padding, "padding", _PADDING_STRATEGIES, "longest", "do_not_pad")
        trunc = "do_not_truncate" if truncation is None else truncation
        trunc = _strategy(trunc, "truncation", _TRUNCATION_STRATEGIES, "longest_first", "do_not_truncate")

        if max_length is None:
            no_limit = self.model_max_length > LARGE_INTEGER
            if pad == "max_length":
                if no_limit:
                    if verbose:
                        warnings.warn(
                            "Asking to pad to max_length but no maximum length is provided and the model has "
                            "no predefined maximum length (model_max_length). Default to no padding.",
                            UserWarning,
                            stacklevel=3,
                        )
                    pad = "do_not_pad"
                else:
                    max_length = self.model_max_length
            if trunc != "do_not_truncate":
                if no_limit:
                    if verbose:
                        warnings.warn(
                            "Asking to truncate to max_length but no maximum length is provided and the "
                            "model has no predefined maximum length (model_max_length). Default to no "
                            "truncation.",
                            UserWarning,
                            stacklevel=3,
                        )
                    trunc = "do_not_truncate"
                else:
                    max_length = self.model_max_length

        if pad != "do_not_pad" and (self.pad_token is None or (self.pad_token_id or 0) < 0):
            raise ValueError(
                "Asking to pad but the tokenizer does not have a padding token: set pad_token in "
                "tokenizer_config.json or pass pad_token=... to from_pretrained."
            )
        if (
            trunc != "do_not_truncate"
            and pad != "do_not_pad"
            and pad_multiple is not None
            and max_length is not None
            and max_length % pad_multiple != 0
        ):
            raise ValueError(
                "Truncation and padding are both activated but "
                f"truncation length ({max_length}) is not a multiple of pad_to_multiple_of ({pad_multiple})."
            )
        return pad, trunc, max_length

    def _encode(
        self,
        text: Any,
        text_pair: Any,
        *,
        add_special_tokens: bool,
        pad_strategy: str,
        trunc_strategy: str,
        max_length: Optional[int],
        stride: int,
        is_split_into_words: bool,
        pad_to_multiple_of: Optional[int],
        padding_side: Optional[str],
        return_tensors: Optional[str],
        returns: Mapping[str, Optional[bool]],
        return_overflowing_tokens: bool,
        verbose: bool,
    ) -> BatchEncoding:
        text_error = (
            "text input must be of type `str` (single example), `list[str]` (batch or single pretokenized "
            "example) or `list[list[str]]` (batch of pretokenized examples) or "
            "`list[tuple[list[str], list[str]]]` (batch of pretokenized sequence pairs)."
        )
        if not _is_valid_text(text):
            raise ValueError(f"{text_error} Got {type(text).__name__}.")
        if text_pair is not None and not _is_valid_text(text_pair):
            raise ValueError(f"text_pair: {text_error} Got {type(text_pair).__name__}.")
        if is_split_into_words:
            is_batched = isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
        else:
            is_batched = isinstance(text, (list, tuple))

        if is_batched:
            if isinstance(text_pair, str):
                raise TypeError(
                    "when tokenizing batches of text, `text_pair` must be a list or tuple with the same "
                    "length as `text`."
                )
            if text_pair is not None and len(text) != len(text_pair):
                raise ValueError(
                    f"batch length of `text`: {len(text)} does not match batch length of `text_pair`: "
                    f"{len(text_pair)}."
                )
            batch = list(zip(text, text_pair)) if text_pair is not None else list(text)
        else:
            if text_pair is not None and not is_split_into_words and not isinstance(text_pair, str):
                raise TypeError("when `text` is a single string, `text_pair` must be a single string too.")
            # transformers drops an empty text_pair ("") of a single example: same here.
            batch = [(text, text_pair)] if text_pair else [text]

        if trunc_strategy != "do_not_truncate" and max_length is not None and add_special_tokens and batch:
            pair = any(_is_pair(item, is_split_into_words) for item in batch)
            n_special = self.num_special_tokens_to_add(pair)
            if max_length < n_special:
                raise ValueError(
                    f"max_length={max_length} cannot hold the {n_special} special tokens added to each "
                    f"{'pair' if pair else 'sequence'}; use max_length >= {n_special}"
                )

        backend = self._backend_for(
            trunc_strategy, pad_strategy, max_length, stride, pad_to_multiple_of, padding_side
        )
        try:
            encodings = backend.encode_batch(
                batch, add_special_tokens=add_special_tokens, is_pretokenized=is_split_into_words
            )
        except BaseException as e:
            # tokenizers reports truncation it cannot do as a bare Exception, or as a Rust panic
            # (pyo3's PanicException, a BaseException) when stride >= the room left for a sequence.
            truncation_error = type(e) is Exception and "Truncation error" in str(e)
            if truncation_error or type(e).__name__ == "PanicException":
                raise ValueError(
                    f"cannot truncate with truncation={trunc_strategy!r}, max_length={max_length}, "
                    f"stride={stride}: {e}"
                ) from e
            raise

        data, rows = self._collect(encodings, returns, return_overflowing_tokens)
        for ids in data["input_ids"]:
            self._maybe_warn_too_long(ids, max_length, verbose)

        n_sequences = encodings[0].n_sequences if encodings else None
        if return_tensors == "np":
            return BatchEncoding({k: _to_numpy(k, v) for k, v in data.items()}, rows, n_sequences)
        if not is_batched and not return_overflowing_tokens:
            data = {k: (v[0] if v and isinstance(v[0], list) else v) for k, v in data.items()}
        return BatchEncoding(data, rows, n_sequences)

    def _collect(
        self, encodings: Sequence[Encoding], returns: Mapping[str, Optional[bool]], overflowing: bool
    ) -> tuple[dict[str, list[Any]], list[Encoding]]:
        """Encodings -> dict of lists in transformers' key order (TokenizersBackend._convert_encoding)."""
        names = self.model_input_names
        wanted = {key: (key in names if flag is None else bool(flag)) for key, flag in returns.items()}
        data: dict[str, list[Any]] = {"input_ids": []}
        for key in ("token_type_ids", "attention_mask", "special_tokens_mask", "offset_mapping", "length"):
            if wanted[key]:
                data[key] = []
        rows: list[Encoding] = []
        sample_map: list[int] = []
        for index, encoding in enumerate(encodings):
            group = [encoding, *encoding.overflowing] if overflowing else [encoding]
            for e in group:
                rows.append(e)
                sample_map.append(index)
                data["input_ids"].append(e.ids)
                if wanted["token_type_ids"]:
                    data["token_type_ids"].append(e.type_ids)
                if wanted["attention_mask"]:
                    data["attention_mask"].append(e.attention_mask)
                if wanted["special_tokens_mask"]:
                    data["special_tokens_mask"].append(e.special_tokens_mask)
                if wanted["offset_mapping"]:
                    data["offset_mapping"].append(e.offsets)
                if wanted["length"]:
                    data["length"].append(len(e.ids))
        if overflowing:
            data["overflow_to_sample_mapping"] = sample_map
        return data, rows

    def _maybe_warn_too_long(self, ids: Sequence[int], max_length: Optional[int], verbose: bool) -> None:
        if (
            max_length is None
            and verbose
            and self.model_max_length != 0
            and len(ids) > self.model_max_length
            and not self._warned_too_long
        ):
            self._warned_too_long = True
            logger.warning(
                "Token indices sequence length is longer than the specified maximum sequence length for this "
                f"model ({len(ids)} > {self.model_max_length}). Running this sequence through the model will "
                "result in indexing errors"
            )

    def _backend_for(
        self,
        trunc_strategy: str,
        pad_strategy: str,
        max_length: Optional[int],
        stride: int,
        pad_to_multiple_of: Optional[int],
        padding_side: Optional[str],
    ) -> Tokenizer:
        """A backend set up for these settings, private to the calling thread.

        Calls with neither padding nor truncation use the shared base, which is never reconfigured. Others
        use this thread's own copy of it, reconfigured in place only when the settings change, so calls
        in other threads never see its padding/truncation state.
        """
        trunc_key = None
        if trunc_strategy != "do_not_truncate":
            trunc_key = (max_length, stride, trunc_strategy, self.truncation_side)
        pad_key = None
        if pad_strategy != "do_not_pad":
            length = max_length if pad_strategy == "max_length" else None
            side = padding_side if padding_side is not None else self.padding_side
            pad_key = (length, side, self.pad_token_id, self.pad_token, self.pad_token_type_id)
            pad_key += (pad_to_multiple_of,)
        if trunc_key is None and pad_key is None:
            return self._base
        local = self._local
        backend: Optional[Tokenizer] = getattr(local, "backend", None)
        if backend is None:
            backend = copy.deepcopy(self._base)
            backend.encode_special_tokens = self._base.encode_special_tokens
            local.backend, local.trunc_key, local.pad_key = backend, None, None
        if local.trunc_key != trunc_key:
            if trunc_key is None:
                backend.no_truncation()
            else:
                ml, st, strategy, direction = trunc_key
                backend.enable_truncation(ml, stride=st, strategy=strategy, direction=direction)
            local.trunc_key = trunc_key
        if local.pad_key != pad_key:
            if pad_key is None:
                backend.no_padding()
            else:
                length, side, pad_id, pad_token, pad_type_id, multiple = pad_key
                backend.enable_padding(
                    direction=side,
                    pad_id=pad_id,
                    pad_type_id=pad_type_id,
                    pad_token=pad_token,
                    length=length,
                    pad_to_multiple_of=multiple,
                )
            local.pad_key = pad_key
        return backend

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_local"]  # per-thread backends are rebuilt on demand
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def encode(
        self,
        text: TextInput,
        text_pair: TextInput | None = None,
        add_special_tokens: bool = True,
        padding: bool | str = False,
        truncation: bool | str | None = None,
        max_length: int | None = None,
        stride: int = 0,
        padding_side: str | None = None,
        return_tensors: str | None = None,
    ) -> Any:
        """Tokenizes one text (or pair) and returns only its input ids.

        Args:
            text: The text (or, with lists, a batch: then a list of id lists is returned).
            text_pair: Optional second sequence.
            add_special_tokens, padding, truncation, max_length, stride, padding_side, return_tensors:
                As for `__call__`.

        Returns:
            A list of ids, or an int64 array of shape (1, length) with `return_tensors="np"`.

        Example:
            >>> tokenizer.encode("Hello world")
            [101, 7592, 2088, 102]
        """
        enc = self(
            text,
            text_pair,
            add_special_tokens=add_special_tokens,
            padding=padding,
            truncation=truncation,
            max_length=max_length,
            stride=stride,
            padding_side=padding_side,
            return_tensors=return_tensors,
        )
        return enc["input_ids"]

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False) -> list[str]:
        """Splits a text (or pair) into token strings, without padding or truncation.

        Args:
            text: The text.
            pair: Optional second sequence.
            add_special_tokens: Include [CLS]/[SEP] and the like.

        Returns:
            The tokens, e.g. ["hello", "world"].

        Example:
            >>> tokenizer.tokenize("Tokenizers split words")
            ['token', '##izer', '##s', 'split', 'words']
        """
        if not isinstance(text, str) or (pair is not None and not isinstance(pair, str)):
            raise TypeError("tokenize() takes a string (and optionally a string pair)")
        enc = self._encode(
            text,
            pair,
            add_special_tokens=add_special_tokens,
            pad_strategy="do_not_pad",
            trunc_strategy="do_not_truncate",
            max_length=None,
            stride=0,
            is_split_into_words=False,
            pad_to_multiple_of=None,
            padding_side=None,
            return_tensors=None,
            returns={"token_type_ids": False, "attention_mask": False, "special_tokens_mask": False,
                     "offset_mapping": False, "length": False},
            return_overflowing_tokens=False,
            verbose=False,
        )
        return enc.tokens()

    # ---- vocabulary lookups -----------------------------------------------------------------------

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> Any:
        """Token string(s) -> id(s); unknown tokens map to `unk_token_id`.

        Args:
            tokens: One token or a list of tokens.

        Returns:
            An id or a list of ids.

        Example:
            >>> tokenizer.convert_tokens_to_ids(["hello", "[SEP]"])
            [7592, 102]
        """
        if isinstance(tokens, str):
            return self._token_to_id(tokens)
        return [self._token_to_id(t) for t in tokens]

    def _token_to_id(self, token: str) -> Optional[int]:
        index = self._base.token_to_id(token)
        if index is None:
            unk = self._special("unk_token")
            return None if unk is None else self._base.token_to_id(unk)
        return int(index)

    def convert_ids_to_tokens(
        self, ids: int | Sequence[int] | np.ndarray, skip_special_tokens: bool = False
    ) -> Any:
        """Id(s) -> token string(s) (None for an id outside the vocabulary).

        Args:
            ids: One id or a sequence of ids (lists or numpy arrays).
            skip_special_tokens: Leave out special tokens (lists only).

        Returns:
            A token or a list of tokens.

        Example:
            >>> tokenizer.convert_ids_to_tokens([101, 7592, 102], skip_special_tokens=True)
            ['hello']
        """
        ids = _to_py(ids)
        if isinstance(ids, int):
            return self._base.id_to_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return [self._base.id_to_token(int(i)) for i in ids if int(i) not in skip]

    # ---- decoding ---------------------------------------------------------------------------------

    def clean_up_tokenization(self, text: str) -> str:
        """transformers' clean-up of spaces before punctuation and in English contractions."""
        for before, after in (
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
            (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ):
            text = text.replace(before, after)
        return text

    def decode(
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> Any:
        """Turns ids back into text.

        Args:
            token_ids: An id, a list/1-D array of ids, or a batch (list of lists / 2-D array; then a list
                of strings is returned).
            skip_special_tokens: Leave out special tokens such as [CLS], [SEP] and [PAD].
            clean_up_tokenization_spaces: Remove spaces before punctuation (default: the tokenizer's
                `clean_up_tokenization_spaces`, usually False; BERT's decoder already cleans up).

        Returns:
            The text, or a list of texts for a batch.

        Example:
            >>> tokenizer.decode([101, 7592, 2088, 102], skip_special_tokens=True)
            'hello world'
        """
        if isinstance(token_ids, Mapping):
            token_ids = token_ids["input_ids"]
        token_ids = _to_py(token_ids)
        if isinstance(token_ids, list) and token_ids and isinstance(token_ids[0], list):
            return [self._decode(seq, skip_special_tokens, clean_up_tokenization_spaces) for seq in token_ids]
        return self._decode(token_ids, skip_special_tokens, clean_up_tokenization_spaces)

    def _decode(self, ids: Any, skip_special_tokens: bool, clean_up: Optional[bool]) -> str:
        if isinstance(ids, int):
            ids = [ids]
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise TypeError(f"decode() takes ids as ints, lists of ints or integer arrays, got {ids!r:.80}")
        if any(i < 0 for i in ids):
            raise ValueError("decode() got a negative token id")
        text = str(self._base.decode(ids, skip_special_tokens=skip_special_tokens))
        clean_up = self.clean_up_tokenization_spaces if clean_up is None else clean_up
        if clean_up and type(self._base.model).__name__ != "BPE":  # transformers skips it for BPE models
            text = self.clean_up_tokenization(text)
        return text

    def batch_decode(
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> list[str]:
        """Decodes a batch of id sequences.

        Args:
            sequences: A list of id lists, or a 2-D integer array.
            skip_special_tokens: Leave out special tokens.
            clean_up_tokenization_spaces: As for `decode`.

        Returns:
            One string per sequence.

        Example:
            >>> tokenizer.batch_decode([[101, 7592, 102], [101, 2088, 102]], skip_special_tokens=True)
            ['hello', 'world']
        """
        sequences = _to_py(sequences)
        if isinstance(sequences, list) and not sequences:
            return []
        result = self.decode(sequences, skip_special_tokens, clean_up_tokenization_spaces)
        return [result] if isinstance(result, str) else list(result)
