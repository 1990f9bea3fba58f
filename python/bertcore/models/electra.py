"""ELECTRA: transformers' ``ElectraModel`` and ``ElectraForSequenceClassification``.

BERT's layers under ``encoder.layer.<i>``; embeddings ``embedding_size`` wide, projected to the hidden size
by ``embeddings_project`` when the two differ; no pooler. ``hidden_states[0]`` is the first layer's input,
i.e. after the projection, as transformers 5.24 records it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Dict, Optional, Tuple, Union

from .. import _core
from ..config import PretrainedConfig
from ..outputs import BaseModelOutputWithPastAndCrossAttentions
from ..weights import Checkpoint, Shape
from .base import PlainLoading
from .bert import BERT_LAYER
from .classification import HeadStage, SequenceClassifier
from .loading import WeightPacker, check_checkpoint, core_config, embeddings_expected, linear_expected

PROJECT = "embeddings_project"


@dataclasses.dataclass(frozen=True)
class ElectraConfig(PretrainedConfig):
    """The configuration of an ELECTRA encoder, as in transformers' ``ElectraConfig`` (defaults: the small
    discriminator). With ``embedding_size`` != ``hidden_size`` the embeddings are projected to the hidden size
    by ``embeddings_project``."""

    model_type: ClassVar[str] = "electra"
    _positive_fields: ClassVar[Tuple[str, ...]] = (
        "vocab_size",
        "embedding_size",
        "hidden_size",
        "num_hidden_layers",
        "num_attention_heads",
        "intermediate_size",
        "max_position_embeddings",
        "type_vocab_size",
    )

    vocab_size: int = 30522
    embedding_size: int = 128
    hidden_size: int = 256
    num_hidden_layers: int = 12
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    summary_type: str = "first"
    summary_use_proj: bool = True
    summary_activation: Optional[str] = "gelu"
    summary_last_dropout: float = 0.1
    pad_token_id: Optional[int] = 0
    classifier_dropout: Optional[float] = None
    is_decoder: bool = False
    add_cross_attention: bool = False

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def validate(self) -> None:
        super().validate()
        self._check_heads("hidden_size", "num_attention_heads")
        self._check_activation("hidden_act")
        self._check_eps("layer_norm_eps")
        self._check_absolute_positions()
        self._check_encoder_only()


def electra_expected_tensors(config: ElectraConfig) -> Dict[str, Shape]:
    """Normalised tensor name -> shape for an ElectraModel with this config."""
    h, e = config.hidden_size, config.embedding_size
    spec = embeddings_expected(e, config.vocab_size, config.max_position_embeddings, config.type_vocab_size)
    if e != h:
        spec.update(linear_expected(PROJECT, h, e))
    for i in range(config.num_hidden_layers):
        spec.update(BERT_LAYER.expected(f"encoder.layer.{i}.", h, config.intermediate_size))
    return spec


class ElectraModel(PlainLoading):
    """An ELECTRA encoder (discriminator or generator), called like transformers' ``ElectraModel``.

    Example:
        >>> model = ElectraModel.from_pretrained("path/to/electra-small-discriminator")
        >>> model(**tokenizer(["A sentence."], return_tensors="np")).last_hidden_state.shape
        (1, 5, 256)
    """

    config_class = ElectraConfig
    base_model_prefix = "electra"
    output_class = BaseModelOutputWithPastAndCrossAttentions
    config: ElectraConfig

    @classmethod
    def _core_config_for(cls, config: Any) -> Dict[str, Any]:
        return core_config(
            hidden=config.hidden_size,
            heads=config.num_attention_heads,
            layers=config.num_hidden_layers,
            intermediate=config.intermediate_size,
            vocab=config.vocab_size,
            max_positions=config.max_position_embeddings,
            type_vocab=config.type_vocab_size,
            eps=config.layer_norm_eps,
            activation=config.hidden_act,
            embedding_size=config.embedding_size,
        )

    @classmethod
    def _build_encoder(cls, config: Any, ckpt: Checkpoint, isa: str, pooler: str = "none") -> Any:
        if pooler != "none":
            raise ValueError(f"{cls.__name__} has no pooler")
        check_checkpoint(ckpt, electra_expected_tensors(config), cls.__name__)
        w = WeightPacker(ckpt, isa)
        word = w.table("embeddings.word_embeddings.weight")  # first: see WeightPacker.table
        layers = [w.layer(f"encoder.layer.{i}.", BERT_LAYER) for i in range(config.num_hidden_layers)]
        project = w.linear(PROJECT) if config.embedding_size != config.hidden_size else None
        return _core.Encoder(
            cls._core_config_for(config),
            word,
            w.get("embeddings.position_embeddings.weight"),
            w.get("embeddings.token_type_embeddings.weight"),
            w.get("embeddings.LayerNorm.weight"),
            w.get("embeddings.LayerNorm.bias"),
            layers,
            None,
            emb_project=project,
            isa=isa,
        )

    def __call__(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        output_attentions: Optional[bool] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        use_cache: Optional[bool] = None,
        skip_padding: bool = True,
        **kwargs: Any,
    ) -> Union[BaseModelOutputWithPastAndCrossAttentions, Tuple[Any, ...]]:
        """Runs the encoder, like transformers' ``ElectraModel.forward``.

        Args:
            input_ids, attention_mask, token_type_ids, position_ids, output_attentions, return_dict,
                use_cache, skip_padding: as for :meth:`bertcore.BertModel.__call__` (padded positions are
                zeros with ``skip_padding``, except position 0).
            output_hidden_states: also return the first layer's input (after ``embeddings_project``) and
                every layer's output.

        Returns:
            ``BaseModelOutputWithPastAndCrossAttentions`` with float32 arrays (or its tuple).
        """
        return self._call(  # type: ignore[no-any-return]
            input_ids, attention_mask, token_type_ids, position_ids,
            output_attentions, output_hidden_states, return_dict, skip_padding, kwargs,
        )  # fmt: skip

    forward = __call__


class ElectraForSequenceClassification(SequenceClassifier):
    """transformers' ``ElectraForSequenceClassification``: ``classifier.dense`` + GELU (erf) +
    ``classifier.out_proj`` on the first token's last hidden state."""

    base_class = ElectraModel
    head_input = "first_token"
    head = (HeadStage("classifier.dense", "gelu"), HeadStage("classifier.out_proj", None))
