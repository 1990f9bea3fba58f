"""Running a function over items in length-sorted batches, with the results in the caller's order.

Sorting longest first (as sentence-transformers does) puts texts of similar length together, so a batch pads
little; the sort is stable, so equal lengths keep the caller's order and the batches are reproducible.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Sequence, TypeVar, cast

import numpy as np
from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]

from .call_args import show_progress

T = TypeVar("T")
R = TypeVar("R")


def map_sorted_batches(
    items: Sequence[T],
    run: Callable[[List[T]], Sequence[R]],
    batch_size: int,
    length: Callable[[T], int],
    show_progress_bar: Optional[bool] = None,
    desc: str = "",
    unit: str = "it",
) -> List[R]:
    """``run`` on batches of ``items`` taken longest first; one result per item, in the caller's order.

    Args:
        items: the inputs.
        run: maps one batch (at most ``batch_size`` items) to one result per item, in the batch's order.
        batch_size: items per call of ``run``.
        length: an item's length (e.g. in characters); longer items go first.
        show_progress_bar: a tqdm bar counting items, as ``call_args.show_progress`` decides.
        desc, unit: the bar's label and unit.

    Returns:
        ``[result of items[0], result of items[1], ...]``.

    Raises:
        ValueError: ``run`` returned a different number of results than it was given items.

    Example:
        >>> map_sorted_batches(["bb", "a", "ccc"], lambda b: [s.upper() for s in b], 2, len)
        ['BB', 'A', 'CCC']
    """
    order = np.argsort([-length(item) for item in items], kind="stable")
    results: List[Optional[R]] = [None] * len(items)
    with tqdm(
        total=len(items), desc=desc, unit=unit, disable=not show_progress(show_progress_bar, len(items))
    ) as bar:
        for start in range(0, len(items), batch_size):
            index: List[int] = order[start : start + batch_size].tolist()
            outputs = run([items[i] for i in index])
            if len(outputs) != len(index):
                raise ValueError(f"a batch of {len(index)} items gave {len(outputs)} results")
            for i, output in zip(index, outputs):
                results[i] = output
            bar.update(len(index))
    return cast(List[R], results)  # every position was filled above
