"""Which transformers tokenizer class a model directory asks for, and what that class builds.

transformers 5 picks the class from `tokenizer_config.json` (`tokenizer_class`), else from `config.json`
(`tokenizer_class`, then `model_type`), and several class names resolve to one implementation
(`ElectraTokenizer` is `BertTokenizer`, `LongformerTokenizer` is `RobertaTokenizer`). The classes whose
`__init__` builds the pipeline itself are grouped here into families: WordPiece (`BertTokenizer` and its
subclasses), byte-level BPE with RoBERTa's special tokens, and GPT-2's byte-level BPE. A family says which
vocabulary files it is built from and the special tokens its `__init__` defaults to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .settings import BERT_INPUT_NAMES, NO_TYPE_IDS

__all__ = ["GPT2", "ROBERTA", "WORDPIECE", "TokenizerFamily", "family_of", "input_names_of", "resolve_class"]


@dataclass(frozen=True)
class TokenizerFamily:
    """The transformers tokenizer classes that build one kind of pipeline.

    Args:
        name: "wordpiece", "roberta" or "gpt2".
        vocab_files: The files the pipeline is built from when there is no tokenizer.json.
        default_tokens: The special tokens the class's `__init__` defaults to (None: no such token).
    """

    name: str
    vocab_files: tuple[str, ...]
    default_tokens: Mapping[str, str | None]


WORDPIECE = TokenizerFamily(
    "wordpiece",
    ("vocab.txt",),
    {
        "unk_token": "[UNK]",
        "sep_token": "[SEP]",
        "pad_token": "[PAD]",
        "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    },
)
ROBERTA = TokenizerFamily(
    "roberta",
    ("vocab.json", "merges.txt"),
    {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "cls_token": "<s>",
        "unk_token": "<unk>",
        "pad_token": "<pad>",
        "mask_token": "<mask>",
    },
)
GPT2 = TokenizerFamily(
    "gpt2",
    ("vocab.json", "merges.txt"),
    {
        "unk_token": "<|endoftext|>",
        "bos_token": "<|endoftext|>",
        "eos_token": "<|endoftext|>",
        "pad_token": None,
    },
)

# Class names transformers 5.24 resolves to another class (tokenizer_class_from_name). Names are given
# without the "Fast" suffix.
_CLASS_ALIASES = {
    "ElectraTokenizer": "BertTokenizer",
    "LayoutLMTokenizer": "BertTokenizer",
    "LxmertTokenizer": "BertTokenizer",
    "MobileBertTokenizer": "BertTokenizer",
    "SqueezeBertTokenizer": "BertTokenizer",
    "BartTokenizer": "RobertaTokenizer",
    "LEDTokenizer": "RobertaTokenizer",
    "LongformerTokenizer": "RobertaTokenizer",
    "MvpTokenizer": "RobertaTokenizer",
}
_FAMILIES = {
    "BertTokenizer": WORDPIECE,
    "ConvBertTokenizer": WORDPIECE,
    "DistilBertTokenizer": WORDPIECE,
    "DPRContextEncoderTokenizer": WORDPIECE,
    "DPRQuestionEncoderTokenizer": WORDPIECE,
    "RobertaTokenizer": ROBERTA,
    "GPT2Tokenizer": GPT2,
}
# config.json model_type -> tokenizer class, used when no tokenizer_class is given.
_MODEL_TYPE_TO_CLASS = {
    "bert": "BertTokenizer",
    "convbert": "BertTokenizer",
    "distilbert": "BertTokenizer",
    "electra": "BertTokenizer",
    "ernie": "BertTokenizer",
    "layoutlm": "BertTokenizer",
    "megatron-bert": "BertTokenizer",
    "mobilebert": "BertTokenizer",
    "nomic_bert": "BertTokenizer",
    "squeezebert": "BertTokenizer",
    "data2vec-text": "RobertaTokenizer",
    "ibert": "RobertaTokenizer",
    "longformer": "RobertaTokenizer",
    "roberta": "RobertaTokenizer",
    "roberta-prelayernorm": "RobertaTokenizer",
    "gpt2": "GPT2Tokenizer",
}
_CLASS_INPUT_NAMES = {
    None: NO_TYPE_IDS,  # transformers' TokenizersBackend, used when no class is known
    "DistilBertTokenizer": NO_TYPE_IDS,
    "RobertaTokenizer": NO_TYPE_IDS,
    "GPT2Tokenizer": NO_TYPE_IDS,
    "XLMRobertaTokenizer": NO_TYPE_IDS,
    "CamembertTokenizer": NO_TYPE_IDS,
    "MPNetTokenizer": NO_TYPE_IDS,
    "AlbertTokenizer": NO_TYPE_IDS,
    "TokenizersBackend": NO_TYPE_IDS,
    "PreTrainedTokenizer": NO_TYPE_IDS,
}


def resolve_class(tok_config: Mapping[str, Any], model_config: Mapping[str, Any]) -> str | None:
    """The transformers class `AutoTokenizer` would build (without "Fast"), or None when none is named.

    Args:
        tok_config: tokenizer_config.json (with from_pretrained's overrides).
        model_config: config.json.

    Returns:
        A class name such as "BertTokenizer", or None.

    Example:
        >>> resolve_class({"tokenizer_class": "ElectraTokenizerFast"}, {})
        'BertTokenizer'
    """
    name = tok_config.get("tokenizer_class") or model_config.get("tokenizer_class")
    if isinstance(name, str) and name:
        name = name.removesuffix("Fast")
    else:
        model_type = model_config.get("model_type")
        name = _MODEL_TYPE_TO_CLASS.get(model_type) if isinstance(model_type, str) else None
    return _CLASS_ALIASES.get(name, name) if name is not None else None


def family_of(tokenizer_class: str | None) -> TokenizerFamily | None:
    """The family of a class from `resolve_class`, or None when its tokenizer.json is used as it is."""
    return _FAMILIES.get(tokenizer_class) if tokenizer_class is not None else None


def input_names_of(tokenizer_class: str | None) -> tuple[str, ...]:
    """The class's default `model_input_names`."""
    return _CLASS_INPUT_NAMES.get(tokenizer_class, BERT_INPUT_NAMES)


def classes_of(family: TokenizerFamily) -> list[str]:
    """The class names (aliases included) of a family, for error messages."""
    names = [name for name, fam in _FAMILIES.items() if fam is family]
    return sorted(names + [alias for alias, name in _CLASS_ALIASES.items() if name in names])
