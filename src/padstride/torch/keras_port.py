"""Build an equivalent PyTorch module from a Keras 3 model, weights copied.

The module takes channels-first input (``N, C, *spatial``), as PyTorch does. Padding follows the
Keras/TF rule exactly (padstride layers: TF ``same`` is asymmetric when the total is odd), a
``Flatten`` after channels-last features flattens in Keras' order so the following ``Dense``
weights stay valid, and average pooling under ``same`` divides by real cells, like TF.

>>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")
'torch'
>>> import keras, numpy as np, torch
>>> model = keras.Sequential([keras.Input((9, 9, 1)), keras.layers.Conv2D(2, 3, strides=2, padding="same"),
...                           keras.layers.Flatten(), keras.layers.Dense(3)])
>>> net = from_keras(model)
>>> x = np.random.rand(1, 9, 9, 1).astype("float32")
>>> want = keras.ops.convert_to_numpy(model(x))
>>> got = net(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy()
>>> bool(np.abs(got - want).max() < 1e-5)
True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import Error
from . import conv as _conv
from . import pool as _pool
from . import transpose as _transpose
from ._runtime import flat_pad

__all__ = ["KerasPortError", "PortedModel", "from_keras"]


class KerasPortError(Error, ValueError):
    """A Keras model that :func:`from_keras` cannot port: the message names the first layer at fault."""


# --------------------------------------------------------------------------------------------
# small modules for Keras layers that torch.nn lacks in this exact form


class ChannelsLastFlatten(nn.Module):
    """Flatten ``N, C, *spatial`` in Keras' channels-last order (``N, *spatial, C``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() > 2:
            x = x.movedim(1, -1)
        return x.flatten(1)


class Pad(nn.Module):
    """``F.pad`` with per-axis ``(before, after)`` pairs; negative = crop (Keras ``Cropping``)."""

    def __init__(self, pairs: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        self.pairs = tuple((int(b), int(a)) for b, a in pairs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, flat_pad(self.pairs))

    def extra_repr(self) -> str:
        return f"pairs={self.pairs}"


class GlobalPool(nn.Module):
    """Mean or max over all spatial axes (Keras ``Global*Pooling``)."""

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


class Merge(nn.Module):
    """Keras merge layers: ``concat`` along ``dim``, or elementwise add/subtract/multiply/average/max/min."""

    def __init__(self, kind: str, dim: int = 1) -> None:
        super().__init__()
        self.kind, self.dim = kind, dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.kind == "concat":
            return torch.cat(xs, dim=self.dim)
        if self.kind == "subtract":
            return xs[0] - xs[1]
        out = xs[0]
        for x in xs[1:]:
            out = {"add": torch.add, "average": torch.add, "multiply": torch.mul,
                   "maximum": torch.maximum, "minimum": torch.minimum}[self.kind](out, x)
        return out / len(xs) if self.kind == "average" else out

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}" + (f", dim={self.dim}" if self.kind == "concat" else "")


class PortedModel(nn.Module):
    """A Keras graph run in PyTorch: ``layers`` by Keras name, run in topological order."""

    def __init__(self, layers: dict[str, nn.Module], plan: list[tuple[str, list[int], int]],
                 inputs: list[int], outputs: list[int]) -> None:
        super().__init__()
        self.layers = nn.ModuleDict(layers)
        self.plan, self.inputs, self.outputs = plan, inputs, outputs

    def forward(self, *args: torch.Tensor) -> Any:
        if len(args) != len(self.inputs):
            raise TypeError(f"this model takes {len(self.inputs)} input(s), got {len(args)}")
        values: dict[int, torch.Tensor] = dict(zip(self.inputs, args, strict=True))
        for name, ins, out in self.plan:
            values[out] = self.layers[name](*(values[i] for i in ins))
        result = [values[o] for o in self.outputs]
        return result[0] if len(result) == 1 else tuple(result)


# --------------------------------------------------------------------------------------------
# activations


def _activation(fn: Any, channel_rank: int, where: str) -> nn.Module | None:
    """A torch module for a Keras activation function (None for linear)."""
    name = getattr(fn, "__name__", str(fn))
    simple: dict[str, Callable[[], nn.Module]] = {
        "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "elu": nn.ELU, "selu": nn.SELU,
        "softplus": nn.Softplus, "softsign": nn.Softsign, "relu6": nn.ReLU6, "silu": nn.SiLU,
        "swish": nn.SiLU, "hard_sigmoid": nn.Hardsigmoid, "hard_silu": nn.Hardswish,
        "hard_swish": nn.Hardswish, "gelu": nn.GELU, "mish": nn.Mish,
    }
    if name == "linear":
        return None
    if name in simple:
        return simple[name]()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    if name in ("softmax", "log_softmax"):  # Keras: last axis = channels
        cls = nn.Softmax if name == "softmax" else nn.LogSoftmax
        return cls(dim=1 if channel_rank > 2 else -1)
    raise KerasPortError(f"{where}: activation {name!r} is not supported")


def _with_activation(module: nn.Module, layer: Any, rank: int) -> nn.Module:
    act = _activation(layer.activation, rank, f"layer {layer.name!r}") if hasattr(layer, "activation") else None
    return module if act is None else nn.Sequential(module, act)


# --------------------------------------------------------------------------------------------
# layer converters


def _np(variable: Any) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(variable))


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


def _rank(layer: Any) -> int:
    shape = layer.input.shape if not isinstance(layer.input, list) else layer.input[0].shape
    return len(shape)


def _channels_last(layer: Any) -> bool:
    return getattr(layer, "data_format", "channels_last") == "channels_last"


def _torch_axis(axis: int, rank: int, channels_last: bool) -> int:
    """A Keras axis of a channels-last tensor → the axis of the channels-first torch tensor."""
    axis = axis % rank
    if not channels_last or axis == 0 or rank <= 2:
        return axis
    return 1 if axis == rank - 1 else axis + 1


def _conv_layer(layer: Any, nd: int, transposed: bool) -> nn.Module:
    kernel = _np(layer.kernel)
    pad = layer.padding
    if transposed:
        cout, cin = kernel.shape[-2], kernel.shape[-1]
        op = layer.output_padding
        rule = "keras" if op is None else "keras_torch"  # TF has no answer for some explicit output_padding
        module: nn.Module = getattr(_transpose, f"ConvTranspose{nd}d")(
            cin, cout, layer.kernel_size, layer.strides, pad, op, 1, layer.use_bias, layer.dilation_rate,
            rule=rule,
        )
    else:
        cin, cout = kernel.shape[-2] * layer.groups, kernel.shape[-1]
        module = getattr(_conv, f"Conv{nd}d")(
            cin, cout, layer.kernel_size, layer.strides, pad, layer.dilation_rate, layer.groups, layer.use_bias,
        )
    weights = {"weight": _tensor(np.moveaxis(kernel, (-1, -2), (0, 1)))}
    if layer.use_bias:
        weights["bias"] = _tensor(_np(layer.bias))
    module.load_state_dict(weights)
    return module


def _pool_layer(layer: Any, nd: int, kind: str) -> nn.Module:
    stride = layer.strides if layer.strides is not None else layer.pool_size
    if kind == "max":
        return getattr(_pool, f"MaxPool{nd}d")(layer.pool_size, stride, layer.padding)  # type: ignore[no-any-return]
    return getattr(_pool, f"AvgPool{nd}d")(layer.pool_size, stride, layer.padding)  # type: ignore[no-any-return]


def _dense(layer: Any, rank: int) -> nn.Module:
    if rank != 2:
        raise KerasPortError(
            f"layer {layer.name!r} (Dense) acts on a rank-{rank} tensor; only rank 2 (after Flatten or global "
            "pooling) is supported"
        )
    kernel = _np(layer.kernel)
    module = nn.Linear(kernel.shape[0], kernel.shape[1], bias=layer.use_bias)
    weights = {"weight": _tensor(kernel.T)}
    if layer.use_bias:
        weights["bias"] = _tensor(_np(layer.bias))
    module.load_state_dict(weights)
    return module


def _batchnorm(layer: Any, rank: int) -> nn.Module:
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
    if _torch_axis(axis, rank, True) != 1:
        raise KerasPortError(f"layer {layer.name!r} (BatchNormalization) normalizes axis {axis}, not the channels")
    channels = layer.moving_mean.shape[0]
    module = nn.BatchNorm1d(channels, eps=layer.epsilon, momentum=1 - layer.momentum)
    with torch.no_grad():
        module.weight.copy_(_tensor(_np(layer.gamma)) if layer.scale else torch.ones(channels))
        module.bias.copy_(_tensor(_np(layer.beta)) if layer.center else torch.zeros(channels))
        module.running_mean.copy_(_tensor(_np(layer.moving_mean)))
        module.running_var.copy_(_tensor(_np(layer.moving_variance)))
    return _AnyRankBatchNorm(module)


class _AnyRankBatchNorm(nn.Module):
    """``BatchNorm`` over dim 1 of a tensor of any rank (Keras has one layer for all ranks)."""

    def __init__(self, bn: nn.BatchNorm1d) -> None:
        super().__init__()
        self.bn = bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(x.flatten(2) if x.dim() > 3 else x).view_as(x)


def _spatial_pairs(value: Any) -> list[tuple[int, int]]:
    return [(int(p[0]), int(p[1])) if isinstance(p, (tuple, list)) else (int(p), int(p)) for p in value]


def _convert_layer(layer: Any) -> nn.Module:
    """One Keras layer → one torch module (raises :class:`KerasPortError` when unsupported)."""
    kind = type(layer).__name__
    rank = _rank(layer)
    if not _channels_last(layer) and kind not in ("Dense", "Dropout", "Activation"):
        raise KerasPortError(f"layer {layer.name!r} ({kind}) uses data_format='channels_first'; use channels_last")
    for nd in (1, 2, 3):
        if kind == f"Conv{nd}D":
            return _with_activation(_conv_layer(layer, nd, False), layer, rank)
        if kind == f"Conv{nd}DTranspose":
            return _with_activation(_conv_layer(layer, nd, True), layer, rank)
        if kind == f"MaxPooling{nd}D":
            return _pool_layer(layer, nd, "max")
        if kind == f"AveragePooling{nd}D":
            return _pool_layer(layer, nd, "avg")
        if kind in (f"GlobalAveragePooling{nd}D", f"GlobalMaxPooling{nd}D"):
            if layer.keepdims:
                raise KerasPortError(f"layer {layer.name!r} ({kind}) with keepdims=True is not supported")
            return GlobalPool("avg" if "Average" in kind else "max")
        if kind in (f"ZeroPadding{nd}D", f"Cropping{nd}D"):
            pairs = _spatial_pairs(layer.padding if kind.startswith("Zero") else layer.cropping)
            sign = 1 if kind.startswith("Zero") else -1
            return Pad([(sign * b, sign * a) for b, a in pairs])
        if kind == f"UpSampling{nd}D":
            size = layer.size if nd > 1 else (layer.size,)
            mode = getattr(layer, "interpolation", "nearest")
            if mode not in ("nearest", "bilinear"):
                raise KerasPortError(f"layer {layer.name!r} ({kind}) interpolation {mode!r} is not supported")
            return nn.Upsample(scale_factor=tuple(float(s) for s in size), mode=mode)
    if kind == "Dense":
        return _with_activation(_dense(layer, rank), layer, 2)
    if kind == "Flatten":
        return ChannelsLastFlatten()
    if kind == "BatchNormalization":
        return _batchnorm(layer, rank)
    if kind in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise"):
        return nn.Identity()  # inference: identity, like Keras outside training
    if kind == "Activation":
        return _activation(layer.activation, rank, f"layer {layer.name!r}") or nn.Identity()
    if kind == "ReLU" and layer.max_value is None and not layer.negative_slope and not layer.threshold:
        return nn.ReLU()
    if kind == "LeakyReLU":
        return nn.LeakyReLU(float(layer.negative_slope))
    if kind == "Softmax":
        return nn.Softmax(dim=_torch_axis(layer.axis if isinstance(layer.axis, int) else layer.axis[0], rank, True))
    if kind == "Concatenate":
        return Merge("concat", _torch_axis(layer.axis, rank, True))
    merges = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply", "Average": "average",
              "Maximum": "maximum", "Minimum": "minimum"}
    if kind in merges:
        return Merge(merges[kind])
    raise KerasPortError(
        f"layer {layer.name!r} ({kind}) is not supported by padstride.torch.from_keras; supported: Conv1D/2D/3D, "
        "Conv1D/2D/3DTranspose, Dense, Max/AveragePooling, GlobalAverage/MaxPooling, Flatten, BatchNormalization, "
        "Dropout, activations, ZeroPadding, Cropping, UpSampling, Concatenate, Add and other merges"
    )


# --------------------------------------------------------------------------------------------
# the graph


def _walk(model: Any, keras: Any) -> PortedModel:
    if not getattr(model, "built", False) or not getattr(model, "outputs", None):
        raise KerasPortError(
            f"model {model.name!r} has no graph yet: build it with an Input (keras.Input(shape)) first"
        )
    slots: dict[int, int] = {}
    order: list[tuple[Any, list[int], int]] = []
    seen_nodes: set[int] = set()
    input_ids = {id(t) for t in model.inputs}

    def slot(tensor: Any) -> int:
        return slots.setdefault(id(tensor), len(slots))

    def visit(tensor: Any) -> None:
        if id(tensor) in input_ids:
            slot(tensor)
            return
        op, node_index, _ = tensor._keras_history
        node = op._inbound_nodes[node_index]
        if id(node) in seen_nodes:
            return
        seen_nodes.add(id(node))
        ins = list(node.input_tensors)
        for t in ins:
            visit(t)
        outs = list(node.output_tensors)
        if len(outs) != 1:
            raise KerasPortError(f"layer {op.name!r} ({type(op).__name__}) has {len(outs)} outputs; one is supported")
        order.append((op, [slot(t) for t in ins], slot(outs[0])))

    for t in model.outputs:
        visit(t)
    layers: dict[str, nn.Module] = {}
    plan: list[tuple[str, list[int], int]] = []
    for op, ins, out in order:
        if type(op).__name__ == "InputLayer":
            continue
        key = op.name.replace(".", "_")
        if key not in layers:
            if isinstance(op, keras.Model):
                layers[key] = _walk(op, keras)
            elif isinstance(op, keras.layers.Layer):
                layers[key] = _convert_layer(op)
            else:
                raise KerasPortError(f"operation {op.name!r} ({type(op).__name__}) is not a Keras layer")
        plan.append((key, ins, out))
    return PortedModel(layers, plan, [slot(t) for t in model.inputs], [slot(t) for t in model.outputs])


def from_keras(model: Any) -> PortedModel:
    """A PyTorch module equal to a Keras 3 model (Sequential or functional), weights copied.

    ``model`` is a built ``keras.Model`` or the path of a ``.keras`` file (loaded with
    ``safe_mode=True``). The module takes and returns channels-first tensors and is in eval mode.
    Raises :class:`KerasPortError` naming the first layer it cannot port.

    >>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")
    'torch'
    >>> import keras
    >>> inp = keras.Input((8, 8, 3))
    >>> a = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="a")(inp)
    >>> b = keras.layers.Conv2D(4, 1, name="b")(inp)
    >>> out = keras.layers.Add(name="sum")([a, b])
    >>> from_keras(keras.Model(inp, out)).plan
    [('a', [0], 1), ('b', [0], 2), ('sum', [1, 2], 3)]
    """
    import keras

    if isinstance(model, (str, os.PathLike)):
        model = keras.saving.load_model(os.fspath(model), safe_mode=True, compile=False)
    ported = _walk(model, keras)
    return ported.eval()
