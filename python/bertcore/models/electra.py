"""ELECTRA: transformers' ``ElectraModel`` and ``ElectraForSequenceClassification``.

BERT's layers under ``encoder.layer.<i>``; embeddings ``embedding_size`` wide, projected to the hidden size
by ``embeddings_project`` when the two differ; no pooler. ``hidden_states[0]`` is the first layer's input,
i.e. after the projection, as transformers 5.24 records it.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Optional, Tuple

from ..config import SUPPORTED_POSITION_TYPES, BertConfig
from ..outputs import BaseModelOutputWithPastAndCrossAttentions
from .base import EncoderModel
from .bert import BERT_LAYER
from .classification import SequenceClassifier
from .spec import ClassifierSpec, EncoderSpec, HeadStage


@dataclasses.dataclass(frozen=True)
class ElectraConfig(BertConfig):
    """The configuration of an ELECTRA encoder, as in transformers' ``ElectraConfig`` (defaults: the small
    discriminator): BERT's fields, an ``embedding_size`` (projected to the hidden size by
    ``embeddings_project`` when the two differ) and the summary settings. Positions are absolute."""

    model_type: ClassVar[str] = "electra"
    _positive_fields: ClassVar[Tuple[str, ...]] = BertConfig._positive_fields + ("embedding_size",)
    _position_types: ClassVar[Tuple[str, ...]] = SUPPORTED_POSITION_TYPES

    embedding_size: int = 128
    hidden_size: int = 256
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    summary_type: str = "first"
    summary_use_proj: bool = True
    summary_activation: Optional[str] = "gelu"
    summary_last_dropout: float = 0.1
    classifier_dropout: Optional[float] = None


# ElectraClassificationHead: dense + GELU (erf) + out_proj on the first token.
ELECTRA = EncoderSpec(
    model_type="electra",
    config_class=ElectraConfig,
    prefix="electra",
    output_class=BaseModelOutputWithPastAndCrossAttentions,
    layer=BERT_LAYER,
    classifier=ClassifierSpec(
        "first_token", (HeadStage("classifier.dense", "gelu"), HeadStage("classifier.out_proj", None))
    ),
    pooler=None,
    projection="embeddings_project",
)


class ElectraModel(EncoderModel):
    """An ELECTRA encoder (discriminator or generator), called like transformers' ``ElectraModel``.

    Example:
        >>> model = ElectraModel.from_pretrained("path/to/electra-small-discriminator")
        >>> model(**tokenizer(["A sentence."], return_tensors="np")).last_hidden_state.shape
        (1, 5, 256)
    """

    spec = ELECTRA
    config: ElectraConfig


class ElectraForSequenceClassification(SequenceClassifier):
    """transformers' ``ElectraForSequenceClassification``: ``classifier.dense`` + GELU (erf) +
    ``classifier.out_proj`` on the first token's last hidden state."""

    base_class = ElectraModel
