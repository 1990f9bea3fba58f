"""The files a backend `tokenizers.Tokenizer` is read from: tokenizer.json, or the vocabulary files.

`BACKEND_LOADERS` is the extension point: the first loader that serves the tokenizer's family and finds
its files wins. tokenizer.json serves every class; `vocab.txt` (WordPiece) and `vocab.json` + `merges.txt`
(byte-level BPE) serve the classes whose pipeline bertcore rebuilds (see `pipelines.py`), which is what
transformers 5 does when a directory has no tokenizer.json: its `convert_to_native_format` hands the
files to `WordPiece`/`BPE`, which read them with the same functions used here (`WordPiece.read_file`,
`BPE.read_file`). A directory that has only a SentencePiece model gets an error that says how to write a
tokenizer.json for it, since reading those files needs the sentencepiece and protobuf packages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from tokenizers import Tokenizer
from tokenizers.models import BPE, WordPiece

from .families import GPT2, ROBERTA, WORDPIECE, TokenizerFamily, classes_of

__all__ = ["BACKEND_LOADERS", "BackendLoader", "Source", "load_source"]

# Files of SentencePiece (or tiktoken) models, which bertcore does not read.
SENTENCEPIECE_FILES = (
    "sentencepiece.bpe.model",
    "spiece.model",
    "spm.model",
    "sentencepiece.model",
    "tokenizer.model",
)


class Source(NamedTuple):
    """A backend as read from the files, before its class's pipeline is rebuilt around it.

    Args:
        tokenizer: The backend (from vocabulary files: only the model, no pipeline).
        files: What it was read from, e.g. "tokenizer.json" or "vocab.txt".
    """

    tokenizer: Tokenizer
    files: str

    @property
    def from_tokenizer_json(self) -> bool:
        return self.files == "tokenizer.json"


@dataclass(frozen=True)
class BackendLoader:
    """One way to build the backend `tokenizers.Tokenizer` from the files of a model directory.

    Args:
        looks_for: The files it reads, as said in messages ("vocab.json + merges.txt").
        load: `load(model_dir)` returns the backend, or None when the files it needs are absent.
        families: Names of the families it serves (see `families.py`), or None for every class.
    """

    looks_for: str
    load: Callable[[Path], Tokenizer | None]
    families: frozenset[str] | None = None

    def serves(self, family: TokenizerFamily | None) -> bool:
        return self.families is None or (family is not None and family.name in self.families)


def _load_tokenizer_json(model_dir: Path) -> Tokenizer | None:
    path = model_dir / "tokenizer.json"
    if not path.is_file():
        return None
    try:
        return Tokenizer.from_file(str(path))
    except Exception as e:  # the tokenizers library raises a bare Exception on bad JSON
        raise ValueError(f"could not parse {path}: {e}") from e


def _load_vocab_txt(model_dir: Path) -> Tokenizer | None:
    """A WordPiece model over vocab.txt: one token a line, its id the line number (trailing blanks cut)."""
    path = model_dir / "vocab.txt"
    if not path.is_file():
        return None
    try:
        vocab = WordPiece.read_file(str(path))
    except Exception as e:
        raise ValueError(f"could not read {path}: {e}") from e
    if not vocab:
        raise ValueError(f"{path} is empty: it should hold one token a line")
    return Tokenizer(WordPiece(vocab))


def _load_vocab_json_and_merges(model_dir: Path) -> Tokenizer | None:
    """A BPE model over vocab.json (token -> id) and merges.txt (one "left right" merge a line)."""
    vocab_path, merges_path = model_dir / "vocab.json", model_dir / "merges.txt"
    if not vocab_path.is_file() or not merges_path.is_file():
        return None
    try:
        vocab, merges = BPE.read_file(str(vocab_path), str(merges_path))
    except Exception as e:
        raise ValueError(f"could not read {vocab_path} and {merges_path}: {e}") from e
    return Tokenizer(BPE(vocab, merges))


BACKEND_LOADERS: tuple[BackendLoader, ...] = (
    BackendLoader("tokenizer.json", _load_tokenizer_json),
    BackendLoader("vocab.txt", _load_vocab_txt, frozenset({"wordpiece"})),
    BackendLoader("vocab.json + merges.txt", _load_vocab_json_and_merges, frozenset({"roberta", "gpt2"})),
)


def load_source(model_dir: Path, family: TokenizerFamily | None, tokenizer_class: str | None) -> Source:
    """Reads the backend with the first loader that serves `family` and finds its files.

    Args:
        model_dir: The model directory.
        family: The family of the tokenizer class (None: unknown, or one bertcore does not rebuild).
        tokenizer_class: The resolved class name, for messages.

    Returns:
        The backend and the files it came from.

    Raises:
        FileNotFoundError: No file that bertcore can read; the message says what to do.
        ValueError: A file cannot be parsed.
    """
    for loader in BACKEND_LOADERS:
        if loader.serves(family):
            tokenizer = loader.load(model_dir)
            if tokenizer is not None:
                return Source(tokenizer, loader.looks_for)
    raise FileNotFoundError(_why_no_source(model_dir, family, tokenizer_class))


def _convert_hint(model_dir: Path, needs: str) -> str:
    return (
        f"To get one, run this once on a machine with transformers{needs} installed:\n"
        f'    python -c "from transformers import AutoTokenizer; '
        f'AutoTokenizer.from_pretrained({str(model_dir)!r}).save_pretrained({str(model_dir)!r})"\n'
        "(it writes tokenizer.json and tokenizer_config.json into the directory; bertcore then reads them)"
    )


def _why_no_source(model_dir: Path, family: TokenizerFamily | None, tokenizer_class: str | None) -> str:
    looked_for = " or ".join(loader.looks_for for loader in BACKEND_LOADERS if loader.serves(family))
    spm = [name for name in SENTENCEPIECE_FILES if (model_dir / name).is_file()]
    if spm:
        return (
            f"{model_dir} has a SentencePiece model ({', '.join(spm)}) but no tokenizer.json: bertcore reads "
            "tokenizer.json (it does not depend on the sentencepiece and protobuf packages that read "
            ".model files). " + _convert_hint(model_dir, " and sentencepiece")
        )
    vocab_files = [name for name in ("vocab.txt", "vocab.json", "merges.txt") if (model_dir / name).is_file()]
    if family is None and vocab_files:
        rebuilt = ", ".join(classes_of(WORDPIECE) + classes_of(ROBERTA) + classes_of(GPT2))
        if tokenizer_class is None:
            return (
                f"{model_dir} has {', '.join(vocab_files)} but no tokenizer.json, and the tokenizer class is "
                "unknown (transformers cannot load it either): tokenizer_config.json names no tokenizer_class "
                "and config.json has no model_type that bertcore maps to one. Set tokenizer_class in "
                'tokenizer_config.json, e.g. "BertTokenizer" for vocab.txt or "RobertaTokenizer" for '
                "vocab.json + merges.txt"
            )
        return (
            f"{model_dir} has {', '.join(vocab_files)} but no tokenizer.json, and bertcore builds tokenizers "
            f"from vocabulary files only for {rebuilt}, not {tokenizer_class}. "
            + _convert_hint(model_dir, "")
        )
    if family is not None and vocab_files:
        return (
            f"no tokenizer files for {tokenizer_class} in {model_dir}: looked for {looked_for}, found only "
            f"{', '.join(vocab_files)}"
        )
    return f"no tokenizer files in {model_dir}: looked for {looked_for}"
