"""Sentence embeddings: ``SentenceEncoder``, sentence-transformers' ``SentenceTransformer`` on bertcore.

A sentence-transformers directory (``modules.json``: Transformer, Pooling, optional Dense and Normalize) or
a plain Hugging Face directory (mean pooling) loads into a :class:`SentenceEncoder`, whose :meth:`encode`
returns what ``SentenceTransformer(dir, device="cpu").encode`` returns, as numpy arrays.

How a batch runs: texts are sorted by length in characters (longest first, as sentence-transformers does),
tokenized without special tokens, cut to ``max_seq_length`` (special tokens included) and framed with the
tokenizer's special tokens, padded on the right and run through the encoder with padding skipped, so pooling
reads only real tokens. Results come back in the caller's order.

Long texts (``long_text``):
    ``"truncate"`` (default): keep the first ``max_seq_length`` tokens, as sentence-transformers does; one
    warning per call says how many texts were cut.
    ``"chunk"``: cut a longer text into overlapping windows of ``max_seq_length`` tokens (special tokens
    included, and the prompt repeated at the start of each window). Consecutive windows share a quarter of a
    window's text tokens (``room // 4``, ``CHUNK_OVERLAP_FRACTION``); the last window may be shorter. Each
    window is embedded as if it were a text of its own (pooling, Dense, Normalize), and the text's embedding
    is the mean of its windows' embeddings weighted by their text-token counts, L2-normalised again when the
    model ends in a Normalize module, then ``truncate_dim`` and ``normalize_embeddings`` apply as usual. A
    text that fits in one window gets its ``"truncate"`` embedding (its one window's, not re-averaged).
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from .call_args import as_text_list, check_batch_size, check_device, special_token_frame
from .config import PathLike
from .features import Module
from .models.auto import AutoModel
from .pooling import Pooling
from .prompts import read_prompts, resolve_prompt
from .sentence_layers import Dense, Normalize, l2_normalize
from .sentence_modules import check_modules, default_max_length, read_layout
from .sorted_batches import map_sorted_batches
from .tokenizer import AutoTokenizer

FloatArray = npt.NDArray[np.float32]

OUTPUT_VALUES = ("sentence_embedding", "token_embeddings", None)
LONG_TEXT_MODES = ("truncate", "chunk")
CHUNK_OVERLAP_FRACTION = 0.25  # of a window's text tokens, shared by consecutive windows in long_text="chunk"


class TruncationWarning(UserWarning):
    """Some texts were longer than max_seq_length and were cut (``long_text="truncate"``)."""


class SentenceEncoder:
    """Sentence embeddings like sentence-transformers' ``SentenceTransformer``, on bertcore's encoder.

    Build one with :meth:`from_pretrained`.

    Example:
        >>> encoder = SentenceEncoder.from_pretrained("path/to/all-MiniLM-L6-v2")
        >>> encoder.encode(["Hello world", "A second sentence"]).shape
        (2, 384)
        >>> encoder.encode("One text").shape
        (384,)
    """

    def __init__(
        self,
        model: Any,
        tokenizer: AutoTokenizer,
        modules: Sequence[Module],
        max_seq_length: int,
        do_lower_case: bool = False,
        prompts: Optional[Mapping[str, str]] = None,
        default_prompt_name: Optional[str] = None,
        truncate_dim: Optional[int] = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.modules: Tuple[Module, ...] = tuple(modules)
        self.do_lower_case = bool(do_lower_case)
        self.prompts: Dict[str, str] = dict(prompts or {})
        if default_prompt_name is not None and default_prompt_name not in self.prompts:
            raise ValueError(
                f"default prompt name {default_prompt_name!r} not found; "
                f"the prompts are {sorted(self.prompts)!r}"
            )
        self.default_prompt_name = default_prompt_name
        self.truncate_dim = _check_truncate_dim(truncate_dim)
        self._prefix, self._suffix = special_token_frame(tokenizer)
        self._special_ids = frozenset(int(i) for i in tokenizer.all_special_ids)
        pad = tokenizer.pad_token_id
        if pad is None:
            pad = getattr(model.config, "pad_token_id", None)
        self._pad_id = int(pad) if pad is not None else 0
        self.max_seq_length = max_seq_length

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        model_dir: PathLike,
        num_threads: Optional[int] = None,
        isa: Optional[str] = None,
        device: Optional[str] = None,
        pooling: Union[str, Sequence[str], None] = None,
        max_seq_length: Optional[int] = None,
        truncate_dim: Optional[int] = None,
        prompts: Optional[Mapping[str, str]] = None,
        default_prompt_name: Optional[str] = None,
        dtype: str = "float32",
    ) -> "SentenceEncoder":
        """Loads a sentence-transformers directory, or a plain Hugging Face one (then mean pooling).

        Args:
            model_dir: the model directory. ``modules.json`` lists the modules (Transformer, Pooling, Dense,
                Normalize, Dropout); the transformer's ``sentence_bert_config.json`` gives ``max_seq_length``
                and ``do_lower_case``; ``config_sentence_transformers.json`` gives prompts and truncate_dim.
            num_threads: threads per forward call; default: OMP_NUM_THREADS, else the usable CPUs.
            isa: kernel family ("scalar", "avx2", "avx512"); default: BERTCORE_ISA, else the best supported.
            device: None or "cpu" (accepted for sentence-transformers compatibility).
            pooling: replace the directory's pooling mode(s), e.g. "cls" or ("mean", "max").
            max_seq_length: tokens per text, special tokens included; default: sentence_bert_config.json's,
                else the tokenizer's model_max_length capped at max_position_embeddings.
            truncate_dim: keep only the first ``truncate_dim`` dimensions of sentence embeddings.
            prompts, default_prompt_name: added to (and taking precedence over) the saved ones.
            dtype: the encoder's dense layers: "float32" (exact, the default), "bfloat16" or "int8" (see
                :meth:`bertcore.BertModel.from_pretrained`).

        Returns:
            The encoder.

        Raises:
            FileNotFoundError: the directory, config.json, the tokenizer files or the weights are missing.
            ValueError: a module bertcore cannot run, an invalid configuration or argument.
        """
        check_device(device)
        override = (
            None if pooling is None else Pooling((pooling,) if isinstance(pooling, str) else tuple(pooling))
        )
        directory = os.fspath(model_dir)
        layout = read_layout(directory)
        config = layout.sentence_config
        overrides: Dict[str, Any] = {}
        tokenizer_args = config.get("processor_kwargs") or config.get("tokenizer_args") or {}
        if not isinstance(tokenizer_args, dict):
            raise ValueError(
                f"sentence_bert_config.json in {layout.transformer_dir}: tokenizer_args must be an object of "
                f"tokenizer settings, got {tokenizer_args!r}"
            )
        for key in ("model_max_length", "padding_side", "truncation_side"):
            if key in tokenizer_args:
                overrides[key] = tokenizer_args[key]
        tokenizer = AutoTokenizer.from_pretrained(layout.transformer_dir, **overrides)
        model = _load_encoder(layout.transformer_dir, num_threads, isa, dtype)

        modules: List[Module] = list(layout.modules) if layout.has_modules_json else [Pooling(("mean",))]
        if override is not None:
            at = [(i, m) for i, m in enumerate(modules) if isinstance(m, Pooling)]
            if at:
                modules[at[0][0]] = Pooling(override.modes, at[0][1].include_prompt)
            else:
                modules.insert(0, override)
        check_modules(modules, int(model.config.hidden_size), os.path.join(directory, "modules.json"))

        if max_seq_length is None:  # a model_max_length given in the tokenizer args is taken as it is
            max_seq_length = default_max_length(
                config, tokenizer.model_max_length, model.config, cap="model_max_length" not in overrides
            )
        saved_prompts, saved_default = read_prompts(layout.model_config)
        saved_prompts.update(prompts or {})
        return cls(
            model,
            tokenizer,
            modules,
            max_seq_length=int(max_seq_length),
            do_lower_case=bool(config.get("do_lower_case", False)),
            prompts=saved_prompts,
            default_prompt_name=default_prompt_name if default_prompt_name is not None else saved_default,
            truncate_dim=truncate_dim
            if truncate_dim is not None
            else layout.model_config.get("truncate_dim"),
        )

    # ------------------------------------------------------------------ properties
    @property
    def max_seq_length(self) -> int:
        """Tokens per text (special tokens included); longer texts are truncated or chunked."""
        return self._max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        least = len(self._prefix) + len(self._suffix) + 1
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(
                f"max_seq_length must be an integer >= {least} (special tokens + 1), got {value!r}"
            )
        self._max_seq_length = int(value)
        self.tokenizer.model_max_length = int(value)

    @property
    def num_threads(self) -> int:
        return int(self.model.num_threads)

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        self.model.num_threads = value

    @property
    def pooling(self) -> Optional[Pooling]:
        """The Pooling module, or None."""
        return next((m for m in self.modules if isinstance(m, Pooling)), None)

    @property
    def normalizes(self) -> bool:
        """Whether the model ends its sentence embeddings with a Normalize module."""
        return any(isinstance(m, Normalize) and m.output_name == "sentence_embedding" for m in self.modules)

    def get_sentence_embedding_dimension(self) -> Optional[int]:
        """Dimensions of :meth:`encode`'s sentence embeddings (after truncate_dim); None without Pooling."""
        dim = self._pipeline_dimension()
        if self.truncate_dim is not None and dim is not None:
            return min(dim, self.truncate_dim)
        return dim

    def _pipeline_dimension(self) -> Optional[int]:
        """Dimensions of the modules' sentence embeddings, before any truncate_dim."""
        dim: Optional[int] = None
        hidden = int(self.model.config.hidden_size)
        for module in self.modules:
            if isinstance(module, Pooling):
                dim = module.output_dimension(hidden)
            elif isinstance(module, Dense) and module.output_name == "sentence_embedding":
                dim = module.out_features
        return dim

    get_embedding_dimension = get_sentence_embedding_dimension

    def __repr__(self) -> str:
        modules = ", ".join(repr(m) for m in self.modules)
        return (
            f"SentenceEncoder(model={type(self.model).__name__}, max_seq_length={self.max_seq_length}, "
            f"do_lower_case={self.do_lower_case}, modules=[{modules}])"
        )

    # ------------------------------------------------------------------ encoding
    def encode(
        self,
        sentences: Union[str, Sequence[str]],
        prompt_name: Optional[str] = None,
        prompt: Optional[str] = None,
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = None,
        output_value: Optional[str] = "sentence_embedding",
        *,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: Optional[str] = None,
        normalize_embeddings: bool = False,
        truncate_dim: Optional[int] = None,
        long_text: str = "truncate",
    ) -> Any:
        """Embeds texts like ``SentenceTransformer.encode``.

        Args:
            sentences: one string, or a list (tuple, numpy array, iterable) of strings.
            prompt_name: a key of ``self.prompts``: that prompt is put before each text.
            prompt: a prompt to put before each text (takes precedence over prompt_name). Without either,
                the default prompt (``default_prompt_name``) is used when the model has one.
            batch_size: texts per forward call.
            show_progress_bar: a tqdm bar on stderr; None: when the "bertcore" logger is at INFO or lower,
                or for at least ``call_args.PROGRESS_BAR_MIN_TEXTS`` (2048) texts when stderr is a terminal.
            output_value: "sentence_embedding"; "token_embeddings" (one (tokens, hidden) array per text,
                its real tokens only); or None (one dict per text: input_ids, attention_mask,
                token_embeddings, sentence_embedding, and prompt_length when a prompt is used).
            convert_to_numpy: sentence embeddings as one (n, dim) array; False: a list of (dim,) arrays.
            convert_to_tensor: must be False: bertcore returns numpy arrays and does not import torch.
            device: None or "cpu".
            normalize_embeddings: L2-normalise sentence embeddings (after ``truncate_dim``).
            truncate_dim: keep the first ``truncate_dim`` dimensions (default: the encoder's).
            long_text: "truncate" or "chunk" (see the module docstring); chunking needs
                output_value="sentence_embedding".

        Returns:
            For one string, the result for that string alone (a (dim,) array, a (tokens, hidden) array or
            one dict); otherwise an (n, dim) float32 array, or a list.

        Raises:
            TypeError: an input that is not a string.
            ValueError: an invalid argument.
        """
        check_device(device)
        if convert_to_tensor:
            raise ValueError(
                "convert_to_tensor=True is not supported: bertcore returns numpy arrays and never imports "
                "torch; use torch.from_numpy(...) on the result"
            )
        if output_value not in OUTPUT_VALUES:
            raise ValueError(f"output_value must be one of {OUTPUT_VALUES}, got {output_value!r}")
        if long_text not in LONG_TEXT_MODES:
            raise ValueError(f"long_text must be one of {LONG_TEXT_MODES}, got {long_text!r}")
        chunk = long_text == "chunk"
        if chunk and output_value != "sentence_embedding":
            raise ValueError(
                'long_text="chunk" gives sentence embeddings only; use output_value="sentence_embedding"'
            )
        batch_size = check_batch_size(batch_size)
        truncate_dim = _check_truncate_dim(truncate_dim) if truncate_dim is not None else self.truncate_dim
        texts, single = as_text_list(sentences)
        if output_value != "token_embeddings" and self.pooling is None:
            raise ValueError(
                "this model has no Pooling module, so no sentence embeddings; pass pooling= on loading"
            )
        prompt = resolve_prompt(self.prompts, self.default_prompt_name, prompt, prompt_name) or None

        if prompt:
            texts = [prompt + t for t in texts]
        if self.do_lower_case:
            texts = [t.lower() for t in texts]
        prompt_tokens, prompt_length = self._prompt_sizes(prompt)

        truncated = 0

        def run(batch: List[str]) -> List[Any]:
            nonlocal truncated
            content = self.tokenizer(
                batch,
                add_special_tokens=False,
                return_token_type_ids=False,
                return_attention_mask=False,
                verbose=False,
            )
            rows: List[List[int]] = []
            owners: List[Tuple[int, int]] = []  # (text position in the batch, text tokens in the row)
            for j, ids in enumerate(content["input_ids"]):
                windows, cut = self._rows(list(ids), prompt_tokens, chunk)
                truncated += cut
                rows.extend(w for w, _ in windows)
                owners.extend((j, n) for _, n in windows)
            outputs = [
                self._run(rows[k : k + batch_size], prompt_length) for k in range(0, len(rows), batch_size)
            ]
            return self._collect(len(batch), owners, outputs, output_value, prompt_length)

        results = map_sorted_batches(texts, run, batch_size, len, show_progress_bar, "Encoding", "text")
        if truncated:
            warnings.warn(
                f"{truncated} of {len(texts)} texts were longer than max_seq_length={self.max_seq_length} "
                "tokens and were truncated; pass long_text='chunk' to embed all of their text",
                TruncationWarning,
                stacklevel=2,
            )
        return self._finish(
            results, single, output_value, convert_to_numpy, normalize_embeddings, truncate_dim
        )

    # ------------------------------------------------------------------ pre-tokenized rows (the server)
    def token_rows(self, texts: Sequence[str], truncate: bool = True) -> List[List[int]]:
        """Each text as the row of token ids ``encode`` embeds for it: the default prompt, lower-casing and
        the special tokens applied, cut to ``max_seq_length`` when ``truncate``.

        Raises:
            ValueError: with ``truncate=False``, a text longer than ``max_seq_length`` tokens (naming it).
        """
        prompt = resolve_prompt(self.prompts, self.default_prompt_name, None, None) or ""
        texts = [prompt + t for t in texts]
        if self.do_lower_case:
            texts = [t.lower() for t in texts]
        content = self.tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
        return [self.frame_token_ids(ids, truncate, i) for i, ids in enumerate(content)]

    def frame_token_ids(self, ids: Sequence[int], truncate: bool = True, index: int = 0) -> List[int]:
        """Token ids of one text (without special tokens) as a row: framed by the special tokens, cut to
        ``max_seq_length`` when ``truncate`` (else ValueError when longer; ``index`` names the input)."""
        room = self._room()
        tokens = [int(i) for i in ids]
        if len(tokens) > room:
            if not truncate:
                raise ValueError(
                    f"input {index} has {len(tokens) + len(self._prefix) + len(self._suffix)} tokens, more than "
                    f"max_seq_length={self.max_seq_length}; shorten it or ask for truncation"
                )
            tokens = tokens[:room] if self.tokenizer.truncation_side == "right" else tokens[-room:]
        return self._frame(tokens)

    def embed_token_rows(self, rows: List[List[int]]) -> FloatArray:
        """Sentence embeddings of rows from :meth:`token_rows`, in one forward call: the same vectors
        ``encode`` gives for those texts (before its ``normalize_embeddings`` and ``truncate_dim``)."""
        _, prompt_length = self._prompt_sizes(
            resolve_prompt(self.prompts, self.default_prompt_name, None, None)
        )
        return np.asarray(self._run(rows, prompt_length)["sentence_embedding"], dtype=np.float32)

    # ------------------------------------------------------------------ internals
    def _prompt_sizes(self, prompt: Optional[str]) -> Tuple[int, Optional[int]]:
        """(prompt tokens without special tokens, sentence-transformers' prompt_length) for a prompt."""
        if not prompt:
            return 0, None
        text = prompt.lower() if self.do_lower_case else prompt
        tokens = list(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
        ids = self._frame(tokens[: self._room()])
        # As sentence-transformers: the tokenized prompt's length, less a trailing special token.
        return len(tokens), len(ids) - (1 if ids and ids[-1] in self._special_ids else 0)

    def _room(self) -> int:
        """Text tokens that fit in one row beside the special tokens."""
        return self.max_seq_length - len(self._prefix) - len(self._suffix)

    def _frame(self, tokens: List[int]) -> List[int]:
        return self._prefix + tokens + self._suffix

    def _rows(
        self, ids: List[int], prompt_tokens: int, chunk: bool
    ) -> Tuple[List[Tuple[List[int], int]], int]:
        """The rows of one text, each with its count of text tokens, and 1 if the text was truncated."""
        room = self._room()
        if len(ids) <= room:
            return [(self._frame(ids), len(ids) - min(prompt_tokens, len(ids)))], 0
        if not chunk:
            kept = ids[:room] if self.tokenizer.truncation_side == "right" else ids[-room:]
            return [(self._frame(kept), room)], 1
        head, body = ids[:prompt_tokens], ids[prompt_tokens:]
        size = room - len(head)
        if size < 1:
            raise ValueError(
                f"max_seq_length={self.max_seq_length} leaves no room for text after the prompt's "
                f"{len(head)} tokens; long_text='chunk' needs a shorter prompt or a longer max_seq_length"
            )
        step = size - int(size * CHUNK_OVERLAP_FRACTION)
        windows = []
        for begin in range(0, len(body), step):
            piece = body[begin : begin + size]
            windows.append((self._frame(head + piece), len(piece)))
            if begin + size >= len(body):
                break
        return windows, 0

    def _run(self, rows: List[List[int]], prompt_length: Optional[int]) -> Dict[str, Any]:
        """One forward call and the modules on a list of token rows (padded on the right)."""
        seq = max(len(r) for r in rows)
        ids = np.full((len(rows), seq), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), seq), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        out = self.model(input_ids=ids, attention_mask=mask)
        features: Dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": mask,
            "token_embeddings": out.last_hidden_state,
        }
        if prompt_length is not None:
            features["prompt_length"] = prompt_length
        for module in self.modules:
            features = module(features)
        return features

    def _collect(
        self,
        n_texts: int,
        owners: List[Tuple[int, int]],
        outputs: List[Dict[str, Any]],
        output_value: Optional[str],
        prompt_length: Optional[int],
    ) -> List[Any]:
        """Each text's result, in the batch's order, from the outputs of its rows."""
        per_text: Dict[int, List[Tuple[Dict[str, Any], int, int]]] = {}
        row = 0
        for features in outputs:
            for i in range(features["input_ids"].shape[0]):
                j, n_tokens = owners[row]
                per_text.setdefault(j, []).append((features, i, n_tokens))
                row += 1
        results: List[Any] = []
        for j in range(n_texts):
            parts = per_text[j]
            if output_value == "sentence_embedding":
                results.append(self._combine(parts))
                continue
            features, i, _ = parts[0]
            length = int(features["attention_mask"][i].sum())
            tokens = np.ascontiguousarray(features["token_embeddings"][i, :length])
            if output_value == "token_embeddings":
                results.append(tokens)
                continue
            item: Dict[str, Any] = {
                "input_ids": features["input_ids"][i, :length].copy(),
                "attention_mask": features["attention_mask"][i, :length].copy(),
                "token_embeddings": tokens,
            }
            if "sentence_embedding" in features:
                item["sentence_embedding"] = features["sentence_embedding"][i].copy()
            if prompt_length is not None:
                item["prompt_length"] = prompt_length
            results.append(item)
        return results

    def _combine(self, parts: List[Tuple[Dict[str, Any], int, int]]) -> FloatArray:
        """A text's sentence embedding: its row's, or the token-weighted mean of its windows'."""
        if len(parts) == 1:
            features, i, _ = parts[0]
            return np.asarray(features["sentence_embedding"][i], dtype=np.float32).copy()
        vectors = np.stack([f["sentence_embedding"][i] for f, i, _ in parts]).astype(np.float64)
        weights = np.array([n for _, _, n in parts], dtype=np.float64)
        mean = (weights[:, None] * vectors).sum(axis=0) / weights.sum()
        return l2_normalize(mean) if self.normalizes else mean.astype(np.float32)

    def _finish(
        self,
        results: List[Any],
        single: bool,
        output_value: Optional[str],
        convert_to_numpy: bool,
        normalize: bool,
        truncate_dim: Optional[int],
    ) -> Any:
        if output_value == "sentence_embedding":
            empty = np.zeros((0, self._pipeline_dimension() or 0), dtype=np.float32)
            stacked = np.stack(results) if results else empty
            if truncate_dim is not None:
                stacked = np.ascontiguousarray(stacked[:, :truncate_dim])
            if normalize:
                stacked = l2_normalize(stacked)
            stacked = stacked.astype(np.float32, copy=False)
            if single:
                return stacked[0]
            return stacked if convert_to_numpy else list(stacked)
        if output_value is None and truncate_dim is not None:
            for item in results:
                if "sentence_embedding" in item:
                    item["sentence_embedding"] = item["sentence_embedding"][:truncate_dim].copy()
        return results[0] if single else results


def _check_truncate_dim(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"truncate_dim must be a positive integer or None, got {value!r}")
    return int(value)


def _load_encoder(model_dir: str, num_threads: Optional[int], isa: Optional[str], dtype: str) -> Any:
    """``AutoModel`` without the pooler (sentence embeddings never read it)."""
    return AutoModel.from_pretrained(
        model_dir, add_pooling_layer=False, num_threads=num_threads, isa=isa, dtype=dtype
    )
