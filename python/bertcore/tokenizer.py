"""`AutoTokenizer`: transformers' tokenizer API over the `tokenizers` library, numpy instead of torch.

It loads a model directory as transformers does (`tokenization/loading.py`), is called like a transformers
tokenizer and gives the same ids, masks and decoded text, as lists or int64 numpy arrays, without importing
transformers or torch. Where transformers returns something unusable, it raises instead: ragged rows with
`return_tensors="np"`, a `max_length` too small for the special tokens, `return_tensors="pt"`.

Example:
    >>> from bertcore.tokenizer import AutoTokenizer
    >>> AutoTokenizer.from_pretrained(model_dir)("Hello world")["input_ids"]
    [101, 7592, 2088, 102]
"""

from __future__ import annotations

import copy
import importlib
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Union

from tokenizers import Tokenizer

from .tokenization.arguments import batch_items, check_side, has_pairs, optional_int, resolve_strategies
from .tokenization.arguments import wants_numpy
from .tokenization.batch_encoding import OPTIONAL_KEYS, BatchEncoding, build_batch_encoding
from .tokenization.loading import CONFIG_OVERRIDES, TokenizerSettings, load_pretrained
from .tokenization.vocabulary import VocabularyMixin

__all__ = ["AutoTokenizer", "BatchEncoding", "TokenizerSettings"]

logger = logging.getLogger(__name__)
TextInput = Union[str, Sequence[str]]
_HUB_ARGUMENTS = ("local_files_only", "revision", "cache_dir")


class AutoTokenizer(VocabularyMixin):
    """A BERT-family tokenizer called like transformers' tokenizers, returning lists or numpy arrays.

    Build one with `AutoTokenizer.from_pretrained(model_dir)`; the constructor takes an already built
    `tokenizers.Tokenizer` and its `TokenizerSettings`.

    Example:
        >>> tokenizer = AutoTokenizer.from_pretrained(model_dir)
        >>> tokenizer("Hello world")["input_ids"]
        [101, 7592, 2088, 102]
        >>> tokenizer(["Hello", "Hello world"], padding=True, return_tensors="np")["attention_mask"]
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
        self._local = threading.local()  # this thread's copy of the base, for padding/truncation
        self._settings = settings
        self._warned_too_long = False
        self.model_max_length: int = settings.model_max_length
        self.padding_side = settings.padding_side
        self.truncation_side = settings.truncation_side
        self.model_input_names: list[str] = list(settings.model_input_names)
        self.clean_up_tokenization_spaces: bool = settings.clean_up_tokenization_spaces

    @classmethod
    def from_pretrained(
        cls,
        model_dir: str | os.PathLike[str],
        *,
        local_files_only: bool = False,
        revision: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> AutoTokenizer:
        """Loads the tokenizer of a local model directory, or of a Hugging Face Hub model id.

        Args:
            model_dir: A model snapshot with `tokenizer.json` (or `vocab.txt`, or `vocab.json` and
                `merges.txt`) and usually `tokenizer_config.json`; or a Hub id (`bertcore.hub` resolves it).
            local_files_only, revision, cache_dir: For a Hub id: cache only, the revision, the cache folder.
            **kwargs: Overrides of `tokenizer_config.json` entries, as in transformers: `model_max_length`,
                `padding_side`, `truncation_side`, `do_lower_case`, `pad_token`, ...

        Raises:
            FileNotFoundError: No such directory (nor Hub id), or no tokenizer files bertcore can read (the
                message says how to write a tokenizer.json).
            NotADirectoryError: `model_dir` is a file.
            ValueError: A tokenizer file cannot be parsed.
            TypeError: An unknown keyword argument.

        Example:
            >>> AutoTokenizer.from_pretrained("/models/all-MiniLM-L6-v2").model_max_length
            512
        """
        unknown = sorted(set(kwargs) - CONFIG_OVERRIDES)
        if unknown:
            raise TypeError(
                f"AutoTokenizer.from_pretrained() got unexpected keyword arguments {unknown}; "
                f"accepted: {sorted(CONFIG_OVERRIDES | set(_HUB_ARGUMENTS))}"
            )
        name = os.fspath(model_dir)
        path = Path(name)
        if not path.exists():
            hub = _hub_module(name)
            path = Path(
                hub.resolve_model_dir(
                    name, local_files_only=local_files_only, revision=revision, cache_dir=cache_dir
                )
            )
        if not path.is_dir():
            raise NotADirectoryError(f"{str(path)!r} is not a directory: pass the model directory")
        backend, settings = load_pretrained(path, kwargs)
        if str(path) != str(name):  # a Hub id: named as given, as transformers does
            settings = replace(settings, name_or_path=str(name))
        return cls(backend, settings)

    # ---- attributes --------------------------------------------------------------------------------

    @property
    def padding_side(self) -> str:
        """Side padding goes on by default: "right" or "left"."""
        return self._padding_side

    @padding_side.setter
    def padding_side(self, value: str) -> None:
        self._padding_side = check_side(value, "padding_side")

    @property
    def truncation_side(self) -> str:
        """Side tokens are dropped from when truncating: "right" or "left"."""
        return self._truncation_side

    @truncation_side.setter
    def truncation_side(self, value: str) -> None:
        self._truncation_side = check_side(value, "truncation_side")

    @property
    def name_or_path(self) -> str:
        """The directory (or Hub id) the tokenizer was loaded from."""
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

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name_or_path={self.name_or_path!r}, vocab_size={self.vocab_size}, "
            f"model_max_length={self.model_max_length}, padding_side={self.padding_side!r}, "
            f"truncation_side={self.truncation_side!r}, special_tokens={self.special_tokens_map})"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_local"}  # thread copies are rebuilt

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _local=threading.local())

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
            text, text_pair: A string or a list of strings (a batch); with `is_split_into_words` a list of
                words or a list of such lists. `text_pair` holds the second sequences of pairs.
            padding: True or "longest" (to the longest row), "max_length" (to `max_length`, else
                `model_max_length`), False or "do_not_pad".
            truncation: True or "longest_first", "only_first", "only_second", False or "do_not_truncate";
                None is False unless `max_length` alone is given.
            max_length: Length to truncate/pad to (default `model_max_length`, unless that is unknown).
            stride: Tokens shared between overflowing windows (with `return_overflowing_tokens`).
            padding_side: "right" or "left" for this call (default: `self.padding_side`).
            return_tensors: None for Python lists, "np" for int64 numpy arrays (always batched).
            return_token_type_ids, return_attention_mask: Include these (default: when in
                `model_input_names`); `return_special_tokens_mask`, `return_offsets_mapping`,
                `return_length`, `return_overflowing_tokens` (with `overflow_to_sample_mapping`) add theirs.
            add_special_tokens, pad_to_multiple_of, verbose: As in transformers.

        Returns:
            A `BatchEncoding`: lists (unbatched for a single text) or int64 arrays of shape (rows, length).

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
        numpy = wants_numpy(return_tensors)
        max_length = optional_int(max_length, "max_length", 0)
        multiple = optional_int(pad_to_multiple_of, "pad_to_multiple_of", 1)
        stride = optional_int(stride, "stride", 0) or 0
        side = self.padding_side if padding_side is None else check_side(padding_side, "padding_side")
        has_pad = self.pad_token_id is not None
        pad, trunc, max_length = resolve_strategies(
            padding, truncation, max_length, multiple, verbose, self.model_max_length, has_pad
        )
        batch, batched = batch_items(text, text_pair, is_split_into_words)

        truncation_args: dict[str, Any] | None = None
        padding_args: dict[str, Any] | None = None
        if trunc != "do_not_truncate" and max_length is not None:
            if add_special_tokens and batch:
                pair = has_pairs(batch, is_split_into_words)
                n_special = self.num_special_tokens_to_add(pair)
                if max_length < n_special:
                    raise ValueError(
                        f"max_length={max_length} cannot hold the {n_special} special tokens added to each "
                        f"{'pair' if pair else 'sequence'}; use max_length >= {n_special}"
                    )
            truncation_args = dict(max_length=max_length, stride=stride, strategy=trunc)
            truncation_args.update(direction=self.truncation_side)
        if pad != "do_not_pad":
            padding_args = dict(length=max_length if pad == "max_length" else None, direction=side)
            padding_args.update(
                pad_id=self.pad_token_id, pad_token=self.pad_token, pad_to_multiple_of=multiple
            )
        try:
            encodings = self._backend(truncation_args, padding_args).encode_batch(
                batch, add_special_tokens=add_special_tokens, is_pretokenized=is_split_into_words
            )
        except BaseException as e:
            # tokenizers reports truncation it cannot do as a bare Exception, or as a Rust panic
            # (pyo3's PanicException, a BaseException) when stride >= the room left for a sequence.
            panic = type(e).__name__ == "PanicException"
            if panic or (type(e) is Exception and "Truncation error" in str(e)):
                raise ValueError(
                    f"cannot truncate with truncation={trunc!r}, max_length={max_length}, "
                    f"stride={stride}: {e}"
                ) from e
            raise

        if max_length is None and verbose and not self._warned_too_long:
            too_long = next((len(e.ids) for e in encodings if 0 < self.model_max_length < len(e.ids)), None)
            if too_long is not None:
                self._warned_too_long = True
                logger.warning(
                    "Token indices sequence length is longer than the specified maximum sequence length for "
                    f"this model ({too_long} > {self.model_max_length}). Running this sequence through the "
                    "model will result in indexing errors"
                )
        flags = (
            return_token_type_ids,
            return_attention_mask,
            return_special_tokens_mask,
            return_offsets_mapping,
        )
        keys = [k for k, f in zip(OPTIONAL_KEYS, flags) if (k in self.model_input_names if f is None else f)]
        return build_batch_encoding(encodings, keys, return_overflowing_tokens, return_length, numpy, batched)

    def _backend(self, truncation: dict[str, Any] | None, padding: dict[str, Any] | None) -> Tokenizer:
        """The base backend, or for padding/truncation this thread's copy of it set up for them."""
        if truncation is None and padding is None:
            return self._base
        local = self._local
        if getattr(local, "backend", None) is None:
            local.backend, local.settings = copy.deepcopy(self._base), None
            local.backend.encode_special_tokens = self._base.encode_special_tokens
        backend: Tokenizer = local.backend
        if local.settings != (truncation, padding):  # reconfigured only when the settings change
            if truncation is None:
                backend.no_truncation()
            else:
                backend.enable_truncation(**truncation)
            if padding is None:
                backend.no_padding()
            else:
                backend.enable_padding(**padding)
            local.settings = (truncation, padding)
        return backend

    def encode(self, text: TextInput, text_pair: TextInput | None = None, **kwargs: Any) -> Any:
        """The input ids alone of `self(text, text_pair, **kwargs)` (keyword arguments as for `__call__`).

        Example:
            >>> tokenizer.encode("Hello world")
            [101, 7592, 2088, 102]
        """
        return self(text, text_pair, **kwargs)["input_ids"]

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False) -> list[str]:
        """Splits a text (or pair) into token strings, without padding or truncation.

        Example:
            >>> tokenizer.tokenize("Tokenizers split words")
            ['token', '##izer', '##s', 'split', 'words']
        """
        if not isinstance(text, str) or (pair is not None and not isinstance(pair, str)):
            raise TypeError("tokenize() takes a string (and optionally a string pair)")
        # An empty pair is dropped, as transformers does.
        return list(self._base.encode(text, pair or None, add_special_tokens=add_special_tokens).tokens)

    def token_spans(
        self, text: str, add_special_tokens: bool = True
    ) -> list[tuple[int, str, bool, int, int]]:
        """(id, token, is special, start, stop) for each token of ``text``; start/stop are character offsets
        into ``text`` (0, 0 for special tokens)."""
        enc = self._base.encode(text, add_special_tokens=add_special_tokens)
        return [
            (int(i), str(t), bool(special), int(a), int(b))
            for i, t, special, (a, b) in zip(enc.ids, enc.tokens, enc.special_tokens_mask, enc.offsets)
        ]


def _hub_module(name: str) -> Any:
    """bertcore.hub, imported on first use; a FileNotFoundError when that module is not there."""
    try:
        return importlib.import_module("bertcore.hub")
    except ModuleNotFoundError as e:
        if e.name not in ("bertcore.hub", "bertcore"):
            raise
        raise FileNotFoundError(
            f"model directory {name!r} does not exist (this bertcore loads local directories only; "
            "download a Hub model first, e.g. with huggingface_hub.snapshot_download)"
        ) from None
