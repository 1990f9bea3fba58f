"""sentence-transformers' model layout, read without torch: ``modules.json`` and the modules after the
transformer (Pooling, Dense, Normalize, Dropout), plus ``config_sentence_transformers.json``.

A sentence-transformers directory lists its modules in ``modules.json``: first a ``Transformer`` (the encoder,
whose ``sentence_bert_config.json`` holds ``max_seq_length`` and ``do_lower_case``), then modules that each
read and write entries of a *features* dict. Here a module is a callable ``features -> features`` over numpy
arrays, computing what sentence-transformers 6.2's module of the same name computes:

- ``features["token_embeddings"]``: (batch, seq, hidden) float32, the encoder's last hidden state;
- ``features["attention_mask"]``: (batch, seq) int64, 1 at real tokens;
- ``features["prompt_length"]``: tokens of the prompt (special tokens included), or absent;
- ``features["sentence_embedding"]``: (batch, dim) float32, written by Pooling.

Sums are taken in float64 and rounded to float32 once, so results are at least as accurate as
sentence-transformers' float32 sums.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._json import read_json, read_json_object
from .hub import resolve_model_dir
from .weights import Checkpoint, find_checkpoint, require_dir

FloatArray = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
Features = Dict[str, Any]
Module = Callable[[Features], Features]

POOLING_MODES: Tuple[str, ...] = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

# sentence-transformers' legacy boolean keys, in the order their outputs are concatenated.
_LEGACY_POOLING_KEYS: Tuple[Tuple[str, str], ...] = (
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_mean_tokens", "mean"),
    ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
    ("pooling_mode_weightedmean_tokens", "weightedmean"),
    ("pooling_mode_lasttoken", "lasttoken"),
)

SENTENCE_CONFIG_FILES = (
    "sentence_bert_config.json",
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
    "sentence_camembert_config.json",
    "sentence_albert_config.json",
    "sentence_xlm-roberta_config.json",
)


# ------------------------------------------------------------------------------------------- activations


def _sigmoid(x: Float64Array) -> Float64Array:
    z = np.exp(-np.abs(x))
    out: Float64Array = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return out


def _softmax(x: Float64Array) -> Float64Array:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    out: Float64Array = e / e.sum(axis=-1, keepdims=True)
    return out


_erf = np.vectorize(math.erf, otypes=[np.float64])

# torch.nn activation classes by name, as numpy functions on float64 arrays. Softmax is over the last axis
# (what torch.nn.Softmax() with its implicit dim picks for a (batch, labels) array).
ACTIVATIONS: Dict[str, Callable[[Float64Array], Float64Array]] = {
    "Identity": lambda x: x,
    "Sigmoid": _sigmoid,
    "Tanh": np.tanh,
    "ReLU": lambda x: np.maximum(x, 0.0),
    "GELU": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "SiLU": lambda x: x * _sigmoid(x),
    "Softmax": _softmax,
    "LogSigmoid": lambda x: -np.logaddexp(0.0, -x),
}


def activation_from_path(path: str, where: str) -> Callable[[Float64Array], Float64Array]:
    """The numpy form of a torch activation named by its import path, e.g.
    ``"torch.nn.modules.activation.Sigmoid"``.

    Raises:
        ValueError: not a ``torch.`` path, or an activation bertcore does not implement.
    """
    if not isinstance(path, str) or not path.startswith("torch."):
        raise ValueError(
            f"{where}: activation {path!r} is not a torch.nn activation; bertcore runs "
            f"{', '.join(sorted(ACTIVATIONS))}"
        )
    name = path.rsplit(".", 1)[-1]
    if name not in ACTIVATIONS:
        raise ValueError(
            f"{where}: activation {path!r} is not supported; bertcore runs {', '.join(sorted(ACTIVATIONS))}"
        )
    return ACTIVATIONS[name]


# ------------------------------------------------------------------------------------------------ pooling


def pooling_mask(attention_mask: npt.NDArray[Any], prompt_length: Optional[int]) -> npt.NDArray[np.float64]:
    """The positions pooled: the attention mask, minus the first ``prompt_length`` real tokens of each row
    when a prompt is excluded (sentence-transformers' ``Pooling._exclude_prompt_from_mask``)."""
    mask = np.asarray(attention_mask).astype(np.float64)
    if prompt_length:
        pad_lengths = np.argmax(mask, axis=1)  # left padding before the first real token
        positions = np.arange(mask.shape[1])[None, :]
        mask[positions < (pad_lengths + prompt_length)[:, None]] = 0.0
    return mask


def pool(
    token_embeddings: FloatArray,
    attention_mask: npt.NDArray[Any],
    modes: Sequence[str],
    prompt_length: Optional[int] = None,
) -> FloatArray:
    """sentence-transformers 6.2's ``Pooling`` (padded path) in numpy: the modes' vectors, concatenated.

    Args:
        token_embeddings: (batch, seq, hidden) float32.
        attention_mask: (batch, seq), nonzero at real tokens; values at masked positions are never read
            (except ``cls`` of a row with nothing to pool, which reads the first position, as there).
        modes: names from ``POOLING_MODES``.
        prompt_length: exclude this many leading real tokens (the prompt) from pooling; None/0 keeps all.

    Returns:
        (batch, hidden * len(modes)) float32.
    """
    h = np.asarray(token_embeddings, dtype=np.float32)
    original = np.asarray(attention_mask)
    mask = pooling_mask(original, prompt_length)
    batch, seq, _ = h.shape
    rows = np.arange(batch)
    outputs: List[FloatArray] = []
    mean_sum: Optional[Float64Array] = None
    for mode in modes:
        if mode == "cls":
            outputs.append(h[rows, np.argmax(mask, axis=1)])
        elif mode == "max":
            outputs.append(np.where(mask[:, :, None] > 0, h, np.float32(-np.inf)).max(axis=1))
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            if mean_sum is None:
                mean_sum = np.einsum("bsh,bs->bh", h.astype(np.float64), mask)
            count = np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
            denominator = count if mode == "mean" else np.sqrt(count)
            outputs.append((mean_sum / denominator).astype(np.float32))
        elif mode == "weightedmean":
            pad_lengths = np.argmax(original != 0, axis=1) if original.size else np.zeros(batch, np.int64)
            weights = mask * (np.arange(1, seq + 1, dtype=np.float64)[None, :] - pad_lengths[:, None])
            total = np.einsum("bsh,bs->bh", h.astype(np.float64), weights)
            outputs.append((total / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)).astype(np.float32))
        elif mode == "lasttoken":
            flipped = mask[:, ::-1]
            last = seq - 1 - np.argmax(flipped, axis=1)
            last = np.where(flipped.max(axis=1) > 0, last, 0)
            outputs.append((h[rows, last] * mask[rows, last][:, None]).astype(np.float32))
        else:  # pragma: no cover - Pooling validates its modes
            raise ValueError(f"unknown pooling mode {mode!r}")
    return np.ascontiguousarray(np.concatenate(outputs, axis=-1), dtype=np.float32)


@dataclasses.dataclass(frozen=True)
class Pooling:
    """Token embeddings -> ``sentence_embedding``: one or several pooling modes, concatenated.

    Attributes:
        modes: names from ``POOLING_MODES``, in output order.
        include_prompt: False leaves the prompt's tokens out of pooling.
    """

    modes: Tuple[str, ...] = ("mean",)
    include_prompt: bool = True

    def __post_init__(self) -> None:
        modes = (self.modes,) if isinstance(self.modes, str) else tuple(self.modes)
        if not modes:
            raise ValueError(f"pooling needs at least one mode; valid modes: {', '.join(POOLING_MODES)}")
        for mode in modes:
            if mode not in POOLING_MODES:
                raise ValueError(f"invalid pooling mode {mode!r}; valid modes: {', '.join(POOLING_MODES)}")
        object.__setattr__(self, "modes", modes)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Pooling":
        """From a Pooling ``config.json``: ``pooling_mode`` (a name or list) or the legacy
        ``pooling_mode_*`` booleans (none set means mean), and ``include_prompt``."""
        mode: Union[str, Sequence[str], None] = config.get("pooling_mode")
        if mode is None:
            active = tuple(m for key, m in _LEGACY_POOLING_KEYS if config.get(key, False))
            mode = active or ("mean",)
        return cls(
            (mode,) if isinstance(mode, str) else tuple(mode), bool(config.get("include_prompt", True))
        )

    def output_dimension(self, hidden: int) -> int:
        return hidden * len(self.modes)

    def __call__(self, features: Features) -> Features:
        prompt_length = None if self.include_prompt else features.get("prompt_length")
        features["sentence_embedding"] = pool(
            features["token_embeddings"], features["attention_mask"], self.modes, prompt_length
        )
        return features

    def __repr__(self) -> str:
        mode = self.modes[0] if len(self.modes) == 1 else self.modes
        return f"Pooling(mode={mode!r}, include_prompt={self.include_prompt})"


# ------------------------------------------------------------------------------------ normalize / dense


@dataclasses.dataclass(frozen=True)
class Normalize:
    """L2-normalises ``input_name`` along the last axis: ``x / max(||x||, 1e-12)``, as F.normalize."""

    input_name: str = "sentence_embedding"
    output_name: str = "sentence_embedding"

    def __call__(self, features: Features) -> Features:
        x = features.get(self.input_name)
        if x is not None:
            features[self.output_name] = l2_normalize(x)
        return features


def l2_normalize(x: npt.NDArray[Any]) -> FloatArray:
    """``x / max(||x||, 1e-12)`` along the last axis, in float64, returned as float32."""
    x64 = np.asarray(x, dtype=np.float64)
    norm = np.sqrt(np.einsum("...i,...i->...", x64, x64))[..., None]
    out: FloatArray = (x64 / np.maximum(norm, 1e-12)).astype(np.float32)
    return out


@dataclasses.dataclass(frozen=True)
class Identity:
    """A module with no effect at inference (sentence-transformers' Dropout)."""

    name: str = "Dropout"

    def __call__(self, features: Features) -> Features:
        return features


@dataclasses.dataclass(frozen=True, eq=False)
class Dense:
    """``activation(x W^T + b)`` (+ a residual), on ``input_name``: sentence-transformers' Dense module."""

    weight: Float64Array  # (out, in)
    bias: Optional[Float64Array]
    activation: str = "Tanh"
    input_name: str = "sentence_embedding"
    output_name: str = "sentence_embedding"
    residual: Optional[Float64Array] = (
        None  # (out, in) projection, or the identity when None and use_residual
    )
    use_residual: bool = False

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @classmethod
    def load(cls, module_dir: str) -> "Dense":
        config = read_json_object(os.path.join(module_dir, "config.json"), "Dense config", missing_ok=True)
        for key in ("in_features", "out_features"):
            if not isinstance(config.get(key), int):
                raise ValueError(f"Dense config {module_dir}/config.json needs an integer {key!r}")
        path = str(config.get("activation_function", "torch.nn.modules.activation.Tanh"))
        activation_from_path(path, f"Dense module {module_dir}")  # validates
        n_in, n_out = config["in_features"], config["out_features"]
        use_bias = bool(config.get("bias", True))
        use_residual = bool(config.get("use_residual", False))
        with Checkpoint(find_checkpoint(module_dir)) as ckpt:
            expected: Dict[str, Tuple[int, ...]] = {"linear.weight": (n_out, n_in)}
            if use_bias:
                expected["linear.bias"] = (n_out,)
            if use_residual and n_in != n_out:
                expected["residual.weight"] = (n_out, n_in)
            problems = [
                f"missing tensor {name!r} (shape {list(shape)})"
                if not ckpt.has_raw(name)
                else f"tensor {name!r} has shape {list(ckpt.raw_shape(name))}, expected {list(shape)}"
                for name, shape in expected.items()
                if not ckpt.has_raw(name) or ckpt.raw_shape(name) != shape
            ]
            if problems:
                raise ValueError(f"Dense module {module_dir}: " + "; ".join(problems))
            arrays = {name: ckpt.get_raw(name).astype(np.float64) for name in expected}
        return cls(
            weight=arrays["linear.weight"],
            bias=arrays.get("linear.bias"),
            activation=path.rsplit(".", 1)[-1],
            input_name=str(config.get("module_input_name", "sentence_embedding")),
            output_name=str(
                config.get("module_output_name") or config.get("module_input_name", "sentence_embedding")
            ),
            residual=arrays.get("residual.weight"),
            use_residual=use_residual,
        )

    def __call__(self, features: Features) -> Features:
        x = np.asarray(features[self.input_name], dtype=np.float64)
        y = x @ self.weight.T
        if self.bias is not None:
            y = y + self.bias
        y = ACTIVATIONS[self.activation](y)
        if self.use_residual:
            y = y + (x if self.residual is None else x @ self.residual.T)
        features[self.output_name] = y.astype(np.float32)
        return features

    def __repr__(self) -> str:
        return f"Dense(in={self.weight.shape[1]}, out={self.out_features}, activation={self.activation!r})"


# ---------------------------------------------------------------------------------------------- layout


@dataclasses.dataclass(frozen=True)
class SentenceLayout:
    """What a model directory says about running it as sentence-transformers would.

    Attributes:
        transformer_dir: the encoder's directory (the model directory, or its ``0_Transformer``).
        sentence_config: the transformer module's ``sentence_bert_config.json`` ({} when absent).
        modules: the modules after the transformer, in order.
        model_config: ``config_sentence_transformers.json`` ({} when absent): prompts, truncate_dim,
            a cross-encoder's activation_fn, ...
        has_modules_json: False for a plain Hugging Face directory.
    """

    transformer_dir: str
    sentence_config: Dict[str, Any]
    modules: Tuple[Module, ...]
    model_config: Dict[str, Any]
    has_modules_json: bool


def _module_class(entry: Mapping[str, Any], index: int, path: str) -> str:
    kind = entry.get("type")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"{path}: module {index} has no 'type'")
    return kind.rsplit(".", 1)[-1]


def read_layout(model_dir: str, with_modules: bool = True) -> SentenceLayout:
    """Reads ``modules.json`` (when present), the transformer's sentence config and the model config.

    Args:
        model_dir: the model directory.
        with_modules: also load the modules after the transformer (False for a cross-encoder, whose head is
            part of the transformer checkpoint).

    Raises:
        FileNotFoundError: the directory is missing.
        ValueError: a module bertcore cannot run (named), or an invalid JSON file.
    """
    model_dir = require_dir(resolve_model_dir(model_dir))
    model_config = read_json_object(
        os.path.join(model_dir, "config_sentence_transformers.json"),
        "sentence-transformers config",
        missing_ok=True,
    )
    modules_path = os.path.join(model_dir, "modules.json")
    if not os.path.isfile(modules_path):
        return SentenceLayout(model_dir, _sentence_config(model_dir), (), model_config, False)
    entries = read_json(modules_path, "modules file")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{modules_path} must hold a non-empty list of modules")
    entries = sorted(entries, key=lambda e: int(e.get("idx", 0)) if isinstance(e, dict) else 0)
    first = _module_class(entries[0], 0, modules_path)
    if first not in ("Transformer", "CrossEncoderTransformer"):
        raise ValueError(
            f"{modules_path}: the first module is {entries[0].get('type')!r}; bertcore runs models whose "
            "first module is a Transformer"
        )
    transformer_dir = os.path.join(model_dir, str(entries[0].get("path", "")))
    modules: List[Module] = []
    if with_modules:
        for index, entry in enumerate(entries[1:], start=1):
            modules.append(_load_module(entry, index, model_dir, modules_path))
    return SentenceLayout(
        transformer_dir, _sentence_config(transformer_dir), tuple(modules), model_config, True
    )


def _sentence_config(transformer_dir: str) -> Dict[str, Any]:
    for name in SENTENCE_CONFIG_FILES:
        config = read_json_object(os.path.join(transformer_dir, name), "sentence config", missing_ok=True)
        if config:
            return config
    return {}


def _load_module(entry: Mapping[str, Any], index: int, model_dir: str, modules_path: str) -> Module:
    kind = _module_class(entry, index, modules_path)
    module_dir = os.path.join(model_dir, str(entry.get("path", "")))
    config = read_json_object(os.path.join(module_dir, "config.json"), f"{kind} config", missing_ok=True)
    if kind == "Pooling":
        return Pooling.from_config(config)
    if kind == "Normalize":
        name = str(config.get("module_input_name", "sentence_embedding"))
        return Normalize(name, str(config.get("module_output_name") or name))
    if kind == "Dense":
        return Dense.load(module_dir)
    if kind == "Dropout":
        return Identity("Dropout")
    raise ValueError(
        f"{modules_path}: module {index} is {entry.get('type')!r}, which bertcore does not run "
        "(it runs Transformer, Pooling, Dense, Normalize and Dropout)"
    )


def resolve_prompt(
    prompts: Mapping[str, str],
    default_prompt_name: Optional[str],
    prompt: Optional[str],
    prompt_name: Optional[str],
) -> Optional[str]:
    """sentence-transformers' prompt choice: ``prompt``, else ``prompts[prompt_name]``, else the default."""
    if prompt is not None:
        if prompt_name is not None:
            warnings.warn(
                "pass either prompt or prompt_name, not both; prompt_name is ignored",
                UserWarning,
                stacklevel=3,
            )
        if not isinstance(prompt, str):
            raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
        return prompt
    if prompt_name is not None:
        if prompt_name not in prompts:
            raise ValueError(f"prompt name {prompt_name!r} not found; the prompts are {sorted(prompts)!r}")
        return prompts[prompt_name]
    if default_prompt_name is not None:
        return prompts.get(default_prompt_name)
    return None


def default_max_length(
    sentence_config: Mapping[str, Any], tokenizer_max: int, model_config: Any, cap: bool = True
) -> int:
    """Tokens per input when the caller gives none: sentence_bert_config.json's ``max_seq_length``, else the
    tokenizer's ``model_max_length``, capped (when ``cap``) at the model's ``max_position_embeddings``."""
    saved = sentence_config.get("max_seq_length")
    if saved is not None:
        return int(saved)
    limit = getattr(model_config, "max_position_embeddings", None)
    if cap and isinstance(limit, int) and limit > 0:
        return min(int(tokenizer_max), limit)
    return int(tokenizer_max)


def read_prompts(model_config: Mapping[str, Any]) -> Tuple[Dict[str, str], Optional[str]]:
    """``prompts`` and ``default_prompt_name`` of ``config_sentence_transformers.json`` (None -> "")."""
    raw = model_config.get("prompts") or {}
    if not isinstance(raw, dict):
        raise ValueError(f"config_sentence_transformers.json: prompts must be an object, got {raw!r}")
    prompts = {str(k): ("" if v is None else str(v)) for k, v in raw.items()}
    default = model_config.get("default_prompt_name")
    return prompts, (None if default is None else str(default))
