"""Fork safety: a model used in the parent keeps working in children made by fork, forkserver and spawn.

GNU libgomp's thread pool does not survive fork(): the core releases the forking thread's pool before fork()
and, where it cannot, runs the child's calls from that thread on a thread started after the fork (the
hand-off; cpp/src/cpu/fork_safety.cc); fork() waits for native calls in flight. Both ways are tested: each
child must give the parent's exact outputs, at the model's thread count, within a bounded time.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bertcore
from bertcore import _core
from conftest import SUPPORTED_ISAS

FIXTURE = Path(__file__).parent / "fixtures" / "gelu_h32_l2"
THREADS = 2
JOIN_S = 120  # a hung child fails the test instead of hanging the suite

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="needs Linux /proc for thread counts"
)

_model: bertcore.BertModel | None = None  # the process's model: inherited by fork, loaded by initialize()


def inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    ids = rng.integers(5, 99, size=(3, 30), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 19:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def live_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def initialize(model_dir: str, isa: str) -> None:
    global _model
    _model = bertcore.BertModel.from_pretrained(model_dir, num_threads=THREADS, isa=isa)


def forward() -> tuple[np.ndarray, np.ndarray, int]:
    """The model's outputs on inputs(), and how many threads the process gained while computing them."""
    assert _model is not None
    before = live_threads()
    out = _model(**inputs())
    return out.last_hidden_state, out.pooler_output, live_threads() - before


def child_main(queue: Any, nested: bool) -> None:
    """In a child: one forward, then (nested) the same in a grandchild forked from this child."""
    result: dict[str, Any] = {"own": forward()}
    if nested:
        inner: Any = mp.get_context("fork").Queue()
        grandchild = mp.get_context("fork").Process(target=child_main, args=(inner, False))
        grandchild.start()
        result["nested"] = inner.get(timeout=JOIN_S)["own"]
        grandchild.join(JOIN_S)
        result["nested_exit"] = grandchild.exitcode
    queue.put(result)


def run_child(method: str, nested: bool = False) -> dict[str, Any]:
    ctx = mp.get_context(method)
    queue = ctx.Queue()
    if method == "fork":
        proc = ctx.Process(target=child_main, args=(queue, nested))
    else:
        proc = ctx.Process(target=spawned_main, args=(queue, str(FIXTURE), _model_isa()))
    proc.start()
    try:
        result: dict[str, Any] = queue.get(timeout=JOIN_S)
    finally:
        proc.join(JOIN_S)
        if proc.is_alive():
            proc.kill()
            pytest.fail(f"the {method} child did not finish within {JOIN_S} s")
    assert proc.exitcode == 0
    return result


def spawned_main(queue: Any, model_dir: str, isa: str) -> None:
    initialize(model_dir, isa)
    queue.put({"own": forward()})


def _model_isa() -> str:
    assert _model is not None
    return str(_model.isa)


@pytest.fixture(params=["release", "handoff"])
def fork_mode(request: pytest.FixtureRequest) -> Any:
    """How a forked child gets a working OpenMP pool: the parent releases its pool before fork(), or the
    child hands its calls to a new thread."""
    _core._set_fork_pool_release(request.param == "release")
    yield request.param
    _core._set_fork_pool_release(True)


@pytest.fixture(params=SUPPORTED_ISAS)
def parent_model(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    """Loads the module's model under one ISA and calls it twice in the parent; returns its outputs."""
    initialize(str(FIXTURE), request.param)
    forward()
    hidden, pooled, _ = forward()
    return hidden, pooled


def assert_same(
    result: tuple[np.ndarray, np.ndarray, int], expected: tuple[np.ndarray, np.ndarray], mode: str
) -> None:
    hidden, pooled, gained = result
    np.testing.assert_array_equal(hidden, expected[0])
    np.testing.assert_array_equal(pooled, expected[1])
    # A forked child starts with the forking thread alone; its first call starts the OpenMP workers of a
    # team of the model's thread count (and, in the hand-off, the thread that runs the calls), not a silent
    # fall-back to one thread.
    assert gained >= THREADS - 1 + (mode == "handoff")


def assert_parent_still_works(expected: tuple[np.ndarray, np.ndarray]) -> None:
    hidden, pooled, _ = forward()
    np.testing.assert_array_equal(hidden, expected[0])
    np.testing.assert_array_equal(pooled, expected[1])


def test_forked_child_matches_parent(fork_mode: str, parent_model: tuple[np.ndarray, np.ndarray]) -> None:
    assert_same(run_child("fork")["own"], parent_model, fork_mode)
    assert_parent_still_works(parent_model)


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_fresh_child_matches_parent(method: str, parent_model: tuple[np.ndarray, np.ndarray]) -> None:
    hidden, pooled, _ = run_child(method)["own"]
    np.testing.assert_array_equal(hidden, parent_model[0])
    np.testing.assert_array_equal(pooled, parent_model[1])
    assert_parent_still_works(parent_model)


def test_nested_fork(fork_mode: str, parent_model: tuple[np.ndarray, np.ndarray]) -> None:
    result = run_child("fork", nested=True)
    assert_same(result["own"], parent_model, fork_mode)
    assert result["nested_exit"] == 0
    assert_same(result["nested"], parent_model, fork_mode)
    assert_parent_still_works(parent_model)


def test_fork_while_another_thread_is_in_a_forward_call(fork_mode: str) -> None:
    """Children forked while a parent thread calls the same model in a loop: fork() waits for the call in
    flight, so no child inherits the encoder's lock held or a parallel region half-run."""
    initialize(str(FIXTURE), str(bertcore.cpu_info()["isa"]))
    expected = forward()[:2]
    stop = threading.Event()
    calls = 0

    def busy() -> None:
        nonlocal calls
        while not stop.is_set():
            forward()
            calls += 1

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        for _ in range(8):
            assert_same(run_child("fork")["own"], expected, fork_mode)
    finally:
        stop.set()
        worker.join(JOIN_S)
    assert calls > 0
    assert_parent_still_works(expected)
