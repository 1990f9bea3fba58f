"""The decoding side of `AutoTokenizer`: ids back to text, as transformers' `TokenizersBackend` does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenizers import Tokenizer

from .arguments import to_py

__all__ = ["DecodingMixin"]


class DecodingMixin:
    """`decode` and `batch_decode`.

    Needs `_base` (the backend) and `clean_up_tokenization_spaces` from the class it is mixed into.
    """

    _base: Tokenizer
    clean_up_tokenization_spaces: bool

    def clean_up_tokenization(self, text: str) -> str:
        """transformers' clean-up of spaces before punctuation and in English contractions."""
        for before, after in (
            (" .", "."),
            (" ?", "?"),
            (" !", "!"),
            (" ,", ","),
            (" ' ", "'"),
            (" n't", "n't"),
            (" 'm", "'m"),
            (" 's", "'s"),
            (" 've", "'ve"),
            (" 're", "'re"),
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
        token_ids = to_py(token_ids)
        if isinstance(token_ids, list) and token_ids and isinstance(token_ids[0], list):
            return [self._decode(seq, skip_special_tokens, clean_up_tokenization_spaces) for seq in token_ids]
        return self._decode(token_ids, skip_special_tokens, clean_up_tokenization_spaces)

    def _decode(self, ids: Any, skip_special_tokens: bool, clean_up: bool | None) -> str:
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
        sequences = to_py(sequences)
        if isinstance(sequences, list) and not sequences:
            return []
        result = self.decode(sequences, skip_special_tokens, clean_up_tokenization_spaces)
        return [result] if isinstance(result, str) else list(result)
