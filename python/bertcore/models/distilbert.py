"""DistilBERT: transformers' ``DistilBertModel`` and ``DistilBertForSequenceClassification``.

The layers are BERT's post-LayerNorm layers under other names (``q_lin``, ``sa_layer_norm``, ``ffn.lin1``,
...), with no token type embeddings and every LayerNorm at eps 1e-12. In transformers 5.24 the attention is
the shared eager form, softmax(q·kᵀ · head_dim**-0.5 + mask) · v: the scale multiplies the product (4.x
divided the query first, which rounds differently). ``sinusoidal_pos_embds`` only changes how transformers
*initialises* the position table: a checkpoint's stored table is used as stored, and only a checkpoint that
lacks it gets the sinusoidal table.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Dict, Optional, Tuple

from ..config import PretrainedConfig
from ..outputs import BaseModelOutput
from .base import EncoderModel
from .classification import SequenceClassifier
from .spec import ClassifierSpec, EncoderSpec, HeadStage, LayerLayout


@dataclasses.dataclass(frozen=True)
class DistilBertConfig(PretrainedConfig):
    """The configuration of a DistilBERT encoder, as in transformers' ``DistilBertConfig``.

    Its own field names (``dim``, ``n_layers``, ``n_heads``, ``hidden_dim``, ``activation``) are also readable
    under BERT's names (``hidden_size``, ``num_hidden_layers``, ``num_attention_heads``), as transformers'
    ``attribute_map`` allows. Every LayerNorm uses eps 1e-12 (fixed in transformers, not in the config).
    """

    model_type: ClassVar[str] = "distilbert"
    _positive_fields: ClassVar[Tuple[str, ...]] = (
        "vocab_size",
        "max_position_embeddings",
        "n_layers",
        "n_heads",
        "dim",
        "hidden_dim",
    )
    layer_norm_eps: ClassVar[float] = 1e-12
    attribute_map: ClassVar[Dict[str, str]] = {
        "hidden_size": "dim",
        "num_hidden_layers": "n_layers",
        "num_attention_heads": "n_heads",
        "intermediate_size": "hidden_dim",
        "hidden_act": "activation",
    }

    vocab_size: int = 30522
    max_position_embeddings: int = 512
    sinusoidal_pos_embds: bool = False
    n_layers: int = 6
    n_heads: int = 12
    dim: int = 768
    hidden_dim: int = 3072
    dropout: float = 0.1
    attention_dropout: float = 0.1
    activation: str = "gelu"
    initializer_range: float = 0.02
    qa_dropout: float = 0.1
    seq_classif_dropout: float = 0.2
    pad_token_id: Optional[int] = 0


DISTILBERT = EncoderSpec(
    model_type="distilbert",
    config_class=DistilBertConfig,
    prefix="distilbert",
    output_class=BaseModelOutput,
    layer=LayerLayout(
        query="attention.q_lin",
        key="attention.k_lin",
        value="attention.v_lin",
        attn_out="attention.out_lin",
        attn_norm="sa_layer_norm",
        ffn_in="ffn.lin1",
        ffn_out="ffn.lin2",
        ffn_norm="output_layer_norm",
    ),
    classifier=ClassifierSpec(
        "first_token", (HeadStage("pre_classifier", "relu"), HeadStage("classifier", None))
    ),
    layers="transformer.layer.{}.",
    pooler=None,
    token_types=False,
    sinusoidal_flag="sinusoidal_pos_embds",
)


class DistilBertModel(EncoderModel):
    """A DistilBERT encoder, called like transformers' ``DistilBertModel`` and returning numpy arrays.

    ``token_type_ids`` are accepted and ignored (DistilBERT has no segments).

    Example:
        >>> model = DistilBertModel.from_pretrained("path/to/distilbert-base-uncased")
        >>> model(**tokenizer(["A sentence."], return_tensors="np")).last_hidden_state.shape
        (1, 5, 768)
    """

    spec = DISTILBERT
    config: DistilBertConfig


class DistilBertForSequenceClassification(SequenceClassifier):
    """transformers' ``DistilBertForSequenceClassification``: ``pre_classifier`` + ReLU + ``classifier`` on
    the first token's last hidden state."""

    base_class = DistilBertModel
