"""sentence-transformers' Pooling module: token embeddings -> one sentence embedding per row."""

from __future__ import annotations

import dataclasses
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from .features import Features, Float64Array, FloatArray

POOLING_MODES: Tuple[str, ...] = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

# sentence-transformers' legacy boolean keys, in the order their outputs are concatenated.
_LEGACY_POOLING_KEYS: Tuple[Tuple[str, str], ...] = (
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_mean_tokens", "mean"),
    ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
    ("pooling_mode_weightedmean_tokens", "weightedmean"),
    ("pooling_mode_lasttoken", "lasttoken"),
)


def pooling_mask(attention_mask: npt.NDArray[Any], prompt_length: Optional[int]) -> npt.NDArray[np.float64]:
    """The positions pooled: the attention mask, minus the first ``prompt_length`` real tokens of each row
    when a prompt is excluded (sentence-transformers' ``Pooling._exclude_prompt_from_mask``)."""
    mask = np.asarray(attention_mask).astype(np.float64)
    if prompt_length:
        pad_lengths = np.argmax(mask, axis=1)  # left padding before the first real token
        positions = np.arange(mask.shape[1])[None, :]
        mask[positions < (pad_lengths + prompt_length)[:, None]] = 0.0
    return mask


def pool(
    token_embeddings: FloatArray,
    attention_mask: npt.NDArray[Any],
    modes: Sequence[str],
    prompt_length: Optional[int] = None,
) -> FloatArray:
    """sentence-transformers 6.2's ``Pooling`` (padded path) in numpy: the modes' vectors, concatenated.

    Args:
        token_embeddings: (batch, seq, hidden) float32.
        attention_mask: (batch, seq), nonzero at real tokens; values at masked positions are never read
            (except ``cls`` of a row with nothing to pool, which reads the first position, as there).
        modes: names from ``POOLING_MODES``.
        prompt_length: exclude this many leading real tokens (the prompt) from pooling; None/0 keeps all.

    Returns:
        (batch, hidden * len(modes)) float32.
    """
    h = np.asarray(token_embeddings, dtype=np.float32)
    original = np.asarray(attention_mask)
    mask = pooling_mask(original, prompt_length)
    batch, seq, _ = h.shape
    rows = np.arange(batch)
    outputs: List[FloatArray] = []
    mean_sum: Optional[Float64Array] = None
    for mode in modes:
        if mode == "cls":
            outputs.append(h[rows, np.argmax(mask, axis=1)])
        elif mode == "max":
            outputs.append(np.where(mask[:, :, None] > 0, h, np.float32(-np.inf)).max(axis=1))
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            if mean_sum is None:
                mean_sum = np.einsum("bsh,bs->bh", h.astype(np.float64), mask)
            count = np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
            denominator = count if mode == "mean" else np.sqrt(count)
            outputs.append((mean_sum / denominator).astype(np.float32))
        elif mode == "weightedmean":
            pad_lengths = np.argmax(original != 0, axis=1) if original.size else np.zeros(batch, np.int64)
            weights = mask * (np.arange(1, seq + 1, dtype=np.float64)[None, :] - pad_lengths[:, None])
            total = np.einsum("bsh,bs->bh", h.astype(np.float64), weights)
            outputs.append((total / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)).astype(np.float32))
        elif mode == "lasttoken":
            flipped = mask[:, ::-1]
            last = seq - 1 - np.argmax(flipped, axis=1)
            last = np.where(flipped.max(axis=1) > 0, last, 0)
            outputs.append((h[rows, last] * mask[rows, last][:, None]).astype(np.float32))
        else:  # pragma: no cover - Pooling validates its modes
            raise ValueError(f"unknown pooling mode {mode!r}")
    return np.ascontiguousarray(np.concatenate(outputs, axis=-1), dtype=np.float32)


@dataclasses.dataclass(frozen=True)
class Pooling:
    """Token embeddings -> ``sentence_embedding``: one or several pooling modes, concatenated.

    Attributes:
        modes: names from ``POOLING_MODES``, in output order.
        include_prompt: False leaves the prompt's tokens out of pooling.
    """

    modes: Tuple[str, ...] = ("mean",)
    include_prompt: bool = True

    def __post_init__(self) -> None:
        modes = (self.modes,) if isinstance(self.modes, str) else tuple(self.modes)
        if not modes:
            raise ValueError(f"pooling needs at least one mode; valid modes: {', '.join(POOLING_MODES)}")
        for mode in modes:
            if mode not in POOLING_MODES:
                raise ValueError(f"invalid pooling mode {mode!r}; valid modes: {', '.join(POOLING_MODES)}")
        object.__setattr__(self, "modes", modes)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Pooling":
        """From a Pooling ``config.json``: ``pooling_mode`` (a name or list) or the legacy
        ``pooling_mode_*`` booleans (none set means mean), and ``include_prompt``."""
        mode: Union[str, Sequence[str], None] = config.get("pooling_mode")
        if mode is None:
            active = tuple(m for key, m in _LEGACY_POOLING_KEYS if config.get(key, False))
            mode = active or ("mean",)
        return cls(
            (mode,) if isinstance(mode, str) else tuple(mode), bool(config.get("include_prompt", True))
        )

    def output_dimension(self, hidden: int) -> int:
        return hidden * len(self.modes)

    def __call__(self, features: Features) -> Features:
        prompt_length = None if self.include_prompt else features.get("prompt_length")
        features["sentence_embedding"] = pool(
            features["token_embeddings"], features["attention_mask"], self.modes, prompt_length
        )
        return features

    def __repr__(self) -> str:
        mode = self.modes[0] if len(self.modes) == 1 else self.modes
        return f"Pooling(mode={mode!r}, include_prompt={self.include_prompt})"
