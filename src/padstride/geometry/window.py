"""Per-axis geometry of a sliding window (convolution or pooling) and its N-D bundle.

>>> w = conv_axis(7, 3, stride=2)
>>> (w.output, w.pads, w.dropped)
(3, (0, 0), ())
>>> conv_axis(8, 3, stride=2).dropped
(7,)
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

from .axes import infer_ndim, per_axis
from .coverage import LIST_LIMIT, SAMPLE, Hits, IndexSample, sample_runs
from .errors import PaddingError
from .padding import AxisPad, Padding, check_window_args, effective_kernel, resolve_axis

__all__ = ["AxisBase", "AxisT", "AxisWindow", "Geometry", "conv", "conv_axis", "window_output"]


def window_output(
    n: int, span: int, stride: int, before: int, after: int, axis: int = 0, how: str = "valid"
) -> int:
    """Number of windows of ``span`` at ``stride`` that fit the padded input (floor rule)."""
    padded = n + before + after
    if padded < span:
        raise PaddingError(f"axis {axis}: {_spans(span)} > padded input {padded} under {how}")
    return (padded - span) // stride + 1


def _spans(span: int, kernel: int | None = None, dilation: int | None = None) -> str:
    if kernel is None or dilation is None:
        return f"window spans {span}"
    head = f"kernel {kernel}" + (f" with dilation {dilation}" if dilation != 1 else "")
    return f"{head} spans {span}"


@dataclass(frozen=True)
class AxisBase:
    """Fields shared by a window axis and a transposed axis: sizes and per-side pads."""

    input: int
    kernel: int
    stride: int
    dilation: int
    pad_before: int
    pad_after: int
    output: int
    convention: str = "valid"

    @property
    def span(self) -> int:
        """Effective kernel ``d·(k−1)+1``."""
        return effective_kernel(self.kernel, self.dilation)

    @property
    def pads(self) -> tuple[int, int]:
        return (self.pad_before, self.pad_after)

    def _hits(self, j: int) -> tuple[int, ...]:
        """``j·stride − pad_before + t·dilation`` for ``t < kernel``: what window ``j`` reads (a
        convolution), or where input ``j`` writes (a transposed convolution)."""
        base = j * self.stride - self.pad_before
        return tuple(base + t * self.dilation for t in range(self.kernel))

    def _coverage(self, sources: int) -> Hits:
        """The hits of ``sources`` windows (or inputs), as arithmetic (:mod:`.coverage`)."""
        return Hits(sources, self.kernel, self.stride, self.dilation, self.pad_before)

    def _hit_counts(self, sources: int, targets: int) -> tuple[int, ...]:
        """How many hits of sources ``0 … sources−1`` land on each index of ``[0, targets)``.

        Each source hits every ``dilation``-th index of a span, so one difference array per
        residue class modulo ``dilation`` counts them in O(sources + targets). A list longer than
        :data:`~.coverage.LIST_LIMIT` is refused: ask for counts of single indices instead.
        """
        _check_list(targets, "per-pixel counts")
        d = self.dilation
        if sources > LIST_LIMIT or d > LIST_LIMIT:  # few targets (heavy crops): one question each
            cov = self._coverage(sources)
            return tuple(cov.multiplicity(i) for i in range(targets))
        diff = [0] * (targets + d + 1)
        for j in range(sources):
            first = j * self.stride - self.pad_before
            last = first + (self.kernel - 1) * d
            if first < 0:  # skip to the first hit inside [0, targets)
                first += -(first // d) * d
            if last >= targets:
                last -= -((targets - 1 - last) // d) * d
            if first <= last:
                diff[first] += 1
                diff[last + d] -= 1
        counts = diff[:targets]
        for i in range(d, targets):
            counts[i] += counts[i - d]
        return tuple(counts)

    @property
    def symmetric(self) -> bool:
        return self.pad_before == self.pad_after

    # What both kinds answer, each by its own rule: input indices the op ignores (a window axis:
    # never read; a transposed axis: every contribution cropped away), and the JSON fields.
    @property
    def dropped(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def dropped_count(self) -> int:
        raise NotImplementedError

    def dropped_sample(self, limit: int = SAMPLE) -> IndexSample:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class AxisWindow(AxisBase):
    """One axis of a convolution or pooling: sizes, per-side pads and which inputs are read.

    Output ``j`` reads input indices ``j·stride − pad_before + t·dilation`` for ``t < kernel``;
    indices outside ``[0, input)`` are padding.

    >>> AxisWindow(7, 2, 2, 1, 0, 0, 4).overhang   # a ceil_mode window past the end
    1
    """

    @property
    def padded_input(self) -> int:
        return self.input + self.pad_before + self.pad_after

    @property
    def overhang(self) -> int:
        """Cells the last window reaches past the padded input (ceil_mode), else 0."""
        return max((self.output - 1) * self.stride + self.span - self.padded_input, 0)

    def start(self, j: int) -> int:
        """Input index under the first tap of window ``j`` (negative = in the left padding)."""
        return j * self.stride - self.pad_before

    def taps(self, j: int) -> tuple[int, ...]:
        """Input indices under window ``j``, padding included."""
        return self._hits(j)

    def read_counts(self) -> tuple[int, ...]:
        """How many times each input index is read by some window (refused past
        :data:`~.coverage.LIST_LIMIT` pixels: see :meth:`read_count`)."""
        return self._hit_counts(self.output, self.input)

    def read_count(self, i: int) -> int:
        """How many times input index ``i`` is read, in O(log) for any length.

        >>> conv_axis(10**18, 3, stride=2).read_count(2)
        2
        """
        return self._coverage(self.output).multiplicity(i)

    @property
    def dropped(self) -> tuple[int, ...]:
        """Input indices that no window reads (border remainders, dilation or stride gaps).

        Refused when more than :data:`~.coverage.LIST_LIMIT` of them: see :meth:`dropped_sample`.
        """
        count = self.dropped_count
        _check_list(count, "never-read indices")
        if self.input <= LIST_LIMIT:
            return tuple(i for i, c in enumerate(self.read_counts()) if c == 0)
        return tuple(self._coverage(self.output).unread_iter(self.input))

    @property
    def dropped_count(self) -> int:
        """How many input indices no window reads.

        >>> conv_axis(10**12, 1, stride=3).dropped_count
        666666666666
        """
        runs = self._border_runs()
        if runs is not None:
            return len(runs[0]) + len(runs[1])
        return self.input - self._coverage(self.output).distinct(0, self.input - 1)

    def dropped_sample(self, limit: int = SAMPLE) -> IndexSample:
        """The never-read indices as a count plus the first and last ``limit`` of them.

        >>> str(conv_axis(10**9, 1, stride=3).dropped_sample(2))
        '666,666,666 pixels: 1, 2, …, 999999997, 999999998'
        """
        runs = self._border_runs()
        if runs is not None:
            return sample_runs(runs, limit)
        return self._coverage(self.output).unread(self.input, limit)

    def _border_runs(self) -> tuple[range, range] | None:
        """Never-read indices as ``(start run, end run)`` when windows leave no gaps (dilation 1 or
        kernel 1, stride ≤ span) and some window touches the input: O(1) arithmetic; else None."""
        first = -self.pad_before
        last = (self.output - 1) * self.stride - self.pad_before + self.span - 1
        gapless = (self.dilation == 1 or self.kernel == 1) and self.stride <= self.span
        if not (gapless and self.output > 0 and first < self.input and last >= 0):
            return None
        return (range(max(first, 0)), range(min(last + 1, self.input), self.input))

    @property
    def dropped_before(self) -> int:
        """Never-read pixels at the start of the axis."""
        return self.never_read()[0]

    @property
    def dropped_after(self) -> int:
        """Never-read pixels at the end of the axis."""
        return self.never_read()[1]

    def never_read(self) -> tuple[int, int, int]:
        """Counts of never-read input pixels: at the start, at the end, and in between.

        O(1) without gaps in or between windows, else O(log²) (:class:`~.coverage.Hits`). An axis
        that is never read at all has every pixel counted at the start and at the end.

        >>> conv_axis(10, 3, stride=4).never_read()   # windows [0,2] [4,6]: 3 and 7–9 never read
        (0, 3, 1)
        >>> conv_axis(9, 3, stride=2).never_read()
        (0, 0, 0)
        >>> conv_axis(10**18, 3, stride=2).never_read()
        (0, 1, 0)
        """
        runs = self._border_runs()
        if runs is not None:
            return (len(runs[0]), len(runs[1]), 0)
        n, cov = self.input, self._coverage(self.output)
        first = cov.first_hit(0, n - 1)
        if first is None:
            return (n, n, 0)
        last = cov.last_hit(first, n - 1)
        assert last is not None
        unread = n - cov.distinct(0, n - 1)
        return (first, n - 1 - last, unread - first - (n - 1 - last))

    def real_cells(self, j: int) -> int:
        """Taps of window ``j`` that land on real input (not padding).

        >>> conv_axis(5, 3, padding="same").real_cells(0)
        2
        """
        base, d = self.start(j), self.dilation
        lo = max(-(base // d), 0)  # first tap at index >= 0
        hi = min((self.input - 1 - base) // d, self.kernel - 1) if self.input - 1 >= base else -1
        return max(hi - lo + 1, 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; never-read indices as ``dropped`` (the first ``SAMPLE``),
        ``dropped_last`` (the last ones not listed in ``dropped``) and ``dropped_count``."""
        out = asdict(self)
        before, after, _ = self.never_read()
        sample = self.dropped_sample()
        out.update(span=self.span, dropped=list(sample.head), dropped_last=list(sample.tail),
                   dropped_count=sample.count, dropped_before=before, dropped_after=after)
        return out


def _check_list(length: int, what: str) -> None:
    """Refuse a per-pixel list past :data:`~.coverage.LIST_LIMIT` entries."""
    if length > LIST_LIMIT:
        raise PaddingError(
            f"{what} would list {length:,} entries (limit {LIST_LIMIT:,}); ask for counts or a sample"
        )


#: The axis kind of a :class:`Geometry`: :class:`AxisWindow` (conv, pool) or
#: :class:`~.transpose.AxisTranspose` (transposed conv); :class:`AxisBase` where either.
AxisT = TypeVar("AxisT", bound=AxisBase, covariant=True)


@dataclass(frozen=True)
class Geometry(Generic[AxisT]):
    """N-D geometry: one axis per spatial axis, all of one kind.

    ``conv`` and ``pool`` give a ``Geometry[AxisWindow]``, ``conv_transpose`` a
    ``Geometry[AxisTranspose]``; code that takes either annotates
    :data:`~.transpose.AnyGeometry` and tells them apart with :func:`~.transpose.is_transposed`.

    >>> g = conv((224, 225), 3, stride=2, padding="same")
    >>> g.output, g.pads
    ((112, 113), ((0, 1), (1, 1)))
    """

    op: str
    axes: tuple[AxisT, ...]

    def __iter__(self) -> Iterator[AxisT]:
        return iter(self.axes)

    def __len__(self) -> int:
        return len(self.axes)

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def input(self) -> tuple[int, ...]:
        return tuple(a.input for a in self.axes)

    @property
    def output(self) -> tuple[int, ...]:
        return tuple(a.output for a in self.axes)

    @property
    def pads(self) -> tuple[tuple[int, int], ...]:
        return tuple(a.pads for a in self.axes)

    @property
    def symmetric(self) -> bool:
        return all(a.symmetric for a in self.axes)

    def to_dict(self) -> dict[str, Any]:
        return {"op": self.op, "axes": [a.to_dict() for a in self.axes]}


def conv_axis(
    n: int,
    kernel: int,
    stride: int = 1,
    padding: object = "valid",
    dilation: int = 1,
    axis: int = 0,
) -> AxisWindow:
    """Geometry of a convolution along one axis.

    >>> conv_axis(28, 3, padding="same").output
    28
    >>> conv_axis(10, 4, padding=(2, -1)).output
    8
    """
    return _window_axis(n, kernel, stride, Padding.parse(padding, 1).axes[0], dilation, axis)


@functools.lru_cache(maxsize=4096, typed=True)
def _window_axis(n: int, kernel: int, stride: int, spec: AxisPad, dilation: int, axis: int) -> AxisWindow:
    """:func:`conv_axis` of a parsed per-axis spec; memoised (the result is immutable), since
    networks repeat the same layer geometry many times."""
    check_window_args(axis, kernel, stride, dilation)
    before, after = resolve_axis(n, kernel, stride, dilation, spec, axis)
    span = effective_kernel(kernel, dilation)
    how = repr(spec) if isinstance(spec, str) else f"explicit {spec}"
    if n + before + after < span:
        raise PaddingError(
            f"axis {axis}: {_spans(span, kernel, dilation)} > padded input "
            f"{n + before + after} under {how}"
        )
    if min(before, after) < 0 and n + min(before, 0) + min(after, 0) < 1:
        raise PaddingError(f"axis {axis}: cropping {(before, after)} removes all {n} input pixels")
    out = window_output(n, span, stride, before, after, axis, how)
    name = spec if isinstance(spec, str) else "explicit"
    return AxisWindow(n, kernel, stride, dilation, before, after, out, name)


def conv(
    input: int | Sequence[int],
    kernel: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: object = "valid",
    dilation: int | Sequence[int] = 1,
) -> Geometry[AxisWindow]:
    """N-D convolution geometry; every argument is a scalar or one value per spatial axis.

    >>> conv(28, 3).output
    (26,)
    >>> conv((28, 28), (3, 3), padding="same").pads
    ((1, 1), (1, 1))
    >>> conv((9, 9), 3, stride=2, padding="same_lower").pads
    ((1, 1), (1, 1))
    """
    nd = infer_ndim(input, kernel, stride, dilation, _padding_len(padding))
    spec = Padding.parse(padding, nd)
    ns, ks = per_axis(input, nd, "input"), per_axis(kernel, nd, "kernel")
    ss, ds = per_axis(stride, nd, "stride"), per_axis(dilation, nd, "dilation")
    axes = tuple(_window_axis(ns[i], ks[i], ss[i], spec.axes[i], ds[i], i) for i in range(nd))
    return Geometry("conv", axes)


def _padding_len(padding: object) -> object:
    """A stand-in whose length tells :func:`infer_ndim` the axes implied by a padding spec."""
    if isinstance(padding, Padding):
        return padding.axes
    if isinstance(padding, (list, tuple)) and padding and not all(
        isinstance(p, int) for p in padding
    ):
        return padding
    if isinstance(padding, (list, tuple)) and len(padding) != 2:
        return padding
    return 0
