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
from typing import Any, ClassVar, Dict, Optional, Tuple, Union

import numpy as np

from .. import _core
from ..config import PretrainedConfig
from ..outputs import BaseModelOutput
from ..weights import Checkpoint, Shape
from .base import PlainLoading
from .classification import HeadStage, SequenceClassifier
from .loading import LayerLayout, WeightPacker, check_checkpoint, core_config, embeddings_expected

DISTILBERT_LAYER = LayerLayout(
    query="attention.q_lin",
    key="attention.k_lin",
    value="attention.v_lin",
    attn_out="attention.out_lin",
    attn_norm="sa_layer_norm",
    ffn_in="ffn.lin1",
    ffn_out="ffn.lin2",
    ffn_norm="output_layer_norm",
)
POSITIONS = "embeddings.position_embeddings.weight"


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

    @property
    def hidden_size(self) -> int:
        return self.dim

    @property
    def num_hidden_layers(self) -> int:
        return self.n_layers

    @property
    def num_attention_heads(self) -> int:
        return self.n_heads

    @property
    def head_dim(self) -> int:
        """Size of one attention head: dim / n_heads."""
        return self.dim // self.n_heads

    def validate(self) -> None:
        super().validate()
        self._check_heads("dim", "n_heads")
        self._check_activation("activation")


def sinusoidal_positions(n_pos: int, dim: int) -> np.ndarray:
    """transformers' ``_create_sinusoidal_embeddings``: (n_pos, dim) float32, sin on even and cos on odd."""
    j = np.arange(dim)
    angles = np.arange(n_pos)[:, None] / np.power(10000, 2 * (j // 2) / dim)[None, :]
    out = np.empty((n_pos, dim), dtype=np.float32)
    out[:, 0::2] = np.sin(angles[:, 0::2])
    out[:, 1::2] = np.cos(angles[:, 1::2])
    return out


def distilbert_expected_tensors(config: DistilBertConfig) -> Dict[str, Shape]:
    """Normalised tensor name -> shape for a DistilBertModel with this config."""
    spec = embeddings_expected(config.dim, config.vocab_size, config.max_position_embeddings, None)
    for i in range(config.n_layers):
        spec.update(DISTILBERT_LAYER.expected(f"transformer.layer.{i}.", config.dim, config.hidden_dim))
    return spec


class DistilBertModel(PlainLoading):
    """A DistilBERT encoder, called like transformers' ``DistilBertModel`` and returning numpy arrays.

    Example:
        >>> model = DistilBertModel.from_pretrained("path/to/distilbert-base-uncased")
        >>> model(**tokenizer(["A sentence."], return_tensors="np")).last_hidden_state.shape
        (1, 5, 768)
    """

    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    output_class = BaseModelOutput
    uses_token_types = False
    config: DistilBertConfig

    @classmethod
    def _core_config_for(cls, config: Any) -> Dict[str, Any]:
        return core_config(
            hidden=config.dim,
            heads=config.n_heads,
            layers=config.n_layers,
            intermediate=config.hidden_dim,
            vocab=config.vocab_size,
            max_positions=config.max_position_embeddings,
            type_vocab=0,
            eps=DistilBertConfig.layer_norm_eps,
            activation=config.activation,
        )

    @classmethod
    def _build_encoder(cls, config: Any, ckpt: Checkpoint, isa: str, pooler: str = "none") -> Any:
        if pooler != "none":
            raise ValueError(f"{cls.__name__} has no pooler")
        optional = [POSITIONS] if config.sinusoidal_pos_embds else []
        missing = check_checkpoint(ckpt, distilbert_expected_tensors(config), cls.__name__, optional=optional)
        w = WeightPacker(ckpt, isa)
        word = w.table("embeddings.word_embeddings.weight")  # first: see WeightPacker.table
        if POSITIONS in missing:
            positions = sinusoidal_positions(config.max_position_embeddings, config.dim)
        else:
            positions = w.get(POSITIONS)
        layers = [w.layer(f"transformer.layer.{i}.", DISTILBERT_LAYER) for i in range(config.n_layers)]
        return _core.Encoder(
            cls._core_config_for(config),
            word,
            positions,
            None,
            w.get("embeddings.LayerNorm.weight"),
            w.get("embeddings.LayerNorm.bias"),
            layers,
            None,
            isa=isa,
        )

    def __call__(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        *,
        position_ids: Any = None,
        output_attentions: Optional[bool] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        skip_padding: bool = True,
        **kwargs: Any,
    ) -> Union[BaseModelOutput, Tuple[Any, ...]]:
        """Runs the encoder, like transformers' ``DistilBertModel.forward``.

        Args:
            input_ids: token ids, (batch, seq) integers: numpy array, nested lists or a torch tensor.
            attention_mask: (batch, seq); nonzero = attend. Default: all ones.
            position_ids: (batch, seq) or (1, seq) positions. Default: 0 .. seq-1.
            output_attentions, output_hidden_states, return_dict, skip_padding: as for
                :meth:`bertcore.BertModel.__call__` (padded positions are zeros with ``skip_padding``, except
                position 0).
            token_type_ids: accepted and ignored, as transformers ignores it (DistilBERT has no segments).

        Returns:
            ``BaseModelOutput`` with float32 arrays (or its tuple).
        """
        token_type_ids = kwargs.pop("token_type_ids", None)
        return self._call(  # type: ignore[no-any-return]
            input_ids, attention_mask, token_type_ids, position_ids,
            output_attentions, output_hidden_states, return_dict, skip_padding, kwargs,
        )  # fmt: skip

    forward = __call__


class DistilBertForSequenceClassification(SequenceClassifier):
    """transformers' ``DistilBertForSequenceClassification``: ``pre_classifier`` + ReLU + ``classifier`` on
    the first token's last hidden state."""

    base_class = DistilBertModel
    head_input = "first_token"
    head = (HeadStage("pre_classifier", "relu"), HeadStage("classifier", None))

    def __call__(  # type: ignore[override]
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        *,
        position_ids: Any = None,
        labels: Any = None,
        output_attentions: Optional[bool] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        skip_padding: bool = True,
        **kwargs: Any,
    ) -> Any:
        """As :meth:`SequenceClassifier.__call__`; ``token_type_ids`` is accepted and ignored."""
        kwargs.pop("token_type_ids", None)
        return self._classify(
            input_ids, attention_mask, None, position_ids, labels,
            output_attentions, output_hidden_states, return_dict, skip_padding, kwargs,
        )  # fmt: skip

    forward = __call__
