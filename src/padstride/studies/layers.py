"""The one place studies build convolution and pooling layers in a padding convention.

Every model in padstride.studies gets its layers from :func:`conv_layer` and :func:`max_pool`;
pads come from :mod:`padstride.geometry` (never computed here), so any convention works,
including TF ``same`` at stride 2. When :mod:`padstride.torch` provides the layers, this module
delegates to it.

>>> import torch
>>> conv = conv_layer(1, 4, 3, stride=2, padding="same")
>>> conv(torch.zeros(1, 1, 28, 28)).shape
torch.Size([1, 4, 14, 14])
"""

from __future__ import annotations

from typing import Any

__all__ = ["conv_layer", "max_pool"]


def _padstride_torch(name: str) -> Any:
    try:
        import padstride.torch as pt
    except ImportError:  # pragma: no cover
        return None
    return getattr(pt, name, None)


def _torch_pads(pads: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """Geometry's per-axis (before, after) → ``F.pad``'s last-axis-first flat tuple."""
    return tuple(v for before, after in reversed(pads) for v in (before, after))


def _fallback_module() -> type:
    import torch.nn.functional as F
    from torch import nn

    from ..geometry import conv as conv_geometry
    from ..geometry import pool as pool_geometry

    class PaddedWindow(nn.Module):
        """Pads from padstride.geometry (cached per input size), then the unpadded op."""

        def __init__(self, op: nn.Module, kernel: tuple[int, ...], stride: tuple[int, ...], padding: object,
                     pool: bool) -> None:
            super().__init__()
            self.op, self.kernel, self.stride, self.padding, self.pool = op, kernel, stride, padding, pool
            self._cache: dict[tuple[int, ...], tuple[int, ...]] = {}

        def forward(self, x: Any) -> Any:
            size = tuple(x.shape[2:])
            pads = self._cache.get(size)
            if pads is None:
                geometry = pool_geometry if self.pool else conv_geometry
                pads = _torch_pads(geometry(size, self.kernel, self.stride, self.padding).pads)
                self._cache[size] = pads
            if any(pads):
                x = F.pad(x, pads, value=float("-inf") if self.pool else 0.0)
            return self.op(x)

        @property
        def weight(self) -> Any:
            return self.op.weight

        @property
        def bias(self) -> Any:
            return self.op.bias

        def extra_repr(self) -> str:
            return f"padding={self.padding!r}"

    return PaddedWindow


def conv_layer(in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: object = "valid",
               ndim: int = 2) -> Any:
    """A ``ndim``-D convolution whose padding is any padstride spec (``"valid"``, ``"same"``, ``"full"``, pairs).

    >>> import torch
    >>> conv_layer(1, 2, 3, padding="full")(torch.zeros(1, 1, 5, 5)).shape
    torch.Size([1, 2, 7, 7])
    """
    from torch import nn

    ks, ss = (kernel,) * ndim, (stride,) * ndim
    native = _padstride_torch(f"Conv{ndim}d")
    if native is not None:
        return native(in_channels, out_channels, ks, stride=ss, padding=padding)
    op = getattr(nn, f"Conv{ndim}d")(in_channels, out_channels, ks, stride=ss)
    return _fallback_module()(op, ks, ss, padding, pool=False)


def max_pool(kernel: int, stride: int | None = None, padding: object = "valid", ndim: int = 2) -> Any:
    """A ``ndim``-D max pooling in any padstride padding spec (padded cells never win).

    >>> import torch
    >>> max_pool(2)(torch.zeros(1, 1, 7, 7)).shape
    torch.Size([1, 1, 3, 3])
    """
    from torch import nn

    ks = (kernel,) * ndim
    ss = ks if stride is None else (stride,) * ndim
    native = _padstride_torch(f"MaxPool{ndim}d")
    if native is not None:
        return native(ks, stride=ss, padding=padding)
    if padding in ("valid", 0):
        return getattr(nn, f"MaxPool{ndim}d")(ks, ss)
    return _fallback_module()(getattr(nn, f"MaxPool{ndim}d")(ks, ss), ks, ss, padding, pool=True)
