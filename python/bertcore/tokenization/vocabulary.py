"""The vocabulary side of `AutoTokenizer`: special tokens, token <-> id lookups, and decoding ids to text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from .arguments import to_py
from .loading import SPECIAL_TOKEN_NAMES, TokenizerSettings

__all__ = ["VocabularyMixin"]

# transformers' clean-up of spaces before punctuation and in English contractions
_CLEAN_UP = [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m")]
_CLEAN_UP += [(" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]


class VocabularyMixin:
    """Vocabulary, special tokens and decoding, as transformers' tokenizers have them.

    Needs `_base` (the backend, added tokens included), `_settings` and `clean_up_tokenization_spaces`
    from the class it is mixed into.
    """

    _base: Tokenizer
    _settings: TokenizerSettings
    clean_up_tokenization_spaces: bool

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

    def _special(self, name: str) -> str | None:
        token = self._settings.special_tokens.get(name)
        return None if token is None else str(token)

    def _special_id(self, name: str) -> int | None:
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

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> Any:
        """Token string(s) -> id(s); unknown tokens map to `unk_token_id` (None without an unk token).

        Example:
            >>> tokenizer.convert_tokens_to_ids(["hello", "[SEP]"])
            [7592, 102]
        """
        if not isinstance(tokens, str):
            return [self.convert_tokens_to_ids(t) for t in tokens]
        index = self._base.token_to_id(tokens)
        unk = self._special("unk_token")
        return index if index is not None or unk is None else self._base.token_to_id(unk)

    def convert_ids_to_tokens(
        self, ids: int | Sequence[int] | np.ndarray, skip_special_tokens: bool = False
    ) -> Any:
        """Id(s) -> token string(s) (None for an id outside the vocabulary).

        Example:
            >>> tokenizer.convert_ids_to_tokens([101, 7592, 102], skip_special_tokens=True)
            ['hello']
        """
        ids = to_py(ids)
        if isinstance(ids, int):
            return self._base.id_to_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return [self._base.id_to_token(int(i)) for i in ids if int(i) not in skip]

    def decode(
        self,
        token_ids: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> Any:
        """Ids back to text: an id or a 1-D list/array of ids -> a string, a batch (2-D) -> a list of them.

        Args:
            skip_special_tokens: Leave out special tokens such as [CLS], [SEP] and [PAD].
            clean_up_tokenization_spaces: Remove spaces before punctuation (default: the tokenizer's
                `clean_up_tokenization_spaces`, usually False; BERT's decoder already cleans up).

        Example:
            >>> tokenizer.decode([101, 7592, 2088, 102], skip_special_tokens=True)
            'hello world'
        """
        ids = to_py(token_ids["input_ids"] if isinstance(token_ids, Mapping) else token_ids)
        if isinstance(ids, list) and ids and isinstance(ids[0], list):
            return [self.decode(row, skip_special_tokens, clean_up_tokenization_spaces) for row in ids]
        ids = [ids] if isinstance(ids, int) else ids
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise TypeError(f"decode() takes ids as ints, lists of ints or integer arrays, got {ids!r:.80}")
        if any(i < 0 for i in ids):
            raise ValueError("decode() got a negative token id")
        text = str(self._base.decode(ids, skip_special_tokens=skip_special_tokens))
        clean_up = clean_up_tokenization_spaces
        clean_up = self.clean_up_tokenization_spaces if clean_up is None else clean_up
        if clean_up and type(self._base.model).__name__ != "BPE":  # transformers skips it for BPE models
            for before, after in _CLEAN_UP:
                text = text.replace(before, after)
        return text

    def batch_decode(
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        clean_up_tokenization_spaces: bool | None = None,
    ) -> list[str]:
        """Decodes a batch of id sequences (a list of id lists, or a 2-D integer array), one string each.

        Example:
            >>> tokenizer.batch_decode([[101, 7592, 102], [101, 2088, 102]], skip_special_tokens=True)
            ['hello', 'world']
        """
        return [
            self.decode(row, skip_special_tokens, clean_up_tokenization_spaces) for row in to_py(sequences)
        ]
