"""Checks and resolves the arguments of a tokenizer call as transformers' `PreTrainedTokenizerBase` does.

`resolve_strategies` is `_get_padding_truncation_strategies` step for step (max_length alone turning on
truncation, a huge `model_max_length` turning truncation and 'max_length' padding off, with the same
warnings); `batch_items` checks `text`/`text_pair` and turns them into the list the backend encodes.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np

from .settings import LARGE_INTEGER

__all__ = [
    "batch_items",
    "check_side",
    "is_pair",
    "optional_int",
    "resolve_strategies",
    "to_py",
]

_PADDING_STRATEGIES = ("longest", "max_length", "do_not_pad")
_TRUNCATION_STRATEGIES = ("only_first", "only_second", "longest_first", "do_not_truncate")
_SIDES = ("right", "left")
_TEXT_ERROR = (
    "text input must be of type `str` (single example), `list[str]` (batch or single pretokenized "
    "example) or `list[list[str]]` (batch of pretokenized examples) or "
    "`list[tuple[list[str], list[str]]]` (batch of pretokenized sequence pairs)."
)


def _strategy(value: Any, arg: str, choices: tuple[str, ...], when_true: str, when_false: str) -> str:
    value = getattr(value, "value", value)  # also accept transformers' PaddingStrategy/TruncationStrategy
    if value is True:
        return when_true
    if value is False:
        return when_false
    if isinstance(value, str) or value is None:  # None: a ValueError, as in transformers
        if value not in choices:
            raise ValueError(f"{arg}={value!r} is not valid: use True, False or one of {list(choices)}")
        return value
    raise TypeError(f"{arg} must be a bool or one of {list(choices)}, got {type(value).__name__} {value!r}")


def optional_int(value: Any, arg: str, minimum: int) -> int | None:
    """None, or an int (numpy ints too) >= minimum; bools and other types are a TypeError."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError(f"{arg} must be an int, got bool {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{arg} must be an int, got {type(value).__name__} {value!r}") from None
    if number < minimum:
        raise ValueError(f"{arg} must be >= {minimum}, got {number}")
    return number


def check_side(value: Any, arg: str) -> str:
    """ "right" or "left", else a ValueError naming the argument."""
    if value not in _SIDES:
        raise ValueError(f"{arg} must be 'right' or 'left', got {value!r}")
    return str(value)


def _is_valid_text(t: Any) -> bool:
    """transformers' check: str, list[str], list[list[str]] or list[tuple[list[str], list[str]]]."""
    if isinstance(t, str):
        return True
    if not isinstance(t, (list, tuple)):
        return False
    if len(t) == 0 or isinstance(t[0], str):
        return True
    if not isinstance(t[0], (list, tuple)):
        return False
    if len(t[0]) == 0 or isinstance(t[0][0], str):
        return True
    return isinstance(t[0][0], (list, tuple)) and (len(t[0][0]) == 0 or isinstance(t[0][0][0], str))


def is_pair(item: Any, split_into_words: bool) -> bool:
    """Whether one batch item is a (text, text_pair) pair."""
    if split_into_words:
        return isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], (list, tuple))
    return isinstance(item, (list, tuple))


def to_py(obj: Any) -> Any:
    """numpy arrays and scalars -> Python lists and ints (transformers' to_py_obj, numpy only)."""
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [to_py(o) for o in obj]
    return obj


def resolve_strategies(
    padding: Any,
    truncation: Any,
    max_length: int | None,
    pad_multiple: int | None,
    verbose: bool,
    *,
    model_max_length: int,
    pad_token: str | None,
    pad_token_id: int | None,
) -> tuple[str, str, int | None]:
    """transformers' _get_padding_truncation_strategies, step for step.

    Args:
        padding, truncation, max_length, verbose: As given to the tokenizer call.
        pad_multiple: `pad_to_multiple_of`.
        model_max_length: The tokenizer's limit, used when `max_length` is None.
        pad_token, pad_token_id: The padding token, needed when padding is asked for.

    Returns:
        (padding strategy, truncation strategy, max_length), e.g. ("longest", "longest_first", 512).

    Raises:
        ValueError: an invalid strategy, padding without a pad token, or a truncation length that is not a
            multiple of `pad_to_multiple_of`.
    """
    if max_length is not None and padding is False and truncation is None:
        truncation = "longest_first"  # max_length alone asks for truncation
    no_truncation = truncation is None or truncation is False or truncation == "do_not_truncate"
    if padding is True and verbose and max_length is not None and no_truncation:
        warnings.warn(
            "`max_length` is ignored when `padding`=`True` and there is no truncation strategy. "
            "To pad to max length, use `padding='max_length'`.",
            UserWarning,
            stacklevel=3,
        )
    pad = _strategy(padding, "padding", _PADDING_STRATEGIES, "longest", "do_not_pad")
    trunc = "do_not_truncate" if truncation is None else truncation
    trunc = _strategy(trunc, "truncation", _TRUNCATION_STRATEGIES, "longest_first", "do_not_truncate")

    if max_length is None:
        no_limit = model_max_length > LARGE_INTEGER
        if pad == "max_length":
            if no_limit:
                if verbose:
                    warnings.warn(
                        "Asking to pad to max_length but no maximum length is provided and the model has "
                        "no predefined maximum length (model_max_length). Default to no padding.",
                        UserWarning,
                        stacklevel=3,
                    )
                pad = "do_not_pad"
            else:
                max_length = model_max_length
        if trunc != "do_not_truncate":
            if no_limit:
                if verbose:
                    warnings.warn(
                        "Asking to truncate to max_length but no maximum length is provided and the "
                        "model has no predefined maximum length (model_max_length). Default to no "
                        "truncation.",
                        UserWarning,
                        stacklevel=3,
                    )
                trunc = "do_not_truncate"
            else:
                max_length = model_max_length

    if pad != "do_not_pad" and (pad_token is None or (pad_token_id or 0) < 0):
        raise ValueError(
            "Asking to pad but the tokenizer does not have a padding token: set pad_token in "
            "tokenizer_config.json or pass pad_token=... to from_pretrained."
        )
    if (
        trunc != "do_not_truncate"
        and pad != "do_not_pad"
        and pad_multiple is not None
        and max_length is not None
        and max_length % pad_multiple != 0
    ):
        raise ValueError(
            "Truncation and padding are both activated but "
            f"truncation length ({max_length}) is not a multiple of pad_to_multiple_of ({pad_multiple})."
        )
    return pad, trunc, max_length


def batch_items(text: Any, text_pair: Any, is_split_into_words: bool) -> tuple[list[Any], bool]:
    """Checks `text`/`text_pair` and returns the items to encode and whether the input was a batch.

    Raises:
        ValueError: text of a type transformers does not accept, or batches of different lengths.
        TypeError: a batch of texts with a single `text_pair`, or a single text with a list as pair.
    """
    if not _is_valid_text(text):
        raise ValueError(f"{_TEXT_ERROR} Got {type(text).__name__}.")
    if text_pair is not None and not _is_valid_text(text_pair):
        raise ValueError(f"text_pair: {_TEXT_ERROR} Got {type(text_pair).__name__}.")
    if is_split_into_words:
        is_batched = isinstance(text, (list, tuple)) and bool(text) and isinstance(text[0], (list, tuple))
    else:
        is_batched = isinstance(text, (list, tuple))

    if is_batched:
        if isinstance(text_pair, str):
            raise TypeError(
                "when tokenizing batches of text, `text_pair` must be a list or tuple with the same "
                "length as `text`."
            )
        if text_pair is not None and len(text) != len(text_pair):
            raise ValueError(
                f"batch length of `text`: {len(text)} does not match batch length of `text_pair`: "
                f"{len(text_pair)}."
            )
        batch = list(zip(text, text_pair)) if text_pair is not None else list(text)
    else:
        if text_pair is not None and not is_split_into_words and not isinstance(text_pair, str):
            raise TypeError("when `text` is a single string, `text_pair` must be a single string too.")
        # transformers drops an empty text_pair ("") of a single example: same here.
        batch = [(text, text_pair)] if text_pair else [text]
    return batch, is_batched
