"""The child process of the loader fuzz tests: loads the model directories it is sent, under a memory limit.

Run by ``fuzz_sandbox.Sandbox`` as ``python fuzz_worker.py WARM_MODEL_DIR WARM_TOKENIZER_DIR`` (``-``: no
tokenizer). It first loads both directories (so the imports, the thread pools and the allocator arenas are
in place), then caps its address space at what it uses plus ``BERTCORE_FUZZ_HEADROOM`` bytes (1 GiB by
default): a loader that believes a header claiming 2**60 bytes fails with MemoryError here instead of
exhausting the machine. Then it reads one JSON request a line from stdin, ``{"kind": "model" | "classifier" |
"tokenizer" | "sentence", "path": DIR}``, loads and runs it, and writes one JSON line back:

- ``{"outcome": "ok", ...}``: the load succeeded and one call ran; the facts the parent checks (output shape,
  whether the outputs and the stored weights are finite and moderate).
- ``{"outcome": "raised", "phase": "load" | "call", "type": ..., "message": ..., ...}``: the load raised,
  or the call of what loaded did.

A crash (segfault, abort, a Rust panic that kills the process) or a hang is seen by the parent as the pipe
closing or as silence past its timeout.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
import warnings
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

import bertcore
from bertcore import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, SentenceEncoder
from bertcore.sentence_modules import read_layout
from bertcore.weights import Checkpoint, find_checkpoint

HEADROOM = int(os.environ.get("BERTCORE_FUZZ_HEADROOM", str(1 << 30)))
TEXTS = ["Hello world, this is a test.", "a"]
# Weights at most this large (and finite) must give finite outputs on the small batch below.
MODERATE = 1e3


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _weights_moderate(path: str) -> bool:
    """Whether every floating-point tensor of the directory's checkpoint is finite and at most MODERATE."""
    with Checkpoint(find_checkpoint(path)) as ckpt:
        for name in ckpt.names():
            if ckpt.dtype(name) in ("F32", "F16", "BF16", "F64"):
                values = ckpt.get(name)
                if values.size and not (np.isfinite(values).all() and np.abs(values).max() <= MODERATE):
                    return False
    return True


def _forward(model: Any, seq: int) -> Any:
    vocab = int(model.config.vocab_size)
    ids = np.array([[2, 5, 9, 11][:seq], [7, 3, 3, 3][:seq]], dtype=np.int64) % vocab
    mask = np.ones_like(ids)
    mask[1, 2:] = 0
    # A RoBERTa without pad_token_id cannot number positions from it: the caller passes them (as it says).
    positions = np.arange(seq)[None] if getattr(model.config, "pad_token_id", 0) is None else None
    return model(ids, attention_mask=mask, position_ids=positions, return_dict=True)


def _call(model: Any) -> Any:
    """One call on a padded batch of 2: 4 tokens, else 1 when a RoBERTa position table cannot hold 4."""
    try:
        return _forward(model, 4)
    except ValueError as e:
        if "max_position_embeddings" not in str(e):
            raise
        return _forward(model, 1)


def call_model(model: Any, path: str) -> Dict[str, Any]:
    """One call of an AutoModel."""
    out = _call(model)
    hidden = np.asarray(out.last_hidden_state)
    pooled = getattr(out, "pooler_output", None)
    arrays = [hidden] + ([np.asarray(pooled)] if pooled is not None else [])
    return {
        "shape": list(hidden.shape),
        "finite": all(bool(np.isfinite(a).all()) for a in arrays),
        "weights_moderate": _weights_moderate(path),
    }


def call_classifier(model: Any, path: str) -> Dict[str, Any]:
    """One call of an AutoModelForSequenceClassification."""
    logits = np.asarray(_call(model).logits)
    return {
        "shape": list(logits.shape),
        "finite": bool(np.isfinite(logits).all()),
        "weights_moderate": _weights_moderate(path),
    }


def call_tokenizer(tokenizer: Any, path: str) -> Dict[str, Any]:
    """A batch as numpy (its input_ids' shape, when the other arrays have it too) and a decode: padded, or
    with a tokenizer that has no padding token (valid: GPT-2 has none), of two texts that tokenize alike."""
    if tokenizer.pad_token is not None:
        enc = tokenizer(TEXTS, padding=True, return_tensors="np")
    else:
        enc = tokenizer([TEXTS[0], TEXTS[0]], return_tensors="np")
    ids = np.asarray(enc["input_ids"])
    tokenizer.decode([int(i) for i in ids[0]])
    shapes = {
        np.asarray(v).shape for v in enc.values()
    }  # the mask and type ids, when model_input_names has them
    return {
        "shape": list(ids.shape) if shapes == {ids.shape} else [list(s) for s in sorted(shapes)],
        "finite": True,
        "weights_moderate": True,
    }


def call_sentence(encoder: Any, path: str) -> Dict[str, Any]:
    """Encode two texts: their sentence embeddings, or without a Pooling module their token embeddings (the
    shape then reported is (texts, hidden size))."""
    moderate = _weights_moderate(read_layout(path, with_modules=False).transformer_dir)
    if encoder.pooling is None:
        tokens = encoder.encode(TEXTS, output_value="token_embeddings")
        hidden = {int(t.shape[-1]) for t in tokens}
        return {
            "shape": [len(tokens), *hidden],
            "dimension": int(encoder.model.config.hidden_size),
            "finite": all(bool(np.isfinite(t).all()) for t in tokens),
            "weights_moderate": moderate,
        }
    emb = np.asarray(encoder.encode(TEXTS))
    return {
        "shape": list(emb.shape),
        "dimension": encoder.get_sentence_embedding_dimension(),
        "finite": bool(np.isfinite(emb).all()),
        "weights_moderate": moderate,
    }


# kind -> (load a directory, make one call with what was loaded)
RUNNERS: Dict[str, Tuple[Callable[[str], Any], Callable[[Any, str], Dict[str, Any]]]] = {
    "model": (lambda path: AutoModel.from_pretrained(path, num_threads=1), call_model),
    "classifier": (
        lambda path: AutoModelForSequenceClassification.from_pretrained(path, num_threads=1),
        call_classifier,
    ),
    "tokenizer": (AutoTokenizer.from_pretrained, call_tokenizer),
    "sentence": (lambda path: SentenceEncoder.from_pretrained(path, num_threads=1), call_sentence),
}


def run(kind: str, path: str) -> Dict[str, Any]:
    load, call = RUNNERS[kind]
    return call(load(path), path)


def _memory_error_in(error: BaseException) -> bool:
    """Whether a MemoryError is the exception or one it was raised from: the loader tried to allocate what
    a file claimed, even if it then reported the failure as a ValueError."""
    seen = set()
    node: Optional[BaseException] = error
    while node is not None and id(node) not in seen:
        if isinstance(node, MemoryError):
            return True
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return False


def handle(request: Dict[str, Any]) -> Dict[str, Any]:
    load, call = RUNNERS[request["kind"]]
    phase = "load"
    try:
        loaded = load(request["path"])
        phase = "call"
        facts = call(loaded, request["path"])
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # a pyo3 PanicException is a BaseException
        return {
            "outcome": "raised",
            "phase": phase,
            "type": f"{type(e).__module__}.{type(e).__qualname__}",
            "documented": isinstance(e, (ValueError, TypeError, FileNotFoundError)),
            "memory_error": _memory_error_in(e),
            "message": str(e)[:2000],
            "traceback": "".join(traceback.format_exception(type(e), e, e.__traceback__))[-6000:],
        }
    return {"outcome": "ok", **facts}


def main(argv: List[str]) -> None:
    # Answers go to a private copy of stdout; whatever a library prints goes to stderr.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    warnings.simplefilter("ignore")
    run("model", argv[0])
    if argv[1] != "-":
        run("tokenizer", argv[1])
    limit = _vm_size() + HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    answers.write(json.dumps({"ready": True, "bertcore": bertcore.__file__, "rlimit_as": limit}) + "\n")
    answers.flush()
    for line in sys.stdin:
        answers.write(json.dumps(handle(json.loads(line))) + "\n")
        answers.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
