"""A quick forward-pass benchmark: bertcore, and transformers + torch on the same inputs when importable.

Used by ``bertcore bench``; the full benchmarks live in the repository's ``benchmarks/`` folder. The inputs
are random token ids (no padding) of shape (batch, seq); each engine runs ``warmup`` untimed calls, then
``repeats`` timed ones, and the median is reported. ``speedup`` is transformers' median over each engine's
(bertcore's above 1: bertcore is faster). When both ran, the largest absolute difference of their last
hidden states is reported as a sanity check.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import numpy.typing as npt

from .models.auto import AutoConfig, AutoModel


@dataclasses.dataclass
class EngineResult:
    name: str
    median_ms: float
    min_ms: float
    tokens_per_s: float
    speedup: Optional[float] = (
        None  # transformers+torch's median / this engine's (None when torch did not run)
    )


@dataclasses.dataclass
class BenchReport:
    model_dir: str
    model_type: str
    batch: int
    seq: int
    threads: int
    isa: str
    repeats: int
    engines: List[EngineResult]
    max_abs_diff: Optional[float] = None
    skipped: Optional[str] = None  # why transformers + torch did not run

    def as_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def table(self) -> str:
        lines = [
            f"model {self.model_dir} ({self.model_type}), batch {self.batch} x seq {self.seq}, "
            f"{self.threads} threads, ISA {self.isa}, median of {self.repeats}",
            f"{'engine':<22}{'median ms':>12}{'min ms':>10}{'tokens/s':>12}{'speedup':>10}",
        ]
        for e in self.engines:
            speedup = "-" if e.speedup is None else f"{e.speedup:.2f}x"
            lines.append(
                f"{e.name:<22}{e.median_ms:>12.2f}{e.min_ms:>10.2f}{e.tokens_per_s:>12,.0f}{speedup:>10}"
            )
        if self.max_abs_diff is not None:
            lines.append(f"max |bertcore - transformers| on last_hidden_state: {self.max_abs_diff:.2e}")
        if self.skipped:
            lines.append(f"transformers + torch not run: {self.skipped}")
        return "\n".join(lines)


def _time(fn: Callable[[], Any], warmup: int, repeats: int) -> List[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def _random_ids(config: Any, batch: int, seq: int, seed: int) -> npt.NDArray[np.int64]:
    rng = np.random.default_rng(seed)
    vocab = int(config.vocab_size)
    low = min(1000, vocab // 2)  # clear of the special tokens at the start of most vocabularies
    ids = rng.integers(low, vocab, size=(batch, seq), dtype=np.int64)
    pad = getattr(config, "pad_token_id", None)
    if pad is not None:
        ids[ids == pad] = low if pad != low else low + 1
    return ids


def run_bench(
    model_dir: str,
    batch: int = 8,
    seq: int = 128,
    threads: Optional[int] = None,
    repeats: int = 10,
    warmup: int = 2,
    with_torch: bool = True,
    seed: int = 0,
    dtype: str = "float32",
) -> BenchReport:
    """Times bertcore's forward pass (and transformers + torch's) on random ids of shape (batch, seq).

    Raises:
        FileNotFoundError, ValueError: as ``AutoModel.from_pretrained``, or an invalid size.
    """
    for name, value in (("batch", batch), ("seq", seq), ("repeats", repeats)):
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    model_dir = os.fspath(model_dir)
    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, num_threads=threads, dtype=dtype)
    limit = getattr(config, "max_position_embeddings", None)
    if isinstance(limit, int) and seq > limit:
        raise ValueError(f"seq {seq} exceeds the model's max_position_embeddings ({limit})")
    ids = _random_ids(config, batch, seq, seed)
    mask = np.ones_like(ids)
    tokens = batch * seq

    ours: Dict[str, Any] = {}

    def bertcore_call() -> None:
        ours["out"] = model(input_ids=ids, attention_mask=mask).last_hidden_state

    times = _time(bertcore_call, warmup, repeats)
    engines = [
        EngineResult(
            "bertcore", statistics.median(times), min(times), tokens / statistics.median(times) * 1e3
        )
    ]
    report = BenchReport(
        model_dir, config.model_type, batch, seq, model.num_threads, model.isa, repeats, engines
    )
    if not with_torch:
        report.skipped = "--no-torch"
        return report
    try:
        import torch
        import transformers
    except ImportError as error:
        report.skipped = f"not importable ({error})"
        return report

    torch.set_num_threads(model.num_threads)
    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call,unused-ignore]
    reference = transformers.AutoModel.from_pretrained(model_dir).eval()
    t_ids = torch.from_numpy(ids)
    t_mask = torch.from_numpy(mask)
    theirs: Dict[str, Any] = {}

    def torch_call() -> None:
        with torch.inference_mode():
            theirs["out"] = reference(input_ids=t_ids, attention_mask=t_mask).last_hidden_state

    times = _time(torch_call, warmup, repeats)
    median = statistics.median(times)
    engines.append(EngineResult("transformers+torch", median, min(times), tokens / median * 1e3))
    for engine in engines:
        engine.speedup = median / engine.median_ms
    report.max_abs_diff = float(np.abs(ours["out"] - theirs["out"].float().numpy()).max())
    return report
