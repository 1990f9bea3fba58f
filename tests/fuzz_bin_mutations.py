"""Hypothesis strategies that damage ``pytorch_model.bin`` checkpoints: pickle opcodes and integers, zip
members and the size, offset and count fields of the zip records, legacy files' bytes.

As in ``fuzz_mutations.py``, each strategy draws a printable edit whose ``apply`` damages the original bytes.
"""

from __future__ import annotations

import dataclasses
import io
import re
import struct
import warnings
import zipfile
from typing import Any, Dict, List, Optional, Tuple

from hypothesis import strategies as st

from fuzz_mutations import ByteEdit, ByteEdits, byte_edits

# Pickle opcodes, alone and with arguments that claim too much (lengths of 2**60, memo indices far away).
PICKLE_OPS: Tuple[bytes, ...] = tuple(
    [bytes([c]) for c in b"()tRQPN\x88\x8901245aesub}].\x85\x86\x87\x93\x81\x92oi\x94"]
    + [b"h\x00", b"j\xff\xff\xff\x7f", b"q\x00", b"r\x00\x00\x00\x00", b"K\xff", b"M\xff\xff",
       b"J\xff\xff\xff\xff", b"\x8a\x08" + b"\xff" * 8, b"\x8b\xff\xff\xff\x7f", b"X\xff\xff\xff\x7f",
       b"B\xff\xff\xff\x7f", b"V\n", b"I99999999999999999999\n", b"L-1\n", b"F1e999\n", b"Ftoo\n", b"I-3\n",
       b"ctorch\nFloatStorage\n", b"ctorch._utils\n_rebuild_tensor_v2\n", b"ccollections\nOrderedDict\n",
       b"cbuiltins\neval\n", b"\x80\x05", b"\x80\x09"]
    + [op + struct.pack("<Q", n) for op, n in [(b"\x8d", 2**60), (b"\x8e", 2**60), (b"\x96", 2**62),
                                               (b"\x8e", 3 << 30), (b"\x95", 2**60), (b"\x8a\x08", 2**60)]]
)  # fmt: skip


@st.composite
def pickle_edits(draw: Any, size: int) -> ByteEdits:
    """1 to 3 opcode edits of a pickle of ``size`` bytes: an opcode written over a byte or inserted."""
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, max(size - 1, 0)))
        op = draw(st.sampled_from(PICKLE_OPS))
        if draw(st.booleans()):
            edits.append(ByteEdit("insert", at, op))
        else:
            edits += [ByteEdit("delete", at, op), ByteEdit("insert", at, op)]
    return ByteEdits(tuple(edits))


@dataclasses.dataclass(frozen=True)
class PickleInt:
    """The ``index``-th text integer opcode (``I<digits>`` and a newline) of a pickle, modulo their count, set
    to ``value``: a storage's element count, a tensor's offset, size or stride."""

    index: int
    value: int

    def apply(self, original: bytes) -> bytes:
        found = list(re.finditer(rb"I(-?\d+)\n", original))
        if not found:
            return original
        m = found[self.index % len(found)]
        return original[: m.start(1)] + str(self.value).encode() + original[m.end(1) :]


PICKLE_INTS = (-1, 0, 1, 2, 31, 33, 2**31, 2**32 + 1, 2**60, 2**62, 2**63 - 1, 2**63, 2**64 + 3, 10**30)


def pickle_ints() -> st.SearchStrategy[PickleInt]:
    return st.builds(
        PickleInt, st.integers(0, 10**6), st.sampled_from(PICKLE_INTS) | st.integers(-100, 10**4)
    )


@dataclasses.dataclass(frozen=True)
class ZipEdit:
    """One change to a zip checkpoint's members: "drop", "rename" (to ``arg``), "bytes" (``arg``: ByteEdits
    of the member), "deflate" (store it compressed), "duplicate"."""

    op: str
    member: str
    arg: Any = None


@dataclasses.dataclass(frozen=True)
class ZipField:
    """A size, offset or count field of a zip record set to ``value`` (modulo its width): the field ``name``
    of ZIP_FIELDS, in the ``occurrence``-th record (modulo their number) of its kind."""

    name: str
    occurrence: int
    value: int

    def apply(self, original: bytes) -> bytes:
        signature, offset, width = ZIP_FIELDS[self.name]
        starts = [m.start() for m in re.finditer(re.escape(signature), original)]
        if not starts:
            return original
        at = starts[self.occurrence % len(starts)] + offset
        field = (self.value % (1 << (8 * width))).to_bytes(width, "little")
        return original[:at] + field + original[at + width :]


# name -> (record signature, byte offset in the record, width): the central directory entries, the local
# headers before each member's data, the end-of-directory record.
ZIP_FIELDS: Dict[str, Tuple[bytes, int, int]] = {
    "central compress_size": (b"PK\x01\x02", 20, 4),
    "central file_size": (b"PK\x01\x02", 24, 4),
    "central name length": (b"PK\x01\x02", 28, 2),
    "central extra length": (b"PK\x01\x02", 30, 2),
    "central local header offset": (b"PK\x01\x02", 42, 4),
    "local compress_size": (b"PK\x03\x04", 18, 4),
    "local file_size": (b"PK\x03\x04", 22, 4),
    "local name length": (b"PK\x03\x04", 26, 2),
    "local extra length": (b"PK\x03\x04", 28, 2),
    "end entries": (b"PK\x05\x06", 10, 2),
    "end directory size": (b"PK\x05\x06", 12, 4),
    "end directory offset": (b"PK\x05\x06", 16, 4),
}


def zip_fields(size: int) -> st.SearchStrategy[ZipField]:
    values = st.sampled_from([0, 1, size // 2, size - 1, size, size + 1, 2**31 - 1, 2**32 - 1]) | st.integers(
        0, 2**32 - 1
    )
    return st.builds(ZipField, st.sampled_from(sorted(ZIP_FIELDS)), st.integers(0, 8), values)


@dataclasses.dataclass(frozen=True)
class ZipEdits:
    """Member edits, then (optionally) an edit of the rewritten archive's bytes or of a zip record's field."""

    edits: Tuple[ZipEdit, ...]
    archive: Optional[Any] = None

    def apply(self, original: bytes) -> bytes:
        with zipfile.ZipFile(io.BytesIO(original)) as z:
            members: List[Tuple[str, bytes, int]] = [(n, z.read(n), zipfile.ZIP_STORED) for n in z.namelist()]
        for edit in self.edits:
            members = _edit_members(members, edit)
        out = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names
            with zipfile.ZipFile(out, "w") as z:
                for name, data, compression in members:
                    z.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
        raw = out.getvalue()
        return self.archive.apply(raw) if self.archive is not None else raw


def _edit_members(members: List[Tuple[str, bytes, int]], edit: ZipEdit) -> List[Tuple[str, bytes, int]]:
    out = []
    for name, data, compression in members:
        if name != edit.member:
            out.append((name, data, compression))
        elif edit.op == "rename":
            out.append((edit.arg, data, compression))
        elif edit.op == "bytes":
            out.append((name, edit.arg.apply(data), compression))
        elif edit.op == "deflate":
            out.append((name, data, zipfile.ZIP_DEFLATED))
        elif edit.op == "duplicate":
            out += [(name, data, compression), (name, data[: len(data) // 2], compression)]
    return out


def zip_edits(original: bytes) -> st.SearchStrategy[ZipEdits]:
    """Edits of a zip checkpoint: members dropped, renamed, truncated or corrupted, compressed, duplicated,
    data.pkl's opcodes or integers changed, the byte order junk; then maybe the archive's own bytes damaged or
    a size, offset or count in its records changed."""
    with zipfile.ZipFile(io.BytesIO(original)) as z:
        sizes = {n: z.getinfo(n).file_size for n in z.namelist()}
    names = sorted(sizes)
    pkl = next(n for n in names if n.endswith("/data.pkl"))
    renames = ["archive/data.pkl", "archive/data/0", "archive/data/999", "other/data.pkl",
               "archive/byteorder", "archive/data/0/x", "data.pkl", "archive/version"]  # fmt: skip
    member = st.sampled_from(names)
    edit = st.one_of(
        st.builds(ZipEdit, st.just("drop"), member),
        st.builds(ZipEdit, st.just("rename"), member, st.sampled_from(renames)),
        member.flatmap(
            lambda n: st.builds(ZipEdit, st.just("bytes"), st.just(n), byte_edits(max(sizes[n], 1)))
        ),
        st.builds(ZipEdit, st.just("bytes"), st.just(pkl), pickle_edits(sizes[pkl]) | pickle_ints()),
        st.builds(ZipEdit, st.just("deflate"), member),
        st.builds(ZipEdit, st.just("duplicate"), member),
    )
    order = st.sampled_from([b"big", b"middle", b"", b"\xff\xfe", b"little\n"]).map(
        lambda b: ZipEdit(
            "bytes", "archive/byteorder", ByteEdits((ByteEdit("truncate", 0), ByteEdit("insert", 0, b)))
        )
    )
    return st.builds(
        lambda e, a: ZipEdits(tuple(e), a),
        st.lists(edit | order, min_size=1, max_size=3),
        st.none() | byte_edits(len(original) + 200) | zip_fields(len(original)),
    )


def legacy_edits(original: bytes) -> st.SearchStrategy[Any]:
    """Edits of a legacy (pickles + raw storages) checkpoint: opcodes written or inserted anywhere, integers
    of the state dict changed, or bytes damaged (each storage's int64 element count included)."""
    counts = [struct.pack("<q", v) for v in (2**60, -1, 2**62)]
    return st.one_of(pickle_edits(len(original)), pickle_ints(), byte_edits(len(original), inserts=counts))
