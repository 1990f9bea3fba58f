"""ERNIE: transformers' ``ErnieModel`` and ``ErnieForSequenceClassification`` (ERNIE 1.0, 2.0 and 3.0).

BERT's layout, plus task type embeddings when config.json sets ``use_task_id`` (ERNIE 2.0 / 3.0): a table of
``task_type_vocab_size`` rows added last, after word, token type and position embeddings, indexed by
``task_type_ids`` (zeros by default).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Optional, Tuple

from ..config import SUPPORTED_POSITION_TYPES, BertConfig
from ..outputs import BaseModelOutputWithPoolingAndCrossAttentions
from .base import EncoderModel
from .bert import BERT, BERT_LAYER
from .classification import SequenceClassifier
from .spec import EncoderSpec


@dataclasses.dataclass(frozen=True)
class ErnieConfig(BertConfig):
    """The configuration of an ERNIE encoder, as in transformers' ``ErnieConfig``: BERT's fields plus the task
    type table. Positions are absolute."""

    model_type: ClassVar[str] = "ernie"
    _position_types: ClassVar[Tuple[str, ...]] = SUPPORTED_POSITION_TYPES
    _positive_fields: ClassVar[Tuple[str, ...]] = BertConfig._positive_fields + ("task_type_vocab_size",)

    task_type_vocab_size: int = 3
    use_task_id: bool = False
    classifier_dropout: Optional[float] = None


ERNIE = EncoderSpec(
    model_type="ernie",
    config_class=ErnieConfig,
    prefix="ernie",
    output_class=BaseModelOutputWithPoolingAndCrossAttentions,
    layer=BERT_LAYER,
    classifier=BERT.classifier,
    task_types=True,
)


class ErnieModel(EncoderModel):
    """An ERNIE encoder, called like transformers' ``ErnieModel`` (``task_type_ids`` by keyword).

    Example:
        >>> model = ErnieModel.from_pretrained("path/to/ernie-3.0-base-zh")
        >>> out = model(**tokenizer(["一个句子。"], return_tensors="np"))
        >>> out.last_hidden_state.shape, out.pooler_output.shape
        ((1, 7, 768), (1, 768))
    """

    spec = ERNIE
    config: ErnieConfig


class ErnieForSequenceClassification(SequenceClassifier):
    """transformers' ``ErnieForSequenceClassification``: a linear layer on the pooler output."""

    base_class = ErnieModel
