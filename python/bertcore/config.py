"""Model configuration: ``config.json`` read into a frozen, validated dataclass."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, ClassVar, Dict, Mapping, Optional, Union

from . import _core

PathLike = Union[str, "os.PathLike[str]"]

SUPPORTED_POSITION_TYPES = ("absolute",)


def _config_file(path: PathLike) -> str:
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"no config.json at {path!r}: pass a Hugging Face model directory (one holding config.json and "
            "model.safetensors) or the path of a config.json file"
        )
    return path


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """The configuration of a BERT encoder, as in transformers' ``BertConfig``.

    Known keys become typed fields; every other key of config.json (``architectures``, ``pooler_fc_size``,
    ``directionality``, ...) is kept in ``extra`` and readable as an attribute, so nothing in the file is lost.

    Example:
        >>> cfg = BertConfig.from_pretrained("path/to/model")
        >>> cfg.hidden_size, cfg.num_attention_heads
        (384, 12)
    """

    model_type: ClassVar[str] = "bert"

    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: Optional[int] = 0
    position_embedding_type: str = "absolute"
    is_decoder: bool = False
    add_cross_attention: bool = False
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not fields: look in the unknown keys of config.json.
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def head_dim(self) -> int:
        """Size of one attention head: hidden_size / num_attention_heads."""
        return self.hidden_size // self.num_attention_heads

    def validate(self) -> None:
        """Raises ValueError/TypeError naming the first setting bertcore cannot run."""
        for name in (
            "vocab_size",
            "hidden_size",
            "num_hidden_layers",
            "num_attention_heads",
            "intermediate_size",
            "max_position_embeddings",
            "type_vocab_size",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"config {name} must be an integer, got {value!r}")
            if value <= 0:
                raise ValueError(f"config {name} must be positive, got {value}")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"config hidden_size ({self.hidden_size}) is not a multiple of num_attention_heads "
                f"({self.num_attention_heads}); every head must get hidden_size / num_attention_heads features"
            )
        if not isinstance(self.hidden_act, str) or self.hidden_act not in _core.activation_names():
            raise ValueError(
                f"config hidden_act {self.hidden_act!r} is not supported; supported: "
                f"{', '.join(sorted(_core.activation_names()))}"
            )
        if not isinstance(self.layer_norm_eps, (int, float)) or not self.layer_norm_eps > 0:
            raise ValueError(f"config layer_norm_eps must be a positive number, got {self.layer_norm_eps!r}")
        if self.position_embedding_type not in SUPPORTED_POSITION_TYPES:
            raise ValueError(
                f"config position_embedding_type {self.position_embedding_type!r} is not supported; supported: "
                f"{', '.join(SUPPORTED_POSITION_TYPES)}"
            )
        if self.is_decoder or self.add_cross_attention:
            raise ValueError(
                "this config describes a decoder (is_decoder / add_cross_attention); bertcore runs encoders only"
            )

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> "BertConfig":
        """Builds a config from a dict such as a parsed config.json; unknown keys go to ``extra``.

        Args:
            config: the settings; keys that are not fields are kept in ``extra``.

        Returns:
            The validated config.
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a mapping, got {type(config).__name__}")
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in config.items() if k in names}
        extra = {k: v for k, v in config.items() if k not in names}
        if "position_embedding_type" in known and known["position_embedding_type"] is None:
            known["position_embedding_type"] = "absolute"
        return cls(**known, extra=extra)

    @classmethod
    def from_json_file(cls, path: PathLike) -> "BertConfig":
        """Reads a config.json file."""
        path = _config_file(path)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path} is not valid JSON: {e}") from e
        return cls.from_dict(data)

    @classmethod
    def from_pretrained(cls, model_dir: PathLike) -> "BertConfig":
        """Reads ``config.json`` from a Hugging Face model directory (or the path of the file itself).

        Args:
            model_dir: the model directory, or a config.json path.

        Returns:
            The validated config.

        Example:
            >>> BertConfig.from_pretrained("path/to/all-MiniLM-L6-v2").num_hidden_layers
            6
        """
        return cls.from_json_file(model_dir)

    def to_dict(self) -> Dict[str, Any]:
        """All settings, known and unknown, as one flat dict (as config.json held them)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        d.update(self.extra)
        d["model_type"] = self.model_type
        return d
