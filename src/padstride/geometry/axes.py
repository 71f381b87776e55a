"""Broadcast scalar-or-per-axis arguments to one value per spatial axis.

>>> per_axis(3, 2, "kernel")
(3, 3)
>>> per_axis((3, 5), 2, "kernel")
(3, 5)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from .errors import PaddingError

__all__ = ["IntOrSeq", "infer_ndim", "per_axis"]

T = TypeVar("T")
IntOrSeq = int | Sequence[int]


def _is_seq(value: object) -> bool:
    if type(value) in (tuple, list):  # the common case, without the slower ABC check
        return True
    return isinstance(value, Sequence) and not isinstance(value, str)


def infer_ndim(*values: object) -> int:
    """Number of spatial axes implied by the first sequence argument (1 if all are scalars).

    >>> infer_ndim(5, (3, 3), 1)
    2
    """
    lengths = {len(v) for v in values if _is_seq(v)}  # type: ignore[arg-type]
    if len(lengths) > 1:
        raise PaddingError(f"arguments disagree on the number of spatial axes: {sorted(lengths)}")
    return lengths.pop() if lengths else 1


def per_axis(value: int | Sequence[int], ndim: int, name: str) -> tuple[int, ...]:
    """One int per axis from a scalar or a sequence of length ``ndim``."""
    items: tuple[object, ...]
    if _is_seq(value):
        items = tuple(value)  # type: ignore[arg-type]
        if len(items) != ndim:
            raise PaddingError(f"{name} has {len(items)} values for {ndim} spatial axes: {items}")
    else:
        items = (value,) * ndim
    if all(type(item) is int for item in items):
        return items  # type: ignore[return-value]
    out = []
    for axis, item in enumerate(items):
        if isinstance(item, bool) or not isinstance(item, int):
            if hasattr(item, "__index__"):
                item = item.__index__()  # numpy integers
            else:
                raise PaddingError(f"axis {axis}: {name} must be an integer, got {item!r}")
        out.append(int(item))
    return tuple(out)
