"""The pipelines transformers 5.24's tokenizer classes build in their `__init__`, rebuilt with `tokenizers`.

Whether the vocabulary came from tokenizer.json or from vocabulary files, these classes keep only the
model's vocabulary (and merges) and build the rest from `tokenizer_config.json`:

- WordPiece (`BertTokenizer`, tokenization_bert.py): `BertNormalizer(clean_text=True,
  handle_chinese_chars=tokenize_chinese_chars, strip_accents=strip_accents, lowercase=do_lower_case)`,
  `BertPreTokenizer`, `WordPiece` decoder with "##", and `[CLS] A [SEP] (B [SEP])` with type ids 0/1.
- Byte-level BPE (`RobertaTokenizer`, tokenization_roberta.py): `BPE(dropout=None,
  continuing_subword_prefix="", end_of_word_suffix="", fuse_unk=False)` with no unk token, no normalizer,
  `ByteLevel(add_prefix_space)` pre-tokenizer and decoder, and `RobertaProcessing` (`<s> A </s></s> B
  </s>`, all type ids 0) with `trim_offsets` and `add_prefix_space`.
- GPT-2 (`GPT2Tokenizer`): the same BPE and ByteLevel steps; the post-processor is tokenizer.json's, or
  `TokenizersBackend.update_post_processor`'s template (`add_bos_token`/`add_eos_token`, off by default).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE, WordPiece

from .families import GPT2, ROBERTA, WORDPIECE, TokenizerFamily
from .settings import SpecialToken
from .sources import Source

__all__ = ["add_tokens_like_transformers", "build_pipeline", "post_processor"]


def build_pipeline(
    family: TokenizerFamily, source: Source, tok_config: Mapping[str, Any], special: Mapping[str, Any]
) -> Tokenizer:
    """The backend the family's transformers class builds from the source's vocabulary and the config.

    Args:
        family: WORDPIECE, ROBERTA or GPT2.
        source: The backend read from the files.
        tok_config: tokenizer_config.json with from_pretrained's overrides.
        special: The named special tokens.

    Returns:
        A new backend without added tokens or post-processor (see `post_processor`).
    """
    if family is WORDPIECE:
        return _wordpiece(source.tokenizer, tok_config, special)
    if family is ROBERTA or family is GPT2:
        return _byte_level_bpe(source.tokenizer, tok_config)
    raise ValueError(f"no pipeline for tokenizer family {family.name!r}")


def post_processor(
    family: TokenizerFamily,
    backend: Tokenizer,
    source: Source,
    tok_config: Mapping[str, Any],
    special: Mapping[str, Any],
) -> Any:
    """The family's post-processor, built once the special tokens are in the backend's vocabulary."""
    if family is WORDPIECE:
        cls, sep = str(special.get("cls_token")), str(special.get("sep_token"))
        return processors.TemplateProcessing(
            single=f"{cls}:0 $A:0 {sep}:0",
            pair=f"{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1",
            special_tokens=[
                (cls, _token_id(backend, cls, special, 2)),
                (sep, _token_id(backend, sep, special, 3)),
            ],
        )
    if family is ROBERTA:
        cls, sep = str(special.get("cls_token")), str(special.get("sep_token"))
        return processors.RobertaProcessing(
            (sep, _token_id(backend, sep, special, None)),
            (cls, _token_id(backend, cls, special, None)),
            trim_offsets=bool(tok_config.get("trim_offsets", True)),
            add_prefix_space=bool(tok_config.get("add_prefix_space", False)),
        )
    if family is GPT2:
        explicit = "add_bos_token" in tok_config or "add_eos_token" in tok_config
        if source.tokenizer.post_processor is not None and not explicit:
            return source.tokenizer.post_processor
        return _bos_eos_template(backend, tok_config, special)
    raise ValueError(f"no post-processor for tokenizer family {family.name!r}")


def _token_id(backend: Tokenizer, token: str, special: Mapping[str, Any], fallback: int | None) -> Any:
    """transformers' `convert_tokens_to_ids`: the unknown token's id for a token outside the vocabulary."""
    index = backend.token_to_id(token)
    if index is None and special.get("unk_token") is not None:
        index = backend.token_to_id(str(special["unk_token"]))
    return fallback if index is None else index


def _wordpiece(source: Tokenizer, tok_config: Mapping[str, Any], special: Mapping[str, Any]) -> Tokenizer:
    """BertTokenizer.__init__: the WordPiece pipeline from the vocabulary and the config."""
    vocab = source.get_vocab(with_added_tokens=False)
    backend = Tokenizer(WordPiece(vocab, unk_token=str(special.get("unk_token"))))
    backend.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=bool(tok_config.get("tokenize_chinese_chars", True)),
        strip_accents=tok_config.get("strip_accents"),
        lowercase=bool(tok_config.get("do_lower_case", True)),
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.decoder = decoders.WordPiece(prefix="##")
    return backend


def _byte_level_bpe(source: Tokenizer, tok_config: Mapping[str, Any]) -> Tokenizer:
    """RobertaTokenizer.__init__ / GPT2Tokenizer.__init__: byte-level BPE from the vocabulary and merges."""
    model = json.loads(source.to_str())["model"]
    if model.get("type") not in (None, "BPE") or "merges" not in model:
        raise ValueError(
            f"a byte-level BPE tokenizer needs a BPE model with merges, found {model.get('type')}"
        )
    merges: list[tuple[str, str]] = []
    for merge in model["merges"]:  # "left right" strings, or [left, right] pairs since tokenizers 0.20
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        merges.append((left, right))
    backend = Tokenizer(
        BPE(
            vocab=model["vocab"],
            merges=merges,
            dropout=None,
            continuing_subword_prefix="",
            end_of_word_suffix="",
            fuse_unk=False,
        )
    )
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(
        add_prefix_space=bool(tok_config.get("add_prefix_space", False))
    )
    backend.decoder = decoders.ByteLevel()
    return backend


def _bos_eos_template(
    backend: Tokenizer, tok_config: Mapping[str, Any], special: Mapping[str, Any]
) -> processors.TemplateProcessing:
    """TokenizersBackend.update_post_processor: bos/eos around each sequence when asked for."""
    bos, eos = special.get("bos_token"), special.get("eos_token")
    add_bos = bool(tok_config.get("add_bos_token", False)) and bos is not None
    add_eos = bool(tok_config.get("add_eos_token", False)) and eos is not None
    single = f"{f'{bos}:0 ' if add_bos else ''}$A:0{f' {eos}:0' if add_eos else ''}"
    pair = f"{single}{f' {bos}:1' if add_bos else ''} $B:1{f' {eos}:1' if add_eos else ''}"
    tokens = []
    if add_bos:
        tokens.append((str(bos), _token_id(backend, str(bos), special, None)))
    if add_eos:
        tokens.append((str(eos), _token_id(backend, str(eos), special, None)))
    return processors.TemplateProcessing(single=single, pair=pair, special_tokens=tokens)


def add_tokens_like_transformers(
    backend: Tokenizer,
    added: Mapping[int, AddedToken],
    special: Mapping[str, SpecialToken | None],
    extra: Sequence[SpecialToken],
) -> None:
    """Adds the saved added tokens and any named special token the backend lacks (TokenizersBackend)."""
    present = {repr(token) for token in backend.get_added_tokens_decoder().values()}
    to_add: list[SpecialToken] = [t for _, t in sorted(added.items()) if repr(t) not in present]
    encoder = {str(t) for t in backend.get_added_tokens_decoder().values()} | {str(t) for t in to_add}
    named = {str(t) for t in special.values() if t}
    for token in [*special.values(), *extra]:
        if token is not None and str(token) not in encoder and token not in to_add:
            to_add.append(token)
            encoder.add(str(token))
    if to_add:
        tokens = []
        for token in to_add:
            if isinstance(token, str):
                token = AddedToken(token, special=True)
            elif not token.special and str(token) in named:
                token.special = True
            tokens.append(token)
        backend.add_tokens(tokens)
