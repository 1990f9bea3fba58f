"""The vocabulary side of `AutoTokenizer`: sizes, special tokens and token <-> id conversions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from .arguments import to_py
from .settings import SPECIAL_TOKEN_NAMES, TokenizerSettings

__all__ = ["VocabularyMixin"]


class VocabularyMixin:
    """Vocabulary and special-token lookups, as transformers' tokenizers have them.

    Needs `_base` (the backend, with added tokens) and `_settings` from the class it is mixed into.
    """

    _base: Tokenizer
    _settings: TokenizerSettings

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

    def _token_to_id(self, token: str) -> int | None:
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
        ids = to_py(ids)
        if isinstance(ids, int):
            return self._base.id_to_token(ids)
        skip = set(self.all_special_ids) if skip_special_tokens else set()
        return [self._base.id_to_token(int(i)) for i in ids if int(i) not in skip]
