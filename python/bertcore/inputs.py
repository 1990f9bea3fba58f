"""Turning what users pass to a model (numpy arrays, nested lists, torch tensors) into validated arrays."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


def as_numpy(value: Any) -> Any:
    """A torch tensor as a numpy array (read through its own methods, so torch is never imported here);
    anything else unchanged."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return value


def as_int_matrix(value: Any, name: str) -> IntArray:
    """A [batch, seq] int64 C-contiguous array from an array-like of integers.

    Torch tensors are read with ``np.asarray`` (so torch is never imported here); a 1-D input is one sequence.

    Raises:
        TypeError: not integers (floats are refused rather than truncated), or not array-like.
        ValueError: wrong number of dimensions, or ragged nested lists.
    """
    value = as_numpy(value)
    try:
        array = np.asarray(value)
    except ValueError as e:
        raise ValueError(
            f"{name} is ragged (rows of different lengths); pad the batch, e.g. tokenizer(..., padding=True)"
        ) from e
    if array.dtype == object:
        raise ValueError(
            f"{name} is ragged or holds non-numbers; pass a rectangular batch of integer ids, e.g. "
            "tokenizer(..., padding=True, return_tensors='np')"
        )
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (batch, sequence_length), got {array.shape}")
    if array.dtype != np.int64:
        array = array.astype(np.int64)
    return np.ascontiguousarray(array)


def attention_mask_bool(mask: Any, shape: Tuple[int, int]) -> Optional[npt.NDArray[np.bool_]]:
    """The padding mask as booleans (nonzero = attend, as transformers reads it), or None when not given.

    Raises:
        TypeError: not numbers or booleans.
        ValueError: a shape other than input_ids' (2-D masks only).
    """
    if mask is None:
        return None
    array = np.asarray(as_numpy(mask))
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"attention_mask must hold numbers or booleans, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[None, :]
    if array.shape != shape:
        raise ValueError(
            f"attention_mask has shape {array.shape}, but input_ids has shape {shape}; "
            "bertcore takes the 2-D (batch, sequence_length) padding mask"
        )
    return np.ascontiguousarray(array.astype(bool))
