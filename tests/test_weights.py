"""Loading checkpoints: prefixes, legacy names, shards, fp16/bf16, and clear errors for broken ones."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bertcore import BertModel
from bertcore.weights import SafetensorsFile
from conftest import require
from tiny_models import TINY, numpy_bert, write_tiny_bert

IDS = np.array([[2, 5, 9, 11, 3, 0, 0], [2, 7, 7, 7, 1, 4, 3]])
MASK = np.array([[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]])


def _close_to_reference(model: BertModel, tensors: dict, atol: float = 2e-5) -> None:
    out = model(IDS, attention_mask=MASK, skip_padding=False)
    ref = numpy_bert(tensors, TINY, IDS, MASK)
    assert np.abs(out.last_hidden_state - ref["last_hidden_state"]).max() < atol
    if "pooler_output" in ref:
        assert np.abs(out.pooler_output - ref["pooler_output"]).max() < atol


def test_plain_checkpoint_matches_numpy_reference(tmp_path: Path, isa: str) -> None:
    tensors = write_tiny_bert(tmp_path)
    _close_to_reference(BertModel.from_pretrained(tmp_path, isa=isa, num_threads=2), tensors)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prefix": "bert."},
        {"legacy_layernorm_names": True},
        {"prefix": "bert.", "legacy_layernorm_names": True},
        {"shards": 3},
        {"dtype": np.float16},
        {"dtype": np.float64},
    ],
    ids=["bert-prefix", "gamma-beta", "prefix+gamma-beta", "sharded", "fp16", "fp64"],
)
def test_checkpoint_variants(tmp_path: Path, kwargs: dict) -> None:
    tensors = write_tiny_bert(tmp_path, **kwargs)
    _close_to_reference(BertModel.from_pretrained(tmp_path), tensors)


def test_bf16_checkpoint(tmp_path: Path) -> None:
    torch = require("torch")
    from safetensors.torch import save_file

    tensors = write_tiny_bert(tmp_path)
    bf16 = {k: torch.from_numpy(v).to(torch.bfloat16) for k, v in tensors.items()}
    save_file(bf16, str(tmp_path / "model.safetensors"))
    widened = {k: v.to(torch.float32).numpy() for k, v in bf16.items()}
    _close_to_reference(BertModel.from_pretrained(tmp_path), widened)


def test_task_heads_and_buffers_are_ignored(tmp_path: Path) -> None:
    extra = {
        "cls.predictions.bias": np.zeros(60, np.float32),
        "cls.predictions.transform.dense.weight": np.zeros((24, 24), np.float32),
        "bert.embeddings.position_ids": np.arange(20, dtype=np.int64)[None],
    }
    tensors = write_tiny_bert(tmp_path, prefix="bert.", extra_tensors=extra)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: heads and buffers are expected
        model = BertModel.from_pretrained(tmp_path)
    _close_to_reference(model, tensors)


def test_missing_pooler_gives_none_with_warning(tmp_path: Path) -> None:
    tensors = write_tiny_bert(tmp_path, with_pooler=False)
    with pytest.warns(UserWarning, match="no pooler weights"):
        model = BertModel.from_pretrained(tmp_path)
    out = model(IDS, attention_mask=MASK)
    assert out.pooler_output is None
    _close_to_reference(model, tensors)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert BertModel.from_pretrained(tmp_path, add_pooling_layer=False)(IDS).pooler_output is None


def test_add_pooling_layer_false_skips_pooler(tmp_path: Path) -> None:
    write_tiny_bert(tmp_path)
    model = BertModel.from_pretrained(tmp_path, add_pooling_layer=False)
    out = model(IDS)
    assert out.pooler_output is None and "pooler_output" not in out


def test_missing_tensor_is_named(tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    write_tiny_bert(tmp_path)
    data = load_file(str(tmp_path / "model.safetensors"))
    del data["encoder.layer.1.intermediate.dense.bias"]
    save_file(data, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match=r"missing tensor 'encoder.layer.1.intermediate.dense.bias'"):
        BertModel.from_pretrained(tmp_path)


def test_wrong_shape_is_named(tmp_path: Path) -> None:
    import json

    write_tiny_bert(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["intermediate_size"] = 41
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(
        ValueError, match=r"intermediate.dense.weight' has shape \[40, 24\], expected \[41, 24\]"
    ):
        BertModel.from_pretrained(tmp_path)


def test_extra_layers_warn(tmp_path: Path) -> None:
    import json

    write_tiny_bert(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["num_hidden_layers"] = 1
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.warns(UserWarning, match="not used"):
        BertModel.from_pretrained(tmp_path)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        BertModel.from_pretrained(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="config.json"):
        BertModel.from_pretrained(tmp_path)
    write_tiny_bert(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="pytorch_model.bin"):  # the message lists what it looked for
        BertModel.from_pretrained(tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"")  # found, then refused as unreadable
    with pytest.raises(ValueError, match="pytorch_model.bin is not a PyTorch checkpoint.*empty"):
        BertModel.from_pretrained(tmp_path)


def test_missing_shard(tmp_path: Path) -> None:
    write_tiny_bert(tmp_path, shards=2)
    (tmp_path / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model-00002-of-00002"):
        BertModel.from_pretrained(tmp_path)


def test_corrupt_file(tmp_path: Path) -> None:
    write_tiny_bert(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage")
    with pytest.raises(ValueError, match="safetensors"):
        BertModel.from_pretrained(tmp_path)


def test_integer_weights_refused(tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    write_tiny_bert(tmp_path)
    data = load_file(str(tmp_path / "model.safetensors"))
    data["embeddings.LayerNorm.bias"] = np.zeros(24, np.int32)
    save_file(data, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="dtype I32"):
        BertModel.from_pretrained(tmp_path)


def _rewrite_header(path: Path, edit: Any) -> None:
    """Rewrites a safetensors file's JSON header through ``edit(header) -> header``, keeping the data."""
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = edit(json.loads(raw[8 : 8 + n]))
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])


# The safetensors library's reasons, each after "cannot read <file> as safetensors: ".
@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-100]), "not fully covered.*truncated"),
        (lambda p: p.write_bytes(b"\x05\x00"), "header too small"),
        (lambda p: p.write_bytes(b"\xff" * 8 + b"{}"), "header too large"),
        (lambda p: _rewrite_header(p, lambda h: [1, 2]), "invalid JSON in header"),
        (lambda p: _rewrite_header(p, lambda h: {**h, "x": {"dtype": "F32", "shape": [2]}}), "data_offsets"),
        (lambda p: _rewrite_header(p, lambda h: {**h, "x": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}),
         "unknown variant `Q9`"),
        (lambda p: _rewrite_header(p, lambda h: {**h, "x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 4]}}),
         "invalid shape, data type, or offset"),
    ],
)  # fmt: skip
def test_damaged_safetensors_named(tmp_path: Path, damage: Any, message: str) -> None:
    write_tiny_bert(tmp_path)
    damage(tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=f"cannot read .*model.safetensors as safetensors: .*{message}"):
        BertModel.from_pretrained(tmp_path)


def test_safetensors_reader_matches_library(tmp_path: Path) -> None:
    """The reader gives the safetensors library's values, shapes and dtypes (fp16/fp64 widened)."""
    from safetensors.numpy import load_file, save_file

    rng = np.random.default_rng(3)
    data = {
        "a": rng.standard_normal((3, 5)).astype(np.float32),
        "b": rng.standard_normal(7).astype(np.float16),
        "c": rng.standard_normal((2, 2, 2)).astype(np.float64),
        "d": np.arange(6, dtype=np.int64).reshape(2, 3),
        "e": np.zeros((0, 4), np.float32),
    }
    save_file(data, str(tmp_path / "m.safetensors"), metadata={"format": "np"})
    f = SafetensorsFile(str(tmp_path / "m.safetensors"))
    ref = load_file(str(tmp_path / "m.safetensors"))
    assert f.names() == sorted(data)
    assert {n: f.dtype(n) for n in data} == {"a": "F32", "b": "F16", "c": "F64", "d": "I64", "e": "F32"}
    for name in ("a", "b", "c", "e"):
        got = f.float32(name)
        assert got.dtype == np.float32 and got.flags.c_contiguous and got.shape == ref[name].shape
        np.testing.assert_array_equal(got, ref[name].astype(np.float32))
        assert f.shape(name) == ref[name].shape
    f.close()
    with pytest.raises(ValueError, match="closed"):
        f.float32("a")


def test_safetensors_bf16_widened_bit_exactly(tmp_path: Path) -> None:
    """bf16 tensors (which the library's numpy backend cannot return) among others, at their offsets."""
    torch = require("torch")
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(5)
    data = {
        "a": torch.randn(3, 5, generator=gen).to(torch.bfloat16),
        "b": torch.randn(7, generator=gen, dtype=torch.float64),
        "c": torch.randn(2, 9, generator=gen).to(torch.bfloat16),
        "d": torch.tensor([float("inf"), float("nan"), -0.0, 1e-40]).to(torch.bfloat16),
    }
    save_file(data, str(tmp_path / "m.safetensors"), metadata={"format": "pt"})
    f = SafetensorsFile(str(tmp_path / "m.safetensors"))
    for name in ("a", "c", "d"):
        assert f.dtype(name) == "BF16"
        got = f.float32(name)
        want = data[name].to(torch.float32).numpy()
        assert got.dtype == np.float32 and got.flags.c_contiguous and got.shape == want.shape
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    np.testing.assert_array_equal(f.float32("b"), data["b"].numpy().astype(np.float32))
    f.close()


MEMORY_CHILD = r"""
import sys
import bertcore

def rss():
    out = {}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out

before = rss()["VmRSS"]
open("/proc/self/clear_refs", "w").write("5")
model = bertcore.BertModel.from_pretrained(sys.argv[1])
after = rss()
print(before, after["VmHWM"], after["VmRSS"])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("checkpoint", ["model.safetensors", "pytorch_model.bin"])
def test_loading_never_holds_two_copies_of_the_weights(tmp_path: Path, checkpoint: str) -> None:
    """Peak RSS while loading stays near one copy of the weights: the checkpoint is read tensor by tensor
    into memory that is freed once packed (a memory map would keep every page read resident until the end:
    2.1x the weights, for safetensors and pytorch_model.bin alike)."""
    # A large word-embedding table (41 MB of 91): the Encoder takes over the core's copy made before the
    # layers are read, instead of copying the numpy table once every layer is resident (1.45x here).
    config = dict(TINY, vocab_size=20000, hidden_size=512, num_hidden_layers=4, num_attention_heads=8,
                  intermediate_size=2048, max_position_embeddings=128)  # fmt: skip
    write_tiny_bert(tmp_path, config)
    if checkpoint == "pytorch_model.bin":
        torch = require("torch")
        from safetensors.numpy import load_file

        tensors = load_file(str(tmp_path / "model.safetensors"))
        torch.save({k: torch.from_numpy(v) for k, v in tensors.items()}, tmp_path / checkpoint)
        del tensors
        (tmp_path / "model.safetensors").unlink()
    weights = (tmp_path / checkpoint).stat().st_size
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pytest.skip("this kernel does not allow resetting the peak RSS")
    proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD, str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    before, peak, after = (int(v) for v in proc.stdout.split())
    assert weights > 85e6
    # Once loaded: the packed weights (one copy, plus panel padding and allocator slack).
    assert after - before < 1.15 * weights
    # While loading: one copy plus the tensor in flight, never two copies.
    assert peak - before < 1.2 * weights, (peak - before) / weights


def test_float_tensor_is_taken_over_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The word-embedding FloatTensor is adopted by the Encoder (no copy, same numbers) and only once."""
    from bertcore import _core
    from bertcore.models import loading

    write_tiny_bert(tmp_path)
    t = _core.FloatTensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    assert t.shape == (3, 4) and t.nbytes == 48
    with pytest.raises(TypeError):
        _core.FloatTensor(np.zeros((3, 4)))  # float64: no silent conversion
    ids = np.array([[1, 2, 3, 4]])
    ref = BertModel.from_pretrained(tmp_path)(ids).last_hidden_state

    kept: list = []
    original = loading.WeightPacker.table

    def same_tensor(self: Any, name: str) -> Any:
        if not kept:
            kept.append(original(self, name))
        return kept[0]

    monkeypatch.setattr(loading.WeightPacker, "table", same_tensor)
    np.testing.assert_array_equal(BertModel.from_pretrained(tmp_path)(ids).last_hidden_state, ref)
    table = kept[0][0]
    assert table.nbytes == 0 and table.shape == ()  # taken over, not copied
    with pytest.raises(ValueError, match="already given to an Encoder"):
        BertModel.from_pretrained(tmp_path)
