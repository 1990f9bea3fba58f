"""bertcore: fast, exact BERT-family encoders on CPU.

A C++ core (SIMD + OpenMP kernels, chosen at run time for the CPU) under a Python API that mirrors
transformers: load a Hugging Face model directory, call the model on tokenizer output, get the same output
object back, holding numpy arrays.

Example:
    >>> from bertcore import AutoTokenizer, BertModel
    >>> tokenizer = AutoTokenizer.from_pretrained(model_dir)
    >>> model = BertModel.from_pretrained(model_dir)
    >>> out = model(**tokenizer(["Hello world"], padding=True, return_tensors="np"))
    >>> out.last_hidden_state.shape
    (1, 4, 384)
"""

from __future__ import annotations

from ._version import __version__
from .config import BertConfig
from .cpu import cpu_info, default_num_threads
from .models.bert import BertModel
from .outputs import (
    BaseModelOutput,
    BaseModelOutputWithPoolingAndCrossAttentions,
    ModelOutput,
    SequenceClassifierOutput,
)
from .tokenizer import AutoTokenizer

__all__ = [
    "AutoTokenizer",
    "BaseModelOutput",
    "BaseModelOutputWithPoolingAndCrossAttentions",
    "BertConfig",
    "BertModel",
    "ModelOutput",
    "SequenceClassifierOutput",
    "__version__",
    "cpu_info",
    "default_num_threads",
]

# BERTCORE_ISA is checked on import so that a typo or an ISA this CPU lacks fails loudly, here.
from . import _core as _core_module

_core_module.isa_from_environment()
