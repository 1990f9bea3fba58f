"""``pytorch_model.bin`` read without torch: both torch.save formats, dtypes, views and shared storages,
shards, conversion to safetensors, and pickles that must be refused without running anything.

Files written by torch and transformers when they import; otherwise (and for the refused pickles) files
built here byte by byte, in the layout torch.save uses.
"""

from __future__ import annotations

import builtins
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np
import pytest

import bertcore
from bertcore import AutoModel, BertModel, convert_to_safetensors
from bertcore.torch_bin import TorchCheckpoint
from bertcore.weights import Checkpoint, find_checkpoint
from conftest import require
from tiny_models import TINY, write_tiny_bert

IDS = np.array([[2, 5, 9, 11, 3, 0, 0], [2, 7, 7, 7, 1, 4, 3]])
MASK = np.array([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]])
FORMATS = ("zip", "legacy")
WORD = "embeddings.word_embeddings.weight"

# --------------------------------------------------------------------------------------------------------
# torch.save's two layouts, written without torch: the pickle opcodes of a state dict of _rebuild_tensor_v2
# calls on persistent storage ids, as torch writes it.

_STORAGE = {
    np.dtype(np.float32): "FloatStorage",
    np.dtype(np.float16): "HalfStorage",
    np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.int64): "LongStorage",
}
View = Tuple[str, int, Sequence[int], Sequence[int]]  # storage key, offset, shape, stride (in elements)


def _op_global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _op_str(s: str) -> bytes:
    return b"V" + s.encode("ascii") + b"\n"


def _op_tuple(items: Sequence[bytes]) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _op_ints(values: Sequence[int]) -> bytes:
    return _op_tuple([b"I%d\n" % v for v in values])


def state_dict_pickle(storages: Dict[str, np.ndarray], views: Dict[str, View], legacy: bool) -> bytes:
    out = b"\x80\x02" + _op_global("collections", "OrderedDict") + b")R"
    for name, (key, offset, shape, stride) in views.items():
        flat = storages[key]
        pid = [
            _op_str("storage"),
            _op_global("torch", _STORAGE[flat.dtype]),
            _op_str(key),
            _op_str("cpu"),
            b"I%d\n" % flat.size,
        ] + ([b"N"] if legacy else [])
        args = [
            _op_tuple(pid) + b"Q",
            b"I%d\n" % offset,
            _op_ints(shape),
            _op_ints(stride),
            b"\x89",
            _op_global("collections", "OrderedDict") + b")R",
        ]
        out += _op_str(name) + _op_global("torch._utils", "_rebuild_tensor_v2") + _op_tuple(args) + b"Rs"
    return out + b"."


def write_bin(
    path: Path,
    storages: Dict[str, np.ndarray],
    views: Dict[str, View],
    fmt: str = "zip",
    data_pkl: Optional[bytes] = None,
) -> None:
    """A torch.save file of these storages (1-D arrays) and tensor views; ``data_pkl`` replaces the pickle."""
    pkl = data_pkl if data_pkl is not None else state_dict_pickle(storages, views, fmt == "legacy")
    if fmt.startswith("zip"):  # torch stores members uncompressed; "zip-deflated" checks the fallback
        compression = zipfile.ZIP_DEFLATED if fmt == "zip-deflated" else zipfile.ZIP_STORED
        with zipfile.ZipFile(path, "w", compression) as z:
            z.writestr("archive/data.pkl", pkl)
            z.writestr("archive/byteorder", "little")
            for key, flat in storages.items():
                z.writestr(f"archive/data/{key}", flat.astype(flat.dtype.newbyteorder("<")).tobytes())
            z.writestr("archive/version", "3\n")
        return
    with open(path, "wb") as f:
        f.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2))
        f.write(pickle.dumps(1001, protocol=2))
        f.write(
            pickle.dumps(
                {
                    "protocol_version": 1001,
                    "little_endian": True,
                    "type_sizes": {"short": 2, "int": 4, "long": 8},
                },
                protocol=2,
            )
        )
        f.write(pkl)
        f.write(pickle.dumps(list(storages), protocol=2))
        for flat in storages.values():
            f.write(struct.pack("<q", flat.size) + flat.astype(flat.dtype.newbyteorder("<")).tobytes())


def write_bin_tensors(path: Path, tensors: Dict[str, np.ndarray], fmt: str = "zip") -> None:
    """Each tensor in its own contiguous storage."""
    storages = {str(i): np.ascontiguousarray(v).reshape(-1) for i, v in enumerate(tensors.values())}
    views = {
        name: (str(i), 0, v.shape, [int(np.prod(v.shape[j + 1 :])) for j in range(v.ndim)])
        for i, (name, v) in enumerate(tensors.items())
    }
    write_bin(path, storages, views, fmt)


def bin_model_dir(tmp_path: Path, fmt: str, **kwargs: Any) -> Tuple[Path, Path]:
    """(a tiny BERT as model.safetensors, the same weights as pytorch_model.bin)."""
    st_dir, bin_dir = tmp_path / "st", tmp_path / "bin"
    tensors = write_tiny_bert(st_dir, **kwargs)
    bin_dir.mkdir()
    shutil.copy(st_dir / "config.json", bin_dir / "config.json")
    write_bin_tensors(bin_dir / "pytorch_model.bin", tensors, fmt)
    return st_dir, bin_dir


def assert_same_outputs(a: Any, b: Any) -> None:
    oa, ob = a(IDS, attention_mask=MASK), b(IDS, attention_mask=MASK)
    np.testing.assert_array_equal(oa.last_hidden_state, ob.last_hidden_state)
    if getattr(oa, "pooler_output", None) is not None:
        np.testing.assert_array_equal(oa.pooler_output, ob.pooler_output)


# --------------------------------------------------------------------------------------------------------
# Without torch: the layouts above.


@pytest.mark.parametrize("fmt", [*FORMATS, "zip-deflated"])
def test_handmade_bin_matches_safetensors(tmp_path: Path, fmt: str) -> None:
    st_dir, bin_dir = bin_model_dir(tmp_path, fmt)
    assert find_checkpoint(bin_dir) == [str(bin_dir / "pytorch_model.bin")]
    assert_same_outputs(BertModel.from_pretrained(st_dir), AutoModel.from_pretrained(bin_dir))


@pytest.mark.parametrize("fmt", FORMATS)
def test_views_of_one_storage(tmp_path: Path, fmt: str) -> None:
    """Offsets, transposed strides, a tied pair and a fused QKV storage, as torch stores views."""
    st_dir = tmp_path / "st"
    tensors = write_tiny_bert(st_dir)
    storages: Dict[str, np.ndarray] = {}
    views: Dict[str, View] = {}
    for name, value in tensors.items():
        key = str(len(storages))
        if value.ndim == 2 and name.endswith("intermediate.dense.weight"):  # stored transposed
            storages[key] = np.ascontiguousarray(value.T).reshape(-1)
            views[name] = (key, 0, value.shape, (1, value.shape[0]))
        elif name.endswith("attention.self.query.weight"):  # q, k, v as slices of one [3h, h] storage
            stem = name[: -len("query.weight")]
            fused = np.concatenate([tensors[stem + p + ".weight"] for p in ("query", "key", "value")])
            storages[key] = fused.reshape(-1)
            h = value.shape[0]
            for j, p in enumerate(("query", "key", "value")):
                views[stem + p + ".weight"] = (key, j * h * h, (h, h), (h, 1))
        elif name.endswith(("attention.self.key.weight", "attention.self.value.weight")):
            continue
        else:
            storages[key] = np.concatenate([np.zeros(5, np.float32), value.reshape(-1)])  # at an offset
            views[name] = (
                key,
                5,
                value.shape,
                [int(np.prod(value.shape[j + 1 :])) for j in range(value.ndim)],
            )
    views["cls.predictions.decoder.weight"] = views[WORD]  # tied: the same storage under a second name
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(st_dir / "config.json", bin_dir / "config.json")
    write_bin(bin_dir / "pytorch_model.bin", storages, views, fmt)
    with Checkpoint([str(bin_dir / "pytorch_model.bin")]) as ckpt:
        for name, value in tensors.items():
            got = ckpt.get(name)
            assert got.flags.c_contiguous and got.dtype == np.float32
            np.testing.assert_array_equal(got, value)
        np.testing.assert_array_equal(ckpt.get_raw("cls.predictions.decoder.weight"), tensors[WORD])
    with pytest.warns(UserWarning, match="not used by BertModel: cls.predictions.decoder.weight"):
        from_bin = BertModel.from_pretrained(bin_dir)
    assert_same_outputs(BertModel.from_pretrained(st_dir), from_bin)


def test_big_endian_zip(tmp_path: Path) -> None:
    st_dir, bin_dir = bin_model_dir(tmp_path, "zip")
    src, dst = bin_dir / "pytorch_model.bin", bin_dir / "big.bin"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "archive/byteorder":
                data = b"big"
            elif "/data/" in info.filename:  # every storage is float32
                data = np.frombuffer(data, "<u4").astype(">u4").tobytes()
            zout.writestr(info.filename, data)
    dst.replace(src)
    assert_same_outputs(BertModel.from_pretrained(st_dir), BertModel.from_pretrained(bin_dir))


def test_find_checkpoint_order_and_messages(tmp_path: Path) -> None:
    st_dir, bin_dir = bin_model_dir(tmp_path, "zip")
    shutil.copy(st_dir / "model.safetensors", bin_dir / "model.safetensors")
    assert find_checkpoint(bin_dir) == [str(bin_dir / "model.safetensors")]  # safetensors first
    (bin_dir / "model.safetensors").unlink()
    (bin_dir / "pytorch_model.bin").unlink()
    (bin_dir / "tf_model.h5").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="pytorch_model.bin.index.json.*TensorFlow"):
        find_checkpoint(bin_dir)


def test_loading_does_not_import_torch(tmp_path: Path) -> None:
    _, bin_dir = bin_model_dir(tmp_path, "zip")
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None\n"
        "import bertcore\n"
        f"m = bertcore.AutoModel.from_pretrained({str(bin_dir)!r})\n"
        f"print(m([[2, 5, 3]]).last_hidden_state.shape)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "(1, 3, 24)" in done.stdout


# --------------------------------------------------------------------------------------------------------
# Refused: pickles that name anything outside the allow-list must raise before anything runs.


class _Call:
    """Pickles as a call of ``func(*args)``, the way an attacker's object would."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> Tuple[Any, Tuple[Any, ...]]:
        return self.func, self.args


def _payloads(marker: Path) -> Dict[str, bytes]:
    touch = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": pickle.dumps(_Call(os.system, f"touch {marker}"), protocol=2),
        "builtins.eval": pickle.dumps(_Call(builtins.eval, touch), protocol=2),
        "builtins.exec": pickle.dumps(_Call(builtins.exec, touch), protocol=2),
        "subprocess.Popen": pickle.dumps(_Call(subprocess.Popen, ["touch", str(marker)]), protocol=2),
        # protocol 4 names globals with STACK_GLOBAL; inside a state dict, as a tensor's value
        "in-state-dict": pickle.dumps(
            {"embeddings.word_embeddings.weight": _Call(builtins.eval, touch)}, protocol=4
        ),
        "dotted-name": b"\x80\x02" + _op_global("collections", "OrderedDict.fromkeys") + b")R.",
        "torch-non-allowed": b"\x80\x02" + _op_global("torch", "load") + _op_tuple([_op_str("x.pt")]) + b"R.",
        "getattr": b"\x80\x02" + _op_global("builtins", "getattr") + b")R.",
    }


PAYLOADS = list(_payloads(Path("x")))


def test_payloads_are_live(tmp_path: Path) -> None:
    """The harness works: an unrestricted unpickler does run the eval payload."""
    marker = tmp_path / "ran"
    pickle.loads(_payloads(marker)["builtins.eval"])
    assert marker.exists()


@pytest.mark.parametrize("where", ["zip", "legacy", "legacy-first-pickle"])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_malicious_pickle_refused(tmp_path: Path, payload: str, where: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "pytorch_model.bin"
    data = _payloads(marker)[payload]
    if where == "legacy-first-pickle":
        path.write_bytes(data)  # where torch expects the magic number
    else:
        write_bin(path, {"0": np.zeros(4, np.float32)}, {}, where, data_pkl=data)
    with pytest.raises(ValueError, match="refuses to load|not a PyTorch state dict"):
        TorchCheckpoint(path)
    assert not marker.exists()


def test_malicious_bin_refused_by_from_pretrained(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    write_tiny_bert(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    write_bin(tmp_path / "pytorch_model.bin", {}, {}, "zip", data_pkl=_payloads(marker)["os.system"])
    with pytest.raises(ValueError, match=r"posix\.system.*refuses"):
        BertModel.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="refuses"):
        convert_to_safetensors(tmp_path)
    assert not marker.exists()
    assert not (tmp_path / "model.safetensors").exists()


def test_malformed_checkpoints_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    # a view past the end of its storage
    write_bin(path, {"0": np.zeros(4, np.float32)}, {"w": ("0", 2, (2, 2), (2, 1))})
    with pytest.raises(ValueError, match="storage of 4 elements"):
        TorchCheckpoint(path)
    # a storage member shorter than the pickle says
    write_bin(path, {"0": np.zeros(4, np.float32)}, {"w": ("0", 0, (4,), (1,))})
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["archive/data/0"] = members["archive/data/0"][:8]
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    with pytest.raises(ValueError, match="inconsistent"):
        TorchCheckpoint(path)
    # not a dict of tensors; not a storage persistent id; not a checkpoint at all
    for pkl, match in [
        (pickle.dumps({"w": 3}, protocol=2), "not a tensor"),
        (pickle.dumps([1, 2], protocol=2), "not a state dict"),
        (b"\x80\x02" + _op_tuple([_op_str("module")]) + b"Q.", "unsupported persistent id"),
        (b"\x80\x02(", "not a readable PyTorch checkpoint"),
    ]:
        write_bin(path, {}, {}, "zip", data_pkl=pkl)
        with pytest.raises(ValueError, match=match):
            TorchCheckpoint(path)
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        TorchCheckpoint(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hi")
    with pytest.raises(ValueError, match="no <name>/data.pkl"):
        TorchCheckpoint(path)


# --------------------------------------------------------------------------------------------------------
# With torch and transformers: files as they write them.


def _torch_save(torch: Any, state: Dict[str, Any], path: Path, fmt: str) -> None:
    torch.save(state, str(path), _use_new_zipfile_serialization=(fmt == "zip"))


def _transformers_bert(tmp_path: Path, cls_name: str = "BertModel") -> Tuple[Any, Path]:
    torch = require("torch")
    transformers = require("transformers")
    torch.manual_seed(0)
    config = transformers.BertConfig(**TINY)
    model = getattr(transformers, cls_name)(config).eval()
    st_dir = tmp_path / "st"
    model.save_pretrained(st_dir)  # transformers 5 writes safetensors only (safe_serialization is gone)
    return model, st_dir


@pytest.mark.parametrize("fmt", FORMATS)
def test_transformers_state_dict(tmp_path: Path, fmt: str) -> None:
    torch = require("torch")
    model, st_dir = _transformers_bert(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(st_dir / "config.json", bin_dir / "config.json")
    _torch_save(torch, model.state_dict(), bin_dir / "pytorch_model.bin", fmt)
    assert_same_outputs(AutoModel.from_pretrained(st_dir), AutoModel.from_pretrained(bin_dir))


@pytest.mark.parametrize("fmt", FORMATS)
def test_transformers_tied_weights_masked_lm(tmp_path: Path, fmt: str) -> None:
    """BertForMaskedLM ties its decoder to the word embeddings: one storage under two names."""
    torch = require("torch")
    model, st_dir = _transformers_bert(tmp_path, "BertForMaskedLM")
    state = model.state_dict()
    assert (
        state["cls.predictions.decoder.weight"].data_ptr()
        == state["bert.embeddings.word_embeddings.weight"].data_ptr()
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(st_dir / "config.json", bin_dir / "config.json")
    _torch_save(torch, state, bin_dir / "pytorch_model.bin", fmt)
    with TorchCheckpoint(bin_dir / "pytorch_model.bin") as ckpt:
        assert (
            ckpt.tensors["cls.predictions.decoder.weight"].storage
            == ckpt.tensors["bert.embeddings.word_embeddings.weight"].storage
        )
        for name, value in state.items():
            if value.is_floating_point():
                np.testing.assert_array_equal(ckpt.float32(name), value.numpy())
    a = BertModel.from_pretrained(st_dir, add_pooling_layer=False)
    b = BertModel.from_pretrained(bin_dir, add_pooling_layer=False)
    assert_same_outputs(a, b)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision(tmp_path: Path, fmt: str, dtype: str) -> None:
    torch = require("torch")
    from safetensors.torch import save_file

    model, st_dir = _transformers_bert(tmp_path)
    state = {
        k: v.to(getattr(torch, dtype)) if v.is_floating_point() else v for k, v in model.state_dict().items()
    }
    save_file(state, str(st_dir / "model.safetensors"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(st_dir / "config.json", bin_dir / "config.json")
    _torch_save(torch, state, bin_dir / "pytorch_model.bin", fmt)
    with Checkpoint(find_checkpoint(bin_dir)) as ckpt:
        assert ckpt.dtype(WORD) == {"float16": "F16", "bfloat16": "BF16"}[dtype]
        np.testing.assert_array_equal(ckpt.get(WORD), state[WORD].float().numpy())
    assert_same_outputs(BertModel.from_pretrained(st_dir), BertModel.from_pretrained(bin_dir))


@pytest.mark.parametrize("fmt", FORMATS)
def test_non_contiguous_and_shared_torch_tensors(tmp_path: Path, fmt: str) -> None:
    torch = require("torch")
    model, st_dir = _transformers_bert(tmp_path)
    state = dict(model.state_dict())
    w = state["encoder.layer.0.intermediate.dense.weight"]
    state["encoder.layer.0.intermediate.dense.weight"] = w.t().contiguous().t()  # column-major
    assert not state["encoder.layer.0.intermediate.dense.weight"].is_contiguous()
    stem = "encoder.layer.1.attention.self."
    fused = torch.cat([state[stem + p + ".weight"] for p in ("query", "key", "value")])
    for j, p in enumerate(("query", "key", "value")):
        state[stem + p + ".weight"] = fused[j * 24 : (j + 1) * 24]  # views at offsets of one storage
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(st_dir / "config.json", bin_dir / "config.json")
    _torch_save(torch, state, bin_dir / "pytorch_model.bin", fmt)
    with TorchCheckpoint(bin_dir / "pytorch_model.bin") as ckpt:
        assert ckpt.tensors[stem + "key.weight"].offset == 24 * 24
        assert ckpt.tensors["encoder.layer.0.intermediate.dense.weight"].stride == (1, 40)
    assert_same_outputs(BertModel.from_pretrained(st_dir), BertModel.from_pretrained(bin_dir))


@pytest.mark.parametrize("fmt", FORMATS)
def test_sharded_bin(tmp_path: Path, fmt: str) -> None:
    torch = require("torch")
    model, st_dir = _transformers_bert(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(st_dir / "config.json", bin_dir / "config.json")
    state = model.state_dict()
    names = sorted(state)
    weight_map: Dict[str, str] = {}
    for s in range(2):
        fname = f"pytorch_model-{s + 1:05d}-of-00002.bin"
        _torch_save(torch, {n: state[n] for n in names[s::2]}, bin_dir / fname, fmt)
        weight_map.update({n: fname for n in names[s::2]})
    (bin_dir / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {}, "weight_map": weight_map})
    )
    assert len(find_checkpoint(bin_dir)) == 2
    assert_same_outputs(BertModel.from_pretrained(st_dir), BertModel.from_pretrained(bin_dir))
    (bin_dir / "pytorch_model-00002-of-00002.bin").unlink()
    with pytest.raises(FileNotFoundError, match="pytorch_model-00002-of-00002.bin"):
        BertModel.from_pretrained(bin_dir)


def test_convert_to_safetensors_round_trip(tmp_path: Path) -> None:
    torch = require("torch")
    transformers = require("transformers")
    from safetensors.torch import load_file

    model, st_dir = _transformers_bert(tmp_path, "BertForMaskedLM")
    state = {k: v.to(torch.bfloat16) if "LayerNorm" in k else v for k, v in model.state_dict().items()}
    state["bert.embeddings.position_ids"] = torch.arange(20)[None]  # an int64 buffer, kept as it is
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(st_dir / "config.json", bin_dir / "config.json")
    _torch_save(torch, state, bin_dir / "pytorch_model.bin", "legacy")
    before = BertModel.from_pretrained(bin_dir, add_pooling_layer=False)

    out = convert_to_safetensors(bin_dir)
    assert out == str(bin_dir / "model.safetensors")
    converted = load_file(out)
    assert sorted(converted) == sorted(state)  # every name kept, the tied pair as two tensors
    for name, value in state.items():
        assert converted[name].dtype == value.dtype
        assert torch.equal(converted[name], value)
    assert find_checkpoint(bin_dir) == [out]
    assert_same_outputs(before, BertModel.from_pretrained(bin_dir, add_pooling_layer=False))
    # transformers reads the result too
    ref = transformers.BertForMaskedLM.from_pretrained(bin_dir).eval()
    assert torch.equal(
        ref.bert.embeddings.word_embeddings.weight, state["bert.embeddings.word_embeddings.weight"]
    )

    with pytest.raises(FileExistsError, match="overwrite=True"):
        convert_to_safetensors(bin_dir)
    assert convert_to_safetensors(bin_dir, overwrite=True) == out
    assert [p.name for p in bin_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_convert_sharded_and_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing to convert"):
        convert_to_safetensors(tmp_path)
    _, bin_dir = bin_model_dir(tmp_path, "zip")
    tensors = {}
    with TorchCheckpoint(bin_dir / "pytorch_model.bin") as ckpt:
        tensors = {n: ckpt.float32(n) for n in ckpt.names()}
    (bin_dir / "pytorch_model.bin").unlink()
    names = sorted(tensors)
    weight_map = {}
    for s in range(3):
        fname = f"pytorch_model-{s + 1:05d}-of-00003.bin"
        write_bin_tensors(bin_dir / fname, {n: tensors[n] for n in names[s::3]}, ("zip", "legacy")[s % 2])
        weight_map.update({n: fname for n in names[s::3]})
    (bin_dir / "pytorch_model.bin.index.json").write_text(json.dumps({"weight_map": weight_map}))
    out = convert_to_safetensors(bin_dir)
    from safetensors.numpy import load_file

    loaded = load_file(out)
    assert sorted(loaded) == names
    for n in names:
        np.testing.assert_array_equal(loaded[n], tensors[n])
    assert bertcore.__all__.count("convert_to_safetensors") == 1
