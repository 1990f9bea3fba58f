"""CPU detection, kernel-family selection (BERTCORE_ISA) and default thread counts."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import bertcore
from bertcore import _core, cpu
from conftest import SUPPORTED_ISAS


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in ("BERTCORE_ISA", "OMP_NUM_THREADS")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


def test_cpu_info_fields() -> None:
    info = bertcore.cpu_info()
    for key in ("vendor", "brand", "features", "supported_isas", "best_isa", "isa", "num_threads", "openmp"):
        assert key in info
    assert info["supported_isas"][0] == "scalar"
    assert info["best_isa"] == info["supported_isas"][-1]
    assert info["isa"] in info["supported_isas"]
    assert info["num_threads"] >= 1
    f = info["features"]
    if "avx512" in info["supported_isas"]:
        assert f["avx512f"] and f["avx512bw"] and f["avx512dq"] and f["avx512vl"] and f["os_avx512"]
    if "avx2" in info["supported_isas"]:
        assert f["avx2"] and f["fma"] and f["os_avx"]


def test_detection_agrees_with_proc_cpuinfo() -> None:
    """cpuid + XCR0 should agree with what the kernel reports in /proc/cpuinfo."""
    if not os.path.exists("/proc/cpuinfo"):
        pytest.skip("no /proc/cpuinfo")
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        flags_line = next((line for line in fh if line.startswith("flags")), None)
    if flags_line is None:
        pytest.skip("no flags line (not x86)")
    flags = set(flags_line.split(":", 1)[1].split())
    f = bertcore.cpu_info()["features"]
    assert f["avx2"] == ("avx2" in flags)
    assert f["fma"] == ("fma" in flags)
    assert f["avx512f"] == ("avx512f" in flags)
    assert f["avx512bw"] == ("avx512bw" in flags)
    assert f["avx512_bf16"] == ("avx512_bf16" in flags)


def test_bertcore_isa_env_forces_family(isa: str) -> None:
    r = _run("import bertcore; print(bertcore.cpu_info()['isa'])", BERTCORE_ISA=isa.upper())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == isa


def test_bertcore_isa_env_unknown_fails_loudly() -> None:
    r = _run("import bertcore", BERTCORE_ISA="avx1024")
    assert r.returncode != 0
    assert "ValueError" in r.stderr and "avx1024" in r.stderr


def test_bertcore_isa_env_unsupported_fails_loudly() -> None:
    missing = [i for i in ("avx2", "avx512") if i not in SUPPORTED_ISAS]
    if not missing:
        pytest.skip("this CPU supports every family")
    r = _run("import bertcore", BERTCORE_ISA=missing[0])
    assert r.returncode != 0 and "cannot run" in r.stderr


def test_set_isa_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="unknown instruction set"):
        _core.set_isa("sse9")


def test_default_threads_follow_omp_num_threads() -> None:
    r = _run("import bertcore; print(bertcore.default_num_threads())", OMP_NUM_THREADS="3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "3"


def test_default_threads_follow_affinity() -> None:
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs sched_getaffinity and two CPUs")
    code = """
        import os, bertcore
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        print(bertcore.default_num_threads())
    """
    r = _run(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


def test_available_cpus_not_more_than_affinity() -> None:
    if hasattr(os, "sched_getaffinity"):
        assert 1 <= cpu.available_cpus() <= len(os.sched_getaffinity(0))


def test_fma_peak_default_is_the_active_family() -> None:
    """Without ``isa`` the probe measures the active family: within a factor 1.5 of that family's own probe
    (the families' peaks differ by 2x or more on CPUs where they differ at all); bad arguments are refused."""
    active = _core.active_isa()
    default = _core.fma_peak_gflops(num_threads=1, seconds=0.05)
    named = _core.fma_peak_gflops(isa=active, num_threads=1, seconds=0.05)
    assert named / 1.5 < default < named * 1.5, f"default probe {default:.1f} GF/s, {active} {named:.1f} GF/s"
    with pytest.raises(ValueError, match="num_threads"):
        _core.fma_peak_gflops(num_threads=0)
    with pytest.raises(ValueError):
        _core.fma_peak_gflops(isa="sse9")


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc")
def test_thread_pool_is_reused_across_regions() -> None:
    """Every parallel region opens the same team (the model's num_threads), whatever the op's work: GNU libgomp
    ends its surplus pool threads when a region asks for fewer threads than the last and creates new ones when
    the next asks for more, which cost ~250 us per region on a 16-core VM. The tiny model's GEMMs have 2 work
    units and its attention 4 (heads), so team sizes used to alternate and the process's threads changed on
    every call."""
    if not bertcore.cpu_info()["openmp"]:
        pytest.skip("built without OpenMP")
    fixture = os.path.join(os.path.dirname(__file__), "fixtures", "gelu_h32_l2")
    r = _run(
        f"""
        import os, numpy as np, bertcore
        m = bertcore.BertModel.from_pretrained({fixture!r}, num_threads=4)
        ids = np.array([[2, 5, 9, 11, 3, 7, 8, 3]])
        m(ids)
        before = sorted(os.listdir("/proc/self/task"))
        for _ in range(5):
            m(ids)
        after = sorted(os.listdir("/proc/self/task"))
        print(len(before), len(set(after) - set(before)))
        """
    )
    assert r.returncode == 0, r.stderr
    threads, new = map(int, r.stdout.split())
    assert threads >= 4  # the main thread and the 3 OpenMP workers
    assert new == 0, f"{new} threads were created during 5 forward calls: the OpenMP pool is being rebuilt"


def test_openmp_runtime_reported() -> None:
    """cpu_info() names the OpenMP runtime file the core calls (``bertcore info`` prints it)."""
    info = bertcore.cpu_info()
    if not info["openmp"]:
        assert info["openmp_runtime"] is None
        return
    runtime = info["openmp_runtime"]
    assert os.path.isfile(runtime) and "omp" in os.path.basename(runtime), runtime
    assert isinstance(info["openmp_version"], int) and info["openmp_version"] >= 200805
