"""transformers 4.x relative position scores (relative_key, relative_key_query) against committed fixtures.

transformers 5 dropped these, so the references come from transformers < 5:
tests/fixtures/make_relative_fixtures.py (run in such an environment) wrote them.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import bertcore

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "relative")
NAMES = sorted(d for d in os.listdir(HERE) if os.path.isdir(os.path.join(HERE, d)))


def test_fixtures_present() -> None:
    """Both relative types for BERT and RoBERTa, each with transformers 4.x's outputs committed: the
    references cannot be rebuilt under transformers 5, so a fixture lost here would shrink the suite for
    good."""
    kinds = set()
    for name in NAMES:
        with open(os.path.join(HERE, name, "config.json"), encoding="utf-8") as fh:
            config = json.load(fh)
        assert os.path.isfile(os.path.join(HERE, name, "expected.npz")), f"{name}: no expected.npz"
        kinds.add((config["model_type"], config["position_embedding_type"]))
    want = {("bert", "relative_key"), ("bert", "relative_key_query"), ("roberta", "relative_key_query")}
    assert want <= kinds, f"missing relative fixtures for {sorted(want - kinds)} under {HERE}"


@pytest.mark.parametrize("name", NAMES)
def test_relative_fixture(name: str, isa: str) -> None:
    path = os.path.join(HERE, name)
    ref = np.load(os.path.join(path, "expected.npz"))
    model = bertcore.AutoModel.from_pretrained(path, isa=isa, num_threads=2)
    assert model.config.relative_attention in (1, 2)
    feed = {k: ref[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    keep = feed["attention_mask"].astype(bool)
    layers = model.config.num_hidden_layers
    worst = {}
    for skip in (False, True):
        out = model(**feed, output_hidden_states=True, output_attentions=True, skip_padding=skip)
        sel = keep.copy()
        sel[:, 0] = True  # position 0 is always computed (the pooler reads it)
        rows = slice(None) if not skip else sel
        pairs = [("last_hidden_state", out.last_hidden_state, ref["last_hidden_state"])]
        pairs += [
            (f"hidden_states_{i}", out.hidden_states[i], ref[f"hidden_states_{i}"]) for i in range(layers + 1)
        ]
        for key, got, want in pairs:
            worst[key] = max(worst.get(key, 0.0), float(np.abs(got[rows] - want[rows]).max()))
        for i in range(layers):
            got, want = out.attentions[i], ref[f"attentions_{i}"]
            if skip:  # rows of padded queries are zeros in the packed layout; real query rows must match
                got = np.moveaxis(got, 1, 2)[keep]
                want = np.moveaxis(want, 1, 2)[keep]
            worst[f"attentions_{i}"] = max(worst.get(f"attentions_{i}", 0.0), float(np.abs(got - want).max()))
        if "pooler_output" in ref:
            worst["pooler_output"] = max(
                worst.get("pooler_output", 0.0), float(np.abs(out.pooler_output - ref["pooler_output"]).max())
            )
    print(f"{name} [{isa}] worst: " + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))
    bad = {k: v for k, v in worst.items() if v > 1e-5}
    assert not bad, f"{name} [{isa}]: over 1e-5: {bad}"


def test_relative_needs_distance_table(tmp_path) -> None:
    import shutil

    from safetensors.numpy import load_file, save_file

    src = os.path.join(HERE, NAMES[0])
    for f in os.listdir(src):
        shutil.copy(os.path.join(src, f), tmp_path / f)
    data = load_file(str(tmp_path / "model.safetensors"))
    del data["encoder.layer.1.attention.self.distance_embedding.weight"]
    save_file(data, str(tmp_path / "model.safetensors"))
    with pytest.raises(ValueError, match="distance_embedding"):
        bertcore.AutoModel.from_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["position_embedding_type"] = "relative_scalar"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="position_embedding_type"):
        bertcore.AutoModel.from_pretrained(tmp_path)


def test_relative_sequence_longer_than_table_is_refused() -> None:
    path = os.path.join(HERE, NAMES[0])
    model = bertcore.AutoModel.from_pretrained(path)
    n = model.config.max_position_embeddings
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model(np.ones((1, n + 1), dtype=np.int64), position_ids=np.zeros((1, n + 1), dtype=np.int64))


@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
@pytest.mark.parametrize("name", NAMES)
def test_relative_fixture_in_low_precision(name: str, dtype: str, isa: str) -> None:
    """Low precision keeps the relative terms (fp32 products of the bf16 query and key): attention maps within
    0.01 of transformers' (dropping the terms moves them by 0.06-0.08 here), hidden states within cosine
    0.9999 (bf16) or 0.9995 (int8), and padding skipped or not gives the same rows."""
    path = os.path.join(HERE, name)
    ref = np.load(os.path.join(path, "expected.npz"))
    model = bertcore.AutoModel.from_pretrained(path, dtype=dtype, isa=isa, num_threads=2)
    feed = {k: ref[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    keep = feed["attention_mask"].astype(bool)
    out = model(**feed, output_attentions=True)
    for i, got in enumerate(out.attentions):
        want = ref[f"attentions_{i}"]
        assert np.abs(np.moveaxis(got, 1, 2)[keep] - np.moveaxis(want, 1, 2)[keep]).max() < 0.01
    h, r = out.last_hidden_state[keep].astype(np.float64), ref["last_hidden_state"][keep]
    cos = (h * r).sum(-1) / np.linalg.norm(h, axis=-1) / np.linalg.norm(r, axis=-1)
    assert cos.min() > (0.9999 if dtype == "bfloat16" else 0.9995), cos.min()
    dense = model(**feed, skip_padding=False)
    np.testing.assert_allclose(dense.last_hidden_state[keep], out.last_hidden_state[keep], atol=1e-5, rtol=0)
