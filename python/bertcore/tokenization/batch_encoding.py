"""The output of a tokenizer call (`BatchEncoding`) and how `tokenizers.Encoding`s are turned into it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tokenizers import Encoding

__all__ = ["BatchEncoding", "collect_encodings", "to_numpy"]


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


def collect_encodings(
    encodings: Sequence[Encoding], wanted: Mapping[str, bool], overflowing: bool
) -> tuple[dict[str, list[Any]], list[Encoding]]:
    """Encodings -> dict of lists in transformers' key order (TokenizersBackend._convert_encoding).

    Args:
        encodings: One encoding per input (its overflowing windows attached).
        wanted: Whether to return each optional key: token_type_ids, attention_mask, special_tokens_mask,
            offset_mapping, length.
        overflowing: Return the overflowing windows as extra rows, plus `overflow_to_sample_mapping`.

    Returns:
        The dict of lists, and the encoding of each row.
    """
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


def to_numpy(key: str, value: list[Any]) -> np.ndarray:
    """One output key as an int64 array, or a ValueError that says how to avoid ragged rows."""
    lengths = {len(row) for row in value if isinstance(row, (list, tuple))}
    if len(lengths) > 1:
        raise ValueError(
            f"Unable to create a numpy array for {key!r}: the sequences have different lengths "
            f"({min(lengths)}..{max(lengths)} tokens). Activate padding (padding=True or "
            "padding='max_length', with truncation=True if needed) to get one rectangular array, or use "
            "return_tensors=None to get lists."
        )
    if not value:
        return np.zeros((0, 0) if key != "length" else (0,), dtype=np.int64)
    return np.asarray(value, dtype=np.int64)
