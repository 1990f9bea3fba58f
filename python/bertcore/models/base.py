"""What every bertcore encoder model shares: resolving what to load, and the call path.

A family module (bert.py, roberta.py, ...) says where its tensors live (with the helpers of ``loading.py``),
how its default position ids are made and which output class it returns; :class:`EncoderModel` does the
rest: it resolves the directory, config, ISA and threads, validates the inputs, lays out the token batch
(padding skipped or not) and runs the whole encoder in one native call.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, NamedTuple, Optional, Tuple, Type, TypeVar

import numpy as np
import numpy.typing as npt

from .. import _core
from ..batching import make_token_batch
from ..config import PathLike, PretrainedConfig
from ..cpu import default_num_threads
from ..hub import resolve_model_dir
from ..inputs import as_int_matrix, attention_mask_bool
from ..outputs import BaseModelOutput, ModelOutput
from ..weights import Checkpoint, find_checkpoint

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
_M = TypeVar("_M", bound="EncoderModel")

# Arguments of transformers' forward that bertcore does not implement: passing one is an error.
UNSUPPORTED_ARGS = (
    "head_mask",
    "inputs_embeds",
    "encoder_hidden_states",
    "encoder_attention_mask",
    "past_key_values",
    "cache",
    "cache_position",
)


def resolve_isa(isa: Optional[str]) -> str:
    """The kernel family to pack for: ``isa`` when given (checked), else the active one."""
    if isa is None:
        return str(_core.active_isa())
    if not isinstance(isa, str):
        raise TypeError(f"isa must be a string such as 'avx2', got {type(isa).__name__}")
    supported = _core.cpu_info()["supported_isas"]
    if isa.lower() not in supported:
        raise ValueError(f"isa {isa!r} cannot run here; this CPU and build support {', '.join(supported)}")
    return isa.lower()


def check_num_threads(num_threads: Optional[int]) -> int:
    if num_threads is None:
        return default_num_threads()
    if isinstance(num_threads, bool) or not isinstance(num_threads, (int, np.integer)):
        raise TypeError(f"num_threads must be a positive integer or None, got {num_threads!r}")
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    return int(num_threads)


# ---------------------------------------------------------------------------------------------- the model


class Encoded(NamedTuple):
    """What one core call produced, before it is wrapped in the family's output class."""

    last_hidden_state: FloatArray
    pooler_output: Optional[FloatArray]
    hidden_states: Optional[Tuple[FloatArray, ...]]
    attentions: Optional[Tuple[FloatArray, ...]]


class EncoderModel:
    """Base class of bertcore's encoder models: loading, properties and the call path.

    Subclasses set ``config_class`` and ``base_model_prefix`` and implement ``_build_encoder`` (checking the
    tensors and making the ``_core.Encoder``), ``_core_config_for`` and ``__call__`` (the family's signature,
    calling :meth:`_call`).
    """

    config_class: ClassVar[Type[PretrainedConfig]] = PretrainedConfig
    base_model_prefix: ClassVar[str] = ""
    # What __call__ returns; its fields decide whether pooler_output is in it.
    output_class: ClassVar[Type[ModelOutput]] = BaseModelOutput
    # Whether the family has token type embeddings (DistilBERT has none and ignores token_type_ids).
    uses_token_types: ClassVar[bool] = True

    def __init__(self, config: Any, encoder: Any, num_threads: Optional[int] = None) -> None:
        self.config = config
        self._encoder = encoder
        self._core_config = self._core_config_for(config)
        self._num_threads = check_num_threads(num_threads)

    # ------------------------------------------------------------------ loading
    @classmethod
    def _resolve(
        cls,
        model_dir: PathLike,
        config: Optional[PretrainedConfig],
        num_threads: Optional[int],
        isa: Optional[str],
        *,
        local_files_only: bool = False,
        revision: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
    ) -> Tuple[str, Any, int, str]:
        """Finds the directory (a Hub id via the cache), checks the arguments, reads the config unless given."""
        model_dir = resolve_model_dir(
            model_dir, local_files_only=local_files_only, revision=revision, cache_dir=cache_dir
        )
        if config is None:
            config = cls.config_class.from_pretrained(model_dir)
        elif not isinstance(config, cls.config_class):
            raise TypeError(
                f"config must be a bertcore.{cls.config_class.__name__} for {cls.__name__}, "
                f"got {type(config).__name__}"
            )
        return model_dir, config, check_num_threads(num_threads), resolve_isa(isa)

    @classmethod
    def _open_checkpoint(cls, model_dir: str) -> Checkpoint:
        return Checkpoint(find_checkpoint(model_dir), strip_prefixes=(cls.base_model_prefix + ".",))

    @classmethod
    def _load(
        cls: Type[_M],
        model_dir: PathLike,
        config: Optional[PretrainedConfig],
        num_threads: Optional[int],
        isa: Optional[str],
        *,
        local_files_only: bool = False,
        revision: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
        **options: Any,
    ) -> _M:
        directory, cfg, threads, isa_name = cls._resolve(
            model_dir,
            config,
            num_threads,
            isa,
            local_files_only=local_files_only,
            revision=revision,
            cache_dir=cache_dir,
        )
        with cls._open_checkpoint(directory) as ckpt:
            encoder = cls._build_encoder(cfg, ckpt, isa_name, **options)
        return cls(cfg, encoder, threads)

    @classmethod
    def _core_config_for(cls, config: Any) -> Dict[str, Any]:  # pragma: no cover - every family implements it
        """The config dict ``_core.Encoder`` takes for this family's config (see ``loading.core_config``)."""
        raise NotImplementedError

    @classmethod
    def _build_encoder(
        cls, config: Any, ckpt: Checkpoint, isa: str, **options: Any
    ) -> Any:  # pragma: no cover - every family implements it
        """Checks the tensors and returns the ``_core.Encoder``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ properties
    @property
    def num_threads(self) -> int:
        """Threads used per forward call."""
        return self._num_threads

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        self._num_threads = check_num_threads(value)

    @property
    def isa(self) -> str:
        """The kernel family this model's weights were packed for."""
        return str(self._encoder.isa)

    @property
    def has_pooler(self) -> bool:
        return bool(self._encoder.has_pooler)

    def __repr__(self) -> str:
        c = self._core_config
        return (
            f"{type(self).__name__}(hidden_size={c['hidden']}, num_hidden_layers={c['layers']}, "
            f"num_attention_heads={c['heads']}, intermediate_size={c['intermediate']}, "
            f"hidden_act={c['activation']!r}, pooler={self.has_pooler}, isa={self.isa!r}, "
            f"num_threads={self.num_threads})"
        )

    # ------------------------------------------------------------------ forward
    def _flags(
        self,
        output_attentions: Optional[bool],
        output_hidden_states: Optional[bool],
        return_dict: Optional[bool],
    ) -> Tuple[bool, bool, bool]:
        """The output options, defaulting to config.json's (as transformers does)."""
        extra = self.config.extra

        def flag(value: Optional[bool], name: str, default: bool) -> bool:
            return bool(extra.get(name, default) if value is None else value)

        return (
            flag(output_attentions, "output_attentions", False),
            flag(output_hidden_states, "output_hidden_states", False),
            flag(return_dict, "return_dict", True),
        )

    def _call(
        self,
        input_ids: Any,
        attention_mask: Any,
        token_type_ids: Any,
        position_ids: Any,
        output_attentions: Optional[bool],
        output_hidden_states: Optional[bool],
        return_dict: Optional[bool],
        skip_padding: bool,
        kwargs: Dict[str, Any],
    ) -> Any:
        """The whole forward: options, one core call, the family's output object (or its tuple)."""
        attn, hidden, as_dict = self._flags(output_attentions, output_hidden_states, return_dict)
        enc = self._encode(
            input_ids, attention_mask, token_type_ids, position_ids, attn, hidden, skip_padding, kwargs
        )
        fields: Dict[str, Any] = {
            "last_hidden_state": enc.last_hidden_state,
            "hidden_states": enc.hidden_states,
            "attentions": enc.attentions,
        }
        declared = getattr(self.output_class, "__dataclass_fields__", {})
        if "pooler_output" in declared:
            fields["pooler_output"] = enc.pooler_output
        if attn and "cross_attentions" in declared:
            # As transformers 5: an encoder asked for attentions returns an empty cross_attentions tuple (a key,
            # and an item of to_tuple()).
            fields["cross_attentions"] = ()
        out = self.output_class(**fields)
        return out if as_dict else out.to_tuple()

    def _check_kwargs(self, kwargs: Dict[str, Any]) -> None:
        for name in UNSUPPORTED_ARGS:
            if kwargs.get(name) is not None:
                raise ValueError(
                    f"{name} is not supported by bertcore's {type(self).__name__} "
                    "(encoder-only, token ids in)"
                )
            kwargs.pop(name, None)
        if kwargs:
            raise TypeError(f"unexpected argument(s): {', '.join(sorted(kwargs))}")

    def _default_position_ids(self, ids: IntArray) -> IntArray:
        """Position ids when none are passed: 0 .. seq-1 (RoBERTa counts from its padding index instead)."""
        batch, seq = ids.shape
        limit = self._core_config["max_positions"]
        if seq > limit:
            raise ValueError(
                f"sequence length {seq} exceeds max_position_embeddings ({limit}); "
                "truncate the input, e.g. tokenizer(..., truncation=True)"
            )
        return np.ascontiguousarray(np.broadcast_to(np.arange(seq, dtype=np.int64), (batch, seq)))

    def _encode(
        self,
        input_ids: Any,
        attention_mask: Any,
        token_type_ids: Any,
        position_ids: Any,
        output_attentions: bool,
        output_hidden_states: bool,
        skip_padding: bool,
        kwargs: Dict[str, Any],
    ) -> Encoded:
        """Validates the inputs, runs the core once and returns its arrays.

        ``skip_padding`` packs the real tokens (see ``batching.py``): outputs at padded positions are then
        zeros except position 0, which the pooler and the classification heads read and which is always
        computed.
        """
        self._check_kwargs(kwargs)
        if input_ids is None:
            raise ValueError("input_ids is required")
        ids = as_int_matrix(input_ids, "input_ids")
        batch, seq = ids.shape
        if batch == 0 or seq == 0:
            raise ValueError(f"input_ids is empty (shape {ids.shape}); pass at least one token per sequence")
        keep = attention_mask_bool(attention_mask, (batch, seq))
        if token_type_ids is None or not self.uses_token_types:
            types = np.zeros((batch, seq), dtype=np.int64)
        else:
            types = _broadcast(as_int_matrix(token_type_ids, "token_type_ids"), batch, seq, "token_type_ids")
        if position_ids is None:
            positions = self._default_position_ids(ids)
        else:
            positions = _broadcast(as_int_matrix(position_ids, "position_ids"), batch, seq, "position_ids")

        tokens = make_token_batch(ids, types, positions, keep, bool(skip_padding))
        new = np.zeros if tokens.skipped else np.empty
        h = self._core_config["hidden"]
        layers = self._core_config["layers"]
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
            heads = self._core_config["heads"]
            attentions = [np.zeros((batch, heads, seq, seq), dtype=np.float32) for _ in range(layers)]
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
        return Encoded(
            last_hidden,
            pooled,
            tuple(hidden_states) if hidden_states is not None else None,
            tuple(attentions) if attentions is not None else None,
        )


def _broadcast(array: IntArray, batch: int, seq: int, name: str) -> IntArray:
    if array.shape == (batch, seq):
        return array
    if array.shape == (1, seq):
        return np.ascontiguousarray(np.broadcast_to(array, (batch, seq)))
    raise ValueError(f"{name} has shape {array.shape}, expected ({batch}, {seq}) like input_ids")


class PlainLoading(EncoderModel):
    """``from_pretrained`` for the families without loading options (DistilBERT, ELECTRA); the families with a
    pooler (BERT, RoBERTa, ALBERT) define theirs with ``add_pooling_layer`` second, as transformers has it."""

    @classmethod
    def from_pretrained(
        cls: Type[_M],
        model_dir: PathLike,
        num_threads: Optional[int] = None,
        isa: Optional[str] = None,
        config: Optional[PretrainedConfig] = None,
        *,
        local_files_only: bool = False,
        revision: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
    ) -> _M:
        """Loads a Hugging Face model directory or Hub id (config.json + safetensors or PyTorch weights).

        Args:
            model_dir: the model directory, or a Hugging Face Hub id such as "org/name".
            num_threads: threads per forward call; default: OMP_NUM_THREADS, else the usable CPUs.
            isa: kernel family, "scalar", "avx2" or "avx512"; default: BERTCORE_ISA, else the best supported.
            config: use this config instead of the directory's config.json.
            local_files_only, revision, cache_dir: for a Hub id, where and what to look up (see
                :func:`bertcore.hub.resolve_model_dir`).

        Raises:
            FileNotFoundError: the directory, config.json or the weights are missing.
            ValueError: the config is invalid or the weights do not match it (every problem is named).
        """
        return cls._load(
            model_dir,
            config,
            num_threads,
            isa,
            local_files_only=local_files_only,
            revision=revision,
            cache_dir=cache_dir,
        )
