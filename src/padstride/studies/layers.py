"""The one place studies build convolution and pooling layers in a padding convention.

Every model in padstride.studies gets its layers from :func:`conv_layer` and :func:`max_pool`,
which are :mod:`padstride.torch` layers: any convention works, including TF ``same`` at stride 2
(pads from :mod:`padstride.geometry`, never computed here).

>>> import torch
>>> conv = conv_layer(1, 4, 3, stride=2, padding="same")
>>> conv(torch.zeros(1, 1, 28, 28)).shape
torch.Size([1, 4, 14, 14])
"""

from __future__ import annotations

from typing import Any

__all__ = ["conv_layer", "max_pool"]


def conv_layer(in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: object = "valid",
               ndim: int = 2) -> Any:
    """A ``ndim``-D convolution whose padding is any padstride spec (``"valid"``, ``"same"``, ``"full"``, pairs).

    >>> import torch
    >>> conv_layer(1, 2, 3, padding="full")(torch.zeros(1, 1, 5, 5)).shape
    torch.Size([1, 2, 7, 7])
    """
    from .. import torch as pt

    return getattr(pt, f"Conv{ndim}d")(in_channels, out_channels, (kernel,) * ndim, stride=(stride,) * ndim,
                                       padding=padding)


def max_pool(kernel: int, stride: int | None = None, padding: object = "valid", ndim: int = 2) -> Any:
    """A ``ndim``-D max pooling in any padstride padding spec (padded cells never win).

    >>> import torch
    >>> max_pool(2)(torch.zeros(1, 1, 7, 7)).shape
    torch.Size([1, 1, 3, 3])
    """
    from .. import torch as pt

    ks = (kernel,) * ndim
    return getattr(pt, f"MaxPool{ndim}d")(ks, stride=ks if stride is None else (stride,) * ndim, padding=padding)
