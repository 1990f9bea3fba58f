"""BERT: transformers' ``BertModel`` and ``BertForSequenceClassification`` on the bertcore core."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Type, TypeVar, Union

from .. import _core
from ..config import BertConfig, PathLike, PretrainedConfig
from ..outputs import BaseModelOutputWithPoolingAndCrossAttentions
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

# BertLayer's tensors; RoBERTa and ELECTRA name theirs the same way.
BERT_LAYER = LayerLayout(
    query="attention.self.query",
    key="attention.self.key",
    value="attention.self.value",
    attn_out="attention.output.dense",
    attn_norm="attention.output.LayerNorm",
    ffn_in="intermediate.dense",
    ffn_out="output.dense",
    ffn_norm="output.LayerNorm",
)
POOLER = "pooler.dense"
DISTANCE = "attention.self.distance_embedding.weight"  # transformers 4.x relative positions
_M = TypeVar("_M", bound="BertLayoutModel")


def bert_expected_tensors(config: Any, with_pooler: bool) -> Dict[str, Shape]:
    """Normalised tensor name -> shape for a BertModel (or RobertaModel) with this config."""
    h = config.hidden_size
    spec = embeddings_expected(h, config.vocab_size, config.max_position_embeddings, config.type_vocab_size)
    relative = getattr(config, "relative_attention", 0)
    for i in range(config.num_hidden_layers):
        spec.update(BERT_LAYER.expected(f"encoder.layer.{i}.", h, config.intermediate_size))
        if relative:
            head_dim = h // config.num_attention_heads
            spec[f"encoder.layer.{i}.{DISTANCE}"] = (2 * config.max_position_embeddings - 1, head_dim)
    if with_pooler:
        spec.update(linear_expected(POOLER, h, h))
    return spec


class BertLayoutModel(EncoderModel):
    """Loading for the encoders laid out as transformers' BertModel (BERT and the RoBERTa family): word,
    position and token type embeddings, ``encoder.layer.<i>`` layers, an optional ``pooler.dense``."""

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls: Type[_M],
        model_dir: PathLike,
        add_pooling_layer: bool = True,
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
            add_pooling_layer: build the pooler (dense + tanh on the first token). When the checkpoint has no
                pooler weights, ``pooler_output`` is None and a warning says so (transformers would use
                random weights).
            num_threads: threads per forward call; default: OMP_NUM_THREADS, else the CPUs this process may use.
            isa: kernel family, "scalar", "avx2" or "avx512"; default: BERTCORE_ISA, else the best supported.
            config: use this config instead of the directory's config.json.
            local_files_only, revision, cache_dir: for a Hub id, where and what to look up (see
                :func:`bertcore.hub.resolve_model_dir`).

        Returns:
            The model, ready to call.

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
            layers=config.num_hidden_layers,
            intermediate=config.intermediate_size,
            vocab=config.vocab_size,
            max_positions=config.max_position_embeddings,
            type_vocab=config.type_vocab_size,
            eps=config.layer_norm_eps,
            activation=config.hidden_act,
            relative_attention=getattr(config, "relative_attention", 0),
        )

    @classmethod
    def _build_encoder(cls, config: Any, ckpt: Checkpoint, isa: str, pooler: str = "optional") -> Any:
        """``pooler``: "optional" (warn, go without when missing), "required" (a head reads it) or "none"."""
        pooler_names = [POOLER + ".weight", POOLER + ".bias"]
        expected = bert_expected_tensors(config, with_pooler=pooler != "none")
        missing = check_checkpoint(
            ckpt,
            expected,
            cls.__name__,
            optional=pooler_names if pooler == "optional" else (),
            ignore_prefixes=("pooler.",) if pooler == "none" else (),
        )
        with_pooler = pooler_in_use(pooler_names, missing, pooler != "none")
        w = WeightPacker(ckpt, isa)
        word = w.table("embeddings.word_embeddings.weight")  # first: see WeightPacker.table
        relative = getattr(config, "relative_attention", 0)
        layers = []
        for i in range(config.num_hidden_layers):
            layer = w.layer(f"encoder.layer.{i}.", BERT_LAYER)
            if relative:
                # The distance table [2 P - 1, head_dim] is packed like a linear layer: q·E[t] is a GEMM.
                layer += (_core.PackedLinear(w.get(f"encoder.layer.{i}.{DISTANCE}"), None, isa=isa),)
            layers.append(layer)
        return _core.Encoder(
            cls._core_config_for(config),
            word,
            # With relative positions transformers 4.x keeps the absolute table but never adds it.
            None if relative else w.get("embeddings.position_embeddings.weight"),
            w.get("embeddings.token_type_embeddings.weight"),
            w.get("embeddings.LayerNorm.weight"),
            w.get("embeddings.LayerNorm.bias"),
            layers,
            w.linear(POOLER) if with_pooler else None,
            isa=isa,
        )


class BertModel(BertLayoutModel):
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

    config_class = BertConfig
    base_model_prefix = "bert"
    output_class = BaseModelOutputWithPoolingAndCrossAttentions
    config: BertConfig

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
        return self._call(  # type: ignore[no-any-return]
            input_ids, attention_mask, token_type_ids, position_ids,
            output_attentions, output_hidden_states, return_dict, skip_padding, kwargs,
        )  # fmt: skip

    forward = __call__


class BertForSequenceClassification(SequenceClassifier):
    """transformers' ``BertForSequenceClassification``: a linear layer on the pooler output.

    Example:
        >>> model = BertForSequenceClassification.from_pretrained("path/to/cross-encoder")
        >>> model(**tokenizer(queries, passages, padding=True, return_tensors="np")).logits.shape
        (8, 1)
    """

    base_class = BertModel
    head_input = "pooler"
    head = (HeadStage("classifier", None),)
