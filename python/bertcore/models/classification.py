"""Sequence classification heads (``<Family>ForSequenceClassification``): a few dense layers on one vector.

The encoder runs in the core; the head is tiny (a [batch, hidden] input), so it runs in numpy, in float64,
and the logits are returned as float32. The loss, when ``labels`` are given, follows transformers: the
problem type from config.json, else inferred from ``num_labels`` and the labels' dtype.
"""

from __future__ import annotations

from typing import Any, ClassVar, List, Optional, Tuple, Type, TypeVar, Union

import numpy as np
import numpy.typing as npt

from ..config import PathLike, PretrainedConfig
from ..inputs import as_numpy
from ..outputs import SequenceClassifierOutput
from ..activations import ACTIVATIONS
from ..weights import Checkpoint
from .base import EncoderModel
from .spec import ClassifierSpec

Float64Array = npt.NDArray[np.float64]
_S = TypeVar("_S", bound="SequenceClassifier")

# Head activations as transformers' configs name them -> the torch.nn class names of sentence_modules' table
# (transformers' "gelu" is the exact erf form, torch.nn.GELU's default).
_HEAD_ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "gelu": "GELU"}


def _activation(name: Optional[str], x: Float64Array) -> Float64Array:
    if name is None:
        return x
    if name not in _HEAD_ACTIVATIONS:
        raise ValueError(f"unknown head activation {name!r}")
    return ACTIVATIONS[_HEAD_ACTIVATIONS[name]](x)


def classification_loss(
    logits: npt.NDArray[np.float32], labels: Any, num_labels: int, problem_type: Optional[str]
) -> npt.NDArray[np.float32]:
    """transformers' sequence classification loss, as a 0-d float32 array.

    ``problem_type`` None is inferred as transformers does: one label -> regression; several and int32/int64
    labels -> single-label (cross entropy, label -100 ignored); otherwise multi-label (BCE with logits).
    """
    y = np.asarray(as_numpy(labels))
    if y.dtype == object:
        raise TypeError("labels must be a numeric array")
    x = logits.astype(np.float64)
    loss: Any
    if problem_type is None:
        if num_labels == 1:
            problem_type = "regression"
        elif num_labels > 1 and y.dtype in (np.int64, np.int32):
            problem_type = "single_label_classification"
        else:
            problem_type = "multi_label_classification"
    if problem_type == "regression":
        if num_labels == 1:
            loss = np.mean((x.squeeze() - y.astype(np.float64).squeeze()) ** 2)
        else:
            loss = np.mean((x - y.astype(np.float64)) ** 2)
    elif problem_type == "single_label_classification":
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(f"single-label classification needs integer labels, got dtype {y.dtype}")
        flat_x = x.reshape(-1, num_labels)
        flat_y = y.reshape(-1).astype(np.int64)
        if flat_y.shape[0] != flat_x.shape[0]:
            raise ValueError(f"labels has {flat_y.shape[0]} entries for a batch of {flat_x.shape[0]}")
        valid = flat_y != -100
        if np.any((flat_y[valid] < 0) | (flat_y[valid] >= num_labels)):
            raise ValueError(f"labels must be in [0, {num_labels}) or -100 (ignored), got {flat_y.tolist()}")
        m = flat_x.max(axis=1, keepdims=True)
        log_z = (m + np.log(np.exp(flat_x - m).sum(axis=1, keepdims=True)))[:, 0]
        picked = flat_x[np.flatnonzero(valid), flat_y[valid]]
        loss = np.mean(log_z[valid] - picked) if valid.any() else np.nan
    elif problem_type == "multi_label_classification":
        t = y.astype(np.float64)
        loss = np.mean(np.maximum(x, 0.0) - x * t + np.log1p(np.exp(-np.abs(x))))
    else:
        raise ValueError(f"unknown problem_type {problem_type!r}")
    return np.asarray(loss, dtype=np.float32)


class SequenceClassifier:
    """Base of the ``<Family>ForSequenceClassification`` classes: an encoder plus the small head its spec
    names (``spec.classifier``). Subclasses set ``base_class``, the family's encoder model class. The encoder
    is reachable as ``model.<base_model_prefix>`` (e.g. ``model.bert``), as in transformers.
    """

    base_class: ClassVar[Type[EncoderModel]] = EncoderModel

    def __init__(self, base: EncoderModel, head_weights: List[Tuple[Float64Array, Float64Array]]) -> None:
        self.base_model = base
        self._head_weights = head_weights
        setattr(self, base.base_model_prefix, base)

    @classmethod
    def head_spec(cls) -> ClassifierSpec:
        return cls.base_class.spec.classifier

    @property
    def config(self) -> Any:
        return self.base_model.config

    @property
    def num_labels(self) -> int:
        return int(self._head_weights[-1][0].shape[0])

    @property
    def num_threads(self) -> int:
        """Threads used per forward call."""
        return self.base_model.num_threads

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        self.base_model.num_threads = value

    @property
    def isa(self) -> str:
        return self.base_model.isa

    @property
    def dtype(self) -> str:
        return self.base_model.dtype

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_labels={self.num_labels}, base={self.base_model!r})"

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls: Type[_S],
        model_dir: PathLike,
        num_threads: Optional[int] = None,
        isa: Optional[str] = None,
        config: Optional[PretrainedConfig] = None,
        *,
        dtype: str = "float32",
        local_files_only: bool = False,
        revision: Optional[str] = None,
        cache_dir: Optional[PathLike] = None,
    ) -> _S:
        """Loads a ``...ForSequenceClassification`` checkpoint (a cross-encoder reranker, a classifier, ...).

        Args:
            model_dir: the model directory (config.json + safetensors or PyTorch weights), or a Hub id.
            num_threads: threads per forward call; default: OMP_NUM_THREADS, else the usable CPUs.
            isa: kernel family, "scalar", "avx2" or "avx512"; default: BERTCORE_ISA, else the best supported.
            config: use this config instead of the directory's config.json.
            dtype: the encoder's dense layers: "float32", "bfloat16" or "int8" (see the model classes'
                ``from_pretrained``); the head itself runs in float64.
            local_files_only, revision, cache_dir: for a Hub id, where and what to look up (see
                :func:`bertcore.hub.resolve_model_dir`).

        Returns:
            The model, ready to call.

        Raises:
            FileNotFoundError: the directory, config.json or the weights are missing.
            ValueError: the weights do not match the config, or the head is missing (every tensor is named).
        """
        head = cls.head_spec()
        base, weights = cls.base_class._load(
            model_dir,
            config,
            num_threads,
            isa,
            "required" if head.input == "pooler" else "none",
            lambda ckpt, cfg: cls._read_head(ckpt, cfg.hidden_size, cfg.num_labels),
            dtype=dtype,
            local_files_only=local_files_only,
            revision=revision,
            cache_dir=cache_dir,
        )
        return cls(base, weights)

    @classmethod
    def _read_head(
        cls, ckpt: Checkpoint, hidden: int, num_labels: int
    ) -> List[Tuple[Float64Array, Float64Array]]:
        stages = cls.head_spec().stages
        problems: List[str] = []
        for i, stage in enumerate(stages):
            out = num_labels if i == len(stages) - 1 else hidden
            for name, shape in ((stage.name + ".weight", (out, hidden)), (stage.name + ".bias", (out,))):
                if not ckpt.has_raw(name):
                    problems.append(f"missing tensor {name!r} (expected shape {list(shape)})")
                elif ckpt.raw_shape(name) != shape:
                    problems.append(
                        f"tensor {name!r} has shape {list(ckpt.raw_shape(name))}, expected {list(shape)}"
                    )
        if problems:
            raise ValueError(
                f"the checkpoint does not hold {cls.__name__}'s classification head:\n  "
                + "\n  ".join(problems)
                + f"\nnum_labels is {num_labels} (the length of config.json's id2label). "
                "Is this a base model rather than a sequence classification checkpoint?"
            )

        def read(name: str) -> Float64Array:
            return ckpt.get_raw(name).astype(np.float64)

        return [(read(f"{s.name}.weight"), read(f"{s.name}.bias")) for s in stages]

    # ------------------------------------------------------------------ forward
    def logits_from(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The head alone: logits (batch, num_labels) from its input vectors (batch, hidden)."""
        x = np.asarray(features, dtype=np.float64)
        for stage, (w, b) in zip(self.head_spec().stages, self._head_weights):
            x = _activation(stage.activation, x @ w.T + b)
        return x.astype(np.float32)

    def __call__(
        self,
        input_ids: Any = None,
        attention_mask: Any = None,
        token_type_ids: Any = None,
        position_ids: Any = None,
        labels: Any = None,
        output_attentions: Optional[bool] = None,
        output_hidden_states: Optional[bool] = None,
        return_dict: Optional[bool] = None,
        skip_padding: bool = True,
        *,
        task_type_ids: Any = None,
        **kwargs: Any,
    ) -> Union[SequenceClassifierOutput, Tuple[Any, ...]]:
        """Runs the encoder and the head, like transformers' ``...ForSequenceClassification.forward``.

        Args:
            input_ids, attention_mask, token_type_ids, position_ids, task_type_ids: as for the encoder model.
            labels: (batch,) class indices, or (batch, num_labels) targets; gives ``loss``.
            output_attentions, output_hidden_states: also return the encoder's attentions / hidden states.
            return_dict: False returns the plain tuple of the non-None fields.
            skip_padding: as for the encoder model; the logits do not depend on it.

        Returns:
            ``SequenceClassifierOutput`` with float32 ``logits`` (batch, num_labels) (or its tuple).
        """
        base = self.base_model
        kwargs.pop("use_cache", None)
        attn, hidden, as_dict = base._flags(output_attentions, output_hidden_states, return_dict)
        enc = base._encode(
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
        if self.head_spec().input == "pooler":
            if enc.pooler_output is None:  # pragma: no cover - loading requires the pooler
                raise RuntimeError("the encoder has no pooler")
            features = enc.pooler_output
        else:
            features = enc.last_hidden_state[:, 0]
        logits = self.logits_from(features)
        loss = None
        if labels is not None:
            loss = classification_loss(logits, labels, self.num_labels, self.config.problem_type)
        out = SequenceClassifierOutput(
            loss=loss, logits=logits, hidden_states=enc.hidden_states, attentions=enc.attentions
        )
        return out if as_dict else out.to_tuple()

    forward = __call__
