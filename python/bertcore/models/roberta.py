"""RoBERTa, XLM-RoBERTa and CamemBERT: BERT's layout with positions counted from the padding index.

transformers 5.24 makes the default position ids from ``input_ids`` (not from the attention mask): padding
tokens (``pad_token_id``) get position ``pad_token_id`` and the others ``pad_token_id + 1``, ``+ 2``, ... in
order, skipping the padding. The checkpoints have ``type_vocab_size`` 1 and often no pooler weights.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Optional, Tuple, Union

import numpy as np

from ..config import BertConfig, PretrainedConfig
from ..outputs import BaseModelOutputWithPoolingAndCrossAttentions
from .base import IntArray
from .bert import BertLayoutModel
from .classification import HeadStage, SequenceClassifier


@dataclasses.dataclass(frozen=True)
class RobertaConfig(PretrainedConfig):
    """The configuration of a RoBERTa encoder, as in transformers' ``RobertaConfig``.

    Position ids start at ``pad_token_id + 1`` (see :class:`bertcore.RobertaModel`), which is why checkpoints
    have ``max_position_embeddings`` = 514 for 512 tokens.
    """

    model_type: ClassVar[str] = "roberta"
    _positive_fields: ClassVar[Tuple[str, ...]] = BertConfig._positive_fields

    vocab_size: int = 50265
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
    pad_token_id: Optional[int] = 1
    bos_token_id: Optional[int] = 0
    eos_token_id: Optional[int] = 2
    classifier_dropout: Optional[float] = None
    is_decoder: bool = False
    add_cross_attention: bool = False

    @property
    def head_dim(self) -> int:
        """Size of one attention head: hidden_size / num_attention_heads."""
        return self.hidden_size // self.num_attention_heads

    def validate(self) -> None:
        super().validate()
        self._check_heads("hidden_size", "num_attention_heads")
        self._check_activation("hidden_act")
        self._check_eps("layer_norm_eps")
        self._check_absolute_positions(allow_relative=True)
        self._check_encoder_only()


@dataclasses.dataclass(frozen=True)
class XLMRobertaConfig(RobertaConfig):
    """The configuration of an XLM-RoBERTa encoder (transformers' ``XLMRobertaConfig``): RoBERTa's fields."""

    model_type: ClassVar[str] = "xlm-roberta"
    vocab_size: int = 30522


@dataclasses.dataclass(frozen=True)
class CamembertConfig(RobertaConfig):
    """The configuration of a CamemBERT encoder (transformers' ``CamembertConfig``): RoBERTa's fields."""

    model_type: ClassVar[str] = "camembert"
    vocab_size: int = 30522


def roberta_position_ids(ids: IntArray, padding_idx: int) -> IntArray:
    """transformers' ``create_position_ids_from_input_ids``: pad -> padding_idx, others padding_idx + 1 on"""
    mask = (ids != padding_idx).astype(np.int64)
    return np.ascontiguousarray(np.cumsum(mask, axis=1) * mask + padding_idx)


class RobertaModel(BertLayoutModel):
    """A RoBERTa encoder, called like transformers' ``RobertaModel`` and returning numpy arrays.

    Loaded and called as :class:`bertcore.BertModel` is; without ``position_ids`` the positions are made from
    ``input_ids`` and ``pad_token_id`` as transformers makes them. Checkpoints without pooler weights (such as
    roberta-base) give ``pooler_output=None`` with a warning; pass ``add_pooling_layer=False`` to silence it.

    Example:
        >>> model = RobertaModel.from_pretrained("path/to/roberta-base", add_pooling_layer=False)
        >>> out = model(**tokenizer(["A sentence."], padding=True, return_tensors="np"))
        >>> out.last_hidden_state.shape
        (1, 5, 768)
    """

    config_class = RobertaConfig
    base_model_prefix = "roberta"
    output_class = BaseModelOutputWithPoolingAndCrossAttentions
    config: RobertaConfig

    def _default_position_ids(self, ids: IntArray) -> IntArray:
        if self.config.relative_attention:
            # transformers 4.x computes them but never adds absolute positions with relative scores.
            return np.zeros_like(ids)
        pad = self.config.pad_token_id
        if pad is None:
            raise ValueError(
                f"config pad_token_id is None, so {type(self).__name__} cannot make its default position ids "
                "(they count from the padding index); pass position_ids"
            )
        positions = roberta_position_ids(ids, int(pad))
        limit = self._core_config["max_positions"]
        top = int(positions.max())
        if top >= limit:
            raise ValueError(
                f"sequence length {ids.shape[1]} needs position id {top}, but max_position_embeddings "
                f"is {limit} "
                f"(positions start at pad_token_id + 1 = {pad + 1}); truncate the input, e.g. "
                "tokenizer(..., truncation=True)"
            )
        return positions

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
    ) -> Union[BaseModelOutputWithPoolingAndCrossAttentions, Tuple[Any, ...]]:
        """Runs the encoder, like transformers' ``RobertaModel.forward``.

        Args:
            input_ids: token ids, (batch, seq) integers: numpy array, nested lists or a torch tensor.
            attention_mask: (batch, seq); nonzero = attend. Default: all ones.
            token_type_ids: (batch, seq) segment ids. Default: zeros.
            position_ids: (batch, seq) or (1, seq) positions. Default: from ``input_ids``: ``pad_token_id`` at
                padding tokens, ``pad_token_id + 1``, ``+ 2``, ... at the others.
            output_attentions, output_hidden_states, return_dict, use_cache, skip_padding: as for
                :meth:`bertcore.BertModel.__call__` (padded positions are zeros with ``skip_padding``, except
                position 0, which the pooler reads).

        Returns:
            ``BaseModelOutputWithPoolingAndCrossAttentions`` with float32 arrays (or its tuple).
        """
        return self._call(  # type: ignore[no-any-return]
            input_ids, attention_mask, token_type_ids, position_ids,
            output_attentions, output_hidden_states, return_dict, skip_padding, kwargs,
        )  # fmt: skip

    forward = __call__


class XLMRobertaModel(RobertaModel):
    """An XLM-RoBERTa encoder (transformers' ``XLMRobertaModel``): RoBERTa's architecture and weight names."""

    config_class = XLMRobertaConfig


class CamembertModel(RobertaModel):
    """A CamemBERT encoder (transformers' ``CamembertModel``): RoBERTa's architecture and weight names."""

    config_class = CamembertConfig


# The head of RobertaForSequenceClassification: dense + tanh + out_proj on the first (<s>) token.
_ROBERTA_HEAD = (HeadStage("classifier.dense", "tanh"), HeadStage("classifier.out_proj", None))


class RobertaForSequenceClassification(SequenceClassifier):
    """transformers' ``RobertaForSequenceClassification``: ``classifier.dense`` + tanh +
    ``classifier.out_proj`` on the first token's last hidden state (the encoder has no pooler)."""

    base_class = RobertaModel
    head_input = "first_token"
    head = _ROBERTA_HEAD


class XLMRobertaForSequenceClassification(SequenceClassifier):
    """transformers' ``XLMRobertaForSequenceClassification`` (RoBERTa's head), e.g. bge rerankers."""

    base_class = XLMRobertaModel
    head_input = "first_token"
    head = _ROBERTA_HEAD


class CamembertForSequenceClassification(SequenceClassifier):
    """transformers' ``CamembertForSequenceClassification`` (RoBERTa's head)."""

    base_class = CamembertModel
    head_input = "first_token"
    head = _ROBERTA_HEAD
