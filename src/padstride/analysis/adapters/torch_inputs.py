"""The inputs of a torch model as users write them: one shape, several, named ones, with or without the batch.

A shape is per sample (``3,224,224``); torchinfo's habit of writing the batch (``1,3,224,224``)
is understood when the model's first convolution says so: a shape with one axis more than that
layer takes, whose dim 1 is its channel count, includes the batch. Several inputs are a list of
shapes (passed by position) or a mapping name → shape (keyword arguments of ``forward``).

>>> import torch.nn as nn
>>> net = nn.Sequential(nn.Conv2d(3, 8, 3))
>>> torch_inputs(net, (1, 3, 32, 32)), torch_inputs(net, [(3, 32, 32)]), torch_inputs(net, {"x": (3, 8, 8)})
([(3, 32, 32)], [(3, 32, 32)], {'x': (3, 8, 8)})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ModelError

__all__ = ["Inputs", "torch_inputs"]

Inputs = list[tuple[int, ...]] | dict[str, tuple[int, ...]]


def _shape(value: Any, what: str) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value or \
            not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ModelError(f"{what}: expected a shape (positive integers), got {value!r}")
    if any(v < 1 for v in value):
        raise ModelError(f"{what}: sizes must be positive, got {tuple(value)}")
    return tuple(int(v) for v in value)


def _first_conv(module: Any) -> tuple[str, Any] | None:
    import torch.nn as nn

    return next(((n, m) for n, m in module.named_modules() if isinstance(m, nn.modules.conv._ConvNd)), None)


def _without_batch(module: Any, shape: tuple[int, ...], strict: bool = True) -> tuple[int, ...]:
    """``shape`` per sample: the batch axis dropped where the first convolution shows it is there.

    ``strict``: a shape of that rank whose dim 1 is not the channel count is an error (one input).
    """
    first = _first_conv(module)
    if first is None:
        return shape
    name, conv = first
    nd, channels = len(conv.kernel_size), int(conv.in_channels)
    if len(shape) != nd + 2:
        return shape
    if shape[1] == channels:
        return shape[1:]
    if not strict:
        return shape
    layer = f"{name or 'the model'} ({type(conv).__name__})"
    raise ModelError(f"input {','.join(map(str, shape))}: {len(shape)} axes read as N,C,{'spatial' if nd > 1 else 'L'}"
                     f" (the batch included), but the first layer {layer} expects {channels} channels at dim 1; "
                     f"give the shape per sample, e.g. {channels},{','.join(map(str, shape[2:]))}")


def torch_inputs(module: Any, spec: Any) -> Inputs:
    """Per-sample input shapes for ``module``: a list (positional inputs) or a dict (keyword inputs).

    >>> import torch.nn as nn
    >>> torch_inputs(nn.Linear(10, 2), [(10,), (4,)])
    [(10,), (4,)]
    """
    if isinstance(spec, Mapping):
        if not spec:
            raise ModelError("no inputs given")
        return {str(k): _without_batch(module, _shape(v, f"input {k!r}"), len(spec) == 1) for k, v in spec.items()}
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)) and spec and \
            all(isinstance(v, Sequence) and not isinstance(v, (str, bytes)) for v in spec):
        shapes = [_shape(v, f"input {i}") for i, v in enumerate(spec)]
        return [_without_batch(module, shape, len(shapes) == 1) for shape in shapes]
    return [_without_batch(module, _shape(spec, "input"))]
