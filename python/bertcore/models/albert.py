"""ALBERT: transformers' ``AlbertModel`` and ``AlbertForSequenceClassification``.

Factorised embeddings (``embedding_size`` wide, LayerNorm'd, then ``encoder.embedding_hidden_mapping_in`` to
the hidden size) and shared layers: layer step ``i`` of ``num_hidden_layers`` runs every layer of group
``int(i / (num_hidden_layers / num_hidden_groups))``, and a group is ``inner_group_num`` layers. The core is
handed one layer per layer run, built from the same packed weights wherever they are shared.

As in transformers 5.24 (which records every ``AlbertLayer`` call), ``hidden_states`` holds the input of the
first layer (the embeddings *after* the mapping to the hidden size) and then one entry per layer run, so
``num_hidden_layers * inner_group_num + 1`` entries; ``attentions`` one per layer run.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Optional, Tuple

from ..config import PretrainedConfig
from ..outputs import BaseModelOutputWithPooling
from .base import EncoderModel
from .classification import SequenceClassifier
from .spec import ClassifierSpec, EncoderSpec, HeadStage, LayerLayout


@dataclasses.dataclass(frozen=True)
class AlbertConfig(PretrainedConfig):
    """The configuration of an ALBERT encoder, as in transformers' ``AlbertConfig`` (defaults: xxlarge).

    The embeddings are ``embedding_size`` wide and mapped to ``hidden_size`` by
    ``embedding_hidden_mapping_in``; the ``num_hidden_layers`` layer steps share the weights of
    ``num_hidden_groups`` groups, each a stack of ``inner_group_num`` layers.
    """

    model_type: ClassVar[str] = "albert"
    _positive_fields: ClassVar[Tuple[str, ...]] = (
        "vocab_size",
        "embedding_size",
        "hidden_size",
        "num_hidden_layers",
        "num_hidden_groups",
        "num_attention_heads",
        "intermediate_size",
        "inner_group_num",
        "max_position_embeddings",
        "type_vocab_size",
    )

    vocab_size: int = 30000
    embedding_size: int = 128
    hidden_size: int = 4096
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1
    num_attention_heads: int = 64
    intermediate_size: int = 16384
    inner_group_num: int = 1
    hidden_act: str = "gelu_new"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    classifier_dropout_prob: float = 0.1
    pad_token_id: Optional[int] = 0
    bos_token_id: Optional[int] = 2
    eos_token_id: Optional[int] = 3


ALBERT = EncoderSpec(
    model_type="albert",
    config_class=AlbertConfig,
    prefix="albert",
    output_class=BaseModelOutputWithPooling,
    layer=LayerLayout(
        query="attention.query",
        key="attention.key",
        value="attention.value",
        attn_out="attention.dense",
        attn_norm="attention.LayerNorm",
        ffn_in="ffn",
        ffn_out="ffn_output",
        ffn_norm="full_layer_layer_norm",
    ),
    classifier=ClassifierSpec("pooler", (HeadStage("classifier", None),)),
    layers="encoder.albert_layer_groups.{}.albert_layers.{}.",
    layer_groups=True,
    pooler="pooler",
    projection="encoder.embedding_hidden_mapping_in",
    projection_always=True,
)


class AlbertModel(EncoderModel):
    """An ALBERT encoder, called like transformers' ``AlbertModel`` and returning numpy arrays.

    Example:
        >>> model = AlbertModel.from_pretrained("path/to/albert-base-v2")
        >>> out = model(**tokenizer(["A sentence."], return_tensors="np"))
        >>> out.last_hidden_state.shape, out.pooler_output.shape
        ((1, 5, 768), (1, 768))
    """

    spec = ALBERT
    config: AlbertConfig


class AlbertForSequenceClassification(SequenceClassifier):
    """transformers' ``AlbertForSequenceClassification``: ``classifier`` on the pooler output."""

    base_class = AlbertModel
