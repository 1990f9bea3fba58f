"""Model configuration: ``config.json`` read into a frozen, validated dataclass, one class per model family.

:class:`PretrainedConfig` is what every family's config shares; :class:`BertConfig` is BERT's (the other
families' configs live next to their models, in ``models/<family>.py``, and ``bertcore.AutoConfig`` picks the
class from config.json's ``model_type``). Each class has the field names and defaults of its transformers 5.24
counterpart. Keys that are not fields (``architectures``, ``pooler_fc_size``, ...) are kept in ``extra`` and
readable as attributes, so nothing in the file is lost.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, TypeVar, Union

from . import _core
from ._json import read_json_object
from .hub import resolve_model_dir

PathLike = Union[str, "os.PathLike[str]"]

SUPPORTED_POSITION_TYPES = ("absolute",)
# transformers 4.x BERT and RoBERTa also had relative position scores (transformers 5 dropped them; it ignores
# their weights without an error, so bertcore's references for these come from transformers < 5).
RELATIVE_POSITION_TYPES = ("relative_key", "relative_key_query")
PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")
# Labels named LABEL_<i> when config.json gives num_labels without id2label (save_pretrained always writes
# id2label, so a larger count is a corrupt or hand-written file).
MAX_NAMED_LABELS = 1 << 20

_C = TypeVar("_C", bound="PretrainedConfig")


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


def read_config_json(path: PathLike) -> Dict[str, Any]:
    """The parsed config.json of a model directory (or the path of the file itself)."""
    return read_json_object(_config_file(path), "model config")


def read_pretrained_config(
    model_dir: PathLike,
    *,
    local_files_only: bool = False,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """The parsed config.json of a model directory, a config.json path, or a Hub id (resolved through
    :func:`bertcore.hub.resolve_model_dir`)."""
    path = os.fspath(model_dir)
    if not os.path.isfile(path):
        path = resolve_model_dir(
            path, local_files_only=local_files_only, revision=revision, cache_dir=cache_dir
        )
    return read_config_json(path)


@dataclasses.dataclass(frozen=True)
class PretrainedConfig:
    """What every family's config shares: the label maps, the unknown keys, reading and writing.

    ``id2label``/``label2id``/``problem_type`` are read as transformers reads them: without ``id2label`` there
    are ``num_labels`` labels (a ``num_labels`` key, else 2) named ``LABEL_<i>``.
    """

    model_type: ClassVar[str] = ""
    # Integer fields that must be positive, checked by validate().
    _positive_fields: ClassVar[Tuple[str, ...]] = ()
    # transformers' attribute_map: the common names (hidden_size, ...) of fields a family names its own way.
    attribute_map: ClassVar[Dict[str, str]] = {}
    # position_embedding_type values the family runs.
    _position_types: ClassVar[Tuple[str, ...]] = SUPPORTED_POSITION_TYPES

    id2label: Optional[Dict[int, str]] = None
    label2id: Optional[Dict[str, int]] = None
    problem_type: Optional[str] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.id2label is None:
            n = self.extra.get("num_labels", 2)
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"config num_labels must be a non-negative integer, got {n!r}")
            if n > MAX_NAMED_LABELS:  # each gets a name here: a corrupt count such as 2**63 must not
                raise ValueError(
                    f"config num_labels is {n}, more than the {MAX_NAMED_LABELS} labels bertcore names "
                    "LABEL_<i> itself; give the labels in id2label"
                )
            id2label = {i: f"LABEL_{i}" for i in range(n)}
            object.__setattr__(self, "id2label", id2label)
            object.__setattr__(self, "label2id", {v: k for k, v in id2label.items()})
        else:
            if not isinstance(self.id2label, Mapping):
                raise TypeError(f"config id2label must be a mapping, got {type(self.id2label).__name__}")
            try:
                id2label = {int(k): v for k, v in self.id2label.items()}
            except (TypeError, ValueError) as e:
                raise ValueError(f"config id2label keys must be integers, got {list(self.id2label)}") from e
            object.__setattr__(self, "id2label", id2label)
            n = self.extra.get("num_labels")
            if n is not None and n != len(id2label):
                warnings.warn(
                    f"config num_labels={n} disagrees with id2label ({len(id2label)} labels); using id2label",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
        if "num_labels" in self.extra:  # read into id2label; copy rather than change the caller's dict
            object.__setattr__(self, "extra", {k: v for k, v in self.extra.items() if k != "num_labels"})
        self.validate()

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not fields: a common name of a field, else an unknown key.
        if name in self.attribute_map:
            return getattr(self, self.attribute_map[name])
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def head_dim(self) -> int:
        """Size of one attention head: hidden_size / num_attention_heads."""
        return int(self.hidden_size) // int(self.num_attention_heads)

    @property
    def num_labels(self) -> int:
        """Outputs of a classification head: the length of ``id2label``."""
        return len(self.id2label or {})

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Raises ValueError/TypeError naming the first setting bertcore cannot run."""
        for name in self._positive_fields:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"config {name} must be an integer, got {value!r}")
            if value <= 0:
                raise ValueError(f"config {name} must be positive, got {value}")
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ValueError(
                f"config problem_type {self.problem_type!r} is not one of {', '.join(PROBLEM_TYPES)} "
                "(or null)"
            )
        if self.problem_type == "single_label_classification" and self.num_labels == 1:
            raise ValueError(
                'config problem_type="single_label_classification" needs num_labels > 1; for one output use '
                'problem_type="regression"'
            )
        if self.model_type:
            self._check_encoder_settings()

    def _check_encoder_settings(self) -> None:
        """The checks every encoder family shares, on the common field names."""
        own = self.attribute_map.get
        h, n = self.hidden_size, self.num_attention_heads
        if h % n != 0:
            hidden, heads = (
                own("hidden_size", "hidden_size"),
                own("num_attention_heads", "num_attention_heads"),
            )
            raise ValueError(
                f"config {hidden} ({h}) is not a multiple of {heads} ({n}); every head must get "
                f"{hidden} / {heads} features"
            )
        act = self.hidden_act
        if not isinstance(act, str) or act not in _core.activation_names():
            raise ValueError(
                f"config {own('hidden_act', 'hidden_act')} {act!r} is not supported; supported: "
                f"{', '.join(sorted(_core.activation_names()))}"
            )
        eps = self.layer_norm_eps
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < math.inf:
            raise ValueError(f"config layer_norm_eps must be a positive finite number, got {eps!r}")
        # Checked as transformers' nn.Embedding(padding_idx=pad_token_id) checks it when it builds the model.
        pad, vocab = self._setting("pad_token_id", None), self.vocab_size
        if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int)):
            raise TypeError(f"config pad_token_id must be an integer or null, got {pad!r}")
        if pad is not None and not -vocab <= pad < vocab:
            raise ValueError(
                f"config pad_token_id {pad} is not a token of the vocabulary (vocab_size {vocab}); "
                "set it to the padding token's id, or null"
            )
        if self._setting("is_decoder", False) or self._setting("add_cross_attention", False):
            raise ValueError(
                "this config describes a decoder (is_decoder / add_cross_attention); "
                "bertcore runs encoders only"
            )
        kind = self._setting("position_embedding_type", None)
        if kind is not None and kind not in self._position_types:
            raise ValueError(
                f"config position_embedding_type {kind!r} is not supported for {type(self).__name__}; "
                f"supported: {', '.join(self._position_types)}"
            )

    @property
    def relative_attention(self) -> int:
        """0 for absolute positions, 1 for relative_key, 2 for relative_key_query."""
        kind = self._setting("position_embedding_type", None) or "absolute"
        return {"relative_key": 1, "relative_key_query": 2}.get(kind, 0)

    def _setting(self, name: str, default: Any) -> Any:
        """A field, else an unknown key of config.json, else ``default``."""
        if name in {f.name for f in dataclasses.fields(self)}:
            return getattr(self, name)
        return self.extra.get(name, default)

    # ------------------------------------------------------------------ reading and writing
    @classmethod
    def _normalise(cls, known: Dict[str, Any]) -> None:
        """Rewrites values the way transformers reads them (in place), before validation."""

    @classmethod
    def from_dict(cls: Type[_C], config: Mapping[str, Any]) -> _C:
        """Builds a config from a dict such as a parsed config.json; unknown keys go to ``extra``.

        Args:
            config: the settings; keys that are not fields are kept in ``extra``. ``model_type``, if present,
                should name this class's family (a warning says so otherwise, as transformers warns).

        Returns:
            The validated config.
        """
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a mapping, got {type(config).__name__}")
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in config.items() if k in names}
        extra = {k: v for k, v in config.items() if k not in names and k != "model_type"}
        model_type = config.get("model_type")
        if model_type is not None and model_type != cls.model_type:
            warnings.warn(
                f"config.json has model_type {model_type!r}, read here as {cls.__name__} "
                f"({cls.model_type!r}); "
                "use bertcore.AutoConfig / AutoModel to pick the class from the file",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
        cls._normalise(known)
        return cls(**known, extra=extra)

    @classmethod
    def from_json_file(cls: Type[_C], path: PathLike) -> _C:
        """Reads a config.json file."""
        return cls.from_dict(read_config_json(path))

    @classmethod
    def from_pretrained(
        cls: Type[_C],
        model_dir: PathLike,
        *,
        local_files_only: bool = False,
        revision: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
    ) -> _C:
        """Reads ``config.json`` from a Hugging Face model directory (or the path of the file itself).

        Args:
            model_dir: the model directory, a config.json path, or a Hugging Face Hub id such as "org/name".
            local_files_only, revision, cache_dir: for a Hub id, where and what to look up (see
                :func:`bertcore.hub.resolve_model_dir`).

        Returns:
            The validated config.

        Example:
            >>> BertConfig.from_pretrained("path/to/all-MiniLM-L6-v2").num_hidden_layers
            6
        """
        return cls.from_dict(
            read_pretrained_config(
                model_dir, local_files_only=local_files_only, revision=revision, cache_dir=cache_dir
            )
        )

    def to_dict(self) -> Dict[str, Any]:
        """All settings, known and unknown, as one flat dict (as config.json held them)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        d.update(self.extra)
        d["model_type"] = self.model_type
        return d


def user_stacklevel() -> int:
    """The stacklevel that points a warning at the first caller outside the bertcore package."""
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    frame = sys._getframe(1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(here + os.sep):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


# ---------------------------------------------------------------------------------------------- BERT


@dataclasses.dataclass(frozen=True)
class BertConfig(PretrainedConfig):
    """The configuration of a BERT encoder, as in transformers' ``BertConfig``.

    Known keys become typed fields; every other key of config.json (``architectures``, ``pooler_fc_size``,
    ``directionality``, ...) is kept in ``extra`` and readable as an attribute, so nothing in the file is
    lost.

    Example:
        >>> cfg = BertConfig.from_pretrained("path/to/model")
        >>> cfg.hidden_size, cfg.num_attention_heads
        (384, 12)
    """

    model_type: ClassVar[str] = "bert"
    _position_types: ClassVar[Tuple[str, ...]] = SUPPORTED_POSITION_TYPES + RELATIVE_POSITION_TYPES
    _positive_fields: ClassVar[Tuple[str, ...]] = (
        "vocab_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
    )

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

    @classmethod
    def _normalise(cls, known: Dict[str, Any]) -> None:
        if "position_embedding_type" in known and known["position_embedding_type"] is None:
            known["position_embedding_type"] = "absolute"
