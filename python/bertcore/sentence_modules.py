"""sentence-transformers' directory layout, read without torch: ``modules.json``, the transformer module's
``sentence_bert_config.json`` and ``config_sentence_transformers.json``.

A sentence-transformers directory lists its modules in ``modules.json``: first a ``Transformer`` (the encoder,
whose ``sentence_bert_config.json`` holds ``max_seq_length`` and ``do_lower_case``), then modules that each
read and write entries of a features dict (see :mod:`bertcore.features`): Pooling (:mod:`bertcore.pooling`),
Dense, Normalize and Dropout (:mod:`bertcore.sentence_layers`). :func:`read_layout` builds them in order.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, List, Mapping, Tuple

from ._json import read_json, read_json_object
from .features import Module
from .hub import resolve_model_dir
from .pooling import Pooling
from .sentence_layers import Dense, Identity, Normalize
from .weights import require_dir


SENTENCE_CONFIG_FILES = (
    "sentence_bert_config.json",
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
    "sentence_camembert_config.json",
    "sentence_albert_config.json",
    "sentence_xlm-roberta_config.json",
)


@dataclasses.dataclass(frozen=True)
class SentenceLayout:
    """What a model directory says about running it as sentence-transformers would.

    Attributes:
        transformer_dir: the encoder's directory (the model directory, or its ``0_Transformer``).
        sentence_config: the transformer module's ``sentence_bert_config.json`` ({} when absent).
        modules: the modules after the transformer, in order.
        model_config: ``config_sentence_transformers.json`` ({} when absent): prompts, truncate_dim,
            a cross-encoder's activation_fn, ...
        has_modules_json: False for a plain Hugging Face directory.
    """

    transformer_dir: str
    sentence_config: Dict[str, Any]
    modules: Tuple[Module, ...]
    model_config: Dict[str, Any]
    has_modules_json: bool


def _module_class(entry: Mapping[str, Any], index: int, path: str) -> str:
    kind = entry.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"{path}: module {index} has no 'type'")
    return kind.rsplit(".", 1)[-1]


def read_layout(model_dir: str, with_modules: bool = True) -> SentenceLayout:
    """Reads ``modules.json`` (when present), the transformer's sentence config and the model config.

    Args:
        model_dir: the model directory.
        with_modules: also load the modules after the transformer (False for a cross-encoder, whose head is
            part of the transformer checkpoint).

    Raises:
        FileNotFoundError: the directory is missing.
        ValueError: a module bertcore cannot run (named), or an invalid JSON file.
    """
    model_dir = require_dir(resolve_model_dir(model_dir))
    model_config = read_json_object(
        os.path.join(model_dir, "config_sentence_transformers.json"),
        "sentence-transformers config",
        missing_ok=True,
    )
    modules_path = os.path.join(model_dir, "modules.json")
    if not os.path.isfile(modules_path):
        return SentenceLayout(model_dir, _sentence_config(model_dir), (), model_config, False)
    entries = read_json(modules_path, "modules file")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{modules_path} must hold a non-empty list of modules")
    entries = sorted(entries, key=lambda e: int(e.get("idx", 0)) if isinstance(e, dict) else 0)
    first = _module_class(entries[0], 0, modules_path)
    if first not in ("Transformer", "CrossEncoderTransformer"):
        raise ValueError(
            f"{modules_path}: the first module is {entries[0].get('type')!r}; bertcore runs models whose "
            "first module is a Transformer"
        )
    transformer_dir = os.path.join(model_dir, str(entries[0].get("path", "")))
    modules: List[Module] = []
    if with_modules:
        for index, entry in enumerate(entries[1:], start=1):
            modules.append(_load_module(entry, index, model_dir, modules_path))
    return SentenceLayout(
        transformer_dir, _sentence_config(transformer_dir), tuple(modules), model_config, True
    )


def _sentence_config(transformer_dir: str) -> Dict[str, Any]:
    for name in SENTENCE_CONFIG_FILES:
        config = read_json_object(os.path.join(transformer_dir, name), "sentence config", missing_ok=True)
        if config:
            return config
    return {}


def _load_module(entry: Mapping[str, Any], index: int, model_dir: str, modules_path: str) -> Module:
    kind = _module_class(entry, index, modules_path)
    module_dir = os.path.join(model_dir, str(entry.get("path", "")))
    config = read_json_object(os.path.join(module_dir, "config.json"), f"{kind} config", missing_ok=True)
    if kind == "Pooling":
        return Pooling.from_config(config)
    if kind == "Normalize":
        name = str(config.get("module_input_name", "sentence_embedding"))
        return Normalize(name, str(config.get("module_output_name") or name))
    if kind == "Dense":
        return Dense.load(module_dir)
    if kind == "Dropout":
        return Identity("Dropout")
    raise ValueError(
        f"{modules_path}: module {index} is {entry.get('type')!r}, which bertcore does not run "
        "(it runs Transformer, Pooling, Dense, Normalize and Dropout)"
    )


def default_max_length(
    sentence_config: Mapping[str, Any], tokenizer_max: int, model_config: Any, cap: bool = True
) -> int:
    """Tokens per input when the caller gives none: sentence_bert_config.json's ``max_seq_length``, else the
    tokenizer's ``model_max_length``, capped (when ``cap``) at the model's ``max_position_embeddings``."""
    saved = sentence_config.get("max_seq_length")
    if saved is not None:
        return int(saved)
    limit = getattr(model_config, "max_position_embeddings", None)
    if cap and isinstance(limit, int) and limit > 0:
        return min(int(tokenizer_max), limit)
    return int(tokenizer_max)
