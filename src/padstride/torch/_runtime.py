"""What every padstride layer plans once, in ``__init__``: its window and whether its pads are static.

A layer's pads come only from :func:`padstride.geometry.resolve_axis`. They are *static* when
they do not depend on the input size: explicit pads, a convention at stride 1, or a convention
whose pads come out the same for every residue of the size modulo the stride (TF ``same`` with a
1×1 kernel at stride 2 pads nothing). Static symmetric pads make the layer exactly its ``torch.nn``
twin (:func:`native_twin`, :func:`go_native`); otherwise the pads are computed per forward from the input's size.
The geometry's arithmetic on that size uses ``+ − * // %`` only
(:func:`padstride.geometry.padding.same_total`), so the very same call works on ``torch.SymInt``
sizes inside ``torch.compile``, ``torch.export`` and ONNX export, and the exported graph
recomputes the pads for every input size.

>>> import torch
>>> plan = Window.parse(2, 3, 2, "same", 1)
>>> plan.static is None, plan.pads(torch.zeros(1, 1, 7, 8))
(True, ((1, 1), (0, 1)))
>>> Window.parse(2, 1, 2, "same", 1).native   # 1×1 at stride 2: TF pads nothing, whatever the size
(0, 0)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
from torch import nn

from ..geometry import Padding, PaddingError, per_axis, resolve_axis
from ..geometry.padding import AxisPad

__all__ = [
    "Pairs", "Size", "Window", "flat_pad", "go_native", "is_symbolic", "native_twin", "parse_padding", "spec_repr",
    "symmetric",
]

Size = int | Sequence[int]
"""A kernel size, stride or dilation: one int for every axis, or one per axis."""
Pairs = tuple[tuple[Any, Any], ...]
"""Per-axis ``(before, after)`` pads: ints, or ``torch.SymInt`` while tracing."""

M = TypeVar("M", bound=nn.Module)


def parse_padding(padding: object, ndim: int) -> Padding:
    """Normalize a layer's ``padding`` argument (torch's ``'same'`` string included).

    >>> parse_padding((1, 2), 2).axes
    ((1, 1), (2, 2))
    """
    if isinstance(padding, list):
        padding = tuple(padding)
    return Padding.parse(padding, ndim)


def is_symbolic(sizes: Sequence[Any]) -> bool:
    """True while tracing (``torch.compile``, export) or when a size is not a plain int.

    Then the layers take the one branch-free path (``F.pad`` with the geometry's pads) instead of
    testing the pads' values, which would add guards and recompile for every input size.
    """
    return torch.compiler.is_compiling() or any(not isinstance(n, int) for n in sizes)


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
    """One non-negative pad per axis when every axis is symmetric, else None (ints only).

    >>> symmetric(((1, 1), (0, 0))), symmetric(((0, 1),))
    ((1, 0), None)
    """
    if all(isinstance(b, int) and b == a and b >= 0 for b, a in pairs):
        return tuple(int(b) for b, _ in pairs)
    return None


def spec_repr(spec: Padding) -> str:
    """How a layer's ``repr`` shows its padding: one value for all axes when they agree.

    >>> spec_repr(Padding.parse("same", 2)), spec_repr(Padding.parse(1, 2)), spec_repr(Padding.parse([(0, 1), 2], 2))
    ("'same'", '1', '((0, 1), (2, 2))')
    """
    axes = spec.axes
    if len(set(axes)) == 1:
        only = axes[0]
        if isinstance(only, str):
            return repr(only)
        return str(only[0]) if only[0] == only[1] else str(only)
    return str(tuple(axes))


def _static_axis(k: int, s: int, d: int, pad: AxisPad, axis: int) -> tuple[int, int] | None:
    """The pads of one axis when no input size changes them, else None.

    The geometry's pads depend on the size ``n`` only through ``n mod s`` (``same_total``), so
    one size per residue decides it.
    """
    found = {resolve_axis(n, k, s, d, pad, axis) for n in range(s, 2 * s)}
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class Window:
    """One layer's per-axis kernel, stride and dilation, its padding spec, and its static pads.

    >>> Window.parse(1, 3, None, "same", 1).stride   # a pool's stride defaults to its kernel
    (3,)
    """

    spec: Padding
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    static: Pairs | None
    """The pads when they do not depend on the input size, else None."""

    @classmethod
    def parse(cls, ndim: int, kernel_size: Size, stride: Size | None, padding: object, dilation: Size) -> Window:
        """Check and normalize a layer's arguments; find its static pads with the geometry."""
        kernel = per_axis(kernel_size, ndim, "kernel_size")
        strides = kernel if stride is None else per_axis(stride, ndim, "stride")
        dilations = per_axis(dilation, ndim, "dilation")
        spec = parse_padding(padding, ndim)
        axes = [
            _static_axis(k, s, d, pad, axis)
            for axis, (k, s, d, pad) in enumerate(zip(kernel, strides, dilations, spec.axes, strict=True))
        ]
        static = None if any(a is None for a in axes) else tuple(a for a in axes if a is not None)
        return cls(spec, kernel, strides, dilations, static)

    @property
    def ndim(self) -> int:
        return len(self.kernel)

    @property
    def native(self) -> tuple[int, ...] | None:
        """The symmetric padding the native op takes when the static pads have one, else None."""
        return None if self.static is None else symmetric(self.static)

    def sizes(self, x: torch.Tensor) -> tuple[Any, ...]:
        """The spatial sizes of ``x`` (ints, or SymInts while tracing)."""
        if x.dim() < self.ndim + 1:
            raise PaddingError(
                f"expected an input with {self.ndim} spatial axes after the channels, got shape {tuple(x.shape)}"
            )
        return tuple(x.shape[-self.ndim:])

    def pads(self, x: torch.Tensor) -> Pairs:
        """Per-axis ``(before, after)`` for the input ``x``: the static pads, or the geometry's for its size."""
        if self.static is not None:
            return self.static
        return tuple(
            resolve_axis(n, k, s, d, pad, axis)
            for axis, (n, k, s, d, pad) in enumerate(
                zip(self.sizes(x), self.kernel, self.stride, self.dilation, self.spec.axes, strict=True)
            )
        )

    def padding_repr(self) -> str:
        """How a layer's ``repr`` shows its padding (:func:`spec_repr`)."""
        return spec_repr(self.spec)


_TWINS: dict[type[nn.Module], type[nn.Module]] = {}


def native_twin(base: type[nn.Module]) -> Callable[[type[M]], type[M]]:
    """Class decorator: give a padstride layer a twin whose ``forward`` *is* ``base.forward``.

    The twin is a subclass named like the layer (repr, summaries, ``isinstance`` all unchanged),
    stored as ``_Native<name>`` in the layer's module (``pickle``, ``copy``). A layer whose pads
    are static and symmetric becomes its twin at the end of ``__init__`` (:func:`go_native`):
    then calling it is calling the ``torch.nn`` op, no extra Python.
    """

    def register(cls: type[M]) -> type[M]:
        qualname = f"_Native{cls.__name__}"
        twin = type(cls.__name__, (cls,), {
            "forward": base.forward,
            "__module__": cls.__module__,
            "__qualname__": qualname,
            "__doc__": f"{cls.__name__} with static symmetric pads: ``{base.__module__}.{base.__name__}.forward``.",
        })
        setattr(sys.modules[cls.__module__], qualname, twin)
        _TWINS[cls] = twin
        return cls

    return register


def go_native(layer: nn.Module) -> None:
    """Turn ``layer`` into its :func:`native_twin` (subclasses of padstride's layers keep their class)."""
    twin = _TWINS.get(type(layer))
    if twin is not None:
        layer.__class__ = twin
