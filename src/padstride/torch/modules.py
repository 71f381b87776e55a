"""Small modules for graph ops that ``torch.nn`` lacks in the exact form (one concept each).

Every module takes and returns channels-first tensors (``N, C, *spatial``), as PyTorch does.
Where the source framework laid its tensors out channels last, the module says so by a flag
(``Flatten(order="channels_last")``, ``Reshape(target, layout="channels_last")``).

>>> import torch
>>> Flatten(order="channels_last")(torch.arange(8.0).view(1, 2, 2, 2)).tolist()
[[0.0, 4.0, 1.0, 5.0, 2.0, 6.0, 3.0, 7.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._runtime import flat_pad

__all__ = [
    "Affine", "BatchNormAnyRank", "ChannelLayerNorm", "ChannelScale", "Concat", "Constant", "Dense", "Einsum",
    "Elementwise", "Expand", "Flatten", "Flatten2d", "Gather", "GlobalPool", "InstanceNorm", "KerasReLU",
    "LayerNorm", "MatMul", "Merge", "Normalize", "Operands", "Pad", "Permute", "Product", "Reshape", "ReshapeAll",
    "ScalarOp", "Slice", "Softmax", "Squeeze", "Tile", "Unsqueeze", "Where",
]


def _along(vector: torch.Tensor, ndim: int, dim: int) -> torch.Tensor:
    """``vector`` shaped to broadcast along ``dim`` of an ``ndim``-rank tensor."""
    shape = [1] * ndim
    shape[dim] = -1
    return vector.reshape(shape)


class Flatten(nn.Module):
    """Flatten all but the batch axis; ``order="channels_last"`` flattens as ``N, *spatial, C`` (Keras)."""

    def __init__(self, order: str = "channels_first") -> None:
        super().__init__()
        self.order = order

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.order == "channels_last" and x.dim() > 2:
            x = x.movedim(1, -1)
        return x.flatten(1)

    def extra_repr(self) -> str:
        return f"order={self.order!r}"


class Reshape(nn.Module):
    """Reshape each sample to ``target``, written in the framework's ``layout`` (one ``-1`` allowed)."""

    def __init__(self, target: Sequence[int], layout: str = "channels_first") -> None:
        super().__init__()
        self.target, self.layout = tuple(int(t) for t in target), layout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = self.layout == "channels_last"
        if last and x.dim() > 2:
            x = x.movedim(1, -1)
        x = x.reshape(x.shape[0], *self.target)
        return x.movedim(-1, 1) if last and x.dim() > 2 else x

    def extra_repr(self) -> str:
        return f"target={self.target}, layout={self.layout!r}"


class Pad(nn.Module):
    """``F.pad`` with per-axis ``(before, after)`` pairs; negative = crop."""

    def __init__(self, pairs: Sequence[tuple[int, int]], mode: str = "constant") -> None:
        super().__init__()
        self.pairs, self.mode = tuple((int(b), int(a)) for b, a in pairs), mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, flat_pad(self.pairs), mode=self.mode)

    def extra_repr(self) -> str:
        return f"pairs={self.pairs}" + (f", mode={self.mode!r}" if self.mode != "constant" else "")


class GlobalPool(nn.Module):
    """Mean or max over all spatial axes."""

    def __init__(self, kind: str, keepdims: bool = False) -> None:
        super().__init__()
        self.kind, self.keepdims = kind, keepdims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, x.dim()))
        if self.kind == "avg":
            return x.mean(dim=dims, keepdim=self.keepdims)
        return x.amax(dim=dims, keepdim=self.keepdims)

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, keepdims={self.keepdims}"


class Concat(nn.Module):
    """``torch.cat`` along ``dim``."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Merge(nn.Module):
    """Elementwise ``sum`` (each input times its scale: residuals, subtract, average), ``max`` or ``min``."""

    def __init__(self, mode: str = "sum", scales: Sequence[float] | None = None) -> None:
        super().__init__()
        self.mode, self.scales = mode, None if scales is None else tuple(float(s) for s in scales)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.mode == "sum":
            scales = self.scales or (1.0,) * len(xs)
            terms = [x if s == 1 else x * s for x, s in zip(xs, scales, strict=True)]
            out = terms[0]
            for t in terms[1:]:
                out = out + t
            return out
        op = torch.maximum if self.mode == "max" else torch.minimum
        out = xs[0]
        for x in xs[1:]:
            out = op(out, x)
        return out

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}" + (f", scales={self.scales}" if self.scales is not None else "")


class Product(nn.Module):
    """Elementwise ``product`` of all inputs, or the ``quotient`` of two (broadcasting, like gates)."""

    def __init__(self, mode: str = "product") -> None:
        super().__init__()
        self.mode = mode

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.mode == "quotient":
            return xs[0] / xs[1]
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Dense(nn.Linear):
    """``nn.Linear`` acting on axis ``dim`` (Keras ``Dense`` on a channels-last feature map: ``dim=1``)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dim: int = -1) -> None:
        super().__init__(in_features, out_features, bias)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dim in (-1, x.dim() - 1):
            return super().forward(x)
        return super().forward(x.movedim(self.dim, -1)).movedim(-1, self.dim)


class BatchNormAnyRank(nn.BatchNorm1d):
    """Batch normalization over dim 1 of a tensor of any rank (Keras has one layer for all ranks);
    ``center``/``scale`` choose which affine vectors exist (Keras' InceptionV3 has no scale)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, center: bool = True,
                 scale: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine=center and scale)
        if scale and not center:
            self.weight = nn.Parameter(torch.ones(num_features))
        if center and not scale:
            self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(2) if x.dim() > 3 else x).view_as(x)


class ChannelLayerNorm(nn.Module):
    """Layer normalization over the channels (dim 1) at every position; ``rms`` scales by the RMS only."""

    def __init__(self, channels: int, eps: float = 1e-5, center: bool = True, scale: bool = True,
                 rms: bool = False) -> None:
        super().__init__()
        self.channels, self.eps, self.rms = channels, eps, rms
        self.weight = nn.Parameter(torch.ones(channels)) if scale else None
        self.bias = nn.Parameter(torch.zeros(channels)) if center else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x.movedim(1, -1)
        if self.rms:
            y = y * torch.rsqrt(y.square().mean(-1, keepdim=True) + self.eps)
            if self.weight is not None:
                y = y * self.weight
        else:
            y = F.layer_norm(y, (self.channels,), self.weight, self.bias, self.eps)
        return y.movedim(-1, 1)

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}" + (", rms=True" if self.rms else "")


class ChannelScale(nn.Module):
    """``x * weight`` with one trainable value per channel (ConvNeXt's layer scale)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * _along(self.weight, x.dim(), 1)


class Normalize(nn.Module):
    """``(x - mean) / max(sqrt(variance), eps)`` per channel (Keras ``Normalization``); ``invert`` undoes it."""

    mean: torch.Tensor
    variance: torch.Tensor

    def __init__(self, mean: torch.Tensor, variance: torch.Tensor, eps: float = 1e-7, invert: bool = False) -> None:
        super().__init__()
        self.register_buffer("mean", mean.flatten().float().clone())
        self.register_buffer("variance", variance.flatten().float().clone())
        self.eps, self.invert = eps, invert

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = _along(self.mean, x.dim(), 1) if self.mean.numel() > 1 else self.mean.reshape(())
        var = _along(self.variance, x.dim(), 1) if self.variance.numel() > 1 else self.variance.reshape(())
        std = torch.clamp(torch.sqrt(var), min=self.eps)
        return mean + x * std if self.invert else (x - mean) / std


class Affine(nn.Module):
    """``x * scale + offset``; a vector scale or offset broadcasts along ``dim`` (Keras ``Rescaling``)."""

    scale: torch.Tensor
    offset: torch.Tensor

    def __init__(self, scale: Any = 1.0, offset: Any = 0.0, dim: int = 1) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32).flatten())
        self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32).flatten())
        self.dim = dim

    def _shaped(self, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return v.reshape(()) if v.numel() == 1 else _along(v, x.dim(), self.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self._shaped(self.scale, x) + self._shaped(self.offset, x)


_BINARY: dict[str, Callable[[Any, Any], torch.Tensor]] = {
    "add": torch.add, "subtract": torch.sub, "multiply": torch.mul, "divide": torch.div, "power": torch.pow,
    "maximum": lambda a, b: torch.maximum(torch.as_tensor(a), torch.as_tensor(b)),
    "minimum": lambda a, b: torch.minimum(torch.as_tensor(a), torch.as_tensor(b)),
}


class ScalarOp(nn.Module):
    """``x <operator> constant`` (or ``constant <operator> x`` when ``reverse``): ``x + 3.0``, ``x / 6``."""

    def __init__(self, operator: str, constant: float, reverse: bool = False) -> None:
        super().__init__()
        if operator not in _BINARY:
            raise ValueError(f"operator must be one of {sorted(_BINARY)}, got {operator!r}")
        self.operator, self.constant, self.reverse = operator, float(constant), reverse

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = torch.tensor(self.constant, dtype=x.dtype, device=x.device)
        return _BINARY[self.operator](c, x) if self.reverse else _BINARY[self.operator](x, c)

    def extra_repr(self) -> str:
        return f"{'constant ' if self.reverse else ''}{self.operator} {self.constant}"


class KerasReLU(nn.Module):
    """Keras' ``ReLU(max_value, negative_slope, threshold)``: ``max_value`` above, ``x`` from ``threshold``,
    ``negative_slope·(x − threshold)`` below."""

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0) -> None:
        super().__init__()
        self.max_value, self.negative_slope, self.threshold = max_value, float(negative_slope), float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # keras.activations.relu, step by step
        slope, top, t = self.negative_slope, self.max_value, self.threshold
        if slope and top is None and not t:
            return F.leaky_relu(x, slope)
        clip = top is not None
        if t:
            y = x * (x > t).to(x.dtype)
        elif top == 6:
            y, clip = F.relu6(x), False
        else:
            y = F.relu(x)
        if clip:
            y = torch.clamp(y, 0.0, top)
        if slope:
            y = y - slope * F.relu(t - x)
        return y

    def extra_repr(self) -> str:
        return f"max_value={self.max_value}, negative_slope={self.negative_slope}, threshold={self.threshold}"


class Softmax(nn.Module):
    """Softmax (``log=True``: log-softmax) along ``dim``."""

    def __init__(self, dim: int, log: bool = False) -> None:
        super().__init__()
        self.dim, self.log = dim, log

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(x, self.dim) if self.log else F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}" + (", log=True" if self.log else "")


_UNARY: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "exp": torch.exp, "abs": torch.abs, "negative": torch.neg, "sqrt": torch.sqrt, "square": torch.square,
    "log": torch.log, "reciprocal": torch.reciprocal, "sign": torch.sign, "round": torch.round,
    "floor": torch.floor, "ceil": torch.ceil, "log_sigmoid": F.logsigmoid, "tanh_shrink": F.tanhshrink,
    "sparse_plus": lambda x: torch.where(x <= -1, torch.zeros_like(x),
                                         torch.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "squareplus": lambda x: (x + torch.sqrt(x * x + 4)) / 2,
}


class Elementwise(nn.Module):
    """A pointwise function by name (``exp``, ``abs``, ``square`` …) that ``torch.nn`` has no module for."""

    def __init__(self, fn: str) -> None:
        super().__init__()
        if fn not in _UNARY:
            raise ValueError(f"fn must be one of {sorted(_UNARY)}, got {fn!r}")
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _UNARY[self.fn](x)

    def extra_repr(self) -> str:
        return repr(self.fn)


ELEMENTWISE = tuple(_UNARY)


# -- tensor ops on whole tensors (batch axis included): what a transformer's graph is made of ------------


class Operands(nn.Module):
    """``inner`` called with the run-time inputs and fixed tensors in the graph's order.

    ``slots``: per operand, the position of the run-time argument that fills it, or -1 for the next
    of ``fixed`` (a class token, a bias, gather indices). A fixed tensor is a parameter where
    ``trainable`` says so (learned weights), otherwise a buffer.

    >>> import torch
    >>> Operands(Concat(1), [-1, 0], [torch.ones(1, 1, 2)], [True])(torch.zeros(1, 2, 2)).tolist()
    [[[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]]
    """

    def __init__(self, inner: nn.Module, slots: Sequence[int], fixed: Sequence[torch.Tensor],
                 trainable: Sequence[bool] | None = None) -> None:
        super().__init__()
        self.op, self.slots = inner, [int(s) for s in slots]
        if sum(s < 0 for s in self.slots) != len(fixed):
            raise ValueError(f"{sum(s < 0 for s in self.slots)} fixed slots, {len(fixed)} fixed tensors")
        learn = list(trainable) if trainable is not None else [False] * len(fixed)
        for j, (t, grad) in enumerate(zip(fixed, learn, strict=True)):
            if grad and t.is_floating_point():
                self.register_parameter(f"f{j}", nn.Parameter(t.detach().clone()))
            else:
                self.register_buffer(f"f{j}", t.detach().clone())

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        xs, j = [], 0
        for slot in self.slots:
            if slot >= 0:
                xs.append(args[slot])
            else:
                xs.append(getattr(self, f"f{j}"))
                j += 1
        out: torch.Tensor = self.op(*xs)
        return out


class Constant(nn.Module):
    """A fixed tensor as a graph value (a class token): a parameter when ``trainable``, else a buffer.

    >>> Constant(torch.zeros(1, 1, 3), trainable=True)().shape
    torch.Size([1, 1, 3])
    """

    value: torch.Tensor

    def __init__(self, value: torch.Tensor, trainable: bool = False) -> None:
        super().__init__()
        if trainable and value.is_floating_point():
            self.value = nn.Parameter(value.detach().clone())
        else:
            self.register_buffer("value", value.detach().clone())

    def forward(self) -> torch.Tensor:
        return self.value


class Permute(nn.Module):
    """``x.permute(dims)`` (ONNX ``Transpose``; no ``dims``: reverse all axes).

    >>> Permute([0, 2, 1])(torch.zeros(1, 2, 3)).shape
    torch.Size([1, 3, 2])
    """

    def __init__(self, dims: Sequence[int] | None = None) -> None:
        super().__init__()
        self.dims = None if dims is None else tuple(int(d) for d in dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = self.dims if self.dims is not None else tuple(range(x.dim() - 1, -1, -1))
        return x.permute(dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class Slice(nn.Module):
    """``x[start:end:step]`` along each of ``axes``, NumPy's (and ONNX's) rules: negative positions count
    from the end, out-of-range ones are clamped (``INT_MAX`` is "to the end"), negative steps run backwards.

    >>> Slice([-1], [-2**63], [2], [-2])(torch.arange(5.0).view(1, 1, 5)).tolist()
    [[[4.0, 2.0, 0.0]]]
    """

    def __init__(self, starts: Sequence[int], ends: Sequence[int], axes: Sequence[int] | None = None,
                 steps: Sequence[int] | None = None) -> None:
        super().__init__()
        self.starts, self.ends = tuple(int(v) for v in starts), tuple(int(v) for v in ends)
        self.axes = tuple(int(v) for v in axes) if axes is not None else tuple(range(len(self.starts)))
        self.steps = tuple(int(v) for v in steps) if steps is not None else (1,) * len(self.starts)
        if not len(self.starts) == len(self.ends) == len(self.axes) == len(self.steps) or 0 in self.steps:
            raise ValueError(f"starts, ends, axes, steps must have one nonzero step per axis, got {self.starts}, "
                             f"{self.ends}, {self.axes}, {self.steps}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for start, end, axis, step in zip(self.starts, self.ends, self.axes, self.steps, strict=True):
            n = int(x.shape[axis])
            first, stop, step = slice(start, end, step).indices(n)
            if step > 0:
                index = [slice(None)] * (axis % x.dim()) + [slice(first, max(stop, first), step)]
            else:  # backwards: forwards over the flipped axis
                x = x.flip(axis)
                first, stop = n - 1 - first, n - 1 - stop
                index = [slice(None)] * (axis % x.dim()) + [slice(first, max(stop, first), -step)]
            x = x[tuple(index)]
        return x

    def extra_repr(self) -> str:
        return f"starts={self.starts}, ends={self.ends}, axes={self.axes}, steps={self.steps}"


class Gather(nn.Module):
    """``take`` along ``axis``: the result has the indices' shape in place of that axis (a scalar index
    drops it); negative indices count from the end.

    >>> Gather(1)(torch.arange(6.0).view(1, 3, 2), torch.tensor([-1, 0])).tolist()
    [[[4.0, 5.0], [0.0, 1.0]]]
    """

    def __init__(self, axis: int = 0) -> None:
        super().__init__()
        self.axis = int(axis)

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        axis = self.axis % x.dim()
        idx = indices.long()
        idx = torch.where(idx < 0, idx + x.shape[axis], idx)
        out = x.index_select(axis, idx.reshape(-1))
        return out.reshape(*x.shape[:axis], *idx.shape, *x.shape[axis + 1:])

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class MatMul(nn.Module):
    """``torch.matmul`` of two tensors (NumPy's rule: batched, broadcast)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)


class LayerNorm(nn.Module):
    """Layer normalization over the axes from ``axis`` to the last (ONNX ``LayerNormalization``);
    ``weight``/``bias`` broadcast over them.

    >>> LayerNorm(-1, 1e-5, torch.ones(4), None)(torch.arange(8.0).view(1, 2, 4)).abs().max() < 1.5
    tensor(True)
    """

    def __init__(self, axis: int = -1, eps: float = 1e-5, weight: torch.Tensor | None = None,
                 bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.axis, self.eps = int(axis), float(eps)
        self.weight = None if weight is None else nn.Parameter(weight.detach().clone().float())
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = tuple(int(d) for d in x.shape[self.axis % x.dim():])
        w, b = self.weight, self.bias
        if (w is None or tuple(w.shape) == shape) and (b is None or tuple(b.shape) == shape):
            return F.layer_norm(x, shape, w, b, self.eps)
        y = F.layer_norm(x, shape, None, None, self.eps)
        y = y if w is None else y * w
        return y if b is None else y + b

    def extra_repr(self) -> str:
        return f"axis={self.axis}, eps={self.eps}"


class ReshapeAll(nn.Module):
    """Reshape the whole tensor (batch axis included) to ``target``: ``0`` copies the input's size
    there (unless ``allowzero``), ``-1`` takes what is left (ONNX ``Reshape``).

    >>> ReshapeAll([0, -1, 2])(torch.zeros(3, 2, 2)).shape
    torch.Size([3, 2, 2])
    """

    def __init__(self, target: Sequence[int], allowzero: bool = False) -> None:
        super().__init__()
        self.target, self.allowzero = tuple(int(t) for t in target), bool(allowzero)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = [int(x.shape[i]) if t == 0 and not self.allowzero else t for i, t in enumerate(self.target)]
        return x.reshape(shape)

    def extra_repr(self) -> str:
        return f"target={self.target}" + (", allowzero=True" if self.allowzero else "")


class Expand(nn.Module):
    """Broadcast ``x`` against ``shape`` (both ways, as NumPy: ``shape`` may hold 1s where ``x`` is larger)."""

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rank = max(x.dim(), len(self.shape))
        have = (1,) * (rank - x.dim()) + tuple(int(d) for d in x.shape)
        want = (1,) * (rank - len(self.shape)) + self.shape
        return x.reshape(have).expand([w if h == 1 else h for h, w in zip(have, want, strict=True)])

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Tile(nn.Module):
    """``x`` repeated ``repeats[i]`` times along axis ``i``."""

    def __init__(self, repeats: Sequence[int]) -> None:
        super().__init__()
        self.repeats = tuple(int(r) for r in repeats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat(self.repeats)

    def extra_repr(self) -> str:
        return f"repeats={self.repeats}"


class Squeeze(nn.Module):
    """Drop the size-1 ``axes`` (``None``: every size-1 axis)."""

    def __init__(self, axes: Sequence[int] | None = None) -> None:
        super().__init__()
        self.axes = None if axes is None else tuple(int(a) for a in axes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze() if self.axes is None else x.squeeze(self.axes)

    def extra_repr(self) -> str:
        return f"axes={self.axes}"


class Unsqueeze(nn.Module):
    """Insert size-1 axes at ``axes`` (positions in the output; negative count from its end).

    >>> Unsqueeze([0, -1])(torch.zeros(2, 3)).shape
    torch.Size([1, 2, 3, 1])
    """

    def __init__(self, axes: Sequence[int]) -> None:
        super().__init__()
        self.axes = tuple(int(a) for a in axes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rank = x.dim() + len(self.axes)
        for axis in sorted(a % rank for a in self.axes):
            x = x.unsqueeze(axis)
        return x

    def extra_repr(self) -> str:
        return f"axes={self.axes}"


class Where(nn.Module):
    """``torch.where(condition, a, b)``, broadcasting."""

    def forward(self, condition: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.where(condition.bool(), a, b)


class Einsum(nn.Module):
    """``torch.einsum(equation, *operands)`` (ONNX ``Einsum``: the same notation, ``...`` included).

    >>> Einsum("bij,bjk->bik")(torch.ones(1, 2, 3), torch.ones(1, 3, 4)).shape
    torch.Size([1, 2, 4])
    """

    def __init__(self, equation: str) -> None:
        super().__init__()
        self.equation = equation

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.einsum(self.equation, *xs)

    def extra_repr(self) -> str:
        return repr(self.equation)


class InstanceNorm(nn.Module):
    """Normalization of each sample's each channel over its spatial axes (ONNX ``InstanceNormalization``),
    then ``weight``/``bias`` per channel.

    >>> InstanceNorm(1e-5, torch.ones(2), torch.zeros(2))(torch.arange(8.0).view(1, 2, 4)).abs().max() < 1.5
    tensor(True)
    """

    def __init__(self, eps: float = 1e-5, weight: torch.Tensor | None = None, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        self.eps = float(eps)
        self.weight = None if weight is None else nn.Parameter(weight.detach().clone().float())
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone().float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps}"


class Flatten2d(nn.Module):
    """The whole tensor as a matrix: the axes before ``axis`` as rows, the rest as columns (ONNX
    ``Flatten``, any ``axis`` in ``[-rank, rank]``).

    >>> Flatten2d(2)(torch.zeros(2, 3, 4, 5)).shape
    torch.Size([6, 20])
    """

    def __init__(self, axis: int = 1) -> None:
        super().__init__()
        self.axis = int(axis)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        axis = self.axis + x.dim() if self.axis < 0 else self.axis
        rows = 1
        for d in x.shape[:axis]:
            rows *= int(d)
        return x.reshape(rows, -1)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
