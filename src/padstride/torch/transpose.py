"""``ConvTranspose1d/2d/3d``: explicit pads as PyTorch, ``same``/``valid`` as Keras/TF.

The crop of the full output ``(n−1)·s + K`` comes from
:func:`padstride.geometry.conv_transpose_axis`; it never depends on the input size, so it is
fixed at construction. When PyTorch can express it (``padding`` + ``output_padding``) the native
op runs as is; otherwise the layer computes the full output, crops or extends it, then adds the
bias (rows past the full output receive the bias only, as in PyTorch and TF).

>>> import torch
>>> up = ConvTranspose2d(4, 2, 3, stride=2, padding="same")    # Keras: n·s
>>> up(torch.zeros(1, 4, 5, 6)).shape
torch.Size([1, 2, 10, 12])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..geometry import conv_transpose_axis, per_axis
from ._runtime import flat_pad, parse_padding

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_CONVT = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


class _PadConvTranspose:
    """Mixin for ``nn.ConvTransposeNd`` subclasses."""

    _ndim: int

    def _setup(
        self, kernel_size: Any, stride: Any, padding: object, output_padding: Any, dilation: Any, rule: str
    ) -> tuple[Any, Any]:
        nd = self._ndim
        k = per_axis(kernel_size, nd, "kernel_size")
        s = per_axis(stride, nd, "stride")
        d = per_axis(dilation, nd, "dilation")
        ops = (None,) * nd if output_padding is None else per_axis(output_padding, nd, "output_padding")
        self.spec = parse_padding(padding, nd)
        self.rule = rule
        # the crop does not depend on the input size: any size gives the same pads
        axes = [
            conv_transpose_axis(8, k[i], s[i], (self.spec.axes[i],), ops[i], d[i], rule, axis=i) for i in range(nd)
        ]
        self.crop = tuple(a.pads for a in axes)
        args = [a.torch_args for a in axes]
        self._native = all(a is not None for a in args)
        if self._native:
            return tuple(a[0] for a in args), tuple(a[1] for a in args)  # type: ignore[index]
        return 0, 0

    def forward(self, x: torch.Tensor, output_size: Any = None) -> torch.Tensor:
        if self._native:
            return super().forward(x, output_size)  # type: ignore[misc,no-any-return]
        if output_size is not None:
            raise ValueError("output_size needs pads that nn.ConvTranspose can express")
        w = self.weight  # type: ignore[attr-defined]
        y = _CONVT[self._ndim](x, w, None, self.stride, 0, 0, self.groups, self.dilation)  # type: ignore[attr-defined]
        y = F.pad(y, [-p for p in flat_pad(self.crop)])
        if self.bias is not None:  # type: ignore[attr-defined]
            y = y + self.bias.view(-1, *([1] * self._ndim))  # type: ignore[attr-defined]
        return y

    def extra_repr(self) -> str:
        from .conv import _spec_repr

        text = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}".format(**self.__dict__)
        text += f", padding={_spec_repr(self.spec)}, crop={self.crop}"
        if self.groups != 1:  # type: ignore[attr-defined]
            text += f", groups={self.groups}"  # type: ignore[attr-defined]
        if self.dilation != (1,) * self._ndim:  # type: ignore[attr-defined]
            text += f", dilation={self.dilation}"  # type: ignore[attr-defined]
        if self.bias is None:  # type: ignore[attr-defined]
            text += ", bias=False"
        return text


class ConvTranspose1d(_PadConvTranspose, nn.ConvTranspose1d):
    """``nn.ConvTranspose1d``; ``padding`` also takes ``'same'``/``'valid'`` (Keras) or per-axis pairs.

    Explicit pads crop ``(before, after)`` from the full output, then ``output_padding`` extends
    the end, as in PyTorch. ``'same'`` gives ``n·s`` and ``'valid'`` ``n·s + max(K − s, 0)``
    (Keras); ``rule='keras'`` places the odd crop as TF does, ``rule='keras_torch'`` as Keras 3
    does on its torch backend (see ``docs/torch.md``). ``output_padding=None`` is 0 for explicit
    pads and Keras' default for named ones.

    >>> import torch
    >>> up = ConvTranspose1d(2, 2, 3, stride=2, padding="valid")
    >>> tuple(up(torch.zeros((1, 2) + (4,) * 1)).shape[2:])
    (9,)
    """

    _ndim = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: object = 0,
        output_padding: Any = None,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        rule: str = "keras",
    ) -> None:
        pad, out_pad = self._setup(kernel_size, stride, padding, output_padding, dilation, rule)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, pad, out_pad, groups, bias, dilation, padding_mode,
            device=device, dtype=dtype,
        )


class ConvTranspose2d(_PadConvTranspose, nn.ConvTranspose2d):
    """``nn.ConvTranspose2d``; ``padding`` also takes ``'same'``/``'valid'`` (Keras) or per-axis pairs.

    Explicit pads crop ``(before, after)`` from the full output, then ``output_padding`` extends
    the end, as in PyTorch. ``'same'`` gives ``n·s`` and ``'valid'`` ``n·s + max(K − s, 0)``
    (Keras); ``rule='keras'`` places the odd crop as TF does, ``rule='keras_torch'`` as Keras 3
    does on its torch backend (see ``docs/torch.md``). ``output_padding=None`` is 0 for explicit
    pads and Keras' default for named ones.

    >>> import torch
    >>> up = ConvTranspose2d(2, 2, 3, stride=2, padding="valid")
    >>> tuple(up(torch.zeros((1, 2) + (4,) * 2)).shape[2:])
    (9, 9)
    """

    _ndim = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: object = 0,
        output_padding: Any = None,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        rule: str = "keras",
    ) -> None:
        pad, out_pad = self._setup(kernel_size, stride, padding, output_padding, dilation, rule)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, pad, out_pad, groups, bias, dilation, padding_mode,
            device=device, dtype=dtype,
        )


class ConvTranspose3d(_PadConvTranspose, nn.ConvTranspose3d):
    """``nn.ConvTranspose3d``; ``padding`` also takes ``'same'``/``'valid'`` (Keras) or per-axis pairs.

    Explicit pads crop ``(before, after)`` from the full output, then ``output_padding`` extends
    the end, as in PyTorch. ``'same'`` gives ``n·s`` and ``'valid'`` ``n·s + max(K − s, 0)``
    (Keras); ``rule='keras'`` places the odd crop as TF does, ``rule='keras_torch'`` as Keras 3
    does on its torch backend (see ``docs/torch.md``). ``output_padding=None`` is 0 for explicit
    pads and Keras' default for named ones.

    >>> import torch
    >>> up = ConvTranspose3d(2, 2, 3, stride=2, padding="valid")
    >>> tuple(up(torch.zeros((1, 2) + (4,) * 3)).shape[2:])
    (9, 9, 9)
    """

    _ndim = 3

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: object = 0,
        output_padding: Any = None,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        rule: str = "keras",
    ) -> None:
        pad, out_pad = self._setup(kernel_size, stride, padding, output_padding, dilation, rule)
        super().__init__(
            in_channels, out_channels, kernel_size, stride, pad, out_pad, groups, bias, dilation, padding_mode,
            device=device, dtype=dtype,
        )
