"""BertModel's call interface: input forms, defaults, output options and clear errors for bad input."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bertcore import BaseModelOutputWithPoolingAndCrossAttentions, BertModel
from conftest import require
from tiny_models import TINY, numpy_bert, write_tiny_bert

IDS = np.array([[2, 5, 9, 11, 3, 0], [2, 7, 7, 7, 1, 3]])
MASK = np.array([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    path = tmp_path_factory.mktemp("tiny")
    tensors = write_tiny_bert(path)
    return path, tensors


@pytest.fixture(scope="module")
def model(tiny: tuple) -> BertModel:
    return BertModel.from_pretrained(tiny[0], num_threads=2)


def test_input_forms_agree(model: BertModel) -> None:
    ref = model(IDS, attention_mask=MASK).last_hidden_state
    assert np.array_equal(model(IDS.tolist(), attention_mask=MASK.tolist()).last_hidden_state, ref)
    assert np.array_equal(
        model(IDS.astype(np.int32), attention_mask=MASK.astype(bool)).last_hidden_state, ref
    )
    one = model(IDS[1]).last_hidden_state  # a 1-D input is one sequence
    assert one.shape == (1, 6, TINY["hidden_size"]) and np.array_equal(
        one[0], model(IDS).last_hidden_state[1]
    )
    torch = require("torch")
    out = model(input_ids=torch.from_numpy(IDS), attention_mask=torch.from_numpy(MASK))
    assert np.array_equal(out.last_hidden_state, ref)


def test_defaults_are_transformers_defaults(model: BertModel) -> None:
    b, s = IDS.shape
    base = model(IDS).last_hidden_state
    explicit = model(
        IDS,
        attention_mask=np.ones((b, s), np.int64),
        token_type_ids=np.zeros((b, s), np.int64),
        position_ids=np.arange(s)[None, :],
    ).last_hidden_state
    assert np.array_equal(base, explicit)


def test_token_types_and_positions_matter(model: BertModel, tiny: tuple) -> None:
    types = np.array([[0, 0, 0, 1, 1, 1], [0, 1, 0, 1, 0, 1]])
    positions = np.array([[5, 4, 3, 2, 1, 0], [0, 2, 4, 6, 8, 10]])
    out = model(IDS, attention_mask=MASK, token_type_ids=types, position_ids=positions, skip_padding=False)
    ref = numpy_bert(tiny[1], TINY, IDS, MASK, types, positions)
    assert np.abs(out.last_hidden_state - ref["last_hidden_state"]).max() < 2e-5
    assert np.abs(out.pooler_output - ref["pooler_output"]).max() < 2e-5


@pytest.mark.parametrize(
    "mask",
    [
        [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]],  # right padding
        [[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]],  # left padding: position 0 is padding, the pooler reads it
        [[1, 0, 1, 0, 1, 0], [0, 1, 1, 0, 0, 1]],  # holes anywhere
        [[1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1]],  # one real token each
        [[0, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]],  # a sequence with no real token: the dense layout is used
    ],
)
def test_skip_padding_changes_only_padded_positions(model: BertModel, tiny: tuple, mask: list) -> None:
    mask_a = np.array(mask)
    keep = mask_a.astype(bool)
    dense = model(
        IDS, attention_mask=mask_a, skip_padding=False, output_hidden_states=True, output_attentions=True
    )
    packed = model(IDS, attention_mask=mask_a, output_hidden_states=True, output_attentions=True)
    ref = numpy_bert(tiny[1], TINY, IDS, mask_a)
    assert np.abs(dense.last_hidden_state - ref["last_hidden_state"]).max() < 2e-5
    np.testing.assert_allclose(packed.pooler_output, dense.pooler_output, atol=1e-6, rtol=0)
    for a, b in zip(packed.hidden_states, dense.hidden_states):
        np.testing.assert_allclose(a[keep], b[keep], atol=1e-6, rtol=0)
    if keep.any(axis=1).all():
        # Documented: padded positions are zeros, except position 0, which the pooler reads and is computed.
        computed = keep.copy()
        computed[:, 0] = True
        assert np.all(packed.last_hidden_state[~computed] == 0.0)
        np.testing.assert_allclose(
            packed.last_hidden_state[:, 0], dense.last_hidden_state[:, 0], atol=1e-6, rtol=0
        )
        for a, b in zip(packed.attentions, dense.attentions):
            rows = np.broadcast_to(keep[:, None, :, None], a.shape)
            np.testing.assert_allclose(a[rows], b[rows], atol=1e-6, rtol=0)
    else:
        assert np.array_equal(packed.last_hidden_state, dense.last_hidden_state)


def test_output_object_and_options(model: BertModel) -> None:
    out = model(
        IDS, attention_mask=MASK, output_hidden_states=True, output_attentions=True, skip_padding=False
    )
    assert isinstance(out, BaseModelOutputWithPoolingAndCrossAttentions)
    assert out.last_hidden_state.dtype == np.float32 and out.pooler_output.shape == (2, TINY["hidden_size"])
    assert len(out.hidden_states) == TINY["num_hidden_layers"] + 1
    assert out.hidden_states[-1] is out.last_hidden_state  # as in transformers
    assert len(out.attentions) == TINY["num_hidden_layers"]
    assert out.attentions[0].shape == (2, TINY["num_attention_heads"], 6, 6)
    np.testing.assert_allclose(out.attentions[1].sum(-1), 1.0, atol=1e-5)
    assert np.all(out.attentions[0][0, :, :, 5] == 0.0)  # the padded key gets no attention
    assert out.past_key_values is None and out.cross_attentions == ()  # transformers 5's empty tuple
    assert list(out.keys()) == [
        "last_hidden_state",
        "pooler_output",
        "hidden_states",
        "attentions",
        "cross_attentions",
    ]
    assert model(IDS).cross_attentions is None
    tup = model(IDS, attention_mask=MASK, return_dict=False, skip_padding=False)
    assert isinstance(tup, tuple) and len(tup) == 2
    assert np.array_equal(tup[0], out.last_hidden_state)


def test_thread_counts_and_isas_agree(tiny: tuple, isa: str) -> None:
    m1 = BertModel.from_pretrained(tiny[0], num_threads=1, isa=isa)
    m2 = BertModel.from_pretrained(tiny[0], num_threads=2, isa=isa)
    assert m1.isa == isa
    a = m1(IDS, attention_mask=MASK).last_hidden_state
    b = m2(IDS, attention_mask=MASK).last_hidden_state
    assert np.array_equal(a, b)  # threads split work, never a sum: results are bit-identical
    m2.num_threads = 1
    assert m2.num_threads == 1


def test_concurrent_calls_are_safe(model: BertModel) -> None:
    ref = model(IDS, attention_mask=MASK).last_hidden_state
    results: list = []

    def work() -> None:
        for _ in range(20):
            results.append(model(IDS, attention_mask=MASK).last_hidden_state)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80 and all(np.array_equal(r, ref) for r in results)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"input_ids": [[1, 2, 60]]}, ValueError, "input_ids holds 60"),
        ({"input_ids": [[1, -2, 3]]}, ValueError, "input_ids holds -2"),
        ({"input_ids": [[1.0, 2.0]]}, TypeError, "integers"),
        ({"input_ids": [[1, 2], [3]]}, ValueError, "ragged"),
        ({"input_ids": np.zeros((1, 2, 3), np.int64)}, ValueError, "shape"),
        ({"input_ids": np.zeros((1, 0), np.int64)}, ValueError, "empty"),
        ({"input_ids": np.zeros((1, 21), np.int64)}, ValueError, "max_position_embeddings"),
        ({"input_ids": [[1, 2]], "attention_mask": [[1, 1, 1]]}, ValueError, "attention_mask has shape"),
        ({"input_ids": [[1, 2]], "attention_mask": [["a", "b"]]}, TypeError, "attention_mask"),
        ({"input_ids": [[1, 2]], "token_type_ids": [[0, 2]]}, ValueError, "token_type_ids holds 2"),
        ({"input_ids": [[1, 2]], "token_type_ids": [[0, 1, 1]]}, ValueError, "token_type_ids has shape"),
        ({"input_ids": [[1, 2]], "position_ids": [[0, 20]]}, ValueError, "position_ids holds 20"),
        ({"input_ids": [[1, 2]], "inputs_embeds": np.zeros((1, 2, 24))}, ValueError, "inputs_embeds"),
        ({"input_ids": [[1, 2]], "bogus": 1}, TypeError, "bogus"),
        ({}, ValueError, "input_ids is required"),
    ],
)
def test_bad_input_raises_clearly(model: BertModel, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        model(**kwargs)


def test_bad_construction_arguments(tiny: tuple) -> None:
    with pytest.raises(ValueError, match="num_threads"):
        BertModel.from_pretrained(tiny[0], num_threads=0)
    with pytest.raises(TypeError, match="num_threads"):
        BertModel.from_pretrained(tiny[0], num_threads="2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="isa"):
        BertModel.from_pretrained(tiny[0], isa="avx1024")


def test_workspace_is_reused(model: BertModel) -> None:
    model(IDS)
    size = model._encoder.workspace_bytes
    model(IDS)
    assert model._encoder.workspace_bytes == size > 0


def test_workspace_shrinks_after_a_large_batch(model: BertModel) -> None:
    model._encoder.release_workspace()
    model(IDS)
    small = model._encoder.workspace_bytes
    big_ids = np.tile(IDS, (40, 3))[:, :18]
    model(big_ids)
    big = model._encoder.workspace_bytes
    assert big > 10 * small
    for _ in range(8):  # the large batch leaves the window of recent calls
        model(IDS)
    assert model._encoder.workspace_bytes == small
