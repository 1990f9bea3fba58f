"""`AutoTokenizer`: transformers' tokenizer API over the `tokenizers` library, numpy instead of torch.

`AutoTokenizer.from_pretrained(model_dir)` reads `tokenizer.json`, or when there is none the vocabulary
files (`vocab.txt` for BERT-style classes, `vocab.json` + `merges.txt` for RoBERTa/GPT-2-style ones), plus
`tokenizer_config.json`, `special_tokens_map.json`, `added_tokens.json` and `config.json` when present. It
returns a tokenizer that is called exactly like a transformers tokenizer and gives the same ids, masks and
decoded text, as Python lists or int64 numpy arrays. transformers and torch are never imported.

What is mirrored from transformers (5.x, `TokenizersBackend`, `BertTokenizer`, `RobertaTokenizer`):
- The class's own pipeline is rebuilt from the vocabulary and `tokenizer_config.json` for BERT-style
  classes (`do_lower_case`, `strip_accents`, `tokenize_chinese_chars`) and byte-level BPE ones
  (`add_prefix_space`, `trim_offsets`), see `pipelines.py`; other classes use `tokenizer.json` as it is.
- Named special tokens missing from the added vocabulary are added as special tokens.
- padding/truncation arguments are resolved as in `PreTrainedTokenizerBase`, including `max_length`
  alone turning on truncation and a huge `model_max_length` (no limit known) turning truncation and
  `'max_length'` padding off.

Where bertcore is stricter than transformers, it raises instead of returning something unusable:
ragged batches with `return_tensors="np"`, a `max_length` too small to hold the special tokens, an
empty-batch crash (bertcore returns empty outputs), `return_tensors="pt"`, and directories whose
tokenizer class is unknown or which hold only a SentencePiece model.

Thread safety: calls that pad or truncate use a backend private to the calling thread
(`thread_backends.py`), so calls with different settings can run at the same time in different threads.
"""

from __future__ import annotations

import copy
import importlib
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Union

from tokenizers import Tokenizer

from .arguments import check_side, optional_int, resolve_strategies
from .batch_encoding import BatchEncoding
from .decoding import DecodingMixin
from .encoding import EncodingMixin
from .pretrained import CONFIG_OVERRIDES, load_pretrained
from .settings import TokenizerSettings
from .thread_backends import ThreadBackends

__all__ = ["AutoTokenizer"]

TextInput = Union[str, Sequence[str]]
_HUB_ARGUMENTS = ("local_files_only", "revision", "cache_dir")


class AutoTokenizer(EncodingMixin, DecodingMixin):
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
        self._backends = ThreadBackends(base)  # per-thread copies for padding/truncation
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
            model_dir: A directory holding `tokenizer.json` (or `vocab.txt`, or `vocab.json` and
                `merges.txt`), and usually `tokenizer_config.json` (a Hugging Face model snapshot); or a
                Hub id such as "sentence-transformers/all-MiniLM-L6-v2", resolved to a local snapshot by
                `bertcore.hub.resolve_model_dir` (which needs huggingface_hub).
            local_files_only, revision, cache_dir: For a Hub id: use only the local cache, the branch, tag
                or commit to load, and the cache folder. Ignored for a local directory.
            **kwargs: Overrides for `tokenizer_config.json` entries, as in transformers:
                `model_max_length`, `padding_side`, `truncation_side`, `do_lower_case`, `pad_token`, ...

        Returns:
            The tokenizer.

        Raises:
            FileNotFoundError: `model_dir` does not exist (and is no Hub id that can be fetched), or holds
                no tokenizer files bertcore can read (the message says how to write a tokenizer.json).
            NotADirectoryError: `model_dir` is a file.
            ValueError: A tokenizer file cannot be parsed.
            TypeError: An unknown keyword argument.

        Example:
            >>> tokenizer = AutoTokenizer.from_pretrained("/models/all-MiniLM-L6-v2")
            >>> tokenizer.model_max_length
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
        max_length = optional_int(max_length, "max_length", 0)
        pad_to_multiple_of = optional_int(pad_to_multiple_of, "pad_to_multiple_of", 1)
        stride = optional_int(stride, "stride", 0) or 0
        if padding_side is not None:
            padding_side = check_side(padding_side, "padding_side")
        pad_strategy, trunc_strategy, max_length = resolve_strategies(
            padding,
            truncation,
            max_length,
            pad_to_multiple_of,
            verbose,
            model_max_length=self.model_max_length,
            pad_token=self.pad_token,
            pad_token_id=self.pad_token_id,
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
            returns={
                "token_type_ids": False,
                "attention_mask": False,
                "special_tokens_mask": False,
                "offset_mapping": False,
                "length": False,
            },
            return_overflowing_tokens=False,
            verbose=False,
        )
        return enc.tokens()


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
