"""Request bodies of the endpoints, checked, and the error shapes of the APIs they follow.

OpenAI ``POST /v1/embeddings``: ``input`` (a string, a list of strings, a list of token ids, or a list of
such lists), ``encoding_format`` ("float" or "base64": little-endian float32 bytes), ``dimensions``,
``model`` and ``user`` (accepted, not used). Text Embeddings Inference (TEI): ``/embed`` (``inputs``,
``normalize``, ``truncate``), ``/rerank`` (``query``, ``texts``, ``raw_scores``, ``return_text``,
``truncate``), ``/tokenize`` (``inputs``, ``add_special_tokens``). Errors: OpenAI's
``{"error": {"message", "type", "param", "code"}}`` and TEI's ``{"error", "error_type"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

# (HTTP status, OpenAI error type, TEI error type) per kind of failure.
ERROR_KINDS = {
    "invalid": (422, "invalid_request_error", "Validation"),
    "empty": (400, "invalid_request_error", "Empty"),
    "too_large": (413, "invalid_request_error", "Validation"),
    "unauthorized": (401, "authentication_error", "Unauthorized"),
    "overloaded": (429, "rate_limit_error", "Overloaded"),
    "unavailable": (503, "service_unavailable", "Unhealthy"),
    "not_found": (404, "invalid_request_error", "Validation"),
    "internal": (500, "server_error", "Backend"),
}


class ApiError(Exception):
    """A request that cannot be served, with the kind that sets its status and error type."""

    def __init__(self, kind: str, message: str, param: Optional[str] = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = param

    @property
    def status(self) -> int:
        return ERROR_KINDS[self.kind][0]

    def body(self, style: str) -> Dict[str, Any]:
        """The JSON body in the endpoint's API style ("openai" or "tei")."""
        _, openai_type, tei_type = ERROR_KINDS[self.kind]
        if style == "openai":
            return {
                "error": {"message": self.message, "type": openai_type, "param": self.param, "code": None}
            }
        return {"error": self.message, "error_type": tei_type}


def _field(
    body: Dict[str, Any],
    name: str,
    kind: Union[type, Tuple[type, ...]],
    default: Any = None,
    required: bool = False,
) -> Any:
    if name not in body or body[name] is None:
        if required:
            raise ApiError("invalid", f"missing field '{name}'", name)
        return default
    value = body[name]
    if isinstance(value, bool) and kind is not bool:
        raise ApiError("invalid", f"'{name}' must be {_kind_name(kind)}, got a boolean", name)
    if not isinstance(value, kind):
        raise ApiError("invalid", f"'{name}' must be {_kind_name(kind)}, got {type(value).__name__}", name)
    return value


def _kind_name(kind: Union[type, Tuple[type, ...]]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {bool: "a boolean", int: "an integer", str: "a string", list: "a list", dict: "an object"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _count(n: int, limit: int, name: str) -> None:
    if n == 0:
        raise ApiError("empty", f"'{name}' is empty; send at least one input", name)
    if n > limit:
        raise ApiError(
            "too_large", f"'{name}' has {n} inputs, more than the limit of {limit}; split the request", name
        )


def _strings(value: Any, name: str, limit: int) -> List[str]:
    """A string or a list of strings, as a list; each non-empty."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        raise ApiError("invalid", f"'{name}' must be a string or a list of strings", name)
    _count(len(items), limit, name)
    for i, text in enumerate(items):
        if not text:
            raise ApiError("empty", f"input {i} of '{name}' is an empty string", name)
    return items


@dataclass
class EmbeddingsRequest:
    """``/v1/embeddings`` and ``/embed``: texts or token-id lists, and how to shape the vectors."""

    texts: Optional[List[str]]
    token_ids: Optional[List[List[int]]]
    normalize: bool
    truncate: bool
    dimensions: Optional[int]
    base64: bool


def openai_embeddings(body: Dict[str, Any], limit: int, vocab_size: int) -> EmbeddingsRequest:
    value = _field(body, "input", (str, list), required=True)
    _field(body, "model", str)
    _field(body, "user", str)
    encoding = _field(body, "encoding_format", str, "float")
    if encoding not in ("float", "base64"):
        raise ApiError(
            "invalid", f"'encoding_format' must be 'float' or 'base64', got {encoding!r}", "encoding_format"
        )
    dimensions = _field(body, "dimensions", int)
    if dimensions is not None and dimensions < 1:
        raise ApiError("invalid", f"'dimensions' must be >= 1, got {dimensions}", "dimensions")
    token_ids = None
    texts = None
    if isinstance(value, list) and value and not isinstance(value[0], str):
        rows = value if isinstance(value[0], list) else [value]
        if not all(
            isinstance(r, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in r)
            for r in rows
        ):
            raise ApiError(
                "invalid", "'input' must be a string, a list of strings or lists of token ids", "input"
            )
        _count(len(rows), limit, "input")
        for i, row in enumerate(rows):
            if not row:
                raise ApiError("empty", f"input {i} is an empty list of token ids", "input")
            bad = [t for t in row if not 0 <= t < vocab_size]
            if bad:
                raise ApiError(
                    "invalid", f"input {i} holds token id {bad[0]}, outside [0, {vocab_size})", "input"
                )
        token_ids = rows
    else:
        texts = _strings(value, "input", limit)
    # OpenAI's API refuses an input longer than the model takes rather than cutting it.
    return EmbeddingsRequest(texts, token_ids, False, False, dimensions, encoding == "base64")


def tei_embed(body: Dict[str, Any], limit: int) -> EmbeddingsRequest:
    texts = _strings(_field(body, "inputs", (str, list), required=True), "inputs", limit)
    normalize = _field(body, "normalize", bool, True)
    truncate = _field(body, "truncate", bool, False)
    dimensions = _field(body, "dimensions", int)
    if dimensions is not None and dimensions < 1:
        raise ApiError("invalid", f"'dimensions' must be >= 1, got {dimensions}", "dimensions")
    return EmbeddingsRequest(texts, None, normalize, truncate, dimensions, False)


@dataclass
class RerankRequest:
    query: str
    texts: List[str]
    raw_scores: bool
    return_text: bool
    truncate: bool


def tei_rerank(body: Dict[str, Any], limit: int) -> RerankRequest:
    query = _field(body, "query", str, required=True)
    if not query:
        raise ApiError("empty", "'query' is an empty string", "query")
    texts = _strings(_field(body, "texts", list, required=True), "texts", limit)
    return RerankRequest(
        query,
        texts,
        _field(body, "raw_scores", bool, False),
        _field(body, "return_text", bool, False),
        _field(body, "truncate", bool, False),
    )


@dataclass
class TokenizeRequest:
    texts: List[str]
    add_special_tokens: bool


def tei_tokenize(body: Dict[str, Any], limit: int) -> TokenizeRequest:
    texts = _strings(_field(body, "inputs", (str, list), required=True), "inputs", limit)
    return TokenizeRequest(texts, _field(body, "add_special_tokens", bool, True))


def check_object(body: Any) -> Dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError("invalid", f"the request body must be a JSON object, got {type(body).__name__}")
    return body


def tokens_of(rows: Sequence[Sequence[Any]]) -> List[int]:
    return [len(r) for r in rows]
