"""A deterministic corpus of real English text: the docstrings of Python's standard library.

The tests (``tests/test_real_model.py``) and the benchmarks (``benchmarks/bench_corpus.py``) both need real
sentences of varied length, with no download and no extra dependency. This module walks a fixed, sorted list
of standard-library modules, takes ``inspect.getdoc`` of each module and of the public classes, functions
and methods it defines, splits every docstring into paragraphs on blank lines, normalises whitespace and
drops duplicates, keeping first-seen order. A docstring longer than ``_LONG_DOC_CHARS`` is also kept whole
(after its paragraphs), so the corpus has long texts that a 512-token tokenizer truncates.

The text depends only on the Python version (docstrings change between releases), so it is the same on
every machine that runs the same interpreter. Import it by path, with no pytest needed::

    import sys; sys.path.insert(0, "tests")
    from corpus import real_sentences
    texts = real_sentences(64)
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import warnings
from collections.abc import Iterator

__all__ = ["MODULES", "corpus", "real_sentences"]

# Fixed and sorted, so the walk order never changes. Only modules that import on every POSIX CPython >= 3.9
# without side effects; a module that fails to import is skipped (and the corpus is then merely smaller).
MODULES: tuple[str, ...] = (
    "abc",
    "argparse",
    "array",
    "ast",
    "base64",
    "bisect",
    "calendar",
    "cmd",
    "codecs",
    "collections",
    "concurrent.futures",
    "configparser",
    "contextlib",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "email.message",
    "enum",
    "fractions",
    "ftplib",
    "functools",
    "getopt",
    "gettext",
    "glob",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html.parser",
    "http.client",
    "http.cookiejar",
    "imaplib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "locale",
    "logging",
    "mailbox",
    "math",
    "multiprocessing.pool",
    "numbers",
    "operator",
    "optparse",
    "os",
    "pathlib",
    "pickle",
    "pprint",
    "queue",
    "random",
    "re",
    "sched",
    "shlex",
    "shutil",
    "smtplib",
    "socket",
    "statistics",
    "string",
    "subprocess",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "timeit",
    "tokenize",
    "traceback",
    "turtle",
    "typing",
    "unittest.case",
    "urllib.parse",
    "urllib.request",
    "uuid",
    "warnings",
    "zipfile",
)

_LONG_DOC_CHARS = 1000  # docstrings longer than this are also kept whole, as one long text
_MIN_CHARS = 12  # shorter paragraphs ("Args:", "Returns:") carry no sentence


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _docstrings(module_name: str) -> Iterator[str]:
    """Yield the docstrings of a module and of the public classes, functions and methods it defines."""
    try:
        module = importlib.import_module(module_name)
    except Exception:  # an optional module missing from this build of Python (e.g. no Tk for turtle)
        return
    doc = inspect.getdoc(module)
    if doc:
        yield doc
    for name in sorted(vars(module)):
        if name.startswith("_"):
            continue
        obj = vars(module)[name]
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if getattr(obj, "__module__", None) != module.__name__:
            continue  # re-exported from elsewhere: walked (or not) under its own module
        doc = inspect.getdoc(obj)
        if doc:
            yield doc
        if inspect.isclass(obj):
            for attr in sorted(vars(obj)):
                if attr.startswith("_"):
                    continue
                member = vars(obj)[attr]
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member) or isinstance(member, property):
                    # getdoc on the raw member: no inherited docstrings, so no repeats across classes.
                    doc = inspect.getdoc(member)
                    if doc:
                        yield doc


@functools.lru_cache(maxsize=1)
def corpus() -> tuple[str, ...]:
    """All texts of the corpus, in walk order: paragraphs, and long docstrings kept whole.

    Returns:
        A tuple of distinct, whitespace-normalised strings, each at least ``_MIN_CHARS`` long.
    """
    seen: set[str] = set()
    texts: list[str] = []

    def add(text: str) -> None:
        if len(text) >= _MIN_CHARS and text not in seen:
            seen.add(text)
            texts.append(text)

    with warnings.catch_warnings():
        # Importing some modules and reading some docstrings warns (typing.io, typing.re are deprecated).
        warnings.simplefilter("ignore")
        docs = [doc for module_name in MODULES for doc in _docstrings(module_name)]
    for doc in docs:
        for paragraph in re.split(r"\n\s*\n", doc):
            add(_normalise(paragraph))
        whole = _normalise(doc)
        if len(whole) > _LONG_DOC_CHARS:
            add(whole)
    return tuple(texts)


def real_sentences(n: int, min_chars: int = 0) -> list[str]:
    """``n`` texts spread evenly over the corpus, so that they mix modules and lengths.

    Args:
        n: how many texts; at most the number of corpus texts with ``min_chars`` or more characters.
        min_chars: draw only from texts at least this long (e.g. 2500 for texts past 512 tokens).

    Returns:
        A list of ``n`` distinct strings, the same for the same ``n`` on the same Python version.

    Raises:
        ValueError: if ``n`` is negative or larger than the (filtered) corpus.

    Example:
        >>> texts = real_sentences(64)
        >>> len(texts), max(len(t) for t in texts) > 1000
        (64, True)
    """
    texts = [t for t in corpus() if len(t) >= min_chars]
    if not 0 <= n <= len(texts):
        raise ValueError(f"real_sentences: n must be in [0, {len(texts)}] for min_chars={min_chars}, got {n}")
    return [texts[i * len(texts) // n] for i in range(n)]
