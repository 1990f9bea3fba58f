"""Reading PyTorch ``pytorch_model.bin`` checkpoints without torch, through a restricted unpickler.

Two layouts are read, both as ``torch.save(state_dict)`` writes them:

- zip (torch >= 1.6, the default): ``<archive>/data.pkl`` is the pickled state dict; each storage is an
  uncompressed member ``<archive>/data/<key>``, in the byte order of ``<archive>/byteorder`` (little when
  absent).
- legacy (torch < 1.6, or ``_use_new_zipfile_serialization=False``): five pickles in a row (magic number,
  protocol version, system info, the state dict, the storage keys), then each storage as a little-endian
  int64 element count followed by its little-endian bytes.

Tensors are read one at a time, with plain reads of just the bytes they span into a fresh array, not through a
memory map: a map keeps every page read resident until it is closed, so a model loaded from it would hold the
checkpoint and its packed copy at once.

Security: a pickle can name any Python callable and have it run. The unpickler here resolves no name
itself: ``find_class`` answers only from a fixed allow-list (``collections.OrderedDict``, the tensor and
parameter rebuild functions of ``torch._utils``, and the storage classes such as ``torch.FloatStorage``),
each mapped to a local stand-in that records what to read; any other global raises ``ValueError`` before
anything is imported or called. Storages arrive through ``persistent_load`` and are checked against the
file's real sizes, and every tensor view (offset, shape, strides) is checked against its storage before it
is read.

Example:
    >>> with TorchCheckpoint("model/pytorch_model.bin") as ckpt:
    ...     w = ckpt.float32("bert.embeddings.word_embeddings.weight")
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import pickletools
import reprlib
import struct
import zipfile
import zlib
from types import TracebackType
from typing import Any, Callable, Dict, List, Literal, NamedTuple, Optional, Tuple, Type, Union

import numpy as np
import numpy.typing as npt


def widen_bf16(bits: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    """bfloat16 values given as their raw 16 bits -> float32, bit-exactly (a C-contiguous copy)."""
    return (np.ascontiguousarray(bits, dtype=np.uint32) << 16).view(np.float32)


PathLike = Union[str, "os.PathLike[str]"]
Shape = Tuple[int, ...]

# torch.save's legacy format starts with these two pickled integers.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class StorageType(NamedTuple):
    """A ``torch.<Name>Storage`` class: the element type of a storage."""

    name: str
    dtype: str  # safetensors' name for the element type
    numpy: str  # numpy type code, without byte order (bf16 is read as its raw 16 bits)

    @property
    def itemsize(self) -> int:
        return np.dtype(self.numpy).itemsize


_STORAGE_TYPES: Dict[str, StorageType] = {
    t.name: t
    for t in (
        StorageType("FloatStorage", "F32", "f4"),
        StorageType("DoubleStorage", "F64", "f8"),
        StorageType("HalfStorage", "F16", "f2"),
        StorageType("BFloat16Storage", "BF16", "u2"),
        StorageType("LongStorage", "I64", "i8"),
        StorageType("IntStorage", "I32", "i4"),
        StorageType("ShortStorage", "I16", "i2"),
        StorageType("CharStorage", "I8", "i1"),
        StorageType("ByteStorage", "U8", "u1"),
        StorageType("BoolStorage", "BOOL", "?"),
    )
}

FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")


class Storage(NamedTuple):
    """A storage named by the pickle: its key in the file, element type and element count."""

    key: str
    type: StorageType
    numel: int


class TensorRef(NamedTuple):
    """A tensor as the pickle describes it: a strided view of a storage (nothing is read yet)."""

    storage: Storage
    offset: int
    shape: Shape
    stride: Shape


def _int_tuple(value: Any, what: str) -> Shape:
    if not isinstance(value, (tuple, list)) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value
    ):
        raise ValueError(f"tensor {what} must be a tuple of non-negative integers, got {value!r}")
    return tuple(value)


def _rebuild_tensor(storage: Any, storage_offset: Any, size: Any, stride: Any) -> TensorRef:
    """Stands in for ``torch._utils._rebuild_tensor``: checks the view and records it."""
    if not isinstance(storage, Storage):
        raise ValueError(f"a tensor must be built on a storage, got {type(storage).__name__}")
    if isinstance(storage_offset, bool) or not isinstance(storage_offset, int) or storage_offset < 0:
        raise ValueError(f"tensor storage offset must be a non-negative integer, got {storage_offset!r}")
    shape, strides = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if len(shape) != len(strides):
        raise ValueError(f"tensor size {shape} and stride {strides} differ in length")
    ref = TensorRef(storage, storage_offset, shape, strides)
    _check_bounds(ref, storage.numel)
    return ref


def _rebuild_tensor_v2(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> TensorRef:
    """Stands in for ``torch._utils._rebuild_tensor_v2`` (autograd flags and hooks are irrelevant here)."""
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data: Any, requires_grad: Any = False, backward_hooks: Any = None) -> TensorRef:
    """Stands in for ``torch._utils._rebuild_parameter``: a saved ``nn.Parameter`` is its tensor."""
    if not isinstance(data, TensorRef):
        raise ValueError(f"a parameter must wrap a tensor, got {type(data).__name__}")
    return data


def _rebuild_parameter_with_state(
    data: Any, requires_grad: Any = False, backward_hooks: Any = None, state: Any = None
) -> TensorRef:
    return _rebuild_parameter(data)


# What zipfile raises on a corrupt archive or member (the names, offsets, sizes and CRCs are all in the file).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, NotImplementedError,
               RuntimeError, struct.error, OverflowError)  # fmt: skip

# The only globals a pickle may name. Every value is local: nothing in the file is ever imported.
_ALLOWED_GLOBALS: Dict[Tuple[str, str], Any] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    **{("torch", name): stype for name, stype in _STORAGE_TYPES.items()},
}


def _is_c_contiguous(shape: Shape, stride: Shape) -> bool:
    """Whether elements lie in row-major order with no gaps (dimensions of size 1 may have any stride)."""
    expected = 1
    for d, s in zip(reversed(shape), reversed(stride)):
        if d != 1 and s != expected:
            return False
        expected *= d
    return True


def _check_bounds(ref: TensorRef, available: int) -> None:
    """Raises unless every element of the view lies inside a storage of ``available`` elements."""
    if any(d == 0 for d in ref.shape):
        return
    last = ref.offset + sum((d - 1) * s for d, s in zip(ref.shape, ref.stride))
    if last >= available:
        raise ValueError(
            f"tensor view (offset {ref.offset}, size {list(ref.shape)}, stride {list(ref.stride)}) reaches "
            f"element {last} of a storage of {available} elements: the checkpoint is corrupt"
        )


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves globals from :data:`_ALLOWED_GLOBALS` only; storages come from ``load_storage``."""

    def __init__(self, file: Any, path: str, load_storage: Optional[Callable[[Tuple[Any, ...]], Storage]]):
        super().__init__(file)
        self._path = path
        self._load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED_GLOBALS.get((module, name))
        if found is None:
            raise ValueError(
                f"{self._path} refers to {module}.{name}, which is not part of a PyTorch state dict; "
                "bertcore refuses to load it (a pickle can run any code it names, and only tensors, storages "
                "and OrderedDict are allowed). If you trust the file, re-save its state dict as safetensors."
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        if self._load_storage is None:
            raise ValueError(f"{self._path}: unexpected persistent id {pid!r} in this pickle")
        if not isinstance(pid, tuple) or not pid or pid[0] != "storage":
            raise ValueError(
                f"{self._path}: unsupported persistent id {pid!r} (only tensor storages are read)"
            )
        return self._load_storage(pid)


class _Remaining(io.RawIOBase):
    """A file's bytes from its current position to ``end``, which reads never ask beyond (a plain
    ``read(2**60)`` would allocate that much before finding the end of the file)."""

    def __init__(self, file: Any, end: int) -> None:
        super().__init__()
        self._file, self._end = file, end

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return int(self._file.tell())

    def read(self, n: int = -1) -> bytes:
        left = max(self._end - self._file.tell(), 0)
        return bytes(self._file.read(left if n is None or n < 0 else min(n, left)))

    def readline(self, limit: Optional[int] = -1) -> bytes:
        left = max(self._end - self._file.tell(), 0)
        return bytes(self._file.readline(left if limit is None or limit < 0 else min(limit, left)))


# Opcodes that store into the memo at an index the pickle gives: the unpickler grows its memo to that index.
_MEMO_PUTS = ("PUT", "BINPUT", "LONG_BINPUT")


def _next_pickle(file: Any, path: str, end: int) -> bytes:
    """The bytes of the pickle that starts at ``file``'s position (which is left just past it), its opcodes
    checked first: a length or memo index that the pickle claims and its data cannot back is refused here,
    because ``pickle`` allocates what an opcode claims before reading it (BINBYTES8 of 2**60 bytes, a memo
    index of 2**31)."""
    start = file.tell()
    try:
        ops = pickletools.genops(_Remaining(file, end))  # type: ignore[arg-type]  # reads, readlines, tells
        for count, (opcode, arg, _) in enumerate(ops):
            if opcode.name in _MEMO_PUTS and int(arg or 0) > count:  # picklers number memo entries in order
                raise ValueError(f"memo index {arg} at opcode {count}")
    except (ValueError, EOFError, struct.error, OverflowError) as e:  # the opcode reader's errors
        raise ValueError(f"{path} is not a readable PyTorch checkpoint: corrupt pickle: {e}") from e
    stop = file.tell()
    file.seek(start)
    return bytes(file.read(stop - start))


def _unpickle(
    file: Any, path: str, load_storage: Optional[Callable[[Tuple[Any, ...]], Storage]], end: int
) -> Any:
    """One restricted ``pickle.load`` of the pickle at ``file``'s position (its bytes checked first, see
    :func:`_next_pickle`); every failure becomes a ValueError naming the file."""
    data = _next_pickle(file, path, end)
    try:
        return _RestrictedUnpickler(io.BytesIO(data), path, load_storage).load()
    except ValueError as e:  # from the stand-ins and checks (most name the file already), or from pickle
        if str(e).startswith(path):
            raise
        raise ValueError(f"{path}: {e}") from e
    except Exception as e:  # corrupt data: UnpicklingError, EOFError, TypeError from a bad call, ...
        raise ValueError(f"{path} is not a readable PyTorch checkpoint: {type(e).__name__}: {e}") from e


def _storage_pid(pid: Tuple[Any, ...], path: str) -> Tuple[StorageType, str, int]:
    """(type, key, numel) of a ``('storage', type, key, location, numel[, view])`` persistent id."""
    if len(pid) not in (5, 6):
        raise ValueError(f"{path}: malformed storage id {pid!r}")
    _, stype, key, _location, numel = pid[:5]
    if not isinstance(stype, StorageType):
        raise ValueError(f"{path}: storage type {stype!r} is not one of the torch storage classes")
    if not isinstance(key, str) or isinstance(numel, bool) or not isinstance(numel, int) or numel < 0:
        raise ValueError(f"{path}: malformed storage id {pid!r}")
    return stype, key, numel


class TorchCheckpoint:
    """The tensors of one ``pytorch_model.bin`` (zip or legacy format), read lazily by name.

    Args:
        path: the checkpoint file.

    Raises:
        ValueError: not a PyTorch checkpoint, a format that is not a state dict of tensors, a global outside
            the allow-list, or a corrupt file (the message says which).
    """

    def __init__(self, path: PathLike) -> None:
        self.path = os.fspath(path)
        self._file = open(self.path, "rb")
        self._size = os.fstat(self._file.fileno()).st_size
        self._zip: Optional[zipfile.ZipFile] = None
        self._byteorder: Literal["<", ">"] = "<"
        # storage key -> (byte offset in the file, byte length), or a compressed member (read when used)
        self._locations: Dict[str, Union[Tuple[int, int], zipfile.ZipInfo]] = {}
        self._storages: Dict[str, Storage] = {}
        try:
            head = self._file.read(4)
            self._file.seek(0)
            if head.startswith(b"PK"):
                state = self._open_zip()
            elif head[:1] == b"\x80":
                state = self._open_legacy()
            else:
                raise ValueError(
                    f"{self.path} is not a PyTorch checkpoint (neither the zip format of torch >= 1.6 nor "
                    "the legacy pickle format)" + (": the file is empty" if not head else "")
                )
            self.tensors = self._state_dict(state)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ formats
    def _open_zip(self) -> Any:
        try:
            zf = self._zip = zipfile.ZipFile(self._file)
        except _ZIP_ERRORS as e:
            raise ValueError(f"{self.path} is not a readable zip archive: {type(e).__name__}: {e}") from e
        members = zf.namelist()
        pickles = [n for n in members if n.count("/") == 1 and n.split("/")[1] == "data.pkl"]
        if len(pickles) != 1:
            raise ValueError(
                f"{self.path} is a zip archive but not a PyTorch checkpoint (no <name>/data.pkl)"
            )
        prefix = pickles[0][: -len("data.pkl")]
        if prefix + "byteorder" in members:
            order = self._read_member(zf, zf.getinfo(prefix + "byteorder")).decode("ascii", "replace").strip()
            if order not in ("little", "big"):
                raise ValueError(f"{self.path}: unknown byte order {order!r}")
            self._byteorder = "<" if order == "little" else ">"

        def load_storage(pid: Tuple[Any, ...]) -> Storage:
            stype, key, numel = _storage_pid(pid, self.path)
            if key not in self._storages:
                name = f"{prefix}data/{key}"
                try:
                    info = zf.getinfo(name)
                except KeyError:
                    raise ValueError(f"{self.path}: storage {key!r} has no member {name!r}") from None
                self._locations[key] = self._zip_member(zf, info)
                self._storages[key] = Storage(key, stype, info.file_size // stype.itemsize)
            storage = self._storages[key]
            if storage.type != stype or storage.numel < numel:
                raise ValueError(f"{self.path}: storage {key!r} is used with inconsistent types or sizes")
            return storage

        pickle_bytes = self._read_member(zf, zf.getinfo(pickles[0]))
        return _unpickle(io.BytesIO(pickle_bytes), self.path, load_storage, len(pickle_bytes))

    def _check_member(self, info: zipfile.ZipInfo) -> None:
        """Refuses a member whose stored bytes could not fit in the file: zipfile asks the file for as many
        bytes as the archive's directory claims (and Python allocates them before finding the end)."""
        if info.compress_size > self._size or info.header_offset > self._size:
            raise ValueError(
                f"{self.path}: zip member {info.filename!r} claims {info.compress_size} bytes at offset "
                f"{info.header_offset}, outside the {self._size}-byte file: the archive is corrupt"
            )

    def _read_member(
        self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, offset: int = 0, length: Optional[int] = None
    ) -> bytes:
        """``length`` bytes of a member from ``offset`` (default: all of it); ValueError naming the member
        when the archive is corrupt there."""
        self._check_member(info)
        try:
            with zf.open(info) as member:
                if offset:
                    member.seek(offset)  # decompresses and discards, a chunk at a time
                return member.read(-1 if length is None else length)
        except _ZIP_ERRORS as e:
            raise ValueError(
                f"{self.path}: cannot read {info.filename!r} from the zip archive: {type(e).__name__}: {e}"
            ) from e

    def _zip_member(
        self, zf: zipfile.ZipFile, info: zipfile.ZipInfo
    ) -> Union[Tuple[int, int], zipfile.ZipInfo]:
        """Where a member's bytes are: (offset, length) in the file when stored; a compressed member is read
        when a tensor is, only as far as that tensor reaches (its size is then checked against the config, so
        a small member that inflates to gigabytes is never inflated whole)."""
        self._check_member(info)
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            return info
        header = self._pread(info.header_offset, 30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise ValueError(f"{self.path}: bad zip local header for {info.filename!r}")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        if start + info.file_size > self._size:
            raise ValueError(f"{self.path}: member {info.filename!r} runs past the end of the file")
        return (start, info.file_size)

    def _open_legacy(self) -> Any:
        f, size = self._file, self._size
        if _unpickle(f, self.path, None, size) != _LEGACY_MAGIC:
            raise ValueError(
                f"{self.path} is a pickle but not a PyTorch checkpoint (no torch.save magic number)"
            )
        if _unpickle(f, self.path, None, size) != _LEGACY_PROTOCOL:
            raise ValueError(f"{self.path}: unsupported legacy torch.save protocol version")
        _unpickle(f, self.path, None, size)  # system info: the storages are little-endian whatever it says
        views: Dict[str, Tuple[str, int, int]] = {}  # view key -> (root key, offset, numel)

        def load_storage(pid: Tuple[Any, ...]) -> Storage:
            stype, key, numel = _storage_pid(pid, self.path)
            known = self._storages.get(key)
            if known is not None and known.type != stype:
                raise ValueError(f"{self.path}: storage {key!r} is used with inconsistent types")
            self._storages[key] = Storage(key, stype, max(numel, known.numel if known else 0))
            view = pid[5] if len(pid) == 6 else None
            if view is None:
                return self._storages[key]
            # torch < 0.4 wrote views of storages as (view key, element offset, element count)
            if not (isinstance(view, tuple) and len(view) == 3 and isinstance(view[0], str)):
                raise ValueError(f"{self.path}: malformed storage view {view!r}")
            view_key, offset, count = view
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (offset, count)):
                raise ValueError(f"{self.path}: malformed storage view {view!r}")
            views[view_key] = (key, offset, count)
            return Storage(view_key, stype, count)

        state = _unpickle(f, self.path, load_storage, size)
        keys = _unpickle(f, self.path, None, size)
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"{self.path}: malformed list of storage keys")
        pos = f.tell()
        stored: Dict[str, Tuple[int, int]] = {}  # key -> (byte offset, byte length)
        for key in keys:
            storage = self._storages.get(key)
            if storage is None:
                raise ValueError(f"{self.path}: storage {key!r} is listed but never used")
            if pos + 8 > size:
                raise ValueError(f"{self.path} is truncated (storage {key!r})")
            (numel,) = struct.unpack("<q", self._pread(pos, 8))
            nbytes = numel * storage.type.itemsize
            if numel < 0 or pos + 8 + nbytes > size:
                raise ValueError(f"{self.path} is truncated or corrupt (storage {key!r})")
            stored[key] = (pos + 8, nbytes)
            self._storages[key] = storage._replace(numel=numel)
            pos += 8 + nbytes
        for view_key, (root, offset, count) in views.items():
            if root not in stored:
                raise ValueError(f"{self.path}: storage {root!r} is used but not stored")
            start, nbytes = stored[root]
            item = self._storages[root].type.itemsize
            if (offset + count) * item > nbytes:
                raise ValueError(f"{self.path}: storage view {view_key!r} runs past its storage")
            stored[view_key] = (start + offset * item, count * item)
            self._storages[view_key] = self._storages[root]._replace(key=view_key, numel=count)
        self._locations.update(stored)
        return state

    def _state_dict(self, state: Any) -> Dict[str, TensorRef]:
        if not isinstance(state, dict):
            raise ValueError(
                f"{self.path} holds a pickled {type(state).__name__}, not a state dict (name -> tensor)"
            )
        tensors: Dict[str, TensorRef] = {}
        for name, value in state.items():
            if not isinstance(name, str):  # reprlib: a key nested 10**5 deep must not exhaust the stack
                raise ValueError(f"{self.path}: state dict key {reprlib.repr(name)} is not a string")
            if not isinstance(value, TensorRef):
                raise ValueError(
                    f"{self.path}: state dict entry {name!r} is a {type(value).__name__}, not a tensor"
                )
            if value.storage.key not in self._locations:
                raise ValueError(
                    f"{self.path}: tensor {name!r} uses storage {value.storage.key!r}, not stored"
                )
            tensors[name] = value
        return tensors

    # ------------------------------------------------------------------ access
    def __enter__(self) -> "TorchCheckpoint":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        self._file.close()

    def names(self) -> List[str]:
        """The state dict's names, in file order."""
        return list(self.tensors)

    def shape(self, name: str) -> Shape:
        return self.tensors[name].shape

    def dtype(self, name: str) -> str:
        """The element type, as safetensors names it ("F32", "BF16", "I64", ...)."""
        return self.tensors[name].storage.type.dtype

    def _read_into(self, offset: int, buffer: npt.NDArray[np.uint8], what: str) -> None:
        """Fill ``buffer`` with the file's bytes from ``offset`` on."""
        if self._file.closed:
            raise ValueError(f"{self.path} is closed")
        self._file.seek(offset)
        got = 0
        while got < buffer.size:
            n = self._file.readinto(buffer[got:].data)
            if not n:
                raise ValueError(f"{self.path} is truncated ({what})")
            got += n

    def _pread(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset`` (fewer at the end of the file)."""
        self._file.seek(offset)
        return self._file.read(length)

    def _view(self, name: str) -> np.ndarray:
        """The tensor in its stored type and byte order (bf16 as uint16), read into a fresh array: only the
        bytes its shape and strides span, so a tensor that views part of a larger storage reads just that."""
        ref = self.tensors[name]
        dtype = np.dtype(ref.storage.type.numpy).newbyteorder(self._byteorder)
        where = self._locations[ref.storage.key]
        nbytes = where.file_size if isinstance(where, zipfile.ZipInfo) else where[1]
        try:
            _check_bounds(ref, nbytes // dtype.itemsize)
        except ValueError as e:
            raise ValueError(f"{self.path}: tensor {name!r}: {e}") from None
        if any(d == 0 for d in ref.shape):
            return np.empty(ref.shape, dtype=dtype)
        span = 1 + sum((d - 1) * s for d, s in zip(ref.shape, ref.stride))  # elements, first to last
        first = ref.offset * dtype.itemsize
        if isinstance(where, zipfile.ZipInfo):
            if self._zip is None:
                raise ValueError(f"{self.path} is closed")
            raw = self._read_member(self._zip, where, first, span * dtype.itemsize)
            if len(raw) != span * dtype.itemsize:
                raise ValueError(f"{self.path} is truncated (tensor {name!r})")
            flat = np.frombuffer(raw, dtype=dtype).copy()
        else:
            flat = np.empty(span, dtype=dtype)
            self._read_into(where[0] + first, flat.view(np.uint8), f"tensor {name!r}")
        if _is_c_contiguous(ref.shape, ref.stride):
            return flat.reshape(ref.shape)
        strides = tuple(s * dtype.itemsize for s in ref.stride)
        return np.lib.stride_tricks.as_strided(flat, ref.shape, strides, writeable=False)

    def array(self, name: str) -> np.ndarray:
        """A fresh C-contiguous little-endian array in the stored type (bf16 as its raw uint16 bits)."""
        view = self._view(name)
        return np.ascontiguousarray(view, dtype=view.dtype.newbyteorder("<"))

    def float32(self, name: str) -> npt.NDArray[np.float32]:
        """A fresh C-contiguous float32 array; bf16 is widened bit-exactly.

        Raises:
            ValueError: the tensor is not floating point.
        """
        dtype = self.dtype(name)
        if dtype not in FLOAT_DTYPES:
            raise ValueError(f"tensor {name!r} in {self.path} has dtype {dtype}, not a floating-point type")
        view = self._view(name)
        if dtype == "BF16":
            return widen_bf16(view)
        return np.ascontiguousarray(view, dtype=np.float32)  # no second copy when read as float32 already
