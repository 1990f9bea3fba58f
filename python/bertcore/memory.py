"""How much memory this process may still take, so that a batch too large for it is refused with a
``MemoryError`` before anything is allocated: on Linux an allocation beyond what is free usually succeeds
(memory is overcommitted) and the kernel's OOM killer then ends the process as the pages are touched."""

from __future__ import annotations

import resource
from pathlib import Path
from typing import Optional

# Below this a request is not checked (reading /proc costs tens of microseconds a call).
CHECK_ABOVE_BYTES = 64 << 20


def _read_int(path: Path) -> Optional[int]:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _meminfo_available() -> Optional[int]:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom() -> Optional[int]:
    """The memory limit of this process's cgroup (v2, else v1) less its current use; None without a limit."""
    v2 = Path("/sys/fs/cgroup")
    limit, used = _read_int(v2 / "memory.max"), _read_int(v2 / "memory.current")
    if limit is None:
        v1 = v2 / "memory"
        limit, used = _read_int(v1 / "memory.limit_in_bytes"), _read_int(v1 / "memory.usage_in_bytes")
        if limit is not None and limit >= 1 << 60:  # v1 writes "no limit" as a huge number
            limit = None
    if limit is None or used is None:
        return None
    return max(limit - used, 0)


def _address_space_headroom() -> Optional[int]:
    """RLIMIT_AS less the address space in use; None without a limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return max(soft - int(line.split()[1]) * 1024, 0)
    except (OSError, ValueError, IndexError):
        return None
    return None


def available_bytes() -> Optional[int]:
    """The least of the OS's available memory, the cgroup's headroom and the address-space limit's; None
    when none of them can be read (not Linux)."""
    known = [
        v for v in (_meminfo_available(), _cgroup_headroom(), _address_space_headroom()) if v is not None
    ]
    return min(known) if known else None


def check_fits(needed: int, what: str, advice: str) -> None:
    """Raises ``MemoryError`` when ``needed`` bytes exceed what this process may still take.

    Args:
        needed: the bytes the operation would allocate.
        what: the operation, as the message names it ("a batch of 64 x 512 tokens").
        advice: how to make it fit.
    """
    if needed < CHECK_ABOVE_BYTES:
        return
    free = available_bytes()
    if free is not None and needed > free:
        raise MemoryError(
            f"{what} needs about {needed / 2**30:.2f} GiB of memory but only {free / 2**30:.2f} GiB is "
            f"available; {advice}"
        )
