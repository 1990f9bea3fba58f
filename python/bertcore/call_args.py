"""Argument checks and helpers shared by ``SentenceEncoder`` (encode.py) and ``CrossEncoder`` (rerank.py):
the device and batch size, text lists, the progress-bar rule, and the tokenizer's special-token frame."""

from __future__ import annotations

import logging
import sys
from typing import Any, Iterable, List, Mapping, Optional, Tuple

import numpy as np

from .tokenizer import AutoTokenizer

logger = logging.getLogger("bertcore")

# show_progress_bar=None shows a bar when the "bertcore" logger is at INFO or lower, or when the input has at
# least this many texts and stderr is a terminal.
PROGRESS_BAR_MIN_TEXTS = 2048


def show_progress(show_progress_bar: Optional[bool], n_items: int) -> bool:
    """The progress-bar rule for ``show_progress_bar=None`` (see ``PROGRESS_BAR_MIN_TEXTS``)."""
    if show_progress_bar is not None:
        return bool(show_progress_bar)
    if logger.getEffectiveLevel() <= logging.INFO:
        return True
    return n_items >= PROGRESS_BAR_MIN_TEXTS and bool(getattr(sys.stderr, "isatty", lambda: False)())


def check_device(device: Any) -> None:
    """bertcore runs on the CPU: ``device`` may be None or "cpu"."""
    if device is not None and str(device) != "cpu":
        raise ValueError(f"bertcore runs on the CPU; device must be None or 'cpu', got {device!r}")


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


def as_text_list(inputs: Any, what: str = "sentences") -> Tuple[List[str], bool]:
    """(texts, single): a string is one text; a list, tuple, numpy array or other iterable is a batch."""
    if isinstance(inputs, str):
        return [inputs], True
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()
    if inputs is None or isinstance(inputs, (bytes, Mapping)) or not isinstance(inputs, Iterable):
        raise TypeError(f"{what} must be a string or a list of strings, got {type(inputs).__name__}")
    texts = list(inputs)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{what}[{i}] must be a string, got {type(t).__name__}")
    return texts, False


def special_token_frame(tokenizer: AutoTokenizer) -> Tuple[List[int], List[int]]:
    """The special tokens the tokenizer puts before and after one text's tokens (e.g. [CLS] / [SEP])."""
    full = list(tokenizer("a", verbose=False)["input_ids"])
    body = list(tokenizer("a", add_special_tokens=False, verbose=False)["input_ids"])
    for start in range(len(full) - len(body) + 1):
        if full[start : start + len(body)] == body:
            return full[:start], full[start + len(body) :]
    raise ValueError("cannot tell the tokenizer's special tokens apart from the text's tokens")
