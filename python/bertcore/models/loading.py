"""Where a family's tensors live, checking them against the config, and packing them for the core.

Names are the normalised ones of :class:`bertcore.weights.Checkpoint` (the base model's prefix removed).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from .. import _core
from ..config import user_stacklevel
from ..weights import Checkpoint, Shape, check_tensors

FloatArray = npt.NDArray[np.float32]

# Buffers that transformers saves in some checkpoints; they are not weights.
IGNORED_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")


@dataclasses.dataclass(frozen=True)
class LayerLayout:
    """Where a post-LayerNorm transformer layer's tensors live, relative to the layer's prefix.

    Each entry names a ``.weight``/``.bias`` pair: the query, key and value projections, the attention output
    dense and its LayerNorm, the two feed-forward denses and their LayerNorm.
    """

    query: str
    key: str
    value: str
    attn_out: str
    attn_norm: str
    ffn_in: str
    ffn_out: str
    ffn_norm: str

    def expected(self, prefix: str, hidden: int, intermediate: int) -> Dict[str, Shape]:
        """Normalised tensor name -> shape for one layer under ``prefix``."""
        h, inter = hidden, intermediate
        shapes = (
            (self.query, (h, h)),
            (self.key, (h, h)),
            (self.value, (h, h)),
            (self.attn_out, (h, h)),
            (self.attn_norm, None),
            (self.ffn_in, (inter, h)),
            (self.ffn_out, (h, inter)),
            (self.ffn_norm, None),
        )
        spec: Dict[str, Shape] = {}
        for name, shape in shapes:
            spec[f"{prefix}{name}.weight"] = shape if shape is not None else (h,)
            spec[f"{prefix}{name}.bias"] = (shape[0],) if shape is not None else (h,)
        return spec


def embeddings_expected(
    width: int,
    vocab: int,
    max_positions: Optional[int],
    type_vocab: Optional[int],
    prefix: str = "embeddings.",
) -> Dict[str, Shape]:
    """The embedding tables and LayerNorm (``None`` sizes: the table does not exist in this family)."""
    spec: Dict[str, Shape] = {prefix + "word_embeddings.weight": (vocab, width)}
    if max_positions is not None:
        spec[prefix + "position_embeddings.weight"] = (max_positions, width)
    if type_vocab is not None:
        spec[prefix + "token_type_embeddings.weight"] = (type_vocab, width)
    spec[prefix + "LayerNorm.weight"] = (width,)
    spec[prefix + "LayerNorm.bias"] = (width,)
    return spec


def linear_expected(name: str, out_features: int, in_features: int) -> Dict[str, Shape]:
    return {name + ".weight": (out_features, in_features), name + ".bias": (out_features,)}


class WeightPacker:
    """Reads tensors from a checkpoint and packs the linears for one kernel family."""

    def __init__(self, ckpt: Checkpoint, isa: str) -> None:
        self.ckpt = ckpt
        self.isa = isa

    def get(self, name: str) -> FloatArray:
        return self.ckpt.get(name)

    def table(self, name: str) -> Any:
        """A large table (the word embeddings) as a ``_core.FloatTensor`` that the Encoder takes over.

        Call it before reading the layers: the numpy copy is freed at once, and the Encoder adopts the core's
        buffer instead of copying it at the end, when every packed layer is resident (that copy used to put
        the load peak at the weights plus a second word-embedding table: 1.31x for bert-base).
        """
        return _core.FloatTensor(self.ckpt.get(name))

    def linear(self, name: str) -> Any:
        """A ``_core.PackedLinear`` from ``<name>.weight`` and ``<name>.bias``."""
        weight, bias = self.ckpt.get(name + ".weight"), self.ckpt.get(name + ".bias")
        return _core.PackedLinear(weight, bias, isa=self.isa)

    def layer(self, prefix: str, layout: LayerLayout) -> Tuple[Any, ...]:
        """One layer as the core takes it: (qkv, attn_out, ffn_in, ffn_out, ln1 w, ln1 b, ln2 w, ln2 b)."""
        names = (layout.query, layout.key, layout.value)
        qkv_w = np.concatenate([self.ckpt.get(f"{prefix}{n}.weight") for n in names])
        qkv_b = np.concatenate([self.ckpt.get(f"{prefix}{n}.bias") for n in names])
        qkv = _core.PackedLinear(qkv_w, qkv_b, isa=self.isa)
        del qkv_w, qkv_b
        return (
            qkv,
            self.linear(prefix + layout.attn_out),
            self.linear(prefix + layout.ffn_in),
            self.linear(prefix + layout.ffn_out),
            self.get(f"{prefix}{layout.attn_norm}.weight"),
            self.get(f"{prefix}{layout.attn_norm}.bias"),
            self.get(f"{prefix}{layout.ffn_norm}.weight"),
            self.get(f"{prefix}{layout.ffn_norm}.bias"),
        )


def check_checkpoint(
    ckpt: Checkpoint,
    expected: Dict[str, Shape],
    model_name: str,
    optional: Iterable[str] = (),
    ignore_prefixes: Sequence[str] = (),
) -> List[str]:
    """Checks every expected tensor (raising on a missing or misshapen one) and warns about unused ones.

    Args:
        ckpt: the checkpoint.
        expected: normalised name -> shape, the optional names included.
        model_name: for the warning.
        optional: names that may be missing.
        ignore_prefixes: unused tensors under these prefixes are expected (e.g. a pooler not asked for).

    Returns:
        The optional names that are missing.
    """
    missing_optional, unexpected = check_tensors(ckpt, expected, optional=optional)
    skipped = tuple(ignore_prefixes)
    leftovers = [n for n in unexpected if n not in IGNORED_BUFFERS and not n.startswith(skipped)]
    if leftovers:
        shown = ", ".join(leftovers[:8]) + (" ..." if len(leftovers) > 8 else "")
        warnings.warn(
            f"{len(leftovers)} tensor(s) in the checkpoint are not used by {model_name}: {shown}",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    return missing_optional


def pooler_in_use(names: Sequence[str], missing_optional: Sequence[str], add_pooling_layer: bool) -> bool:
    """Whether to build the pooler; warns when it was asked for but the checkpoint has none."""
    if not add_pooling_layer:
        return False
    if any(n in missing_optional for n in names):
        stem = names[0].rsplit(".", 1)[0]
        warnings.warn(
            f"the checkpoint has no pooler weights ({stem}.*): pooler_output will be None. "
            "Pass add_pooling_layer=False to silence this.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        return False
    return True


def core_config(
    *,
    hidden: int,
    heads: int,
    layers: int,
    intermediate: int,
    vocab: int,
    max_positions: int,
    type_vocab: int,
    eps: float,
    activation: str,
    embedding_size: int = 0,
    relative_attention: int = 0,
) -> Dict[str, Any]:
    """The config dict ``_core.Encoder`` takes (type_vocab 0: no token types; embedding_size 0: = hidden;
    relative_attention 1/2: transformers 4.x relative_key / relative_key_query, no absolute positions)."""
    return {
        "hidden": hidden,
        "heads": heads,
        "layers": layers,
        "intermediate": intermediate,
        "vocab": vocab,
        "max_positions": max_positions,
        "type_vocab": type_vocab,
        "embedding_size": embedding_size,
        "eps": float(eps),
        "activation": activation,
        "absolute_positions": relative_attention == 0,
        "relative_attention": relative_attention,
    }
