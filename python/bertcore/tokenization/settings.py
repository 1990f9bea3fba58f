"""What a tokenizer needs besides its `tokenizers.Tokenizer`: the frozen `TokenizerSettings` and constants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

from tokenizers import AddedToken

__all__ = [
    "BERT_INPUT_NAMES",
    "LARGE_INTEGER",
    "NO_TYPE_IDS",
    "SPECIAL_TOKEN_NAMES",
    "VERY_LARGE_INTEGER",
    "SpecialToken",
    "TokenizerSettings",
]

VERY_LARGE_INTEGER = int(1e30)  # transformers' model_max_length when the model declares none
LARGE_INTEGER = int(1e20)  # above this, model_max_length counts as "no limit known"

SPECIAL_TOKEN_NAMES = (
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
)
BERT_INPUT_NAMES = ("input_ids", "token_type_ids", "attention_mask")
NO_TYPE_IDS = ("input_ids", "attention_mask")

SpecialToken = Union[str, AddedToken]


@dataclass(frozen=True)
class TokenizerSettings:
    """Everything a tokenizer needs besides its `tokenizers.Tokenizer`, resolved from the config files.

    Args:
        name_or_path: Where the tokenizer was loaded from.
        tokenizer_class: The transformers class name it mirrors (without "Fast"), or None.
        model_max_length: The longest input the model accepts (`VERY_LARGE_INTEGER` when unknown).
        padding_side: Default side to pad on, "right" or "left".
        truncation_side: Default side to truncate from, "right" or "left".
        model_input_names: Keys returned by default, e.g. ("input_ids", "token_type_ids", "attention_mask").
        clean_up_tokenization_spaces: Default for `decode(clean_up_tokenization_spaces=None)`.
        split_special_tokens: Whether special tokens written in the text are split like ordinary text.
        special_tokens: Named special tokens ("pad_token", "cls_token", ...) as strings or AddedTokens.
        extra_special_tokens: Further special tokens without a name.

    Example:
        >>> AutoTokenizer.from_pretrained(model_dir).settings.model_input_names
        ('input_ids', 'token_type_ids', 'attention_mask')
    """

    name_or_path: str = ""
    tokenizer_class: str | None = None
    model_max_length: int = VERY_LARGE_INTEGER
    padding_side: str = "right"
    truncation_side: str = "right"
    model_input_names: tuple[str, ...] = BERT_INPUT_NAMES
    clean_up_tokenization_spaces: bool = False
    split_special_tokens: bool = False
    special_tokens: Mapping[str, SpecialToken | None] = field(default_factory=dict)
    extra_special_tokens: tuple[SpecialToken, ...] = ()
