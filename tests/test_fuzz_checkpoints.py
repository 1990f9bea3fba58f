"""Property-based fuzzing of the weight loaders: safetensors (the header length, the header's dtypes, shapes
and data offsets, the data), and ``pytorch_model.bin`` in the zip format (members dropped, renamed, cut,
corrupted, compressed; ``data.pkl``'s opcodes and integers) and the legacy format (pickle opcodes, integers,
storage element counts, bytes).

Each case damages the weights of a valid tiny BERT and loads the directory in a sandboxed child process
(``fuzz_sandbox.py``): it either loads and one call gives outputs of the right shape (finite, when the weights
read back are finite and moderate), or raises ValueError, TypeError or FileNotFoundError; it never crashes,
hangs, raises anything else, or tries to allocate what a header claims. ``test_huge_claims_refused`` checks
the last point without the sandbox: claims of 2**60 bytes or elements are refused at once, RSS unchanged.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest

from conftest import require

if not sys.platform.startswith("linux"):
    pytest.skip("the fuzz sandbox reads /proc and limits memory with setrlimit", allow_module_level=True)
require("hypothesis")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from safetensors.numpy import load_file  # noqa: E402

import bertcore  # noqa: E402

from fuzz_cases import CaseDirs, fuzz_settings, sandbox_fixture  # noqa: E402
from fuzz_bin_mutations import ZIP_FIELDS, ZipEdit, ZipEdits, ZipField, legacy_edits, zip_edits  # noqa: E402
from fuzz_mutations import (  # noqa: E402
    SAFETENSORS_DTYPES,
    ByteEdit,
    ByteEdits,
    HeaderEdits,
    HeaderLength,
    JsonEdit,
    JsonEdits,
    safetensors_edits,
    split_safetensors,
)
from fuzz_sandbox import Sandbox, check_answer, sandbox_env  # noqa: E402
from test_torch_bin import View, state_dict_pickle, write_bin, write_bin_tensors  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "gelu_h32_l2"
HIDDEN = 32
WEIGHT_FILES = {"safetensors": "model.safetensors", "bf16": "model.safetensors", "zip": "pytorch_model.bin",
                "legacy": "pytorch_model.bin"}  # fmt: skip


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    yield from sandbox_fixture(None)


@pytest.fixture(scope="module")
def case_dirs(tmp_path_factory: pytest.TempPathFactory) -> CaseDirs:
    return CaseDirs(tmp_path_factory.mktemp("fuzz"))


def write_bf16_safetensors(path: Path, tensors: Dict[str, np.ndarray]) -> None:
    """A safetensors file of bf16 tensors (the top 16 bits of each float32), written without torch."""
    header: Dict[str, Any] = {}
    data = b""
    for name, value in sorted(tensors.items()):
        bits = (np.ascontiguousarray(value, dtype="<f4").view("<u4") >> 16).astype("<u2").tobytes()
        header[name] = {
            "dtype": "BF16",
            "shape": list(value.shape),
            "data_offsets": [len(data), len(data) + len(bits)],
        }
        data += bits
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


@pytest.fixture(scope="module")
def weight_dirs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """The fixture's weights in each format bertcore reads: safetensors as transformers saved them (F32), bf16
    safetensors (read by bertcore at its own offsets), pytorch_model.bin in the zip and the legacy format."""
    tensors = load_file(str(FIXTURE / "model.safetensors"))
    dirs = {"safetensors": FIXTURE}
    for fmt in ("bf16", "zip", "legacy"):
        path = dirs[fmt] = tmp_path_factory.mktemp(fmt)
        shutil.copy(FIXTURE / "config.json", path / "config.json")
        if fmt == "bf16":
            write_bf16_safetensors(path / WEIGHT_FILES[fmt], tensors)
        else:
            write_bin_tensors(path / WEIGHT_FILES[fmt], tensors, fmt)
    return dirs


def run_case(sandbox: Sandbox, case_dirs: CaseDirs, base: Path, fmt: str, edit: Any) -> str:
    name = WEIGHT_FILES[fmt]
    case = case_dirs.make(base, {name: edit.apply((base / name).read_bytes())})
    answer = sandbox.run("model", case)
    return check_answer(answer, f"{fmt} load of {case} after {edit!r}", expected_shape=(2, None, HIDDEN))


def run_all(sandbox: Sandbox, case_dirs: CaseDirs, base: Path, fmt: str, edits: List[Any]) -> None:
    """Every edit, one case each; the failures reported together."""
    failures = []
    for edit in edits:
        try:
            run_case(sandbox, case_dirs, base, fmt, edit)
        except AssertionError as e:
            failures.append(str(e).split("\n")[0])
    assert not failures, f"{len(failures)} of {len(edits)} cases failed:\n" + "\n".join(failures)


# ---------------------------------------------------------------------------------------------- fuzzing


@pytest.mark.parametrize("fmt", ["safetensors", "bf16"])
@fuzz_settings(60)
@given(data=st.data())
def test_safetensors(
    sandbox: Sandbox, case_dirs: CaseDirs, weight_dirs: Dict[str, Path], fmt: str, data: st.DataObject
) -> None:
    original = (weight_dirs[fmt] / WEIGHT_FILES[fmt]).read_bytes()
    run_case(sandbox, case_dirs, weight_dirs[fmt], fmt, data.draw(safetensors_edits(original), label="edit"))


@fuzz_settings(60)
@given(data=st.data())
def test_bin_zip(
    sandbox: Sandbox, case_dirs: CaseDirs, weight_dirs: Dict[str, Path], data: st.DataObject
) -> None:
    original = (weight_dirs["zip"] / WEIGHT_FILES["zip"]).read_bytes()
    run_case(sandbox, case_dirs, weight_dirs["zip"], "zip", data.draw(zip_edits(original), label="edit"))


@fuzz_settings(60)
@given(data=st.data())
def test_bin_legacy(
    sandbox: Sandbox, case_dirs: CaseDirs, weight_dirs: Dict[str, Path], data: st.DataObject
) -> None:
    original = (weight_dirs["legacy"] / WEIGHT_FILES["legacy"]).read_bytes()
    run_case(
        sandbox, case_dirs, weight_dirs["legacy"], "legacy", data.draw(legacy_edits(original), label="edit")
    )


# --------------------------------------------------------------------------------------------- sweeps
# Cases that random draws reach too rarely: every cut point, every header length, every header field.


@pytest.mark.parametrize("fmt", sorted(WEIGHT_FILES))
def test_every_truncation(
    sandbox: Sandbox, case_dirs: CaseDirs, weight_dirs: Dict[str, Path], fmt: str
) -> None:
    size = (weight_dirs[fmt] / WEIGHT_FILES[fmt]).stat().st_size
    points = sorted({*range(0, 64), *range(0, size, max(1, size // 48)), size - 1})
    run_all(
        sandbox, case_dirs, weight_dirs[fmt], fmt, [ByteEdits((ByteEdit("truncate", n),)) for n in points]
    )


@pytest.mark.parametrize("fmt", ["safetensors", "bf16"])
def test_every_header_length(
    sandbox: Sandbox, case_dirs: CaseDirs, weight_dirs: Dict[str, Path], fmt: str
) -> None:
    raw = (weight_dirs[fmt] / WEIGHT_FILES[fmt]).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    lengths = [0, 1, 2, 7, 8, n - 1, n + 1, n + 8, len(raw) - 8, len(raw) - 7, len(raw), 2**31, 2**32 + n,
               100_000_000, 2**60, 2**63 - 1, 2**63, 2**64 - 1]  # fmt: skip
    run_all(sandbox, case_dirs, weight_dirs[fmt], fmt, [HeaderLength(v) for v in lengths])


def header_values(header: Dict[str, Any], size: int) -> Dict[str, List[Any]]:
    """Values for each field of a safetensors header entry: wrong dtypes, shapes whose product mismatches the
    bytes (or overflows), offsets reversed, overlapping a neighbour, out of the file, huge."""
    spans = sorted(tuple(e["data_offsets"]) for k, e in header.items() if k != "__metadata__")
    offsets = [[0, 0], [4, 0], [-1, 4], [0, 2**60], [2**63, 2**63 + 4], [2**64 - 4, 2**64], [size, size + 4],
               [size - 4, size + 4], [spans[0][0], spans[1][1]], [spans[1][0] - 4, spans[1][1] - 4], [0, 4.5],
               [0], [0, 4, 8], "0-4", None]  # fmt: skip
    shapes = [[], [0], [-1], [1], [2**31], [2**32, 2**32], [2**62, 4], [2**64], [1.5], ["1"], [99, 32],
              [32, 99], [3168], [1, 99, 32], None, "99x32"]  # fmt: skip
    return {"dtype": [*SAFETENSORS_DTYPES, None, 4, ["F32"]], "shape": shapes, "data_offsets": offsets}


@pytest.mark.parametrize("fmt", ["safetensors", "bf16"])
def test_every_header_field(
    sandbox: Sandbox, case_dirs: CaseDirs, weight_dirs: Dict[str, Path], fmt: str
) -> None:
    """The word embeddings (the first tensor's bytes), a LayerNorm bias (a vector) and the last tensor's
    entries: every field set to every value of ``header_values``, and deleted; the entry deleted."""
    raw = (weight_dirs[fmt] / WEIGHT_FILES[fmt]).read_bytes()
    header, data = split_safetensors(raw)
    by_start = sorted((e["data_offsets"][0], k) for k, e in header.items() if k != "__metadata__")
    names = {by_start[0][1], by_start[-1][1], "embeddings.LayerNorm.bias"} & set(header)
    edits: List[Any] = []
    for name in sorted(names):
        edits.append(HeaderEdits(JsonEdits((JsonEdit("delete", (name,)),))))
        for field, values in header_values(header, len(data)).items():
            edits.append(HeaderEdits(JsonEdits((JsonEdit("delete", (name, field)),))))
            edits += [HeaderEdits(JsonEdits((JsonEdit("set", (name, field), v),))) for v in values]
    run_all(sandbox, case_dirs, weight_dirs[fmt], fmt, edits)


@pytest.mark.parametrize("compressed", [False, True])
def test_every_zip_field(
    sandbox: Sandbox, case_dirs: CaseDirs, weight_dirs: Dict[str, Path], compressed: bool, tmp_path: Path
) -> None:
    """Every size, offset and count field of the zip records of data.pkl and of the first storage (stored, or
    deflated), set to sizes around the file's and to 2**31 - 1 and 2**32 - 1."""
    base = weight_dirs["zip"]
    if compressed:
        base = tmp_path / "deflated"
        shutil.copytree(weight_dirs["zip"], base)
        names = ZipEdits((ZipEdit("deflate", "archive/data/0"), ZipEdit("deflate", "archive/data.pkl")))
        (base / "pytorch_model.bin").write_bytes(names.apply((base / "pytorch_model.bin").read_bytes()))
    size = (base / "pytorch_model.bin").stat().st_size
    values = [0, 1, size // 2, size - 1, size, size + 1, 2**31 - 1, 2**32 - 1]
    edits = [ZipField(f, i, v) for f in sorted(ZIP_FIELDS) for i in (0, 2) for v in values]
    run_all(sandbox, case_dirs, base, "zip", edits)


# ----------------------------------------------------------------------------------------- huge claims

HUGE_CLAIMS_CHILD = r"""
import json, resource, sys, time
import bertcore

def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))

bertcore.AutoModel.from_pretrained(sys.argv[1], num_threads=1)  # warm: imports, arenas, the core
limit = status("VmSize") + (256 << 20)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # the peak RSS restarts from here
    before = status("VmRSS")
except OSError:  # not allowed here: then only a new peak shows
    before = status("VmHWM")
results = []
for path in sys.argv[2:]:
    start = time.perf_counter()
    try:
        bertcore.AutoModel.from_pretrained(path, num_threads=1)
        outcome, chain = "loaded", []
    except BaseException as e:
        outcome, chain, node = f"{type(e).__name__}: {e}", [], e
        while node is not None and len(chain) < 8:
            chain.append(type(node).__name__)
            node = node.__cause__ or node.__context__
    results.append([path, outcome, chain, time.perf_counter() - start])
print(json.dumps({"results": results, "peak_growth": status("VmHWM") - before}))
"""


def huge_claim_dirs(root: Path, weight_dirs: Dict[str, Path]) -> Dict[str, Path]:
    """Model directories whose weights claim 2**60 bytes or elements, each in one way."""
    cases: Dict[str, bytes] = {}
    raw = (weight_dirs["safetensors"] / "model.safetensors").read_bytes()
    cases["safetensors header length 2**60"] = HeaderLength(2**60).apply(raw)
    header, _ = split_safetensors(raw)
    word = "embeddings.word_embeddings.weight"
    start = header[word]["data_offsets"][0]
    claim = {"dtype": "F32", "shape": [2**28, 2**30], "data_offsets": [start, start + 2**60]}
    cases["safetensors tensor of 2**60 bytes"] = HeaderEdits(
        JsonEdits((JsonEdit("set", (word,), claim),))
    ).apply(raw)

    class Claim:  # a storage as state_dict_pickle reads it: 2**60 float32 elements
        dtype, size = np.dtype(np.float32), 2**60

    for fmt in ("zip", "legacy"):
        path = root / f"{fmt}.bin"
        claims: Dict[str, Any] = {"0": Claim()}
        pkl = state_dict_pickle(claims, {word: ("0", 0, [2**60], [1])}, legacy=fmt == "legacy")
        write_bin(path, {"0": np.zeros(4, np.float32)}, {}, fmt, data_pkl=pkl)
        cases[f"{fmt} .bin storage of 2**60 elements"] = path.read_bytes()
        bytes8 = b"\x80\x04\x8e" + struct.pack("<Q", 2**60) + b"abc."  # BINBYTES8 claiming 2**60 bytes
        write_bin(path, {"0": np.zeros(4, np.float32)}, {}, fmt, data_pkl=bytes8)
        cases[f"{fmt} .bin pickle bytes of 2**60"] = path.read_bytes()
    legacy = (weight_dirs["legacy"] / "pytorch_model.bin").read_bytes()
    stored = sum(8 + v.nbytes for v in load_file(str(FIXTURE / "model.safetensors")).values())
    first = len(legacy) - stored  # the first storage's int64 element count, then its data, then the next
    cases["legacy .bin storage count 2**60"] = legacy[:first] + struct.pack("<q", 2**60) + legacy[first + 8 :]
    dirs = {}
    for i, (what, data) in enumerate(cases.items()):
        path = dirs[what] = root / f"claim{i}"
        path.mkdir()
        shutil.copy(FIXTURE / "config.json", path / "config.json")
        (path / ("model.safetensors" if what.startswith("safetensors") else "pytorch_model.bin")).write_bytes(
            data
        )
    return dirs


def load_in_child(dirs: List[Path]) -> Dict[str, Any]:
    """Loads each directory in a fresh child process (HUGE_CLAIMS_CHILD): what each load gave, and how far the
    peak RSS rose above the warmed-up child's RSS over all of them."""
    proc = subprocess.run(
        [sys.executable, "-c", HUGE_CLAIMS_CHILD, str(FIXTURE), *map(str, dirs)],
        capture_output=True,
        text=True,
        timeout=120,
        env=sandbox_env(),
    )
    assert proc.returncode == 0, proc.stderr
    report: Dict[str, Any] = json.loads(proc.stdout)
    return report


def test_huge_claims_refused(tmp_path: Path, weight_dirs: Dict[str, Path]) -> None:
    """A header (safetensors length, a tensor's size), a storage (its pickled or stored element count) or a
    pickle opcode that claims 2**60 bytes or elements is refused with ValueError within seconds (milliseconds,
    in fact), without trying to allocate it (no MemoryError under a 256 MiB address-space margin, and the
    peak RSS unchanged)."""
    dirs = huge_claim_dirs(tmp_path, weight_dirs)
    report = load_in_child(list(dirs.values()))
    names = {str(path): what for what, path in dirs.items()}
    for path, outcome, chain, seconds in report["results"]:
        what = names[path]
        assert outcome.startswith("ValueError: "), f"{what}: {outcome}"
        assert "MemoryError" not in chain, f"{what}: tried to allocate the claim ({chain}): {outcome}"
        assert seconds < 2.0, f"{what}: {seconds:.2f} s"
    assert report["peak_growth"] < 32 << 20, report["peak_growth"]


def test_deflated_storage_inflated_only_as_far_as_its_tensor(tmp_path: Path) -> None:
    """A deflated zip member holding a small tensor at the start of a 64 MiB storage (a few KiB in the file)
    loads, with the outputs of the plain checkpoint, without inflating the whole storage: the shapes are
    checked against config.json before anything is read, then only the bytes the tensor spans are."""
    tensors = load_file(str(FIXTURE / "model.safetensors"))
    word = "embeddings.word_embeddings.weight"
    storages = {str(i): np.ascontiguousarray(v).reshape(-1) for i, v in enumerate(tensors.values())}
    views: Dict[str, View] = {}  # each tensor over the whole of its own storage, as write_bin_tensors writes
    for i, (name, v) in enumerate(tensors.items()):
        views[name] = (str(i), 0, v.shape, [int(np.prod(v.shape[j + 1 :])) for j in range(v.ndim)])
    key = views[word][0]
    storages[key] = np.concatenate([storages[key], np.zeros((64 << 20) // 4, np.float32)])
    path = tmp_path / "bomb"
    path.mkdir()
    shutil.copy(FIXTURE / "config.json", path / "config.json")
    write_bin(path / "pytorch_model.bin", storages, views)
    deflate = ZipEdits((ZipEdit("deflate", f"archive/data/{key}"),))
    (path / "pytorch_model.bin").write_bytes(deflate.apply((path / "pytorch_model.bin").read_bytes()))
    assert (path / "pytorch_model.bin").stat().st_size < 1 << 20
    report = load_in_child([path])
    assert report["results"][0][1] == "loaded", report
    assert report["peak_growth"] < 32 << 20, report["peak_growth"]
    ids = np.array([[2, 5, 9, 11]])
    got: Any = bertcore.BertModel.from_pretrained(path)(ids)
    want: Any = bertcore.BertModel.from_pretrained(FIXTURE)(ids)
    np.testing.assert_array_equal(got.last_hidden_state, want.last_hidden_state)
