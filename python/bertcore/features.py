"""The *features* dict that sentence-transformers' modules read and write, and the module type.

A sentence-transformers model is a Transformer followed by modules that each read and write entries of a
features dict. Here a module is a callable ``features -> features`` over numpy arrays, computing what
sentence-transformers 6.2's module of the same name computes. The entries:

- ``features["input_ids"]``, ``features["attention_mask"]``: (batch, seq) int64, 1 at real tokens in the mask;
- ``features["token_embeddings"]``: (batch, seq, hidden) float32, the encoder's last hidden state;
- ``features["prompt_length"]``: tokens of the prompt (special tokens included), or absent;
- ``features["sentence_embedding"]``: (batch, dim) float32, written by Pooling.

Sums are taken in float64 and rounded to float32 once, so results are at least as accurate as
sentence-transformers' float32 sums.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
Features = Dict[str, Any]
Module = Callable[[Features], Features]
