"""The batching thread: the one owner of the models. Requests are tokenized on arrival and queued as jobs of
token rows; the thread takes as many queued rows as fit a budget of real tokens (padding is skipped, so real
tokens are the cost) without waiting for a batch to fill, runs them sorted by length in forward calls of at most
``chunk_rows`` rows, as ``SentenceEncoder.encode`` does, and hands each job its results through its asyncio
future as soon as its last row is done.

Why chunks: one forward call over many ragged rows pads every row's output to the longest and was ~20% slower
than the same rows sorted in calls of 16-32 (90 real-sentence rows of ~3,200 tokens, 2 threads); and the
requests whose rows finish in an early chunk are answered before the batch ends, so their clients' next
requests arrive while the batch still runs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

import numpy as np

# kind -> runs a list of rows in one forward call, returning one result row per input row.
Runner = Callable[[List[Any]], np.ndarray]


class QueueFull(Exception):
    """The queue holds ``max_queue`` rows already: the request is refused (429)."""


class Draining(Exception):
    """The server is shutting down: no new work is accepted (503)."""


@dataclass
class Job:
    """One request's rows of one kind, and where its results go."""

    kind: str
    rows: List[Any]
    lengths: List[int]
    loop: asyncio.AbstractEventLoop
    future: "asyncio.Future[np.ndarray]"
    enqueued: float = field(default_factory=time.perf_counter)
    taken: int = 0  # rows handed to a batch so far
    results: List[Optional[np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.results = [None] * len(self.rows)


def _resolve(future: "asyncio.Future[np.ndarray]", value: Any, error: Optional[BaseException]) -> None:
    if future.done():  # the client went away
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class Batcher:
    """Runs queued jobs in token-budgeted batches on one thread.

    Args:
        runners: per kind ("embed", "rerank"), the function that runs rows in one forward call.
        max_batch_tokens: real tokens per batch (a single longer row still runs alone).
        max_queue: rows waiting at most; a job that would exceed it raises QueueFull.
        observe: called after each batch with (kind, queue seconds of its oldest job, inference seconds of
            its forward calls, real tokens).
        chunk_rows: rows per forward call at most; a larger batch runs sorted by length in chunks.
    """

    def __init__(
        self,
        runners: Dict[str, Runner],
        max_batch_tokens: int,
        max_queue: int,
        observe: Callable[[str, float, float, int], None],
        chunk_rows: int = 32,
    ) -> None:
        self._runners = runners
        self._max_batch_tokens = max_batch_tokens
        self._chunk_rows = chunk_rows
        self._max_queue = max_queue
        self._observe = observe
        self._jobs: Deque[Job] = deque()
        self._queued_rows = 0
        self._in_flight = 0
        self._draining = False
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="bertcore-batcher", daemon=True)
        self._thread.start()

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def submit(self, kind: str, rows: Sequence[Any], lengths: Sequence[int]) -> "asyncio.Future[np.ndarray]":
        """Queues one request's rows (with their real token counts); its future gets an array of the rows'
        results in order. Call from the event loop."""
        loop = asyncio.get_running_loop()
        job = Job(kind, list(rows), list(lengths), loop, loop.create_future())
        with self._cv:
            if self._draining:
                raise Draining("the server is shutting down")
            if self._queued_rows + len(job.rows) > self._max_queue:
                raise QueueFull(
                    f"the queue is full ({self._queued_rows} inputs waiting, at most {self._max_queue}); "
                    "retry later"
                )
            self._jobs.append(job)
            self._queued_rows += len(job.rows)
            self._cv.notify()
        return job.future

    def drain(self, timeout: Optional[float] = None) -> bool:
        """Stops accepting jobs, finishes the queued ones and ends the thread; True when it ended in time."""
        with self._cv:
            self._draining = True
            self._cv.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _take(self) -> Optional[List[Tuple[Job, int, int]]]:
        """The next batch as (job, first row, end row) pieces, all of one kind; None once drained."""
        with self._cv:
            while not self._jobs:
                if self._draining:
                    return None
                self._cv.wait()
            kind = self._jobs[0].kind
            pieces: List[Tuple[Job, int, int]] = []
            tokens = 0
            for job in self._jobs:
                if job.kind != kind:
                    continue
                end = job.taken
                while end < len(job.rows) and (
                    tokens == 0 or tokens + job.lengths[end] <= self._max_batch_tokens
                ):
                    tokens += job.lengths[end]
                    end += 1
                if end > job.taken:
                    pieces.append((job, job.taken, end))
                    self._queued_rows -= end - job.taken
                    job.taken = end
                if end < len(job.rows):
                    break  # budget spent
            self._jobs = deque(job for job in self._jobs if job.taken < len(job.rows))
            return pieces

    def _loop(self) -> None:
        while True:
            pieces = self._take()
            if pieces is None:
                return
            kind = pieces[0][0].kind
            slots = [(job, i) for job, a, b in pieces for i in range(a, b)]
            tokens = sum(job.lengths[i] for job, i in slots)
            waited = time.perf_counter() - min(job.enqueued for job, _, _ in pieces)
            if len(slots) > self._chunk_rows:
                slots.sort(key=lambda slot: slot[0].lengths[slot[1]])
            start = time.perf_counter()
            try:
                for c in range(0, len(slots), self._chunk_rows):
                    self._run_chunk(kind, slots[c : c + self._chunk_rows])
            except Exception as exc:  # a failed batch fails its requests, never the thread
                self._observe(kind, waited, time.perf_counter() - start, tokens)
                for job, _, _ in pieces:
                    job.loop.call_soon_threadsafe(_resolve, job.future, None, exc)
                continue
            self._observe(kind, waited, time.perf_counter() - start, tokens)

    def _run_chunk(self, kind: str, slots: List[Tuple[Job, int]]) -> None:
        """One forward call over the rows of ``slots`` (job, row index); answers the jobs it completes."""
        out = self._runners[kind]([job.rows[i] for job, i in slots])
        for (job, i), result in zip(slots, out):
            job.results[i] = result
        for job in {id(job): job for job, _ in slots}.values():
            # Complete once every row is queued and has its result (an earlier failed batch leaves a None
            # and has failed the job's future already).
            done = [r for r in job.results if r is not None]
            if job.taken == len(job.rows) and len(done) == len(job.rows):
                job.loop.call_soon_threadsafe(_resolve, job.future, np.stack(done), None)
