"""Laying out a batch of token ids for the core: dense (every position) or packed (padding skipped).

The packed layout is how bertcore avoids computing on padding: the dense layers run on the real tokens of all
sequences stacked together, and attention runs per sequence over its real tokens only. Each sequence keeps its
position 0 as a row even when it is padding (left padding), because the pooler reads position 0; such a row
is a query only, never a key, so every real token sees exactly the keys transformers lets it see.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


@dataclasses.dataclass(frozen=True)
class TokenBatch:
    """Arrays for ``_core.Encoder.forward``.

    Attributes:
        ids, type_ids, pos_ids: [rows] per computed row.
        task_ids: [rows] task type ids (ERNIE), or None when the model has no task types.
        row_pos: [rows] position of each row in its sequence; None for the dense layout.
        segments: [batch, 4] per sequence: first row, row count, first key row, key count.
        key_mask_add: [rows] additive key mask (0 or finfo(float32).min), or None when every key is kept.
        skipped: True when some positions are not computed (their outputs are zeros).
    """

    ids: IntArray
    type_ids: IntArray
    task_ids: Optional[IntArray]
    pos_ids: IntArray
    row_pos: Optional[IntArray]
    segments: IntArray
    key_mask_add: Optional[FloatArray]
    skipped: bool


def _dense(
    ids: IntArray, types: IntArray, tasks: Optional[IntArray], positions: IntArray, keep: Optional[BoolArray]
) -> TokenBatch:
    batch, seq = ids.shape
    starts = np.arange(batch, dtype=np.int64) * seq
    lengths = np.full(batch, seq, dtype=np.int64)
    segments = np.ascontiguousarray(np.stack([starts, lengths, starts, lengths], axis=1))
    mask_add = None
    if keep is not None and not keep.all():
        mask_add = np.where(keep.ravel(), np.float32(0.0), np.finfo(np.float32).min).astype(np.float32)
    flat_tasks = None if tasks is None else tasks.ravel()
    return TokenBatch(
        ids.ravel(), types.ravel(), flat_tasks, positions.ravel(), None, segments, mask_add, False
    )


def make_token_batch(
    ids: IntArray,
    types: IntArray,
    tasks: Optional[IntArray],
    positions: IntArray,
    keep: Optional[BoolArray],
    skip_padding: bool,
) -> TokenBatch:
    """Builds the dense or packed layout of a [batch, seq] input.

    Args:
        ids, types, positions: [batch, seq] int64, C-contiguous.
        tasks: [batch, seq] int64 task type ids, or None.
        keep: [batch, seq] attention mask as booleans, or None (no padding).
        skip_padding: pack the real tokens. Falls back to the dense layout when nothing would be skipped, and
            when a sequence has no real token at all (transformers then attends uniformly over its padding,
            which only the dense layout reproduces).

    Returns:
        The arrays for the core.
    """
    if keep is None or keep.all() or not skip_padding or not keep.any(axis=1).all():
        return _dense(ids, types, tasks, positions, keep)
    batch, seq = ids.shape
    rows_sel = keep.copy()
    rows_sel[:, 0] = True  # the pooler's row
    counts = rows_sel.sum(axis=1).astype(np.int64)
    row_begin = np.zeros(batch, dtype=np.int64)
    np.cumsum(counts[:-1], out=row_begin[1:])
    first_is_pad = (~keep[:, 0]).astype(np.int64)
    segments = np.ascontiguousarray(
        np.stack([row_begin, counts, row_begin + first_is_pad, keep.sum(axis=1).astype(np.int64)], axis=1)
    )
    flat = np.flatnonzero(rows_sel.ravel())
    row_pos = (flat % seq).astype(np.int64)
    return TokenBatch(
        np.ascontiguousarray(ids.ravel()[flat]),
        np.ascontiguousarray(types.ravel()[flat]),
        None if tasks is None else np.ascontiguousarray(tasks.ravel()[flat]),
        np.ascontiguousarray(positions.ravel()[flat]),
        row_pos,
        segments,
        None,
        True,
    )
