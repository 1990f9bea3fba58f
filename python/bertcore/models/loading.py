"""From a spec and a checkpoint to the core encoder: the expected tensors, their check, and the packing.

Names are the normalised ones of :class:`bertcore.weights.Checkpoint` (the base model's prefix removed).
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Dict, List, Optional

import numpy as np
import numpy.typing as npt

from .. import _core
from ..config import user_stacklevel
from ..weights import Checkpoint, check_tensors
from .spec import EncoderSpec, Shape, linear_shapes

FloatArray = npt.NDArray[np.float32]

# Buffers that transformers saves in some checkpoints; they are not weights.
IGNORED_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
EMBEDDINGS = "embeddings."
WORD = EMBEDDINGS + "word_embeddings.weight"
POSITION = EMBEDDINGS + "position_embeddings.weight"
TOKEN_TYPE = EMBEDDINGS + "token_type_embeddings.weight"
TASK_TYPE = EMBEDDINGS + "task_type_embeddings.weight"
NORM = EMBEDDINGS + "LayerNorm"

# Weight storage of the dense layers (the pooler, LayerNorms and the small tables stay fp32; the word table is
# stored in the same low precision, int8 with one scale per row). Attention's products then run in bf16.
DTYPES = ("float32", "bfloat16", "int8")
# Inputs per token that int8 query/key/value projections keep in fp32 (see WeightPacker.layer): on
# all-MiniLM-L6-v2 four lift the 200 queries' top-10 neighbours shared from 94% (none) to the level of a bf16
# projection; eight gain nothing more.
QKV_OUTLIERS = 4

# Layer steps of a family whose steps share weights (ALBERT), which the checkpoint therefore cannot bound; the
# deepest BERT-family encoders run a few dozen.
MAX_LAYER_STEPS = 1024

# Positions of a sinusoidal table built for a checkpoint that lacks one (DistilBERT's sinusoidal_pos_embds):
# the config alone sets its size (n x dim floats), and BERT-family encoders use 512.
MAX_SINUSOIDAL_POSITIONS = 1 << 16

# Whether to build the pooler: "optional" (warn and go without when the checkpoint lacks it), "required"
# (a classification head reads it) or "none".
POOLER_MODES = ("optional", "required", "none")


def check_layer_counts(spec: EncoderSpec, config: Any, ckpt: Checkpoint) -> None:
    """Compares the config's layer counts with the layers the checkpoint holds, before anything is built per
    layer (a corrupt count such as 2**63 would otherwise be materialised name by name).

    Raises:
        ValueError: the config asks for more layers (or layer groups) than the checkpoint has, or for more
            than MAX_LAYER_STEPS shared-layer steps.
    """
    pattern = re.compile(re.escape(spec.layers).replace(r"\{\}", r"(\d+)"))
    found = [tuple(map(int, m.groups())) for m in map(pattern.match, ckpt.names()) if m]
    names = ("num_hidden_groups", "inner_group_num") if spec.layer_groups else ("num_hidden_layers",)
    for axis, name in enumerate(names):
        held = 1 + max((index[axis] for index in found), default=-1)
        value = getattr(config, name)
        if value > held:
            own = config.attribute_map.get(name, name)
            raise ValueError(
                f"config {own} is {value}, but the checkpoint holds {held} (tensors named {spec.layers}...); "
                "check that config.json belongs to these weights"
            )
    steps = config.num_hidden_layers
    if spec.layer_groups and steps > MAX_LAYER_STEPS:
        raise ValueError(
            f"config num_hidden_layers is {steps}: more than {MAX_LAYER_STEPS} runs of the shared layers "
            "is not a model bertcore can run (is config.json corrupt?)"
        )


def expected_tensors(spec: EncoderSpec, config: Any, with_pooler: bool) -> Dict[str, Shape]:
    """Normalised tensor name -> shape for the family's base model with this config."""
    h, e = config.hidden_size, spec.embedding_size(config)
    shapes: Dict[str, Shape] = {WORD: (config.vocab_size, e), POSITION: (config.max_position_embeddings, e)}
    if spec.token_types:
        shapes[TOKEN_TYPE] = (config.type_vocab_size, e)
    if spec.task_type_vocab(config):
        shapes[TASK_TYPE] = (config.task_type_vocab_size, e)
    shapes[NORM + ".weight"] = (e,)
    shapes[NORM + ".bias"] = (e,)
    if spec.has_projection(config):
        shapes.update(linear_shapes(str(spec.projection), h, e))
    relative = spec.relative_attention(config)
    for prefix in spec.layer_schedule(config)[0]:
        shapes.update(spec.layer.expected(prefix, h, config.intermediate_size))
        if relative:
            shapes[prefix + str(spec.layer.distance)] = (
                2 * config.max_position_embeddings - 1,
                config.head_dim,
            )
    if with_pooler and spec.pooler is not None:
        shapes.update(linear_shapes(spec.pooler, h, h))
    return shapes


def core_config(spec: EncoderSpec, config: Any, dtype: str) -> Any:
    """The ``_core.EncoderConfig`` for a config of this family, run in ``dtype``."""
    c = _core.EncoderConfig()
    c.hidden = config.hidden_size
    c.heads = config.num_attention_heads
    c.layers = len(spec.layer_schedule(config)[1])
    c.intermediate = config.intermediate_size
    c.vocab = config.vocab_size
    c.max_positions = config.max_position_embeddings
    c.type_vocab = spec.type_vocab(config)
    c.task_type_vocab = spec.task_type_vocab(config)
    c.embedding_size = spec.embedding_size(config)
    c.eps = float(config.layer_norm_eps)
    c.activation = config.hidden_act
    c.relative_attention = spec.relative_attention(config)
    c.absolute_positions = c.relative_attention == 0
    # bf16 products in attention: on all-MiniLM-L6-v2 the embeddings' quality (bench_quality.py) stays level
    # with fp32 attention's in both low precisions, and bert-base's int8 forward is 4% faster.
    c.attention_bf16 = dtype != "float32"
    return c


def sinusoidal_positions(n_pos: int, dim: int) -> FloatArray:
    """transformers' ``_create_sinusoidal_embeddings``: (n_pos, dim) float32, sin on even and cos on odd."""
    j = np.arange(dim)
    angles = np.arange(n_pos)[:, None] / np.power(10000, 2 * (j // 2) / dim)[None, :]
    out = np.empty((n_pos, dim), dtype=np.float32)
    out[:, 0::2] = np.sin(angles[:, 0::2])
    out[:, 1::2] = np.cos(angles[:, 1::2])
    return out


def check_dtype(dtype: Any) -> str:
    """``dtype`` as one of DTYPES; ValueError otherwise."""
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return dtype


class WeightPacker:
    """Reads tensors from a checkpoint and packs the linears for one kernel family and weight type."""

    def __init__(self, ckpt: Checkpoint, isa: str, dtype: str = "float32") -> None:
        self.ckpt = ckpt
        self.isa = isa
        self.dtype = dtype

    def get(self, name: str) -> FloatArray:
        return self.ckpt.get(name)

    def table(self, name: str) -> Any:
        """A large table (the word embeddings) as a ``_core.FloatTensor`` that the Encoder takes over, as bf16
        bits for a bf16 model, or quantized per row (int8 values and row scales) for an int8 model; with the
        row scales or None.

        Call it before reading the layers: the numpy copy is freed at once, and the Encoder adopts the core's
        buffer instead of copying it once every packed layer is resident (which would hold a second
        word-embedding table at the load peak).
        """
        if self.dtype == "int8":
            return _core.quantize_rows(self.ckpt.get(name), isa=self.isa)
        if self.dtype == "bfloat16":
            return _core.bf16_bits(self.ckpt.get(name)), None
        return _core.FloatTensor(self.ckpt.get(name)), None

    def linear(self, name: str, dtype: Optional[str] = None) -> Any:
        """A ``_core.PackedLinear`` from ``<name>.weight`` and ``<name>.bias``, stored as ``dtype`` (default:
        the packer's)."""
        return _core.PackedLinear(
            self.get(name + ".weight"), self.get(name + ".bias"), isa=self.isa, dtype=dtype or self.dtype
        )

    def layer(self, spec: EncoderSpec, prefix: str, relative: bool) -> Any:
        """One layer as a ``_core.EncoderLayer``, query, key and value packed as one linear.

        In int8 models the query/key/value projection quantizes each token without its QKV_OUTLIERS inputs of
        largest magnitude, which it multiplies in fp32: its input, a LayerNorm output, has outlier channels that
        set the per-token scale, and quantizing them with the rest cost more retrieval quality than the three
        other projections together.
        """
        lay = spec.layer
        names = (lay.query, lay.key, lay.value)
        qkv_w = np.concatenate([self.get(f"{prefix}{n}.weight") for n in names])
        qkv_b = np.concatenate([self.get(f"{prefix}{n}.bias") for n in names])
        outliers = min(QKV_OUTLIERS, qkv_w.shape[1]) if self.dtype == "int8" else 0
        qkv = _core.PackedLinear(qkv_w, qkv_b, isa=self.isa, dtype=self.dtype, outliers=outliers)
        del qkv_w, qkv_b
        # The distance table [2 P - 1, head_dim] is packed like a linear layer: q·E[t] is a GEMM.
        distance = (
            _core.PackedLinear(self.get(prefix + str(lay.distance)), None, isa=self.isa) if relative else None
        )
        return _core.EncoderLayer(
            qkv=qkv,
            attn_out=self.linear(prefix + lay.attn_out),
            ffn_in=self.linear(prefix + lay.ffn_in),
            ffn_out=self.linear(prefix + lay.ffn_out),
            ln1_gamma=self.get(f"{prefix}{lay.attn_norm}.weight"),
            ln1_beta=self.get(f"{prefix}{lay.attn_norm}.bias"),
            ln2_gamma=self.get(f"{prefix}{lay.ffn_norm}.weight"),
            ln2_beta=self.get(f"{prefix}{lay.ffn_norm}.bias"),
            distance=distance,
        )


def build_encoder(
    spec: EncoderSpec,
    config: Any,
    ckpt: Checkpoint,
    isa: str,
    pooler: str,
    model_name: str,
    dtype: str = "float32",
) -> Any:
    """Checks the checkpoint against the spec and returns the packed ``_core.Encoder`` (``model_name`` is
    for the messages), its dense layers stored as ``dtype``.

    Raises:
        ValueError: a tensor is missing or misshapen (every one is named), or ``pooler`` is "required" and
            the family has none.
    """
    if pooler not in POOLER_MODES:
        raise ValueError(f"pooler must be one of {', '.join(POOLER_MODES)}, got {pooler!r}")
    if pooler == "required" and spec.pooler is None:
        raise ValueError(f"{spec.model_type} models have no pooler")
    with_pooler = pooler != "none" and spec.pooler is not None
    check_layer_counts(spec, config, ckpt)
    expected = expected_tensors(spec, config, with_pooler)
    optional: List[str] = []
    if with_pooler and pooler == "optional":
        optional += [f"{spec.pooler}.weight", f"{spec.pooler}.bias"]
    if spec.sinusoidal_flag is not None and getattr(config, spec.sinusoidal_flag):
        optional.append(POSITION)
    missing = check_checkpoint(
        ckpt,
        expected,
        model_name,
        optional=optional,
        ignored_prefix=None if with_pooler or spec.pooler is None else spec.pooler.split(".")[0] + ".",
    )
    if with_pooler and any(n.startswith(str(spec.pooler) + ".") for n in missing):
        warnings.warn(
            f"the checkpoint has no pooler weights ({spec.pooler}.*): pooler_output will be None. "
            "Pass add_pooling_layer=False to silence this.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        with_pooler = False
    n_positions = config.max_position_embeddings
    if POSITION in missing and n_positions > MAX_SINUSOIDAL_POSITIONS:
        raise ValueError(
            f"config max_position_embeddings is {n_positions}: the checkpoint has no position table, and "
            f"bertcore builds the sinusoidal one for at most {MAX_SINUSOIDAL_POSITIONS} positions (is "
            "config.json corrupt?)"
        )
    relative = spec.relative_attention(config) != 0
    dtype = check_dtype(dtype)
    w = WeightPacker(ckpt, isa, dtype)
    word, word_scale = w.table(WORD)  # first: see WeightPacker.table
    position: Optional[FloatArray] = None
    if POSITION in missing:
        position = sinusoidal_positions(config.max_position_embeddings, spec.embedding_size(config))
    elif not relative:  # transformers 4.x keeps the absolute table with relative positions but never adds it
        position = w.get(POSITION)
    prefixes, steps = spec.layer_schedule(config)
    distinct = [w.layer(spec, prefix, relative) for prefix in prefixes]
    return _core.Encoder(
        core_config(spec, config, dtype),
        word=word,
        word_scale=word_scale,
        position=position,
        token_type=w.get(TOKEN_TYPE) if spec.token_types else None,
        task_type=w.get(TASK_TYPE) if spec.task_type_vocab(config) else None,
        norm_weight=w.get(NORM + ".weight"),
        norm_bias=w.get(NORM + ".bias"),
        layers=[distinct[i] for i in steps],
        pooler=w.linear(str(spec.pooler), "float32") if with_pooler else None,
        projection=w.linear(str(spec.projection)) if spec.has_projection(config) else None,
        isa=isa,
    )


def check_checkpoint(
    ckpt: Checkpoint,
    expected: Dict[str, Shape],
    model_name: str,
    optional: List[str],
    ignored_prefix: Optional[str],
) -> List[str]:
    """Checks every expected tensor (raising on a missing or misshapen one) and warns about unused ones.

    Args:
        ckpt: the checkpoint.
        expected: normalised name -> shape, the optional names included.
        model_name: for the warning.
        optional: names that may be missing.
        ignored_prefix: unused tensors under this prefix are expected (a pooler not asked for).

    Returns:
        The optional names that are missing.
    """
    missing_optional, unexpected = check_tensors(ckpt, expected, optional=optional)
    leftovers = [
        n
        for n in unexpected
        if n not in IGNORED_BUFFERS and not (ignored_prefix is not None and n.startswith(ignored_prefix))
    ]
    if leftovers:
        shown = ", ".join(leftovers[:8]) + (" ..." if len(leftovers) > 8 else "")
        warnings.warn(
            f"{len(leftovers)} tensor(s) in the checkpoint are not used by {model_name}: {shown}",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return missing_optional
