"""RoBERTa, XLM-RoBERTa and CamemBERT: BERT's layout with positions counted from the padding index.

transformers 5.24 makes the default position ids from ``input_ids`` (not from the attention mask): padding
tokens (``pad_token_id``) get position ``pad_token_id`` and the others ``pad_token_id + 1``, ``+ 2``, ... in
order, skipping the padding. The checkpoints have ``type_vocab_size`` 1 and often no pooler weights.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Optional

from ..config import BertConfig
from ..outputs import BaseModelOutputWithPoolingAndCrossAttentions
from .base import EncoderModel
from .bert import BERT_LAYER
from .classification import SequenceClassifier
from .spec import AFTER_PADDING, ClassifierSpec, EncoderSpec, HeadStage


@dataclasses.dataclass(frozen=True)
class RobertaConfig(BertConfig):
    """The configuration of a RoBERTa encoder, as in transformers' ``RobertaConfig``: BERT's fields with
    RoBERTa's defaults and special token ids.

    Position ids start at ``pad_token_id + 1`` (see :class:`bertcore.RobertaModel`), which is why checkpoints
    have ``max_position_embeddings`` = 514 for 512 tokens.
    """

    model_type: ClassVar[str] = "roberta"

    vocab_size: int = 50265
    pad_token_id: Optional[int] = 1
    bos_token_id: Optional[int] = 0
    eos_token_id: Optional[int] = 2
    classifier_dropout: Optional[float] = None

    def validate(self) -> None:
        super().validate()
        pad, limit = self.pad_token_id, self.max_position_embeddings
        if pad is not None and not self.relative_attention and not 0 <= pad <= limit - 2:
            raise ValueError(
                f"config pad_token_id {pad} leaves no position for a token: {type(self).__name__[:-6]} "
                f"numbers positions from pad_token_id + 1, and max_position_embeddings is {limit}"
            )


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


# RobertaForSequenceClassification's head: dense + tanh + out_proj on the first (<s>) token.
ROBERTA = EncoderSpec(
    model_type="roberta",
    config_class=RobertaConfig,
    prefix="roberta",
    output_class=BaseModelOutputWithPoolingAndCrossAttentions,
    layer=BERT_LAYER,
    classifier=ClassifierSpec(
        "first_token", (HeadStage("classifier.dense", "tanh"), HeadStage("classifier.out_proj", None))
    ),
    positions=AFTER_PADDING,
)
XLM_ROBERTA = dataclasses.replace(ROBERTA, model_type="xlm-roberta", config_class=XLMRobertaConfig)
CAMEMBERT = dataclasses.replace(ROBERTA, model_type="camembert", config_class=CamembertConfig)


class RobertaModel(EncoderModel):
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

    spec = ROBERTA
    config: RobertaConfig


class XLMRobertaModel(RobertaModel):
    """An XLM-RoBERTa encoder (transformers' ``XLMRobertaModel``): RoBERTa's architecture and weight names."""

    spec = XLM_ROBERTA


class CamembertModel(RobertaModel):
    """A CamemBERT encoder (transformers' ``CamembertModel``): RoBERTa's architecture and weight names."""

    spec = CAMEMBERT


class RobertaForSequenceClassification(SequenceClassifier):
    """transformers' ``RobertaForSequenceClassification``: ``classifier.dense`` + tanh +
    ``classifier.out_proj`` on the first token's last hidden state (the encoder has no pooler)."""

    base_class = RobertaModel


class XLMRobertaForSequenceClassification(SequenceClassifier):
    """transformers' ``XLMRobertaForSequenceClassification`` (RoBERTa's head), e.g. bge rerankers."""

    base_class = XLMRobertaModel


class CamembertForSequenceClassification(SequenceClassifier):
    """transformers' ``CamembertForSequenceClassification`` (RoBERTa's head)."""

    base_class = CamembertModel
