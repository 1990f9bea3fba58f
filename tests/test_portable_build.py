"""The portable build: only the scalar kernels (what a non-x86 machine compiles), built from this source tree
with BERTCORE_SCALAR_ONLY=ON, must compile warning-free of ISA flags and give the installed build's results."""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bertcore
from native_build import ROOT, build_module, configure, package_with


@pytest.mark.slow
def test_scalar_only_build(tmp_path: Path) -> None:
    rules = configure(tmp_path / "build", "-DBERTCORE_SCALAR_ONLY=ON")
    assert "-mavx" not in rules, "the scalar-only build must not use ISA flags"
    # No -march at all: the build never tunes for the machine it runs on; ISA flags go only on the per-ISA files.
    assert "-march=" not in rules, "the build must not tune for the build machine"
    package = package_with(build_module(tmp_path / "build"), tmp_path / "pkg")

    fixture = ROOT / "tests" / "fixtures" / "gelu_h32_l2"
    code = (
        "import numpy as np, bertcore\n"
        "info = bertcore.cpu_info()\n"
        "assert info['supported_isas'] == ['scalar'], info\n"
        f"m = bertcore.BertModel.from_pretrained({str(fixture)!r})\n"
        "ids = np.array([[2, 5, 9, 11, 3, 0], [2, 7, 7, 7, 1, 3]])\n"
        "np.save('out.npy', m(ids, attention_mask=(ids > 0).astype(int)).last_hidden_state)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "BERTCORE_ISA"}
    env["PYTHONPATH"] = str(package)
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    env["BERTCORE_ISA"] = "avx2"
    r = subprocess.run(
        [sys.executable, "-c", "import bertcore"], env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode != 0 and "cannot run" in r.stderr  # a family the build lacks fails loudly

    ids = np.array([[2, 5, 9, 11, 3, 0], [2, 7, 7, 7, 1, 3]])
    ref = bertcore.BertModel.from_pretrained(fixture, isa="scalar")(ids, attention_mask=(ids > 0).astype(int))
    assert np.array_equal(np.load(tmp_path / "out.npy"), ref.last_hidden_state)


def _vector_stack_stores(asm: str, function: str, op: str = "vfmadd") -> tuple[int, int]:
    """(FMAs, stores of a vector register to the stack) in the assembly of every function whose name holds
    ``function``."""
    fmas = stores = 0
    inside = False
    for line in asm.splitlines():
        if line and not line[0].isspace() and line.endswith(":") and not line.startswith("."):
            inside = function in line
        elif inside:
            text = line.strip()
            fmas += text.startswith(op)
            if re.match(r"vmov\w*\s+%[yz]mm\d+,\s*-?\d*\(%[re](sp|bp)\)", text):
                stores += 1
    return fmas, stores


# (source file, function, its multiply-add instruction, how many of them the tile has at least)
TILES = [
    ("gemm_avx2.cc", "gemm_ukernel_nv", "vfmadd", 12),
    ("gemm_avx512.cc", "gemm_ukernel_nv", "vfmadd", 24),
    ("lowp_avx2.cc", "gemm_i8_impl", "vpmaddubsw", 8),
    ("lowp_avx2.cc", "gemm_bf16_impl", "vfmadd", 16),
    ("lowp_avx512_vnni.cc", "gemm_i8_impl", "vpdpbusd", 24),
    ("lowp_avx512_bf16.cc", "gemm_bf16_impl", "vdpbf16ps", 24),
    ("lowp_avx512.cc", "gemm_i8_impl", "vpmaddubsw", 24),
]


@pytest.mark.slow
@pytest.mark.parametrize("source,function,op,count", TILES, ids=[f"{t[0]}:{t[1]}" for t in TILES])
def test_gemm_tile_stays_in_registers(
    tmp_path: Path, source: str, function: str, op: str, count: int
) -> None:
    """Each GEMM register tile, compiled by this machine's compiler with the build's own flags, keeps its
    accumulators in registers: no vector register is ever stored to the stack. GCC 13 once kept the fp32 tile
    addressable and stored all 24 accumulators on every k step, at 40% of the speed, and a lambda in the
    int8 tile's epilogue did the same under GCC 12; this catches that for whatever compiler builds the wheel."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the vector kernels are built on x86-64 only")
    build = tmp_path / "build"
    configure(build, "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON")
    (entry,) = [
        e for e in json.loads((build / "compile_commands.json").read_text()) if e["file"].endswith(source)
    ]
    args = shlex.split(entry["command"])
    out = args.index("-o")
    del args[out : out + 2]
    args.remove("-c")
    asm = tmp_path / "gemm.s"
    subprocess.run([*args, "-S", "-o", str(asm)], cwd=entry["directory"], check=True, capture_output=True,
                   text=True, timeout=300)  # fmt: skip
    fmas, stores = _vector_stack_stores(asm.read_text(), function, op)
    assert fmas >= count, f"the tile's {op} instructions were not found in the assembly"
    assert stores == 0, (
        f"{source}: the compiler stores vector registers of the GEMM tile to the stack ({stores} stores)"
    )
