"""bertcore's tokenizers: transformers' tokenizer API over the `tokenizers` library, one job per module.

- `tokenizer.py`: `AutoTokenizer`, the public class (loading, attributes, `__call__`, `encode`, `tokenize`).
- `pretrained.py`: a model directory's files -> backend + `TokenizerSettings`, as transformers loads them.
- `families.py`: which transformers tokenizer class a directory asks for, and what that class builds.
- `sources.py`: reading tokenizer.json or the vocabulary files (`BACKEND_LOADERS`, the extension point).
- `pipelines.py`: the normalizer/pre-tokenizer/decoder/post-processor each class builds.
- `arguments.py`: checking and resolving call arguments (padding/truncation strategies, text shapes).
- `encoding.py`, `thread_backends.py`, `batch_encoding.py`: running the backend thread-safely and building
  the `BatchEncoding`.
- `vocabulary.py`, `decoding.py`: special tokens, token <-> id lookups, and decoding.
"""

from __future__ import annotations

from .batch_encoding import BatchEncoding
from .settings import TokenizerSettings
from .tokenizer import AutoTokenizer

__all__ = ["AutoTokenizer", "BatchEncoding", "TokenizerSettings"]
