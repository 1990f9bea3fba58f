"""The output of a tokenizer call (`BatchEncoding`), built from `tokenizers.Encoding`s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tokenizers import Encoding

__all__ = ["OPTIONAL_KEYS", "BatchEncoding", "build_batch_encoding"]

# The keys a call may return besides input_ids, in transformers' order, and the Encoding field of each.
OPTIONAL_KEYS = {
    "token_type_ids": "type_ids",
    "attention_mask": "attention_mask",
    "special_tokens_mask": "special_tokens_mask",
    "offset_mapping": "offsets",
}


class BatchEncoding(dict):  # type: ignore[type-arg]
    """The output of a tokenizer call: a dict of `input_ids`, `token_type_ids`, `attention_mask`, ...

    A plain `dict` subclass, so `model(**enc)` works; keys are also readable as attributes
    (`enc.input_ids`). Integer indexing returns the `tokenizers.Encoding` of that row, as in transformers.

    Example:
        >>> enc = tokenizer(["Hello world"], padding=True, return_tensors="np")
        >>> enc.input_ids.shape, list(enc.keys())
        ((1, 4), ['input_ids', 'token_type_ids', 'attention_mask'])
    """

    def __init__(
        self, data: Mapping[str, Any] | None = None, encodings: Sequence[Encoding] | None = None
    ) -> None:
        super().__init__(data or {})
        self.encodings: list[Encoding] | None = list(encodings) if encodings is not None else None

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"BatchEncoding has no key or attribute {name!r}") from None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(key)
        if isinstance(key, int) and self.encodings is not None:
            return self.encodings[key]
        if isinstance(key, slice):
            return {name: value[key] for name, value in self.items()}
        raise KeyError(f"BatchEncoding keys are strings (or ints for encodings, or slices), got {key!r}")

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
        if self.encodings is None:
            raise ValueError("this BatchEncoding holds no tokenizers.Encoding objects")
        return self.encodings[batch_index]


def build_batch_encoding(
    encodings: Sequence[Encoding],
    keys: Sequence[str],
    overflowing: bool,
    return_length: bool,
    numpy: bool,
    batched: bool,
) -> BatchEncoding:
    """Encodings (one per input) -> `BatchEncoding`, laid out as transformers' `TokenizersBackend` does.

    `keys` are those of `OPTIONAL_KEYS` to return; `overflowing` adds each encoding's overflowing windows as
    rows, and `overflow_to_sample_mapping`; `numpy` gives int64 arrays; unless `batched`, the one row's
    values come unnested.

    Raises:
        ValueError: `numpy` with rows of different lengths (the message says how to pad them).
    """
    rows = [
        e
        for encoding in encodings
        for e in ([encoding, *encoding.overflowing] if overflowing else [encoding])
    ]
    data: dict[str, list[Any]] = {"input_ids": [e.ids for e in rows]}
    data.update({key: [getattr(e, OPTIONAL_KEYS[key]) for e in rows] for key in OPTIONAL_KEYS if key in keys})
    if return_length:
        data["length"] = [len(e.ids) for e in rows]
    if overflowing:
        data["overflow_to_sample_mapping"] = [
            i for i, e in enumerate(encodings) for _ in range(1 + len(e.overflowing))
        ]
    if numpy:
        return BatchEncoding({key: _to_numpy(key, value) for key, value in data.items()}, rows)
    if not batched and not overflowing:
        data = {
            key: (value[0] if value and isinstance(value[0], list) else value) for key, value in data.items()
        }
    return BatchEncoding(data, rows)


def _to_numpy(key: str, value: list[Any]) -> np.ndarray:
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
