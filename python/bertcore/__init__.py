"""bertcore: fast, exact BERT-family encoders on CPU.

A C++ core (SIMD + OpenMP kernels, chosen at run time for the CPU) under a Python API that mirrors
transformers: load a Hugging Face model directory, call the model on tokenizer output, get the same output
object back, holding numpy arrays.

Example:
    >>> from bertcore import AutoModel, AutoTokenizer
    >>> tokenizer = AutoTokenizer.from_pretrained(model_dir)
    >>> model = AutoModel.from_pretrained(model_dir)  # BertModel, RobertaModel, ... from config.json
    >>> out = model(**tokenizer(["Hello world"], padding=True, return_tensors="np"))
    >>> out.last_hidden_state.shape
    (1, 4, 384)
"""

from __future__ import annotations

from ._version import __version__
from .config import BertConfig, PretrainedConfig
from .convert import convert_to_safetensors
from .cpu import cpu_info, default_num_threads
from .encode import SentenceEncoder
from .models.albert import AlbertConfig, AlbertForSequenceClassification, AlbertModel
from .models.auto import AutoConfig, AutoModel, AutoModelForSequenceClassification
from .models.bert import BertForSequenceClassification, BertModel
from .models.distilbert import DistilBertConfig, DistilBertForSequenceClassification, DistilBertModel
from .models.electra import ElectraConfig, ElectraForSequenceClassification, ElectraModel
from .models.ernie import ErnieConfig, ErnieForSequenceClassification, ErnieModel
from .models.roberta import (
    CamembertConfig,
    CamembertForSequenceClassification,
    CamembertModel,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaModel,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
    XLMRobertaModel,
)
from .outputs import (
    BaseModelOutput,
    BaseModelOutputWithPastAndCrossAttentions,
    BaseModelOutputWithPooling,
    BaseModelOutputWithPoolingAndCrossAttentions,
    ModelOutput,
    SequenceClassifierOutput,
)
from .rerank import CrossEncoder
from .tokenizer import AutoTokenizer, BatchEncoding

__all__ = [
    "AlbertConfig",
    "AlbertForSequenceClassification",
    "AlbertModel",
    "AutoConfig",
    "AutoModel",
    "AutoModelForSequenceClassification",
    "AutoTokenizer",
    "BatchEncoding",
    "BaseModelOutput",
    "BaseModelOutputWithPastAndCrossAttentions",
    "BaseModelOutputWithPooling",
    "BaseModelOutputWithPoolingAndCrossAttentions",
    "BertConfig",
    "BertForSequenceClassification",
    "BertModel",
    "CamembertConfig",
    "CamembertForSequenceClassification",
    "CamembertModel",
    "CrossEncoder",
    "DistilBertConfig",
    "DistilBertForSequenceClassification",
    "DistilBertModel",
    "ElectraConfig",
    "ElectraForSequenceClassification",
    "ElectraModel",
    "ErnieConfig",
    "ErnieForSequenceClassification",
    "ErnieModel",
    "ModelOutput",
    "PretrainedConfig",
    "RobertaConfig",
    "RobertaForSequenceClassification",
    "RobertaModel",
    "SentenceEncoder",
    "SequenceClassifierOutput",
    "XLMRobertaConfig",
    "XLMRobertaForSequenceClassification",
    "XLMRobertaModel",
    "__version__",
    "convert_to_safetensors",
    "cpu_info",
    "default_num_threads",
]

# BERTCORE_ISA is checked on import so that a typo or an ISA this CPU lacks fails loudly, here.
from . import _core as _core_module

_core_module.isa_from_environment()
