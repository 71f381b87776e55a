"""Padding specs and the one function that turns a spec into per-side pads.

A padding spec is normalized once, at the boundary, into a :class:`Padding`: per spatial axis
either a convention name or an explicit ``(before, after)`` pair. :func:`resolve_axis` is the
only place in padstride that computes pads from a convention.

>>> Padding.parse("same", 2).resolve((224, 225), (3, 3), (2, 2), (1, 1))
((0, 1), (1, 1))
>>> Padding.parse(((1, 2), (0, 0)), 2).resolve((8, 8), 3, 1, 1)
((1, 2), (0, 0))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .axes import per_axis
from .errors import PaddingError

__all__ = [
    "CONVENTIONS",
    "AxisPad",
    "Padding",
    "PaddingLike",
    "effective_kernel",
    "normalize_convention",
    "resolve_axis",
    "same_total",
]

#: Convention names, per spatial axis. See ``docs/conventions.md``.
CONVENTIONS: tuple[str, ...] = ("valid", "same", "same_lower", "torch_same", "full", "causal")

_ALIASES = {
    "same_upper": "same",
    "tf_same": "same",
    "explicit_valid": "valid",
    "notset": "valid",
}

AxisPad = str | tuple[int, int]
PaddingLike = "str | int | Sequence[object] | Padding"


def normalize_convention(name: str) -> str:
    """Canonical convention name; accepts ONNX/TF spellings in any case.

    >>> normalize_convention("SAME_UPPER")
    'same'
    """
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in CONVENTIONS:
        known = ", ".join(CONVENTIONS)
        raise PaddingError(f"unknown padding convention {name!r}; expected one of {known}")
    return key


def effective_kernel(kernel: int, dilation: int) -> int:
    """Span of a dilated kernel, ``d·(k−1)+1``.

    >>> effective_kernel(3, 2)
    5
    """
    return dilation * (kernel - 1) + 1


def centre_crop(have: int, want: int) -> tuple[int, int]:
    """``(before, after)`` to crop ``have`` down to its centred ``want`` (the odd pixel after), as the
    U-Net paper crops its skip connections and overlap tiles lose their context.

    >>> centre_crop(64, 56), centre_crop(57, 56)
    ((4, 4), (0, 1))
    """
    if not 0 <= want <= have:
        raise PaddingError(f"cannot crop {have} to {want}")
    before = (have - want) // 2
    return before, have - want - before


def same_total(n: int, span: int, stride: int) -> int:
    """TF SAME total pad ``max((ceil(n/s)−1)·s + K − n, 0)``, branch-free in ``n``.

    For ``K ≥ s`` the clip never acts (``ceil(n/s)·s ≥ n``), and the padded length is exactly
    ``(ceil(n/s)−1)·s + K``, written ``((n−1)//s)·s + K``. For ``K < s``, with ``m = (−n) mod s``
    and ``c = s − K``, the total is ``(m − c)·[m ≥ c]`` and ``[m ≥ c] = (m + K) // s``. Only
    ``+ − * // %`` touch ``n``, so the same code runs on PyTorch's symbolic sizes (SymInt) in
    ``torch.compile``, ``torch.export`` and ONNX export without guards on ``n``. Symbolic reasoning
    then sees the output ``(n−1)//s + 1``, PyTorch's own form for a padded conv, whose nesting
    collapses (``((n−1)//2)//2 = (n−1)//4``): written ``(n+s−1)//s`` instead, the sizes of a deep
    network nest and ``torch.compile`` spends twice as long simplifying its index expressions.

    >>> [same_total(n, 3, 2) for n in (6, 7)], [same_total(n, 2, 3) for n in (6, 7, 8)]
    ([1, 2], [0, 1, 0])
    """
    if span >= stride:
        return ((n - 1) // stride) * stride + span - n
    m = (-n) % stride
    return (m - (stride - span)) * ((m + span) // stride)


def check_window_args(axis: int, kernel: int, stride: int, dilation: int) -> None:
    """Raise :class:`PaddingError` for a kernel, stride or dilation below 1."""
    for name, value in (("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        if value < 1:
            raise PaddingError(f"axis {axis}: {name} must be >= 1, got {value}")


def resolve_axis(
    n: int, kernel: int, stride: int, dilation: int, pad: AxisPad, axis: int = 0
) -> tuple[int, int]:
    """``(before, after)`` pads of one axis: the single source of truth for every convention.

    >>> resolve_axis(224, 3, 2, 1, "same")
    (0, 1)
    >>> resolve_axis(224, 3, 2, 1, "same_lower")
    (1, 0)
    >>> resolve_axis(10, 3, 1, 2, "causal")
    (4, 0)
    """
    check_window_args(axis, kernel, stride, dilation)
    if isinstance(n, int) and n < 1:
        raise PaddingError(f"axis {axis}: input size must be >= 1, got {n}")
    if not isinstance(pad, str):
        return (int(pad[0]), int(pad[1]))
    span = effective_kernel(kernel, dilation)
    if pad == "valid":
        return (0, 0)
    if pad in ("same", "same_lower"):
        total = same_total(n, span, stride)
        small, large = total // 2, total - total // 2
        return (small, large) if pad == "same" else (large, small)
    if pad == "torch_same":
        if stride != 1:
            raise PaddingError(
                f"axis {axis}: 'torch_same' (PyTorch padding='same') needs stride 1, got stride "
                f"{stride}; use 'same' for TF's rule or explicit pads"
            )
        total = span - 1
        return (total // 2, total - total // 2)
    if pad == "full":
        return (span - 1, span - 1)
    if pad == "causal":
        return (span - 1, 0)
    raise PaddingError(f"axis {axis}: unknown padding convention {pad!r}")  # pragma: no cover


def _parse_axis(item: object, axis: int) -> AxisPad:
    if type(item) is tuple and len(item) == 2 and type(item[0]) is int and type(item[1]) is int:
        return item  # already a (before, after) pair
    if isinstance(item, str):
        return normalize_convention(item)
    if isinstance(item, bool):
        raise PaddingError(f"axis {axis}: padding must be a name, an int or a pair, got {item!r}")
    if isinstance(item, int):
        return (item, item)
    if isinstance(item, Sequence) and len(item) == 2:
        before, after = per_axis(tuple(item), 2, "padding pair")
        return (before, after)
    raise PaddingError(
        f"axis {axis}: padding must be a convention name, an int or a (before, after) pair, "
        f"got {item!r}"
    )


@dataclass(frozen=True)
class Padding:
    """Per spatial axis a convention name or an explicit ``(before, after)`` pair.

    >>> Padding.parse(1, 2)
    Padding(axes=((1, 1), (1, 1)))
    >>> Padding.parse("SAME", 1).convention
    'same'
    """

    axes: tuple[AxisPad, ...]

    @classmethod
    def parse(cls, padding: object, ndim: int) -> Padding:
        """Normalize any accepted spelling of padding for ``ndim`` spatial axes.

        Accepted: a convention name; an int (symmetric, every axis); one entry per axis (a name,
        an int or a ``(before, after)`` pair); for one axis, a bare ``(before, after)`` pair.
        """
        if isinstance(padding, Padding):
            if len(padding.axes) != ndim:
                raise PaddingError(
                    f"padding has {len(padding.axes)} axes for {ndim} spatial axes"
                )
            return padding
        if isinstance(padding, (str, int)):
            return cls((_parse_axis(padding, 0),) * ndim)
        if isinstance(padding, Sequence):
            items = list(padding)
            if ndim == 1 and len(items) == 2 and all(isinstance(i, int) for i in items):
                return cls((_parse_axis(tuple(items), 0),))
            if len(items) != ndim:
                raise PaddingError(
                    f"padding has {len(items)} entries for {ndim} spatial axes: {padding!r}; "
                    "give one entry per axis (a name, an int or a (before, after) pair)"
                )
            return cls(tuple(_parse_axis(item, axis) for axis, item in enumerate(items)))
        raise PaddingError(f"padding must be a name, an int or a sequence, got {padding!r}")

    @classmethod
    def from_onnx(
        cls, pads: Sequence[int] | None = None, auto_pad: str | bytes = "NOTSET", ndim: int | None = None
    ) -> Padding:
        """From ONNX ``pads`` ``[b_0, b_1, …, a_0, a_1, …]`` and ``auto_pad``.

        ``auto_pad`` ``NOTSET`` (or empty) takes ``pads`` (zeros where absent); ``SAME_UPPER``,
        ``SAME_LOWER`` and ``VALID`` are the conventions ``same``, ``same_lower`` and ``valid``
        (``pads`` ignored, as onnxruntime does). ``ndim`` is needed when ``pads`` is absent.

        >>> Padding.from_onnx([0, 1, 1, 2]).axes
        ((0, 1), (1, 2))
        >>> Padding.from_onnx(auto_pad="SAME_LOWER", ndim=2).axes
        ('same_lower', 'same_lower')
        >>> Padding.from_onnx(None, "NOTSET", ndim=1).axes
        ((0, 0),)
        """
        mode = (auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)).strip().upper()
        if mode not in ("", "NOTSET"):
            if mode not in ("SAME_UPPER", "SAME_LOWER", "VALID"):
                raise PaddingError(
                    f"ONNX auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got {mode!r}"
                )
            if ndim is None:
                ndim = len(pads) // 2 if pads else None
            if ndim is None:
                raise PaddingError(f"auto_pad {mode} needs the number of spatial axes")
            return cls((normalize_convention(mode),) * ndim)
        if pads is None or len(pads) == 0:
            if ndim is None:
                raise PaddingError("ONNX pads are absent and the number of spatial axes is unknown")
            return cls(((0, 0),) * ndim)
        if len(pads) % 2 or (ndim is not None and len(pads) != 2 * ndim):
            want = "an even length" if ndim is None else f"{2 * ndim} values"
            raise PaddingError(f"ONNX pads need {want}, got {list(pads)}")
        half = len(pads) // 2
        return cls(tuple((int(pads[i]), int(pads[i + half])) for i in range(half)))

    @classmethod
    def from_torch_pad(cls, pad: Sequence[int]) -> Padding:
        """From ``torch.nn.functional.pad`` order ``(left, right, top, bottom, …)``: last axis first.

        >>> Padding.from_torch_pad([1, 2, 3, 4]).axes
        ((3, 4), (1, 2))
        """
        if len(pad) % 2:
            raise PaddingError(f"F.pad needs an even length, got {list(pad)}")
        pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
        return cls(tuple(reversed(pairs)))

    @property
    def ndim(self) -> int:
        return len(self.axes)

    @property
    def convention(self) -> str:
        """The convention name shared by all axes, ``'explicit'``, or ``'mixed'``."""
        names = {a if isinstance(a, str) else "explicit" for a in self.axes}
        return names.pop() if len(names) == 1 else "mixed"

    def is_static(self, stride: Sequence[int] | int = 1) -> bool:
        """True when the pads do not depend on the input size (explicit, or a convention at stride 1)."""
        strides = per_axis(stride, self.ndim, "stride")
        return all(
            not isinstance(a, str) or a in ("valid", "full", "causal", "torch_same") or s == 1
            for a, s in zip(self.axes, strides, strict=False)
        )

    def resolve(
        self,
        input: int | Sequence[int],
        kernel: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        dilation: int | Sequence[int] = 1,
    ) -> tuple[tuple[int, int], ...]:
        """Per-axis ``(before, after)`` for these sizes."""
        nd = self.ndim
        ns, ks = per_axis(input, nd, "input"), per_axis(kernel, nd, "kernel")
        ss, ds = per_axis(stride, nd, "stride"), per_axis(dilation, nd, "dilation")
        return tuple(
            resolve_axis(n, k, s, d, pad, axis)
            for axis, (n, k, s, d, pad) in enumerate(zip(ns, ks, ss, ds, self.axes, strict=False))
        )

    def describe(self, axis: int) -> str:
        """How axis ``axis`` was given, for messages: ``'same'`` or ``'explicit (1, 2)'``."""
        pad = self.axes[axis]
        return repr(pad) if isinstance(pad, str) else f"explicit {pad}"
