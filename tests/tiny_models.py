"""Tiny random BERT checkpoints written with numpy + safetensors (no torch), for loading and API tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Optional

import numpy as np
from safetensors.numpy import save_file

from bertcore.config import BertConfig
from bertcore.models.bert import BERT
from bertcore.models.loading import expected_tensors

TINY = dict(
    vocab_size=60,
    hidden_size=24,
    num_hidden_layers=2,
    num_attention_heads=3,
    intermediate_size=40,
    max_position_embeddings=20,
    type_vocab_size=2,
    hidden_act="gelu",
    layer_norm_eps=1e-12,
)


def tiny_tensors(config: Dict[str, Any], seed: int = 0, with_pooler: bool = True) -> Dict[str, np.ndarray]:
    cfg = BertConfig.from_dict(config)
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in expected_tensors(BERT, cfg, with_pooler).items():
        scale = 0.3 if len(shape) == 2 else 0.1
        value = rng.standard_normal(shape) * scale
        if name.endswith("LayerNorm.weight"):
            value += 1.0
        out[name] = value.astype(np.float32)
    return out


def write_tiny_bert(
    path: Path,
    config: Optional[Dict[str, Any]] = None,
    seed: int = 0,
    with_pooler: bool = True,
    prefix: str = "",
    legacy_layernorm_names: bool = False,
    dtype: Any = np.float32,
    shards: int = 1,
    extra_tensors: Optional[Dict[str, np.ndarray]] = None,
) -> Dict[str, np.ndarray]:
    """Writes config.json + model.safetensors (or a sharded index) and returns the float32 tensors written
    (after rounding to `dtype`), keyed by normalised name."""
    config = dict(TINY if config is None else config)
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps({**config, "model_type": "bert"}))
    tensors = tiny_tensors(config, seed, with_pooler)
    stored: Dict[str, np.ndarray] = {}
    written = {}
    for name, value in tensors.items():
        rounded = value.astype(dtype)
        raw = name
        if legacy_layernorm_names and "LayerNorm" in raw:
            raw = raw.replace("LayerNorm.weight", "LayerNorm.gamma").replace(
                "LayerNorm.bias", "LayerNorm.beta"
            )
        written[prefix + raw] = np.ascontiguousarray(rounded)
        stored[name] = rounded.astype(np.float32)
    written.update(extra_tensors or {})
    names = sorted(written)
    if shards == 1:
        save_file(written, str(path / "model.safetensors"))
    else:
        weight_map = {}
        for s in range(shards):
            part = {n: written[n] for n in names[s::shards]}
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            save_file(part, str(path / fname))
            weight_map.update({n: fname for n in part})
        (path / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {}, "weight_map": weight_map})
        )
    return stored


def numpy_bert(
    tensors: Dict[str, np.ndarray],
    config: Dict[str, Any],
    ids: np.ndarray,
    mask: np.ndarray,
    types: Optional[np.ndarray] = None,
    positions: Optional[np.ndarray] = None,
) -> Dict[str, np.ndarray]:
    """A float64 numpy BERT (gelu, eager attention) for small checks without torch."""
    import math

    erf = np.vectorize(math.erf)
    c = BertConfig.from_dict(config)
    t = {k: v.astype(np.float64) for k, v in tensors.items()}
    b, s = ids.shape
    types = np.zeros_like(ids) if types is None else types
    positions = np.broadcast_to(np.arange(s), (b, s)) if positions is None else positions

    def ln(x: np.ndarray, p: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + c.layer_norm_eps) * t[p + ".weight"] + t[p + ".bias"]

    def dense(x: np.ndarray, p: str) -> np.ndarray:
        return x @ t[p + ".weight"].T + t[p + ".bias"]

    x = t["embeddings.word_embeddings.weight"][ids] + t["embeddings.token_type_embeddings.weight"][types]
    x = ln(x + t["embeddings.position_embeddings.weight"][positions], "embeddings.LayerNorm")
    add = np.where(mask.astype(bool), 0.0, np.finfo(np.float32).min)[:, None, None, :]
    nh, d = c.num_attention_heads, c.head_dim
    for i in range(c.num_hidden_layers):
        p = f"encoder.layer.{i}."
        q, k, v = (
            dense(x, p + f"attention.self.{n}").reshape(b, s, nh, d).transpose(0, 2, 1, 3)
            for n in ("query", "key", "value")
        )
        sc = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + add
        pr = np.exp(sc - sc.max(-1, keepdims=True))
        pr /= pr.sum(-1, keepdims=True)
        ctx = (pr @ v).transpose(0, 2, 1, 3).reshape(b, s, nh * d)
        x1 = ln(dense(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        hmid = dense(x1, p + "intermediate.dense")
        hmid = 0.5 * hmid * (1 + erf(hmid / math.sqrt(2)))
        x = ln(dense(hmid, p + "output.dense") + x1, p + "output.LayerNorm")
    out = {"last_hidden_state": x}
    if "pooler.dense.weight" in t:
        out["pooler_output"] = np.tanh(dense(x[:, 0], "pooler.dense"))
    return out
