"""Reranking: ``CrossEncoder``, sentence-transformers' ``CrossEncoder.predict`` / ``rank`` on bertcore.

A sequence-classification checkpoint (a reranker such as ms-marco-MiniLM-L6-v2, or any pair classifier)
scores (query, document) pairs: the pair is tokenized together (truncation "longest_first" to
``max_length``), the model gives logits, and an activation turns them into scores. The activation is
sentence-transformers 6.2's default: ``activation_fn`` from ``config_sentence_transformers.json``, else
``sentence_transformers.activation_fn`` from config.json (or the legacy
``sbert_ce_default_activation_function``), else Sigmoid for one label and Identity for several.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from .activations import ACTIVATIONS, Activation, activation_from_path
from .call_args import as_text_list, check_batch_size, check_device
from .config import PathLike
from .models.auto import AutoModelForSequenceClassification
from .prompts import read_prompts, resolve_prompt
from .sentence_modules import default_max_length, read_layout
from .sorted_batches import map_sorted_batches
from .tokenizer import AutoTokenizer

FloatArray = npt.NDArray[np.float32]
ActivationArg = Union[str, Callable[..., Any], None]


def _activation(fn: ActivationArg, where: str) -> Tuple[Activation, str]:
    """(numpy function, name) for an activation given as a torch path or class name ("Sigmoid"), a torch
    activation module (its class name is used), or a function on numpy arrays."""
    if isinstance(fn, str):
        name = fn.rsplit(".", 1)[-1]
        lookup = {k.lower(): k for k in ACTIVATIONS}
        if fn.startswith("torch."):
            return activation_from_path(fn, where), name
        if name.lower() in lookup:
            return ACTIVATIONS[lookup[name.lower()]], lookup[name.lower()]
        raise ValueError(
            f"{where}: unknown activation {fn!r}; bertcore runs {', '.join(sorted(ACTIVATIONS))}"
        )
    if callable(fn):
        cls = type(fn)
        if cls.__module__.startswith("torch.") and cls.__name__ in ACTIVATIONS:
            return ACTIVATIONS[cls.__name__], cls.__name__
        return (lambda x: np.asarray(fn(x), dtype=np.float64)), getattr(fn, "__name__", cls.__name__)
    raise TypeError(f"{where}: activation_fn must be a name, a callable or None, got {type(fn).__name__}")


class CrossEncoder:
    """Scores text pairs like sentence-transformers' ``CrossEncoder``, on bertcore's classifier models.

    Example:
        >>> reranker = CrossEncoder.from_pretrained("path/to/ms-marco-MiniLM-L6-v2")
        >>> reranker.predict([("How many people live in Berlin?", "Berlin has 3.5 million people.")])
        array([0.99...], dtype=float32)
        >>> reranker.rank("How many people live in Berlin?", ["Berlin has 3.5 million people.", "Paris."])
        [{'corpus_id': 0, 'score': 0.99...}, {'corpus_id': 1, 'score': 0.0001...}]
    """

    def __init__(
        self,
        model: Any,
        tokenizer: AutoTokenizer,
        max_length: int,
        activation_fn: ActivationArg = None,
        prompts: Optional[Dict[str, str]] = None,
        default_prompt_name: Optional[str] = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.prompts: Dict[str, str] = dict(prompts or {})
        self.default_prompt_name = default_prompt_name
        if activation_fn is None:
            activation_fn = "Sigmoid" if self.num_labels == 1 else "Identity"
        self._activation, self.activation_name = _activation(activation_fn, "activation_fn")

    @classmethod
    def from_pretrained(
        cls,
        model_dir: PathLike,
        num_threads: Optional[int] = None,
        isa: Optional[str] = None,
        device: Optional[str] = None,
        max_length: Optional[int] = None,
        activation_fn: ActivationArg = None,
        dtype: str = "float32",
    ) -> "CrossEncoder":
        """Loads a sequence-classification directory (plain Hugging Face, or saved by sentence-transformers).

        Args:
            model_dir: the model directory.
            num_threads: threads per forward call; default: OMP_NUM_THREADS, else the usable CPUs.
            isa: kernel family ("scalar", "avx2", "avx512"); default: BERTCORE_ISA, else the best supported.
            device: None or "cpu".
            max_length: tokens per pair (special tokens included); default: sentence_bert_config.json's
                max_seq_length, else the tokenizer's model_max_length capped at max_position_embeddings.
            activation_fn: overrides the saved/default activation: a name ("sigmoid", "identity", "tanh",
                "softmax", ...), a torch path, a torch activation module, or a function on numpy arrays.
            dtype: the encoder's dense layers: "float32" (exact, the default), "bfloat16" or "int8" (see
                :meth:`bertcore.BertModel.from_pretrained`).

        Raises:
            FileNotFoundError: the directory, config.json, the tokenizer files or the weights are missing.
            ValueError: no classification head, an activation bertcore cannot run, an invalid configuration.
        """
        check_device(device)
        directory = os.fspath(model_dir)
        layout = read_layout(directory, with_modules=False)
        tokenizer = AutoTokenizer.from_pretrained(layout.transformer_dir)
        model = AutoModelForSequenceClassification.from_pretrained(
            layout.transformer_dir, num_threads=num_threads, isa=isa, dtype=dtype
        )
        if max_length is None:
            max_length = default_max_length(layout.sentence_config, tokenizer.model_max_length, model.config)
        if activation_fn is None:
            activation_fn = _saved_activation(layout.model_config, model.config)
        prompts, default_prompt_name = read_prompts(layout.model_config)
        return cls(model, tokenizer, int(max_length), activation_fn, prompts, default_prompt_name)

    @property
    def num_labels(self) -> int:
        return int(self.model.num_labels)

    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def num_threads(self) -> int:
        return int(self.model.num_threads)

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        self.model.num_threads = value

    def __repr__(self) -> str:
        return (
            f"CrossEncoder(model={type(self.model).__name__}, num_labels={self.num_labels}, "
            f"max_length={self.max_length}, activation_fn={self.activation_name!r})"
        )

    def predict(
        self,
        sentences: Any,
        prompt_name: Optional[str] = None,
        prompt: Optional[str] = None,
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = None,
        activation_fn: ActivationArg = None,
        apply_softmax: Optional[bool] = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: Optional[str] = None,
    ) -> Any:
        """Scores pairs like ``CrossEncoder.predict``.

        Args:
            sentences: one pair (a 2-item list or tuple of strings), or a list of pairs.
            prompt_name, prompt: a prompt put before each pair's first text (as sentence-transformers).
            batch_size: pairs per forward call.
            show_progress_bar: as for ``SentenceEncoder.encode``.
            activation_fn: for this call, instead of the model's (see :meth:`from_pretrained`).
            apply_softmax: with several labels, softmax over each pair's (activated) scores.
            convert_to_numpy: an array of scores; False: a list of per-pair scores.
            convert_to_tensor: must be False (bertcore returns numpy arrays).
            device: None or "cpu".

        Returns:
            float32 scores: (n,) for one label, (n, num_labels) otherwise; for one pair, its score alone.
        """
        check_device(device)
        if convert_to_tensor:
            raise ValueError("convert_to_tensor=True is not supported: bertcore returns numpy arrays")
        batch_size = check_batch_size(batch_size)
        pairs, single = _as_pairs(sentences)
        act = self._activation if activation_fn is None else _activation(activation_fn, "activation_fn")[0]
        prompt = resolve_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name) or None
        if prompt:
            pairs = [(prompt + a, b) for a, b in pairs]

        scores = map_sorted_batches(
            pairs,
            lambda batch: list(self._score(batch, act, bool(apply_softmax))),
            batch_size,
            lambda pair: len(pair[0]) + len(pair[1]),
            show_progress_bar,
            "Scoring",
            "pair",
        )
        if not scores:
            empty = np.zeros((0,) if self.num_labels == 1 else (0, self.num_labels), dtype=np.float32)
            return empty if convert_to_numpy else []
        stacked = np.stack(scores).astype(np.float32)
        if single:
            return stacked[0]
        return stacked if convert_to_numpy else list(stacked)

    def _score(self, pairs: List[Tuple[str, str]], act: Activation, apply_softmax: bool) -> FloatArray:
        enc = self.tokenizer(
            [a for a, _ in pairs],
            [b for _, b in pairs],
            padding=True,
            truncation="longest_first",
            max_length=self.max_length,
            return_tensors="np",
            verbose=False,
        )
        logits = self.model(
            **{k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
        )
        x = np.asarray(act(logits.logits.astype(np.float64)), dtype=np.float64)
        if self.num_labels == 1 and x.ndim > 1:
            x = x[..., 0]
        if apply_softmax and x.ndim > 1:
            e = np.exp(x - x.max(axis=1, keepdims=True))
            x = e / e.sum(axis=1, keepdims=True)
        return x.astype(np.float32)

    def rank(
        self,
        query: str,
        documents: Sequence[str],
        top_k: Optional[int] = None,
        return_documents: bool = False,
        prompt_name: Optional[str] = None,
        prompt: Optional[str] = None,
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = None,
        activation_fn: ActivationArg = None,
        device: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """Ranks documents for a query like ``CrossEncoder.rank``.

        Returns:
            Dicts ``{"corpus_id": index in documents, "score": float}`` (plus ``"text"`` with
            return_documents), best first (ties keep the documents' order), the first ``top_k`` of them.

        Raises:
            ValueError: the model has several labels (rank needs one score per pair).
        """
        if self.num_labels != 1:
            raise ValueError(
                "CrossEncoder.rank() only works for models with num_labels=1; "
                "use predict() with pairs instead"
            )
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, got {type(query).__name__}")
        if isinstance(documents, str):
            raise TypeError("documents must be a list of strings, not one string")
        docs, _ = as_text_list(documents, "documents")
        scores = self.predict(
            [(query, d) for d in docs],
            prompt_name=prompt_name,
            prompt=prompt,
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
            activation_fn=activation_fn,
            device=device,
        ).tolist()
        results: List[Dict[str, Any]] = []
        for i, score in enumerate(scores):
            results.append({"corpus_id": i, "score": score})
            if return_documents:
                results[-1]["text"] = docs[i]
        results.sort(key=lambda r: r["score"], reverse=True)
        return results[:top_k]

    # ------------------------------------------------------------------ pre-tokenized rows (the server)
    def pair_rows(
        self, query: str, texts: Sequence[str], truncate: bool = True
    ) -> List[Tuple[List[int], List[int]]]:
        """(input_ids, token_type_ids) of each (query, text) pair as ``predict`` tokenizes it (the default
        prompt before the query), cut to ``max_length`` when ``truncate``.

        Raises:
            ValueError: with ``truncate=False``, a pair longer than ``max_length`` tokens (naming it).
        """
        prompt = resolve_prompt(self.prompts, self.default_prompt_name, None, None) or ""
        enc = self.tokenizer(
            [prompt + query] * len(texts),
            list(texts),
            truncation="longest_first" if truncate else False,
            max_length=self.max_length if truncate else None,
            verbose=False,
        )
        rows = []
        for i, ids in enumerate(enc["input_ids"]):
            if len(ids) > self.max_length:
                raise ValueError(
                    f"text {i} with the query has {len(ids)} tokens, more than max_length={self.max_length}; "
                    "shorten it or ask for truncation"
                )
            types = enc["token_type_ids"][i] if "token_type_ids" in enc else [0] * len(ids)
            rows.append((list(ids), list(types)))
        return rows

    def score_pair_rows(self, rows: List[Tuple[List[int], List[int]]]) -> FloatArray:
        """The logits of rows from :meth:`pair_rows`, in one forward call: (n,) for one label, else
        (n, num_labels); :meth:`activate` turns them into ``predict``'s scores."""
        seq = max(len(ids) for ids, _ in rows)
        ids = np.full((len(rows), seq), self.tokenizer.pad_token_id or 0, dtype=np.int64)
        types = np.zeros((len(rows), seq), dtype=np.int64)
        mask = np.zeros((len(rows), seq), dtype=np.int64)
        for i, (row, row_types) in enumerate(rows):
            ids[i, : len(row)] = row
            types[i, : len(row)] = row_types
            mask[i, : len(row)] = 1
        logits = self.model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        return np.asarray(logits[..., 0] if self.num_labels == 1 else logits, dtype=np.float32)

    def activate(self, logits: FloatArray) -> FloatArray:
        """The model's activation on logits from :meth:`score_pair_rows`: ``predict``'s scores."""
        x = np.asarray(logits, dtype=np.float64)
        if self.num_labels == 1:
            return np.asarray(self._activation(x[:, None]), dtype=np.float64)[:, 0].astype(np.float32)
        return np.asarray(self._activation(x), dtype=np.float32)


def _as_pairs(inputs: Any) -> Tuple[List[Tuple[str, str]], bool]:
    """(pairs, single): one pair is a 2-sequence of strings; a batch is a list of them."""
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()
    if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], str):
        items, single = [inputs], True
    elif isinstance(inputs, (list, tuple)):
        items, single = list(inputs), False
    else:
        raise TypeError(
            f"sentences must be a pair of strings or a list of pairs, got {type(inputs).__name__}"
        )
    pairs: List[Tuple[str, str]] = []
    for i, item in enumerate(items):
        if not isinstance(item, (list, tuple)) or len(item) != 2 or not all(isinstance(t, str) for t in item):
            where = "sentences" if single else f"sentences[{i}]"
            raise TypeError(f"{where} must be a pair of two strings, got {item!r:.80}")
        pairs.append((item[0], item[1]))
    return pairs, single


def _saved_activation(model_config: Dict[str, Any], config: Any) -> ActivationArg:
    """The activation a saved model names (torch paths only, as sentence-transformers without
    trust_remote_code), or None for the default."""
    candidates = [
        ("config_sentence_transformers.json activation_fn", model_config.get("activation_fn")),
        (
            "config.json sentence_transformers.activation_fn",
            (config.extra.get("sentence_transformers") or {}).get("activation_fn"),
        ),
        (
            "config.json sbert_ce_default_activation_function",
            config.extra.get("sbert_ce_default_activation_function"),
        ),
    ]
    for where, path in candidates:
        if path is None:
            continue
        if not str(path).startswith("torch."):
            warnings.warn(
                f"{where} {path!r} is not a torch activation; using the default activation instead",
                UserWarning,
                stacklevel=3,
            )
            continue
        activation_from_path(str(path), where)  # fails loudly for one bertcore cannot run
        return str(path)
    return None
