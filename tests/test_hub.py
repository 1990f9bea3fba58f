"""Hub ids resolved through huggingface_hub's cache, built here in the cache's layout; nothing touches the
network (HF_HUB_OFFLINE=1 or local_files_only=True, or a stand-in for the download)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from bertcore import AutoConfig, AutoModel, AutoModelForSequenceClassification, BertConfig, BertModel
from bertcore.hub import files_to_download, looks_like_repo_id, resolve_model_dir
from conftest import require
from tiny_models import write_tiny_bert

require("huggingface_hub")

REPO = "org/tiny-bert"
MAIN = "a" * 40
OTHER = "b" * 40
IDS = np.array([[2, 5, 9, 11, 3]])


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Hub cache holding REPO at two commits: ``main`` (seed 0) and tag ``v2`` (seed 1)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = tmp_path / "hub"
    repo = root / "models--org--tiny-bert"
    write_tiny_bert(repo / "snapshots" / MAIN, seed=0)
    write_tiny_bert(repo / "snapshots" / OTHER, seed=1)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(MAIN)
    (repo / "refs" / "v2").write_text(OTHER)
    return root


def _hidden(model: Any) -> np.ndarray:
    return np.asarray(model(IDS).last_hidden_state)


def test_offline_resolves_from_cache(cache: Path) -> None:
    snapshot = cache / "models--org--tiny-bert" / "snapshots" / MAIN
    assert Path(resolve_model_dir(REPO, cache_dir=cache)) == snapshot
    local = _hidden(BertModel.from_pretrained(snapshot))
    np.testing.assert_array_equal(_hidden(BertModel.from_pretrained(REPO, cache_dir=cache)), local)
    np.testing.assert_array_equal(_hidden(AutoModel.from_pretrained(REPO, cache_dir=cache)), local)
    assert AutoConfig.from_pretrained(REPO, cache_dir=cache).hidden_size == 24
    assert BertConfig.from_pretrained(REPO, cache_dir=cache).num_hidden_layers == 2
    with pytest.raises(ValueError, match="head"):  # found, then refused for the missing head, not for the id
        AutoModelForSequenceClassification.from_pretrained(REPO, cache_dir=cache)


def test_revision(cache: Path) -> None:
    main = _hidden(BertModel.from_pretrained(REPO, cache_dir=cache))
    by_tag = _hidden(BertModel.from_pretrained(REPO, cache_dir=cache, revision="v2"))
    by_hash = _hidden(AutoModel.from_pretrained(REPO, cache_dir=cache, revision=OTHER))
    np.testing.assert_array_equal(by_tag, by_hash)
    assert not np.array_equal(main, by_tag)
    with pytest.raises(FileNotFoundError, match="revision 'v3'"):
        BertModel.from_pretrained(REPO, cache_dir=cache, revision="v3")


def test_local_files_only_without_offline_env(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    model = BertModel.from_pretrained(REPO, cache_dir=cache, local_files_only=True)
    assert model.config.hidden_size == 24
    with pytest.raises(FileNotFoundError, match="not in the local Hugging Face cache.*local_files_only=True"):
        BertModel.from_pretrained("org/absent", cache_dir=cache, local_files_only=True)


def test_missing_model_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for call in (
        lambda: AutoModel.from_pretrained("org/not-there", cache_dir=tmp_path),
        lambda: AutoConfig.from_pretrained("not-there", cache_dir=tmp_path),
        lambda: BertModel.from_pretrained("org/not-there"),  # the default cache
    ):
        with pytest.raises(FileNotFoundError, match="not in the local Hugging Face cache.*HF_HUB_OFFLINE"):
            call()


def test_local_directory_wins(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tiny_bert(tmp_path / "org" / "tiny-bert", seed=3)
    monkeypatch.chdir(tmp_path)
    assert resolve_model_dir(REPO, cache_dir=cache) == REPO
    expected = _hidden(BertModel.from_pretrained(tmp_path / "org" / "tiny-bert"))
    np.testing.assert_array_equal(_hidden(BertModel.from_pretrained(REPO, cache_dir=cache)), expected)


def test_not_a_directory_nor_an_id(tmp_path: Path) -> None:
    for bad in (str(tmp_path / "missing"), "./missing", "a/b/c", "org--x/y", "~user/x"):
        assert not looks_like_repo_id(bad)
        with pytest.raises(FileNotFoundError, match="does not exist"):
            BertModel.from_pretrained(bad)
    for good in ("bert-base-uncased", "sentence-transformers/all-MiniLM-L6-v2", "org/name_1.0"):
        assert looks_like_repo_id(good)


def test_without_huggingface_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails as when not installed
    with pytest.raises(FileNotFoundError, match=r"install.*bertcore\[hub\].*local model directory"):
        AutoModel.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(FileNotFoundError, match=r"bertcore\[hub\]"):
        BertConfig.from_pretrained("sentence-transformers/all-MiniLM-L6-v2")


def test_files_to_download() -> None:
    """Per folder: safetensors when it has them, else pytorch_model.bin; other runtimes' exports skipped."""
    repo = [
        ".gitattributes",
        "README.md",
        "config.json",
        "config_sentence_transformers.json",
        "modules.json",
        "model.safetensors",
        "pytorch_model.bin",
        "tf_model.h5",
        "rust_model.ot",
        "flax_model.msgpack",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "vocab.txt",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        "2_Dense/config.json",
        "2_Dense/pytorch_model.bin",
        "onnx/model.onnx",
        "onnx/config.json",
        "openvino/openvino_model.bin",
        "0_Transformer/config.json",
        "0_Transformer/pytorch_model-00001-of-00002.bin",
        "0_Transformer/pytorch_model-00002-of-00002.bin",
        "0_Transformer/pytorch_model.bin.index.json",
    ]
    assert files_to_download(repo) == sorted(
        [
            "0_Transformer/config.json",
            "0_Transformer/pytorch_model-00001-of-00002.bin",
            "0_Transformer/pytorch_model-00002-of-00002.bin",
            "0_Transformer/pytorch_model.bin.index.json",
            "1_Pooling/config.json",
            "2_Dense/config.json",
            "2_Dense/pytorch_model.bin",
            "config.json",
            "config_sentence_transformers.json",
            "model.safetensors",
            "modules.json",
            "sentence_bert_config.json",
            "special_tokens_map.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "vocab.txt",
        ]
    )


def test_online_download(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With stand-ins for huggingface_hub's network calls: what is asked for, and the errors."""
    import huggingface_hub
    from huggingface_hub.errors import RepositoryNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    listing = {"org/st": ["config.json", "model.safetensors", "pytorch_model.bin", "onnx/model.onnx"]}
    calls: List[Dict[str, Any]] = []
    write_tiny_bert(tmp_path / "st")

    def list_repo_files(repo_id: str, revision: Any = None) -> List[str]:
        if repo_id == "org/offline":
            raise ConnectionError("no network here")
        if repo_id not in listing:
            raise hub_error(RepositoryNotFoundError, "404 Client Error: Repository Not Found")
        return listing[repo_id]

    def snapshot_download(repo_id: str, **kwargs: Any) -> str:
        calls.append({"repo_id": repo_id, **kwargs})
        return str(tmp_path / "st")

    monkeypatch.setattr(huggingface_hub, "list_repo_files", list_repo_files)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    model = AutoModel.from_pretrained("org/st", revision="r1", cache_dir=tmp_path)
    assert model.config.hidden_size == 24
    assert calls == [
        {
            "repo_id": "org/st",
            "revision": "r1",
            "cache_dir": str(tmp_path),
            "allow_patterns": ["config.json", "model.safetensors"],
        }
    ]

    with pytest.raises(FileNotFoundError, match="Hugging Face Hub has no 'org/unknown'"):
        AutoModel.from_pretrained("org/unknown")
    listing["org/empty"] = ["README.md", "onnx/model.onnx"]
    with pytest.raises(FileNotFoundError, match="no files that bertcore reads.*README.md"):
        AutoModel.from_pretrained("org/empty")
    # The Hub unreachable: the cached snapshot when there is one, else an OSError saying both.
    monkeypatch.setattr(huggingface_hub, "list_repo_files", lambda *a, **k: list_repo_files("org/offline"))
    assert (
        Path(resolve_model_dir(REPO, cache_dir=cache))
        == cache / "models--org--tiny-bert" / "snapshots" / MAIN
    )
    with pytest.raises(OSError, match="could not download.*not in the local cache.*no network"):
        AutoModel.from_pretrained("org/absent", cache_dir=cache)


def hub_error(cls: Any, message: str) -> Exception:
    """One of huggingface_hub's HTTP errors without an HTTP response (their constructors want one)."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error
