"""Swap a model's conv, transposed-conv and pooling layers for padstride ones, weights kept.

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.MaxPool2d(2))
>>> tf_like = convert(net, padding="same")
>>> tf_like[0]
Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding='same')
>>> tf_like(torch.zeros(1, 3, 9, 9)).shape
torch.Size([1, 8, 3, 3])
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from . import conv as _conv
from . import pool as _pool
from . import transpose as _transpose

__all__ = ["convert", "replacement"]

PaddingChoice = object | Callable[[str, nn.Module], object] | None

_TORCH_NAMES = {"same": "torch_same", "valid": "valid"}
_SUPPORTED = tuple(
    getattr(nn, f"{kind}{nd}d") for kind in ("Conv", "ConvTranspose", "MaxPool", "AvgPool") for nd in (1, 2, 3)
)

_PADSTRIDE = tuple(
    getattr(module, f"{kind}{nd}d")
    for module, kinds in ((_conv, ("Conv",)), (_transpose, ("ConvTranspose",)), (_pool, ("MaxPool", "AvgPool")))
    for kind in kinds
    for nd in (1, 2, 3)
)


def _own_padding(layer: Any) -> object:
    """The layer's own padding as a padstride spec (PyTorch's ``'same'`` is ``torch_same``)."""
    pad = layer.padding
    if isinstance(pad, str):
        return _TORCH_NAMES[pad]
    return pad


def _is_padstride(layer: nn.Module) -> bool:
    return isinstance(layer, _PADSTRIDE)


def replacement(layer: nn.Module, padding: object = None) -> nn.Module | None:
    """The padstride twin of one ``torch.nn`` layer (None when it has none).

    ``padding=None`` keeps the layer's own padding; anything else is a padstride padding spec.

    >>> replacement(nn.AvgPool2d(3, 2, 1), "same")
    AvgPool2d(kernel_size=3, stride=2, padding='same', ceil_mode=False, count_include_pad=False)
    """
    if not isinstance(layer, _SUPPORTED):
        return None
    if padding is None and _is_padstride(layer):
        return None  # already padstride's, nothing asked
    return _rebuild(layer, _own_padding(layer) if padding is None else padding)


def _rebuild(layer: Any, pad: object) -> nn.Module | None:
    """``layer`` (an ``nn`` conv/pool, typed ``Any``: its attributes depend on its kind) rebuilt by padstride."""
    new: nn.Module
    for nd in (1, 2, 3):
        if isinstance(layer, getattr(nn, f"ConvTranspose{nd}d")):
            if layer.padding_mode != "zeros":
                return None
            explicit = not isinstance(pad, str)
            new = getattr(_transpose, f"ConvTranspose{nd}d")(
                layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, pad,
                layer.output_padding if explicit else None, layer.groups, layer.bias is not None, layer.dilation,
            )
            return _with_weights(new, layer)
        if isinstance(layer, getattr(nn, f"Conv{nd}d")):
            new = getattr(_conv, f"Conv{nd}d")(
                layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, pad,
                layer.dilation, layer.groups, layer.bias is not None, layer.padding_mode,
            )
            return _with_weights(new, layer)
        if isinstance(layer, getattr(nn, f"MaxPool{nd}d")):
            new = getattr(_pool, f"MaxPool{nd}d")(
                layer.kernel_size, layer.stride, pad, layer.dilation, layer.return_indices, layer.ceil_mode,
            )
            return new
        if isinstance(layer, getattr(nn, f"AvgPool{nd}d")):
            include = layer.count_include_pad if not isinstance(pad, str) else None
            extra = () if nd == 1 else (layer.divisor_override,)
            new = getattr(_pool, f"AvgPool{nd}d")(
                layer.kernel_size, layer.stride, pad, layer.ceil_mode, include, *extra,
            )
            return new
    return None


def _with_weights(new: nn.Module, old: Any) -> nn.Module:
    weight: torch.Tensor = old.weight
    new.to(device=weight.device, dtype=weight.dtype)
    new.load_state_dict(old.state_dict())
    new.train(old.training)
    return new


def convert(module: nn.Module, padding: PaddingChoice = "same", *, inplace: bool = False) -> nn.Module:
    """A copy of ``module`` whose Conv/ConvTranspose/MaxPool/AvgPool layers are padstride's.

    ``padding``: a padstride spec for every layer (``"same"``: TF's rule, the usual reason to
    convert a model ported from Keras), ``None`` to keep each layer's own padding, or a function
    ``(qualified_name, layer) -> spec`` called for each conv/pool layer (``None`` leaves it as it is).

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 3, stride=2), torch.nn.Conv2d(1, 1, 1))
    >>> convert(net, lambda name, layer: "same" if layer.stride[0] > 1 else None)[1]
    Conv2d(1, 1, kernel_size=(1, 1), stride=(1, 1))
    """
    root = module if inplace else copy.deepcopy(module)
    if callable(padding):
        choose = padding
    else:
        def choose(name: str, layer: nn.Module) -> object:
            return padding if padding is not None else _KEEP

    def visit(parent: nn.Module, prefix: str) -> None:
        for name, child in list(parent.named_children()):
            qual = f"{prefix}{name}"
            spec = choose(qual, child) if isinstance(child, _SUPPORTED) else None
            new = None
            if spec is not None:
                new = replacement(child, None if spec is _KEEP else spec)
            if new is not None:
                setattr(parent, name, new)
            else:
                visit(child, qual + ".")

    if isinstance(root, _SUPPORTED):
        spec = choose("", root)
        top = None if spec is None else replacement(root, None if spec is _KEEP else spec)
        return top if top is not None else root
    visit(root, "")
    return root


_KEEP: Any = object()
