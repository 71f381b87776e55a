"""``ConvTranspose1d/2d/3d``: explicit pads as PyTorch, ``same``/``valid`` as Keras/TF.

The crop of the full output ``(n−1)·s + K`` comes from
:func:`padstride.geometry.conv_transpose_axis`; it never depends on the input size, so it is
planned once, in ``__init__``. When PyTorch can express it (``padding`` + ``output_padding``)
the layer *is* the native op (its ``forward`` is ``nn``'s, ``output_size`` included); otherwise
the layer computes the full output, crops or extends it, then adds the bias (rows past the full
output receive the bias only, as in PyTorch and TF).

>>> import torch
>>> up = ConvTranspose2d(4, 2, 3, stride=2, padding="same")    # Keras: n·s
>>> up(torch.zeros(1, 4, 5, 6)).shape
torch.Size([1, 2, 10, 12])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.common_types import _size_1_t, _size_2_t, _size_3_t
from torch.nn.modules.conv import _ConvTransposeNd

from ..geometry import Padding, PaddingError, conv_transpose_axis, per_axis
from ._runtime import flat_pad, go_native, native_twin, parse_padding, spec_repr

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]


@dataclass(frozen=True)
class Crop:
    """A transposed conv's padding, planned once: the crop of the full output, and PyTorch's own
    ``(padding, output_padding)`` when it can express that crop.

    >>> odd, even = Crop.parse(1, 3, 2, "same", None, 1, "keras"), Crop.parse(1, 4, 2, "same", None, 1, "keras")
    >>> odd.crop, odd.native, even.crop, even.native    # Keras same, n·s: crop (0, 1) is not PyTorch's
    (((0, 1),), None, ((1, 1),), ((1,), (0,)))
    """

    spec: Padding
    rule: str
    crop: tuple[tuple[int, int], ...]
    native: tuple[tuple[int, ...], tuple[int, ...]] | None

    @classmethod
    def parse(cls, ndim: int, kernel_size: Any, stride: Any, padding: object, output_padding: Any, dilation: Any,
              rule: str) -> Crop:
        k = per_axis(kernel_size, ndim, "kernel_size")
        s = per_axis(stride, ndim, "stride")
        d = per_axis(dilation, ndim, "dilation")
        ops = (None,) * ndim if output_padding is None else per_axis(output_padding, ndim, "output_padding")
        spec = parse_padding(padding, ndim)
        # the crop does not depend on the input size: any size gives the same pads
        axes = [conv_transpose_axis(8, k[i], s[i], (spec.axes[i],), ops[i], d[i], rule, axis=i) for i in range(ndim)]
        args = [a.torch_args for a in axes]
        native = None
        if all(a is not None for a in args):
            pairs = [a for a in args if a is not None]
            native = tuple(p for p, _ in pairs), tuple(o for _, o in pairs)
        return cls(spec, rule, tuple(a.pads for a in axes), native)

    def forward(self, layer: _ConvTransposeNd, x: torch.Tensor) -> torch.Tensor:
        """The full output, cropped (or extended) as planned, then the bias."""
        nd = len(self.crop)
        op: Callable[..., torch.Tensor] = (
            F.conv_transpose1d if nd == 1 else F.conv_transpose2d if nd == 2 else F.conv_transpose3d
        )
        y = op(x, layer.weight, None, layer.stride, 0, 0, layer.groups, layer.dilation)
        y = F.pad(y, [-p for p in flat_pad(self.crop)])
        if layer.bias is not None:
            y = y + layer.bias.view(-1, *([1] * nd))
        return y

    def repr(self, layer: _ConvTransposeNd) -> str:
        """``extra_repr``: ``nn``'s, with the padding as given and the crop."""
        text = f"{layer.in_channels}, {layer.out_channels}, kernel_size={layer.kernel_size}, stride={layer.stride}"
        text += f", padding={spec_repr(self.spec)}, crop={self.crop}"
        if layer.groups != 1:
            text += f", groups={layer.groups}"
        if layer.dilation != (1,) * len(self.crop):
            text += f", dilation={layer.dilation}"
        if layer.bias is None:
            text += ", bias=False"
        return text


def _crop(ndim: int, kernel_size: Any, stride: Any, padding: object, output_padding: Any, dilation: Any,
          rule: str, padding_mode: str) -> tuple[Crop, Any, Any]:
    """The plan, and the ``padding`` and ``output_padding`` the native constructor gets."""
    if padding_mode != "zeros":
        raise PaddingError(f"ConvTranspose supports padding_mode='zeros' only, got {padding_mode!r}")
    plan = Crop.parse(ndim, kernel_size, stride, padding, output_padding, dilation, rule)
    return (plan, *plan.native) if plan.native is not None else (plan, 0, 0)


def _no_output_size(output_size: list[int] | None) -> None:
    if output_size is not None:
        raise PaddingError("output_size needs pads that nn.ConvTranspose can express")


@native_twin(nn.ConvTranspose1d)
class ConvTranspose1d(nn.ConvTranspose1d):
    """``nn.ConvTranspose1d``; ``padding`` also takes ``'same'``/``'valid'`` (Keras) or per-axis pairs.

    See :class:`ConvTranspose2d` for the rules.

    >>> import torch
    >>> ConvTranspose1d(2, 2, 3, stride=2, padding="valid")(torch.zeros(1, 2, 4)).shape
    torch.Size([1, 2, 9])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: _size_1_t, stride: _size_1_t = 1,
        padding: object = 0, output_padding: _size_1_t | None = None, groups: int = 1, bias: bool = True,
        dilation: _size_1_t = 1, padding_mode: Literal["zeros"] = "zeros", device: Any = None, dtype: Any = None,
        *, rule: str = "keras",
    ) -> None:
        plan, pad, out_pad = _crop(1, kernel_size, stride, padding, output_padding, dilation, rule, padding_mode)
        super().__init__(in_channels, out_channels, kernel_size, stride, pad, out_pad, groups, bias, dilation,
                         padding_mode, device, dtype)
        self.plan = plan
        if plan.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.plan.spec

    @property
    def crop(self) -> tuple[tuple[int, int], ...]:
        """Per axis, ``(before, after)`` cropped from the full output (negative: extended)."""
        return self.plan.crop

    def forward(self, input: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        _no_output_size(output_size)
        return self.plan.forward(self, input)

    def extra_repr(self) -> str:
        return self.plan.repr(self)


@native_twin(nn.ConvTranspose2d)
class ConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d``; ``padding`` also takes ``'same'``/``'valid'`` (Keras) or per-axis pairs.

    Explicit pads crop ``(before, after)`` from the full output, then ``output_padding`` extends
    the end, as in PyTorch. ``'same'`` gives ``n·s`` and ``'valid'`` ``n·s + max(K − s, 0)``
    (Keras); ``rule='keras'`` places the odd crop as TF does, ``rule='keras_torch'`` as Keras 3
    does on its torch backend (see ``docs/torch.md``). ``output_padding=None`` is 0 for explicit
    pads and Keras' default for named ones.

    >>> import torch
    >>> ConvTranspose2d(2, 2, 3, stride=2, padding="valid")(torch.zeros(1, 2, 4, 5)).shape
    torch.Size([1, 2, 9, 11])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: _size_2_t, stride: _size_2_t = 1,
        padding: object = 0, output_padding: _size_2_t | None = None, groups: int = 1, bias: bool = True,
        dilation: _size_2_t = 1, padding_mode: Literal["zeros"] = "zeros", device: Any = None, dtype: Any = None,
        *, rule: str = "keras",
    ) -> None:
        plan, pad, out_pad = _crop(2, kernel_size, stride, padding, output_padding, dilation, rule, padding_mode)
        super().__init__(in_channels, out_channels, kernel_size, stride, pad, out_pad, groups, bias, dilation,
                         padding_mode, device, dtype)
        self.plan = plan
        if plan.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.plan.spec

    @property
    def crop(self) -> tuple[tuple[int, int], ...]:
        """Per axis, ``(before, after)`` cropped from the full output (negative: extended)."""
        return self.plan.crop

    def forward(self, input: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        _no_output_size(output_size)
        return self.plan.forward(self, input)

    def extra_repr(self) -> str:
        return self.plan.repr(self)


@native_twin(nn.ConvTranspose3d)
class ConvTranspose3d(nn.ConvTranspose3d):
    """``nn.ConvTranspose3d``; ``padding`` also takes ``'same'``/``'valid'`` (Keras) or per-axis pairs.

    See :class:`ConvTranspose2d` for the rules.

    >>> import torch
    >>> ConvTranspose3d(2, 2, 2, stride=2, padding="same")(torch.zeros(1, 2, 3, 4, 5)).shape
    torch.Size([1, 2, 6, 8, 10])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: _size_3_t, stride: _size_3_t = 1,
        padding: object = 0, output_padding: _size_3_t | None = None, groups: int = 1, bias: bool = True,
        dilation: _size_3_t = 1, padding_mode: Literal["zeros"] = "zeros", device: Any = None, dtype: Any = None,
        *, rule: str = "keras",
    ) -> None:
        plan, pad, out_pad = _crop(3, kernel_size, stride, padding, output_padding, dilation, rule, padding_mode)
        super().__init__(in_channels, out_channels, kernel_size, stride, pad, out_pad, groups, bias, dilation,
                         padding_mode, device, dtype)
        self.plan = plan
        if plan.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.plan.spec

    @property
    def crop(self) -> tuple[tuple[int, int], ...]:
        """Per axis, ``(before, after)`` cropped from the full output (negative: extended)."""
        return self.plan.crop

    def forward(self, input: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        _no_output_size(output_size)
        return self.plan.forward(self, input)

    def extra_repr(self) -> str:
        return self.plan.repr(self)
