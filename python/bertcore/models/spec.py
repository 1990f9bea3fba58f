"""A model family as data: where its tensors live and the few rules in which encoder families differ.

Every family bertcore runs is a post-LayerNorm BERT encoder: embeddings, a stack of identical layers, an
optional pooler. An :class:`EncoderSpec` names the family's tensors (relative to the base model's prefix,
which the checkpoint reader strips) and chooses among the known variants: factorised embeddings with a
projection, shared layer groups, positions counted from the padding index, token or task type tables.
``loading.py`` derives the expected shapes and the packed core encoder from a spec, and ``base.py`` the
call; a new BERT-like family is a config class, a spec and its public classes.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Tuple, Type

from ..config import PretrainedConfig
from ..outputs import ModelOutput

Shape = Tuple[int, ...]

# How default position ids are made when the caller passes none.
ARANGE = "arange"  # 0 .. seq-1
AFTER_PADDING = "after_padding"  # RoBERTa: pad_token_id at padding, pad_token_id + 1, + 2, ... elsewhere


@dataclasses.dataclass(frozen=True)
class LayerLayout:
    """Where a post-LayerNorm transformer layer's tensors live, relative to the layer's prefix.

    Each entry names a ``.weight``/``.bias`` pair: the query, key and value projections, the attention output
    dense and its LayerNorm, the two feed-forward denses and their LayerNorm. ``distance`` is the relative
    position table of transformers 4.x (``position_embedding_type`` relative_key / relative_key_query).
    """

    query: str
    key: str
    value: str
    attn_out: str
    attn_norm: str
    ffn_in: str
    ffn_out: str
    ffn_norm: str
    distance: Optional[str] = None

    def expected(self, prefix: str, hidden: int, intermediate: int) -> Dict[str, Shape]:
        """Normalised tensor name -> shape for one layer under ``prefix``."""
        h = hidden
        linears = (
            (self.query, (h, h)),
            (self.key, (h, h)),
            (self.value, (h, h)),
            (self.attn_out, (h, h)),
            (self.ffn_in, (intermediate, h)),
            (self.ffn_out, (h, intermediate)),
        )
        shapes: Dict[str, Shape] = {}
        for name, shape in linears:
            shapes.update(linear_shapes(prefix + name, *shape))
        for norm in (self.attn_norm, self.ffn_norm):
            shapes[f"{prefix}{norm}.weight"] = (h,)
            shapes[f"{prefix}{norm}.bias"] = (h,)
        return shapes


@dataclasses.dataclass(frozen=True)
class HeadStage:
    """One dense layer of a classification head: tensors ``<name>.weight``/``<name>.bias`` (checkpoint names,
    outside the base model's prefix), then ``activation`` ("tanh", "relu", "gelu" or None)."""

    name: str
    activation: Optional[str]


@dataclasses.dataclass(frozen=True)
class ClassifierSpec:
    """transformers' ``<Family>ForSequenceClassification`` head: its dense layers (the last one gives
    ``num_labels`` outputs) on ``input``: "pooler" (the pooler output) or "first_token" (the last hidden
    state at position 0)."""

    input: str
    stages: Tuple[HeadStage, ...]


@dataclasses.dataclass(frozen=True)
class EncoderSpec:
    """One encoder family.

    Attributes:
        model_type: config.json's ``model_type``.
        config_class: the family's config dataclass.
        prefix: transformers' ``base_model_prefix`` (``bert``): stripped from checkpoint names when present.
        output_class: what the model returns; its fields decide whether ``pooler_output`` is in it.
        layer: the layer's tensor names.
        classifier: the sequence classification head.
        layers: a layer's prefix, formatted with the layer index, or with the group and inner index when
            ``layer_groups`` is set.
        layer_groups: ALBERT's shared layers: ``num_hidden_groups`` groups of ``inner_group_num`` layers,
            layer step ``i`` running every layer of group ``int(i / (num_hidden_layers / num_hidden_groups))``.
        pooler: the pooler dense (then tanh on the first token), or None when the family has none.
        projection: the dense from ``embedding_size`` to ``hidden_size`` (factorised embeddings).
        projection_always: the projection exists even when the two sizes agree (ALBERT).
        token_types: the family has token type embeddings (DistilBERT has none and ignores token_type_ids).
        task_types: the family has ERNIE's task type embeddings when config.json sets ``use_task_id``.
        positions: how default position ids are made (``ARANGE`` or ``AFTER_PADDING``).
        sinusoidal_flag: a config flag under which a checkpoint may lack the position table, which is then
            the sinusoidal one (DistilBERT's ``sinusoidal_pos_embds``).
    """

    model_type: str
    config_class: Type[PretrainedConfig]
    prefix: str
    output_class: Type[ModelOutput]
    layer: LayerLayout
    classifier: ClassifierSpec
    layers: str = "encoder.layer.{}."
    layer_groups: bool = False
    pooler: Optional[str] = "pooler.dense"
    projection: Optional[str] = None
    projection_always: bool = False
    token_types: bool = True
    task_types: bool = False
    positions: str = ARANGE
    sinusoidal_flag: Optional[str] = None

    def layer_schedule(self, config: Any) -> Tuple[List[str], List[int]]:
        """The distinct layers' prefixes, and for each layer step the index of the layer it runs."""
        n = config.num_hidden_layers
        if not self.layer_groups:
            return [self.layers.format(i) for i in range(n)], list(range(n))
        groups, inner = config.num_hidden_groups, config.inner_group_num
        prefixes = [self.layers.format(g, j) for g in range(groups) for j in range(inner)]
        # transformers' own float expression, so the group boundaries fall where they do there
        steps = [int(i / (n / groups)) * inner + j for i in range(n) for j in range(inner)]
        return prefixes, steps

    def embedding_size(self, config: Any) -> int:
        """Width of the embedding tables."""
        return int(getattr(config, "embedding_size", config.hidden_size))

    def has_projection(self, config: Any) -> bool:
        return self.projection is not None and (
            self.projection_always or self.embedding_size(config) != config.hidden_size
        )

    def type_vocab(self, config: Any) -> int:
        """Rows of the token type table; 0 without one."""
        return int(config.type_vocab_size) if self.token_types else 0

    def task_type_vocab(self, config: Any) -> int:
        """Rows of the task type table; 0 without one."""
        return int(config.task_type_vocab_size) if self.task_types and config.use_task_id else 0

    def relative_attention(self, config: Any) -> int:
        """0 for absolute positions, 1 for relative_key, 2 for relative_key_query."""
        return int(config.relative_attention) if self.layer.distance is not None else 0


def linear_shapes(name: str, out_features: int, in_features: int) -> Dict[str, Shape]:
    return {name + ".weight": (out_features, in_features), name + ".bias": (out_features,)}
