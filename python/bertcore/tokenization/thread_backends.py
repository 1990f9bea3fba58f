"""Per-thread copies of the backend, set up for padding and truncation.

The padding/truncation state of a `tokenizers.Tokenizer` is mutable, so it cannot be set on a tokenizer
that other threads use. Calls with neither padding nor truncation use the shared base, which is never
reconfigured; others use the calling thread's own copy of it, reconfigured in place only when the settings
change, so calls in other threads never see its padding/truncation state.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, NamedTuple

from tokenizers import Tokenizer

__all__ = ["Padding", "ThreadBackends", "Truncation"]


class Truncation(NamedTuple):
    """Arguments of `Tokenizer.enable_truncation`."""

    max_length: int
    stride: int
    strategy: str
    direction: str


class Padding(NamedTuple):
    """Arguments of `Tokenizer.enable_padding`."""

    length: int | None
    direction: str
    pad_id: int
    pad_token: str
    pad_type_id: int
    pad_to_multiple_of: int | None


class ThreadBackends:
    """The shared base backend, and one private copy of it per thread for padded/truncated calls.

    Args:
        base: The backend with no padding and no truncation; it is never reconfigured.

    Example:
        >>> backends = ThreadBackends(base)
        >>> backends.get(Truncation(16, 0, "longest_first", "right"), None).encode_batch(texts)
    """

    def __init__(self, base: Tokenizer) -> None:
        self.base = base
        self._local = threading.local()

    def get(self, truncation: Truncation | None, padding: Padding | None) -> Tokenizer:
        """A backend set up with these settings (None: off), private to the calling thread."""
        if truncation is None and padding is None:
            return self.base
        local = self._local
        backend: Tokenizer | None = getattr(local, "backend", None)
        if backend is None:
            backend = copy.deepcopy(self.base)
            backend.encode_special_tokens = self.base.encode_special_tokens
            local.backend, local.truncation, local.padding = backend, None, None
        if local.truncation != truncation:
            if truncation is None:
                backend.no_truncation()
            else:
                backend.enable_truncation(
                    truncation.max_length,
                    stride=truncation.stride,
                    strategy=truncation.strategy,
                    direction=truncation.direction,
                )
            local.truncation = truncation
        if local.padding != padding:
            if padding is None:
                backend.no_padding()
            else:
                backend.enable_padding(**padding._asdict())
            local.padding = padding
        return backend

    def __getstate__(self) -> dict[str, Any]:
        return {"base": self.base}  # per-thread backends are rebuilt on demand

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.base = state["base"]
        self._local = threading.local()
