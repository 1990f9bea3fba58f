"""sentence-transformers' directory layout, read without torch: ``modules.json``, the transformer module's
``sentence_bert_config.json`` and ``config_sentence_transformers.json``.

A sentence-transformers directory lists its modules in ``modules.json``: first a ``Transformer`` (the encoder,
whose ``sentence_bert_config.json`` holds ``max_seq_length`` and ``do_lower_case``), then modules that each
read and write entries of a features dict (see :mod:`bertcore.features`): Pooling (:mod:`bertcore.pooling`),
Dense, Normalize and Dropout (:mod:`bertcore.sentence_layers`). :func:`read_layout` builds them in order.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Dict, List, Mapping, Sequence, Tuple

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


def _module_index(entry: Any, position: int, path: str) -> int:
    """A modules.json entry's ``idx`` (0 when absent), the order of the modules."""
    if not isinstance(entry, dict):
        raise ValueError(
            f"{path}: module {position} must be an object with 'type' and 'path', got {type(entry).__name__}"
        )
    try:
        return int(entry.get("idx", 0))
    except (TypeError, ValueError, OverflowError) as e:
        raise ValueError(f"{path}: module {position} has idx {entry.get('idx')!r}, not an integer") from e


def _module_dir(entry: Mapping[str, Any], index: int, model_dir: str, path: str) -> str:
    """A module's directory: its ``path`` under ``model_dir`` ("" for the model directory itself)."""
    rel = entry.get("path", "")
    if not isinstance(rel, str):
        raise ValueError(f"{path}: module {index} has path {rel!r}, not a string")
    return os.path.join(model_dir, rel)


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
    order = [_module_index(entry, i, modules_path) for i, entry in enumerate(entries)]
    entries = [entries[i] for i in sorted(range(len(entries)), key=order.__getitem__)]
    first = _module_class(entries[0], 0, modules_path)
    if first not in ("Transformer", "CrossEncoderTransformer"):
        raise ValueError(
            f"{modules_path}: the first module is {entries[0].get('type')!r}; bertcore runs models whose "
            "first module is a Transformer"
        )
    transformer_dir = _module_dir(entries[0], 0, model_dir, modules_path)
    if not os.path.isdir(transformer_dir):
        raise FileNotFoundError(
            f"{modules_path}: the Transformer module's path {entries[0].get('path', '')!r} is not a "
            f"directory of {model_dir!r}"
        )
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
    module_dir = _module_dir(entry, index, model_dir, modules_path)
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


def check_modules(modules: Sequence[Module], hidden: int, where: str) -> None:
    """Checks that each module after the transformer reads a feature that the transformer (its token
    embeddings, ``hidden`` wide) or an earlier module writes, as wide as the module takes (a Dense's
    in_features), so that a pipeline that loads also runs.

    Raises:
        ValueError: naming the module (by its place after the transformer) and what it lacks.
    """
    widths: Dict[str, int] = {"token_embeddings": hidden}  # feature -> width of its last axis
    for place, module in enumerate(modules, start=1):
        if isinstance(module, Pooling):
            widths["sentence_embedding"] = module.output_dimension(widths["token_embeddings"])
        elif isinstance(module, Dense):
            width, takes = widths.get(module.input_name), int(module.weight.shape[1])
            if width is None:
                raise ValueError(
                    f"{where}: module {place} after the Transformer, {module!r}, reads {module.input_name!r}, "
                    "which no module before it writes (is a Pooling module missing or out of order?)"
                )
            if width != takes:
                raise ValueError(
                    f"{where}: module {place} after the Transformer, {module!r}, takes {takes} features, but "
                    f"{module.input_name!r} has {width} there (check the Pooling modes and Dense sizes)"
                )
            widths[module.output_name] = module.out_features
        elif isinstance(module, Normalize) and module.input_name in widths:
            widths[module.output_name] = widths[module.input_name]


def default_max_length(
    sentence_config: Mapping[str, Any], tokenizer_max: int, model_config: Any, cap: bool = True
) -> int:
    """Tokens per input when the caller gives none: sentence_bert_config.json's ``max_seq_length``, else the
    tokenizer's ``model_max_length``, capped (when ``cap``) at the model's ``max_position_embeddings``."""
    saved = sentence_config.get("max_seq_length")
    if saved is not None:
        if isinstance(saved, bool) or not isinstance(saved, (int, float)) or not math.isfinite(saved):
            raise ValueError(
                f"sentence_bert_config.json: max_seq_length must be a number of tokens, got {saved!r}"
            )
        return int(saved)
    limit = getattr(model_config, "max_position_embeddings", None)
    if cap and isinstance(limit, int) and limit > 0:
        return min(int(tokenizer_max), limit)
    return int(tokenizer_max)
