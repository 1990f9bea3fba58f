"""Reading checkpoint tensors: safetensors files (single or sharded), memory-mapped, one tensor at a time.

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
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Type, Union

import numpy as np
import numpy.typing as npt
from safetensors import safe_open

PathLike = Union[str, "os.PathLike[str]"]
Shape = Tuple[int, ...]

SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"

# safetensors dtype -> numpy dtype, for the floating types a checkpoint may hold.
_FLOAT_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def find_checkpoint(model_dir: PathLike) -> List[str]:
    """Returns the safetensors file(s) of a model directory.

    Raises:
        FileNotFoundError: the directory or its weights are missing (says what was looked for).
    """
    model_dir = os.fspath(model_dir)
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(f"model directory {model_dir!r} does not exist or is not a directory")
    single = os.path.join(model_dir, SAFETENSORS_FILE)
    if os.path.isfile(single):
        return [single]
    index = os.path.join(model_dir, SAFETENSORS_INDEX)
    if os.path.isfile(index):
        try:
            with open(index, encoding="utf-8") as f:
                weight_map = json.load(f)["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise ValueError(f"{index} is not a valid safetensors index (needs a 'weight_map'): {e}") from e
        files = []
        for name in sorted(set(weight_map.values())):
            path = os.path.join(model_dir, name)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"shard {name!r} listed in {index} is missing from {model_dir!r}")
            files.append(path)
        return files
    present = sorted(os.listdir(model_dir))
    hint = ""
    if "pytorch_model.bin" in present:
        hint = (
            " It has pytorch_model.bin: convert it once with transformers "
            "(AutoModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True))."
        )
    raise FileNotFoundError(
        f"no {SAFETENSORS_FILE} or {SAFETENSORS_INDEX} in {model_dir!r} (found: {', '.join(present) or 'nothing'})."
        + hint
    )


def _read_header(path: str) -> Dict[str, Any]:
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path} is not a safetensors file (too short)")
        (n,) = struct.unpack("<Q", raw)
        header: Dict[str, Any] = json.loads(f.read(n))
    header["__data_start__"] = 8 + n
    return header


class Checkpoint:
    """Read access to the tensors of one checkpoint, by normalised name.

    Use as a context manager; files are opened memory-mapped through the safetensors library.

    Example:
        >>> with Checkpoint(find_checkpoint(model_dir)) as ckpt:
        ...     w = ckpt.get("embeddings.word_embeddings.weight")
    """

    def __init__(self, files: Sequence[str], strip_prefixes: Iterable[str] = ()) -> None:
        self._files = list(files)
        self._handles: Dict[str, Any] = {}
        self._raw_names: Dict[str, Tuple[str, str]] = {}  # raw name -> (file, raw name)
        for path in self._files:
            try:
                handle = safe_open(path, framework="np")
            except Exception as e:  # safetensors raises its own error types for corrupt files
                raise ValueError(f"cannot read {path} as safetensors: {e}") from e
            self._handles[path] = handle
            for key in handle.keys():
                self._raw_names[key] = (path, key)
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
        self._handles.clear()

    def names(self) -> List[str]:
        """Normalised names of the base-model tensors (task heads outside the prefix excluded)."""
        return sorted(self._names)

    def ignored_names(self) -> List[str]:
        """Raw names outside the base model's prefix (task heads), which loading ignores."""
        kept = set(self._names.values())
        return sorted(k for k in self._raw_names if k not in kept)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def _slice(self, name: str) -> Tuple[str, str, Any]:
        if name not in self._names:
            raise KeyError(name)
        path, raw = self._raw_names[self._names[name]]
        return path, raw, self._handles[path].get_slice(raw)

    def shape(self, name: str) -> Shape:
        _, _, sl = self._slice(name)
        return tuple(int(d) for d in sl.get_shape())

    def dtype(self, name: str) -> str:
        _, _, sl = self._slice(name)
        return str(sl.get_dtype())

    def get(self, name: str) -> npt.NDArray[np.float32]:
        """The tensor as a C-contiguous float32 array (converted from fp16/bf16/fp64 when stored so)."""
        path, raw, sl = self._slice(name)
        return self._read(path, raw, sl)

    # Raw names reach the tensors outside the base model's prefix, such as a task head's.
    def has_raw(self, raw: str) -> bool:
        """Whether the checkpoint holds a tensor of this exact (un-normalised) name."""
        return raw in self._raw_names

    def raw_shape(self, raw: str) -> Shape:
        path, key = self._raw_names[raw]
        return tuple(int(d) for d in self._handles[path].get_slice(key).get_shape())

    def get_raw(self, raw: str) -> npt.NDArray[np.float32]:
        """A tensor by its exact name in the file, as :meth:`get` returns it."""
        path, key = self._raw_names[raw]
        return self._read(path, key, self._handles[path].get_slice(key))

    def _read(self, path: str, raw: str, sl: Any) -> npt.NDArray[np.float32]:
        dtype = str(sl.get_dtype())
        if dtype == "BF16":
            return self._read_bf16(path, raw)
        if dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"tensor {raw!r} in {path} has dtype {dtype}; bertcore loads floating-point weights "
                "(F32, F16, BF16, F64)"
            )
        array = self._handles[path].get_tensor(raw)
        return np.ascontiguousarray(array, dtype=np.float32)

    @staticmethod
    def _read_bf16(path: str, raw: str) -> npt.NDArray[np.float32]:
        header = _read_header(path)
        info = header[raw]
        begin, end = (int(v) for v in info["data_offsets"])
        shape = tuple(int(d) for d in info["shape"])
        start = header["__data_start__"] + begin
        mm = np.memmap(path, dtype=np.uint8, mode="r", offset=start, shape=(end - begin,))
        bits = mm.view("<u2").astype(np.uint32) << 16
        del mm
        return bits.view(np.float32).reshape(shape)


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
            "the checkpoint does not match the config" + where + ":\n  " + "\n  ".join(problems)
            + "\nCheck that config.json belongs to these weights."
        )
    unexpected = [n for n in ckpt.names() if n not in expected]
    return missing_optional, unexpected
