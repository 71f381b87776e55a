"""``Conv1d/2d/3d`` whose ``padding`` takes any geometry convention, an int or per-axis pairs.

They are subclasses of their ``torch.nn`` twins (same constructor, same ``.weight``/``.bias``),
so ``load_state_dict`` from ``nn.Conv2d`` works and ``isinstance(layer, nn.Conv2d)`` holds.
Each layer plans once, in ``__init__`` (:class:`padstride.torch._runtime.Window`):

- static symmetric pads (explicit, or a convention at stride 1 with an odd kernel): the layer
  *is* the native op, built with that padding; its ``forward`` is ``nn.ConvNd.forward``.
- otherwise one ``F.pad`` with the geometry's pads, then the unpadded native conv. In eager mode
  pads that come out symmetric for this input (TF ``same``, stride 2, odd size) go to the native
  conv's own ``padding`` instead, which saves the copy.

>>> import torch
>>> conv = Conv2d(3, 8, 3, stride=2, padding="same")
>>> conv(torch.zeros(1, 3, 224, 225)).shape
torch.Size([1, 8, 112, 113])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.common_types import _size_1_t, _size_2_t, _size_3_t
from torch.nn.modules.conv import _ConvNd

from ..geometry import Padding, PaddingError
from ._runtime import Window, flat_pad, go_native, is_symbolic, native_twin, symmetric

__all__ = ["Conv1d", "Conv2d", "Conv3d"]

Mode = Literal["zeros", "reflect", "replicate", "circular"]
_MODES = ("zeros", "reflect", "replicate", "circular")


def _window(ndim: int, kernel_size: Any, stride: Any, padding: object, dilation: Any, padding_mode: str) -> Window:
    if padding_mode not in _MODES:
        raise PaddingError(f"padding_mode must be one of {_MODES}, got {padding_mode!r}")
    return Window.parse(ndim, kernel_size, stride, padding, dilation)


def _op(ndim: int) -> Callable[..., torch.Tensor]:
    return F.conv1d if ndim == 1 else F.conv2d if ndim == 2 else F.conv3d


def conv_forward(layer: _ConvNd, window: Window, x: torch.Tensor) -> torch.Tensor:
    """The forward of a conv whose pads are not the native op's: one ``F.pad``, then the unpadded conv."""
    pairs = window.pads(x)
    op = _op(window.ndim)
    if layer.padding_mode == "zeros":
        if not is_symbolic(window.sizes(x)):
            native = symmetric(pairs)
            if native is not None:  # e.g. TF same, stride 2, odd input: the native op pads
                return op(x, layer.weight, layer.bias, layer.stride, native, layer.dilation, layer.groups)
        x = F.pad(x, flat_pad(pairs))
    else:
        x = F.pad(x, flat_pad(pairs), mode=layer.padding_mode)
    return op(x, layer.weight, layer.bias, layer.stride, 0, layer.dilation, layer.groups)


def conv_repr(layer: _ConvNd, window: Window) -> str:
    """``extra_repr`` of a padstride conv: ``nn``'s, with the padding as it was given."""
    text = f"{layer.in_channels}, {layer.out_channels}, kernel_size={layer.kernel_size}, stride={layer.stride}"
    text += f", padding={window.padding_repr()}"
    if layer.dilation != (1,) * window.ndim:
        text += f", dilation={layer.dilation}"
    if layer.groups != 1:
        text += f", groups={layer.groups}"
    if layer.bias is None:
        text += ", bias=False"
    if layer.padding_mode != "zeros":
        text += f", padding_mode={layer.padding_mode}"
    return text


@native_twin(nn.Conv1d)
class Conv1d(nn.Conv1d):
    """``nn.Conv1d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> Conv1d(2, 4, 3, stride=2, padding="same")(torch.zeros(1, 2, 9)).shape
    torch.Size([1, 4, 5])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: _size_1_t, stride: _size_1_t = 1,
        padding: object = 0, dilation: _size_1_t = 1, groups: int = 1, bias: bool = True,
        padding_mode: Mode = "zeros", device: Any = None, dtype: Any = None,
    ) -> None:
        window = _window(1, kernel_size, stride, padding, dilation, padding_mode)
        native: Any = window.native or 0  # the pads the native op is built with (0: padded per forward)
        super().__init__(in_channels, out_channels, kernel_size, stride, native, dilation, groups, bias,
                         padding_mode, device, dtype)
        self.window = window
        if window.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.window.spec

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return conv_forward(self, self.window, input)

    def extra_repr(self) -> str:
        return conv_repr(self, self.window)


@native_twin(nn.Conv2d)
class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> Conv2d(2, 4, 3, stride=2, padding="same")(torch.zeros(1, 2, 9, 8)).shape
    torch.Size([1, 4, 5, 4])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: _size_2_t, stride: _size_2_t = 1,
        padding: object = 0, dilation: _size_2_t = 1, groups: int = 1, bias: bool = True,
        padding_mode: Mode = "zeros", device: Any = None, dtype: Any = None,
    ) -> None:
        window = _window(2, kernel_size, stride, padding, dilation, padding_mode)
        native: Any = window.native or 0  # the pads the native op is built with (0: padded per forward)
        super().__init__(in_channels, out_channels, kernel_size, stride, native, dilation, groups, bias,
                         padding_mode, device, dtype)
        self.window = window
        if window.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.window.spec

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return conv_forward(self, self.window, input)

    def extra_repr(self) -> str:
        return conv_repr(self, self.window)


@native_twin(nn.Conv3d)
class Conv3d(nn.Conv3d):
    """``nn.Conv3d`` whose ``padding`` is any convention name, an int, or per-axis ``(before, after)``.

    >>> import torch
    >>> Conv3d(2, 4, 3, stride=2, padding=((1, 0), 1, "same"))(torch.zeros(1, 2, 9, 9, 9)).shape
    torch.Size([1, 4, 4, 5, 5])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: _size_3_t, stride: _size_3_t = 1,
        padding: object = 0, dilation: _size_3_t = 1, groups: int = 1, bias: bool = True,
        padding_mode: Mode = "zeros", device: Any = None, dtype: Any = None,
    ) -> None:
        window = _window(3, kernel_size, stride, padding, dilation, padding_mode)
        native: Any = window.native or 0  # the pads the native op is built with (0: padded per forward)
        super().__init__(in_channels, out_channels, kernel_size, stride, native, dilation, groups, bias,
                         padding_mode, device, dtype)
        self.window = window
        if window.native is not None:
            go_native(self)

    @property
    def spec(self) -> Padding:
        """The padding as given (:class:`padstride.geometry.Padding`)."""
        return self.window.spec

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return conv_forward(self, self.window, input)

    def extra_repr(self) -> str:
        return conv_repr(self, self.window)
