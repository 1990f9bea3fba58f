"""Hypothesis strategies that damage valid model files: JSON edits, byte edits, safetensors headers (the
``.bin`` checkpoints' are in ``fuzz_bin_mutations.py``).

Every strategy draws a small, printable *edit* (a frozen dataclass) rather than the damaged bytes, so that a
failing example reads as what was done to the file ("set ['hidden_size'] to nan", "truncate at 1234"); its
``apply`` makes the damaged bytes from the original ones.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import struct
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from hypothesis import strategies as st

Path_ = Tuple[Union[str, int], ...]

# Numbers that break naive code: signs, powers of two around integer widths, huge, tiny, NaN and infinities.
EDGE_NUMBERS: Tuple[Any, ...] = (0, -1, 1, 2, 3, 2**31 - 1, 2**31, 2**32 + 1, 2**53 + 1, 2**60, 2**63 - 1,
                                 2**63, 2**64, 10**30, -(2**63), 0.5, -0.0, 1e-300, 1e300, math.nan, math.inf,
                                 -math.inf)  # fmt: skip
WRONG_TYPES: Tuple[Any, ...] = (None, True, False, "", "x", "1", [], [1], ["a", None], {}, {"a": 1})
DEEP = "\x00deep:"  # a string value "\x00deep:N" is written as N nested JSON arrays


def deep(depth: int) -> str:
    return f"{DEEP}{depth}"


def junk(extra: Sequence[Any] = ()) -> st.SearchStrategy[Any]:
    """JSON values of the wrong type, sign or size, nested junk, and ``extra`` (values of the right type that
    the file's domain makes interesting). Weighted towards the short lists of known trouble: a random float
    or string is rarely the one that breaks a loader."""
    known = st.sampled_from([*EDGE_NUMBERS, *WRONG_TYPES, *extra])
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.floats(), st.text(max_size=6))
    nested = st.recursive(
        leaf,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
        ),
        max_leaves=6,
    )
    return st.one_of(known, known, known, leaf, nested, st.integers(1, 5000).map(deep))


def dumps(doc: Any) -> bytes:
    """JSON text as Python's json writes it (NaN and Infinity included), deep markers expanded."""
    text = json.dumps(doc, indent=1, allow_nan=True)
    text = re.sub(r'"\\u0000deep:(\d+)"', lambda m: "[" * int(m.group(1)) + "]" * int(m.group(1)), text)
    return text.encode("utf-8")


# ------------------------------------------------------------------------------------------------ JSON


@dataclasses.dataclass(frozen=True)
class JsonEdit:
    """``op`` "set" (the value at ``path``, created if missing; the whole document for ``()``), "delete"
    (the key or item at ``path``) or "add" (``value`` under a new ``key`` of the object, or appended to the
    list, at ``path``)."""

    op: str
    path: Path_
    value: Any = None
    key: Optional[str] = None

    def apply(self, doc: Any) -> Any:
        if self.op == "set" and not self.path:
            return copy.deepcopy(self.value)
        parent, last = self._parent(doc)
        if parent is None:  # an earlier edit removed the place
            return doc
        if self.op == "add":
            node = parent[last] if self.path else doc
            if isinstance(node, dict):
                node[self.key or ""] = copy.deepcopy(self.value)
            elif isinstance(node, list):
                node.append(copy.deepcopy(self.value))
        elif self.op == "delete":
            if self.path:
                del parent[last]
        else:
            parent[last] = copy.deepcopy(self.value)
        return doc

    def _parent(self, doc: Any) -> Tuple[Any, Any]:
        node = doc
        path = self.path or ("",)
        for key in path[:-1]:
            if not _has(node, key):
                return None, None
            node = node[key]
        settable = self.op == "set" and isinstance(node, dict)  # "set" may create a key
        if self.path and not (_has(node, path[-1]) or settable):
            return None, None
        return node, path[-1]


def _has(node: Any, key: Any) -> bool:
    if isinstance(node, dict):
        return key in node
    return isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)


@st.composite
def json_path(draw: Any, doc: Any, min_depth: int = 0, max_depth: int = 6) -> Path_:
    """A path to a node of ``doc``: a random walk down from the root."""
    path: List[Union[str, int]] = []
    node = doc
    while len(path) < max_depth and isinstance(node, (dict, list)) and node:
        if len(path) >= min_depth and not draw(st.booleans()):
            break
        key = draw(st.sampled_from(list(node) if isinstance(node, dict) else list(range(len(node)))))
        path.append(key)
        node = node[key]
    return tuple(path)


@dataclasses.dataclass(frozen=True)
class JsonEdits:
    """Edits applied to a parsed JSON document, written back as JSON."""

    edits: Tuple[JsonEdit, ...]

    def apply(self, original: bytes) -> bytes:
        doc = json.loads(original)
        for edit in self.edits:
            doc = edit.apply(doc)
        return dumps(doc)


def json_edits(doc: Any, values: st.SearchStrategy[Any], min_depth: int = 1) -> st.SearchStrategy[JsonEdits]:
    """1 to 3 edits of ``doc``: a value replaced by one of ``values``, a key or item deleted, a key added."""
    paths = json_path(doc, min_depth)
    edit = st.one_of(
        st.builds(JsonEdit, st.just("set"), paths, values),
        st.builds(JsonEdit, st.just("delete"), json_path(doc, max(min_depth, 1))),
        st.builds(JsonEdit, st.just("add"), json_path(doc, 0), values, st.text(max_size=8)),
    )
    return st.lists(edit, min_size=1, max_size=3).map(lambda e: JsonEdits(tuple(e)))


# ----------------------------------------------------------------------------------------------- bytes


@dataclasses.dataclass(frozen=True)
class ByteEdit:
    """``op`` "truncate" (keep ``at`` bytes), "flip" (xor the byte at ``at`` with ``data[0]``), "insert"
    (``data`` at ``at``) or "delete" (``len(data)`` bytes from ``at``)."""

    op: str
    at: int
    data: bytes = b""

    def apply(self, raw: bytes) -> bytes:
        at = min(self.at, len(raw))
        if self.op == "truncate":
            return raw[:at]
        if self.op == "flip":
            if at >= len(raw):
                return raw
            return raw[:at] + bytes([raw[at] ^ (self.data[0] or 1)]) + raw[at + 1 :]
        if self.op == "insert":
            return raw[:at] + self.data + raw[at:]
        return raw[:at] + raw[at + len(self.data) :]


@dataclasses.dataclass(frozen=True)
class ByteEdits:
    """Byte edits applied to a file's bytes, from ``start`` on (earlier bytes are kept)."""

    edits: Tuple[ByteEdit, ...]
    start: int = 0

    def apply(self, original: bytes) -> bytes:
        head, raw = original[: self.start], original[self.start :]
        for edit in self.edits:
            raw = edit.apply(raw)
        return head + raw


def byte_edits(size: int, start: int = 0, inserts: Sequence[bytes] = ()) -> st.SearchStrategy[ByteEdits]:
    """1 to 3 byte edits of a ``size``-byte file at or after ``start``: truncation, bit flips, inserted bytes
    (random, or one of ``inserts``), deleted runs."""
    at = st.integers(0, max(size - start - 1, 0))
    insert = st.binary(min_size=1, max_size=8)
    if inserts:
        insert = insert | st.sampled_from(list(inserts))
    edit = st.one_of(
        st.builds(ByteEdit, st.just("truncate"), at),
        st.builds(ByteEdit, st.just("flip"), at, st.binary(min_size=1, max_size=1)),
        st.builds(ByteEdit, st.just("insert"), at, insert),
        st.builds(ByteEdit, st.just("delete"), at, st.binary(min_size=1, max_size=64)),
    )
    return st.lists(edit, min_size=1, max_size=3).map(lambda e: ByteEdits(tuple(e), start))


def json_file_edits(
    original: bytes, values: st.SearchStrategy[Any], min_depth: int = 1
) -> st.SearchStrategy[Any]:
    """Edits of a JSON file: of its document, or of its bytes."""
    return st.one_of(json_edits(json.loads(original), values, min_depth), byte_edits(len(original)))


# ------------------------------------------------------------------------------------------ safetensors


def split_safetensors(raw: bytes) -> Tuple[Dict[str, Any], bytes]:
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


@dataclasses.dataclass(frozen=True)
class HeaderLength:
    """The 8-byte header length field set to ``value``."""

    value: int

    def apply(self, original: bytes) -> bytes:
        return struct.pack("<Q", self.value) + original[8:]


@dataclasses.dataclass(frozen=True)
class HeaderEdits:
    """Edits of a safetensors file's JSON header; the data after it is kept."""

    edits: JsonEdits

    def apply(self, original: bytes) -> bytes:
        header, data = split_safetensors(original)
        text = self.edits.apply(json.dumps(header).encode())
        return struct.pack("<Q", len(text)) + text + data


SAFETENSORS_DTYPES = ("F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "F8_E4M3", "Q9",
                      "f32", "")  # fmt: skip


def safetensors_edits(original: bytes) -> st.SearchStrategy[Any]:
    """The header length field, the header's entries (dtype, shape, data_offsets: overlapping, reversed, out
    of the file, huge), the data bytes, or the whole file's bytes."""
    header, data = split_safetensors(original)
    n = len(original) - len(data) - 8
    spans = [tuple(e["data_offsets"]) for k, e in header.items() if k != "__metadata__"]
    size = len(data)
    offsets = [[0, 0], [0, 2**60], [2**64 - 1, 2**64], [-1, 4], [4, 0], [0, size], [0, size + 1], [1, 5],
               [size, size + 4], [size - 4, size]]  # fmt: skip
    offsets += [[a, d] for (a, _), (_, d) in zip(spans, spans[1:])]  # one tensor over the next one too
    offsets += [[a - 4, b - 4] for a, b in spans if a >= 4]  # overlapping the previous tensor
    shapes = [[], [0], [-1], [2**31], [2**62, 2**62], [1, 2**60], [2**32, 2**32], [1.5], ["1"], [32, 37],
              [37, 32], [99, 32], [32], [1, 1, 32]]  # fmt: skip
    values = junk([*SAFETENSORS_DTYPES, *map(list, offsets), *shapes])
    lengths = st.sampled_from([0, 1, 7, 8, n - 1, n + 1, len(original), len(original) - 7, 2**60, 2**63 - 1,
                               2**64 - 1])  # fmt: skip
    return st.one_of(
        st.builds(HeaderLength, lengths | st.integers(0, 2**64 - 1)),
        st.builds(HeaderEdits, json_edits(header, values, min_depth=1)),
        byte_edits(len(original), start=8 + n),  # the weights' bytes only
        byte_edits(len(original)),
    )
