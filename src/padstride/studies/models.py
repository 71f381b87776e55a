"""The seeds' CNNs, built in any padding convention, stride and pooling choice.

Architectures (``C n`` = conv 3×3 with n filters + ReLU, ``P`` = max-pool 2, ``D n`` = dense):

- ``slide4``  (seed 001 slides 4, 8–10): C32 P C64 P C64, D64, D classes
- ``seed003`` (seeds 003/004): C32 C32 C32, D128, D classes
- ``slide11`` (seed 001 slide 11): C32 C64, D classes
- ``slide14`` (seed 001 slide 14, 3-D): C32 P C64 P C64, D64, D classes

>>> model = build_classifier("slide4", padding="same", input_shape=(1, 28, 28), num_classes=10)
>>> [tuple(s) for s in model.feature_shapes]
[(32, 28, 28), (32, 14, 14), (64, 14, 14), (64, 7, 7), (64, 7, 7)]
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from .errors import StudyError
from .layers import conv_layer, max_pool

__all__ = ["ARCHITECTURES", "build_classifier", "conv_count", "per_layer"]

#: Architecture plans: feature stages (channel counts, ``"P"`` = max-pool 2) and dense widths.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "slide4": {"features": [32, "P", 64, "P", 64], "dense": [64], "ndim": 2},
    "seed003": {"features": [32, 32, 32], "dense": [128], "ndim": 2},
    "slide11": {"features": [32, 64], "dense": [], "ndim": 2},
    "slide14": {"features": [32, "P", 64, "P", 64], "dense": [64], "ndim": 3},
}


def conv_count(arch: str) -> int:
    """Number of convolutions in an architecture.

    >>> conv_count("slide4")
    3
    """
    return sum(1 for f in _plan(arch)["features"] if f != "P")


def _plan(arch: str) -> dict[str, Any]:
    if arch not in ARCHITECTURES:
        raise StudyError(f"unknown model arch {arch!r}; expected one of {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[arch]


def per_layer(value: object, count: int, what: str) -> list[Any]:
    """One value per conv layer: a scalar (or string) is repeated; a list must have ``count`` items.

    >>> per_layer("same", 3, "padding"), per_layer([1, 2, 1], 3, "stride")
    (['same', 'same', 'same'], [1, 2, 1])
    """
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise StudyError(f"{what} lists {len(value)} values but the model has {count} conv layers")
        return list(value)
    return [value] * count


def _check_sizes(plan: dict[str, Any], size: tuple[int, ...], pads: list[Any], strides: list[Any],
                 pool: bool) -> None:
    """Walk the stages with padstride.geometry so a too-small input fails with the geometry's message."""
    from ..geometry import conv
    from ..geometry import pool as pool_geometry

    i = 0
    for stage in plan["features"]:
        if stage == "P":
            if pool:
                size = pool_geometry(size, 2).output
            continue
        size = conv(size, 3, int(strides[i]), pads[i]).output
        i += 1


def build_classifier(
    arch: str,
    padding: object = "valid",
    stride: int | Sequence[int] = 1,
    pool: bool = True,
    input_shape: Sequence[int] = (1, 28, 28),
    num_classes: int = 10,
    width: float = 1.0,
) -> Any:
    """A ``torch.nn.Sequential`` classifier; the flatten size comes from a dry run.

    ``padding`` and ``stride`` are one value for every conv or a list with one per conv
    (per-layer custom conventions); ``pool=False`` drops the max-pools (the strided variants);
    ``width`` scales every channel count. ``model.feature_shapes`` lists each stage's output.

    >>> m = build_classifier("seed003", padding="same", stride=[2, 2, 1], input_shape=(1, 28, 28))
    >>> tuple(m.feature_shapes[-1])
    (32, 7, 7)
    """
    import torch
    from torch import nn

    plan = _plan(arch)
    ndim = plan["ndim"]
    if len(input_shape) != ndim + 1:
        raise StudyError(f"model {arch!r} is {ndim}-D but the data are {len(input_shape) - 1}-D {tuple(input_shape)}")
    n_conv = conv_count(arch)
    pads, strides = per_layer(padding, n_conv, "padding"), per_layer(stride, n_conv, "stride")
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    channels, i = int(input_shape[0]), 0
    for stage in plan["features"]:
        if stage == "P":
            if pool:
                layers[f"pool{sum(1 for k in layers if k.startswith('pool')) + 1}"] = max_pool(2, ndim=ndim)
            continue
        out = max(1, round(int(stage) * width))
        layers[f"conv{i + 1}"] = conv_layer(channels, out, 3, stride=int(strides[i]), padding=pads[i], ndim=ndim)
        layers[f"relu{i + 1}"] = nn.ReLU()
        channels, i = out, i + 1
    features = nn.Sequential(layers)
    _check_sizes(plan, tuple(input_shape[1:]), pads, strides, pool)
    shapes = []
    with torch.no_grad():
        x = torch.zeros(1, *input_shape)
        for name, layer in features.named_children():
            x = layer(x)
            if not name.startswith("relu"):
                shapes.append(tuple(x.shape[1:]))
    head: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    width_in = x.numel()
    for j, dense in enumerate(plan["dense"]):
        fc = nn.Linear(width_in, max(1, round(dense * width)))
        head[f"fc{j + 1}"] = fc
        head[f"fc{j + 1}_relu"] = nn.ReLU()
        width_in = fc.out_features
    head[f"fc{len(plan['dense']) + 1}"] = nn.Linear(width_in, num_classes)
    model = nn.Sequential(OrderedDict(features=features, head=nn.Sequential(head)))
    model.feature_shapes = shapes  # type: ignore[assignment]
    return model
