"""``AutoConfig``, ``AutoModel`` and ``AutoModelForSequenceClassification``: the class named by config.json's
``model_type``."""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Iterable, Mapping, Optional, Tuple, Type

from ..config import PathLike, PretrainedConfig, read_pretrained_config
from ..hub import resolve_model_dir
from .albert import AlbertForSequenceClassification
from .base import EncoderModel
from .bert import BertForSequenceClassification
from .classification import SequenceClassifier
from .distilbert import DistilBertForSequenceClassification
from .electra import ElectraForSequenceClassification
from .ernie import ErnieForSequenceClassification
from .roberta import (
    CamembertForSequenceClassification,
    RobertaForSequenceClassification,
    XLMRobertaForSequenceClassification,
)

# Every family's sequence classification class; the model class and the config class follow from its spec.
_CLASSIFIERS: Tuple[Type[SequenceClassifier], ...] = (
    BertForSequenceClassification,
    RobertaForSequenceClassification,
    XLMRobertaForSequenceClassification,
    CamembertForSequenceClassification,
    DistilBertForSequenceClassification,
    AlbertForSequenceClassification,
    ElectraForSequenceClassification,
    ErnieForSequenceClassification,
)
SEQUENCE_CLASSIFICATION_CLASSES: Dict[str, Type[SequenceClassifier]] = {
    c.base_class.spec.model_type: c for c in _CLASSIFIERS
}
MODEL_CLASSES: Dict[str, Type[EncoderModel]] = {
    t: c.base_class for t, c in SEQUENCE_CLASSIFICATION_CLASSES.items()
}
CONFIG_CLASSES: Dict[str, Type[PretrainedConfig]] = {t: m.spec.config_class for t, m in MODEL_CLASSES.items()}


def unsupported_model_type(model_type: Any, supported: Iterable[str], what: str = "bertcore") -> ValueError:
    """The error for a model_type that has no class here, listing the ones that do."""
    return ValueError(
        f"model_type {model_type!r} is not supported by {what}; supported: {', '.join(sorted(supported))}"
    )


class AutoConfig:
    """Reads config.json into the config class its ``model_type`` names, like transformers' ``AutoConfig``.

    Example:
        >>> cfg = AutoConfig.from_pretrained("path/to/roberta-base")
        >>> type(cfg).__name__, cfg.pad_token_id
        ('RobertaConfig', 1)
    """

    def __init__(self) -> None:
        raise EnvironmentError("build it with AutoConfig.from_pretrained(dir) or AutoConfig.for_model(...)")

    @staticmethod
    def for_model(model_type: str, **kwargs: Any) -> PretrainedConfig:
        """A config of the given family from keyword settings (the rest take transformers' defaults).

        Raises:
            ValueError: an unknown model_type (the supported ones are listed).
        """
        if model_type not in CONFIG_CLASSES:
            raise unsupported_model_type(model_type, CONFIG_CLASSES)
        return CONFIG_CLASSES[model_type].from_dict(kwargs)

    @staticmethod
    def from_dict(config: Mapping[str, Any]) -> PretrainedConfig:
        """The config class named by ``config["model_type"]``, built from the dict."""
        if not isinstance(config, Mapping):
            raise TypeError(f"config must be a mapping, got {type(config).__name__}")
        model_type = config.get("model_type")
        if model_type is None:
            raise ValueError(
                "config.json has no model_type, so the model family is unknown; add one of "
                f"{', '.join(sorted(CONFIG_CLASSES))}, or use a family's class (e.g. BertConfig) directly"
            )
        if model_type not in CONFIG_CLASSES:
            raise unsupported_model_type(model_type, CONFIG_CLASSES)
        return CONFIG_CLASSES[model_type].from_dict(config)

    @staticmethod
    def from_pretrained(
        model_dir: PathLike,
        *,
        local_files_only: bool = False,
        revision: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
    ) -> PretrainedConfig:
        """Reads config.json of a model directory (or the file itself) into its family's config class.

        Args:
            model_dir: the model directory, a config.json path, or a Hugging Face Hub id such as "org/name".
            local_files_only, revision, cache_dir: for a Hub id, where and what to look up (see
                :func:`bertcore.hub.resolve_model_dir`).

        Raises:
            FileNotFoundError: no config.json.
            ValueError: invalid JSON, no or an unsupported ``model_type``, or settings bertcore cannot run.
        """
        return AutoConfig.from_dict(
            read_pretrained_config(
                model_dir, local_files_only=local_files_only, revision=revision, cache_dir=cache_dir
            )
        )


class _AutoClass:
    _mapping: ClassVar[Dict[str, Any]] = {}
    _what: ClassVar[str] = ""

    def __init__(self) -> None:
        name = type(self).__name__
        raise EnvironmentError(f"{name} is built with {name}.from_pretrained(dir)")

    @classmethod
    def class_for(cls, model_type: str) -> Any:
        """The class used for ``model_type``; ValueError listing the supported ones otherwise."""
        if model_type not in cls._mapping:
            raise unsupported_model_type(model_type, cls._mapping, cls._what)
        return cls._mapping[model_type]

    @classmethod
    def from_pretrained(
        cls,
        model_dir: PathLike,
        config: Optional[PretrainedConfig] = None,
        *,
        local_files_only: bool = False,
        revision: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
        **kwargs: Any,
    ) -> Any:
        """Reads config.json (unless ``config`` is given), picks the class for its model_type, loads it.

        Args:
            model_dir: the model directory, or a Hugging Face Hub id such as "org/name".
            config: use this config (its class decides the family) instead of the directory's config.json.
            local_files_only, revision, cache_dir: for a Hub id, where and what to look up (see
                :func:`bertcore.hub.resolve_model_dir`).
            **kwargs: passed to the family's ``from_pretrained`` (``num_threads``, ``isa``, and for the
                models with a pooler ``add_pooling_layer``).

        Raises:
            ValueError: an unknown model_type (the supported ones are listed), or what loading raises.
        """
        # Resolved once here, so that the family's from_pretrained gets a local directory.
        model_dir = resolve_model_dir(
            model_dir, local_files_only=local_files_only, revision=revision, cache_dir=cache_dir
        )
        if config is None:
            config = AutoConfig.from_pretrained(model_dir)
        elif not isinstance(config, PretrainedConfig):
            raise TypeError(f"config must be a bertcore config, got {type(config).__name__}")
        return cls.class_for(config.model_type).from_pretrained(model_dir, config=config, **kwargs)


class AutoModel(_AutoClass):
    """Loads the encoder model its config.json names (``bert``, ``roberta``, ``xlm-roberta``, ``camembert``,
    ``distilbert``, ``albert``, ``electra``, ``ernie``), like transformers' ``AutoModel``.

    Example:
        >>> model = AutoModel.from_pretrained("path/to/model")
        >>> type(model).__name__
        'RobertaModel'
    """

    _mapping = MODEL_CLASSES
    _what = "bertcore.AutoModel"


class AutoModelForSequenceClassification(_AutoClass):
    """Loads the sequence classification model (a cross-encoder reranker, a classifier) its config.json names,
    like transformers' ``AutoModelForSequenceClassification``.

    Example:
        >>> model = AutoModelForSequenceClassification.from_pretrained("path/to/ms-marco-MiniLM-L-6-v2")
        >>> model(**tokenizer(queries, passages, padding=True, return_tensors="np")).logits.shape
        (8, 1)
    """

    _mapping = SEQUENCE_CLASSIFICATION_CLASSES
    _what = "bertcore.AutoModelForSequenceClassification"
