"""Running the backend on a batch for `AutoTokenizer`: thread-private setup, errors and the output dict."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from tokenizers import Tokenizer

from .arguments import batch_items, is_pair
from .batch_encoding import BatchEncoding, collect_encodings, to_numpy
from .thread_backends import Padding, ThreadBackends, Truncation
from .vocabulary import VocabularyMixin

__all__ = ["EncodingMixin"]

logger = logging.getLogger("bertcore.tokenizer")  # the public module's name, kept for log filters


class EncodingMixin(VocabularyMixin):
    """`_encode`: validated, resolved call arguments -> `BatchEncoding`, as `TokenizersBackend` builds it.

    Needs `_backends`, the sides, `model_max_length` and `model_input_names` from the class it is mixed
    into.
    """

    _backends: ThreadBackends
    _warned_too_long: bool
    model_max_length: int
    model_input_names: list[str]
    padding_side: str
    truncation_side: str

    def _encode(
        self,
        text: Any,
        text_pair: Any,
        *,
        add_special_tokens: bool,
        pad_strategy: str,
        trunc_strategy: str,
        max_length: int | None,
        stride: int,
        is_split_into_words: bool,
        pad_to_multiple_of: int | None,
        padding_side: str | None,
        return_tensors: str | None,
        returns: Mapping[str, bool | None],
        return_overflowing_tokens: bool,
        verbose: bool,
    ) -> BatchEncoding:
        batch, is_batched = batch_items(text, text_pair, is_split_into_words)
        if trunc_strategy != "do_not_truncate" and max_length is not None and add_special_tokens and batch:
            pair = any(is_pair(item, is_split_into_words) for item in batch)
            n_special = self.num_special_tokens_to_add(pair)
            if max_length < n_special:
                raise ValueError(
                    f"max_length={max_length} cannot hold the {n_special} special tokens added to each "
                    f"{'pair' if pair else 'sequence'}; use max_length >= {n_special}"
                )

        backend = self._backend_for(
            trunc_strategy, pad_strategy, max_length, stride, pad_to_multiple_of, padding_side
        )
        try:
            encodings = backend.encode_batch(
                batch, add_special_tokens=add_special_tokens, is_pretokenized=is_split_into_words
            )
        except BaseException as e:
            # tokenizers reports truncation it cannot do as a bare Exception, or as a Rust panic
            # (pyo3's PanicException, a BaseException) when stride >= the room left for a sequence.
            truncation_error = type(e) is Exception and "Truncation error" in str(e)
            if truncation_error or type(e).__name__ == "PanicException":
                raise ValueError(
                    f"cannot truncate with truncation={trunc_strategy!r}, max_length={max_length}, "
                    f"stride={stride}: {e}"
                ) from e
            raise

        names = self.model_input_names
        wanted = {key: (key in names if flag is None else bool(flag)) for key, flag in returns.items()}
        data, rows = collect_encodings(encodings, wanted, return_overflowing_tokens)
        for ids in data["input_ids"]:
            self._maybe_warn_too_long(ids, max_length, verbose)

        n_sequences = encodings[0].n_sequences if encodings else None
        if return_tensors == "np":
            return BatchEncoding({k: to_numpy(k, v) for k, v in data.items()}, rows, n_sequences)
        if not is_batched and not return_overflowing_tokens:
            data = {k: (v[0] if v and isinstance(v[0], list) else v) for k, v in data.items()}
        return BatchEncoding(data, rows, n_sequences)

    def _maybe_warn_too_long(self, ids: Sequence[int], max_length: int | None, verbose: bool) -> None:
        if (
            max_length is None
            and verbose
            and self.model_max_length != 0
            and len(ids) > self.model_max_length
            and not self._warned_too_long
        ):
            self._warned_too_long = True
            logger.warning(
                "Token indices sequence length is longer than the specified maximum sequence length for this "
                f"model ({len(ids)} > {self.model_max_length}). Running this sequence through the model will "
                "result in indexing errors"
            )

    def _backend_for(
        self,
        trunc_strategy: str,
        pad_strategy: str,
        max_length: int | None,
        stride: int,
        pad_to_multiple_of: int | None,
        padding_side: str | None,
    ) -> Tokenizer:
        """The backend set up for these settings, private to the calling thread (see `ThreadBackends`)."""
        truncation = None
        if trunc_strategy != "do_not_truncate" and max_length is not None:
            truncation = Truncation(max_length, stride, trunc_strategy, self.truncation_side)
        padding = None
        if pad_strategy != "do_not_pad":
            padding = Padding(
                length=max_length if pad_strategy == "max_length" else None,
                direction=padding_side if padding_side is not None else self.padding_side,
                pad_id=self.pad_token_id,
                pad_token=self.pad_token,
                pad_type_id=self.pad_token_type_id,
                pad_to_multiple_of=pad_to_multiple_of,
            )
        return self._backends.get(truncation, padding)
