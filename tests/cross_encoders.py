"""Small random-weight cross-encoders (``BertForSequenceClassification``) written with transformers, with the
real all-MiniLM-L6-v2 tokenizer, for ``test_rerank.py`` and ``test_cli.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def write_cross_encoder(
    target: Path,
    tokenizer_dir: str,
    num_labels: int,
    seed: int = 0,
    max_position_embeddings: int = 64,
    activation_fn: Optional[str] = None,
    safetensors: bool = True,
) -> str:
    """A 2-layer, hidden-32 BERT classifier with ``num_labels`` outputs in ``target``.

    Args:
        activation_fn: written to config.json as ``sentence_transformers.activation_fn`` (a torch path).
        safetensors: False writes ``pytorch_model.bin`` instead of ``model.safetensors``.
    """
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=max_position_embeddings,
        num_labels=num_labels,
        initializer_range=0.2,  # scores spread well beyond sigmoid's flat middle
    )
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(str(target))
    if not safetensors:  # transformers 5 writes safetensors only: replace them with a torch pickle
        (target / "model.safetensors").unlink()
        torch.save(model.state_dict(), str(target / "pytorch_model.bin"))
    for name in TOKENIZER_FILES:
        shutil.copy(Path(tokenizer_dir) / name, target / name)
    if activation_fn is not None:
        path = target / "config.json"
        data = json.loads(path.read_text())
        data["sentence_transformers"] = {"activation_fn": activation_fn}
        path.write_text(json.dumps(data, indent=2))
    return str(target)
