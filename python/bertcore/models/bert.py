"""BERT: transformers' ``BertModel`` on the bertcore core."""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from .. import _core
from ..config import BertConfig, PathLike
from ..cpu import default_num_threads
from ..batching import make_token_batch
from ..inputs import as_int_matrix, attention_mask_bool
from ..outputs import BaseModelOutputWithPoolingAndCrossAttentions
from ..weights import Checkpoint, Shape, check_tensors, find_checkpoint

FloatArray = npt.NDArray[np.float32]

# Buffers that transformers saves in some checkpoints; they are not weights.
_IGNORED_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")

# Arguments of transformers' BertModel.forward that bertcore does not implement: passing one is an error.
_UNSUPPORTED_ARGS = (
    "head_mask",
    "inputs_embeds",
    "encoder_hidden_states",
    "encoder_attention_mask",
    "past_key_values",
    "cache_position",
)


def _resolve_isa(isa: Optional[str]) -> str:
    if isa is None:
        return str(_core.active_isa())
    if not isinstance(isa, str):
        raise TypeError(f"isa must be a string such as 'avx2', got {type(isa).__name__}")
    supported = _core.cpu_info()["supported_isas"]
    if isa.lower() not in supported:
        raise ValueError(f"isa {isa!r} cannot run here; this CPU and build support {', '.join(supported)}")
    return isa.lower()


def _check_num_threads(num_threads: Optional[int]) -> int:
    if num_threads is None:
        return default_num_threads()
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)):
        raise TypeError(f"num_threads must be a positive integer or None, got {num_threads!r}")
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    return int(num_threads)


def bert_expected_tensors(config: BertConfig, with_pooler: bool) -> Dict[str, Shape]:
    """Normalised tensor name -> shape for a BertModel with this config."""
    h, inter = config.hidden_size, config.intermediate_size
    spec: Dict[str, Shape] = {
        "embeddings.word_embeddings.weight": (config.vocab_size, h),
        "embeddings.position_embeddings.weight": (config.max_position_embeddings, h),
        "embeddings.token_type_embeddings.weight": (config.type_vocab_size, h),
        "embeddings.LayerNorm.weight": (h,),
        "embeddings.LayerNorm.bias": (h,),
    }
    for i in range(config.num_hidden_layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            spec[p + f"attention.self.{name}.weight"] = (h, h)
            spec[p + f"attention.self.{name}.bias"] = (h,)
        spec[p + "attention.output.dense.weight"] = (h, h)
        spec[p + "attention.output.dense.bias"] = (h,)
        spec[p + "attention.output.LayerNorm.weight"] = (h,)
        spec[p + "attention.output.LayerNorm.bias"] = (h,)
        spec[p + "intermediate.dense.weight"] = (inter, h)
        spec[p + "intermediate.dense.bias"] = (inter,)
        spec[p + "output.dense.weight"] = (h, inter)
        spec[p + "output.dense.bias"] = (h,)
        spec[p + "output.LayerNorm.weight"] = (h,)
        spec[p + "output.LayerNorm.bias"] = (h,)
    if with_pooler:
        spec["pooler.dense.weight"] = (h, h)
        spec["pooler.dense.bias"] = (h,)
    return spec


class BertModel:
    """A BERT encoder, called like transformers' ``BertModel`` and returning numpy arrays.

    Build it with :meth:`from_pretrained`. The weights are packed once for the kernel family chosen at load
    time (``isa``, else ``BERTCORE_ISA``, else the best this CPU supports); each call runs the whole encoder in
    one native call with the GIL released.

    Example:
        >>> from bertcore import AutoTokenizer, BertModel
        >>> tokenizer = AutoTokenizer.from_pretrained(model_dir)
        >>> model = BertModel.from_pretrained(model_dir)
        >>> out = model(**tokenizer(["A sentence."], padding=True, truncation=True, return_tensors="np"))
        >>> out.last_hidden_state.shape, out.pooler_output.shape
        ((1, 5, 384), (1, 384))
    """

    def __init__(self, config: BertConfig, encoder: Any, num_threads: Optional[int] = None) -> None:
        self.config = config
        self._encoder = encoder
        self._num_threads = _check_num_threads(num_threads)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        model_dir: PathLike,
        add_pooling_layer: bool = True,
        num_threads: Optional[int] = None,
        isa: Optional[str] = None,
        config: Optional[BertConfig] = None,
    ) -> "BertModel":
        """Loads a Hugging Face BERT directory (config.json + model.safetensors or a sharded index).

        Args:
            model_dir: the model directory.
            add_pooling_layer: build the pooler (dense + tanh on the first token). When the checkpoint has no
                pooler weights, ``pooler_output`` is None and a warning says so (transformers would use
                random weights).
            num_threads: threads per forward call; default: OMP_NUM_THREADS, else the CPUs this process may use.
            isa: kernel family, "scalar", "avx2" or "avx512"; default: BERTCORE_ISA, else the best supported.
            config: use this config instead of the directory's config.json.

        Returns:
            The model, ready to call.

        Raises:
            FileNotFoundError: the directory, config.json or the weights are missing.
            ValueError: the config is invalid or the weights do not match it (every problem is named).
        """
        model_dir = os.fspath(model_dir)
        if not os.path.isdir(model_dir):
            raise FileNotFoundError(f"model directory {model_dir!r} does not exist or is not a directory")
        if config is None:
            config = BertConfig.from_pretrained(model_dir)
        elif not isinstance(config, BertConfig):
            raise TypeError(f"config must be a bertcore.BertConfig, got {type(config).__name__}")
        threads = _check_num_threads(num_threads)
        isa_name = _resolve_isa(isa)
        with Checkpoint(find_checkpoint(model_dir), strip_prefixes=("bert.",)) as ckpt:
            encoder = cls._build_encoder(config, ckpt, add_pooling_layer, isa_name)
        return cls(config, encoder, threads)

    @staticmethod
    def _build_encoder(config: BertConfig, ckpt: Checkpoint, add_pooling_layer: bool, isa: str) -> Any:
        expected = bert_expected_tensors(config, with_pooler=add_pooling_layer)
        pooler_names = ["pooler.dense.weight", "pooler.dense.bias"]
        missing_optional, unexpected = check_tensors(ckpt, expected, optional=pooler_names)
        with_pooler = add_pooling_layer and not missing_optional
        if add_pooling_layer and missing_optional:
            warnings.warn(
                "the checkpoint has no pooler weights (pooler.dense.*): pooler_output will be None. "
                "Pass add_pooling_layer=False to silence this.",
                UserWarning,
                stacklevel=4,
            )
        leftovers = [
            n for n in unexpected if n not in _IGNORED_BUFFERS and not (n.startswith("pooler.") and not with_pooler)
        ]
        if leftovers:
            shown = ", ".join(leftovers[:8]) + (" ..." if len(leftovers) > 8 else "")
            warnings.warn(
                f"{len(leftovers)} tensor(s) in the checkpoint are not used by BertModel: {shown}",
                UserWarning,
                stacklevel=4,
            )

        def packed(prefix: str) -> Any:
            return _core.PackedLinear(ckpt.get(prefix + ".weight"), ckpt.get(prefix + ".bias"), isa=isa)

        layers: List[Tuple[Any, ...]] = []
        for i in range(config.num_hidden_layers):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([ckpt.get(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")])
            qkv_b = np.concatenate([ckpt.get(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")])
            qkv = _core.PackedLinear(qkv_w, qkv_b, isa=isa)
            del qkv_w, qkv_b
            layers.append(
                (
                    qkv,
                    packed(p + "attention.output.dense"),
                    packed(p + "intermediate.dense"),
                    packed(p + "output.dense"),
                    ckpt.get(p + "attention.output.LayerNorm.weight"),
                    ckpt.get(p + "attention.output.LayerNorm.bias"),
                    ckpt.get(p + "output.LayerNorm.weight"),
                    ckpt.get(p + "output.LayerNorm.bias"),
                )
            )
        pooler = packed("pooler.dense") if with_pooler else None
        core_config = {
            "hidden": config.hidden_size,
            "heads": config.num_attention_heads,
            "layers": config.num_hidden_layers,
            "intermediate": config.intermediate_size,
            "vocab": config.vocab_size,
            "max_positions": config.max_position_embeddings,
            "type_vocab": config.type_vocab_size,
            "eps": float(config.layer_norm_eps),
            "activation": config.hidden_act,
            "absolute_positions": True,
        }
        return _core.Encoder(
            core_config,
            ckpt.get("embeddings.word_embeddings.weight"),
            ckpt.get("embeddings.position_embeddings.weight"),
            ckpt.get("embeddings.token_type_embeddings.weight"),
            ckpt.get("embeddings.LayerNorm.weight"),
            ckpt.get("embeddings.LayerNorm.bias"),
            layers,
            pooler,
            isa=isa,
        )

    # ------------------------------------------------------------------ properties
    @property
    def num_threads(self) -> int:
        """Threads used per forward call."""
        return self._num_threads

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        self._num_threads = _check_num_threads(value)

    @property
    def isa(self) -> str:
        """The kernel family this model's weights were packed for."""
        return str(self._encoder.isa)

    @property
    def has_pooler(self) -> bool:
        return bool(self._encoder.has_pooler)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"{type(self).__name__}(hidden_size={c.hidden_size}, num_hidden_layers={c.num_hidden_layers}, "
            f"num_attention_heads={c.num_attention_heads}, intermediate_size={c.intermediate_size}, "
            f"hidden_act={c.hidden_act!r}, pooler={self.has_pooler}, isa={self.isa!r}, "
            f"num_threads={self.num_threads})"
        )

    # ------------------------------------------------------------------ forward
    def __call__(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        output_attentions: Optional[bool] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        use_cache: Optional[bool] = None,
        skip_padding: bool = True,
        **kwargs: Any,
    ) -> Union[BaseModelOutputWithPoolingAndCrossAttentions, Tuple[Any, ...]]:
        """Runs the encoder, like transformers' ``BertModel.forward``.

        Args:
            input_ids: token ids, (batch, seq) integers: numpy array, nested lists or a torch tensor.
            attention_mask: (batch, seq); nonzero = attend. Default: all ones.
            token_type_ids: (batch, seq) segment ids. Default: zeros.
            position_ids: (batch, seq) or (1, seq) positions. Default: 0 .. seq-1.
            output_attentions: also return each layer's post-softmax attention, (batch, heads, seq, seq).
            output_hidden_states: also return the embeddings output and every layer's output.
            return_dict: False returns the plain tuple of the non-None fields.
            use_cache: accepted for compatibility; an encoder keeps no cache.
            skip_padding: compute only the positions where attention_mask is 1 (the dense layers run on the
                real tokens of all sequences packed together, attention per sequence over its real tokens).
                Outputs at padded positions are then zeros (last_hidden_state, hidden_states, and attention
                rows of padded queries), except position 0, which the pooler reads and which is always
                computed; real positions and pooler_output are unchanged. False computes every
                position exactly as transformers does.

        Returns:
            ``BaseModelOutputWithPoolingAndCrossAttentions`` with float32 arrays (or its tuple).

        Raises:
            ValueError / TypeError: bad shapes, dtypes or index values, with what to change.
        """
        for name in _UNSUPPORTED_ARGS:
            if kwargs.get(name) is not None:
                raise ValueError(f"{name} is not supported by bertcore's BertModel (encoder-only, token ids in)")
            kwargs.pop(name, None)
        if kwargs:
            raise TypeError(f"unexpected argument(s): {', '.join(sorted(kwargs))}")
        if input_ids is None:
            raise ValueError("input_ids is required")
        c = self.config
        output_attentions = bool(c.extra.get("output_attentions", False) if output_attentions is None else output_attentions)
        output_hidden_states = bool(
            c.extra.get("output_hidden_states", False) if output_hidden_states is None else output_hidden_states
        )
        return_dict = bool(c.extra.get("return_dict", True) if return_dict is None else return_dict)

        ids = as_int_matrix(input_ids, "input_ids")
        batch, seq = ids.shape
        if batch == 0 or seq == 0:
            raise ValueError(f"input_ids is empty (shape {ids.shape}); pass at least one token per sequence")
        keep = attention_mask_bool(attention_mask, (batch, seq))
        if token_type_ids is None:
            types = np.zeros((batch, seq), dtype=np.int64)
        else:
            types = self._broadcast(as_int_matrix(token_type_ids, "token_type_ids"), batch, seq, "token_type_ids")
        if position_ids is None:
            if seq > c.max_position_embeddings:
                raise ValueError(
                    f"sequence length {seq} exceeds max_position_embeddings ({c.max_position_embeddings}); "
                    "truncate the input, e.g. tokenizer(..., truncation=True)"
                )
            positions = np.ascontiguousarray(np.broadcast_to(np.arange(seq, dtype=np.int64), (batch, seq)))
        else:
            positions = self._broadcast(as_int_matrix(position_ids, "position_ids"), batch, seq, "position_ids")

        tokens = make_token_batch(ids, types, positions, keep, bool(skip_padding))
        new = np.zeros if tokens.skipped else np.empty
        h, layers = c.hidden_size, c.num_hidden_layers
        hidden_states: Optional[List[FloatArray]] = None
        if output_hidden_states:
            hidden_states = [new((batch, seq, h), dtype=np.float32) for _ in range(layers + 1)]
            last_hidden = hidden_states[-1]
        else:
            last_hidden = new((batch, seq, h), dtype=np.float32)
        pooled = np.empty((batch, h), dtype=np.float32) if self.has_pooler else None
        attentions: Optional[List[FloatArray]] = None
        if output_attentions:
            # Masked keys get probability exactly 0, so the dense layout fills every entry anyway.
            attentions = [np.zeros((batch, c.num_attention_heads, seq, seq), dtype=np.float32) for _ in range(layers)]
        self._encoder.forward(
            tokens.ids,
            tokens.type_ids,
            tokens.pos_ids,
            tokens.row_pos,
            tokens.segments,
            tokens.key_mask_add,
            seq,
            last_hidden,
            pooled,
            hidden_states,
            attentions,
            self._num_threads,
        )
        out = BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=last_hidden,
            pooler_output=pooled,
            hidden_states=tuple(hidden_states) if hidden_states is not None else None,
            attentions=tuple(attentions) if attentions is not None else None,
        )
        return out if return_dict else out.to_tuple()

    forward = __call__

    @staticmethod
    def _broadcast(array: npt.NDArray[np.int64], batch: int, seq: int, name: str) -> npt.NDArray[np.int64]:
        if array.shape == (batch, seq):
            return array
        if array.shape == (1, seq):
            return np.ascontiguousarray(np.broadcast_to(array, (batch, seq)))
        raise ValueError(f"{name} has shape {array.shape}, expected ({batch}, {seq}) like input_ids")
