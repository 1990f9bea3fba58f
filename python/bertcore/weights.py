"""Reading checkpoint tensors: safetensors or PyTorch ``.bin`` files (single or sharded), one tensor at a time.

Every tensor comes back as a C-contiguous float32 numpy array: fp16 and fp64 are converted by numpy, bf16
(which numpy cannot represent) is widened bit-exactly from its raw bytes. Names are normalised once: a model
prefix such as ``bert.`` is stripped and the legacy ``LayerNorm.gamma``/``LayerNorm.beta`` names become
``LayerNorm.weight``/``LayerNorm.bias``.
"""

from __future__ import annotations

import json
import os
import struct
from types import TracebackType
from typing import Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple, Type, Union

import numpy as np
import numpy.typing as npt
from safetensors import SafetensorError, safe_open

from ._json import read_json_object
from .torch_bin import FLOAT_DTYPES, TorchCheckpoint, widen_bf16

PathLike = Union[str, "os.PathLike[str]"]
Shape = Tuple[int, ...]

SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
TORCH_FILE = "pytorch_model.bin"
TORCH_INDEX = "pytorch_model.bin.index.json"


def index_shards(model_dir: str, index: str) -> List[str]:
    """The shard files an index's ``weight_map`` names, each checked to exist."""
    weight_map = read_json_object(index, "checkpoint index").get("weight_map")
    if not isinstance(weight_map, dict):
        raise ValueError(
            f"{index} is not a valid checkpoint index: it needs a 'weight_map' object (tensor name -> shard "
            f"file), found {type(weight_map).__name__}"
        )
    bad = [name for name in weight_map.values() if not isinstance(name, str)]
    if bad:
        raise ValueError(f"{index}: the shard files in 'weight_map' must be file names, found {bad[0]!r}")
    names = sorted(set(weight_map.values()))
    files = []
    for name in names:
        path = os.path.join(model_dir, name)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"shard {name!r} listed in {index} is missing from {model_dir!r}")
        files.append(path)
    return files


def require_dir(model_dir: PathLike) -> str:
    """``model_dir`` as a string; FileNotFoundError unless it is an existing directory."""
    model_dir = os.fspath(model_dir)
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(f"model directory {model_dir!r} does not exist or is not a directory")
    return model_dir


def checkpoint_files(model_dir: str, layouts: Sequence[Tuple[str, str]]) -> List[str]:
    """The files of the first (single file, shard index) layout present in ``model_dir``, tried in order: the
    single file, else the shards its index lists; [] when none is there."""
    for single, index in layouts:
        if os.path.isfile(os.path.join(model_dir, single)):
            return [os.path.join(model_dir, single)]
        if os.path.isfile(os.path.join(model_dir, index)):
            return index_shards(model_dir, os.path.join(model_dir, index))
    return []


def find_checkpoint(model_dir: PathLike) -> List[str]:
    """Returns the weight file(s) of a model directory.

    Looks, in this order, for ``model.safetensors``, ``model.safetensors.index.json`` (sharded),
    ``pytorch_model.bin`` and ``pytorch_model.bin.index.json`` (sharded); the PyTorch files are read without
    torch, through a restricted unpickler (see :mod:`bertcore.torch_bin`).

    Raises:
        FileNotFoundError: the directory or its weights are missing (says what was looked for).
        ValueError: an index file is malformed.
    """
    model_dir = require_dir(model_dir)
    found = checkpoint_files(model_dir, ((SAFETENSORS_FILE, SAFETENSORS_INDEX), (TORCH_FILE, TORCH_INDEX)))
    if found:
        return found
    present = sorted(os.listdir(model_dir))
    hint = ""
    if any(name in present for name in ("tf_model.h5", "flax_model.msgpack", "model.onnx", "onnx")):
        hint = (
            " bertcore reads safetensors and PyTorch weights only; convert TensorFlow/Flax/ONNX weights with "
            "transformers (AutoModel.from_pretrained(dir, from_tf=True).save_pretrained(dir))."
        )
    raise FileNotFoundError(
        f"no {SAFETENSORS_FILE}, {SAFETENSORS_INDEX}, {TORCH_FILE} or {TORCH_INDEX} in {model_dir!r} "
        f"(found: {', '.join(present) or 'nothing'})." + hint
    )


class TensorSource(Protocol):
    """One weight file, as :class:`Checkpoint` reads it: names, shapes, dtypes and float32 copies."""

    path: str

    def names(self) -> List[str]: ...

    def shape(self, name: str) -> Shape: ...

    def dtype(self, name: str) -> str:
        """The element type as safetensors names it: "F32", "F16", "BF16", "F64", "I64", ..."""
        ...

    def float32(self, name: str) -> npt.NDArray[np.float32]:
        """A C-contiguous float32 copy (only called for the floating-point dtypes)."""
        ...

    def close(self) -> None: ...


class SafetensorsFile:
    """A safetensors file, parsed and validated by the ``safetensors`` library and read one tensor at a time
    (a :class:`TensorSource`).

    Each tensor is read through a handle of its own: closing it unmaps the file, whereas one handle held for the
    whole load would keep every page read resident until the end, the weights and their packed copy at once.

    Raises:
        ValueError: the file is not valid safetensors (the library's reason, with the file's name).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        with self._open() as f:
            slices = {name: f.get_slice(name) for name in f.keys()}
            self._info: Optional[Dict[str, Tuple[str, Shape]]] = {
                name: (str(s.get_dtype()), tuple(int(d) for d in s.get_shape())) for name, s in slices.items()
            }
        self._bf16_offsets: Optional[Dict[str, Tuple[int, int]]] = None

    def _open(self) -> safe_open:
        try:
            return safe_open(self.path, framework="numpy")
        except SafetensorError as e:
            hint = " (is the file truncated?)" if "not fully covered" in str(e) else ""
            raise ValueError(f"cannot read {self.path} as safetensors: {e}{hint}") from e

    def _entry(self, name: str) -> Tuple[str, Shape]:
        if self._info is None:
            raise ValueError(f"{self.path} is closed")
        return self._info[name]

    def names(self) -> List[str]:
        return sorted(self._info or {})

    def shape(self, name: str) -> Shape:
        return self._entry(name)[1]

    def dtype(self, name: str) -> str:
        return self._entry(name)[0]

    def float32(self, name: str) -> npt.NDArray[np.float32]:
        dtype, shape = self._entry(name)
        if dtype == "BF16":
            return widen_bf16(self._bf16_bits(name, shape))
        try:
            with self._open() as f:
                raw = f.get_tensor(name)
        except SafetensorError as e:
            raise ValueError(f"cannot read tensor {name!r} from {self.path}: {e}") from e
        return np.ascontiguousarray(raw, dtype=np.float32)

    def _bf16_bits(self, name: str, shape: Shape) -> npt.NDArray[np.uint16]:
        """A bf16 tensor's raw 16 bits, read at its offsets: the library's numpy backend has no bfloat16 to
        return it as, and the header was validated (offsets within the file, sizes matching) on opening."""
        if self._bf16_offsets is None:
            with open(self.path, "rb") as f:
                (length,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(length))
            self._bf16_offsets = {
                key: (8 + length + int(entry["data_offsets"][0]), 8 + length + int(entry["data_offsets"][1]))
                for key, entry in header.items()
                if key != "__metadata__" and entry["dtype"] == "BF16"
            }
        begin, end = self._bf16_offsets[name]
        out = np.empty((end - begin) // 2, dtype="<u2")
        with open(self.path, "rb") as f:
            f.seek(begin)
            got = f.readinto(out.data.cast("B"))
        if got != end - begin:
            raise ValueError(
                f"cannot read tensor {name!r} from {self.path}: the file ended early (truncated?)"
            )
        return out.reshape(shape)

    def close(self) -> None:
        self._info = None


def open_weight_file(path: str) -> TensorSource:
    """A reader for one weight file: safetensors for ``*.safetensors``, else a PyTorch checkpoint."""
    if path.endswith(".safetensors"):
        return SafetensorsFile(path)
    return TorchCheckpoint(path)


class Checkpoint:
    """Read access to the tensors of one checkpoint, by normalised name.

    The files may be safetensors or PyTorch ``.bin`` (see :func:`open_weight_file`); each tensor is read on
    demand. Use as a context manager.

    Example:
        >>> with Checkpoint(find_checkpoint(model_dir)) as ckpt:
        ...     w = ckpt.get("embeddings.word_embeddings.weight")
    """

    def __init__(self, files: Sequence[str], strip_prefixes: Iterable[str] = ()) -> None:
        self._files = list(files)
        self._sources: List[TensorSource] = []
        self._raw_names: Dict[str, TensorSource] = {}  # raw name -> the file holding it
        try:
            for path in self._files:
                source = open_weight_file(path)
                self._sources.append(source)
                for key in source.names():
                    self._raw_names[key] = source
        except BaseException:
            self.close()
            raise
        self.prefix = self._detect_prefix(strip_prefixes)
        self._names: Dict[str, str] = {}
        for raw in self._raw_names:
            norm = self._normalise(raw)
            if norm is not None:
                self._names.setdefault(norm, raw)

    def _detect_prefix(self, prefixes: Iterable[str]) -> str:
        """The base model's prefix: "" for a bare model, "bert." for BertForMaskedLM and the like."""
        for prefix in ("", *prefixes):
            if any(k.startswith(prefix + "embeddings.") for k in self._raw_names):
                return prefix
        anchor = "embeddings.word_embeddings.weight"
        found = sorted((k[: -len(anchor)] for k in self._raw_names if k.endswith(anchor)), key=len)
        return found[0] if found else ""

    def _normalise(self, raw: str) -> Optional[str]:
        if self.prefix:
            if not raw.startswith(self.prefix):
                return None  # a task head (cls.*, classifier.*, ...) outside the base model
            raw = raw[len(self.prefix) :]
        if raw.endswith("LayerNorm.gamma"):
            raw = raw[: -len("gamma")] + "weight"
        elif raw.endswith("LayerNorm.beta"):
            raw = raw[: -len("beta")] + "bias"
        return raw

    def __enter__(self) -> "Checkpoint":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def close(self) -> None:
        for source in self._sources:
            source.close()
        self._sources.clear()

    def names(self) -> List[str]:
        """Normalised names of the base-model tensors (task heads outside the prefix excluded)."""
        return sorted(self._names)

    def ignored_names(self) -> List[str]:
        """Raw names outside the base model's prefix (task heads), which loading ignores."""
        kept = set(self._names.values())
        return sorted(k for k in self._raw_names if k not in kept)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def _raw(self, name: str) -> str:
        if name not in self._names:
            raise KeyError(name)
        return self._names[name]

    def shape(self, name: str) -> Shape:
        return self.raw_shape(self._raw(name))

    def dtype(self, name: str) -> str:
        raw = self._raw(name)
        return self._raw_names[raw].dtype(raw)

    def get(self, name: str) -> npt.NDArray[np.float32]:
        """The tensor as a C-contiguous float32 array (converted from fp16/bf16/fp64 when stored so)."""
        return self.get_raw(self._raw(name))

    # Raw names reach the tensors outside the base model's prefix, such as a task head's.
    def has_raw(self, raw: str) -> bool:
        """Whether the checkpoint holds a tensor of this exact (un-normalised) name."""
        return raw in self._raw_names

    def raw_shape(self, raw: str) -> Shape:
        return self._raw_names[raw].shape(raw)

    def get_raw(self, raw: str) -> npt.NDArray[np.float32]:
        """A tensor by its exact name in the file, as :meth:`get` returns it."""
        source = self._raw_names[raw]
        dtype = source.dtype(raw)
        if dtype not in FLOAT_DTYPES:
            raise ValueError(
                f"tensor {raw!r} in {source.path} has dtype {dtype}; bertcore loads floating-point weights "
                "(F32, F16, BF16, F64)"
            )
        return source.float32(raw)


def check_tensors(
    ckpt: Checkpoint, expected: Mapping[str, Shape], optional: Iterable[str] = ()
) -> Tuple[List[str], List[str]]:
    """Checks that every expected tensor is present with its shape.

    Args:
        ckpt: the checkpoint.
        expected: normalised name -> shape.
        optional: names that may be missing (reported in the first returned list).

    Returns:
        (missing optional names, unexpected names in the checkpoint).

    Raises:
        ValueError: naming every missing tensor and every shape mismatch.
    """
    optional = set(optional)
    problems: List[str] = []
    missing_optional: List[str] = []
    for name, shape in expected.items():
        if name not in ckpt:
            if name in optional:
                missing_optional.append(name)
            else:
                problems.append(f"missing tensor {name!r} (expected shape {list(shape)})")
            continue
        got = ckpt.shape(name)
        if got != tuple(shape):
            problems.append(f"tensor {name!r} has shape {list(got)}, expected {list(shape)}")
    if problems:
        where = f" (names after removing the prefix {ckpt.prefix!r})" if ckpt.prefix else ""
        raise ValueError(
            "the checkpoint does not match the config"
            + where
            + ":\n  "
            + "\n  ".join(problems)
            + "\nCheck that config.json belongs to these weights."
        )
    unexpected = [n for n in ckpt.names() if n not in expected]
    return missing_optional, unexpected
