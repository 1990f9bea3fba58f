"""What the CPU offers, which kernels run, and how many threads to use by default."""

from __future__ import annotations

import math
import os
from typing import Any, Dict, Optional

from . import _core


def _cgroup_cpu_limit() -> Optional[int]:
    """CPUs allowed by a cgroup quota (v2 cpu.max or v1 cfs files), or None without a quota."""
    try:
        with open("/sys/fs/cgroup/cpu.max", encoding="ascii") as f:
            quota, period = f.read().split()[:2]
        if quota != "max" and int(period) > 0:
            return max(1, math.ceil(int(quota) / int(period)))
        return None
    except (OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", encoding="ascii") as f:
            quota_us = int(f.read())
        with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding="ascii") as f:
            period_us = int(f.read())
        if quota_us > 0 and period_us > 0:
            return max(1, math.ceil(quota_us / period_us))
    except (OSError, ValueError):
        pass
    return None


def _omp_num_threads() -> Optional[int]:
    value = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if not value:
        return None
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n > 0 else None


def available_cpus() -> int:
    """CPUs this process may run on: the affinity mask, capped by a cgroup CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        n = min(n, limit)
    return max(1, n)


def default_num_threads() -> int:
    """Threads a model uses when not told: OMP_NUM_THREADS when set, else the CPUs this process may use
    (affinity mask and cgroup quota), not the host's core count."""
    omp = _omp_num_threads()
    return omp if omp is not None else available_cpus()


def cpu_info() -> Dict[str, Any]:
    """What was detected and what runs.

    Returns:
        A dict with ``vendor``, ``brand``, ``features`` (cpuid bits gated by the OS state in XCR0),
        ``supported_isas``, ``best_isa``, ``isa`` (the kernel family models use now: BERTCORE_ISA when set),
        ``num_threads`` (the default thread count), ``available_cpus``, ``openmp`` (whether the build has
        it), ``openmp_version`` (its ``_OPENMP`` date) and ``openmp_runtime`` (the file of the OpenMP
        runtime in use: in a repaired wheel, the copy vendored under ``bertcore.libs``).

    Example:
        >>> bertcore.cpu_info()["isa"]
        'avx512'
    """
    info: Dict[str, Any] = dict(_core.cpu_info())
    info["isa"] = _core.active_isa()
    info["num_threads"] = default_num_threads()
    info["available_cpus"] = available_cpus()
    return info
