"""The one loading and call path of every encoder family, driven by the family's :class:`EncoderSpec`.

A family's public class (``BertModel``, ...) only names its spec; :class:`EncoderModel` resolves the
directory, config, ISA and threads, packs the checkpoint (``loading.py``), validates the inputs, lays out the
token batch (padding skipped or not) and runs the whole encoder in one native call.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, NamedTuple, Optional, Tuple, Type, TypeVar, Union

import numpy as np
import numpy.typing as npt

from .. import _core
from ..batching import TokenBatch, make_token_batch
from ..config import PathLike, PretrainedConfig
from ..cpu import default_num_threads
from ..hub import resolve_model_dir
from ..inputs import as_int_matrix, attention_mask_bool
from ..memory import check_fits
from ..outputs import ModelOutput
from ..weights import Checkpoint, find_checkpoint
from .loading import build_encoder, check_dtype
from .spec import AFTER_PADDING, EncoderSpec

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
    """Base class of bertcore's encoder models: loading, properties and the call path of every family.

    A subclass sets ``spec``. Build a model with :meth:`from_pretrained`; the weights are packed once for the
    kernel family chosen at load time (``isa``, else ``BERTCORE_ISA``, else the best this CPU supports), and
    each call runs the whole encoder in one native call with the GIL released.
    """

    spec: ClassVar[EncoderSpec]

    def __init__(
        self, config: Any, encoder: Any, num_threads: Optional[int] = None, dtype: str = "float32"
    ) -> None:
        self.config = config
        self._encoder = encoder
        self._num_threads = check_num_threads(num_threads)
        self._dtype = dtype

    @property
    def base_model_prefix(self) -> str:
        """transformers' attribute name of the encoder inside a task model (``bert``, ``roberta``, ...)."""
        return self.spec.prefix

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
            config = cls.spec.config_class.from_pretrained(model_dir)
        elif not isinstance(config, cls.spec.config_class):
            raise TypeError(
                f"config must be a bertcore.{cls.spec.config_class.__name__} for {cls.__name__}, "
                f"got {type(config).__name__}"
            )
        return model_dir, config, check_num_threads(num_threads), resolve_isa(isa)

    @classmethod
    def _open_checkpoint(cls, model_dir: str) -> Checkpoint:
        return Checkpoint(find_checkpoint(model_dir), strip_prefixes=(cls.spec.prefix + ".",))

    @classmethod
    def from_pretrained(
        cls: Type[_M],
        model_dir: PathLike,
        add_pooling_layer: bool = True,
        num_threads: Optional[int] = None,
        isa: Optional[str] = None,
        config: Optional[PretrainedConfig] = None,
        *,
        dtype: str = "float32",
        local_files_only: bool = False,
        revision: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
    ) -> _M:
        """Loads a Hugging Face model directory or Hub id (config.json + safetensors or PyTorch weights).

        Args:
            model_dir: the model directory, or a Hugging Face Hub id such as "org/name".
            add_pooling_layer: build the pooler (dense + tanh on the first token), for the families that have
                one. When the checkpoint has no pooler weights, ``pooler_output`` is None and a warning says so
                (transformers would use random weights).
            num_threads: threads per forward call; default: OMP_NUM_THREADS, else the CPUs this process may use.
            isa: kernel family, "scalar", "avx2" or "avx512"; default: BERTCORE_ISA, else the best supported.
            config: use this config instead of the directory's config.json.
            dtype: how the dense layers' weights are stored and computed: "float32" (exact, the default),
                "bfloat16" (bf16 weights and GEMM inputs, fp32 accumulation) or "int8" (weights quantized per
                output channel, activations per token, int32 accumulation). LayerNorm, softmax, residuals and
                the pooler stay fp32; the word embeddings are stored in the same precision (int8 with one
                scale per row).
            local_files_only, revision, cache_dir: for a Hub id, where and what to look up (see
                :func:`bertcore.hub.resolve_model_dir`).

        Returns:
            The model, ready to call.

        Raises:
            FileNotFoundError: the directory, config.json or the weights are missing.
            ValueError: the config is invalid or the weights do not match it (every problem is named).
        """
        return cls._load(
            model_dir,
            config,
            num_threads,
            isa,
            "optional" if add_pooling_layer else "none",
            dtype=dtype,
            local_files_only=local_files_only,
            revision=revision,
            cache_dir=cache_dir,
        )[0]

    @classmethod
    def _load(
        cls: Type[_M],
        model_dir: PathLike,
        config: Optional[PretrainedConfig],
        num_threads: Optional[int],
        isa: Optional[str],
        pooler: str,
        read_more: Any = None,
        dtype: str = "float32",
        **where: Any,
    ) -> Tuple[_M, Any]:
        """The model, and what ``read_more(checkpoint, config)`` read from the open checkpoint (a task head)."""
        check_dtype(dtype)
        directory, cfg, threads, isa_name = cls._resolve(model_dir, config, num_threads, isa, **where)
        with cls._open_checkpoint(directory) as ckpt:
            encoder = build_encoder(cls.spec, cfg, ckpt, isa_name, pooler, cls.__name__, dtype)
            extra = read_more(ckpt, cfg) if read_more is not None else None
        return cls(cfg, encoder, threads, dtype), extra

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
    def dtype(self) -> str:
        """How the dense layers' weights are stored: "float32", "bfloat16" or "int8"."""
        return self._dtype

    @property
    def has_pooler(self) -> bool:
        return bool(self._encoder.has_pooler)

    def __repr__(self) -> str:
        c = self.config
        return (
            f"{type(self).__name__}(hidden_size={c.hidden_size}, num_hidden_layers={c.num_hidden_layers}, "
            f"num_attention_heads={c.num_attention_heads}, intermediate_size={c.intermediate_size}, "
            f"hidden_act={c.hidden_act!r}, pooler={self.has_pooler}, dtype={self.dtype!r}, isa={self.isa!r}, "
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
        *,
        task_type_ids: Any = None,
        **kwargs: Any,
    ) -> Union[ModelOutput, Tuple[Any, ...]]:
        """Runs the encoder, like the ``forward`` of transformers' model of this family.

        Args:
            input_ids: token ids, (batch, seq) integers: numpy array, nested lists or a torch tensor.
            attention_mask: (batch, seq); nonzero = attend. Default: all ones.
            token_type_ids: (batch, seq) segment ids. Default: zeros. Families without token types
                (DistilBERT) ignore them, as transformers does.
            position_ids: (batch, seq) or (1, seq) positions. Default: 0 .. seq-1; for the RoBERTa family,
                made from ``input_ids`` as transformers makes them: ``pad_token_id`` at padding tokens,
                ``pad_token_id + 1``, ``+ 2``, ... at the others.
            output_attentions: also return each layer's post-softmax attention, (batch, heads, seq, seq).
            output_hidden_states: also return the first layer's input (the embeddings, after the projection
                of factorised embeddings) and every layer step's output.
            return_dict: False returns the plain tuple of the non-None fields.
            use_cache: accepted for compatibility; an encoder keeps no cache.
            skip_padding: compute only the positions where attention_mask is 1 (the dense layers run on the
                real tokens of all sequences packed together, attention per sequence over its real tokens).
                Outputs at padded positions are then zeros (last_hidden_state, hidden_states, and attention
                rows of padded queries), except position 0, which the pooler reads and which is always
                computed; real positions and pooler_output are unchanged. False computes every position
                exactly as transformers does.
            task_type_ids: (batch, seq) ERNIE task type ids, for checkpoints with ``use_task_id``. Default:
                zeros.

        Returns:
            The family's output class (``spec.output_class``) with float32 arrays, or its tuple.

        Raises:
            ValueError / TypeError: bad shapes, dtypes or index values, with what to change.
        """
        attn, hidden, as_dict = self._flags(output_attentions, output_hidden_states, return_dict)
        enc = self._encode(
            input_ids,
            attention_mask,
            token_type_ids,
            position_ids,
            task_type_ids,
            attn,
            hidden,
            skip_padding,
            kwargs,
        )
        output_class = self.spec.output_class
        fields: Dict[str, Any] = {
            "last_hidden_state": enc.last_hidden_state,
            "hidden_states": enc.hidden_states,
            "attentions": enc.attentions,
        }
        declared = getattr(output_class, "__dataclass_fields__", {})
        if "pooler_output" in declared:
            fields["pooler_output"] = enc.pooler_output
        if attn and "cross_attentions" in declared:
            # As transformers 5: an encoder asked for attentions returns an empty cross_attentions tuple (a key,
            # and an item of to_tuple()).
            fields["cross_attentions"] = ()
        out = output_class(**fields)
        return out if as_dict else out.to_tuple()

    forward = __call__

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
        """Position ids when none are passed, by the family's rule (see ``spec.positions``)."""
        batch, seq = ids.shape
        limit = self.config.max_position_embeddings
        relative = self.spec.relative_attention(self.config) != 0
        if self.spec.positions == AFTER_PADDING and not relative:
            pad = self.config.pad_token_id
            if pad is None:
                raise ValueError(
                    f"config pad_token_id is None, so {type(self).__name__} cannot make its default position "
                    "ids (they count from the padding index); pass position_ids"
                )
            positions = position_ids_after_padding(ids, int(pad))
            top = int(positions.max())
            if top >= limit:
                raise ValueError(
                    f"sequence length {seq} needs position id {top}, but max_position_embeddings is {limit} "
                    f"(positions start at pad_token_id + 1 = {pad + 1}); truncate the input, e.g. "
                    "tokenizer(..., truncation=True)"
                )
            return positions
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
        task_type_ids: Any,
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
        types = self._ids_or_zeros(token_type_ids, "token_type_ids", batch, seq, self.spec.token_types)
        has_tasks = self.spec.task_type_vocab(self.config) > 0
        if task_type_ids is not None and not has_tasks:
            raise ValueError(
                f"task_type_ids given, but this {type(self).__name__} has no task type embeddings "
                "(config.json's use_task_id is not set)"
            )
        tasks = (
            self._ids_or_zeros(task_type_ids, "task_type_ids", batch, seq, has_tasks) if has_tasks else None
        )
        if position_ids is None:
            positions = self._default_position_ids(ids)
        else:
            positions = _broadcast(as_int_matrix(position_ids, "position_ids"), batch, seq, "position_ids")

        tokens = make_token_batch(ids, types, tasks, positions, keep, bool(skip_padding))
        core = self._encoder.config
        h, layers = core.hidden, core.layers
        what = f"a batch of {batch} x {seq} tokens"
        advice = "pass fewer sequences per call (a smaller batch_size)"
        if output_attentions or output_hidden_states:
            advice += " or leave output_attentions / output_hidden_states off"
        outputs = batch * seq * h * (layers + 1 if output_hidden_states else 1) + batch * h
        if output_attentions:
            outputs += layers * batch * core.heads * seq * seq
        rows = len(tokens.ids)
        scratch = self._encoder.scratch_bytes(rows=rows, batch=batch, seq=seq, num_threads=self._num_threads)
        check_fits(4 * outputs + max(scratch - self._encoder.workspace_bytes, 0), what, advice)
        try:
            return self._run(tokens, batch, seq, bool(output_hidden_states), bool(output_attentions))
        except MemoryError as exc:
            raise MemoryError(f"out of memory running {what}: {exc}; {advice}") from exc

    def _run(
        self, tokens: TokenBatch, batch: int, seq: int, output_hidden_states: bool, output_attentions: bool
    ) -> Encoded:
        """Allocates the outputs and runs the core on a built token batch."""
        new = np.zeros if tokens.skipped else np.empty
        core = self._encoder.config
        h, layers = core.hidden, core.layers
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
            attentions = [np.zeros((batch, core.heads, seq, seq), dtype=np.float32) for _ in range(layers)]
        self._encoder.forward(
            ids=tokens.ids,
            type_ids=tokens.type_ids,
            task_ids=tokens.task_ids,
            pos_ids=tokens.pos_ids,
            row_pos=tokens.row_pos,
            segments=tokens.segments,
            key_mask_add=tokens.key_mask_add,
            seq=seq,
            last_hidden=last_hidden,
            pooled=pooled,
            hidden_states=hidden_states,
            attentions=attentions,
            num_threads=self._num_threads,
        )
        return Encoded(
            last_hidden,
            pooled,
            tuple(hidden_states) if hidden_states is not None else None,
            tuple(attentions) if attentions is not None else None,
        )

    @staticmethod
    def _ids_or_zeros(values: Any, name: str, batch: int, seq: int, used: bool) -> IntArray:
        """An optional id input as [batch, seq] int64: zeros when absent or when the family ignores it."""
        if values is None or not used:
            return np.zeros((batch, seq), dtype=np.int64)
        return _broadcast(as_int_matrix(values, name), batch, seq, name)


def position_ids_after_padding(ids: IntArray, padding_idx: int) -> IntArray:
    """transformers' ``create_position_ids_from_input_ids``: pad -> padding_idx, others padding_idx + 1 on"""
    mask = (ids != padding_idx).astype(np.int64)
    return np.ascontiguousarray(np.cumsum(mask, axis=1) * mask + padding_idx)


def _broadcast(array: IntArray, batch: int, seq: int, name: str) -> IntArray:
    if array.shape == (batch, seq):
        return array
    if array.shape == (1, seq):
        return np.ascontiguousarray(np.broadcast_to(array, (batch, seq)))
    raise ValueError(f"{name} has shape {array.shape}, expected ({batch}, {seq}) like input_ids")
