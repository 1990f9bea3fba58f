"""A model directory's tokenizer files -> (backend `tokenizers.Tokenizer`, `TokenizerSettings`).

Mirrors transformers 5.24's `PreTrainedTokenizerBase._from_pretrained` and `TokenizersBackend.__init__`:
the class comes from the config files (`families.py`), the backend from tokenizer.json or the vocabulary
files (`sources.py`), rebuilt as the class's `__init__` does (`pipelines.py`); added tokens come from
`added_tokens_decoder` in tokenizer_config.json, or (older saves) from special_tokens_map.json,
added_tokens.json and tokenizer.json; named special tokens missing from the vocabulary are added.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokenizers import AddedToken, Tokenizer

from .._json import read_json_object
from .families import family_of, input_names_of, resolve_class
from .pipelines import add_tokens_like_transformers, build_pipeline, post_processor
from .settings import SPECIAL_TOKEN_NAMES, VERY_LARGE_INTEGER, SpecialToken, TokenizerSettings
from .sources import load_source

__all__ = ["CONFIG_OVERRIDES", "load_pretrained"]

# Keyword overrides accepted by from_pretrained, on top of tokenizer_config.json.
CONFIG_OVERRIDES = frozenset(
    {
        "model_max_length",
        "padding_side",
        "truncation_side",
        "model_input_names",
        "clean_up_tokenization_spaces",
        "split_special_tokens",
        "do_lower_case",
        "strip_accents",
        "tokenize_chinese_chars",
        "add_prefix_space",
        "trim_offsets",
        "add_bos_token",
        "add_eos_token",
        "tokenizer_class",
        "extra_special_tokens",
        *SPECIAL_TOKEN_NAMES,
    }
)


def _as_special_token(value: Any, where: str) -> SpecialToken | None:
    """A special-token value from a config file: a string, an AddedToken dict, or None."""
    if value is None or isinstance(value, (str, AddedToken)):
        return value
    if isinstance(value, dict) and "content" in value:
        fields = {k: value[k] for k in ("single_word", "lstrip", "rstrip", "normalized") if k in value}
        return AddedToken(value["content"], special=True, **fields)
    raise ValueError(f"{where}: a special token must be a string or an AddedToken object, got {value!r}")


def _added_token_from_dict(value: Mapping[str, Any], where: str) -> AddedToken:
    if "content" not in value:
        raise ValueError(f"{where}: added token {value!r} has no 'content'")
    fields = {k: value[k] for k in ("single_word", "lstrip", "rstrip", "normalized", "special") if k in value}
    return AddedToken(value["content"], **fields)


def _legacy_added_tokens(path: Path, tok_config: Mapping[str, Any]) -> dict[int, AddedToken]:
    """added_tokens.json (token -> id), as slow tokenizers saved their added tokens."""
    special = {
        str(t) for name in SPECIAL_TOKEN_NAMES if (t := _as_special_token(tok_config.get(name), str(path)))
    }
    extras = tok_config.get("extra_special_tokens") or []
    special.update(str(t) for t in extras if isinstance(extras, (list, tuple)))
    added = {}
    for token, index in read_json_object(path, "added tokens", missing_ok=True).items():
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValueError(f"{path}: the id of {token!r} should be an integer, got {index!r}")
        is_special = token in special
        added[index] = AddedToken(
            token, rstrip=False, lstrip=False, normalized=not is_special, special=is_special
        )
    return added


def load_pretrained(model_dir: Path, overrides: Mapping[str, Any]) -> tuple[Tokenizer, TokenizerSettings]:
    """Builds the backend tokenizer and its settings the way transformers' `from_pretrained` does.

    Args:
        model_dir: A local model directory.
        overrides: from_pretrained's keyword arguments (keys of `CONFIG_OVERRIDES`).

    Returns:
        The backend, with no padding and no truncation, and the settings.

    Raises:
        FileNotFoundError: No tokenizer files bertcore can read (the message says how to get them).
        ValueError: A file cannot be parsed or holds invalid values.
    """
    tok_config = read_json_object(model_dir / "tokenizer_config.json", "tokenizer config", missing_ok=True)
    model_config = read_json_object(model_dir / "config.json", "model config", missing_ok=True)
    tokenizer_class = resolve_class({**tok_config, **overrides}, model_config)
    family = family_of(tokenizer_class)
    source = load_source(model_dir, family, tokenizer_class)
    if source.from_tokenizer_json:  # transformers ignores these saved flags when there is a tokenizer.json
        tok_config.pop("add_bos_token", None)
        tok_config.pop("add_eos_token", None)
    tok_config.update(overrides)
    cfg_name = str(model_dir / "tokenizer_config.json")

    # tokenizer.json may carry padding/truncation settings: only their directions are kept, as defaults.
    source_padding = source.tokenizer.padding or {}
    source_truncation = source.tokenizer.truncation or {}

    # Added tokens: tokenizer_config.json's added_tokens_decoder when present; otherwise (older saves)
    # special_tokens_map.json overrides the config's special tokens, and added_tokens.json's and
    # tokenizer.json's added tokens count.
    if "added_tokens_decoder" in tok_config:
        raw = tok_config["added_tokens_decoder"]
        if not isinstance(raw, dict):
            raise ValueError(f"{cfg_name}: added_tokens_decoder should be an object of id -> token")
        added = {int(i): _added_token_from_dict(t, cfg_name) for i, t in raw.items()}
    else:
        for key, value in read_json_object(
            model_dir / "special_tokens_map.json", "special tokens map", missing_ok=True
        ).items():
            if key not in overrides:
                tok_config[key] = value
        added = _legacy_added_tokens(model_dir / "added_tokens.json", tok_config)
        added.update(source.tokenizer.get_added_tokens_decoder())

    special: dict[str, SpecialToken | None] = {}
    for name in SPECIAL_TOKEN_NAMES:
        if name in tok_config:
            special[name] = _as_special_token(tok_config[name], cfg_name)
        elif family is not None and name in family.default_tokens:  # the class's keyword defaults
            special[name] = family.default_tokens[name]
    extras = tok_config.get("extra_special_tokens", tok_config.get("additional_special_tokens")) or []
    if not isinstance(extras, (list, tuple)):  # the dict form names model-specific tokens: not used by BERTs
        extras = []
    extra: tuple[SpecialToken, ...] = tuple(
        t for t in (_as_special_token(v, cfg_name) for v in extras) if t is not None
    )

    backend = build_pipeline(family, source, tok_config, special) if family is not None else source.tokenizer
    add_tokens_like_transformers(backend, added, special, extra)
    if family is not None:
        backend.post_processor = post_processor(family, backend, source, tok_config, special)

    split = bool(tok_config.get("split_special_tokens", False))
    backend.encode_special_tokens = split
    backend.no_padding()
    backend.no_truncation()

    max_len = tok_config.get("model_max_length", tok_config.get("max_len"))
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, (int, float))):
        raise ValueError(f"{cfg_name}: model_max_length must be a number, got {max_len!r}")
    settings = TokenizerSettings(
        name_or_path=str(model_dir),
        tokenizer_class=tokenizer_class,
        model_max_length=VERY_LARGE_INTEGER if max_len is None else int(max_len),
        padding_side=tok_config.get("padding_side") or source_padding.get("direction") or "right",
        truncation_side=tok_config.get("truncation_side") or source_truncation.get("direction") or "right",
        model_input_names=tuple(tok_config.get("model_input_names") or input_names_of(tokenizer_class)),
        clean_up_tokenization_spaces=bool(tok_config.get("clean_up_tokenization_spaces", False)),
        split_special_tokens=split,
        special_tokens=special,
        extra_special_tokens=extra,
    )
    return backend, settings
