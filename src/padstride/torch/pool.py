"""``MaxPool1d/2d/3d`` and ``AvgPool1d/2d/3d`` in any padding convention.

Average pooling under a named convention (``same``, …) divides by the real input cells only,
like TF/Keras; explicit pads honour ``count_include_pad`` as PyTorch does. Each layer plans once,
in ``__init__``:

- static symmetric pads that PyTorch takes (explicit, or stride 1 with an odd kernel): the layer
  *is* the native op; its ``forward`` is ``nn``'s;
- otherwise ``F.pad`` with the geometry's pads, then an unpadded pool (average: divided by the
  pooled count of real cells). In eager mode, where the geometry proves it gives the same
  windows for this input (padded cells never counted), the native op runs unpadded instead:
  with the pads themselves when symmetric, else with ``padding=pad_before, ceil_mode=True``
  (for TF ``same`` that is every case except stride 1 with an even kernel).

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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.common_types import _size_1_t, _size_2_t, _size_3_t, _size_any_t

from ..geometry import Padding, PaddingError, effective_kernel, pool_output_size
from ._runtime import Pairs, Window, flat_pad, go_native, is_symbolic, native_twin, symmetric

__all__ = ["AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "native_pool_padding"]


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


@dataclass(frozen=True)
class Pool:
    """What a pooling layer does, planned in ``__init__``: its window, kind and rules.

    ``native`` is the symmetric padding of the native op when the layer *is* the native op.
    """

    window: Window
    ceil_mode: bool
    average: bool
    count_include_pad: bool = True
    divisor_override: int | None = None

    @property
    def native(self) -> tuple[int, ...] | None:
        native = self.window.native
        if native is None or not self._takes(native):
            return None
        if self.average and (self.dilated or (self.window.ndim == 3 and any(native))):
            return None  # F.avg_pool3d refuses inputs smaller than the kernel, padded or not
        return native

    @property
    def dilated(self) -> bool:
        return any(d != 1 for d in self.window.dilation)

    def _takes(self, padding: Sequence[int]) -> bool:
        """Whether PyTorch accepts this padding (at most half the kernel)."""
        return all(2 * p <= k for p, k in zip(padding, self.window.kernel, strict=True))

    def op(self, x: torch.Tensor, padding: tuple[int, ...] | int, ceil_mode: bool, include: bool) -> torch.Tensor:
        """The native pool (``padding`` symmetric)."""
        w, nd = self.window, self.window.ndim
        if not self.average:
            max_op = F.max_pool1d if nd == 1 else F.max_pool2d if nd == 2 else F.max_pool3d
            out: torch.Tensor = max_op(x, w.kernel, w.stride, padding, w.dilation, ceil_mode)
            return out
        if nd == 1:  # AvgPool1d has no divisor_override
            return F.avg_pool1d(x, w.kernel, w.stride, padding, ceil_mode, include)
        avg_op = F.avg_pool2d if nd == 2 else F.avg_pool3d
        return avg_op(x, w.kernel, w.stride, padding, ceil_mode, include, self.divisor_override)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pads from the geometry, then the cheapest exact op."""
        if self.dilated and self.average:
            return self._dilated_avg(x)
        w = self.window
        pairs = w.pads(x)
        sizes = w.sizes(x)
        if not is_symbolic(sizes):
            fast = self._eager_native(sizes, pairs)
            if fast is not None:
                return self.op(x, *fast)
        return self._padded(x, pairs, sizes)

    def _eager_native(self, sizes: Sequence[int], pairs: Pairs) -> tuple[tuple[int, ...], bool, bool] | None:
        """``(padding, ceil_mode, count_include_pad)`` of a native op with this input's windows, or None."""
        w = self.window
        if self.average and w.ndim == 3 and any(n < k for n, k in zip(sizes, w.kernel, strict=True)):
            return None  # F.avg_pool3d refuses inputs smaller than the kernel even when padding makes room
        native = symmetric(pairs)
        if native is not None and self._takes(native):
            return native, self.ceil_mode, self.count_include_pad
        if self.average and self.count_include_pad and any(p != (0, 0) for p in pairs):
            return None  # padded cells counted: the native ceil-mode windows would not count them
        fast = [
            native_pool_padding(n, k, s, d, p, self.ceil_mode)
            for n, k, s, d, p in zip(sizes, w.kernel, w.stride, w.dilation, pairs, strict=True)
        ]
        if all(p is not None for p in fast):
            return tuple(p for p in fast if p is not None), True, False
        return None

    def _padded(self, x: torch.Tensor, pairs: Pairs, sizes: Sequence[Any]) -> torch.Tensor:
        flat, w = flat_pad(pairs), self.window
        if not self.average:
            out = self.op(F.pad(x, flat, value=float("-inf")), 0, self.ceil_mode, True)
        else:
            out = self.op(F.pad(x, flat), 0, self.ceil_mode, True)
            if not self.count_include_pad and self.divisor_override is None:
                ones = torch.ones((1, 1, *sizes), dtype=x.dtype, device=x.device)
                out = out / self.op(F.pad(ones, flat), 0, self.ceil_mode, True)
        if self.ceil_mode:  # PyTorch's rule on the padded input may keep a window starting in the right pad
            for axis, (n, k, s, d, (b, a)) in enumerate(zip(sizes, w.kernel, w.stride, w.dilation, pairs, strict=True)):
                want = pool_output_size(n, effective_kernel(k, d), s, b, a, True)
                out = out.narrow(out.dim() - w.ndim + axis, 0, want)
        return out

    def _dilated_avg(self, x: torch.Tensor) -> torch.Tensor:
        """Window sums by a dilated convolution with ones, over each channel; divided by the
        same convolution of a map of the counted cells (or by ``divisor_override``)."""
        w, nd = self.window, self.window.ndim
        sizes = w.sizes(x)
        pairs = w.pads(x)
        ceil = self.ceil_mode
        spans = [effective_kernel(k, d) for k, d in zip(w.kernel, w.dilation, strict=True)]
        # ceil_mode: room for a last window's overhang, then the geometry's count (no sizes are
        # computed otherwise, so dynamic sizes export without guards)
        axes = zip(sizes, spans, w.stride, pairs, strict=True)
        wants = [pool_output_size(n, span, s, b, a, True, axis=i) for i, (n, span, s, (b, a)) in enumerate(axes)] \
            if ceil else []
        tails = flat_pad([(0, s - 1 if ceil else 0) for s in w.stride])
        ones = torch.ones((1, 1, *w.kernel), dtype=x.dtype, device=x.device)
        conv = F.conv1d if nd == 1 else F.conv2d if nd == 2 else F.conv3d

        def window_sums(t: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = conv(t, ones, None, w.stride, 0, w.dilation)
            for axis, want in enumerate(wants):
                out = out.narrow(2 + axis, 0, want)
            return out

        flat = x.flatten(0, -nd - 1).unsqueeze(1)
        total = window_sums(F.pad(F.pad(flat, flat_pad(pairs)), tails))
        if self.divisor_override is not None:
            out = total / self.divisor_override
        else:
            marks = torch.ones((1, 1, *sizes), dtype=x.dtype, device=x.device)
            marks = F.pad(marks, flat_pad(pairs), value=1.0 if self.count_include_pad else 0.0)
            out = total / window_sums(F.pad(marks, tails))
        return out.squeeze(1).reshape(*x.shape[:-nd], *out.shape[-nd:])


def _max_plan(ndim: int, kernel_size: Any, stride: Any, padding: object, dilation: Any, return_indices: bool,
              ceil_mode: bool) -> Pool:
    plan = Pool(Window.parse(ndim, kernel_size, stride, padding, dilation), ceil_mode, average=False)
    if return_indices and plan.native is None:
        raise PaddingError(f"return_indices needs static symmetric pads PyTorch takes (indices of a padded input "
                           f"mislead), got padding={plan.window.padding_repr()}")
    return plan


def _avg_plan(ndim: int, kernel_size: Any, stride: Any, padding: object, ceil_mode: bool,
              count_include_pad: bool | None, divisor_override: int | None, dilation: Any) -> Pool:
    window = Window.parse(ndim, kernel_size, stride, padding, dilation)
    if count_include_pad is None:
        # PyTorch's default for explicit pads; TF's rule (real cells only) for named conventions
        count_include_pad = all(not isinstance(a, str) for a in window.spec.axes)
    return Pool(window, ceil_mode, True, count_include_pad, divisor_override)


def _max_repr(layer: nn.Module, plan: Pool) -> str:
    return (f"kernel_size={layer.kernel_size}, stride={layer.stride}, padding={plan.window.padding_repr()}, "
            f"dilation={layer.dilation}, ceil_mode={layer.ceil_mode}")


def _avg_repr(layer: nn.Module, plan: Pool) -> str:
    dil = f", dilation={plan.window.dilation}" if plan.dilated else ""
    return (f"kernel_size={layer.kernel_size}, stride={layer.stride}, padding={plan.window.padding_repr()}, "
            f"ceil_mode={layer.ceil_mode}, count_include_pad={layer.count_include_pad}{dil}")


# -- max pooling -------------------------------------------------------------------------------


@native_twin(nn.MaxPool1d)
class MaxPool1d(nn.MaxPool1d):
    """``nn.MaxPool1d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> MaxPool1d(3, 2, padding="same")(torch.zeros(1, 1, 6)).shape
    torch.Size([1, 1, 3])
    """

    def __init__(self, kernel_size: _size_1_t, stride: _size_1_t | None = None, padding: object = 0,
                 dilation: _size_1_t = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        plan = _max_plan(1, kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        native: Any = plan.native or 0  # the pads the native op is built with (0: padded per forward)
        super().__init__(kernel_size, stride, native, dilation, return_indices, ceil_mode)
        self.plan = plan
        if plan.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.plan.window.spec

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.plan.forward(input)

    def extra_repr(self) -> str:
        return _max_repr(self, self.plan)


@native_twin(nn.MaxPool2d)
class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> MaxPool2d(3, 2, padding="same")(torch.zeros(1, 1, 6, 7)).shape
    torch.Size([1, 1, 3, 4])
    """

    def __init__(self, kernel_size: _size_2_t, stride: _size_2_t | None = None, padding: object = 0,
                 dilation: _size_2_t = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        plan = _max_plan(2, kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        native: Any = plan.native or 0  # the pads the native op is built with (0: padded per forward)
        super().__init__(kernel_size, stride, native, dilation, return_indices, ceil_mode)
        self.plan = plan
        if plan.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.plan.window.spec

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.plan.forward(input)

    def extra_repr(self) -> str:
        return _max_repr(self, self.plan)


@native_twin(nn.MaxPool3d)
class MaxPool3d(nn.MaxPool3d):
    """``nn.MaxPool3d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> MaxPool3d(2, padding="same")(torch.zeros(1, 1, 5, 5, 4)).shape
    torch.Size([1, 1, 3, 3, 2])
    """

    def __init__(self, kernel_size: _size_3_t, stride: _size_3_t | None = None, padding: object = 0,
                 dilation: _size_3_t = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        plan = _max_plan(3, kernel_size, stride, padding, dilation, return_indices, ceil_mode)
        native: Any = plan.native or 0  # the pads the native op is built with (0: padded per forward)
        super().__init__(kernel_size, stride, native, dilation, return_indices, ceil_mode)
        self.plan = plan
        if plan.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.plan.window.spec

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.plan.forward(input)

    def extra_repr(self) -> str:
        return _max_repr(self, self.plan)


# -- average pooling ---------------------------------------------------------------------------


@native_twin(nn.AvgPool1d)
class AvgPool1d(nn.AvgPool1d):
    """``nn.AvgPool1d`` in any convention; named conventions divide by real cells only (TF).

    ``count_include_pad=None`` (the default) means ``True`` for explicit pads, as in PyTorch, and
    ``False`` under a named convention, as in TF/Keras. ``dilation`` (keyword) as ONNX.

    >>> import torch
    >>> AvgPool1d(3, 2, padding="same")(torch.ones(1, 1, 6))   # padded cells are not averaged in
    tensor([[[1., 1., 1.]]])
    """

    def __init__(self, kernel_size: _size_1_t, stride: _size_1_t | None = None, padding: object = 0,
                 ceil_mode: bool = False, count_include_pad: bool | None = None, *, dilation: _size_1_t = 1) -> None:
        plan = _avg_plan(1, kernel_size, stride, padding, ceil_mode, count_include_pad, None, dilation)
        native: Any = plan.native or 0  # the pads the native op is built with (0: padded per forward)
        stride_arg: Any = stride
        super().__init__(kernel_size, stride_arg, native, ceil_mode, plan.count_include_pad)
        self.plan = plan
        self.dilation: _size_any_t = plan.window.dilation if plan.dilated else 1
        if plan.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.plan.window.spec

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.plan.forward(input)

    def extra_repr(self) -> str:
        return _avg_repr(self, self.plan)


@native_twin(nn.AvgPool2d)
class AvgPool2d(nn.AvgPool2d):
    """``nn.AvgPool2d`` in any convention; named conventions divide by real cells only (TF).

    ``count_include_pad=None`` (the default) means ``True`` for explicit pads, as in PyTorch, and
    ``False`` under a named convention, as in TF/Keras. ``dilation`` (keyword) as ONNX.

    >>> import torch
    >>> float(AvgPool2d(3, 2, padding="same")(torch.ones(1, 1, 6, 6)).min())
    1.0
    >>> AvgPool2d(2, 1, dilation=2)(torch.arange(16.0).reshape(1, 1, 4, 4))   # ONNX's dilated AveragePool
    tensor([[[[ 5.,  6.],
              [ 9., 10.]]]])
    """

    def __init__(self, kernel_size: _size_2_t, stride: _size_2_t | None = None, padding: object = 0,
                 ceil_mode: bool = False, count_include_pad: bool | None = None, divisor_override: int | None = None,
                 *, dilation: _size_2_t = 1) -> None:
        plan = _avg_plan(2, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, dilation)
        native: Any = plan.native or 0  # the pads the native op is built with (0: padded per forward)
        super().__init__(kernel_size, stride, native, ceil_mode, plan.count_include_pad, divisor_override)
        self.plan = plan
        self.dilation: _size_any_t = plan.window.dilation if plan.dilated else 1
        if plan.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.plan.window.spec

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.plan.forward(input)

    def extra_repr(self) -> str:
        return _avg_repr(self, self.plan)


@native_twin(nn.AvgPool3d)
class AvgPool3d(nn.AvgPool3d):
    """``nn.AvgPool3d`` in any convention; named conventions divide by real cells only (TF).

    ``count_include_pad=None`` (the default) means ``True`` for explicit pads, as in PyTorch, and
    ``False`` under a named convention, as in TF/Keras. ``dilation`` (keyword) as ONNX. Unlike
    ``nn.AvgPool3d`` it takes inputs smaller than the kernel where the padding makes room.

    >>> import torch
    >>> AvgPool3d(3, 2, padding="same")(torch.ones(1, 1, 2, 2, 2)).flatten().tolist()
    [1.0]
    """

    def __init__(self, kernel_size: _size_3_t, stride: _size_3_t | None = None, padding: object = 0,
                 ceil_mode: bool = False, count_include_pad: bool | None = None, divisor_override: int | None = None,
                 *, dilation: _size_3_t = 1) -> None:
        plan = _avg_plan(3, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, dilation)
        native: Any = plan.native or 0  # the pads the native op is built with (0: padded per forward)
        super().__init__(kernel_size, stride, native, ceil_mode, plan.count_include_pad, divisor_override)
        self.plan = plan
        self.dilation: _size_any_t = plan.window.dilation if plan.dilated else 1
        if plan.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.plan.window.spec

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return self.plan.forward(input)

    def extra_repr(self) -> str:
        return _avg_repr(self, self.plan)
