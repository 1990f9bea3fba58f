"""Prompts: the ones ``config_sentence_transformers.json`` saves, and which one a call uses."""

from __future__ import annotations

import warnings
from typing import Any, Dict, Mapping, Optional, Tuple


def read_prompts(model_config: Mapping[str, Any]) -> Tuple[Dict[str, str], Optional[str]]:
    """``prompts`` and ``default_prompt_name`` of ``config_sentence_transformers.json`` (None -> "")."""
    raw = model_config.get("prompts") or {}
    if not isinstance(raw, dict):
        raise ValueError(f"config_sentence_transformers.json: prompts must be an object, got {raw!r}")
    prompts = {str(k): ("" if v is None else str(v)) for k, v in raw.items()}
    default = model_config.get("default_prompt_name")
    return prompts, (None if default is None else str(default))


def resolve_prompt(
    prompts: Mapping[str, str],
    default_prompt_name: Optional[str],
    prompt: Optional[str],
    prompt_name: Optional[str],
) -> Optional[str]:
    """sentence-transformers' prompt choice: ``prompt``, else ``prompts[prompt_name]``, else the default."""
    if prompt is not None:
        if prompt_name is not None:
            warnings.warn(
                "pass either prompt or prompt_name, not both; prompt_name is ignored",
                UserWarning,
                stacklevel=3,
            )
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
        return prompt
    if prompt_name is not None:
        if prompt_name not in prompts:
            raise ValueError(f"prompt name {prompt_name!r} not found; the prompts are {sorted(prompts)!r}")
        return prompts[prompt_name]
    if default_prompt_name is not None:
        return prompts.get(default_prompt_name)
    return None
