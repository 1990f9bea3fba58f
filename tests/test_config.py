"""BertConfig: reading config.json, keeping unknown keys, validating what matters."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import pytest

from bertcore import BertConfig
from conftest import require


def _write(tmp_path: Path, data: dict) -> Path:
    (tmp_path / "config.json").write_text(json.dumps(data))
    return tmp_path


def test_reads_known_and_keeps_unknown_keys(tmp_path: Path) -> None:
    data = {
        "hidden_size": 64,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "intermediate_size": 128,
        "vocab_size": 100,
        "hidden_act": "gelu_new",
        "layer_norm_eps": 1e-7,
        "pooler_fc_size": 768,
        "directionality": "bidi",
        "architectures": ["BertModel"],
        "model_type": "bert",
    }
    cfg = BertConfig.from_pretrained(_write(tmp_path, data))
    assert (cfg.hidden_size, cfg.num_attention_heads, cfg.head_dim) == (64, 4, 16)
    assert cfg.hidden_act == "gelu_new" and cfg.layer_norm_eps == 1e-7
    assert cfg.pooler_fc_size == 768 and cfg.directionality == "bidi"
    assert cfg.max_position_embeddings == 512  # transformers' default
    d = cfg.to_dict()
    assert d["pooler_fc_size"] == 768 and d["hidden_size"] == 64 and d["model_type"] == "bert"
    assert BertConfig.from_dict(d) == cfg
    assert pickle.loads(pickle.dumps(cfg)) == cfg
    with pytest.raises(AttributeError):
        _ = cfg.no_such_key


def test_defaults_match_transformers() -> None:
    transformers = require("transformers")
    ours = BertConfig()
    theirs = transformers.BertConfig()
    for name in (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "hidden_act",
        "max_position_embeddings",
        "type_vocab_size",
        "layer_norm_eps",
        "pad_token_id",
    ):
        assert getattr(ours, name) == getattr(theirs, name), name


def test_frozen() -> None:
    cfg = BertConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.hidden_size = 10  # type: ignore[misc]


@pytest.mark.parametrize(
    "change, error, match",
    [
        ({"hidden_size": 100, "num_attention_heads": 12}, ValueError, "not a multiple"),
        ({"hidden_size": 0}, ValueError, "positive"),
        ({"num_hidden_layers": -1}, ValueError, "positive"),
        ({"vocab_size": 10.5}, TypeError, "integer"),
        ({"hidden_act": "gelu_bogus"}, ValueError, "hidden_act"),
        ({"layer_norm_eps": 0}, ValueError, "layer_norm_eps"),
        ({"position_embedding_type": "rotary"}, ValueError, "position_embedding_type"),
        ({"is_decoder": True}, ValueError, "decoder"),
    ],
)
def test_validation_errors(change: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        BertConfig.from_dict(change)


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="config.json"):
        BertConfig.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        BertConfig.from_pretrained(tmp_path)
    with pytest.raises(TypeError):
        BertConfig.from_dict([1, 2])  # type: ignore[arg-type]
