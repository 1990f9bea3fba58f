"""Runs each fuzz case in a child process (``fuzz_worker.py``), so that a crash or a hang fails the test
instead of killing pytest, and checks what came back: a model that ran, or a documented exception.

One child serves many cases (importing bertcore and warming it up takes seconds; a case takes milliseconds).
It runs under an address-space limit (see ``fuzz_worker.py``), one thread, and a timeout per case; when it
dies or stops answering it is replaced, and the case that did it fails with the child's stderr.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import bertcore

HERE = Path(__file__).resolve().parent
WORKER = HERE / "fuzz_worker.py"
WARM_MODEL = HERE / "fixtures" / "gelu_h32_l2"
# The exceptions bertcore's loaders document for bad input.
DOCUMENTED = ("ValueError", "TypeError", "FileNotFoundError")
CASE_TIMEOUT_S = 20.0
START_TIMEOUT_S = 120.0
LOG = os.environ.get("BERTCORE_FUZZ_LOG")


def sandbox_env() -> Dict[str, str]:
    """The environment of a child process: this bertcore first on its path, one thread everywhere."""
    env = dict(os.environ)
    package_root = str(Path(bertcore.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    env.update(OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", RUST_BACKTRACE="0")
    return env


class Sandbox:
    """A worker process that loads model directories on request (see ``fuzz_worker.py``).

    Example:
        >>> with Sandbox(tokenizer_dir) as box:  # doctest: +SKIP
        ...     result = box.run("model", path)
    """

    def __init__(self, warm_tokenizer_dir: Optional[str], timeout_s: float = CASE_TIMEOUT_S) -> None:
        self._warm = [str(WARM_MODEL), warm_tokenizer_dir or "-"]
        self._timeout = timeout_s
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._stderr = tempfile.TemporaryFile()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
        self._stderr.close()

    def _start(self) -> subprocess.Popen[bytes]:
        self._stderr.seek(0)
        self._stderr.truncate()
        proc = subprocess.Popen(
            [sys.executable, str(WORKER), *self._warm],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=sandbox_env(),
            start_new_session=True,
        )
        self._proc = proc
        ready = self._read(START_TIMEOUT_S)
        if ready is None or not ready.get("ready"):
            self.close()
            raise RuntimeError(f"the fuzz worker did not start: {ready!r}\n{self._stderr_tail()}")
        return proc

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()[-4000:].decode("utf-8", "replace")

    def _read(self, timeout_s: float) -> Optional[Dict[str, Any]]:
        """One answer line, or None when the worker closed its end or stayed silent past the timeout."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        chunks = b""
        while not chunks.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            chunks += chunk
        answer: Dict[str, Any] = json.loads(chunks)
        return answer

    def run(self, kind: str, path: Path) -> Dict[str, Any]:
        """Loads ``path`` as ``kind`` ("model", "classifier", "tokenizer", "sentence") in the worker; its
        answer, or ``{"outcome": "crashed" | "hung", ...}`` (the worker is then replaced on the next call)."""
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        assert proc.stdin is not None
        started = time.monotonic()
        try:
            proc.stdin.write(json.dumps({"kind": kind, "path": str(path)}).encode() + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        answer = self._read(self._timeout)
        if answer is not None:
            answer["seconds"] = time.monotonic() - started
            return answer
        try:  # a crashed worker closed its end as it died: give it a moment to be reaped
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        hung = proc.poll() is None
        self.close()
        return {
            "outcome": "hung" if hung else "crashed",
            "returncode": proc.returncode,
            "stderr": self._stderr_tail(),
            "seconds": time.monotonic() - started,
        }

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def check_answer(
    answer: Dict[str, Any], case: str, expected_shape: Optional[Sequence[Optional[int]]] = None
) -> str:
    """Asserts that a case either ran (outputs of ``expected_shape``, where None matches any size; finite when
    the weights are finite and moderate) or raised a documented exception without having tried to allocate
    what a file claims; returns "ok" or the exception's type name."""
    outcome = answer["outcome"]
    if LOG:  # BERTCORE_FUZZ_LOG=file: one line per case, to see what the cases reach
        with open(LOG, "a") as log:
            fields = [case, outcome, answer.get("type"), answer.get("message"), round(answer["seconds"], 4)]
            log.write(json.dumps(fields) + "\n")
    if outcome in ("crashed", "hung"):
        raise AssertionError(
            f"{case}: the loader {outcome} (exit status {answer['returncode']}, {answer['seconds']:.1f} s)\n"
            f"{answer['stderr']}"
        )
    if outcome == "raised":
        assert not answer["memory_error"], (
            f"{case}: tried to allocate what the file claims (MemoryError under the sandbox's address-space "
            f"limit), then raised {answer['type']}: {answer['message']}\n{answer['traceback']}"
        )
        assert answer["phase"] == "load", (
            f"{case}: loaded, but the call on a valid input raised {answer['type']}: {answer['message']} "
            f"(a setting that cannot run must be refused when loading)\n{answer['traceback']}"
        )
        assert answer["documented"], (
            f"{case}: raised {answer['type']}, not one of {', '.join(DOCUMENTED)}: {answer['message']}\n"
            f"{answer['traceback']}"
        )
        return str(answer["type"]).rsplit(".", 1)[-1]
    assert outcome == "ok", answer
    if expected_shape is not None:
        shape = answer["shape"]
        assert len(shape) == len(expected_shape) and all(
            want is None or got == want for got, want in zip(shape, expected_shape)
        ), f"{case}: output shape {shape}, expected {list(expected_shape)} (None: any)"
    if answer["weights_moderate"]:
        assert answer["finite"], f"{case}: non-finite outputs from finite, moderate weights"
    return "ok"
