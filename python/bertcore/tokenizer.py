"""Tokenizers for bertcore: `AutoTokenizer` and `BatchEncoding` (implemented in `bertcore.tokenization`).

Example:
    >>> from bertcore.tokenizer import AutoTokenizer
    >>> AutoTokenizer.from_pretrained(model_dir)("Hello world")["input_ids"]
    [101, 7592, 2088, 102]
"""

from __future__ import annotations

from .tokenization import AutoTokenizer, BatchEncoding, TokenizerSettings

__all__ = ["AutoTokenizer", "BatchEncoding", "TokenizerSettings"]
