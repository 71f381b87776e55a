"""Per-forward pads: the geometry called on the input's runtime (possibly symbolic) sizes.

Pads come only from :func:`padstride.geometry.resolve_axis`. Its arithmetic on the input size
uses ``+ − * // %`` only (see :func:`padstride.geometry.padding.same_total`), so the very same
call works on ``torch.SymInt`` sizes inside ``torch.compile``, ``torch.export`` and ONNX export,
and the exported graph recomputes the pads for every input size.

>>> import torch
>>> pads_for(torch.zeros(1, 1, 7, 8), (3, 3), (2, 2), (1, 1), Padding.parse("same", 2).axes)
((1, 1), (0, 1))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..geometry import Padding, PaddingError, resolve_axis
from ..geometry.padding import AxisPad

__all__ = [
    "Padding",
    "flat_pad",
    "is_symbolic",
    "pads_for",
    "parse_padding",
    "sizes_of",
    "static_pads",
]

Pairs = tuple[tuple[Any, Any], ...]


def parse_padding(padding: object, ndim: int) -> Padding:
    """Normalize a layer's ``padding`` argument (torch's ``'same'`` string included).

    >>> parse_padding((1, 2), 2).axes
    ((1, 1), (2, 2))
    """
    if isinstance(padding, list):
        padding = tuple(padding)
    return Padding.parse(padding, ndim)


def sizes_of(x: Any, ndim: int) -> tuple[Any, ...]:
    """The last ``ndim`` sizes of ``x`` (ints, or SymInts while tracing)."""
    if x.dim() < ndim + 1:
        raise PaddingError(f"expected an input with {ndim} spatial axes after the channels, got shape {tuple(x.shape)}")
    return tuple(x.shape[-ndim:])


def is_symbolic(sizes: Sequence[Any]) -> bool:
    """True while tracing (``torch.compile``, export) or when a size is not a plain int.

    Then the layers take the one branch-free path (``F.pad`` with the geometry's pads) instead of
    testing the pads' values, which would add guards and recompile for every input size.
    """
    import torch

    return torch.compiler.is_compiling() or any(not isinstance(n, int) for n in sizes)


def pads_for(
    x: Any, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int], axes: Sequence[AxisPad]
) -> Pairs:
    """Per-axis ``(before, after)`` for the input ``x``, from the geometry."""
    sizes = sizes_of(x, len(axes))
    return tuple(
        resolve_axis(n, k, s, d, pad, axis)
        for axis, (n, k, s, d, pad) in enumerate(zip(sizes, kernel, stride, dilation, axes, strict=True))
    )


def static_pads(spec: Padding, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]) -> Pairs | None:
    """The pads when they do not depend on the input size (explicit, or a convention at stride 1), else None.

    >>> static_pads(Padding.parse("same", 2), (3, 4), (1, 1), (1, 1))
    ((1, 1), (1, 2))
    >>> static_pads(Padding.parse("same", 1), (3,), (2,), (1,)) is None
    True
    """
    if not spec.is_static(tuple(stride)):
        return None
    # the size does not enter these pads: any valid size gives the same answer
    return tuple(
        resolve_axis(1, k, s, d, pad, axis)
        for axis, (k, s, d, pad) in enumerate(zip(kernel, stride, dilation, spec.axes, strict=True))
    )


def flat_pad(pairs: Sequence[tuple[Any, Any]]) -> list[Any]:
    """Per-axis pairs (first spatial axis first) → ``F.pad`` order (last axis first).

    >>> flat_pad(((1, 2), (3, 4)))
    [3, 4, 1, 2]
    """
    out: list[Any] = []
    for before, after in reversed(pairs):
        out += [before, after]
    return out


def symmetric(pairs: Pairs) -> tuple[int, ...] | None:
    """One non-negative pad per axis when every axis is symmetric, else None (ints only)."""
    if all(isinstance(b, int) and b == a and b >= 0 for b, a in pairs):
        return tuple(int(b) for b, _ in pairs)
    return None
