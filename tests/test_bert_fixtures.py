"""bertcore against transformers' saved outputs for the small random-weight fixtures (no torch needed).

Every fixture under ``tests/fixtures/`` (see ``make_fixtures.py``) is loaded under every kernel family this
CPU supports, run on the fixture's stored inputs, and every output field (last hidden state, pooler,
each hidden state, each attention map, at all positions, padding included) must lie within ``ATOL`` of
transformers' eager float32 outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bertcore._core as C
from bertcore import BertModel

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
FIXTURES = sorted(p.parent.name for p in FIXTURES_DIR.glob("*/expected.npz"))
ISAS = list(C.cpu_info()["supported_isas"])
ATOL = 1e-5
_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")


def test_fixtures_present() -> None:
    if len(FIXTURES) < 8:
        raise AssertionError(f"expected 8 fixtures under {FIXTURES_DIR}, found {FIXTURES}")


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


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_matches_transformers(name: str, isa: str) -> None:
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
        out = model(**inputs, output_attentions=True, output_hidden_states=True, return_dict=True)
        if has_pooler != (out.pooler_output is not None):
            failures.append(f"{case}: pooler_output is {type(out.pooler_output).__name__}, has_pooler={has_pooler}")
        if out.hidden_states is None or len(out.hidden_states) != n_layers + 1:
            failures.append(f"{case}: hidden_states has the wrong count")
            continue
        if out.attentions is None or len(out.attentions) != n_layers:
            failures.append(f"{case}: attentions has the wrong count")
            continue
        for field in _expected_fields(z, case):
            want = z[f"{case}/{field}"]
            got = _actual_field(out, field)
            if got.shape != want.shape or got.dtype != np.float32:
                failures.append(f"{case}/{field}: got {got.dtype}{got.shape}, want float32{want.shape}")
                continue
            diff = float(np.max(np.abs(got.astype(np.float64) - want)))
            if not np.isfinite(diff):
                diff = float("inf")
            key = "hidden_states" if field.startswith("hidden") else "attentions" if field.startswith("att") else field
            worst[key] = max(worst.get(key, 0.0), diff)
            if diff > ATOL:
                failures.append(f"{case}/{field}: max abs diff {diff:.2e} > {ATOL:.0e}")

    report = f"{name} [{isa}] worst: " + ", ".join(f"{k}={v:.2e}" for k, v in worst.items())
    print(report)
    assert not failures, report + "\n" + "\n".join(failures)
