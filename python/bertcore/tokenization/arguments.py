"""The arguments of a tokenizer call, checked and resolved as transformers' `PreTrainedTokenizerBase` does.

`resolve_strategies` keeps transformers' rules that change the result: `max_length` alone turns truncation
on, `padding=True` ignores `max_length` without truncation (with a warning), and with no `max_length` the
tokenizer's `model_max_length` is used, unless it is huge (no limit known), which turns truncation and
'max_length' padding off. `batch_items` checks `text`/`text_pair` and lists what the backend encodes.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np

__all__ = [
    "batch_items",
    "check_side",
    "has_pairs",
    "optional_int",
    "resolve_strategies",
    "to_py",
    "wants_numpy",
]

# The strategies; True means the first, False the last.
_PADDINGS = ("longest", "max_length", "do_not_pad")
_TRUNCATIONS = ("longest_first", "only_first", "only_second", "do_not_truncate")
_NO_TRUNC = "do_not_truncate"
_NO_LIMIT = int(1e20)  # a model_max_length above this means no limit is known
_NO_MAX = (
    "Asking to {} to max_length but no maximum length is provided and the model has no predefined maximum "
    "length (model_max_length). Default to no {}."
)
_TEXT_ERROR = (
    "text input must be of type `str` (single example), `list[str]` (batch or single pretokenized "
    "example) or `list[list[str]]` (batch of pretokenized examples) or "
    "`list[tuple[list[str], list[str]]]` (batch of pretokenized sequence pairs)."
)


def _strategy(value: Any, arg: str, choices: tuple[str, ...]) -> str:
    value = getattr(value, "value", value)  # also accept transformers' PaddingStrategy/TruncationStrategy
    if isinstance(value, bool):
        return choices[0] if value else choices[-1]
    if value is None or isinstance(value, str):  # None: a ValueError, as in transformers
        if value not in choices:
            raise ValueError(f"{arg}={value!r} is not valid: use True, False or one of {list(choices)}")
        return value
    raise TypeError(f"{arg} must be a bool or one of {list(choices)}, got {type(value).__name__} {value!r}")


def _warn(verbose: bool, message: str) -> None:
    if verbose:
        warnings.warn(message, UserWarning, stacklevel=4)  # at the tokenizer call


def wants_numpy(return_tensors: Any) -> bool:
    """True for "np", False for None (lists); a ValueError for anything else, "pt" included."""
    return_tensors = getattr(return_tensors, "value", return_tensors)  # transformers' TensorType too
    if return_tensors == "pt":
        raise ValueError(
            "return_tensors='pt' is not supported: bertcore returns numpy arrays and never imports torch. "
            "Use return_tensors='np' (then torch.from_numpy(...) if you need tensors)."
        )
    if return_tensors not in (None, "np"):
        raise ValueError(f"return_tensors must be None (lists) or 'np', got {return_tensors!r}")
    return bool(return_tensors == "np")


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
    if value not in ("right", "left"):
        raise ValueError(f"{arg} must be 'right' or 'left', got {value!r}")
    return str(value)


def to_py(obj: Any) -> Any:
    """numpy arrays and scalars -> Python lists and ints."""
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    return [to_py(o) for o in obj] if isinstance(obj, (list, tuple)) else obj


def resolve_strategies(
    padding: Any,
    truncation: Any,
    max_length: int | None,
    pad_multiple: int | None,
    verbose: bool,
    model_max_length: int,
    has_pad_token: bool,
) -> tuple[str, str, int | None]:
    """(padding strategy, truncation strategy, max_length) of a call, e.g. ("longest", "longest_first", 512).

    Args: the call's `padding`, `truncation`, `max_length`, `pad_to_multiple_of` and `verbose`; the
    tokenizer's `model_max_length` and whether it has a pad token.

    Raises:
        ValueError: an invalid strategy, padding without a pad token, or a truncation length that is not a
            multiple of `pad_to_multiple_of`.
        TypeError: a strategy that is neither a bool nor a string.
    """
    if max_length is not None and padding is False and truncation is None:
        truncation = True  # max_length alone asks for truncation
    pad = _strategy(padding, "padding", _PADDINGS)
    trunc = _strategy(False if truncation is None else truncation, "truncation", _TRUNCATIONS)
    if padding is True and max_length is not None and trunc == _NO_TRUNC:
        _warn(
            verbose,
            "`max_length` is ignored when `padding`=`True` and there is no truncation strategy. "
            "To pad to max length, use `padding='max_length'`.",
        )
    if max_length is None and model_max_length > _NO_LIMIT:  # nothing to pad or truncate to
        if pad == "max_length":
            _warn(verbose, _NO_MAX.format("pad", "padding"))
            pad = "do_not_pad"
        if trunc != _NO_TRUNC:
            _warn(verbose, _NO_MAX.format("truncate", "truncation"))
            trunc = _NO_TRUNC
    elif max_length is None and (pad == "max_length" or trunc != _NO_TRUNC):
        max_length = model_max_length

    if pad != "do_not_pad" and not has_pad_token:
        raise ValueError(
            "Asking to pad but the tokenizer does not have a padding token: set pad_token in "
            "tokenizer_config.json or pass pad_token=... to from_pretrained."
        )
    both = pad != "do_not_pad" and trunc != _NO_TRUNC
    if both and pad_multiple and max_length and max_length % pad_multiple:
        raise ValueError(
            f"Truncation and padding are both activated but truncation length ({max_length}) is not a "
            f"multiple of pad_to_multiple_of ({pad_multiple})."
        )
    return pad, trunc, max_length


def _is_valid_text(t: Any) -> bool:
    """transformers' check: str, list[str], list[list[str]] or list[tuple[list[str], list[str]]]."""
    for _ in range(3):  # one nesting level a time
        if isinstance(t, str):
            return True
        if not isinstance(t, (list, tuple)):
            return False
        if len(t) == 0:
            return True
        t = t[0]
    return isinstance(t, str)


def has_pairs(batch: list[Any], is_split_into_words: bool) -> bool:
    """Whether any item of `batch_items`' list is a (text, text_pair) pair."""
    if not is_split_into_words:
        return any(isinstance(item, (list, tuple)) for item in batch)
    return any(
        isinstance(i, (list, tuple)) and len(i) == 2 and isinstance(i[0], (list, tuple)) for i in batch
    )


def batch_items(text: Any, text_pair: Any, is_split_into_words: bool) -> tuple[list[Any], bool]:
    """Checks `text`/`text_pair`; returns the items to encode and whether the input was a batch.

    Raises:
        ValueError: text of a type transformers does not accept, or batches of different lengths.
        TypeError: a batch of texts with a single `text_pair`, or a single text with a list as pair.
    """
    if text is None:
        raise ValueError("You need to specify `text` (a string, or a list of strings for a batch).")
    for arg, value in (("text", text), ("text_pair", text_pair)):
        if value is not None and not _is_valid_text(value):
            raise ValueError(f"{arg}: {_TEXT_ERROR} Got {type(value).__name__}.")
    is_batched = isinstance(text, (list, tuple))
    if is_split_into_words:
        is_batched = is_batched and bool(text) and isinstance(text[0], (list, tuple))
    if not is_batched:
        if text_pair is not None and not is_split_into_words and not isinstance(text_pair, str):
            raise TypeError("when `text` is a single string, `text_pair` must be a single string too.")
        return ([(text, text_pair)] if text_pair else [text]), False  # an empty pair is dropped, as there
    if isinstance(text_pair, str):
        raise TypeError(
            "when tokenizing batches of text, `text_pair` must be a list with the length of `text`."
        )
    if text_pair is not None and len(text) != len(text_pair):
        raise ValueError(
            f"`text` holds {len(text)} texts but `text_pair` {len(text_pair)}: give one pair each"
        )
    return (list(zip(text, text_pair)) if text_pair is not None else list(text)), True
