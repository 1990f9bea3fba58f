"""Kernel and op tests against numpy in float64, under every kernel family the CPU supports.

Sizes cover the edges of every family's blocking: 1, primes, vector width +- 1 (8 and 16 lanes), register
tile +- 1 (MR in {4, 6, 8}, NR in {16, 48}) and K around the K blocks (256; 384 for AVX-512).
"""

from __future__ import annotations

import math
from typing import Callable, Dict

import numpy as np
import pytest

from bertcore import _core
from conftest import SUPPORTED_ISAS, ragged_mask_add

RNG_SEED = 1234

EDGE_N = [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 97, 384]

_erf = np.vectorize(math.erf)


def _ref_act(name: str) -> Callable[[np.ndarray], np.ndarray]:
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    table: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "identity": lambda x: x,
        "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
        "gelu_new": lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))),
        "gelu_pytorch_tanh": lambda x: (
            0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
        ),
        "gelu_fast": lambda x: 0.5 * x * (1.0 + np.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x))),
        "quick_gelu": lambda x: x * sig(1.702 * x),
        "relu": lambda x: np.maximum(x, 0.0),
        "silu": lambda x: x * sig(x),
        "swish": lambda x: x * sig(x),
        "tanh": np.tanh,
        "sigmoid": sig,
    }
    return table[name]


ACTIVATIONS = [
    "identity",
    "gelu",
    "gelu_new",
    "gelu_pytorch_tanh",
    "gelu_fast",
    "quick_gelu",
    "relu",
    "silu",
    "swish",
    "tanh",
    "sigmoid",
]


def _rand(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ----------------------------------------------------------------------------- GEMM / linear

GEMM_SHAPES = [
    (1, 1, 1),
    (1, 17, 5),
    (2, 3, 16),
    (3, 16, 17),
    (5, 256, 48),
    (7, 257, 49),
    (8, 255, 47),
    (9, 33, 97),
    (13, 300, 96),
    (16, 384, 384),
    (17, 513, 31),
    (33, 64, 1),
    (4, 1, 64),
    (100, 129, 113),
    (64, 768, 200),
    (40, 512, 50),
    (97, 1024, 49),
    (7, 383, 49),
    (9, 385, 95),
    (17, 769, 50),
    # around the one-M-block bound of linear() (256 rows, N split among threads)
    (200, 300, 250),
    (256, 130, 400),
    (257, 64, 200),
]


@pytest.mark.parametrize("m,k,n", GEMM_SHAPES)
def test_linear_matches_float64(isa: str, m: int, k: int, n: int) -> None:
    rng = np.random.default_rng(RNG_SEED + m * 1000 + k * 10 + n)
    x, w, b = _rand(rng, m, k), _rand(rng, n, k), _rand(rng, n)
    packed = _core.PackedLinear(w, b, isa=isa)
    assert packed.isa == isa and packed.out_features == n and packed.in_features == k
    ref = x.astype(np.float64) @ w.astype(np.float64).T + b
    for threads in (1, 2):
        y = _core.linear(x, packed, num_threads=threads)
        assert y.shape == (m, n) and y.dtype == np.float32
        err = np.abs(y - ref).max()
        assert err <= 2e-6 * math.sqrt(k) * 4, f"isa={isa} m={m} k={k} n={n} threads={threads}: max err {err}"


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_linear_epilogue_activation_and_residual(isa: str, act: str) -> None:
    rng = np.random.default_rng(7)
    m, k, n = 19, 70, 53
    x, w, b, r = _rand(rng, m, k, scale=0.5), _rand(rng, n, k, scale=0.5), _rand(rng, n), _rand(rng, m, n)
    packed = _core.PackedLinear(w, b, isa=isa)
    pre = x.astype(np.float64) @ w.astype(np.float64).T + b
    y = _core.linear(x, packed, activation=act, residual=r, num_threads=2)
    ref = _ref_act(act)(pre) + r
    err = np.abs(y - ref).max()
    assert err < 1e-5 * max(1.0, np.abs(ref).max()), f"{isa} {act}: max err {err}"


def test_linear_without_bias(isa: str) -> None:
    rng = np.random.default_rng(3)
    x, w = _rand(rng, 11, 40), _rand(rng, 23, 40)
    y = _core.linear(x, _core.PackedLinear(w, None, isa=isa))
    np.testing.assert_allclose(y, x.astype(np.float64) @ w.astype(np.float64).T, atol=1e-5, rtol=1e-5)


def test_linear_large_by_random_projection(isa: str) -> None:
    """BLIS's check: y·t against x·(Wᵀ·t) for a random vector t, O(n²), at a BERT-sized shape."""
    if isa == "scalar":
        m, k, n = 96, 768, 256  # the scalar path is slow; keep it short
    else:
        m, k, n = 512, 3072, 768
    rng = np.random.default_rng(11)
    x, w, b = _rand(rng, m, k), _rand(rng, n, k), _rand(rng, n)
    y = _core.linear(x, _core.PackedLinear(w, b, isa=isa), num_threads=2).astype(np.float64)
    t = rng.standard_normal(n)
    lhs = y @ t
    rhs = x.astype(np.float64) @ (w.astype(np.float64).T @ t) + b @ t
    err = np.abs(lhs - rhs).max() / np.abs(rhs).max()
    assert err < 1e-5, f"relative projection error {err}"


def test_pack_unpack_roundtrip(isa: str) -> None:
    rng = np.random.default_rng(5)
    for n, k in [(1, 1), (47, 3), (49, 300), (200, 17)]:
        w = _rand(rng, n, k)
        np.testing.assert_array_equal(_core.PackedLinear(w, None, isa=isa).unpack(), w)


def test_linear_rejects_bad_input() -> None:
    w = _core.PackedLinear(np.ones((4, 3), np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="features"):
        _core.linear(np.ones((2, 5), np.float32), w)
    with pytest.raises(TypeError):
        _core.linear(np.ones((2, 3), np.float64), w)  # exact dtype only, no silent conversion
    with pytest.raises(ValueError, match="bias"):
        _core.PackedLinear(np.ones((4, 3), np.float32), np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="positive"):
        _core.PackedLinear(np.ones((0, 3), np.float32), None)
    with pytest.raises(ValueError, match="residual"):
        _core.linear(np.ones((2, 3), np.float32), w, residual=np.ones((2, 5), np.float32))
    with pytest.raises(ValueError, match="activation"):
        _core.linear(np.ones((2, 3), np.float32), w, activation="gelu_bogus")


# ----------------------------------------------------------------------------- row kernels


@pytest.mark.parametrize("n", EDGE_N + [768, 1023])
def test_layer_norm(isa: str, n: int) -> None:
    rng = np.random.default_rng(n)
    rows = 5
    x = _rand(rng, rows, n, scale=3.0) + 10.0  # an offset mean tests the two-pass variance
    g, b = _rand(rng, n), _rand(rng, n)
    eps = 1e-12 if n % 2 else 1e-5
    y = _core.layer_norm(x, g, b, eps, isa=isa, num_threads=2)
    xd = x.astype(np.float64)
    mean = xd.mean(axis=1, keepdims=True)
    var = ((xd - mean) ** 2).mean(axis=1, keepdims=True)
    ref = (xd - mean) / np.sqrt(var + eps) * g + b
    err = np.abs(y - ref).max()
    assert err < 2e-5, f"{isa} n={n}: max err {err}"


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation(isa: str, act: str) -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [np.linspace(-12, 12, 1001), rng.standard_normal(1000) * 3, [0.0, -0.0, 1e-30, -1e-30]]
    )
    x = x.astype(np.float32)
    for size in (1, 7, 8, 9, 15, 16, 17, x.size):
        y = _core.activation(x[:size], act, isa=isa)
        ref = _ref_act(act)(x[:size].astype(np.float64))
        err = np.abs(y - ref) / np.maximum(1.0, np.abs(ref))
        assert err.max() < 3e-6, f"{isa} {act} size={size}: worst rel err {err.max()} at x={x[err.argmax()]}"


@pytest.mark.parametrize("n", EDGE_N + [128, 512])
def test_softmax(isa: str, n: int) -> None:
    rng = np.random.default_rng(n)
    x = _rand(rng, 4, n, scale=4.0)
    x[1, ::3] += np.finfo(np.float32).min  # masked keys, as the additive mask makes them
    x[2, :] = np.finfo(np.float32).min  # a fully masked row: uniform, as in torch
    y = _core.softmax(x, isa=isa)
    xd = x.astype(np.float64)
    e = np.exp(xd - xd.max(axis=1, keepdims=True))
    ref = e / e.sum(axis=1, keepdims=True)
    assert np.abs(y - ref).max() < 1e-6
    if n > 1:  # a row with kept keys gives masked keys exactly 0
        assert np.all(y[1, ::3] == 0.0)


def _ref_attention(qkv: np.ndarray, batch: int, seq: int, heads: int, mask_add: np.ndarray, scale: float):
    hidden = qkv.shape[1] // 3
    d = hidden // heads
    t = qkv.astype(np.float64).reshape(batch, seq, 3, heads, d).transpose(2, 0, 3, 1, 4)
    q, k, v = t[0], t[1], t[2]  # [batch, heads, seq, d]
    s = q @ k.transpose(0, 1, 3, 2) * scale + mask_add.astype(np.float64)[:, None, None, :]
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    ctx = (p @ v).transpose(0, 2, 1, 3).reshape(batch * seq, hidden)
    return ctx, p


@pytest.mark.parametrize(
    "batch,seq,heads,d",
    # d 48 and 96 take the 48-wide P·V tile on AVX-512, the others the 32-wide one
    [
        (1, 1, 1, 1),
        (2, 5, 2, 8),
        (3, 17, 4, 16),
        (2, 33, 3, 17),
        (1, 64, 2, 64),
        (2, 9, 12, 32),
        (2, 19, 2, 48),
        (1, 21, 2, 96),
        (1, 50, 1, 80),
    ],
)
def test_attention(isa: str, batch: int, seq: int, heads: int, d: int) -> None:
    rng = np.random.default_rng(batch * 100 + seq)
    qkv = _rand(rng, batch * seq, 3 * heads * d)
    mask_add = ragged_mask_add(rng, batch, seq)
    scale = 1.0 / math.sqrt(d)
    ctx, probs = _core.attention(
        qkv, batch, seq, heads, mask_add, scale, output_probs=True, isa=isa, num_threads=2
    )
    ref_ctx, ref_p = _ref_attention(qkv, batch, seq, heads, mask_add, scale)
    assert np.abs(probs - ref_p).max() < 2e-6
    assert np.abs(ctx - ref_ctx).max() < 1e-5


def test_attention_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        _core.attention(np.zeros((6, 12), np.float32), 2, 4, 2, np.zeros((2, 4), np.float32), 1.0)
    with pytest.raises(ValueError, match="mask_add"):
        _core.attention(np.zeros((8, 12), np.float32), 2, 4, 2, np.zeros((2, 3), np.float32), 1.0)


def test_embeddings(isa: str) -> None:
    rng = np.random.default_rng(9)
    vocab, max_pos, types, h, tokens = 50, 20, 3, 37, 29
    word, pos, typ = _rand(rng, vocab, h), _rand(rng, max_pos, h), _rand(rng, types, h)
    g, b = _rand(rng, h), _rand(rng, h)
    ids = rng.integers(0, vocab, tokens)
    tids = rng.integers(0, types, tokens)
    pids = rng.integers(0, max_pos, tokens)
    out = _core.embeddings(ids, tids, pids, word, pos, typ, g, b, 1e-12, isa=isa)
    e = word[ids].astype(np.float64) + typ[tids] + pos[pids]
    mean = e.mean(axis=1, keepdims=True)
    var = ((e - mean) ** 2).mean(axis=1, keepdims=True)
    ref = (e - mean) / np.sqrt(var + 1e-12) * g + b
    assert np.abs(out - ref).max() < 2e-5
    bad = ids.copy()
    bad[3] = vocab
    with pytest.raises(ValueError, match="input_ids holds 50"):
        _core.embeddings(bad, tids, pids, word, pos, typ, g, b, 1e-12, isa=isa)
    bad_t = tids.copy()
    bad_t[0] = -1
    with pytest.raises(ValueError, match="token_type_ids"):
        _core.embeddings(ids, bad_t, pids, word, pos, typ, g, b, 1e-12, isa=isa)


@pytest.mark.parametrize("family", [i for i in SUPPORTED_ISAS if i != "scalar"])
def test_fma_probe_measures_the_family_vector_width(family: str) -> None:
    """A vector family's probe runs its own 8- or 16-lane FMAs: more than twice the scalar probe (measured
    8.8x for AVX2 and 17x for AVX-512 on Sapphire Rapids; 2x leaves room for CPUs that split 512-bit FMAs
    and for a compiler that vectorises the scalar chains). A table that gave every family the scalar probe
    fails. Best of three, interleaved, against noise from other processes."""
    scalar = vector = 0.0
    for _ in range(3):
        scalar = max(scalar, _core.fma_peak_gflops(isa="scalar", num_threads=1, seconds=0.05))
        vector = max(vector, _core.fma_peak_gflops(isa=family, num_threads=1, seconds=0.05))
    assert vector > 2 * scalar, f"{family} probe {vector:.1f} GF/s vs scalar {scalar:.1f} GF/s"


@pytest.mark.parametrize("n", [97, 250])
def test_linear_rows_do_not_depend_on_batch(isa: str, n: int) -> None:
    """A row's result is bit-identical whatever else is in the batch: the few-rows loop order, the one-M-block
    split of up to 256 rows (n = 250 at 2 threads) and the blocked M split (n = 97 on AVX-512) alike."""
    rng = np.random.default_rng(21)
    x, w, b = _rand(rng, 200, 700), _rand(rng, n, 700), _rand(rng, n)
    packed = _core.PackedLinear(w, b, isa=isa)
    full = _core.linear(x, packed, activation="gelu", num_threads=2)
    for rows in (1, 5, 8, 12, 16, 17, 24, 32, 33, 64):
        part = _core.linear(np.ascontiguousarray(x[:rows]), packed, activation="gelu", num_threads=1)
        assert np.array_equal(part, full[:rows]), (
            f"{isa}: {rows} rows differ from the same rows in a batch of 200"
        )
