"""BERT: transformers' ``BertModel`` and ``BertForSequenceClassification``."""

from __future__ import annotations

from ..config import BertConfig
from ..outputs import BaseModelOutputWithPoolingAndCrossAttentions
from .base import EncoderModel
from .classification import SequenceClassifier
from .spec import ClassifierSpec, EncoderSpec, HeadStage, LayerLayout

# BertLayer's tensors; RoBERTa, ELECTRA and ERNIE name theirs the same way.
BERT_LAYER = LayerLayout(
    query="attention.self.query",
    key="attention.self.key",
    value="attention.self.value",
    attn_out="attention.output.dense",
    attn_norm="attention.output.LayerNorm",
    ffn_in="intermediate.dense",
    ffn_out="output.dense",
    ffn_norm="output.LayerNorm",
    distance="attention.self.distance_embedding.weight",
)
POOLER_HEAD = ClassifierSpec("pooler", (HeadStage("classifier", None),))

BERT = EncoderSpec(
    model_type="bert",
    config_class=BertConfig,
    prefix="bert",
    output_class=BaseModelOutputWithPoolingAndCrossAttentions,
    layer=BERT_LAYER,
    classifier=POOLER_HEAD,
)


class BertModel(EncoderModel):
    """A BERT encoder, called like transformers' ``BertModel`` and returning numpy arrays.

    Example:
        >>> from bertcore import AutoTokenizer, BertModel
        >>> tokenizer = AutoTokenizer.from_pretrained(model_dir)
        >>> model = BertModel.from_pretrained(model_dir)
        >>> out = model(**tokenizer(["A sentence."], padding=True, truncation=True, return_tensors="np"))
        >>> out.last_hidden_state.shape, out.pooler_output.shape
        ((1, 5, 384), (1, 384))
    """

    spec = BERT
    config: BertConfig


class BertForSequenceClassification(SequenceClassifier):
    """transformers' ``BertForSequenceClassification``: a linear layer on the pooler output."""

    base_class = BertModel
