"""Every test here runs under a memory cap: a regression (a YAML bomb expanded, a 10^12 sweep planned)
fails with MemoryError instead of taking the shared machine's memory."""

from __future__ import annotations

import resource

import pytest

HEADROOM = 4 << 30  # bytes of address space a test may add to what the process already maps


def _mapped() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


@pytest.fixture(autouse=True)
def memory_cap():
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _mapped() + HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
