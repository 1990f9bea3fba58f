"""bertcore against transformers' saved outputs for the small random-weight fixtures (no torch needed).

Every fixture under ``tests/fixtures/`` (see ``make_fixtures.py``) is loaded under every kernel family this
CPU supports and run on the fixture's stored inputs, both ways bertcore treats padding:

- ``skip_padding=False`` computes every position as transformers does: every output field (last hidden
  state, pooler, each hidden state, each attention map) must lie within ``ATOL`` of transformers' eager
  float32 outputs at every position, padding included;
- ``skip_padding=True`` (the default) computes only real tokens and position 0: there the fields must match
  the same way (and the pooler everywhere); at the other positions bertcore returns zeros, so a value there
  must be either exactly 0 or transformers' value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bertcore import BertModel

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
FIXTURES = sorted(p.parent.name for p in FIXTURES_DIR.glob("*/expected.npz"))
ATOL = 1e-5
_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")


def test_fixtures_present() -> None:
    assert len(FIXTURES) >= 8, f"expected 8 fixtures under {FIXTURES_DIR}, found {FIXTURES}"


def _expected_fields(z: Any, case: str) -> list[str]:
    n_layers = int(z["num_hidden_layers"])
    fields = ["last_hidden_state"]
    if bool(z["has_pooler"]):
        fields.append("pooler_output")
    fields += [f"hidden_states_{i}" for i in range(n_layers + 1)]
    fields += [f"attentions_{i}" for i in range(n_layers)]
    missing = [f for f in fields if f"{case}/{f}" not in z]
    if missing:
        raise AssertionError(f"expected.npz lacks {case}/{missing}: regenerate the fixtures")
    return fields


def _actual_field(out: Any, field: str) -> np.ndarray:
    if field.startswith("hidden_states_"):
        return np.asarray(out.hidden_states[int(field.rsplit("_", 1)[1])])
    if field.startswith("attentions_"):
        return np.asarray(out.attentions[int(field.rsplit("_", 1)[1])])
    return np.asarray(getattr(out, field))


def _field_diff(field: str, got: np.ndarray, want: np.ndarray, checked: np.ndarray) -> tuple[float, int]:
    """Max |got - want| over the checked positions ([batch, seq] bool; query rows for attention maps), and
    how many unchecked entries are neither exactly 0 nor within ATOL of transformers' value."""
    diff = np.abs(got.astype(np.float64) - want)
    diff[~np.isfinite(diff)] = np.inf
    if field == "pooler_output":
        return float(diff.max()), 0
    where = checked[:, None, :, None] if field.startswith("attentions") else checked[:, :, None]
    where = np.broadcast_to(where, diff.shape)
    worst = float(diff[where].max()) if where.any() else 0.0
    stray = int(np.count_nonzero(~where & (got != 0) & (diff > ATOL)))
    return worst, stray


@pytest.mark.parametrize("skip_padding", [False, True], ids=["dense", "skip_padding"])
@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_matches_transformers(name: str, isa: str, skip_padding: bool) -> None:
    directory = FIXTURES_DIR / name
    with np.load(directory / "expected.npz") as npz:
        z = {k: npz[k] for k in npz.files}
    has_pooler = bool(z["has_pooler"])
    n_layers = int(z["num_hidden_layers"])
    model = BertModel.from_pretrained(directory, add_pooling_layer=has_pooler, isa=isa)

    worst: dict[str, float] = {}
    failures: list[str] = []
    for case in [str(c) for c in z["cases"]]:
        inputs = {k: z[f"{case}/{k}"] for k in _INPUTS if f"{case}/{k}" in z}
        flags = dict(output_attentions=True, output_hidden_states=True, return_dict=True)
        out = model(**inputs, **flags, skip_padding=skip_padding)
        if has_pooler != (out.pooler_output is not None):
            kind = type(out.pooler_output).__name__
            failures.append(f"{case}: pooler_output is {kind}, has_pooler={has_pooler}")
        if out.hidden_states is None or len(out.hidden_states) != n_layers + 1:
            failures.append(f"{case}: hidden_states has the wrong count")
            continue
        if out.attentions is None or len(out.attentions) != n_layers:
            failures.append(f"{case}: attentions has the wrong count")
            continue
        shape = inputs["input_ids"].shape
        checked = np.ones(shape, dtype=bool)
        if skip_padding and "attention_mask" in inputs:
            checked = inputs["attention_mask"] != 0
            checked[:, 0] = True  # position 0 is always computed: the pooler reads it
        for field in _expected_fields(z, case):
            want = z[f"{case}/{field}"]
            got = _actual_field(out, field)
            if got.shape != want.shape or got.dtype != np.float32:
                failures.append(f"{case}/{field}: got {got.dtype}{got.shape}, want float32{want.shape}")
                continue
            diff, stray = _field_diff(field, got, want, checked)
            key = field.rsplit("_", 1)[0] if field[-1].isdigit() else field
            worst[key] = max(worst.get(key, 0.0), diff)
            if diff > ATOL:
                failures.append(f"{case}/{field}: max abs diff {diff:.2e} > {ATOL:.0e}")
            if stray:
                failures.append(f"{case}/{field}: {stray} skipped entries are neither 0 nor transformers'")

    mode = "skip_padding" if skip_padding else "dense"
    report = f"{name} [{isa}, {mode}] worst: " + ", ".join(f"{k}={v:.2e}" for k, v in worst.items())
    print(report)
    assert not failures, report + "\n" + "\n".join(failures)
