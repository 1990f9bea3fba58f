"""ELECTRA: transformers' ``ElectraModel`` and ``ElectraForSequenceClassification``.

BERT's layers under ``encoder.layer.<i>``; embeddings ``embedding_size`` wide, projected to the hidden size
by ``embeddings_project`` when the two differ; no pooler. ``hidden_states[0]`` is the first layer's input,
i.e. after the projection, as transformers 5.24 records it.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Optional, Tuple

from ..config import PretrainedConfig
from ..outputs import BaseModelOutputWithPastAndCrossAttentions
from .base import EncoderModel
from .bert import BERT_LAYER
from .classification import SequenceClassifier
from .spec import ClassifierSpec, EncoderSpec, HeadStage


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
