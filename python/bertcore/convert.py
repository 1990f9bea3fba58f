"""Converting a model directory's ``pytorch_model.bin`` (single or sharded) into ``model.safetensors``,
without torch.

The tensors keep their names, shapes and element types (bf16 stays bf16); each one is copied on its own, so
the peak memory is the largest tensor, not the model. Tensors that shared a storage in the ``.bin`` (tied
weights, views) become separate copies, as safetensors has no shared storage.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Dict, List, Tuple

import numpy as np

from .torch_bin import TorchCheckpoint
from .weights import (
    SAFETENSORS_FILE,
    SAFETENSORS_INDEX,
    TORCH_FILE,
    TORCH_INDEX,
    PathLike,
    Shape,
    checkpoint_files,
    require_dir,
)


def torch_checkpoint_files(model_dir: PathLike) -> List[str]:
    """The ``pytorch_model.bin`` file, or the shards its ``pytorch_model.bin.index.json`` lists.

    Raises:
        FileNotFoundError: neither is in the directory.
    """
    model_dir = require_dir(model_dir)
    found = checkpoint_files(model_dir, ((TORCH_FILE, TORCH_INDEX),))
    if found:
        return found
    raise FileNotFoundError(f"no {TORCH_FILE} or {TORCH_INDEX} in {model_dir!r}: nothing to convert")


def convert_to_safetensors(model_dir: PathLike, *, overwrite: bool = False) -> str:
    """Writes ``model.safetensors`` next to a directory's ``pytorch_model.bin`` (or its shards).

    The ``.bin`` is read by bertcore's restricted unpickler (no torch, nothing in the file is run). The new
    file is written under a temporary name and renamed into place, so a failed conversion leaves nothing
    behind; the ``.bin`` is kept. transformers and bertcore load the result (its metadata says
    ``format: pt``).

    Args:
        model_dir: the model directory.
        overwrite: replace an existing ``model.safetensors``. Without it, a directory that already has
            safetensors weights (``model.safetensors`` or a sharded index) is refused.

    Returns:
        The path of the written ``model.safetensors``.

    Raises:
        FileNotFoundError: no ``pytorch_model.bin`` (or sharded index) in the directory.
        FileExistsError: safetensors weights exist and ``overwrite`` is False.
        ValueError: the ``.bin`` is not a state dict of tensors or names a global outside the allow-list.

    Example:
        >>> convert_to_safetensors("path/to/old-bert")
        'path/to/old-bert/model.safetensors'
    """
    model_dir = os.fspath(model_dir)
    files = torch_checkpoint_files(model_dir)
    out = os.path.join(model_dir, SAFETENSORS_FILE)
    if not overwrite:
        for existing in (SAFETENSORS_FILE, SAFETENSORS_INDEX):
            if os.path.exists(os.path.join(model_dir, existing)):
                raise FileExistsError(
                    f"{model_dir!r} already has {existing}; pass overwrite=True to replace it with the "
                    f"conversion of {os.path.basename(files[0])}"
                )
    checkpoints: List[TorchCheckpoint] = []
    try:
        owner: Dict[str, TorchCheckpoint] = {}
        for path in files:
            ckpt = TorchCheckpoint(path)
            checkpoints.append(ckpt)
            for name in ckpt.names():
                owner[name] = ckpt
        _write(out, owner)
    finally:
        for ckpt in checkpoints:
            ckpt.close()
    return out


def _write(out: str, owner: Dict[str, TorchCheckpoint]) -> None:
    """Writes the safetensors layout: u64 header length, JSON header (padded to 8 bytes), the raw tensors."""
    names = sorted(owner)
    header: Dict[str, object] = {"__metadata__": {"format": "pt"}}
    layout: List[Tuple[str, Shape, int]] = []
    offset = 0
    for name in names:
        ckpt = owner[name]
        shape = ckpt.shape(name)
        nbytes = ckpt.tensors[name].storage.type.itemsize
        for d in shape:
            nbytes *= d
        header[name] = {
            "dtype": ckpt.dtype(name),
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        layout.append((name, shape, nbytes))
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    tmp = f"{out}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with open(tmp, "xb") as f:
            f.write(len(blob).to_bytes(8, "little"))
            f.write(blob)
            for name, _, nbytes in layout:
                data = owner[name].array(name)
                if data.nbytes != nbytes:  # pragma: no cover - array() returns the declared shape
                    raise ValueError(f"tensor {name!r}: read {data.nbytes} bytes, expected {nbytes}")
                f.write(data.reshape(-1).view(np.uint8).data)  # C-contiguous: no copy
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
