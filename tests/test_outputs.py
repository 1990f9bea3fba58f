"""Tests for bertcore.outputs: the ModelOutput classes, checked against transformers where it is installed.

The parity tests build the transformers class from torch tensors made from the same numpy arrays, run the
same operation on both objects and require the same result: equal values in the same positions, or the
same exception type and message.
"""

from __future__ import annotations

import copy
import doctest
import logging
import os
import pickle
import subprocess
import sys
from collections import OrderedDict
from dataclasses import dataclass, fields
from typing import Any, Callable

import numpy as np
import pytest

import bertcore.outputs as bertcore_outputs
from bertcore.outputs import (
    BaseModelOutput,
    BaseModelOutputWithPoolingAndCrossAttentions,
    ModelOutput,
    SequenceClassifierOutput,
)
from conftest import require

# Arrays of distinct shapes and values, so that a value in the wrong position is caught.
_RNG = np.random.default_rng(1234)
LHS = _RNG.standard_normal((2, 5, 8)).astype(np.float32)
POOLED = _RNG.standard_normal((2, 8)).astype(np.float32)
HIDDEN = tuple(_RNG.standard_normal((2, 5, 8)).astype(np.float32) for _ in range(3))
ATTN = tuple(_RNG.standard_normal((2, 4, 5, 5)).astype(np.float32) for _ in range(2))
LOGITS = _RNG.standard_normal((2, 3)).astype(np.float32)
LOSS = np.asarray(_RNG.standard_normal(), dtype=np.float32)

POOLING = "BaseModelOutputWithPoolingAndCrossAttentions"
CASES: list[tuple[str, dict[str, Any]]] = [
    (POOLING, {"last_hidden_state": LHS, "pooler_output": POOLED}),
    (
        POOLING,
        {"last_hidden_state": LHS, "pooler_output": POOLED, "hidden_states": HIDDEN, "attentions": ATTN},
    ),
    (POOLING, {"last_hidden_state": LHS, "attentions": ATTN}),
    (POOLING, {"pooler_output": POOLED, "cross_attentions": ATTN}),
    ("BaseModelOutput", {"last_hidden_state": LHS}),
    ("BaseModelOutput", {"last_hidden_state": LHS, "hidden_states": HIDDEN, "attentions": ATTN}),
    ("SequenceClassifierOutput", {"logits": LOGITS}),
    ("SequenceClassifierOutput", {"loss": LOSS, "logits": LOGITS, "attentions": ATTN}),
    ("SequenceClassifierOutput", {"loss": LOSS}),
]
CASE_IDS = [f"{name}-{'+'.join(kw)}" for name, kw in CASES]
SLICES = [slice(None), slice(1, None), slice(None, -1), slice(None, None, 2), slice(None, None, -1)]
SLICES += [slice(7, 9), slice(-2, None), slice(1, 2)]
OURS: dict[str, type[ModelOutput]] = {
    "BaseModelOutput": BaseModelOutput,
    POOLING: BaseModelOutputWithPoolingAndCrossAttentions,
    "SequenceClassifierOutput": SequenceClassifierOutput,
}


# ----------------------------------------------------------------------------------------------------------
# Helpers


@pytest.fixture(scope="module")
def hf() -> Any:
    """transformers.modeling_outputs (see ``conftest.require``)."""
    require("torch")
    require("transformers")
    import transformers.modeling_outputs

    return transformers.modeling_outputs


@pytest.fixture(scope="module")
def hf_model_output() -> Any:
    require("torch")
    require("transformers")
    from transformers.utils import ModelOutput as HFModelOutput

    return HFModelOutput


def _to_torch(value: Any) -> Any:
    import torch

    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if isinstance(value, dict):
        return {k: _to_torch(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_to_torch(v) for v in value)
    return value


def _same(ours: Any, theirs: Any) -> bool:
    """Whether a bertcore value (numpy) holds what a transformers value (torch) holds, structure included."""
    import torch

    if isinstance(theirs, np.ndarray):  # transformers given the very same numpy array
        return ours is theirs
    if isinstance(theirs, torch.Tensor):
        return (
            isinstance(ours, np.ndarray)
            and ours.shape == tuple(theirs.shape)
            and ours.dtype == theirs.numpy().dtype
            and np.array_equal(ours, theirs.numpy())
        )
    if isinstance(theirs, (tuple, list)):
        return (
            type(ours) is type(theirs)
            and len(ours) == len(theirs)
            and all(_same(a, b) for a, b in zip(ours, theirs))
        )
    if theirs is None:
        return ours is None
    return bool(type(ours) is type(theirs) and ours == theirs)


def _outcome(fn: Callable[[Any], Any], obj: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(obj)
    except Exception as e:  # noqa: BLE001 - the point is to compare whatever is raised
        return "raise", (type(e), str(e))


def _assert_same_outcome(fn: Callable[[Any], Any], ours: Any, theirs: Any, what: str) -> None:
    kind_o, res_o = _outcome(fn, ours)
    kind_t, res_t = _outcome(fn, theirs)
    assert kind_o == kind_t, f"{what}: bertcore {kind_o} {res_o!r}, transformers {kind_t} {res_t!r}"
    if kind_o == "raise":
        assert res_o == res_t, f"{what}: bertcore raised {res_o}, transformers raised {res_t}"
    else:
        assert _same(res_o, res_t), f"{what}: bertcore gave {res_o!r}, transformers gave {res_t!r}"


def _assert_same_state(ours: ModelOutput, theirs: Any) -> None:
    """Same keys in the same order, same values, same attributes for every field."""
    assert type(ours).__name__ == type(theirs).__name__
    assert list(ours.keys()) == list(theirs.keys())
    assert len(ours) == len(theirs)
    assert _same(ours.to_tuple(), theirs.to_tuple())
    for f in fields(theirs):
        assert _same(getattr(ours, f.name), getattr(theirs, f.name)), f.name


def _build_pair(hf: Any, name: str, kw: dict[str, Any]) -> tuple[ModelOutput, Any]:
    return OURS[name](**kw), getattr(hf, name)(**_to_torch(kw))


@pytest.fixture(autouse=True)
def _fresh_warning_cache() -> None:
    bertcore_outputs._warn_once.cache_clear()


# ----------------------------------------------------------------------------------------------------------
# bertcore on its own


def test_field_order() -> None:
    assert [f.name for f in fields(BaseModelOutput)] == ["last_hidden_state", "hidden_states", "attentions"]
    assert [f.name for f in fields(BaseModelOutputWithPoolingAndCrossAttentions)] == [
        "last_hidden_state",
        "pooler_output",
        "hidden_states",
        "cache",
        "attentions",
        "cross_attentions",
    ]
    assert [f.name for f in fields(SequenceClassifierOutput)] == [
        "loss",
        "logits",
        "hidden_states",
        "attentions",
    ]
    for cls in OURS.values():
        assert all(f.default is None for f in fields(cls))


def test_mapping_and_sequence_views_skip_none() -> None:
    out = BaseModelOutputWithPoolingAndCrossAttentions(
        last_hidden_state=LHS, pooler_output=POOLED, attentions=ATTN
    )
    assert out.last_hidden_state is LHS and out.pooler_output is POOLED and out.attentions is ATTN
    assert out.hidden_states is None and out.cache is None and out.cross_attentions is None
    assert list(out.keys()) == ["last_hidden_state", "pooler_output", "attentions"]
    assert list(out) == list(out.keys())
    assert len(out) == 3
    assert [v is e for v, e in zip(out.values(), (LHS, POOLED, ATTN))] == [True] * 3
    assert [k for k, _ in out.items()] == list(out.keys())
    assert out["last_hidden_state"] is LHS and out["attentions"] is ATTN
    assert out[0] is LHS and out[1] is POOLED and out[2] is ATTN and out[-1] is ATTN and out[-3] is LHS
    assert out[np.int64(1)] is POOLED
    sliced = out[1:]
    assert type(sliced) is tuple and len(sliced) == 2 and sliced[0] is POOLED and sliced[1] is ATTN
    assert out[::-1][0] is ATTN and out[5:] == ()
    to_tuple = out.to_tuple()
    assert type(to_tuple) is tuple and [v is e for v, e in zip(to_tuple, (LHS, POOLED, ATTN))] == [True] * 3
    assert "pooler_output" in out and "hidden_states" not in out and "nope" not in out and 0 not in out
    assert out.get("pooler_output") is POOLED and out.get("hidden_states", "dflt") == "dflt"
    assert isinstance(out, OrderedDict) and isinstance(out, dict)
    assert list(dict(out)) == list(out.keys())
    hidden, pooled = BaseModelOutputWithPoolingAndCrossAttentions(LHS, POOLED).to_tuple()
    assert hidden is LHS and pooled is POOLED


def test_lookup_errors() -> None:
    out = BaseModelOutput(last_hidden_state=LHS)
    with pytest.raises(KeyError, match="hidden_states"):
        out["hidden_states"]  # a None field is not a key
    with pytest.raises(KeyError, match="pooler_output"):
        out["pooler_output"]
    with pytest.raises(IndexError):
        out[1]
    with pytest.raises(IndexError):
        out[-2]
    with pytest.raises(TypeError):
        out[1.0]


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("__delitem__", lambda o: o.__delitem__("last_hidden_state")),
        ("setdefault", lambda o: o.setdefault("last_hidden_state", 1)),
        ("pop", lambda o: o.pop("last_hidden_state")),
        ("pop", lambda o: o.pop("missing", None)),
        ("update", lambda o: o.update({"last_hidden_state": 1})),
        ("update", lambda o: o.update(hidden_states=1)),
    ],
)
def test_blocked_dict_methods_raise_bare_exception(method: str, call: Callable[[Any], Any]) -> None:
    out = BaseModelOutput(last_hidden_state=LHS)
    with pytest.raises(Exception) as info:  # noqa: B017, PT011 - the type is checked exactly below
        call(out)
    assert type(info.value) is Exception
    assert str(info.value) == f"You cannot use ``{method}`` on a BaseModelOutput instance."
    assert list(out.keys()) == ["last_hidden_state"] and out.last_hidden_state is LHS


def test_del_statement_is_blocked() -> None:
    out = BaseModelOutput(last_hidden_state=LHS)
    with pytest.raises(Exception, match="__delitem__") as info:  # noqa: B017, PT011
        del out["last_hidden_state"]
    assert type(info.value) is Exception


def test_setting_keeps_attribute_and_item_in_sync() -> None:
    out = BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=LHS)
    out.attentions = ATTN  # set late: appended at the end of the mapping, as in transformers
    out["hidden_states"] = HIDDEN
    assert out["attentions"] is ATTN and out.hidden_states is HIDDEN
    assert list(out.keys()) == ["last_hidden_state", "attentions", "hidden_states"]
    out.last_hidden_state = POOLED  # replacing keeps the position
    assert out[0] is POOLED and out["last_hidden_state"] is POOLED
    out["last_hidden_state"] = LHS
    assert out.last_hidden_state is LHS and out[0] is LHS


def test_setting_none_quirks() -> None:
    out = BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=LHS, pooler_output=POOLED)
    out.pooler_output = None  # attribute only: the mapping keeps the old value
    assert out.pooler_output is None and out["pooler_output"] is POOLED and len(out) == 2
    out["pooler_output"] = None  # item: a None entry that shows in keys and to_tuple
    assert out.pooler_output is None and list(out.keys()) == ["last_hidden_state", "pooler_output"]
    assert out.to_tuple()[1] is None


def test_non_field_keys_and_attributes() -> None:
    out = BaseModelOutput(last_hidden_state=LHS)
    out["extra"] = POOLED
    assert out.extra is POOLED and list(out.keys()) == ["last_hidden_state", "extra"]
    out.note = "not a field"
    assert "note" not in out and len(out) == 2
    assert out.popitem() == ("extra", POOLED)  # popitem and clear are not blocked, as in transformers
    out.clear()
    assert len(out) == 0 and out.last_hidden_state is LHS


def test_positional_and_keyword_construction() -> None:
    out = BaseModelOutputWithPoolingAndCrossAttentions(LHS, POOLED, HIDDEN)
    assert list(out.keys()) == ["last_hidden_state", "pooler_output", "hidden_states"]
    assert out.hidden_states is HIDDEN
    with pytest.raises(TypeError):
        BaseModelOutput(LHS, last_hidden_state=LHS)
    with pytest.raises(TypeError):
        BaseModelOutput(pooler_output=POOLED)


def test_first_field_as_key_value_iterable() -> None:
    from_dict = BaseModelOutput({"last_hidden_state": LHS, "attentions": ATTN})
    assert list(from_dict.keys()) == ["last_hidden_state", "attentions"]
    assert from_dict.last_hidden_state is LHS and from_dict.attentions is ATTN
    from_pairs = BaseModelOutput([("last_hidden_state", LHS), ("hidden_states", None)])
    assert list(from_pairs.keys()) == ["last_hidden_state"] and from_pairs.hidden_states is None
    plain = BaseModelOutput(HIDDEN)  # not pairs: kept as the value
    assert plain.last_hidden_state is HIDDEN and list(plain.keys()) == ["last_hidden_state"]
    empty = BaseModelOutput([])
    assert empty.last_hidden_state is None and len(empty) == 0
    with pytest.raises(ValueError, match="needs to be a tuple"):
        BaseModelOutput([("last_hidden_state", LHS), 5])


def test_arrays_are_never_read_as_iterables() -> None:
    empty = np.zeros((0, 3), dtype=np.float32)  # iterating it would yield nothing and drop it
    out = BaseModelOutput(last_hidden_state=empty)
    assert out.last_hidden_state is empty and list(out.keys()) == ["last_hidden_state"]
    scalar_loss = SequenceClassifierOutput(loss=LOSS)
    assert scalar_loss[0] is LOSS
    pair_like = np.zeros((1, 2), dtype=np.float32)  # one row of two: looks like a (key, value) pair list
    assert BaseModelOutput(pair_like).last_hidden_state is pair_like


def test_subclass_checks() -> None:
    class NotADataclass(ModelOutput):
        pass

    @dataclass
    class NoFields(ModelOutput):
        pass

    @dataclass
    class TwoRequired(ModelOutput):
        a: Any
        b: Any

    @dataclass
    class OneRequired(ModelOutput):
        a: Any
        b: Any = None

    with pytest.raises(TypeError, match="must use the @dataclass decorator"):
        NotADataclass()
    with pytest.raises(ValueError, match="has no fields"):
        NoFields()
    with pytest.raises(ValueError, match="more than one required field"):
        TwoRequired(1, 2)
    assert list(OneRequired(a=LHS, b=3).keys()) == ["a", "b"]


def test_bare_model_output_is_an_ordered_dict() -> None:
    out = ModelOutput(a=1, b=None)
    assert list(out.keys()) == ["a", "b"] and out.a == 1 and out.b is None
    assert out[0] == 1 and out["a"] == 1


def test_repr_shows_every_field() -> None:
    out = BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=LHS, pooler_output=POOLED)
    assert repr(out) == (
        f"BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state={LHS!r}, pooler_output={POOLED!r},"
        " hidden_states=None, cache=None, attentions=None, cross_attentions=None)"
    )
    assert str(out) == repr(out)


def test_pickle_and_copy_round_trip() -> None:
    out = BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=LHS, pooler_output=POOLED)
    out.attentions = ATTN
    for clone in (pickle.loads(pickle.dumps(out)), copy.deepcopy(out), copy.copy(out)):
        assert type(clone) is BaseModelOutputWithPoolingAndCrossAttentions
        assert list(clone.keys()) == ["last_hidden_state", "pooler_output", "attentions"]
        assert np.array_equal(clone.last_hidden_state, LHS) and np.array_equal(clone["pooler_output"], POOLED)
        assert len(clone.attentions) == 2 and np.array_equal(clone[2][1], ATTN[1])
        assert clone.hidden_states is None and clone.cache is None
    assert copy.copy(out).last_hidden_state is LHS
    assert copy.deepcopy(out).last_hidden_state is not LHS


def test_equality() -> None:
    out = BaseModelOutput(last_hidden_state=LHS)
    assert out == out
    assert out == BaseModelOutput(last_hidden_state=LHS)  # same array objects
    other_class = BaseModelOutputWithPoolingAndCrossAttentions(last_hidden_state=LHS)
    # As in transformers: == is the dataclass one (False across classes), but != is the dict one.
    assert not (out == other_class) and not (out != other_class)
    with pytest.raises(ValueError, match="ambiguous"):  # equal but distinct arrays: compare them instead
        _ = out == copy.deepcopy(out)
    assert BaseModelOutput(last_hidden_state="x") == BaseModelOutput(last_hidden_state="x")
    assert BaseModelOutput(last_hidden_state="x") != BaseModelOutput(last_hidden_state="y")
    with pytest.raises(TypeError):
        hash(out)


def test_old_cache_names(caplog: pytest.LogCaptureFixture) -> None:
    cache = ("k", "v")
    with caplog.at_level(logging.WARNING, logger="bertcore.outputs"):
        out = BaseModelOutputWithPoolingAndCrossAttentions(LHS, past_key_values=cache)
        assert out.cache is cache and list(out.keys()) == ["last_hidden_state", "cache"]
        assert out.past_key_values is cache and out.cache_params is cache
        assert out["past_key_values"] is cache and out["cache_params"] is cache
        assert "past_key_values" in out and out.get("cache_params") is cache
        out.past_key_values = POOLED
        assert out.cache is POOLED and out["cache"] is POOLED
        out["cache_params"] = LHS
        assert out.cache is LHS
        assert "past_key_values" not in out.__dict__ and "cache_params" not in out.__dict__
    warnings = [r for r in caplog.records if r.name == "bertcore.outputs"]
    assert len(warnings) == 1 and "deprecated" in warnings[0].getMessage()

    other = BaseModelOutputWithPoolingAndCrossAttentions(LHS, cache_params=cache)
    assert other.cache is cache
    with pytest.raises(ValueError, match="both `cache` and `past_key_values`"):
        BaseModelOutputWithPoolingAndCrossAttentions(LHS, cache=1, past_key_values=2)
    with pytest.raises(TypeError, match="cache"):
        BaseModelOutput(LHS, past_key_values=1)
    with pytest.raises(AttributeError, match="cache"):
        _ = BaseModelOutput(LHS).past_key_values
    assert "past_key_values" not in BaseModelOutputWithPoolingAndCrossAttentions(LHS)


@pytest.mark.parametrize(
    "use_old_name",
    [
        lambda o: o.past_key_values,
        lambda o: o.cache_params,
        lambda o: o["past_key_values"],
        lambda o: "cache_params" in o,
        lambda o: o.get("past_key_values"),
        lambda o: setattr(o, "past_key_values", 1),
        lambda o: o.__setitem__("cache_params", 1),
        lambda o: type(o)(LHS, past_key_values=1),
    ],
)
def test_each_old_name_use_warns(
    caplog: pytest.LogCaptureFixture, use_old_name: Callable[[Any], Any]
) -> None:
    out = BaseModelOutputWithPoolingAndCrossAttentions(LHS, cache=("k",))
    with caplog.at_level(logging.WARNING, logger="bertcore.outputs"):
        _ = (out.cache, out["cache"], "cache" in out)  # the current name does not warn
        assert not [r for r in caplog.records if r.name == "bertcore.outputs"]
        use_old_name(out)
        use_old_name(out)
    assert len([r for r in caplog.records if r.name == "bertcore.outputs"]) == 1  # once only


def test_module_needs_neither_torch_nor_transformers() -> None:
    code = (
        "import sys, numpy as np\n"
        "from bertcore.outputs import BaseModelOutputWithPoolingAndCrossAttentions as B\n"
        "out = B(np.zeros((1, 2, 3)), np.zeros((1, 3)))\n"
        "assert out[1].shape == (1, 3) and out.to_tuple()\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_docstring_examples() -> None:
    results = doctest.testmod(bertcore_outputs, optionflags=doctest.ELLIPSIS)
    assert results.attempted >= 5
    assert results.failed == 0


# ----------------------------------------------------------------------------------------------------------
# Parity with transformers


def test_field_names_and_defaults_match_transformers(hf: Any) -> None:
    for name, cls in OURS.items():
        theirs = [(f.name, f.default) for f in fields(getattr(hf, name))]
        assert [(f.name, f.default) for f in fields(cls)] == theirs, name


@pytest.mark.parametrize(("name", "kw"), CASES, ids=CASE_IDS)
def test_views_match_transformers(hf: Any, name: str, kw: dict[str, Any]) -> None:
    ours, theirs = _build_pair(hf, name, kw)
    _assert_same_state(ours, theirs)
    assert list(ours) == list(theirs)
    assert [k for k, _ in ours.items()] == [k for k, _ in theirs.items()]
    assert _same(tuple(ours.values()), tuple(theirs.values()))
    n = len(theirs)
    for i in range(-n - 2, n + 2):
        _assert_same_outcome(lambda o, i=i: o[i], ours, theirs, f"[{i}]")
    for sl in SLICES:
        _assert_same_outcome(lambda o, sl=sl: o[sl], ours, theirs, f"[{sl}]")
    for key in [f.name for f in fields(theirs)] + ["nope"]:
        _assert_same_outcome(lambda o, k=key: o[k], ours, theirs, f"[{key!r}]")
        _assert_same_outcome(lambda o, k=key: k in o, ours, theirs, f"{key!r} in")
        _assert_same_outcome(lambda o, k=key: o.get(k, "dflt"), ours, theirs, f"get({key!r})")
    _assert_same_outcome(lambda o: o[1.0], ours, theirs, "[1.0]")
    _assert_same_outcome(lambda o: o[None], ours, theirs, "[None]")
    _assert_same_outcome(lambda o: isinstance(o, OrderedDict), ours, theirs, "isinstance")


@pytest.mark.parametrize(
    "call",
    [
        lambda o: o.__delitem__("last_hidden_state"),
        lambda o: o.setdefault("x", 1),
        lambda o: o.pop("last_hidden_state"),
        lambda o: o.pop(),
        lambda o: o.update({"a": 1}),
        lambda o: o.update(a=1),
        lambda o: hash(o),
        lambda o: o == o,
    ],
)
@pytest.mark.parametrize(("name", "kw"), CASES[:2] + CASES[5:7], ids=CASE_IDS[:2] + CASE_IDS[5:7])
def test_errors_match_transformers(
    hf: Any, name: str, kw: dict[str, Any], call: Callable[[Any], Any]
) -> None:
    ours, theirs = _build_pair(hf, name, kw)
    _assert_same_outcome(call, ours, theirs, "call")
    _assert_same_state(ours, theirs)


MUTATIONS: list[tuple[str, str, Any]] = [
    ("setattr", "attentions", ATTN),
    ("setattr", "hidden_states", HIDDEN),
    ("setitem", "pooler_output", POOLED),
    ("setattr", "last_hidden_state", POOLED),
    ("setitem", "last_hidden_state", LHS),
    ("setattr", "pooler_output", None),
    ("setitem", "hidden_states", None),
    ("setitem", "extra", LOGITS),
    ("setattr", "note", "text"),
    ("popitem", "", None),
    ("setattr", "cross_attentions", ATTN),
    ("clear", "", None),
    ("setattr", "attentions", HIDDEN),
]


def _mutate(obj: Any, op: str, key: str, value: Any) -> Any:
    if op == "setattr":
        setattr(obj, key, value)
    elif op == "setitem":
        obj[key] = value
    elif op == "popitem":
        return obj.popitem()
    elif op == "clear":
        obj.clear()
    return None


def test_mutations_match_transformers(hf: Any) -> None:
    ours, theirs = _build_pair(hf, POOLING, {"last_hidden_state": LHS})
    for op, key, value in MUTATIONS:
        r_o = _mutate(ours, op, key, value)
        r_t = _mutate(theirs, op, key, _to_torch(value))
        assert _same(r_o, r_t), (op, key)
        _assert_same_state(ours, theirs)
        for extra in ("extra", "note"):
            assert _same(getattr(ours, extra, "unset"), getattr(theirs, extra, "unset")), (op, key, extra)
        clone_o, clone_t = pickle.loads(pickle.dumps(ours)), pickle.loads(pickle.dumps(theirs))
        _assert_same_state(clone_o, clone_t)


@pytest.mark.parametrize(
    "first",
    [
        {"last_hidden_state": LHS, "attentions": ATTN},
        {"attentions": ATTN, "last_hidden_state": LHS},
        [("last_hidden_state", LHS), ("hidden_states", None)],
        (("hidden_states", HIDDEN),),
        [["last_hidden_state", LHS]],
        HIDDEN,
        [LHS, ("last_hidden_state", LHS)],
        [("last_hidden_state", LHS), 5],
        [(1, LHS)],
        [],
        (),
        {},
        "text",
        LHS,
        np.zeros((0, 3), dtype=np.float32),
        np.zeros((1, 2), dtype=np.float32),
        LOSS,
        7,
        None,
    ],
    ids=lambda v: type(v).__name__,
)
def test_first_field_handling_matches_transformers(hf: Any, first: Any) -> None:
    # transformers given torch tensors made from the arrays, then given the numpy arrays themselves.
    for theirs_first in (_to_torch(first), first):
        kind_o, ours = _outcome(BaseModelOutput, first)
        kind_t, theirs = _outcome(hf.BaseModelOutput, theirs_first)
        assert kind_o == kind_t, (ours, theirs)
        if kind_o == "ok":
            _assert_same_state(ours, theirs)
        else:
            assert ours == theirs


def test_repr_matches_transformers(hf: Any) -> None:
    values = {"last_hidden_state": "h", "pooler_output": 3, "attentions": ("a", "b")}
    ours = BaseModelOutputWithPoolingAndCrossAttentions(**values)
    theirs = hf.BaseModelOutputWithPoolingAndCrossAttentions(**values)
    assert repr(ours) == repr(theirs)
    ours.hidden_states = ("x",)
    theirs.hidden_states = ("x",)
    assert repr(ours) == repr(theirs)


def test_equality_matches_transformers(hf: Any) -> None:
    def pair(name: str, **kw: Any) -> tuple[Any, Any]:
        return OURS[name](**kw), getattr(hf, name)(**kw)

    a_o, a_t = pair("BaseModelOutput", last_hidden_state="x", attentions=(1,))
    b_o, b_t = pair("BaseModelOutput", last_hidden_state="x", attentions=(1,))
    c_o, c_t = pair(POOLING, last_hidden_state="x", attentions=(1,))
    plain = {"last_hidden_state": "x", "attentions": (1,)}

    def check() -> None:
        assert (a_o == b_o, a_o != b_o) == (a_t == b_t, a_t != b_t)
        assert (a_o == c_o, a_o != c_o) == (a_t == c_t, a_t != c_t)
        assert (plain == a_o, plain != a_o) == (plain == a_t, plain != a_t)
        assert (a_o == plain, a_o != plain) == (a_t == plain, a_t != plain)

    check()
    b_o.last_hidden_state, b_t.last_hidden_state = "y", "y"
    check()
    assert pickle.loads(pickle.dumps(a_o)) == a_o


def test_old_cache_names_match_transformers(hf: Any) -> None:
    cache = ("k", "v")
    ours, theirs = _build_pair(hf, POOLING, {"last_hidden_state": LHS, "past_key_values": cache})
    _assert_same_state(ours, theirs)
    for attr in ("past_key_values", "cache_params", "cache"):
        _assert_same_outcome(lambda o, a=attr: getattr(o, a), ours, theirs, attr)
        _assert_same_outcome(lambda o, a=attr: o[a], ours, theirs, f"[{attr!r}]")
        _assert_same_outcome(lambda o, a=attr: a in o, ours, theirs, f"{attr!r} in")
        _assert_same_outcome(lambda o, a=attr: o.get(a), ours, theirs, f"get({attr!r})")
    ours.past_key_values = "new"
    theirs.past_key_values = "new"
    _assert_same_state(ours, theirs)
    ours["cache_params"] = "newer"
    theirs["cache_params"] = "newer"
    _assert_same_state(ours, theirs)

    def construct(kw: dict[str, Any]) -> Callable[[Any], Any]:
        return lambda cls: list(cls(LHS, **kw).keys())

    for kw in ({"cache": 1, "past_key_values": 2}, {"cache": 1, "cache_params": 2}, {"cache_params": 2}):
        _assert_same_outcome(construct(kw), OURS[POOLING], getattr(hf, POOLING), str(kw))
    _assert_same_outcome(
        construct({"past_key_values": 1, "cache_params": 2}), OURS[POOLING], getattr(hf, POOLING), "both old"
    )
    _assert_same_outcome(
        construct({"past_key_values": 1}), BaseModelOutput, hf.BaseModelOutput, "no cache field"
    )
    _assert_same_outcome(
        lambda cls: cls(LHS).past_key_values, BaseModelOutput, hf.BaseModelOutput, "no cache field attr"
    )


def test_subclass_checks_match_transformers(hf_model_output: Any) -> None:
    def make(base: Any, kind: str) -> Any:
        if kind == "plain":
            return type("Plain", (base,), {})
        annotations = {"none": {}, "two": {"a": "Any", "b": "Any"}, "one": {"a": "Any", "b": "Any"}}[kind]
        namespace: dict[str, Any] = {"__annotations__": annotations}
        if kind == "one":
            namespace["b"] = None
        return dataclass(type(f"Out_{kind}", (base,), namespace))

    for kind, args in (("plain", ()), ("none", ()), ("two", (1, 2)), ("one", (1,))):
        ours_cls, theirs_cls = make(ModelOutput, kind), make(hf_model_output, kind)
        kind_o, res_o = _outcome(lambda c, a=args: list(c(*a).keys()), ours_cls)
        kind_t, res_t = _outcome(lambda c, a=args: list(c(*a).keys()), theirs_cls)
        assert kind_o == kind_t, kind
        if kind_o == "raise":
            assert res_o[0] is res_t[0], kind
            assert res_o[1].replace(ours_cls.__module__, "M") == res_t[1].replace(theirs_cls.__module__, "M")
        else:
            assert res_o == res_t, kind

    bare_o, bare_t = ModelOutput({"a": 1}, b=2), hf_model_output({"a": 1}, b=2)
    assert list(bare_o.keys()) == list(bare_t.keys()) and bare_o.b == bare_t.b == 2
    assert repr(bare_o) == repr(bare_t)
    _assert_same_outcome(lambda o: o[1], bare_o, bare_t, "bare [1]")
    _assert_same_outcome(lambda o: setattr(o, "c", 3), bare_o, bare_t, "bare setattr")
