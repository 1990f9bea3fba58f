"""sentence-transformers' modules after pooling: Dense, Normalize and Dropout (an identity at inference)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

from ._json import read_json_object
from .activations import ACTIVATIONS, activation_from_path
from .features import Features, Float64Array, FloatArray
from .weights import Checkpoint, find_checkpoint


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
