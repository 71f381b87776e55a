"""The op table of the IR → torch builder: one factory per IR op, from the node's attributes.

A factory gets a :class:`NodeContext` (the node, its input and output shapes from the
propagation pass, the model layout, and its weights in PyTorch's layout, or ``None`` for a
fresh init) and returns an ``nn.Module``. Pads stay in the node's own convention: the
padstride layers resolve them (TF ``same`` at any stride, exact). The table is written against
the IR, not against any framework: every reader's graph builds through it.

Weights by op (arrays in PyTorch's layout, named as the torch parameters):

- ``conv``: ``weight`` ``(out, in/groups, *k)``, ``bias``; ``conv_transpose``: ``weight``
  ``(in, out/groups, *k)``, ``bias``; ``dense``: ``weight`` ``(units, in)``, ``bias``;
- ``norm``: ``weight`` (scale), ``bias`` (shift), ``running_mean``, ``running_var`` (batch);
  ``mean``, ``variance`` (kind ``normalization``).

>>> from padstride.analysis import GraphBuilder
>>> b = GraphBuilder(); x = b.conv(b.input((3, 9, 9)), 4, 3, stride=2, padding="same")
>>> from padstride.torch.build import build
>>> build(b.build()).layers["conv"]
Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding='same')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..analysis.ir import Graph, Node
from ..errors import Error
from . import conv as _conv
from . import modules as M
from . import pool as _pool
from . import transpose as _transpose

__all__ = ["OP_TABLE", "BuildError", "NodeContext", "activation_module"]


class BuildError(Error, ValueError):
    """A graph node the builder cannot turn into a module: the message names the node and why."""


@dataclass
class NodeContext:
    """What a factory knows about one node."""

    node: Node
    graph: Graph
    in_shapes: list[tuple[int, ...]]
    out_shape: tuple[int, ...]
    weights: Mapping[str, Any] | None

    @property
    def where(self) -> str:
        return f"layer {self.node.name!r} ({self.node.type})"

    def fail(self, why: str) -> BuildError:
        return BuildError(f"{self.where}: {why}")

    def attr(self, key: str, default: Any = None) -> Any:
        value = self.node.attrs.get(key, default)
        return default if value is None else value

    @property
    def nd(self) -> int:
        return len(self.in_shapes[0]) - 1

    def dim(self, axis: int | None, rank: int | None = None) -> int:
        """A framework axis (batch counted, the model's layout) → the dim of the channels-first tensor."""
        if axis is None:
            return 1
        rank = (len(self.in_shapes[0]) + 1) if rank is None else rank
        fa = int(axis) % rank
        if fa == 0:
            raise self.fail("cannot work along the batch axis")
        if self.graph.layout == "channels_last" and rank > 2:
            return 1 if fa == rank - 1 else fa + 1
        return fa

    def load(self, module: nn.Module, names: Mapping[str, str] | None = None, required: bool = True) -> None:
        """Copy ``weights[name]`` into ``module.<target>`` for each ``name → target`` (shapes checked)."""
        if self.weights is None:
            return
        targets = names or {k: k for k in ("weight", "bias", "running_mean", "running_var")}
        for key, target in targets.items():
            if key not in self.weights:
                continue
            have = getattr(module, target, None)
            if not isinstance(have, torch.Tensor):
                raise self.fail(f"has a {key!r} weight but its module has no {target!r}")
            value = torch.as_tensor(np.asarray(self.weights[key]), dtype=have.dtype)
            if tuple(value.shape) != tuple(have.shape):
                raise self.fail(f"weight {key!r} has shape {tuple(value.shape)}, "
                                f"the module expects {tuple(have.shape)}")
            with torch.no_grad():
                have.copy_(value)


# -- activations ------------------------------------------------------------------------------

_SIMPLE: dict[str, Callable[[], nn.Module]] = {
    "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "selu": nn.SELU, "softplus": nn.Softplus,
    "softsign": nn.Softsign, "silu": nn.SiLU, "hard_sigmoid": nn.Hardsigmoid, "hard_silu": nn.Hardswish,
    "mish": nn.Mish, "hard_tanh": nn.Hardtanh, "identity": nn.Identity, "linear": nn.Identity,
}


def activation_module(attrs: Mapping[str, Any] | str, ctx: NodeContext | None) -> nn.Module:
    """The module for an activation's attributes (``fn`` and its parameters, see the IR docs).

    >>> activation_module({"fn": "relu", "max_value": 6.0}, None)
    KerasReLU(max_value=6.0, negative_slope=0.0, threshold=0.0)
    >>> activation_module("hard_silu", None)
    Hardswish()
    """
    a: Mapping[str, Any] = {"fn": attrs} if isinstance(attrs, str) else attrs
    fn = str(a.get("fn"))
    if fn in _SIMPLE:
        return _SIMPLE[fn]()
    if fn == "relu":
        mx, slope, t = a.get("max_value"), float(a.get("negative_slope") or 0), float(a.get("threshold") or 0)
        return nn.ReLU() if mx is None and not slope and not t else M.KerasReLU(mx, slope, t)
    if fn == "leaky_relu":
        return nn.LeakyReLU(float(a.get("negative_slope", 0.01)))
    if fn == "elu":
        return nn.ELU(float(a.get("alpha", 1.0)))
    if fn == "celu":
        return nn.CELU(float(a.get("alpha", 1.0)))
    if fn == "gelu":
        return nn.GELU("tanh" if a.get("approximate") else "none")
    if fn in ("softmax", "log_softmax"):
        axis = a.get("axis", -1)
        if ctx is None:
            raise BuildError("softmax needs its node's shapes")
        return M.Softmax(ctx.dim(axis if axis is not None else -1), log=fn == "log_softmax")
    if fn == "affine":
        if ctx is None:
            raise BuildError("affine needs its node's shapes")
        last = ctx.graph.layout == "channels_last"
        rank = len(ctx.in_shapes[0]) + 1
        return M.Affine(a.get("scale", 1.0), a.get("offset", 0.0), ctx.dim(-1) if last or rank <= 2 else rank - 1)
    if fn == "scalar":
        return M.ScalarOp(str(a["operator"]), float(a["constant"]), bool(a.get("reverse", False)))
    if fn in M.ELEMENTWISE:
        return M.Elementwise(fn)
    where = ctx.where if ctx is not None else "activation"
    raise BuildError(f"{where}: activation {fn!r} is not supported")


def _with_activation(module: nn.Module, ctx: NodeContext) -> nn.Module:
    act = ctx.node.attrs.get("activation")
    if not act or act == "linear":
        return module
    return nn.Sequential(module, activation_module(act, ctx))


# -- factories --------------------------------------------------------------------------------


def _nd_class(module: Any, stem: str, ctx: NodeContext) -> Any:
    cls = getattr(module, f"{stem}{ctx.nd}d", None)
    if cls is None:
        raise ctx.fail(f"{ctx.nd} spatial axes: no {stem} layer for that")
    return cls


def _conv_op(ctx: NodeContext) -> nn.Module:
    c_in = ctx.in_shapes[0][0]
    filters, groups = int(ctx.attr("filters")), int(ctx.attr("groups", 1))
    if ctx.attr("depthwise", False):
        groups, filters = c_in, c_in * filters
    cls = _nd_class(_conv, "Conv", ctx)
    module = cls(c_in, filters, ctx.attr("kernel"), ctx.attr("stride", 1), ctx.attr("padding", "valid"),
                 ctx.attr("dilation", 1), groups, bool(ctx.attr("bias", True)))
    ctx.load(module)
    return _with_activation(module, ctx)


def _conv_transpose_op(ctx: NodeContext) -> nn.Module:
    c_in = ctx.in_shapes[0][0]
    cls = _nd_class(_transpose, "ConvTranspose", ctx)
    padding, output_padding = ctx.attr("padding", 0), ctx.node.attrs.get("output_padding")
    if ctx.node.attrs.get("output_size") is not None:  # the length is fixed: its crop, as explicit pairs
        from ..geometry import Padding, conv_transpose, per_axis

        nd, a = ctx.nd, ctx.node.attrs
        g = conv_transpose(ctx.in_shapes[0][1:], per_axis(a["kernel"], nd, "kernel"),
                           per_axis(a.get("stride", 1), nd, "stride"), Padding.parse(padding, nd),
                           None if output_padding is None else per_axis(output_padding, nd, "output_padding"),
                           per_axis(a.get("dilation", 1), nd, "dilation"), str(ctx.attr("rule", "keras")),
                           per_axis(a["output_size"], nd, "output_size"))
        padding, output_padding = [tuple(p) for p in g.pads], None
    module = cls(c_in, int(ctx.attr("filters")), ctx.attr("kernel"), ctx.attr("stride", 1), padding,
                 output_padding, int(ctx.attr("groups", 1)), bool(ctx.attr("bias", True)),
                 ctx.attr("dilation", 1), rule=str(ctx.attr("rule", "keras")))
    ctx.load(module)
    return _with_activation(module, ctx)


def _pool_op(ctx: NodeContext) -> nn.Module:
    kind, kernel = ctx.attr("kind"), ctx.attr("kernel")
    stride, padding, ceil = ctx.attr("stride", kernel), ctx.attr("padding", "valid"), bool(ctx.attr("ceil_mode", False))
    if ceil and str(ctx.attr("rule", "torch")) not in ("torch", "onnx"):  # geometry: 'onnx' is torch's rule
        raise ctx.fail(f"ceil_mode with rule {ctx.attr('rule')!r} is not supported by the builder")
    if kind == "max":
        return _nd_class(_pool, "MaxPool", ctx)(kernel, stride, padding, ctx.attr("dilation", 1), False, ceil)  # type: ignore[no-any-return]
    if kind != "avg":
        raise ctx.fail(f"pooling kind {kind!r} is not supported by the builder")
    return _nd_class(_pool, "AvgPool", ctx)(kernel, stride, padding, ceil,  # type: ignore[no-any-return]
                                            bool(ctx.attr("count_include_pad", True)),
                                            dilation=ctx.attr("dilation", 1))


def _pairs(ctx: NodeContext, key: str, sign: int) -> list[tuple[int, int]]:
    from ..geometry import Padding

    spec = Padding.parse(ctx.node.attrs[key], ctx.nd)
    pairs = []
    for ax in spec.axes:
        if isinstance(ax, str):
            raise ctx.fail(f"{key} must be explicit numbers, got {ax!r}")
        pairs.append((sign * int(ax[0]), sign * int(ax[1])))
    return pairs


def _pad_op(ctx: NodeContext) -> nn.Module:
    mode = str(ctx.attr("mode", "constant"))
    return M.Pad(_pairs(ctx, "pads", 1), "constant" if mode == "zeros" else mode)


def _crop_op(ctx: NodeContext) -> nn.Module:
    return M.Pad(_pairs(ctx, "crops", -1))


def _upsample_op(ctx: NodeContext) -> nn.Module:
    mode = str(ctx.attr("mode", "nearest"))
    torch_mode = {"nearest": "nearest", "bilinear": "bilinear", "linear": "linear", "trilinear": "trilinear",
                  "bicubic": "bicubic"}.get(mode)
    if torch_mode is None:
        raise ctx.fail(f"upsampling mode {mode!r} is not supported")
    corners = bool(ctx.attr("align_corners", False)) if torch_mode != "nearest" else None
    return nn.Upsample(size=tuple(ctx.out_shape[1:]), mode=torch_mode, align_corners=corners) \
        if ctx.node.attrs.get("size") is not None else \
        nn.Upsample(scale_factor=tuple(float(o) / float(i) for o, i in zip(ctx.out_shape[1:], ctx.in_shapes[0][1:],
                                                                         strict=True)),
                    mode=torch_mode, align_corners=corners)


def _dense_op(ctx: NodeContext) -> nn.Module:
    shape = ctx.in_shapes[0]
    rank = len(shape)
    dim = 1 if rank > 1 and ctx.graph.layout == "channels_last" else -1
    n_in = shape[0] if dim == 1 else shape[-1]
    module = M.Dense(n_in, int(ctx.attr("units")), bool(ctx.attr("bias", True)), dim)
    ctx.load(module)
    return _with_activation(module, ctx)


def _norm_op(ctx: NodeContext) -> nn.Module:
    kind = str(ctx.attr("kind", "batch"))
    c = int(ctx.attr("features", ctx.in_shapes[0][0]))
    eps = float(ctx.attr("epsilon", 1e-5))
    affine = ctx.attr("affine", True)
    vectors = (2 if affine else 0) if isinstance(affine, bool) else int(affine)
    center = bool(ctx.attr("center", vectors > 0))
    scale = bool(ctx.attr("scale", vectors > 0))
    module: nn.Module
    if kind == "batch":
        momentum = ctx.node.attrs.get("momentum")
        module = M.BatchNormAnyRank(c, eps, 0.1 if momentum is None else 1 - float(momentum), center, scale)
        ctx.load(module)
    elif kind == "layer":
        module = M.ChannelLayerNorm(c, eps, center, scale, bool(ctx.attr("rms", False)))
        ctx.load(module, {"weight": "weight", "bias": "bias"})
    elif kind == "group":
        module = nn.GroupNorm(int(ctx.attr("groups", 32)), c, eps=eps, affine=center or scale)
        ctx.load(module, {"weight": "weight", "bias": "bias"})
    elif kind == "scale":
        module = M.ChannelScale(c)
        ctx.load(module, {"weight": "weight"})
    elif kind == "normalization":
        w = ctx.weights or {}
        mean, var = ctx.node.attrs.get("mean", w.get("mean")), ctx.node.attrs.get("variance", w.get("variance"))
        if mean is None or var is None:
            mean, var = np.zeros(c), np.ones(c)
        module = M.Normalize(torch.as_tensor(np.asarray(mean, dtype="float32")),
                             torch.as_tensor(np.asarray(var, dtype="float32")), eps, bool(ctx.attr("invert", False)))
    else:
        raise ctx.fail(f"normalization kind {kind!r} is not supported by the builder")
    return module


def _activation_op(ctx: NodeContext) -> nn.Module:
    return activation_module(ctx.node.attrs, ctx)


def _merge_op(ctx: NodeContext) -> nn.Module:
    op = ctx.node.op
    if op == "concat":
        return M.Concat(ctx.dim(ctx.node.attrs.get("axis")))
    if op == "mul":
        return M.Product(str(ctx.attr("mode", "product")))
    scales = ctx.node.attrs.get("scales")
    return M.Merge(str(ctx.attr("mode", "sum")), scales)


def _flatten_op(ctx: NodeContext) -> nn.Module:
    return M.Flatten(str(ctx.attr("order", "channels_first")))


def _reshape_op(ctx: NodeContext) -> nn.Module:
    if ctx.attr("batch_absorbing", False):
        raise ctx.fail("a reshape whose -1 absorbs the batch is not supported by the builder")
    return M.Reshape(ctx.node.attrs["target"], ctx.graph.layout)


def _global_pool_op(ctx: NodeContext) -> nn.Module:
    return M.GlobalPool(str(ctx.attr("kind", "avg")), bool(ctx.attr("keepdims", False)))


def _identity_op(ctx: NodeContext) -> nn.Module:
    return nn.Identity()


def _opaque_op(ctx: NodeContext) -> nn.Module:
    raise BuildError(f"{ctx.where} is not supported: padstride has no module for this layer class")


#: IR op → factory. Every op of :data:`padstride.analysis.ir.OPS` has an entry.
OP_TABLE: dict[str, Callable[[NodeContext], nn.Module]] = {
    "conv": _conv_op, "conv_transpose": _conv_transpose_op, "pool": _pool_op, "global_pool": _global_pool_op,
    "pad": _pad_op, "crop": _crop_op, "upsample": _upsample_op, "concat": _merge_op, "add": _merge_op,
    "mul": _merge_op, "flatten": _flatten_op, "reshape": _reshape_op, "dense": _dense_op, "norm": _norm_op,
    "activation": _activation_op, "dropout": _identity_op, "identity": _identity_op, "opaque": _opaque_op,
}
