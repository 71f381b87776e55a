"""Coverage arithmetic for any size: the O(log) answers against brute force on small axes, and
huge axes (up to 10^18) answered with little memory and time.

Brute force = the taps of every window, listed (the definition); the PyTorch gradient oracle of
``test_coverage.py`` checks the same answers against a framework.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.geometry import (
    PaddingError,
    avg_divisor,
    avg_divisors,
    conv_axis,
    conv_transpose_axis,
    full_divisors,
    pool_axis,
)
from padstride.geometry.coverage import Hits, floor_sum

from ._oracle import oracle_settings


def brute_reads(ax) -> list[int]:
    counts = [0] * ax.input
    for j in range(ax.output):
        for i in ax.taps(j):
            if 0 <= i < ax.input:
                counts[i] += 1
    return counts


@oracle_settings(300)
@given(st.integers(0, 30), st.integers(1, 40), st.integers(-50, 50), st.integers(-50, 80))
def test_floor_sum_matches_loop(n: int, m: int, a: int, b: int) -> None:
    assert floor_sum(n, m, a, b) == sum((a * i + b) // m for i in range(n))


@oracle_settings(600)
@given(st.integers(1, 60), st.integers(1, 7), st.integers(1, 9), st.integers(1, 6), st.integers(-5, 12),
       st.integers(-5, 12))
def test_window_coverage_matches_brute_force(n: int, k: int, s: int, d: int, before: int, after: int) -> None:
    try:
        ax = conv_axis(n, k, s, (before, after), d)
    except PaddingError:
        return
    counts = brute_reads(ax)
    unread = [i for i, c in enumerate(counts) if c == 0]
    cfg = (n, k, s, d, before, after)
    assert [ax.read_count(i) for i in range(n)] == counts, cfg
    assert list(ax.read_counts()) == counts, cfg
    assert list(ax.dropped) == unread and ax.dropped_count == len(unread), cfg
    first = next((i for i, c in enumerate(counts) if c), n)
    last = next((i for i, c in enumerate(reversed(counts)) if c), n)
    assert ax.never_read() == (first, last, max(len(unread) - first - last, 0)), cfg
    for limit in (1, 3, 20):
        sample = ax.dropped_sample(limit)
        assert sample.count == len(unread)
        assert list(sample.head) == unread[:limit], cfg
        assert list(sample.tail) == unread[len(sample.head):][-limit:] if sample.tail else True, cfg
        assert set(sample.head + sample.tail) <= set(unread)
        assert sample.complete == (len(unread) <= 2 * limit)
    assert [ax.real_cells(j) for j in range(ax.output)] == [
        sum(0 <= i < n for i in ax.taps(j)) for j in range(ax.output)], cfg
    row = ax.to_dict()
    assert row["dropped"] == unread[:20] and row["dropped_count"] == len(unread)


@oracle_settings(300)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(1, 6), st.integers(-3, 6), st.integers(0, 1),
       st.booleans())
def test_pool_divisors_arithmetic(n: int, k: int, s: int, pad: int, ceil: int, include: bool) -> None:
    try:
        ax = pool_axis(n, k, s, (max(pad, 0), max(pad, 0)), ceil_mode=bool(ceil))
    except PaddingError:
        return
    lo_limit, hi_limit = (-ax.pad_before, n + ax.pad_after) if include else (0, n)
    brute = [sum(lo_limit <= i < hi_limit for i in ax.taps(j)) for j in range(ax.output)]
    assert list(avg_divisors(ax, include)) == brute
    assert [avg_divisor(ax, j, include) for j in range(ax.output)] == brute
    assert full_divisors(ax, include) == all(v == k for v in brute)


@oracle_settings(400)
@given(st.integers(1, 25), st.integers(1, 6), st.integers(1, 5), st.integers(1, 4), st.integers(-4, 15),
       st.integers(-4, 15))
def test_transposed_coverage_matches_brute_force(n: int, k: int, s: int, d: int, before: int, after: int) -> None:
    try:
        ax = conv_transpose_axis(n, k, s, (before, after), output_padding=0, dilation=d)
    except PaddingError:
        return
    writes = [0] * ax.output
    dropped = []
    for i in range(n):
        inside = [o for o in ax.targets(i) if 0 <= o < ax.output]
        for o in inside:
            writes[o] += 1
        if not inside:
            dropped.append(i)
    cfg = (n, k, s, d, before, after)
    assert list(ax.write_counts()) == writes, cfg
    assert [ax.write_count(o) for o in range(ax.output)] == writes, cfg
    assert list(ax.dropped) == dropped and ax.dropped_count == len(dropped), cfg


def test_hits_unread_of_a_stride_gap() -> None:
    hits = Hits(sources=333_333_333, kernel=1, stride=3, dilation=1, before=0)
    sample = hits.unread(1_000_000_000, limit=20)
    assert sample.count == 666_666_667 and sample.head[:4] == (1, 2, 4, 5)
    assert str(sample).startswith("666,666,667 pixels: 1, 2, 4, 5, 7")


HUGE = [
    (10**18, 3, 2, "same", 1),
    (10**18, 3, 2, "valid", 1),
    (10**18 + 7, 5, 7, "valid", 3),
    (10**18, 2, 10**9, (0, 0), 10**6),
    (10**12, 3, 2, "same", 1),
    (999_999_999_989, 4, 6, (3, -2), 5),
    (10**18, 10**17, 3, "same", 2),
]


def _ask(n: int, k: int, s: int, padding: object, d: int) -> tuple[object, ...]:
    ax = conv_axis(n, k, s, padding, d)
    pool = pool_axis(n, k, s, padding if padding != "same" else "same", 1) if d == 1 else None
    t = conv_transpose_axis(n, k, s, 0, output_padding=0, dilation=d)
    return (ax.never_read(), ax.dropped_count, str(ax.dropped_sample()), ax.to_dict()["dropped_count"],
            ax.read_count(n // 2), ax.real_cells(ax.output - 1),
            None if pool is None else (avg_divisor(pool, pool.output - 1, False), full_divisors(pool, True)),
            t.dropped_count, t.write_count(n), t.to_dict()["dropped_count"])


def test_huge_axes_use_little_memory() -> None:
    tracemalloc.start()
    try:
        for cfg in HUGE:
            _ask(*cfg)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, f"peak {peak:,} bytes"


def test_huge_axes_answer_in_a_subprocess_quickly() -> None:
    code = textwrap.dedent("""
        from tests.geometry.test_bounded import HUGE, _ask
        for _ in range(3):
            for cfg in HUGE:
                _ask(*cfg)
        print("ok")
    """)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_huge_known_answers() -> None:
    ax = conv_axis(10**18, 3, 2)
    assert ax.never_read() == (0, 1, 0) and ax.dropped == (10**18 - 1,)
    gaps = conv_axis(10**12, 1, 3)
    assert gaps.dropped_count == 10**12 - gaps.output == 666_666_666_666
    with pytest.raises(PaddingError, match="limit"):
        gaps.dropped  # noqa: B018 - 6.7e11 indices are refused, not allocated
    with pytest.raises(PaddingError, match="limit"):
        gaps.read_counts()


@oracle_settings(200)
@given(st.integers(1, 30), st.integers(1, 4), st.integers(1, 4), st.integers(-3, 40), st.integers(-3, 40),
       st.integers(1, 6))
def test_transposed_dropped_sample(n: int, k: int, s: int, before: int, after: int, limit: int) -> None:
    try:
        ax = conv_transpose_axis(n, k, s, (before, after), output_padding=0)
    except PaddingError:
        return
    dropped = list(ax.dropped)
    sample = ax.dropped_sample(limit)
    assert sample.count == len(dropped) and list(sample.head) == dropped[:limit]
    rest = dropped[len(sample.head):]
    assert list(sample.tail) == (rest[-limit:] if rest else [])
