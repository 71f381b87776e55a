"""Which fast path computes a convolution, decided once per call by :func:`plan`.

>>> from padstride import geometry
>>> from padstride.engine.plan import ConvShape, Path, Tuning, plan
>>> shape = ConvShape(n=32, c_in=64, c_out=64, groups=1, geo=geometry.conv((56, 56), 3, 1, "same"),
...                   itemsize=4, channels_first_out=True)
>>> plan(shape).path
<Path.SHIFTED: 'shifted'>
>>> plan(shape, Tuning(path=Path.IM2COL)).path     # tests force a path this way
<Path.IM2COL: 'im2col'>

Every path computes the same numbers as :func:`padstride.engine.reference.conv` (tested on random
configurations, each path forced through :class:`Tuning`); they differ in how much memory they
copy. ``docs/engine.md`` describes each one and the measurements behind the thresholds.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from .. import geometry
from ..errors import Error
from . import _blocks

__all__ = ["Block", "ConvPlan", "ConvShape", "Path", "PlanError", "Tuning", "choose", "eligible", "plan"]

#: ``(first image, last image + 1, first output row, last output row + 1)`` of one unit of work.
Block = tuple[int, int, int, int]


class PlanError(Error, ValueError):
    """A path was forced on a convolution it cannot compute."""


class Path(enum.Enum):
    """The ways :func:`padstride.engine.conv` can compute a convolution."""

    #: im2col columns of a block (every tap, every position) times the weights in one batched GEMM
    #: (groups are the batch), the result copied into the output. Runs anything.
    IM2COL = "im2col"
    #: im2col per image, the GEMM writing straight into a channels-first output (exact positions, no
    #: copy of the result): for few GEMM rows, where the GEMM is bound by writing its result.
    DIRECT = "direct"
    #: stride 1, 2-D or more: columns of the last axis' taps only; one GEMM per tap of the other axes
    #: reads a shifted window of them (a third of the copying for 3×3, a ninth for 3×3×3).
    SHIFTED = "shifted"
    #: im2col from a channels-last padded copy, where one position's taps along the last axis are
    #: one run of k · C_in values: for strided convolutions with many channels.
    CHANNELS_LAST = "channels_last"
    #: stride 1, 2-D or more: one GEMM per block whose rows are the second-last axis' k taps (the
    #: weights stacked: k · C_out/groups rows) and whose columns hold every other tap (shifted copies
    #: of the input without the last axis' tails, as the 2-D shifted path writing into the output
    #: has); its k row blocks, each shifted by its tap, are summed into the output. Taller GEMMs than
    #: the shifted path's (3-D C16→16: 48 rows × 144, not 16 × 48, nine times), one call, k − 1 sums:
    #: the planner's choice for stride-1 convolutions of 3 or more axes.
    STACKED = "stacked"
    #: one input channel per group: per channel, a loop over the taps multiplies a view by a scalar
    #: weight and adds it to an accumulator (no GEMM).
    DEPTHWISE = "depthwise"


@dataclass(frozen=True)
class Tuning:
    """Thresholds and limits of the planner; ``path`` forces one path (tests, experiments).

    >>> Tuning().shifted_min_k
    128
    """

    #: strided convolutions with C_in/groups · k_last ≥ this take :attr:`Path.CHANNELS_LAST`
    channels_last_min_k: int = 128
    #: stride-1 2-D convolutions with C_in/groups · k_last ≥ this take :attr:`Path.SHIFTED`; below
    #: C_in/groups · k… < this (few GEMM rows) a channels-first output takes :attr:`Path.DIRECT`
    shifted_min_k: int = 128
    #: stride-1 convolutions of 3 or more axes with C_in/groups · k_last ≥ this take :attr:`Path.STACKED`
    stacked_min_k: int = 6
    #: stride-1 convolutions take :attr:`Path.DIRECT` only while one image's GEMM result
    #: (C_out · output positions) holds at most this many bytes; larger ones take :attr:`Path.IM2COL`
    #: (contiguous wide columns, the result in a block buffer that stays in cache)
    direct_max_bytes: int = 1 << 20
    #: GEMMs may write straight into a channels-first output (:attr:`Path.DIRECT`, and the shifted
    #: path on blocks of whole images); False: every result goes through a block buffer
    into_output: bool = True
    #: bytes of one block's buffers; ``None``: ``padstride.engine.BLOCK_BYTES`` at call time
    block_bytes: int | None = None
    #: force this path (:class:`PlanError` if it cannot run the convolution)
    path: Path | None = None

    def limit(self) -> int:
        """Block limit in bytes."""
        return _blocks.BLOCK_BYTES if self.block_bytes is None else self.block_bytes


@dataclass(frozen=True)
class ConvShape:
    """What the planner needs to know of a convolution (channels first, after the geometry)."""

    n: int
    c_in: int
    c_out: int
    groups: int
    geo: geometry.Geometry[geometry.AxisWindow]
    itemsize: int
    #: the output is (N, C_out, *spatial) contiguous, so a GEMM can write into it
    channels_first_out: bool

    @property
    def nd(self) -> int:
        return self.geo.ndim

    @property
    def kernel(self) -> tuple[int, ...]:
        return tuple(a.kernel for a in self.geo)

    @property
    def cin_per_group(self) -> int:
        return self.c_in // self.groups

    @property
    def cout_per_group(self) -> int:
        return self.c_out // self.groups

    @property
    def tap_count(self) -> int:
        return math.prod(self.kernel)

    @property
    def padded(self) -> tuple[int, ...]:
        """Padded spatial sizes."""
        return tuple(a.padded_input for a in self.geo)

    @property
    def image_size(self) -> int:
        """Elements of one padded image of one channel."""
        return math.prod(self.padded)

    @property
    def row_size(self) -> int:
        """Elements of one padded row (one index of the first spatial axis) of one channel."""
        return math.prod(self.padded[1:])

    @property
    def lead_reach(self) -> int:
        """Elements of a flat padded image between the first and the last tap along all axes but the last."""
        steps = [math.prod(self.padded[i + 1:]) for i in range(self.nd)]
        return sum((a.kernel - 1) * a.dilation * step for a, step in zip(self.geo.axes[:-1], steps, strict=False))

    @property
    def unit_stride(self) -> bool:
        return all(a.stride == 1 for a in self.geo)


@dataclass(frozen=True)
class ConvPlan:
    """The path chosen, and how it splits the work."""

    path: Path
    #: stride 1 on a GEMM path: positions are one flat range of the padded input (row tails
    #: computed and dropped), so each column row is one contiguous copy
    wide: bool
    #: zeroed elements after the padded buffer, for wide views that run past the last row
    slack: int
    #: blocks of images × output rows (depthwise: channels × images)
    blocks: tuple[Block, ...]
    #: each block pads its own images (else the input is padded once, whole)
    own_pad: bool
    #: GEMMs write straight into the output where a block holds whole images
    into_output: bool
    #: every path that could compute this convolution
    eligible: tuple[Path, ...] = field(default=(), compare=False)


def eligible(shape: ConvShape, tuning: Tuning = Tuning()) -> tuple[Path, ...]:
    """Paths that can compute ``shape``."""
    paths = [Path.IM2COL, Path.CHANNELS_LAST]
    if shape.channels_first_out and tuning.into_output:
        paths.append(Path.DIRECT)
    if shape.unit_stride and shape.nd >= 2:
        paths += [Path.SHIFTED, Path.STACKED]
    if shape.cin_per_group == 1:
        paths.append(Path.DEPTHWISE)
    return tuple(p for p in Path if p in paths)


def choose(shape: ConvShape, tuning: Tuning = Tuning()) -> Path:
    """The fastest path measured for ``shape`` (see ``docs/engine.md``)."""
    rows_per_first_tap = shape.cin_per_group * shape.kernel[-1]  # GEMM rows per tap of the leading axes
    if shape.cin_per_group == 1 and shape.groups > 1:
        return Path.DEPTHWISE
    if not shape.unit_stride and rows_per_first_tap >= tuning.channels_last_min_k:
        return Path.CHANNELS_LAST
    if shape.unit_stride and shape.nd > 1 and max(shape.kernel[:-1]) > 1:
        if shape.nd == 2 and rows_per_first_tap >= tuning.shifted_min_k:
            return Path.SHIFTED
        if shape.nd > 2 and rows_per_first_tap >= tuning.stacked_min_k:
            return Path.STACKED
    few_rows = shape.cin_per_group * shape.tap_count < tuning.shifted_min_k
    if few_rows and tuning.into_output and shape.channels_first_out and shape.nd <= 2:  # 3-D: im2col is faster
        image_result = shape.c_out * math.prod(shape.geo.output) * shape.itemsize
        if not shape.unit_stride or image_result <= tuning.direct_max_bytes:
            return Path.DIRECT
    return Path.IM2COL


def plan(shape: ConvShape, tuning: Tuning = Tuning()) -> ConvPlan:
    """Path and blocks for ``shape``: :func:`choose`'s path, or ``tuning.path`` if it can run it."""
    paths = eligible(shape, tuning)
    path = choose(shape, tuning) if tuning.path is None else tuning.path
    if path not in paths:
        raise PlanError(f"path {path.value!r} cannot compute this convolution; eligible: "
                        f"{', '.join(p.value for p in paths)}")
    into = tuning.into_output and shape.channels_first_out
    if path is Path.DEPTHWISE:
        return _depthwise_plan(shape, tuning, paths)
    itemsize, c, c_out = shape.itemsize, shape.c_in, shape.c_out
    outs = shape.geo.output
    if path is Path.CHANNELS_LAST:
        row_bytes = (c * shape.tap_count + c_out) * math.prod(outs[1:]) * itemsize
        blocks, own_pad = _pad_plan(shape, row_bytes, shape.image_size * c * itemsize, tuning)
        return ConvPlan(path, False, 0, blocks, own_pad, False, eligible=paths)
    wide = shape.unit_stride and path is not Path.DIRECT
    slack = shape.row_size if wide else 0
    image_bytes = (c * shape.image_size + slack) * itemsize
    if path is Path.SHIFTED:  # columns of the last axis' taps, GEMM result, temporary; the leading taps' reach
        k_last = shape.kernel[-1]
        extra = shape.lead_reach * c * k_last * itemsize
        row_bytes = (c * k_last + 2 * c_out) * shape.row_size * itemsize
        blocks, own_pad = _pad_plan(shape, row_bytes, image_bytes, tuning, extra)
        return ConvPlan(path, True, slack, blocks, own_pad, into, eligible=paths)
    if path is Path.STACKED:  # columns of every tap but the second-last axis', the stacked GEMM result, the sum
        k_stacked = shape.kernel[-2]
        k_cols = c * shape.tap_count // k_stacked
        reach = (k_stacked - 1) * shape.geo.axes[-2].dilation * math.prod(shape.padded[shape.nd - 1:])
        extra = reach * (k_cols + k_stacked * c_out) * itemsize
        row_bytes = (k_cols + (k_stacked + 1) * c_out) * shape.row_size * itemsize
        blocks, own_pad = _pad_plan(shape, row_bytes, c * shape.image_size * itemsize, tuning, extra)
        return ConvPlan(path, False, 0, blocks, own_pad, False, eligible=paths)
    row_positions = shape.row_size if wide else math.prod(outs[1:])
    row_bytes = (c * shape.tap_count + c_out) * row_positions * itemsize
    blocks, own_pad = _pad_plan(shape, row_bytes, image_bytes, tuning)
    return ConvPlan(path, wide, slack, blocks, own_pad, path is Path.DIRECT, eligible=paths)


def _pad_plan(shape: ConvShape, row_bytes: int, image_bytes: int, tuning: Tuning,
              extra: int = 0) -> tuple[tuple[Block, ...], bool]:
    """Blocks, and whether each pads its own images: yes where blocks that also hold their padded
    images (``image_bytes`` each) still hold whole images (one pass less over memory, and one
    thread's copies overlap the others' GEMMs); else blocks for one padded copy of the input.
    ``extra``: bytes a block needs beside its rows."""
    rows = shape.geo.output[0]
    limit = max(1, tuning.limit() - extra)
    blocks = tuple(_blocks.plan(shape.n, rows, row_bytes + math.ceil(image_bytes / rows), limit))
    if all(r0 == 0 and r1 == rows for _, _, r0, r1 in blocks):
        return blocks, True
    return tuple(_blocks.plan(shape.n, rows, row_bytes, limit)), False


def _depthwise_plan(shape: ConvShape, tuning: Tuning, paths: tuple[Path, ...]) -> ConvPlan:
    """Blocks of channels × images whose padded copy, columns and GEMM result fit the block limit:
    whole images with all their channels where one fits, else channels of all images (or fewer)."""
    wide = shape.unit_stride
    slack = shape.row_size if wide else 0
    per_image = shape.image_size if wide else math.prod(shape.geo.output)  # positions of one image
    limit = max(1, tuning.limit() - slack * shape.itemsize)
    row_bytes = (shape.image_size + (shape.tap_count + shape.cout_per_group) * per_image) * shape.itemsize
    if shape.groups * row_bytes <= limit:  # blocks of whole images, every channel: contiguous copies
        images = _blocks.plan(shape.n, 1, shape.groups * row_bytes, limit)
        blocks = tuple((0, shape.groups, n0, n1) for n0, n1, _, _ in images)
    else:
        blocks = tuple(_blocks.plan(shape.groups, shape.n, row_bytes, limit))
    return ConvPlan(Path.DEPTHWISE, wide, slack, blocks, True, False, eligible=paths)
