"""bertcore against transformers' BertModel built live, on seeded random configs and inputs.

Each case draws a config (hidden size, heads, layers, intermediate size, activation, LayerNorm eps, vocab,
token types, max positions, pooler or not), builds ``transformers.BertModel`` with wide random weights,
saves it with ``save_pretrained`` into a temporary directory and runs it (eager attention, float32, eval
mode) on three batches: a ragged, heavily padded batch with a row of no padding and a row of only padding;
a batch with explicit ``position_ids`` and a random mask (holes, left padding); and a batch passed as
nested lists with every optional argument left out. bertcore then loads the directory under every
supported ISA, at 1 and 2 threads, and runs each batch both ways it treats padding: with
``skip_padding=False`` every output field must match within ``ATOL`` at every position; with
``skip_padding=True`` (the default) it must match at the real tokens and position 0 (and the pooler), and
elsewhere be exactly 0 or transformers' value. Needs torch and transformers (see ``conftest.require``).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bertcore import BertModel
from conftest import require

torch = require("torch")
transformers = require("transformers")

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

THREADS = (1, 2)
ATOL = 1e-5
N_CASES = 21
ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "quick_gelu")
HEAD_DIMS = (1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 32, 33)
EPSILONS = (1e-12, 1e-7, 1e-6, 1e-5, 1e-3, 1e-2)


@dataclasses.dataclass(frozen=True)
class LiveCase:
    index: int
    config: dict[str, Any]
    pooler: bool
    directory: Path
    batches: list[dict[str, Any]]  # bertcore arguments (arrays or nested lists; absent = left as None)
    expected: list[dict[str, np.ndarray]]  # transformers' float32 outputs per batch, flattened
    noise: float  # max |fp32 - fp64| of transformers' own outputs, for failure messages

    @property
    def family(self) -> str:
        c = self.config
        return (
            f"case{self.index} {c['hidden_act']} h{c['hidden_size']}x{c['num_attention_heads']} "
            f"L{c['num_hidden_layers']} i{c['intermediate_size']} eps{c['layer_norm_eps']:.0e} "
            f"tv{c['type_vocab_size']} pos{c['max_position_embeddings']} pooler={self.pooler}"
        )


def random_config(rng: np.random.Generator, index: int) -> tuple[dict[str, Any], bool]:
    heads = int(rng.integers(1, 9))
    head_dim = int(rng.choice([d for d in HEAD_DIMS if heads * d <= 128]))
    hidden = heads * head_dim
    config = dict(
        vocab_size=int(rng.integers(5, 400)),
        hidden_size=hidden,
        num_hidden_layers=int(rng.integers(1, 4)),
        num_attention_heads=heads,
        intermediate_size=int(rng.integers(1, 4 * hidden + 1)),
        hidden_act=ACTIVATIONS[index % len(ACTIVATIONS)],  # every activation, twice over the cases
        layer_norm_eps=float(rng.choice(EPSILONS)),
        type_vocab_size=int(rng.integers(1, 4)),
        max_position_embeddings=int(rng.integers(2, 65)),
    )
    pooler = index % 3 != 2
    return config, pooler


def randomize_weights(model: Any, rng: np.random.Generator) -> None:
    """Wide weights (about unit gain per linear layer), nonzero biases, LayerNorm away from 1 and 0.

    Far wider than BERT's 0.02 initialiser, so every term matters, yet narrow enough that transformers' own
    float32 error (vs float64) stays near 1e-6 (at most ~4e-6 over the first 40 seeds), well under ATOL.
    """
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            shape = tuple(param.shape)
            if "LayerNorm.weight" in name:
                value = 1.0 + 0.25 * rng.standard_normal(shape)
            elif name.endswith(".bias"):
                value = 0.1 * rng.standard_normal(shape)
            elif "embeddings" in name:
                value = 0.5 * rng.standard_normal(shape)
            else:
                value = min(0.3, max(0.05, 1.0 / math.sqrt(shape[1]))) * rng.standard_normal(shape)
            param.copy_(torch.from_numpy(value.astype(np.float32)))


def random_batches(rng: np.random.Generator, config: dict[str, Any], index: int) -> list[dict[str, Any]]:
    vocab, max_pos, types = config["vocab_size"], config["max_position_embeddings"], config["type_vocab_size"]
    batches: list[dict[str, Any]] = []

    # Ragged and heavily padded: row 0 unpadded, row 1 all padding, the rest mostly short.
    batch, seq = int(rng.integers(2, 17)), int(rng.integers(1, max_pos + 1))
    lengths = rng.integers(1, max(1, seq // 3) + 1, batch)
    lengths[0] = seq
    lengths[1] = 0
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int64)
    ids = rng.integers(0, vocab, (batch, seq), dtype=np.int64)
    if index % 2 == 0:
        ids[mask == 0] = 0  # pad id, as a tokenizer pads; odd cases keep random ids under the padding
    first = {"input_ids": ids, "attention_mask": mask}
    if types > 1:
        first["token_type_ids"] = rng.integers(0, types, (batch, seq), dtype=np.int64) * mask
    batches.append(first)

    # Explicit position_ids, per row or one row broadcast over the batch; a random mask with holes and
    # some left-padded rows, every row keeping a real token (so skip_padding packs this batch).
    batch, seq = int(rng.integers(1, 17)), int(rng.integers(1, max_pos + 1))
    ids = rng.integers(0, vocab, (batch, seq), dtype=np.int64)
    mask = (rng.random((batch, seq)) < 0.7).astype(np.int64)
    for row in range(batch):
        if rng.random() < 0.4:
            mask[row, : int(rng.integers(1, seq + 1))] = 0  # left padding
        if not mask[row].any():
            mask[row, -1] = 1
    pos_rows = batch if index % 2 == 0 else 1
    second = {
        "input_ids": ids,
        "attention_mask": mask,
        "position_ids": rng.integers(0, max_pos, (pos_rows, seq), dtype=np.int64),
    }
    if types > 1:
        second["token_type_ids"] = rng.integers(0, types, (batch, seq), dtype=np.int64)
    batches.append(second)

    # Nested lists, every optional argument left out (all-ones mask, type 0, positions 0..seq-1).
    batch, seq = int(rng.integers(1, 17)), int(rng.integers(1, max_pos + 1))
    batches.append({"input_ids": rng.integers(0, vocab, (batch, seq)).tolist()})
    return batches


def flatten(out: Any) -> dict[str, np.ndarray]:
    """Output object (bertcore or transformers) -> {field: float array}, hidden_states_i / attentions_i."""

    def arr(x: Any) -> np.ndarray:
        return x.detach().numpy() if hasattr(x, "detach") else np.asarray(x)

    fields = {"last_hidden_state": arr(out.last_hidden_state)}
    if out.pooler_output is not None:
        fields["pooler_output"] = arr(out.pooler_output)
    for i, h in enumerate(out.hidden_states or ()):
        fields[f"hidden_states_{i}"] = arr(h)
    for i, a in enumerate(out.attentions or ()):
        fields[f"attentions_{i}"] = arr(a)
    return fields


def run_transformers(model: Any, batch: dict[str, Any]) -> dict[str, np.ndarray]:
    kwargs = {k: torch.as_tensor(np.asarray(v, dtype=np.int64)) for k, v in batch.items()}
    with torch.no_grad():
        out = model(**kwargs, output_hidden_states=True, output_attentions=True, return_dict=True)
    return flatten(out)


def build_reference(directory: Path, config: dict[str, Any], pooler: bool, seed: int) -> Any:
    """A random-weight transformers BertModel saved to ``directory`` and reloaded from it, in eval mode."""
    torch.manual_seed(seed)
    model = transformers.BertModel(transformers.BertConfig(**config), add_pooling_layer=pooler)
    randomize_weights(model, np.random.default_rng(seed))
    model.save_pretrained(directory, safe_serialization=True)
    loaded = transformers.BertModel.from_pretrained(
        directory, add_pooling_layer=pooler, attn_implementation="eager", dtype=torch.float32
    )
    return loaded.eval()


@pytest.fixture(scope="module", params=range(N_CASES), ids=lambda i: f"case{i}")
def live_case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> LiveCase:
    index: int = request.param
    rng = np.random.default_rng(20240 + index)
    config, pooler = random_config(rng, index)
    directory = tmp_path_factory.mktemp(f"live{index}")
    reference = build_reference(directory, config, pooler, seed=7000 + index)
    reference64 = transformers.BertModel.from_pretrained(
        directory, add_pooling_layer=pooler, attn_implementation="eager", dtype=torch.float64
    ).eval()
    batches = random_batches(rng, config, index)
    expected = [run_transformers(reference, b) for b in batches]
    noise = 0.0
    for b, want in zip(batches, expected):
        for key, value in run_transformers(reference64, b).items():
            noise = max(noise, float(np.max(np.abs(value - want[key]))))
    return LiveCase(index, config, pooler, directory, batches, expected, noise)


def checked_positions(batch: dict[str, Any], skip_padding: bool) -> np.ndarray:
    """[batch, seq] bool: where bertcore must match transformers (elsewhere it may return 0 instead)."""
    shape = np.asarray(batch["input_ids"]).shape
    if not skip_padding or batch.get("attention_mask") is None:
        return np.ones(shape, dtype=bool)
    checked = np.asarray(batch["attention_mask"]) != 0
    checked[:, 0] = True  # position 0 is always computed: the pooler reads it
    return checked


def compare(
    got: dict[str, np.ndarray], want: dict[str, np.ndarray], where: str, checked: np.ndarray
) -> tuple[dict[str, float], list[str]]:
    """Worst |got - want| per field family over the checked positions (query rows for attention maps, all of
    the pooler), and failures: a diff over ATOL there, or an unchecked entry neither 0 nor transformers'."""
    worst: dict[str, float] = {}
    failures: list[str] = []
    if sorted(got) != sorted(want):
        return worst, [f"{where}: fields {sorted(got)} != transformers' {sorted(want)}"]
    for field, w in want.items():
        g = got[field]
        if g.shape != w.shape or g.dtype != np.float32:
            failures.append(f"{where}/{field}: got {g.dtype}{g.shape}, want float32{w.shape}")
            continue
        diff = np.abs(g.astype(np.float64) - w)
        diff[~np.isfinite(diff)] = np.inf
        if field == "pooler_output":
            mask = np.ones(diff.shape, dtype=bool)
        elif field.startswith("attentions"):
            mask = np.broadcast_to(checked[:, None, :, None], diff.shape)
        else:
            mask = np.broadcast_to(checked[:, :, None], diff.shape)
        worst_here = float(diff[mask].max()) if mask.any() else 0.0
        family = field.rsplit("_", 1)[0] if field[-1].isdigit() else field
        worst[family] = max(worst.get(family, 0.0), worst_here)
        if worst_here > ATOL:
            failures.append(f"{where}/{field}: max abs diff {worst_here:.2e} > {ATOL:.0e}")
        stray = int(np.count_nonzero(~mask & (g != 0) & (diff > ATOL)))
        if stray:
            failures.append(f"{where}/{field}: {stray} skipped entries are neither 0 nor transformers' value")
    return worst, failures


@pytest.mark.parametrize("num_threads", THREADS)
def test_live_matches_transformers(live_case: LiveCase, isa: str, num_threads: int) -> None:
    model = BertModel.from_pretrained(
        live_case.directory, add_pooling_layer=live_case.pooler, num_threads=num_threads, isa=isa
    )
    worst: dict[str, float] = {}
    failures: list[str] = []
    for skip_padding in (False, True):
        mode = "skip" if skip_padding else "dense"
        for i, (batch, want) in enumerate(zip(live_case.batches, live_case.expected)):
            out = model(
                **batch, output_hidden_states=True, output_attentions=True, return_dict=True,
                skip_padding=skip_padding,
            )  # fmt: skip
            shape = np.asarray(batch["input_ids"]).shape
            checked = checked_positions(batch, skip_padding)
            w, f = compare(flatten(out), want, f"{mode} batch{i}{list(shape)}", checked)
            failures += f
            for k, v in w.items():
                worst[k] = max(worst.get(k, 0.0), v)
    report = (
        f"{live_case.family} [{isa}, {num_threads}t] worst: "
        + ", ".join(f"{k}={v:.2e}" for k, v in worst.items())
        + f" (transformers fp32 vs fp64: {live_case.noise:.1e})"
    )
    print(report)
    assert not failures, report + "\n" + "\n".join(failures)


# ---------------------------------------------------------------------------------------------- API shape


@pytest.fixture(scope="module")
def small_pair(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, tuple[Any, Path]]:
    """Two small models, with and without pooler: {pooler: (transformers model, directory)}."""
    config = dict(
        vocab_size=60,
        hidden_size=24,
        num_hidden_layers=2,
        num_attention_heads=3,
        intermediate_size=40,
        max_position_embeddings=16,
    )
    models = {}
    for pooler in (True, False):
        directory = tmp_path_factory.mktemp(f"pair_pooler{int(pooler)}")
        models[pooler] = (build_reference(directory, config, pooler, seed=11 + pooler), directory)
    return models


@pytest.mark.parametrize("pooler", [True, False], ids=["pooler", "no_pooler"])
@pytest.mark.parametrize(
    "hidden,attn",
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["-", "hs", "att", "hs+att"],
)
def test_return_dict_false_tuple_order(
    small_pair: dict[bool, tuple[Any, Path]], pooler: bool, hidden: bool, attn: bool
) -> None:
    reference, directory = small_pair[pooler]
    model = BertModel.from_pretrained(directory, add_pooling_layer=pooler)
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 60, (3, 9), dtype=np.int64)
    mask = np.ones_like(ids)
    mask[1, 5:] = 0
    flags = dict(output_hidden_states=hidden, output_attentions=attn, return_dict=False)
    got = model(ids, attention_mask=mask, skip_padding=False, **flags)
    with torch.no_grad():
        want = reference(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), **flags)
    assert isinstance(got, tuple), f"return_dict=False gave {type(got).__name__}, want tuple"
    # transformers 5 appends an empty cross_attentions tuple when output_attentions is set; so does bertcore.
    assert len(got) == len(want), (
        f"tuple of {len(got)} items vs transformers' {len(want)}: {[type(x).__name__ for x in want]}"
    )
    for pos, (g, w) in enumerate(zip(got, want)):
        if isinstance(w, tuple):
            kind = type(g).__name__
            assert isinstance(g, tuple) and len(g) == len(w), f"item {pos}: got {kind}, want {len(w)}-tuple"
            pairs = list(zip(g, w))
        else:
            pairs = [(g, w)]
        for a, b in pairs:
            a, b = np.asarray(a), b.detach().numpy()
            assert a.shape == b.shape, f"item {pos}: shape {a.shape} vs transformers' {b.shape}"
            diff = float(np.max(np.abs(a - b)))
            assert diff <= ATOL, f"item {pos}: max abs diff {diff:.2e}"


def _tiny_tokenizer(directory: Path) -> Any:
    words = "the a cat dog sat on mat ran fast slow red blue big small and or is was ##s ##ed ##ing".split()
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *"abcdefghijklmnopqrstuvwxyz"]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    return transformers.BertTokenizer(str(directory / "vocab.txt"), model_max_length=12), len(vocab)


def test_call_with_torch_tokenizer_output(tmp_path: Path, isa: str) -> None:
    tokenizer, vocab = _tiny_tokenizer(tmp_path)
    config = dict(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=12,
        hidden_act="gelu_new",
    )
    reference = build_reference(tmp_path / "model", config, pooler=True, seed=3)
    model = BertModel.from_pretrained(tmp_path / "model", isa=isa)
    first = ["the cat sat on the mat", "a dog", "big red dogs ran fast and the small blue cats sat", "zzz"]
    second = ["the dog was slow", "cats", "or", "the mat is red and big"]
    for encoded in (
        tokenizer(first, padding=True, truncation=True, return_tensors="pt"),
        tokenizer(first, second, padding=True, truncation=True, return_tensors="pt"),
    ):
        assert isinstance(encoded["input_ids"], torch.Tensor)
        with torch.no_grad():
            want = flatten(reference(**encoded))
        got = flatten(model(**encoded))  # default skip_padding=True: padded positions may come back as 0
        checked = checked_positions({k: v.numpy() for k, v in encoded.items()}, skip_padding=True)
        worst, failures = compare(got, want, f"tokenizer batch {list(encoded['input_ids'].shape)}", checked)
        print(f"torch tokenizer output [{isa}] worst: {worst}")
        assert not failures, "\n".join(failures)
