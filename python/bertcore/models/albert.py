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
from typing import Any, ClassVar, Dict, List, Optional, Tuple, Union

from .. import _core
from ..config import PathLike, PretrainedConfig
from ..outputs import BaseModelOutputWithPooling
from ..weights import Checkpoint, Shape
from .base import EncoderModel
from .classification import HeadStage, SequenceClassifier
from .loading import (
    LayerLayout,
    WeightPacker,
    check_checkpoint,
    core_config,
    embeddings_expected,
    linear_expected,
    pooler_in_use,
)

ALBERT_LAYER = LayerLayout(
    query="attention.query",
    key="attention.key",
    value="attention.value",
    attn_out="attention.dense",
    attn_norm="attention.LayerNorm",
    ffn_in="ffn",
    ffn_out="ffn_output",
    ffn_norm="full_layer_layer_norm",
)
MAPPING_IN = "encoder.embedding_hidden_mapping_in"
POOLER = "pooler"


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

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def validate(self) -> None:
        super().validate()
        self._check_heads("hidden_size", "num_attention_heads")
        self._check_activation("hidden_act")
        self._check_eps("layer_norm_eps")
        self._check_absolute_positions()


def albert_layer_prefix(group: int, inner: int) -> str:
    return f"encoder.albert_layer_groups.{group}.albert_layers.{inner}."


def albert_layer_groups(config: AlbertConfig) -> List[int]:
    """The group each of the ``num_hidden_layers`` steps runs, computed exactly as transformers does."""
    n, g = config.num_hidden_layers, config.num_hidden_groups
    return [int(i / (n / g)) for i in range(n)]


def albert_expected_tensors(config: AlbertConfig, with_pooler: bool) -> Dict[str, Shape]:
    """Normalised tensor name -> shape for an AlbertModel with this config."""
    h, e = config.hidden_size, config.embedding_size
    spec = embeddings_expected(e, config.vocab_size, config.max_position_embeddings, config.type_vocab_size)
    spec.update(linear_expected(MAPPING_IN, h, e))
    for g in range(config.num_hidden_groups):
        for j in range(config.inner_group_num):
            spec.update(ALBERT_LAYER.expected(albert_layer_prefix(g, j), h, config.intermediate_size))
    if with_pooler:
        spec.update(linear_expected(POOLER, h, h))
    return spec


class AlbertModel(EncoderModel):
    """An ALBERT encoder, called like transformers' ``AlbertModel`` and returning numpy arrays.

    Example:
        >>> model = AlbertModel.from_pretrained("path/to/albert-base-v2")
        >>> out = model(**tokenizer(["A sentence."], return_tensors="np"))
        >>> out.last_hidden_state.shape, out.pooler_output.shape
        ((1, 5, 768), (1, 768))
    """

    config_class = AlbertConfig
    base_model_prefix = "albert"
    output_class = BaseModelOutputWithPooling
    config: AlbertConfig

    @classmethod
    def from_pretrained(
        cls,
        model_dir: PathLike,
        add_pooling_layer: bool = True,
        num_threads: Optional[int] = None,
        isa: Optional[str] = None,
        config: Optional[AlbertConfig] = None,
        *,
        local_files_only: bool = False,
        revision: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
    ) -> "AlbertModel":
        """Loads a Hugging Face model directory or Hub id (config.json + safetensors or PyTorch weights).

        Args:
            model_dir: the model directory, or a Hugging Face Hub id such as "org/name".
            add_pooling_layer: build the pooler (``pooler`` dense + tanh on the first token). Without pooler
                weights in the checkpoint, ``pooler_output`` is None and a warning says so.
            num_threads: threads per forward call; default: OMP_NUM_THREADS, else the usable CPUs.
            isa: kernel family, "scalar", "avx2" or "avx512"; default: BERTCORE_ISA, else the best supported.
            config: use this config instead of the directory's config.json.
            local_files_only, revision, cache_dir: for a Hub id, where and what to look up (see
                :func:`bertcore.hub.resolve_model_dir`).

        Raises:
            FileNotFoundError: the directory, config.json or the weights are missing.
            ValueError: the config is invalid or the weights do not match it (every problem is named).
        """
        pooler = "optional" if add_pooling_layer else "none"
        return cls._load(
            model_dir,
            config,
            num_threads,
            isa,
            local_files_only=local_files_only,
            revision=revision,
            cache_dir=cache_dir,
            pooler=pooler,
        )

    @classmethod
    def _core_config_for(cls, config: Any) -> Dict[str, Any]:
        return core_config(
            hidden=config.hidden_size,
            heads=config.num_attention_heads,
            layers=config.num_hidden_layers * config.inner_group_num,
            intermediate=config.intermediate_size,
            vocab=config.vocab_size,
            max_positions=config.max_position_embeddings,
            type_vocab=config.type_vocab_size,
            eps=config.layer_norm_eps,
            activation=config.hidden_act,
            embedding_size=config.embedding_size,
        )

    @classmethod
    def _build_encoder(cls, config: Any, ckpt: Checkpoint, isa: str, pooler: str = "optional") -> Any:
        """``pooler``: "optional" (warn, go without when missing), "required" (a head reads it) or "none"."""
        pooler_names = [POOLER + ".weight", POOLER + ".bias"]
        missing = check_checkpoint(
            ckpt,
            albert_expected_tensors(config, with_pooler=pooler != "none"),
            cls.__name__,
            optional=pooler_names if pooler == "optional" else (),
            ignore_prefixes=("pooler.",) if pooler == "none" else (),
        )
        with_pooler = pooler_in_use(pooler_names, missing, pooler != "none")
        w = WeightPacker(ckpt, isa)
        word = w.table("embeddings.word_embeddings.weight")  # first: see WeightPacker.table
        groups = [
            [w.layer(albert_layer_prefix(g, j), ALBERT_LAYER) for j in range(config.inner_group_num)]
            for g in range(config.num_hidden_groups)
        ]
        layers: List[Tuple[Any, ...]] = []
        for g in albert_layer_groups(config):
            layers.extend(groups[g])  # the same packed weights, shared
        return _core.Encoder(
            cls._core_config_for(config),
            word,
            w.get("embeddings.position_embeddings.weight"),
            w.get("embeddings.token_type_embeddings.weight"),
            w.get("embeddings.LayerNorm.weight"),
            w.get("embeddings.LayerNorm.bias"),
            layers,
            w.linear(POOLER) if with_pooler else None,
            emb_project=w.linear(MAPPING_IN),
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
        skip_padding: bool = True,
        **kwargs: Any,
    ) -> Union[BaseModelOutputWithPooling, Tuple[Any, ...]]:
        """Runs the encoder, like transformers' ``AlbertModel.forward``.

        Args:
            input_ids, attention_mask, token_type_ids, position_ids, output_attentions, return_dict,
                skip_padding: as for :meth:`bertcore.BertModel.__call__` (padded positions are zeros with
                ``skip_padding``, except position 0, which the pooler reads).
            output_hidden_states: also return the first layer's input (the embeddings mapped to the hidden
                size) and the output of every layer run.

        Returns:
            ``BaseModelOutputWithPooling`` with float32 arrays (or its tuple).
        """
        kwargs.pop("use_cache", None)
        return self._call(  # type: ignore[no-any-return]
            input_ids, attention_mask, token_type_ids, position_ids,
            output_attentions, output_hidden_states, return_dict, skip_padding, kwargs,
        )  # fmt: skip

    forward = __call__


class AlbertForSequenceClassification(SequenceClassifier):
    """transformers' ``AlbertForSequenceClassification``: ``classifier`` on the pooler output."""

    base_class = AlbertModel
    head_input = "pooler"
    head = (HeadStage("classifier", None),)
