"""bf16 and int8 dense layers: kernels against numpy references of the same scheme, under every kernel family,
and models in low precision against their own fp32 outputs.

- int8: the weights are quantized per output channel and the activations per row by one rule
  (``_core.quantize_rows``, checked here against its definition); the GEMM's int32 accumulation is then
  exact, so the layer must equal ``float32(acc) * a_scale * w_scale + bias`` computed in numpy bit for bit.
- bf16: weights and activations rounded to bf16 (nearest even), products accumulated in fp32: the layer
  must equal the float64 product of the rounded operands within fp32 accumulation error.

The avx512 family runs VNNI / BF16 instructions where the CPU has them; ``BERTCORE_AVX512_EXTENSIONS=0``
keeps it on its AVX-512F/BW tiles, which ``test_kernels_without_avx512_extensions`` runs in a child process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Tuple

import numpy as np
import pytest

import bertcore
from bertcore import _core
from conftest import SUPPORTED_ISAS, ragged_mask_add

FAMILIES_DIR = Path(__file__).resolve().parent / "fixtures" / "families"
# (m, k, n): 1, primes, vector width and register tile +- 1 (MR 4/6/8, NR 16/48), K not a multiple of 4.
SHAPES = [
    (1, 1, 1),
    (1, 3, 5),
    (2, 4, 16),
    (5, 7, 17),
    (7, 9, 47),
    (8, 16, 48),
    (9, 33, 49),
    (13, 63, 97),
    (25, 130, 15),
    (64, 384, 96),
    (3, 771, 50),
]


def bf16_round(x: np.ndarray) -> np.ndarray:
    """x rounded to bf16 (nearest even) and widened back, as a numpy reference independent of the core."""
    return (bf16_bits_reference(x).astype(np.uint32) << 16).view(np.float32)


def bf16_bits_reference(x: np.ndarray) -> np.ndarray:
    """float32 -> bf16 bits in numpy: round to nearest even; a NaN keeps its top bits, made quiet."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    bits[nan] = (u[nan] >> 16) | 0x40
    return bits.astype(np.uint16)


def quantize_reference(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The int8 rule in numpy float32: scale = max|row| / 127, q = clamp(rint(x * (127 / max|row|)))."""
    amax = np.abs(x).max(axis=1).astype(np.float32)
    safe = np.where(amax > 0, amax, np.float32(1))
    inv = (np.float32(127) / safe).astype(np.float32)
    q = np.clip(np.rint((x * inv[:, None]).astype(np.float32)), -127, 127).astype(np.int8)
    q[amax == 0] = 0
    scale = np.where(amax > 0, (amax / np.float32(127)).astype(np.float32), np.float32(1))
    return q, scale.astype(np.float32)


def _operands(rng: np.random.Generator, m: int, k: int, n: int) -> Tuple[np.ndarray, ...]:
    x = rng.standard_normal((m, k)).astype(np.float32)
    x[0, 0] = 0.0 if k > 1 else x[0, 0]
    w = (rng.standard_normal((n, k)) * 0.3).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    return x, w, b


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_quantize_rows_rule(shape: Tuple[int, int, int], isa: str) -> None:
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal((shape[0], shape[1])).astype(np.float32) * 3
    x[-1] = 0.0  # an all-zero row: q = 0, scale 1
    q, scale = _core.quantize_rows(x, isa=isa)
    want_q, want_scale = quantize_reference(x)
    assert np.array_equal(q, want_q) and np.array_equal(scale, want_scale)
    shifted, _ = _core.quantize_rows(x, unsigned_a=True, isa=isa)
    assert np.array_equal(shifted.view(np.uint8).astype(np.int16) - 128, want_q.astype(np.int16))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_int8_linear_is_exact(shape: Tuple[int, int, int], isa: str) -> None:
    m, k, n = shape
    x, w, b = _operands(np.random.default_rng(k * 31 + n), m, k, n)
    packed = _core.PackedLinear(w, b, isa=isa, dtype="int8")
    assert packed.dtype == "int8" and packed.isa == isa
    xq, xs = quantize_reference(x)
    wq, ws = quantize_reference(w)
    assert np.array_equal(packed.scales, ws)
    acc = xq.astype(np.int64) @ wq.astype(np.int64).T
    want = (acc.astype(np.float32) * xs[:, None]).astype(np.float32) * ws[None, :] + b
    for threads in (1, 2):
        got = _core.linear(x, packed, num_threads=threads)
        assert np.array_equal(got, want.astype(np.float32)), np.abs(got - want).max()
    np.testing.assert_array_equal(packed.unpack(), wq.astype(np.float32) * ws[:, None])


def largest_reference(x: np.ndarray, ko: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row the ko inputs of largest |x|, descending, ties to the lower index, NaNs never; slots past the
    row's non-NaN count hold index 0, value 0."""
    m = x.shape[0]
    idx, val, filled = np.zeros((m, ko), np.int32), np.zeros((m, ko), np.float32), np.zeros(m, np.int32)
    for i, row in enumerate(x):
        keep = np.flatnonzero(~np.isnan(row))
        order = keep[np.argsort(-np.abs(row[keep]), kind="stable")][:ko]
        idx[i, : len(order)], val[i, : len(order)], filled[i] = order, row[order], len(order)
    return idx, val, filled


@pytest.mark.parametrize("k", [1, 3, 7, 8, 9, 15, 16, 17, 47, 48, 49, 384, 771])
def test_largest_inputs_rule(k: int, isa: str) -> None:
    # Gaussian rows with planted outliers, rows of few distinct values (ties), zeros, NaNs and infinities.
    rng = np.random.default_rng(k)
    x = rng.standard_normal((12, k)).astype(np.float32)
    x[1, rng.integers(0, k, 3)] *= 40
    x[2] = rng.integers(-2, 3, k)
    x[3] = 0.0
    x[4, rng.integers(0, k, 2)] = np.nan
    x[5, rng.integers(0, k, 2)] = -np.inf
    x[6] = np.nan
    x[7, :] = 5.0
    x[8] = np.arange(k, dtype=np.float32)  # the largest at the end: the slots fill late
    for ko in sorted({1, 2, 4, 16, min(k, 5)}):
        got = _core.largest_inputs(x, ko, isa=isa)
        for g, w in zip(got, largest_reference(x, ko)):
            assert np.array_equal(g, w), (ko, g, w)
    with pytest.raises(ValueError, match="ko must be between 1 and 16"):
        _core.largest_inputs(x, 17, isa=isa)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_int8_linear_with_outliers(shape: Tuple[int, int, int], isa: str) -> None:
    # Each row quantized without its ko largest inputs (zero in their place), which are multiplied by the int8
    # weights in fp32: the int32 part exact, the fp32 part within a few roundings of its own size.
    m, k, n = shape
    x, w, b = _operands(np.random.default_rng(k * 7 + n), m, k, n)
    x[:, [k // 3, 2 * k // 3]] *= 30  # two outlier channels, as in LayerNorm outputs
    wq, ws = quantize_reference(w)
    for ko in sorted({1, min(4, k)}):
        packed = _core.PackedLinear(w, b, isa=isa, dtype="int8", outliers=ko)
        assert packed.outliers == ko
        idx, val, filled = largest_reference(x, ko)
        rest = x.copy()
        np.put_along_axis(rest, idx, 0.0, axis=1)
        xq, xs = quantize_reference(rest)
        acc = xq.astype(np.int64) @ wq.astype(np.int64).T
        products = val[:, :, None].astype(np.float64) * wq.T[idx]  # [m, ko, n]
        want = (acc.astype(np.float32) * xs[:, None]).astype(np.float64) * ws + products.sum(axis=1) * ws + b
        size = np.abs(acc * xs[:, None] * ws) + np.abs(products).sum(axis=1) * ws + np.abs(b)
        got = _core.linear(x, packed, num_threads=1)
        assert np.all(np.abs(got - want) <= 8 * np.finfo(np.float32).eps * (size + 1e-30)), np.abs(
            got - want
        ).max()
        assert np.array_equal(_core.linear(x, packed, num_threads=2), got)
        # The point of the split: the activations' rounding error far below that of quantizing the outliers
        # with the rest (both against the product with the same int8 weights).
        exact = x.astype(np.float64) @ (wq * ws[:, None]).astype(np.float64).T + b
        plain = _core.linear(x, _core.PackedLinear(w, b, isa=isa, dtype="int8"), num_threads=1)
        if ko == 4 and k >= 16:
            assert np.abs(got - exact).mean() < 0.2 * np.abs(plain - exact).mean()


def test_outliers_are_checked() -> None:
    w = np.ones((4, 8), np.float32)
    with pytest.raises(ValueError, match="outliers applies to int8 layers only"):
        _core.PackedLinear(w, dtype="bfloat16", outliers=2)
    for bad in (-1, 9, 17):
        with pytest.raises(ValueError, match="outliers must be between 0 and 8"):
            _core.PackedLinear(w, dtype="int8", outliers=bad)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_bf16_linear_matches_rounded_reference(shape: Tuple[int, int, int], isa: str) -> None:
    m, k, n = shape
    x, w, b = _operands(np.random.default_rng(k * 17 + n), m, k, n)
    packed = _core.PackedLinear(w, b, isa=isa, dtype="bfloat16")
    np.testing.assert_array_equal(packed.unpack(), bf16_round(w))
    xr, wr = bf16_round(x).astype(np.float64), bf16_round(w).astype(np.float64)
    want = xr @ wr.T + b
    # fp32 accumulation: k products of this size, each sum rounded at most k times.
    bound = 4 * np.finfo(np.float32).eps * (k + 2) * (np.abs(xr) @ np.abs(wr).T + np.abs(b))
    for threads in (1, 2):
        got = _core.linear(x, packed, activation="gelu", num_threads=threads)
        assert got.shape == (m, n)
        plain = _core.linear(x, packed, num_threads=threads)
        assert np.all(np.abs(plain - want) <= bound), np.abs(plain - want).max()


@pytest.mark.parametrize(
    "batch,seq,heads,d",
    # d 32 and 64 take the narrow P·V tile on AVX-512 (32 wide), 48 and 80 the dense one; seq around the key
    # panels (NR 16 / 48) and K groups of 4
    [(1, 1, 1, 1), (2, 5, 2, 6), (3, 17, 4, 16), (2, 49, 3, 17), (1, 64, 2, 64), (2, 9, 12, 32), (2, 19, 2, 48),
     (1, 50, 1, 80)],
)  # fmt: skip
def test_bf16_attention_matches_rounded_reference(batch: int, seq: int, heads: int, d: int, isa: str) -> None:
    """Attention with bf16 products: the scores of bf16-rounded Q and K, softmax in fp32, then the bf16-rounded
    probabilities times bf16-rounded V, both products accumulated in fp32."""
    rng = np.random.default_rng(seq * 10 + d)
    hidden = heads * d
    qkv = (rng.standard_normal((batch * seq, 3 * hidden)) * 2).astype(np.float32)
    mask_add = ragged_mask_add(rng, batch, seq)
    scale = 1.0 / np.sqrt(d)
    ctx, probs = _core.attention(
        qkv, batch, seq, heads, mask_add, scale, output_probs=True, dtype="bfloat16", isa=isa, num_threads=2
    )
    t = bf16_round(qkv).astype(np.float64).reshape(batch, seq, 3, heads, d).transpose(2, 0, 3, 1, 4)
    q, k, v = t[0], t[1], t[2]  # [batch, heads, seq, d]
    raw = q @ k.transpose(0, 1, 3, 2)
    s = raw * scale + mask_add.astype(np.float64)[:, None, None, :]
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    # fp32 sums of d exact products: the scores within d roundings, the probabilities within that times a score
    score_bound = (
        4 * np.finfo(np.float32).eps * (d + 2) * (np.abs(q) @ np.abs(k).transpose(0, 1, 3, 2)) * scale
    )
    assert np.abs(probs - e / e.sum(axis=-1, keepdims=True)).max() <= 2e-6 + 2 * score_bound.max()
    # P·V on the kernel's own probabilities, rounded as it rounds them: fp32 accumulation error only
    p = bf16_round(probs).astype(np.float64)
    want = (p @ v).transpose(0, 2, 1, 3).reshape(batch * seq, hidden)
    bound = 4 * np.finfo(np.float32).eps * (seq + 2) * (np.abs(p) @ np.abs(v)).transpose(0, 2, 1, 3)
    assert np.all(np.abs(ctx - want) <= bound.reshape(batch * seq, hidden) + 1e-30)
    # and the whole is the fp32 attention's to bf16 precision
    ctx32, _ = _core.attention(qkv, batch, seq, heads, mask_add, scale, isa=isa, num_threads=2)
    assert np.abs(ctx - ctx32).max() <= 0.05 * np.abs(v).max()


def test_attention_dtype_is_checked() -> None:
    qkv, mask = np.zeros((4, 12), np.float32), np.zeros((1, 4), np.float32)
    with pytest.raises(ValueError, match="attention dtype must be 'float32' or 'bfloat16'"):
        _core.attention(qkv, 1, 4, 2, mask, 1.0, dtype="int8")


@pytest.mark.parametrize("first_dtype", ["bfloat16", "int8"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_layers_chained_through_bf16(shape: Tuple[int, int, int], first_dtype: str, isa: str) -> None:
    """Low-precision layers hand on bf16 activations (the encoder's bf16 FFN; the int8 and bf16 query/key/value
    projection into attention): the same bits as the first layer's fp32 output rounded (zeros padding each row
    to a K group of 4), and the same output as running the second layer on that fp32 output."""
    m, k, n = shape
    x, w1, b1 = _operands(np.random.default_rng(k * 7 + n), m, k, n)
    w2 = (np.random.default_rng(n).standard_normal((k, n)) * 0.3).astype(np.float32)
    residual = np.random.default_rng(m).standard_normal((m, k)).astype(np.float32)
    outliers = min(4, k) if first_dtype == "int8" else 0
    first = _core.PackedLinear(w1, b1, isa=isa, dtype=first_dtype, outliers=outliers)
    second = _core.PackedLinear(w2, b1[:k] if n >= k else None, isa=isa, dtype="bfloat16")
    for threads in (1, 2):
        mid, out = _core.linear_bf16_chain(x, first, second, "gelu", residual, num_threads=threads)
        plain = _core.linear(x, first, activation="gelu", num_threads=threads)
        kp = -(-n // 4) * 4
        assert mid.shape == (m, kp) and not mid[:, n:].any()
        np.testing.assert_array_equal(mid[:, :n], bf16_bits_reference(plain))
        np.testing.assert_array_equal(
            out, _core.linear(plain, second, residual=residual, num_threads=threads)
        )
    with pytest.raises(ValueError, match="must chain"):
        _core.linear_bf16_chain(np.zeros((m, k + 1), np.float32), first, second)
    with pytest.raises(ValueError, match="linear_bf16_in needs bf16 weights"):
        _core.linear_bf16_chain(x, first, _core.PackedLinear(w2, isa=isa))
    with pytest.raises(ValueError, match="linear_bf16_out needs bf16 or int8 weights"):
        _core.linear_bf16_chain(x, _core.PackedLinear(w1, isa=isa), second)


@pytest.mark.parametrize("dtype", ["int8", "bfloat16"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_epilogue_equals_the_row_kernels(shape: Tuple[int, int, int], dtype: str, isa: str) -> None:
    # Bias, activation and residual applied per tile: the same bits as the plain product followed by the row
    # kernels, for every activation, at every tile edge and thread split.
    m, k, n = shape
    rng = np.random.default_rng(k * 7 + n)
    x, w, b = _operands(rng, m, k, n)
    residual = rng.standard_normal((m, n)).astype(np.float32)
    plain = _core.linear(x, _core.PackedLinear(w, None, isa=isa, dtype=dtype), num_threads=1)
    packed = _core.PackedLinear(w, b, isa=isa, dtype=dtype)
    for name in _core.activation_names():
        want = _core.activation(plain + b, name, isa=isa) + residual
        for threads in (1, 2):
            got = _core.linear(x, packed, activation=name, residual=residual, num_threads=threads)
            assert np.array_equal(got, want), (name, threads, np.abs(got - want).max())


SPECIAL_BITS = [
    0x3F808000, 0x3F818000, 0xBF808000,  # ties: to the even neighbour
    0x7F7FFFFF, 0xFF7FFFFF,  # the largest finite values round to infinity
    0x7F800000, 0xFF800000, 0x00000000, 0x80000000,
    0x7F800001, 0xFF800001, 0x7FC00000, 0x7FBFFFFF,  # signalling and quiet NaNs
    0x00000001, 0x007FFFFF, 0x807FFFFF, 0x00008000, 0x00018000,  # subnormals
]  # fmt: skip


@pytest.mark.parametrize("n", [0, 1, 7, 8, 15, 16, 17, 33, 1000])
def test_bf16_bits_in_every_family(n: int, isa: str) -> None:
    # The bf16 tiles' A rows and the bf16 embedding tables are converted by the family's vector code: every
    # float32 bit pattern (random bits: NaNs, infinities and subnormals included) gives the scalar rule's bits.
    x = np.random.default_rng(n).integers(0, 2**32, n, dtype=np.uint32).view(np.float32)
    assert np.array_equal(_core.bf16_bits(x, isa=isa), bf16_bits_reference(x))
    special = np.array(SPECIAL_BITS, dtype=np.uint32).view(np.float32)
    for length in range(len(special) + 1):  # every tail length
        assert np.array_equal(
            _core.bf16_bits(special[:length], isa=isa), bf16_bits_reference(special[:length])
        )
    grid = np.concatenate([special, x]).reshape(-1, 1)
    assert np.array_equal(_core.bf16_bits(grid, isa=isa), bf16_bits_reference(grid))


def test_low_precision_weights_are_smaller() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((256, 384)).astype(np.float32)
    sizes = {d: _core.PackedLinear(w, None, dtype=d).nbytes for d in ("float32", "bfloat16", "int8")}
    assert sizes["bfloat16"] * 2 == sizes["float32"]
    assert sizes["int8"] < 0.3 * sizes["float32"]
    with pytest.raises(ValueError, match="unknown dtype 'fp8'"):
        _core.PackedLinear(w, None, dtype="fp8")


def test_kernels_without_avx512_extensions() -> None:
    """The avx512 family's F/BW tiles (CPUs without VNNI or BF16) under the same tests, in a child process."""
    if "avx512" not in SUPPORTED_ISAS:
        pytest.skip("this CPU has no AVX-512")
    env = dict(os.environ, BERTCORE_AVX512_EXTENSIONS="0")
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        __file__,
        "-k",
        "avx512 and not without",
    ]
    result = subprocess.run(
        cmd, cwd=Path(__file__).parent.parent, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout


# ---------------------------------------------------------------------------------------------- models


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.reshape(-1, a.shape[-1]).astype(np.float64)
    b = b.reshape(-1, b.shape[-1]).astype(np.float64)
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


FAMILY_MODELS = [
    "ernie_task_h32",
    "albert_e16_h32_g2_inner2",
    "electra_e16_h32",
    "distilbert_h32",
    "roberta_h32_pool",
]


@pytest.mark.parametrize("name", FAMILY_MODELS)
@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_family_models_in_low_precision(name: str, dtype: str, isa: str) -> None:
    """Every family runs in low precision, close to its own fp32 outputs, and padding is still skipped."""
    z = np.load(FAMILIES_DIR / name / "expected.npz")
    ids, mask = z["ragged/input_ids"], z["ragged/attention_mask"]
    kwargs: Any = {"isa": isa, "num_threads": 2}
    ref = bertcore.AutoModel.from_pretrained(FAMILIES_DIR / name, **kwargs)(ids, attention_mask=mask)
    model = bertcore.AutoModel.from_pretrained(FAMILIES_DIR / name, dtype=dtype, **kwargs)
    assert model.dtype == dtype and dtype in repr(model)
    out = model(ids, attention_mask=mask)
    real = mask.astype(bool)
    cos = _cosines(out.last_hidden_state[real], ref.last_hidden_state[real])
    assert cos.min() > (0.999 if dtype == "bfloat16" else 0.99), cos.min()
    assert not out.last_hidden_state[~real].any()  # right padding: every padded position is skipped
    dense = model(ids, attention_mask=mask, skip_padding=False)
    np.testing.assert_allclose(dense.last_hidden_state[real], out.last_hidden_state[real], atol=1e-5, rtol=0)


def test_low_precision_models_hold_less(tmp_path: Path) -> None:
    """Every weight is stored once, in the chosen precision: bf16 <= 0.6x, int8 <= 0.35x fp32's bytes."""
    from tiny_models import write_tiny_bert

    config = dict(
        vocab_size=3000, hidden_size=192, num_hidden_layers=3, num_attention_heads=4, intermediate_size=768,
        max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12,
    )  # fmt: skip
    write_tiny_bert(tmp_path, config)
    sizes = {
        d: bertcore.BertModel.from_pretrained(tmp_path, dtype=d)._encoder.weight_bytes
        for d in ("float32", "bfloat16", "int8")
    }
    params = 3000 * 192 + 3 * (4 * 192 * 192 + 2 * 192 * 768)
    assert sizes["float32"] >= 4 * params
    assert sizes["bfloat16"] <= 0.6 * sizes["float32"] and sizes["int8"] <= 0.35 * sizes["float32"], sizes


def test_dtype_is_checked_and_reaches_every_loader(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dtype must be one of float32, bfloat16, int8"):
        bertcore.BertModel.from_pretrained(FAMILIES_DIR / "bert_seqcls_3labels", dtype="float16")
    clf = bertcore.AutoModelForSequenceClassification.from_pretrained(
        FAMILIES_DIR / "bert_seqcls_3labels", dtype="int8"
    )
    assert clf.dtype == "int8"
    ref = bertcore.AutoModelForSequenceClassification.from_pretrained(FAMILIES_DIR / "bert_seqcls_3labels")
    z = np.load(FAMILIES_DIR / "bert_seqcls_3labels" / "expected.npz")
    ids, mask = z["ragged/input_ids"], z["ragged/attention_mask"]
    np.testing.assert_allclose(
        clf(ids, attention_mask=mask).logits, ref(ids, attention_mask=mask).logits, atol=0.05
    )
