"""torch.nn activations as numpy functions on float64 arrays, by class name: the one table that
classification heads, sentence-transformers' Dense module and cross-encoder scores all use."""

from __future__ import annotations

import math
from typing import Callable, Dict

import numpy as np
import numpy.typing as npt

Float64Array = npt.NDArray[np.float64]
Activation = Callable[[Float64Array], Float64Array]


def _sigmoid(x: Float64Array) -> Float64Array:
    z = np.exp(-np.abs(x))
    out: Float64Array = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return out


def _softmax(x: Float64Array) -> Float64Array:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    out: Float64Array = e / e.sum(axis=-1, keepdims=True)
    return out


_erf = np.vectorize(math.erf, otypes=[np.float64])

# torch.nn activation classes by name. Softmax is over the last axis (what torch.nn.Softmax() with its implicit
# dim picks for a (batch, labels) array).
ACTIVATIONS: Dict[str, Activation] = {
    "Identity": lambda x: x,
    "Sigmoid": _sigmoid,
    "Tanh": np.tanh,
    "ReLU": lambda x: np.maximum(x, 0.0),
    "GELU": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "SiLU": lambda x: x * _sigmoid(x),
    "Softmax": _softmax,
    "LogSigmoid": lambda x: -np.logaddexp(0.0, -x),
}


def activation_from_path(path: str, where: str) -> Activation:
    """The numpy form of a torch activation named by its import path, e.g.
    ``"torch.nn.modules.activation.Sigmoid"``.

    Args:
        path: the import path, as sentence-transformers saves it.
        where: what named it, for the error message.

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
