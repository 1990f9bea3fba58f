"""The model families beyond BERT and the sequence classification heads, against transformers.

* Committed fixtures (``tests/fixtures/families/``, written by ``make_family_fixtures.py``; no torch needed):
  every family and head under every ISA this CPU runs, every output field within ``ATOL`` at every position
  with ``skip_padding=False``, and at the real positions (plus position 0, and the pooler, logits and loss)
  with the default ``skip_padding=True``; output class, keys and hidden state counts as transformers'.
* AutoConfig / AutoModel / AutoModelForSequenceClassification dispatch and errors; missing tensors named.
* Live parity (when torch and transformers import): a seeded random small config per family and per head,
  padded batches, against transformers built and saved in the test.
"""

from __future__ import annotations

import functools
import inspect
import json
import shutil
import warnings
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import bertcore
from bertcore.models.base import position_ids_after_padding
from conftest import require

FAMILIES_DIR = Path(__file__).resolve().parent / "fixtures" / "families"
FIXTURES = sorted(p.parent.name for p in FAMILIES_DIR.glob("*/expected.npz"))
ATOL = 1e-5
INPUTS = ("input_ids", "attention_mask", "token_type_ids", "task_type_ids", "position_ids", "labels")
MODEL_TYPES = ("albert", "bert", "camembert", "distilbert", "electra", "ernie", "roberta", "xlm-roberta")


@functools.lru_cache(maxsize=None)
def fixture(name: str) -> Dict[str, Any]:
    with np.load(FAMILIES_DIR / name / "expected.npz") as npz:
        return {k: npz[k] for k in npz.files}


def load(directory: Path, z: Dict[str, Any], **kwargs: Any) -> Any:
    """The bertcore class of the same name as the transformers class that made the fixture."""
    cls = getattr(bertcore, str(z["reference_class"]))
    if "add_pooling_layer" in inspect.signature(cls.from_pretrained).parameters:
        kwargs.setdefault("add_pooling_layer", bool(z["has_pooler"]))
    return cls.from_pretrained(directory, **kwargs)


def flatten(out: Any) -> Dict[str, np.ndarray]:
    """Output object -> {field: array}; hidden_states_<i> / attentions_<i>; a classifier's last hidden state
    is its hidden_states[-1]."""

    def arr(x: Any) -> np.ndarray:
        return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)

    fields: Dict[str, np.ndarray] = {}
    for name in ("last_hidden_state", "pooler_output", "logits", "loss"):
        if getattr(out, name, None) is not None:
            fields[name] = arr(getattr(out, name))
    if "logits" in fields and out.hidden_states:
        fields["last_hidden_state"] = arr(out.hidden_states[-1])
    for i, h in enumerate(out.hidden_states or ()):
        fields[f"hidden_states_{i}"] = arr(h)
    for i, a in enumerate(out.attentions or ()):
        fields[f"attentions_{i}"] = arr(a)
    return fields


def checked_positions(inputs: Dict[str, Any], skip_padding: bool) -> np.ndarray:
    """[batch, seq] bool: where bertcore must match (elsewhere, with skip_padding, it may return 0)."""
    shape = np.asarray(inputs["input_ids"]).shape
    if not skip_padding or inputs.get("attention_mask") is None:
        return np.ones(shape, dtype=bool)
    checked = np.asarray(inputs["attention_mask"]) != 0
    checked[:, 0] = True  # position 0 is always computed: the pooler and the heads read it
    return checked


def compare(
    got: Dict[str, np.ndarray], want: Dict[str, np.ndarray], where: str, checked: np.ndarray
) -> Tuple[Dict[str, float], List[str]]:
    """Worst |got - want| per field over the checked positions, and the failures (over ATOL there, or an
    unchecked entry that is neither 0 nor transformers' value)."""
    worst: Dict[str, float] = {}
    if sorted(got) != sorted(want):
        return worst, [f"{where}: fields {sorted(got)} != transformers' {sorted(want)}"]
    failures: List[str] = []
    for field, w in want.items():
        g = got[field]
        if g.shape != w.shape or g.dtype != np.float32:
            failures.append(f"{where}/{field}: got {g.dtype}{g.shape}, want float32{w.shape}")
            continue
        diff = np.atleast_1d(np.abs(g.astype(np.float64) - w))
        diff[~np.isfinite(diff)] = np.inf
        if field.startswith("attentions"):
            mask = np.broadcast_to(checked[:, None, :, None], diff.shape)
        elif field.startswith(("last_hidden", "hidden")):
            mask = np.broadcast_to(checked[:, :, None], diff.shape)
        else:  # pooler_output, logits, loss: whole
            mask = np.ones(diff.shape, dtype=bool)
        here = float(diff[mask].max()) if mask.any() else 0.0
        family = field.rsplit("_", 1)[0] if field[-1].isdigit() else field
        worst[family] = max(worst.get(family, 0.0), here)
        if here > ATOL:
            failures.append(f"{where}/{field}: max abs diff {here:.2e} > {ATOL:.0e}")
        stray = int(np.count_nonzero(~mask & (np.atleast_1d(g) != 0) & (diff > ATOL)))
        if stray:
            failures.append(f"{where}/{field}: {stray} skipped entries are neither 0 nor transformers' value")
    return worst, failures


def run_and_compare(
    model: Any, cases: Dict[str, Dict[str, Any]], expected: Dict[str, Dict[str, np.ndarray]]
) -> Tuple[Dict[str, float], List[str], Dict[str, Any]]:
    """Both skip_padding modes over every case; returns worst diffs, failures and the last dense output."""
    worst: Dict[str, float] = {}
    failures: List[str] = []
    dense: Dict[str, Any] = {}
    for skip in (False, True):
        for case, inputs in cases.items():
            out = model(**inputs, output_hidden_states=True, output_attentions=True, skip_padding=skip)
            if not skip:
                dense[case] = out
            where = f"{'skip' if skip else 'dense'}/{case}"
            w, f = compare(flatten(out), expected[case], where, checked_positions(inputs, skip))
            failures += f
            for k, v in w.items():
                worst[k] = max(worst.get(k, 0.0), v)
    return worst, failures, dense


def transformers_keys(keys: Any) -> List[str]:
    # transformers 5.24 adds cross_attentions=() (an empty tuple, so a key) to BERT-style outputs when
    # output_attentions is set; bertcore does the same, so the keys must agree exactly.
    return [str(k) for k in keys]


# ---------------------------------------------------------------------------------------------- fixtures


def test_fixtures_present() -> None:
    kinds = {(str(fixture(n)["model_type"]), str(fixture(n)["kind"])) for n in FIXTURES}
    want = {(t, k) for t in MODEL_TYPES for k in ("model", "classifier")} - {("bert", "model")}
    assert want <= kinds, f"missing fixtures for {sorted(want - kinds)} under {FAMILIES_DIR}"


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_matches_transformers(name: str, isa: str) -> None:
    z = fixture(name)
    model = load(FAMILIES_DIR / name, z, isa=isa, num_threads=2)
    assert model.isa == isa
    case_names = [str(c) for c in z["cases"]]
    cases = {c: {k: z[f"{c}/{k}"] for k in INPUTS if f"{c}/{k}" in z} for c in case_names}
    expected: Dict[str, Dict[str, np.ndarray]] = {c: {} for c in case_names}
    for key, value in z.items():
        case, _, field = key.partition("/")
        if field and field not in INPUTS and field != "output_keys":
            expected[case][field] = value
    worst, failures, dense = run_and_compare(model, cases, expected)
    for case, out in dense.items():
        if type(out).__name__ != str(z["output_class"]):
            failures.append(f"{case}: output class {type(out).__name__}, transformers' {z['output_class']}")
        theirs = list(z[f"{case}/output_keys"])
        if list(out.keys()) != transformers_keys(theirs):
            failures.append(f"{case}: keys {list(out.keys())} vs transformers' {theirs}")
        counts = (len(out.hidden_states), len(out.attentions))
        if counts != (int(z["num_hidden_states"]), int(z["num_attentions"])):
            failures.append(f"{case}: {counts[0]} hidden states / {counts[1]} attentions")
    report = f"{name} [{isa}] worst: " + ", ".join(f"{k}={v:.2e}" for k, v in sorted(worst.items()))
    print(report)
    assert not failures, report + "\n" + "\n".join(failures)


@pytest.mark.parametrize("name", FIXTURES)
def test_auto_classes_dispatch(name: str) -> None:
    z = fixture(name)
    directory = FAMILIES_DIR / name
    config = bertcore.AutoConfig.from_pretrained(directory)
    assert config.model_type == str(z["model_type"])
    assert type(config) is bertcore.AutoModel.class_for(config.model_type).spec.config_class
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a pooler-less checkpoint warns; not the point here
        if str(z["kind"]) == "classifier":
            model: Any = bertcore.AutoModelForSequenceClassification.from_pretrained(directory, num_threads=1)
            assert model.num_labels == config.num_labels
            assert getattr(model, model.base_model.base_model_prefix) is model.base_model  # model.roberta
        else:
            model = bertcore.AutoModel.from_pretrained(directory, num_threads=1)
    assert type(model).__name__ == str(z["reference_class"])


def _copy(name: str, tmp_path: Path) -> Path:
    directory = tmp_path / name
    shutil.copytree(FAMILIES_DIR / name, directory)
    return directory


def test_unknown_or_missing_model_type(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_embd": 8}))
    for call in (
        bertcore.AutoConfig.from_pretrained,
        bertcore.AutoModel.from_pretrained,
        bertcore.AutoModelForSequenceClassification.from_pretrained,
    ):
        with pytest.raises(ValueError, match="'gpt2' is not supported.*supported: " + ", ".join(MODEL_TYPES)):
            call(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(ValueError, match="no model_type"):
        bertcore.AutoModel.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="'gpt2' is not supported"):
        bertcore.AutoConfig.for_model("gpt2")


@pytest.mark.parametrize(
    "name, raw, normalised",
    [
        ("albert_e16_h32_g2_inner2", "encoder.albert_layer_groups.1.albert_layers.0.ffn.bias", None),
        ("albert_e16_h32_g2_inner2", "encoder.embedding_hidden_mapping_in.weight", None),
        ("distilbert_h32", "transformer.layer.1.sa_layer_norm.weight", None),
        ("electra_e16_h32", "embeddings_project.weight", None),
        (
            "roberta_mlm_nopool_h24",
            "roberta.encoder.layer.0.attention.self.key.bias",
            "encoder.layer.0.attention.self.key.bias",
        ),
        (
            "electra_pretraining_h24",
            "electra.embeddings.token_type_embeddings.weight",
            "embeddings.token_type_embeddings.weight",
        ),
        ("bert_seqcls_3labels", "classifier.bias", None),
        ("bert_seqcls_3labels", "bert.pooler.dense.weight", "pooler.dense.weight"),  # the head's input
        ("roberta_seqcls_1label", "classifier.out_proj.weight", None),
        ("distilbert_seqcls_multilabel", "pre_classifier.weight", None),
        ("electra_seqcls_e16_2labels", "classifier.dense.bias", None),
    ],
)
def test_missing_tensor_is_named(tmp_path: Path, name: str, raw: str, normalised: Any) -> None:
    directory = _copy(name, tmp_path)
    tensors = load_file(str(directory / "model.safetensors"))
    del tensors[raw]
    save_file(tensors, str(directory / "model.safetensors"))
    with pytest.raises(ValueError, match=f"missing tensor '{normalised or raw}'"):
        load(directory, fixture(name))


def test_classifier_needs_its_head(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"(?s)missing tensor 'classifier.dense.weight'.*base model"):
        bertcore.RobertaForSequenceClassification.from_pretrained(FAMILIES_DIR / "roberta_h32_pool")
    directory = _copy("bert_seqcls_3labels", tmp_path)
    cfg = json.loads((directory / "config.json").read_text())
    cfg["id2label"] = {"0": "a", "1": "b"}
    (directory / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"'classifier.weight' has shape \[3, 32\], expected \[2, 32\]"):
        bertcore.AutoModelForSequenceClassification.from_pretrained(directory)


def test_missing_pooler_warns_and_gives_none() -> None:
    directory = FAMILIES_DIR / "roberta_mlm_nopool_h24"
    with pytest.warns(UserWarning, match=r"no pooler weights \(pooler.dense.\*\)"):
        model = bertcore.RobertaModel.from_pretrained(directory)
    assert model(np.array([[0, 5, 7, 2]])).pooler_output is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bertcore.RobertaModel.from_pretrained(directory, add_pooling_layer=False)
        bertcore.AlbertModel.from_pretrained(FAMILIES_DIR / "albert_mlm_e24_h24", add_pooling_layer=False)
    with pytest.warns(UserWarning, match=r"no pooler weights \(pooler.\*\)"):
        bertcore.AlbertModel.from_pretrained(FAMILIES_DIR / "albert_mlm_e24_h24")


def test_sinusoidal_table_made_when_absent(tmp_path: Path) -> None:
    name = "distilbert_sinusoidal_mlm_h24"
    directory = _copy(name, tmp_path)
    tensors = load_file(str(directory / "model.safetensors"))
    stored = tensors.pop("distilbert.embeddings.position_embeddings.weight")
    save_file(tensors, str(directory / "model.safetensors"))
    from bertcore.models.loading import sinusoidal_positions

    np.testing.assert_allclose(sinusoidal_positions(*stored.shape), stored, atol=1e-7, rtol=0)
    z = fixture(name)
    model = load(directory, z)
    out = model(z["ragged/input_ids"], attention_mask=z["ragged/attention_mask"], skip_padding=False)
    np.testing.assert_allclose(out.last_hidden_state, z["ragged/last_hidden_state"], atol=ATOL, rtol=0)
    cfg = json.loads((directory / "config.json").read_text())
    cfg["sinusoidal_pos_embds"] = False  # learned positions must be in the checkpoint
    (directory / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="missing tensor 'embeddings.position_embeddings.weight'"):
        load(directory, z)


def test_inputs_specific_to_families() -> None:
    z = fixture("distilbert_h32")
    model = load(FAMILIES_DIR / "distilbert_h32", z)
    ids = z["ragged/input_ids"]
    base = model(ids).last_hidden_state
    assert np.array_equal(model(ids, token_type_ids=np.ones_like(ids)).last_hidden_state, base)  # ignored
    with pytest.raises(ValueError, match="inputs_embeds"):
        model(ids, inputs_embeds=np.zeros((1, 2, 32), np.float32))
    roberta = bertcore.AutoModel.from_pretrained(FAMILIES_DIR / "roberta_h32_pool")  # 22 positions, pad 1
    roberta(np.full((1, 20), 5))
    with pytest.raises(ValueError, match=r"position id 22, but max_position_embeddings is 22.*pad_token_id"):
        roberta(np.full((1, 21), 5))
    ids = np.array([[0, 5, 6, 1, 1], [1, 1, 0, 7, 2]])  # pad 1: right and left padding
    explicit = roberta(
        ids, position_ids=position_ids_after_padding(ids, 1), skip_padding=False
    ).last_hidden_state
    assert np.array_equal(roberta(ids, skip_padding=False).last_hidden_state, explicit)


def test_classifier_call_options() -> None:
    z = fixture("roberta_seqcls_1label")
    model = load(FAMILIES_DIR / "roberta_seqcls_1label", z, num_threads=1)
    ids, mask = z["ragged/input_ids"], z["ragged/attention_mask"]
    out = model(ids, attention_mask=mask)
    assert isinstance(out, bertcore.SequenceClassifierOutput) and list(out.keys()) == ["logits"]
    assert out.logits.dtype == np.float32 and out.logits.shape == (ids.shape[0], 1)
    tup = model(ids, attention_mask=mask, labels=z["ragged/labels"], return_dict=False)
    assert isinstance(tup, tuple) and len(tup) == 2 and tup[0].shape == ()
    assert np.array_equal(tup[1], out.logits)
    model.num_threads = 2
    assert model.num_threads == model.roberta.num_threads == 2
    assert np.array_equal(model(ids, attention_mask=mask).logits, out.logits)


# ---------------------------------------------------------------------------------------------- configs


CONFIG_NAMES = {
    "bert": "BertConfig", "roberta": "RobertaConfig", "xlm-roberta": "XLMRobertaConfig",
    "camembert": "CamembertConfig", "distilbert": "DistilBertConfig", "albert": "AlbertConfig",
    "electra": "ElectraConfig", "ernie": "ErnieConfig",
}  # fmt: skip


@pytest.mark.parametrize("model_type", MODEL_TYPES)
def test_config_defaults_match_transformers(model_type: str) -> None:
    transformers = require("transformers")
    ours = getattr(bertcore, CONFIG_NAMES[model_type])()
    theirs = getattr(transformers, CONFIG_NAMES[model_type])()
    assert ours.model_type == theirs.model_type == model_type
    refusals = ("position_embedding_type", "is_decoder", "add_cross_attention")  # to refuse what cannot run
    for name, value in ours.to_dict().items():
        if name in refusals and not hasattr(theirs, name):
            continue
        assert getattr(theirs, name) == value, name
    assert ours.num_labels == theirs.num_labels == 2


def test_config_reading() -> None:
    cfg = bertcore.AutoConfig.for_model("distilbert", dim=64, n_heads=4, n_layers=2, num_labels=3, custom=1)
    assert isinstance(cfg, bertcore.DistilBertConfig)
    assert (cfg.hidden_size, cfg.num_attention_heads, cfg.num_hidden_layers, cfg.head_dim) == (64, 4, 2, 16)
    assert cfg.custom == 1 and cfg.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    assert bertcore.DistilBertConfig.from_dict(cfg.to_dict()) == cfg
    cfg = bertcore.RobertaConfig.from_dict(
        {"id2label": {"0": "no", "1": "yes"}, "problem_type": "regression"},
    )
    assert cfg.id2label == {0: "no", 1: "yes"} and cfg.num_labels == 2 and cfg.problem_type == "regression"
    with pytest.raises(ValueError, match="problem_type"):
        bertcore.ElectraConfig.from_dict({"problem_type": "ranking"})
    with pytest.raises(ValueError, match="not a multiple"):
        bertcore.AlbertConfig.from_dict({"hidden_size": 30, "num_attention_heads": 4})
    with pytest.raises(ValueError, match="activation"):
        bertcore.DistilBertConfig.from_dict({"activation": "gelu_bogus"})
    with pytest.raises(ValueError, match="position_embedding_type"):
        bertcore.RobertaConfig.from_dict({"position_embedding_type": "rotary"})
    with pytest.raises(ValueError, match="position_embedding_type"):
        bertcore.ElectraConfig.from_dict({"position_embedding_type": "relative_key"})  # BERT and RoBERTa only
    assert (
        bertcore.RobertaConfig.from_dict({"position_embedding_type": "relative_key_query"}).relative_attention
        == 2
    )
    with pytest.warns(UserWarning, match="model_type 'roberta'"):
        bertcore.ElectraConfig.from_dict({"model_type": "roberta"})


# ---------------------------------------------------------------------------------------------- live parity

LIVE = (
    "BertForSequenceClassification",
    "RobertaModel",
    "RobertaForSequenceClassification",
    "XLMRobertaModel",
    "XLMRobertaForSequenceClassification",
    "CamembertModel",
    "CamembertForSequenceClassification",
    "DistilBertModel",
    "DistilBertForSequenceClassification",
    "AlbertModel",
    "AlbertForSequenceClassification",
    "ElectraModel",
    "ElectraForSequenceClassification",
    "ErnieModel",
    "ErnieForSequenceClassification",
)  # BertModel: tests/test_bert_live.py
LIVE_ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "quick_gelu")


def _model_type(class_name: str) -> str:
    cls = getattr(bertcore, class_name)
    return str(getattr(cls, "base_class", cls).spec.model_type)


def live_config(class_name: str, rng: np.random.Generator) -> Dict[str, Any]:
    """A small random config of the class's family, in transformers' field names."""
    model_type = _model_type(class_name)
    heads = int(rng.integers(1, 5))
    hidden = heads * int(rng.choice([1, 3, 4, 7, 8, 12, 16]))
    sizes = dict(
        vocab=int(rng.integers(8, 120)), layers=int(rng.integers(1, 4)),
        inter=int(rng.integers(1, 3 * hidden + 1)), act=str(rng.choice(LIVE_ACTIVATIONS)),
    )  # fmt: skip
    max_pos = int(rng.integers(8, 40))
    if model_type == "distilbert":
        config: Dict[str, Any] = dict(
            vocab_size=sizes["vocab"], dim=hidden, n_heads=heads, n_layers=sizes["layers"],
            hidden_dim=sizes["inter"], activation=sizes["act"], max_position_embeddings=max_pos,
            sinusoidal_pos_embds=bool(rng.integers(0, 2)),
        )  # fmt: skip
    else:
        config = dict(
            vocab_size=sizes["vocab"], hidden_size=hidden, num_attention_heads=heads,
            num_hidden_layers=sizes["layers"], intermediate_size=sizes["inter"], hidden_act=sizes["act"],
            layer_norm_eps=float(rng.choice([1e-12, 1e-6, 1e-5, 1e-3])), max_position_embeddings=max_pos,
            type_vocab_size=int(rng.integers(1, 4)),
        )  # fmt: skip
    if model_type in ("roberta", "xlm-roberta", "camembert"):
        config["pad_token_id"] = int(rng.integers(0, 4))
    if model_type == "ernie" and rng.random() < 0.75:
        config.update(use_task_id=True, task_type_vocab_size=int(rng.integers(1, 5)))
    classifier = class_name.endswith("ForSequenceClassification")
    # The base models always get the less common structure (a projection, shared layer groups of 2 layers).
    if model_type in ("albert", "electra"):
        width = int(rng.integers(2, 40))
        config["embedding_size"] = hidden if classifier and rng.random() < 0.5 else width + (width == hidden)
    if model_type == "albert":
        layers = config["num_hidden_layers"] = max(sizes["layers"], 1 if classifier else 3)
        config["num_hidden_groups"] = int(rng.integers(1, layers + 1)) if classifier else 2
        config["inner_group_num"] = int(rng.integers(1, 3)) if classifier else 2
    if classifier:
        config["num_labels"] = int(rng.integers(1, 5))
        if config["num_labels"] > 1 and rng.random() < 0.5:
            config["problem_type"] = "multi_label_classification"
    return config


def live_batches(
    model_type: str, config: Dict[str, Any], rng: np.random.Generator, classifier: bool
) -> List[Dict[str, Any]]:
    vocab, max_pos = config["vocab_size"], config["max_position_embeddings"]
    pad = int(config.get("pad_token_id", 0))
    roberta = model_type in ("roberta", "xlm-roberta", "camembert")
    longest = max_pos - pad - 1 if roberta else max_pos
    types = config.get("type_vocab_size", 0)

    def tokens(shape: Any) -> np.ndarray:
        t = rng.integers(0, vocab - 1, shape, dtype=np.int64)
        return t + (t >= pad)

    # Right- and left-padded rows, row 0 full, row 1 all padding; pad ids under the padding.
    batch, seq = int(rng.integers(3, 7)), int(rng.integers(2, longest + 1))
    mask = np.zeros((batch, seq), dtype=np.int64)
    mask[0] = 1
    for row in range(2, batch):
        n = int(rng.integers(1, seq + 1))
        mask[row, :n] = 1
        if rng.random() < 0.5:
            mask[row] = mask[row, ::-1]
    ids = np.where(mask == 1, tokens((batch, seq)), pad)
    first: Dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
    if types > 1:
        first["token_type_ids"] = rng.integers(0, types, (batch, seq), dtype=np.int64) * mask
    if config.get("use_task_id"):
        first["task_type_ids"] = rng.integers(0, config["task_type_vocab_size"], (batch, seq), dtype=np.int64)
    if classifier:
        n = config["num_labels"]
        if config.get("problem_type") == "multi_label_classification":
            first["labels"] = rng.integers(0, 2, (batch, n)).astype(np.float32)
        elif n == 1:
            first["labels"] = rng.standard_normal(batch).astype(np.float32)
        else:
            first["labels"] = rng.integers(0, n, batch).astype(np.int64)
    # Explicit positions, a mask with holes, every row keeping a real token.
    batch, seq = int(rng.integers(1, 5)), int(rng.integers(1, max_pos + 1))
    mask = (rng.random((batch, seq)) < 0.7).astype(np.int64)
    mask[:, -1] = 1
    second = {"input_ids": tokens((batch, seq)), "attention_mask": mask,
              "position_ids": rng.integers(0, max_pos, (batch, seq), dtype=np.int64)}  # fmt: skip
    # Nested lists, every optional argument left out.
    third = {"input_ids": tokens((int(rng.integers(1, 4)), int(rng.integers(1, longest + 1)))).tolist()}
    return [first, second, third]


@functools.lru_cache(maxsize=None)
def live_reference(
    class_name: str, directory: str
) -> Tuple[Dict[str, Any], List[Dict[str, Any]], List[Any], float]:
    """(config, batches, transformers' outputs, transformers' own fp32-vs-fp64 error) for one live case."""
    torch = require("torch")
    transformers = require("transformers")
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    index = LIVE.index(class_name)
    rng = np.random.default_rng(9100 + index)
    config = live_config(class_name, rng)
    model_type = _model_type(class_name)
    cfg = transformers.AutoConfig.for_model(model_type, **config)
    cls = getattr(transformers, class_name)
    torch.manual_seed(index)
    model = cls(cfg)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            shape = tuple(param.shape)
            if "position_embeddings" in name and config.get("sinusoidal_pos_embds"):
                continue
            if ("LayerNorm" in name or "layer_norm" in name) and name.endswith(".weight"):
                value = 1.0 + 0.25 * rng.standard_normal(shape)
            elif name.endswith(".bias"):
                value = 0.1 * rng.standard_normal(shape)
            elif name.endswith("_embeddings.weight"):
                value = 0.5 * rng.standard_normal(shape)
            else:
                value = min(0.3, max(0.05, 1.0 / np.sqrt(shape[1]))) * rng.standard_normal(shape)
            param.copy_(torch.from_numpy(value.astype(np.float32)))
    model.save_pretrained(directory, safe_serialization=True)
    batches = live_batches(model_type, config, rng, class_name.endswith("ForSequenceClassification"))
    outputs: List[Any] = []
    noise = 0.0
    for dtype in (torch.float32, torch.float64):
        ref = cls.from_pretrained(directory, attn_implementation="eager", dtype=dtype).eval()
        for i, batch in enumerate(batches):
            kwargs = {k: torch.as_tensor(np.asarray(v)) for k, v in batch.items()}
            if dtype == torch.float64 and "labels" in kwargs and kwargs["labels"].is_floating_point():
                kwargs["labels"] = kwargs["labels"].double()
            with torch.no_grad():
                out = ref(**kwargs, output_hidden_states=True, output_attentions=True, return_dict=True)
            if dtype == torch.float32:
                outputs.append(out)
            else:
                want = flatten(outputs[i])
                noise = max(noise, max(float(np.max(np.abs(v - want[k]))) for k, v in flatten(out).items()))
    return config, batches, outputs, noise


@pytest.mark.slow
@pytest.mark.parametrize("class_name", LIVE)
def test_live_matches_transformers(
    class_name: str, isa: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = str(tmp_path_factory.getbasetemp() / f"live_{class_name}")
    config, batches, outputs, noise = live_reference(class_name, directory)
    model = getattr(bertcore, class_name).from_pretrained(directory, isa=isa, num_threads=2)
    cases = {f"batch{i}": b for i, b in enumerate(batches)}
    expected = {f"batch{i}": flatten(o) for i, o in enumerate(outputs)}
    worst, failures, dense = run_and_compare(model, cases, expected)
    for (case, ours), theirs in zip(dense.items(), outputs):
        if type(ours).__name__ != type(theirs).__name__:
            failures.append(f"{case}: output {type(ours).__name__}, transformers' {type(theirs).__name__}")
        if list(ours.keys()) != transformers_keys(theirs.keys()):
            failures.append(f"{case}: keys {list(ours.keys())} vs transformers' {list(theirs.keys())}")
    report = (
        f"{class_name} [{isa}] {json.dumps(config)} worst: "
        + ", ".join(f"{k}={v:.2e}" for k, v in sorted(worst.items()))
        + f" (transformers fp32 vs fp64: {noise:.1e})"
    )
    print(report)
    assert not failures, report + "\n" + "\n".join(failures)


def test_task_type_ids_checked() -> None:
    """ERNIE's task type ids are range-checked; a family without task types refuses them instead of dropping them."""
    z = fixture("ernie_task_h32")
    ernie = load(FAMILIES_DIR / "ernie_task_h32", z, num_threads=1)
    ids = z["ragged/input_ids"]
    tasks = np.zeros_like(ids)
    tasks[0, 0] = 3  # task_type_vocab_size is 3
    with pytest.raises(ValueError, match="task_type_ids holds 3"):
        ernie(ids, task_type_ids=tasks)
    with pytest.raises(ValueError, match="task_type_ids has shape"):
        ernie(ids, task_type_ids=tasks[:, :2])
    zero = ernie(ids, attention_mask=z["ragged/attention_mask"]).last_hidden_state
    explicit = ernie(ids, attention_mask=z["ragged/attention_mask"], task_type_ids=np.zeros_like(ids))
    assert np.array_equal(zero, explicit.last_hidden_state)
    plain = load(FAMILIES_DIR / "ernie_mlm_nopool_h24", fixture("ernie_mlm_nopool_h24"), num_threads=1)
    with pytest.raises(ValueError, match="no task type embeddings"):
        plain(ids % 64, task_type_ids=np.zeros_like(ids))


def test_native_interface_is_named() -> None:
    """The core's config and layers are classes with named fields; nothing is passed by position."""
    from bertcore import _core

    model = bertcore.AutoModel.from_pretrained(FAMILIES_DIR / "ernie_task_h32", num_threads=1)
    core = model._encoder.config
    cfg = model.config
    assert (core.hidden, core.heads, core.layers, core.intermediate) == (
        cfg.hidden_size, cfg.num_attention_heads, cfg.num_hidden_layers, cfg.intermediate_size,
    )  # fmt: skip
    assert (core.type_vocab, core.task_type_vocab, core.activation) == (3, 3, cfg.hidden_act)
    w = np.ones((4, 4), dtype=np.float32)
    linear = _core.PackedLinear(w, np.zeros(4, dtype=np.float32))
    with pytest.raises(TypeError):
        _core.EncoderLayer(linear, linear, linear, linear, w[0], w[0], w[0], w[0])  # type: ignore[misc]
    layer = _core.EncoderLayer(
        qkv=linear, attn_out=linear, ffn_in=linear, ffn_out=linear,
        ln1_gamma=w[0], ln1_beta=w[1], ln2_gamma=w[2], ln2_beta=w[3],
    )  # fmt: skip
    assert np.array_equal(layer.ln2_gamma, w[2]) and layer.distance is None
    with pytest.raises(TypeError):
        _core.Encoder(core, w, None, None, None, w[0], w[0], [layer], None, None, "")  # type: ignore[misc]
