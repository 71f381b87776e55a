"""Which indices a sliding window reads, by arithmetic: O(log) per question for any axis length.

Window ``j`` (``0 ≤ j < sources``) hits the indices ``j·stride − before + t·dilation`` for
``t < kernel``. A hit set is a rectangle of pairs ``(j, t)`` mapped by ``x = j·s + t·d``; two pairs
map to the same index exactly when they differ by a multiple of ``(d', −s')`` with
``g = gcd(s, d)``, ``s' = s/g``, ``d' = d/g``. So the *distinct* indices up to ``X`` are the pairs
up to ``X`` that start such a chain (``j < d'`` or ``t ≥ kernel − s'``), and every count is a
lattice-point count under a line: a floor sum (the Euclid-like algorithm), never a loop over
pixels.

>>> c = Hits(sources=3, kernel=3, stride=2, dilation=1, before=0)   # conv_axis(8, 3, stride=2)
>>> c.distinct(0, 7), c.count(0, 7), c.multiplicity(2)
(7, 9, 2)
>>> c.unread(8).head, c.unread(8).count
((7,), 1)
>>> big = Hits(sources=333_333_333, kernel=1, stride=3, dilation=1, before=0)
>>> str(big.unread(1_000_000_000, limit=3))
'666,666,667 pixels: 1, 2, 4, …, 999999997, 999999998, 999999999'
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LIST_LIMIT", "SAMPLE", "Hits", "IndexSample", "floor_sum", "sample_runs"]

#: Longest per-pixel list (read counts, dropped indices) the geometry builds when asked for one.
LIST_LIMIT = 1_000_000

#: Indices shown at each end of a sample (``first 20 of 333,333,333``).
SAMPLE = 20


def floor_sum(n: int, m: int, a: int, b: int) -> int:
    """``Σ_{i<n} ⌊(a·i + b)/m⌋`` for ``n ≥ 0``, ``m ≥ 1``, any ``a``, ``b``: O(log m) steps.

    >>> floor_sum(5, 3, 2, 1) == sum((2 * i + 1) // 3 for i in range(5))
    True
    """
    total = 0
    if a < 0 or a >= m:
        total += (n * (n - 1) // 2) * (a // m)
        a %= m
    if b < 0 or b >= m:
        total += n * (b // m)
        b %= m
    while n > 0:
        if a >= m:
            total += (n * (n - 1) // 2) * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        y_max = a * n + b
        if y_max < m:
            break
        n, b = y_max // m, y_max % m
        m, a = a, m
    return total


def _pairs_le(rows: int, cols: int, s: int, d: int, x: int) -> int:
    """Pairs ``(j, t)`` of ``[0, rows) × [0, cols)`` with ``j·s + t·d ≤ x`` (``s, d ≥ 1``)."""
    if rows <= 0 or cols <= 0 or x < 0:
        return 0
    full = min(max((x - (cols - 1) * d) // s + 1, 0), rows)  # rows whose every column fits
    some = min(x // s + 1, rows)  # rows with column 0 fitting
    m = some - full
    if m <= 0:
        return full * cols
    # rows full … some−1, reversed (i = some−1−j): ⌊(x − (some−1)·s + i·s)/d⌋ + 1 columns each
    return full * cols + floor_sum(m, d, s, x - (some - 1) * s) + m


@dataclass(frozen=True)
class IndexSample:
    """A set of indices as its size and both ends: the first and last ``limit`` members.

    >>> s = IndexSample(5, (0, 1), (8, 9))
    >>> str(s), s.to_dict()["count"]
    ('5 pixels: 0, 1, …, 8, 9', 5)
    """

    count: int
    head: tuple[int, ...]
    tail: tuple[int, ...] = ()

    @property
    def complete(self) -> bool:
        """True when ``head`` (+ ``tail``) lists every member."""
        return len(self.head) + len(self.tail) >= self.count

    def __str__(self) -> str:
        if not self.count:
            return "none"
        items = (*self.head, *self.tail)
        if not items:
            return f"{self.count:,} pixels"
        if self.complete and self.count <= 8:
            return ", ".join(map(str, items))
        head, tail = (items[:4], items[-1:]) if self.complete else (self.head, self.tail)
        body = ", ".join(map(str, head)) + (", …, " + ", ".join(map(str, tail)) if tail else ", …")
        return f"{self.count:,} pixels: {body}"

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "first": list(self.head), "last": list(self.tail),
                "complete": self.complete}


def sample_runs(runs: tuple[range, ...], limit: int = SAMPLE) -> IndexSample:
    """An :class:`IndexSample` of indices given as increasing, disjoint ranges (O(runs + limit)).

    >>> str(sample_runs((range(0, 3), range(10**12 - 2, 10**12)), limit=2))
    '5 pixels: 0, 1, …, 999999999998, 999999999999'
    """
    count = sum(len(r) for r in runs)
    head: list[int] = []
    for r in runs:
        head.extend(r[: limit - len(head)])
    rest = min(limit, count - len(head))
    tail: list[int] = []
    for r in reversed(runs):
        if len(tail) >= rest:
            break
        tail[:0] = r[max(len(r) - (rest - len(tail)), 0):]
    return IndexSample(count, tuple(head), tuple(tail[len(tail) - rest:]) if rest else ())


@dataclass(frozen=True)
class Hits:
    """The hits of ``sources`` windows (or transposed inputs) on a line of indices.

    ``x = j·stride − before + t·dilation`` for ``0 ≤ j < sources``, ``0 ≤ t < kernel``.
    """

    sources: int
    kernel: int
    stride: int
    dilation: int
    before: int
    _g: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_g", math.gcd(self.stride, self.dilation))

    def _le(self, x: int) -> int:
        """Hits (with multiplicity) at indices ``≤ x``."""
        return _pairs_le(self.sources, self.kernel, self.stride, self.dilation, x + self.before)

    def _distinct_le(self, x: int) -> int:
        """Distinct indices ``≤ x`` hit at least once: pairs that start a chain (see module doc)."""
        s, d, k, rows = self.stride, self.dilation, self.kernel, self.sources
        dp, sp = d // self._g, s // self._g
        x += self.before
        first = _pairs_le(min(rows, dp), k, s, d, x)
        t0 = max(k - sp, 0)
        rest = _pairs_le(rows - dp, k - t0, s, d, x - dp * s - t0 * d) if rows > dp else 0
        return first + rest

    def count(self, lo: int, hi: int) -> int:
        """Hits, with multiplicity, on indices ``lo … hi``."""
        return self._le(hi) - self._le(lo - 1) if hi >= lo else 0

    def distinct(self, lo: int, hi: int) -> int:
        """Indices of ``lo … hi`` hit at least once."""
        return self._distinct_le(hi) - self._distinct_le(lo - 1) if hi >= lo else 0

    def multiplicity(self, i: int) -> int:
        """Hits on index ``i``."""
        return self._le(i) - self._le(i - 1)

    def first_hit(self, lo: int, hi: int) -> int | None:
        """Smallest hit index in ``lo … hi`` (None when there is none)."""
        base = self._distinct_le(lo - 1)
        if self._distinct_le(hi) == base:
            return None
        while lo < hi:  # invariant: a hit in lo … hi
            mid = (lo + hi) // 2
            if self._distinct_le(mid) > base:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def last_hit(self, lo: int, hi: int) -> int | None:
        """Largest hit index in ``lo … hi`` (None when there is none)."""
        top = self._distinct_le(hi)
        if self._distinct_le(lo - 1) == top:
            return None
        while lo < hi:  # invariant: a hit in lo … hi
            mid = (lo + hi + 1) // 2
            if self._distinct_le(mid - 1) < top:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _nth_unread(self, n: int, k: int) -> int:
        """The ``k``-th (0-based) index of ``[0, n)`` hit by nothing (it must exist)."""
        lo, hi = 0, n - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if mid + 1 - self.distinct(0, mid) > k:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def unread_iter(self, n: int, reverse: bool = False) -> Iterator[int]:
        """Indices of ``[0, n)`` hit by nothing, in order (or reversed); O(log) per index."""
        total = n - self.distinct(0, n - 1)
        order = range(total - 1, -1, -1) if reverse else range(total)
        prev: int | None = None
        for k in order:
            guess = None if prev is None else prev + (-1 if reverse else 1)
            if guess is not None and 0 <= guess < n and self.multiplicity(guess) == 0:
                prev = guess  # runs of unread indices: the neighbour, without a search
            else:
                prev = self._nth_unread(n, k)
            yield prev

    def unread(self, n: int, limit: int = SAMPLE) -> IndexSample:
        """The indices of ``[0, n)`` that nothing hits: their number and the first/last ``limit``."""
        total = n - self.distinct(0, n - 1)
        head = tuple(_take(self.unread_iter(n), min(limit, total)))
        tail_n = min(limit, total - len(head))
        tail = tuple(reversed(tuple(_take(self.unread_iter(n, reverse=True), tail_n))))
        return IndexSample(total, head, tail)

    def sources_with_hits(self, lo: int, hi: int) -> tuple[int, int] | int:
        """Sources with at least one hit in ``lo … hi``: a range ``(first, stop)`` of them when the
        range is at least ``dilation`` long (no progression can jump over it), else their number."""
        s, d, k, b = self.stride, self.dilation, self.kernel, self.before
        if hi - lo + 1 < d:  # each source hits the range at most once
            return self.count(lo, hi)
        # source j hits iff j·s − b ≤ hi and j·s − b + (k−1)·d ≥ lo
        first = max(-((-(lo + b - (k - 1) * d)) // s), 0)
        stop = min((hi + b) // s + 1, self.sources)
        return (first, max(stop, first))


def _take(items: Iterator[int], n: int) -> Iterator[int]:
    for _, item in zip(range(n), items, strict=False):
        yield item
