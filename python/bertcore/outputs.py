"""Model output containers that behave like transformers' ``ModelOutput`` classes, holding numpy arrays.

This mirrors ``transformers.utils.generic.ModelOutput`` (as of transformers 5.24) and the classes of
``transformers.modeling_outputs`` that bertcore returns, so code written against transformers runs
unchanged: ``out.last_hidden_state``, ``out["last_hidden_state"]``, ``out[0]``, ``out[:2]``,
``out.to_tuple()``, ``dict(out)``, ``print(out)``. It depends on numpy only.

Every output is both a dataclass and an ``OrderedDict``. The attributes hold every field, ``None`` included;
the mapping holds only the fields that are not ``None``, in field order, and integer indexing, slicing,
``len``, iteration and ``to_tuple()`` go through the mapping, so they skip the ``None`` fields.

Quirks of transformers that are reproduced on purpose, so that both behave the same:

- ``__delitem__``, ``pop``, ``setdefault`` and ``update`` raise a bare ``Exception``; ``popitem`` and
  ``clear`` are not blocked.
- Setting a field to a value (attribute or item) keeps both views in step; a field set after construction
  is added at the *end* of the mapping, not at its field position. Setting an attribute to ``None`` leaves
  the mapping untouched, while setting an item to ``None`` stores a ``None`` entry that then shows up in
  ``keys()`` and ``to_tuple()``.
- If only the first field is given and it is not an array, it is read as an iterable of ``(key, value)``
  pairs when it is one, so ``BaseModelOutput({"last_hidden_state": x})`` works.
- Transformers 5.24 renamed the ``past_key_values`` field to ``cache``. The old names ``past_key_values`` and
  ``cache_params`` are still accepted as keyword arguments, keys, attribute names and in ``in``/``get``,
  with a one-time warning on the ``bertcore.outputs`` logger.
- Equality is the dataclass one (field by field), so comparing two outputs that hold equal but distinct
  arrays raises numpy's "truth value of an array ... is ambiguous" ``ValueError``, as transformers raises
  torch's ``RuntimeError``; compare the arrays instead.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections import OrderedDict
from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING, Any, Callable, NoReturn, SupportsIndex, cast, overload

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    #: A floating-point numpy array: what bertcore puts in every output field.
    FloatArray = npt.NDArray[np.floating[Any]]
else:  # np.floating[Any] is only subscriptable at run time from numpy 1.22 on.
    FloatArray = np.ndarray

__all__ = [
    "BaseModelOutput",
    "BaseModelOutputWithPastAndCrossAttentions",
    "BaseModelOutputWithPooling",
    "BaseModelOutputWithPoolingAndCrossAttentions",
    "FloatArray",
    "ModelOutput",
    "SequenceClassifierOutput",
]

logger = logging.getLogger(__name__)

_CACHE_FIELD = "cache"
_OLD_CACHE_NAMES = ("past_key_values", "cache_params")
_CACHE_WARNING = "`past_key_values`/`cache_params` are deprecated. Use `cache` instead."


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:
    logger.warning(message)


def _is_array(x: object) -> bool:
    """True for a numpy array, or a torch tensor when torch is already imported (never imports it)."""
    if isinstance(x, np.ndarray):
        return True
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _rename_kwargs_for_bc(kwargs: dict[str, Any]) -> None:
    """Rename ``past_key_values``/``cache_params`` to ``cache`` in ``kwargs``, in place."""
    for old in _OLD_CACHE_NAMES:
        if old in kwargs:
            if _CACHE_FIELD in kwargs:
                raise ValueError(f"You cannot specify both `cache` and `{old}`. use `cache` only.")
            kwargs[_CACHE_FIELD] = kwargs.pop(old)
            _warn_once(_CACHE_WARNING)
            return


class _BCCacheNameMeta(type):
    """Wraps the ``__init__`` that ``@dataclass`` adds so that it accepts the old cache field names."""

    def __setattr__(cls, name: str, value: Any) -> None:
        if name == "__init__":
            init: Callable[..., None] = value

            @functools.wraps(init)
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                _rename_kwargs_for_bc(kwargs)
                init(self, *args, **kwargs)

            value = __init__
        super().__setattr__(name, value)


class ModelOutput(OrderedDict[str, Any], metaclass=_BCCacheNameMeta):
    """Base class for model outputs: a dataclass that is also an ordered mapping of its non-``None`` fields.

    Subclasses must be decorated with ``@dataclass``, and every field but the first must default to
    ``None``. Index with a string like a dict, or with an integer or a slice like the tuple
    ``to_tuple()``; either way the ``None`` fields are skipped. You cannot unpack an output directly into
    variables by position; call ``to_tuple()`` first.

    Args:
        *args, **kwargs: For the base class, what ``OrderedDict`` takes; for a subclass, its fields.

    Raises:
        TypeError: if a subclass is not a dataclass.
        ValueError: if a subclass has no fields or more than one required field.

    Example:
        >>> import numpy as np
        >>> out = BaseModelOutput(last_hidden_state=np.zeros((1, 2, 3), dtype=np.float32))
        >>> list(out.keys()), len(out)
        (['last_hidden_state'], 1)
        >>> out[0] is out["last_hidden_state"] is out.last_hidden_state
        True
        >>> out.hidden_states is None, "hidden_states" in out
        (True, False)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Dataclass subclasses get their own __init__ (which does not call this one), so reaching here
        # from a subclass means it is not a dataclass.
        if self.__class__ != ModelOutput and not is_dataclass(self):
            raise TypeError(
                f"{self.__module__}.{self.__class__.__name__} is not a dataclass."
                " This is a subclass of ModelOutput and so must use the @dataclass decorator."
            )

    def __post_init__(self) -> None:
        """Check the fields and fill the mapping; called by the dataclass ``__init__``."""
        class_fields = fields(cast(Any, self))

        if not len(class_fields):
            raise ValueError(f"{self.__class__.__name__} has no fields.")
        if not all(field.default is None for field in class_fields[1:]):
            raise ValueError(f"{self.__class__.__name__} should not have more than one required field.")

        first_name = class_fields[0].name
        first_field = getattr(self, first_name)
        other_fields_are_none = all(self.__dict__.get(field.name) is None for field in class_fields[1:])

        if other_fields_are_none and not _is_array(first_field):
            # Only the first field was given: if it is an iterable of (key, value) pairs, set those.
            if isinstance(first_field, dict):
                iterator: Any = first_field.items()
                first_field_iterator = True
            else:
                try:
                    iterator = iter(first_field)
                    first_field_iterator = True
                except TypeError:
                    first_field_iterator = False

            if first_field_iterator:
                setattr(self, first_name, None)
                super().__delitem__(first_name)
                for idx, element in enumerate(iterator):
                    is_pair = isinstance(element, (list, tuple)) and len(element) == 2
                    if not is_pair or not isinstance(element[0], str):
                        if idx == 0:
                            # Not an iterable of (key, value) pairs: keep it as the first field's value.
                            self[first_name] = first_field
                        else:
                            raise ValueError(
                                f"Cannot set key/value for {element}. It needs to be a tuple (key, value)."
                            )
                        break
                    setattr(self, element[0], element[1])
                    if element[1] is not None:
                        self[element[0]] = element[1]
            elif first_field is not None:
                self[first_name] = first_field
        else:
            for field in class_fields:
                v = self.__dict__.get(field.name)
                if v is not None:
                    self[field.name] = v

    def __delitem__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise Exception(f"You cannot use ``__delitem__`` on a {self.__class__.__name__} instance.")

    def setdefault(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise Exception(f"You cannot use ``setdefault`` on a {self.__class__.__name__} instance.")

    def pop(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise Exception(f"You cannot use ``pop`` on a {self.__class__.__name__} instance.")

    def update(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise Exception(f"You cannot use ``update`` on a {self.__class__.__name__} instance.")

    @overload
    def __getitem__(self, k: str) -> Any: ...

    @overload
    def __getitem__(self, k: SupportsIndex) -> Any: ...

    @overload
    def __getitem__(self, k: slice) -> tuple[Any, ...]: ...

    def __getitem__(self, k: str | SupportsIndex | slice) -> Any:
        """``out["name"]`` looks a field up by name; ``out[i]`` and ``out[a:b]`` index ``to_tuple()``.

        Raises:
            KeyError: for a name that is not a key (a ``None`` field is not one).
            IndexError: for an integer past the non-``None`` fields.
        """
        if isinstance(k, str):
            return super().__getitem__(self._replace_old_cache_name(k))
        return self.to_tuple()[k]

    def __setattr__(self, name: str, value: Any) -> None:
        name = self._replace_old_cache_name(name)
        field_names = {field.name for field in fields(cast(Any, self))}
        if name in field_names and value is not None:
            # Not self.__setitem__: that would call back into __setattr__.
            super().__setitem__(name, value)
        super().__setattr__(name, value)

    def __setitem__(self, key: str, value: Any) -> None:
        key = self._replace_old_cache_name(key)
        super().__setitem__(key, value)
        # Not self.__setattr__: that would call back into __setitem__.
        super().__setattr__(key, value)

    def __reduce__(self) -> Any:
        # Rebuild a dataclass output from its fields: its __init__ takes them, not OrderedDict's arguments.
        if not is_dataclass(self):
            return super().__reduce__()
        callable_, _args, *remaining = cast("tuple[Any, ...]", super().__reduce__())
        args = tuple(getattr(self, field.name) for field in fields(cast(Any, self)))
        return (callable_, args, *remaining)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._replace_old_cache_name(key))

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value for ``key`` if it is a key (a non-``None`` field), else ``default``."""
        return super().get(self._replace_old_cache_name(key), default)

    def to_tuple(self) -> tuple[Any, ...]:
        """Return the values of the non-``None`` fields, in order.

        Returns:
            A tuple, e.g. ``(last_hidden_state, pooler_output)`` for a ``BertModel`` output.

        Example:
            >>> import numpy as np
            >>> x = np.ones((1, 2, 4), dtype=np.float32)
            >>> out = BaseModelOutput(last_hidden_state=x, attentions=(np.ones((1, 1, 2, 2)),))
            >>> last_hidden_state, attentions = out.to_tuple()
            >>> last_hidden_state is x, len(attentions)
            (True, 1)
        """
        return tuple(self.values())

    @property
    def past_key_values(self) -> Any:
        """Old name of the ``cache`` field, deprecated in transformers 5; ``AttributeError`` if none."""
        _warn_once(_CACHE_WARNING)
        return getattr(self, _CACHE_FIELD)

    @property
    def cache_params(self) -> Any:
        """Old name of the ``cache`` field, deprecated in transformers 5; ``AttributeError`` if none."""
        _warn_once(_CACHE_WARNING)
        return getattr(self, _CACHE_FIELD)

    @staticmethod
    def _replace_old_cache_name(key: Any) -> Any:
        if isinstance(key, str) and key in _OLD_CACHE_NAMES:
            _warn_once(_CACHE_WARNING)
            return _CACHE_FIELD
        return key


@dataclass
class BaseModelOutput(ModelOutput):
    """Output of an encoder: the last hidden states, and optionally those of every layer and the attentions.

    Args:
        last_hidden_state: ``(batch_size, sequence_length, hidden_size)``, the output of the last layer.
        hidden_states: When ``output_hidden_states=True``: one array for the embeddings plus one per layer,
            each ``(batch_size, sequence_length, hidden_size)``.
        attentions: When ``output_attentions=True``: one array per layer, each
            ``(batch_size, num_heads, sequence_length, sequence_length)``, the attention weights after the
            softmax.

    Example:
        >>> import numpy as np
        >>> out = BaseModelOutput(last_hidden_state=np.zeros((1, 2, 3), dtype=np.float32))
        >>> print(out)
        BaseModelOutput(last_hidden_state=array([[[0., 0., 0.],
                [0., 0., 0.]]], dtype=float32), hidden_states=None, attentions=None)
    """

    last_hidden_state: FloatArray | None = None
    hidden_states: tuple[FloatArray, ...] | None = None
    attentions: tuple[FloatArray, ...] | None = None


@dataclass
class BaseModelOutputWithPooling(ModelOutput):
    """Output of ``AlbertModel``: the last hidden states and the pooled first token, with optional extras.

    Args:
        last_hidden_state: ``(batch_size, sequence_length, hidden_size)``, the output of the last layer.
        pooler_output: ``(batch_size, hidden_size)``, the first token's last hidden state after the pooler's
            dense layer and tanh; ``None`` without a pooling layer.
        hidden_states: When ``output_hidden_states=True``: the input of the first layer plus one array per
            layer run, each ``(batch_size, sequence_length, hidden_size)``.
        attentions: When ``output_attentions=True``: one array per layer run, each
            ``(batch_size, num_heads, sequence_length, sequence_length)``, the attention weights after the
            softmax.
    """

    last_hidden_state: FloatArray | None = None
    pooler_output: FloatArray | None = None
    hidden_states: tuple[FloatArray, ...] | None = None
    attentions: tuple[FloatArray, ...] | None = None


@dataclass
class BaseModelOutputWithPastAndCrossAttentions(ModelOutput):
    """Output of ``ElectraModel``: the last hidden states, with optional extras (no pooler).

    Args:
        last_hidden_state: ``(batch_size, sequence_length, hidden_size)``, the output of the last layer.
        cache: Decoder key/value cache in transformers; always ``None`` in bertcore. Also accepted under its
            old name ``past_key_values`` (deprecated).
        hidden_states: When ``output_hidden_states=True``: the input of the first layer plus one array per
            layer, each ``(batch_size, sequence_length, hidden_size)``.
        attentions: When ``output_attentions=True``: one array per layer, each
            ``(batch_size, num_heads, sequence_length, sequence_length)``, the attention weights after the
            softmax.
        cross_attentions: Cross-attention weights of a decoder; always ``None`` in bertcore.
    """

    last_hidden_state: FloatArray | None = None
    cache: object | None = None
    hidden_states: tuple[FloatArray, ...] | None = None
    attentions: tuple[FloatArray, ...] | None = None
    cross_attentions: tuple[FloatArray, ...] | None = None


@dataclass
class BaseModelOutputWithPoolingAndCrossAttentions(ModelOutput):
    """Output of ``BertModel``: the last hidden states and the pooled first token, with optional extras.

    The field order is transformers 5.24's, so positional access (``out[0]``, ``out.to_tuple()``) matches.

    Args:
        last_hidden_state: ``(batch_size, sequence_length, hidden_size)``, the output of the last layer.
        pooler_output: ``(batch_size, hidden_size)``, the first (``[CLS]``) token's last hidden state after
            the pooler's dense layer and tanh; ``None`` for a model built with ``add_pooling_layer=False``.
        hidden_states: When ``output_hidden_states=True``: one array for the embeddings plus one per layer,
            each ``(batch_size, sequence_length, hidden_size)``.
        cache: Decoder key/value cache in transformers; bertcore runs encoders only, so it is always
            ``None``. Also accepted under its old name ``past_key_values`` (deprecated).
        attentions: When ``output_attentions=True``: one array per layer, each
            ``(batch_size, num_heads, sequence_length, sequence_length)``, the attention weights after the
            softmax.
        cross_attentions: Cross-attention weights of a decoder; always ``None`` in bertcore.

    Example:
        >>> import numpy as np
        >>> out = BaseModelOutputWithPoolingAndCrossAttentions(
        ...     last_hidden_state=np.zeros((2, 5, 8), dtype=np.float32),
        ...     pooler_output=np.zeros((2, 8), dtype=np.float32),
        ... )
        >>> list(out.keys())
        ['last_hidden_state', 'pooler_output']
        >>> out[1].shape, out[-1] is out.pooler_output
        ((2, 8), True)
    """

    last_hidden_state: FloatArray | None = None
    pooler_output: FloatArray | None = None
    hidden_states: tuple[FloatArray, ...] | None = None
    cache: object | None = None
    attentions: tuple[FloatArray, ...] | None = None
    cross_attentions: tuple[FloatArray, ...] | None = None


@dataclass
class SequenceClassifierOutput(ModelOutput):
    """Output of a sequence classification model.

    Args:
        loss: Classification (or regression if ``num_labels == 1``) loss, when labels are given.
        logits: ``(batch_size, num_labels)``, the scores before the softmax.
        hidden_states: When ``output_hidden_states=True``: one array for the embeddings plus one per layer,
            each ``(batch_size, sequence_length, hidden_size)``.
        attentions: When ``output_attentions=True``: one array per layer, each
            ``(batch_size, num_heads, sequence_length, sequence_length)``.

    Example:
        >>> import numpy as np
        >>> out = SequenceClassifierOutput(logits=np.array([[0.5, -0.5]], dtype=np.float32))
        >>> list(out.keys()), out[0] is out.logits
        (['logits'], True)
    """

    loss: FloatArray | None = None
    logits: FloatArray | None = None
    hidden_states: tuple[FloatArray, ...] | None = None
    attentions: tuple[FloatArray, ...] | None = None
