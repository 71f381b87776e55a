"""``MaxPool1d/2d/3d`` and ``AvgPool1d/2d/3d`` in any padding convention.

Average pooling under a named convention (``same``, …) divides by the real input cells only,
like TF/Keras; explicit pads honour ``count_include_pad`` as PyTorch does. Which op runs:

1. static symmetric pads (explicit, or stride 1 with an odd kernel): the native op, nothing else;
2. otherwise the geometry gives the pads for the input's size, and the native op with
   ``padding=pad_before, ceil_mode=True`` is used when the geometry shows it yields the same
   windows (same count, same starts; padded cells never counted) — for TF ``same`` that is every
   case except stride 1 with an even kernel;
3. else ``F.pad`` then an unpadded pool (average: divided by the pooled count of real cells).

Average pooling takes a ``dilation`` too (keyword; ONNX AveragePool from opset 19 and TF's
``tf.nn.pool`` have it, PyTorch's avg pools do not): the window sums are a dilated convolution
of each channel with a kernel of ones, divided by the same convolution of a map of the cells
that count (``padstride.geometry.avg_divisors``' rule).

>>> import torch
>>> pool = AvgPool2d(3, 2, padding="same")
>>> pool(torch.ones(1, 1, 6, 6)).shape
torch.Size([1, 1, 3, 3])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..geometry import PaddingError, effective_kernel, pool_output_size
from ._runtime import WindowArgs, flat_pad, is_symbolic, pads_for, sizes_of, spec_repr, symmetric

__all__ = ["AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "native_pool_padding"]

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def native_pool_padding(
    n: int, kernel: int, stride: int, dilation: int, pads: tuple[int, int], ceil_mode: bool
) -> int | None:
    """The symmetric ``padding`` that makes PyTorch's ``ceil_mode=True`` pool give exactly the
    windows of ``pads`` on an input of size ``n`` (padded cells never used), or None.

    The windows start at ``j·s − pad_before`` in both; the geometry's output sizes must agree and
    PyTorch needs ``padding ≤ kernel // 2``.

    >>> native_pool_padding(6, 3, 2, 1, (0, 1), False)   # TF same, 6 → 3
    0
    >>> native_pool_padding(6, 2, 1, 1, (0, 1), False) is None   # stride 1, even kernel
    True
    """
    before, after = pads
    if before < 0 or after < 0 or 2 * before > kernel:
        return None
    span = effective_kernel(kernel, dilation)
    want = pool_output_size(n, span, stride, before, after, ceil_mode)
    try:
        got = pool_output_size(n, span, stride, before, before, True)
    except PaddingError:  # the window does not fit the natively padded input
        return None
    return before if want == got else None


class _PadPool(WindowArgs):
    """Mixin for the pooling layers: pads from the geometry, the cheapest exact op."""

    _ndim: int
    _max: bool
    _small_input_check = False

    def _setup(self, kernel_size: Any, stride: Any, padding: object, dilation: Any) -> Any:
        native = self._parse(kernel_size, stride, padding, dilation)
        if native is not None and any(2 * p > k for p, k in zip(native, self._k, strict=True)):
            native = None  # PyTorch refuses padding > kernel // 2
        self._native = native is not None
        return native if native is not None else 0

    # -- the three paths ---------------------------------------------------------------------
    def _pool(self, x: torch.Tensor, padding: Any, ceil_mode: bool, count_include_pad: bool) -> torch.Tensor:
        nd = self._ndim
        if self._max:
            return _MAX[nd](x, self._k, self._s, padding, self._d, ceil_mode)  # type: ignore[no-any-return]
        div = self.divisor_override  # type: ignore[attr-defined]
        if nd == 1:
            if div is not None:
                raise ValueError("AvgPool1d has no divisor_override")
            return F.avg_pool1d(x, self._k, self._s, padding, ceil_mode, count_include_pad)
        return _AVG[nd](x, self._k, self._s, padding, ceil_mode, count_include_pad, div)  # type: ignore[no-any-return]

    def forward(self, x: torch.Tensor) -> Any:
        ceil = self.ceil_mode  # type: ignore[attr-defined]
        include = getattr(self, "count_include_pad", False)
        if self._native and not self._small_input_check:
            return self._pool(x, self.padding, ceil, include)  # type: ignore[attr-defined]
        sizes = sizes_of(x, self._ndim)
        # F.avg_pool3d refuses inputs smaller than the kernel even when padding makes room
        native_ok = not self._small_input_check or all(n >= k for n, k in zip(sizes, self._k, strict=True))
        if self._native and native_ok:
            return self._pool(x, self.padding, ceil, include)  # type: ignore[attr-defined]
        pairs = self.static if self.static is not None else pads_for(x, self._k, self._s, self._d, self.spec.axes)
        symbolic = is_symbolic(sizes)
        if self.static is not None and symmetric(self.static) is not None and not self._max:
            pairs = self.static  # AvgPool3d on an input smaller than the kernel
        if getattr(self, "return_indices", False):
            raise ValueError("return_indices needs static symmetric padding (indices of a padded input mislead)")
        if not symbolic and native_ok and (self._max or not include or all(p == (0, 0) for p in pairs)):
            fast = [
                native_pool_padding(n, k, s, d, p, ceil)
                for n, k, s, d, p in zip(sizes, self._k, self._s, self._d, pairs, strict=True)
            ]
            if all(p is not None for p in fast):
                return self._pool(x, tuple(fast), True, False)
        return self._padded(x, pairs, sizes, symbolic, ceil, include)

    def _padded(self, x: torch.Tensor, pairs: Any, sizes: Any, symbolic: bool, ceil: bool, include: bool) -> Any:
        flat = flat_pad(pairs)
        if self._max:
            out = self._pool(F.pad(x, flat, value=float("-inf")), 0, ceil, True)
        else:
            out = self._pool(F.pad(x, flat), 0, ceil, True)
            if not include and self.divisor_override is None:  # type: ignore[attr-defined]
                ones = torch.ones((1, 1, *sizes), dtype=x.dtype, device=x.device)
                out = out / self._pool(F.pad(ones, flat), 0, ceil, True)
        if ceil:  # PyTorch's rule on the padded input may keep a window starting in the right pad
            for axis, (n, k, s, d, (b, a)) in enumerate(zip(sizes, self._k, self._s, self._d, pairs, strict=True)):
                want = pool_output_size(n, effective_kernel(k, d), s, b, a, True)
                out = out.narrow(out.dim() - self._ndim + axis, 0, want)
        return out

    def _repr_padding(self) -> str:
        return spec_repr(self.spec)


class _MaxBase(_PadPool):
    _max = True

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: object = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        native = self._setup(kernel_size, stride, padding, dilation)
        super().__init__(kernel_size, stride, native, dilation, return_indices, ceil_mode)  # type: ignore[call-arg]

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self._repr_padding()}, "  # type: ignore[attr-defined]
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"  # type: ignore[attr-defined]
        )


class _AvgBase(_PadPool):
    """``nn.AvgPool1d``'s constructor (no ``divisor_override``), plus ``dilation``."""

    _max = False

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: object = 0,
        ceil_mode: bool = False,
        count_include_pad: bool | None = None,
        *,
        dilation: Any = 1,
    ) -> None:
        self._init(kernel_size, stride, padding, ceil_mode, count_include_pad, dilation=dilation)
        self.divisor_override = None  # read by _pool; nn.AvgPool1d has none

    def _init(self, kernel_size: Any, stride: Any, padding: object, ceil_mode: bool, include: Any, *rest: Any,
              dilation: Any = 1) -> None:
        native = self._setup(kernel_size, stride, padding, dilation)
        self._dilated = any(d != 1 for d in self._d)
        if self._dilated:  # no native op: always the dilated sum below
            native, self._native = 0, False
        include = self._include(include)
        super().__init__(kernel_size, stride, native, ceil_mode, include, *rest)  # type: ignore[call-arg]
        self.dilation = self._d if self._dilated else 1

    def _include(self, count_include_pad: bool | None) -> bool:
        if count_include_pad is not None:
            return count_include_pad
        # PyTorch's default for explicit pads; TF's rule (real cells only) for named conventions
        return all(not isinstance(a, str) for a in self.spec.axes)

    def forward(self, x: torch.Tensor) -> Any:
        return self._dilated_avg(x) if self._dilated else super().forward(x)

    def _dilated_avg(self, x: torch.Tensor) -> torch.Tensor:
        """Window sums by a dilated convolution with ones, over each channel; divided by the
        same convolution of a map of the counted cells (or by ``divisor_override``)."""
        nd = self._ndim
        sizes = sizes_of(x, nd)
        pairs = self.static if self.static is not None else pads_for(x, self._k, self._s, self._d, self.spec.axes)
        ceil = self.ceil_mode  # type: ignore[attr-defined]
        spans = [effective_kernel(k, d) for k, d in zip(self._k, self._d, strict=True)]
        # ceil_mode: room for a last window's overhang, then the geometry's count (no sizes are
        # computed otherwise, so dynamic sizes export without guards)
        axes = zip(sizes, spans, self._s, pairs, strict=True)
        wants = [pool_output_size(n, span, s, b, a, True, axis=i) for i, (n, span, s, (b, a)) in enumerate(axes)] \
            if ceil else []
        tails = [s - 1 if ceil else 0 for s in self._s]
        ones = torch.ones((1, 1, *self._k), dtype=x.dtype, device=x.device)

        def window_sums(t: torch.Tensor) -> torch.Tensor:
            out = _CONV[nd](t, ones, None, self._s, 0, self._d)
            for axis, want in enumerate(wants):
                out = out.narrow(2 + axis, 0, want)
            return out

        flat = x.flatten(0, -nd - 1).unsqueeze(1)
        padded = F.pad(F.pad(flat, flat_pad(pairs)), flat_pad([(0, t) for t in tails]))
        total = window_sums(padded)
        div = self.divisor_override
        if div is not None:
            out = total / div
        else:
            marks = torch.ones((1, 1, *sizes), dtype=x.dtype, device=x.device)
            marks = F.pad(marks, flat_pad(pairs), value=1.0 if self.count_include_pad else 0.0)  # type: ignore[attr-defined]
            out = total / window_sums(F.pad(marks, flat_pad([(0, t) for t in tails])))
        return out.squeeze(1).unflatten(0, x.shape[:-nd])

    def extra_repr(self) -> str:
        dil = f", dilation={self.dilation}" if self._dilated else ""
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self._repr_padding()}, "  # type: ignore[attr-defined]
            f"ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad}{dil}"  # type: ignore[attr-defined]
        )


class _AvgDivisorBase(_AvgBase):
    """``nn.AvgPool2d/3d``'s constructor (with ``divisor_override``), plus ``dilation``."""

    def __init__(  # type: ignore[override]
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: object = 0,
        ceil_mode: bool = False,
        count_include_pad: bool | None = None,
        divisor_override: int | None = None,
        *,
        dilation: Any = 1,
    ) -> None:
        self._init(kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, dilation=dilation)


class MaxPool1d(_MaxBase, nn.MaxPool1d):
    """``nn.MaxPool1d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> MaxPool1d(3, 2, padding="same")(torch.zeros(1, 1, 6)).shape
    torch.Size([1, 1, 3])
    """

    _ndim = 1


class MaxPool2d(_MaxBase, nn.MaxPool2d):
    """``nn.MaxPool2d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> MaxPool2d(3, 2, padding="same")(torch.zeros(1, 1, 6, 7)).shape
    torch.Size([1, 1, 3, 4])
    """

    _ndim = 2


class MaxPool3d(_MaxBase, nn.MaxPool3d):
    """``nn.MaxPool3d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> MaxPool3d(2, padding="same")(torch.zeros(1, 1, 5, 5, 4)).shape
    torch.Size([1, 1, 3, 3, 2])
    """

    _ndim = 3


class AvgPool1d(_AvgBase, nn.AvgPool1d):
    """``nn.AvgPool1d`` in any convention; named conventions divide by real cells only (TF).

    ``count_include_pad=None`` (the default) means ``True`` for explicit pads, as in PyTorch, and
    ``False`` under a named convention, as in TF/Keras.

    >>> import torch
    >>> AvgPool1d(3, 2, padding="same")(torch.ones(1, 1, 6))   # padded cells are not averaged in
    tensor([[[1., 1., 1.]]])
    """

    _ndim = 1


class AvgPool2d(_AvgDivisorBase, nn.AvgPool2d):
    """``nn.AvgPool2d`` in any convention; named conventions divide by real cells only (TF).

    ``count_include_pad=None`` (the default) means ``True`` for explicit pads, as in PyTorch, and
    ``False`` under a named convention, as in TF/Keras.

    >>> import torch
    >>> float(AvgPool2d(3, 2, padding="same")(torch.ones(1, 1, 6, 6)).min())
    1.0
    >>> AvgPool2d(2, 1, dilation=2)(torch.arange(16.0).reshape(1, 1, 4, 4))   # ONNX's dilated AveragePool
    tensor([[[[ 5.,  6.],
              [ 9., 10.]]]])
    """

    _ndim = 2


class AvgPool3d(_AvgDivisorBase, nn.AvgPool3d):
    """``nn.AvgPool3d`` in any convention; named conventions divide by real cells only (TF).

    ``count_include_pad=None`` (the default) means ``True`` for explicit pads, as in PyTorch, and
    ``False`` under a named convention, as in TF/Keras.

    >>> import torch
    >>> AvgPool3d(3, 2, padding="same")(torch.ones(1, 1, 2, 2, 2)).flatten().tolist()
    [1.0]
    """

    _ndim = 3
    _small_input_check = True
