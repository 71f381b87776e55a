"""``Conv1d/2d/3d`` whose ``padding`` takes any geometry convention, an int or per-axis pairs.

They are subclasses of their ``torch.nn`` twins (same constructor, same ``.weight``/``.bias``),
so ``load_state_dict`` from ``nn.Conv2d`` works and ``isinstance(layer, nn.Conv2d)`` holds.

- Pads that do not depend on the input size and are symmetric: the native op with that
  padding, nothing else (zero overhead).
- Otherwise the pads are computed per forward by :mod:`padstride.geometry` from the input's
  size. Symmetric pads at that size still go to the native op (TF ``same`` with stride 2 on an
  odd input is symmetric); asymmetric or cropping pads use ``F.pad`` then an unpadded conv.

>>> import torch
>>> conv = Conv2d(3, 8, 3, stride=2, padding="same")
>>> conv(torch.zeros(1, 3, 224, 225)).shape
torch.Size([1, 8, 112, 113])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._runtime import flat_pad, is_symbolic, pads_for, parse_padding, sizes_of, static_pads, symmetric

__all__ = ["Conv1d", "Conv2d", "Conv3d"]

_MODES = ("zeros", "reflect", "replicate", "circular")
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class _PadConv:
    """Mixin for ``nn.ConvNd`` subclasses: padding resolved by the geometry."""

    _ndim: int

    def _setup(self, kernel_size: Any, stride: Any, padding: object, dilation: Any, padding_mode: str) -> Any:
        """Parse the padding; return what the native constructor gets (the pad, or 0)."""
        from ..geometry import per_axis

        if padding_mode not in _MODES:
            raise ValueError(f"padding_mode must be one of {_MODES}, got {padding_mode!r}")
        nd = self._ndim
        self._k = per_axis(kernel_size, nd, "kernel_size")
        self._s = per_axis(stride, nd, "stride")
        self._d = per_axis(dilation, nd, "dilation")
        self.spec = parse_padding(padding, nd)
        self.static = static_pads(self.spec, self._k, self._s, self._d)
        native = None if self.static is None else symmetric(self.static)
        self._native = native is not None
        return native if native is not None else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._native:
            return self._conv_forward(x, self.weight, self.bias)  # type: ignore[attr-defined]
        pairs = self.static if self.static is not None else pads_for(x, self._k, self._s, self._d, self.spec.axes)
        conv = _CONV[self._ndim]
        w, b = self.weight, self.bias  # type: ignore[attr-defined]
        stride, dilation, groups = self.stride, self.dilation, self.groups  # type: ignore[attr-defined]
        if self.padding_mode == "zeros" and not is_symbolic(sizes_of(x, self._ndim)):
            sym = symmetric(pairs)
            if sym is not None:  # e.g. TF same, stride 2, odd input: the native op pads
                return conv(x, w, b, stride, sym, dilation, groups)
        mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
        return conv(F.pad(x, flat_pad(pairs), mode=mode), w, b, stride, 0, dilation, groups)

    def extra_repr(self) -> str:
        text = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}".format(**self.__dict__)
        text += f", padding={_spec_repr(self.spec)}"
        if self.dilation != (1,) * self._ndim:  # type: ignore[attr-defined]
            text += f", dilation={self.dilation}"  # type: ignore[attr-defined]
        if self.groups != 1:  # type: ignore[attr-defined]
            text += f", groups={self.groups}"  # type: ignore[attr-defined]
        if self.bias is None:  # type: ignore[attr-defined]
            text += ", bias=False"
        if self.padding_mode != "zeros":  # type: ignore[attr-defined]
            text += f", padding_mode={self.padding_mode}"  # type: ignore[attr-defined]
        return text


def _spec_repr(spec: Any) -> str:
    axes = spec.axes
    if len(set(axes)) == 1:
        only = axes[0]
        if isinstance(only, str):
            return repr(only)
        return str(only[0]) if only[0] == only[1] else str(only)
    return str(tuple(axes))


class Conv1d(_PadConv, nn.Conv1d):
    """``nn.Conv1d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> layer = Conv1d(2, 4, 3, stride=2, padding="same")
    >>> tuple(layer(torch.zeros((1, 2) + (9,) * 1)).shape[2:])
    (5,)
    """

    _ndim = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: object = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        native = self._setup(kernel_size, stride, padding, dilation, padding_mode)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, native, dilation, groups, bias, padding_mode,
            device=device, dtype=dtype,
        )


class Conv2d(_PadConv, nn.Conv2d):
    """``nn.Conv2d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> layer = Conv2d(2, 4, 3, stride=2, padding="same")
    >>> tuple(layer(torch.zeros((1, 2) + (9,) * 2)).shape[2:])
    (5, 5)
    """

    _ndim = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: object = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        native = self._setup(kernel_size, stride, padding, dilation, padding_mode)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, native, dilation, groups, bias, padding_mode,
            device=device, dtype=dtype,
        )


class Conv3d(_PadConv, nn.Conv3d):
    """``nn.Conv3d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> layer = Conv3d(2, 4, 3, stride=2, padding="same")
    >>> tuple(layer(torch.zeros((1, 2) + (9,) * 3)).shape[2:])
    (5, 5, 5)
    """

    _ndim = 3

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: object = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        native = self._setup(kernel_size, stride, padding, dilation, padding_mode)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, native, dilation, groups, bias, padding_mode,
            device=device, dtype=dtype,
        )
