"""One handler per Keras layer class: a layer's config → IR nodes with everything a builder needs.

Each handler gets the :class:`GraphBuilder`, the layer's ``config``, its input node names and a
:class:`Call` (the node name to use, the class name, the framework path for weight lookup, the
model layout) and returns the name of its output node. Parameter counts follow from the
attributes alone (no weights are built), as Keras' ``count_params()`` counts them.

>>> from padstride.analysis import GraphBuilder
>>> b = GraphBuilder("m", layout="channels_last", framework="keras")
>>> x = b.input((9, 9, 3))
>>> call = Call("sep", "SeparableConv2D", ("sep",), "channels_last")
>>> out = HANDLERS["SeparableConv2D"](b, {"filters": 4, "kernel_size": 3, "padding": "same"}, [x], call)
>>> [(n.name, n.attrs.get("part")) for n in b.nodes[1:]]
[('sep/depthwise', 'depthwise'), ('sep', 'pointwise')]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..builder import GraphBuilder
from ..errors import ModelError

__all__ = ["ACTIVATIONS", "HANDLERS", "OP_HANDLERS", "Call", "Config", "activation_attrs"]

Config = Mapping[str, Any]


@dataclass(frozen=True)
class Call:
    """Where a layer call lands in the IR: node name, Keras class, weight path, model layout."""

    name: str
    cls: str
    source: tuple[str, ...]
    layout: str
    shared: bool = False

    def attrs(self, **extra: Any) -> dict[str, Any]:
        """``source`` (the layer path in the Keras model, for weights), ``shared`` (a second call of a
        layer: its weights are an earlier node's) plus ``extra``."""
        return {"source": self.source, **({"shared": True} if self.shared else {}), **extra}


Handler = Callable[[GraphBuilder, Config, list[str], Call], str]

#: Keras activation names → the IR's ``fn`` vocabulary (see :class:`padstride.analysis.attrs.ActivationAttrs`).
ACTIVATIONS: dict[str, str] = {
    "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "tanh": "tanh", "elu": "elu", "selu": "selu",
    "softplus": "softplus", "softsign": "softsign", "silu": "silu", "swish": "silu", "gelu": "gelu",
    "hard_sigmoid": "hard_sigmoid", "hard_silu": "hard_silu", "hard_swish": "hard_silu", "mish": "mish",
    "exponential": "exp", "linear": "linear", "leaky_relu": "leaky_relu", "softmax": "softmax",
    "log_softmax": "log_softmax", "celu": "celu", "glu": "glu", "tanh_shrink": "tanh_shrink",
    "hard_tanh": "hard_tanh", "sparse_plus": "sparse_plus", "squareplus": "squareplus",
    "log_sigmoid": "log_sigmoid", "soft_shrink": "soft_shrink", "hard_shrink": "hard_shrink",
}


def activation_attrs(value: Any, where: str) -> dict[str, Any] | None:
    """A Keras ``activation`` config value → IR activation attributes (``None`` for linear).

    >>> activation_attrs("swish", "x"), activation_attrs("linear", "x")
    ({'fn': 'silu'}, None)
    """
    if value is None:
        return None
    if isinstance(value, Mapping):  # a serialized function: {"class_name": "function", "config": "relu"}
        value = value.get("config")
    name = str(value)
    if name not in ACTIVATIONS:
        raise ModelError(f"{where}: activation {name!r} is not known")
    fn = ACTIVATIONS[name]
    if fn == "linear":
        return None
    attrs: dict[str, Any] = {"fn": fn}
    if fn == "leaky_relu":
        attrs["negative_slope"] = 0.2
    if fn == "gelu":
        attrs["approximate"] = False
    if fn in ("softmax", "log_softmax"):
        attrs["axis"] = -1
    return attrs


def _nd(cls: str) -> int:
    m = re.search(r"([123])D", cls)
    return int(m.group(1)) if m else 2


def _rank(b: GraphBuilder, x: str) -> int:
    """The Keras rank (batch included) of node ``x``'s output."""
    shape = b.propagated()[x].shape
    if shape is None:
        raise ModelError(f"{x}: shape unknown after an earlier error")
    return len(shape) + 1


def canonical_axis(axis: int, rank: int, layout: str) -> int:
    """A Keras axis (batch counted) → the axis of the channels-first per-sample shape.

    >>> canonical_axis(-1, 4, "channels_last"), canonical_axis(1, 4, "channels_first")
    (0, 0)
    """
    fa = axis % rank
    if fa == 0:
        raise ModelError(f"axis {axis} is the batch axis")
    li = fa - 1
    if layout == "channels_last" and rank > 2:
        return 0 if li == rank - 2 else li + 1
    return li


def _act(c: Config, call: Call) -> dict[str, Any] | None:
    return activation_attrs(c.get("activation"), f"{call.name} ({call.cls})")


def _conv(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    cls, name, act = call.cls, call.name, _act(c, call)
    common = {"kernel": c["kernel_size"], "stride": c.get("strides", 1), "padding": c.get("padding", "valid"),
              "dilation": c.get("dilation_rate", 1)}
    if "Transpose" in cls:
        op = c.get("output_padding")
        return b.node("conv_transpose", xs, name, cls, **call.attrs(
            filters=c["filters"], output_padding=op, groups=c.get("groups", 1), bias=c.get("use_bias", True),
            rule="keras" if op is None else "keras_torch", activation=act, **common))
    if cls.startswith("Depthwise"):
        return b.node("conv", xs, name, cls, **call.attrs(
            filters=c.get("depth_multiplier", 1), bias=c.get("use_bias", True), depthwise=True, part="depthwise",
            activation=act, **common))
    if cls.startswith("Separable"):
        dw = b.node("conv", xs, f"{name}/depthwise", cls, **call.attrs(
            filters=c.get("depth_multiplier", 1), bias=False, depthwise=True, part="depthwise", **common))
        return b.node("conv", dw, name, cls, **call.attrs(
            filters=c["filters"], kernel=1, bias=c.get("use_bias", True), part="pointwise", activation=act))
    return b.node("conv", xs, name, cls, **call.attrs(
        filters=c["filters"], groups=c.get("groups", 1), bias=c.get("use_bias", True), activation=act, **common))


def _pool(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    kind = "max" if call.cls.startswith("Max") else "avg"
    size = c.get("pool_size", 2)
    return b.node("pool", xs, call.name, call.cls, **call.attrs(
        kind=kind, kernel=size, stride=c.get("strides") or size, padding=c.get("padding", "valid"),
        count_include_pad=False))


def _global(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    return b.node("global_pool", xs, call.name, call.cls, **call.attrs(
        kind="max" if "Max" in call.cls else "avg", keepdims=bool(c.get("keepdims", False))))


def _pairs(value: Any, nd: int) -> list[Any]:
    if isinstance(value, int):
        return [value] * nd
    items = list(value)
    if nd == 1 and len(items) == 2 and all(isinstance(i, int) for i in items):
        return [tuple(items)]
    return [tuple(i) if isinstance(i, (list, tuple)) else i for i in items]


def _zero_pad(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    return b.node("pad", xs, call.name, call.cls, **call.attrs(pads=_pairs(c["padding"], _nd(call.cls)),
                                                                mode="constant"))


def _crop(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    return b.node("crop", xs, call.name, call.cls, **call.attrs(crops=_pairs(c["cropping"], _nd(call.cls))))


def _upsample(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    size = c.get("size", 2)
    scale = list(size) if isinstance(size, (list, tuple)) else [size] * _nd(call.cls)
    return b.node("upsample", xs, call.name, call.cls, **call.attrs(
        scale=scale, mode=c.get("interpolation", "nearest"), align_corners=False))


_MERGES = {"Add": ("sum", None), "Subtract": ("sum", (1.0, -1.0)), "Maximum": ("max", None),
           "Minimum": ("min", None)}


def _merge(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    cls = call.cls
    if cls == "Concatenate":
        return b.node("concat", xs, call.name, cls, **call.attrs(axis=c.get("axis", -1)))
    if cls == "Multiply":
        return b.node("mul", xs, call.name, cls, **call.attrs(mode="product"))
    if cls == "Average":
        return b.node("add", xs, call.name, cls, **call.attrs(mode="sum", scales=tuple([1 / len(xs)] * len(xs))))
    mode, scales = _MERGES[cls]
    return b.node("add", xs, call.name, cls, **call.attrs(mode=mode, scales=scales))


def _custom_scale(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    """InceptionResNetV2's ``CustomScaleLayer``: ``inputs[0] + inputs[1] * scale``."""
    return b.node("add", xs, call.name, call.cls, **call.attrs(mode="sum", scales=(1.0, float(c["scale"]))))


def _dense(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    return b.node("dense", xs, call.name, call.cls, **call.attrs(
        units=c["units"], bias=c.get("use_bias", True), activation=_act(c, call)))


def _norm_axis(b: GraphBuilder, c: Config, xs: list[str], call: Call, default: Any = -1) -> None:
    axis = c.get("axis", default)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    rank = _rank(b, xs[0])
    if len(axes) != 1 or canonical_axis(int(axes[0]), rank, call.layout) != 0:
        raise ModelError(f"{call.name} ({call.cls}): normalizing over axis {axis} (not the channels) is not supported")


def _norm(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    cls = call.cls
    _norm_axis(b, c, xs, call)
    center, scale = bool(c.get("center", True)), bool(c.get("scale", True))
    kind = {"BatchNormalization": "batch", "LayerNormalization": "layer", "GroupNormalization": "group"}[cls]
    extra: dict[str, Any] = {"epsilon": float(c.get("epsilon", 1e-3))}
    if kind == "batch":
        extra["momentum"] = float(c.get("momentum", 0.99))
    if kind == "group":
        extra["groups"] = int(c.get("groups", 32))
    if kind == "layer" and c.get("rms_scaling"):
        extra["rms"] = True
    return b.node("norm", xs, call.name, cls, **call.attrs(
        kind=kind, affine=int(center) + int(scale), center=center, scale=scale, stats=kind == "batch",
        stats_are_params=True, **extra))


def _normalization(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    """``Normalization``: ``(x - mean) / max(sqrt(variance), 1e-7)`` (``invert`` the other way)."""
    _norm_axis(b, c, xs, call)
    given = c.get("mean") is not None
    attrs = call.attrs(kind="normalization", affine=0, stats=not given, stats_are_params=True,
                       extra_params=0 if given else 1, invert=bool(c.get("invert", False)), epsilon=1e-7)
    if given:
        attrs.update(mean=c["mean"], variance=c["variance"])
    return b.node("norm", xs, call.name, call.cls, **attrs)


def _layer_scale(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    """ConvNeXt's ``LayerScale``: ``x * gamma`` with one trainable value per channel."""
    return b.node("norm", xs, call.name, call.cls, **call.attrs(
        kind="scale", affine=1, center=False, scale=True, stats=False, features=int(c["projection_dim"])))


def _relu(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    mx = c.get("max_value")
    return b.node("activation", xs, call.name, call.cls, **call.attrs(
        fn="relu", max_value=None if mx is None else float(mx), negative_slope=float(c.get("negative_slope", 0.0)),
        threshold=float(c.get("threshold", 0.0))))


def _leaky(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    slope = c.get("negative_slope", c.get("alpha", 0.3))
    return b.node("activation", xs, call.name, call.cls, **call.attrs(fn="leaky_relu", negative_slope=float(slope)))


def _elu(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    return b.node("activation", xs, call.name, call.cls, **call.attrs(fn="elu", alpha=float(c.get("alpha", 1.0))))


def _softmax(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    axis = c.get("axis", -1)
    return b.node("activation", xs, call.name, call.cls, **call.attrs(
        fn="softmax", axis=axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis))


def _activation(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    act = activation_attrs(c.get("activation"), f"{call.name} ({call.cls})")
    if act is None:
        return b.node("identity", xs, call.name, call.cls, **call.attrs())
    return b.node("activation", xs, call.name, call.cls, **call.attrs(**act))


def _rescaling(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    return b.node("activation", xs, call.name, call.cls, **call.attrs(
        fn="affine", scale=c.get("scale", 1.0), offset=c.get("offset", 0.0)))


def _reshape(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    return b.node("reshape", xs, call.name, call.cls, **call.attrs(target=tuple(c["target_shape"])))


def _simple(op: str) -> Handler:
    def handler(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
        return b.node(op, xs, call.name, call.cls, **call.attrs())

    return handler


def _flatten(b: GraphBuilder, c: Config, xs: list[str], call: Call) -> str:
    # Keras flattens in channels-last order in both layouts (channels_first moves the channels last first)
    return b.node("flatten", xs, call.name, call.cls, **call.attrs(order="channels_last"))


HANDLERS: dict[str, Handler] = {
    **{f"Conv{d}D": _conv for d in (1, 2, 3)}, **{f"Convolution{d}D": _conv for d in (1, 2, 3)},
    **{f"Conv{d}DTranspose": _conv for d in (1, 2, 3)}, "DepthwiseConv1D": _conv, "DepthwiseConv2D": _conv,
    "SeparableConv1D": _conv, "SeparableConv2D": _conv,
    **{f"{k}Pooling{d}D": _pool for k in ("Max", "Average") for d in (1, 2, 3)},
    **{f"Global{k}Pooling{d}D": _global for k in ("Max", "Average") for d in (1, 2, 3)},
    **{f"ZeroPadding{d}D": _zero_pad for d in (1, 2, 3)}, **{f"Cropping{d}D": _crop for d in (1, 2, 3)},
    **{f"UpSampling{d}D": _upsample for d in (1, 2, 3)},
    "Concatenate": _merge, "Add": _merge, "Subtract": _merge, "Average": _merge, "Maximum": _merge,
    "Minimum": _merge, "Multiply": _merge, "CustomScaleLayer": _custom_scale,
    "Dense": _dense, "Flatten": _flatten, "Reshape": _reshape,
    "BatchNormalization": _norm, "LayerNormalization": _norm, "GroupNormalization": _norm,
    "Normalization": _normalization, "LayerScale": _layer_scale, "Rescaling": _rescaling,
    "Activation": _activation, "ReLU": _relu, "LeakyReLU": _leaky, "Softmax": _softmax, "ELU": _elu,
    **{k: _simple("dropout") for k in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                                       "GaussianNoise", "GaussianDropout", "AlphaDropout", "StochasticDepth",
                                       "ActivityRegularization")},
    "Identity": _simple("identity"),
}

# -- keras.ops on Keras tensors (``x + 3.0``, ``ops.sigmoid(x)``, ``a * b``) ------------------------

#: Two-operand ``keras.ops`` classes → the IR ``operator`` vocabulary.
BINARY_OPS: dict[str, str] = {"Add": "add", "Subtract": "subtract", "Multiply": "multiply", "Divide": "divide",
                              "TrueDivide": "divide", "Power": "power", "Maximum": "maximum", "Minimum": "minimum"}
#: One-operand ``keras.ops`` classes → activation ``fn``.
UNARY_OPS: dict[str, str] = {
    "Sigmoid": "sigmoid", "HardSigmoid": "hard_sigmoid", "Relu": "relu", "Relu6": "relu6", "Tanh": "tanh",
    "Exp": "exp", "Abs": "abs", "Negative": "negative", "Sqrt": "sqrt", "Square": "square", "Silu": "silu",
    "Swish": "silu", "HardSilu": "hard_silu", "HardSwish": "hard_silu", "Gelu": "gelu", "Softplus": "softplus",
    "Elu": "elu", "LeakyRelu": "leaky_relu", "Log": "log", "Reciprocal": "reciprocal", "Sign": "sign",
    "Round": "round", "Floor": "floor", "Ceil": "ceil", "Cast": "identity", "Mish": "mish", "Selu": "selu",
}


def op_node(b: GraphBuilder, c: Config, args: Sequence[Any], refs: list[str], call: Call) -> str | None:
    """A ``keras.ops`` call: ``args`` in call order (tensors already resolved to ``refs``, constants
    as given). ``None`` when the op is not understood."""
    cls = call.cls
    tensors = [a for a in args if isinstance(a, str)]
    if cls in BINARY_OPS and len(args) == 2:
        operator = BINARY_OPS[cls]
        if len(tensors) == 2:
            if operator in ("add", "subtract", "maximum", "minimum"):
                mode = {"maximum": "max", "minimum": "min"}.get(operator, "sum")
                scales = (1.0, -1.0) if operator == "subtract" else None
                return b.node("add", refs, call.name, cls, **call.attrs(mode=mode, scales=scales))
            if operator in ("multiply", "divide"):
                return b.node("mul", refs, call.name, cls, **call.attrs(
                    mode="product" if operator == "multiply" else "quotient"))
            return None
        const = args[1] if isinstance(args[0], str) else args[0]
        if len(tensors) == 1 and isinstance(const, (int, float)) and not isinstance(const, bool):
            return b.node("activation", refs, call.name, cls, **call.attrs(
                fn="scalar", operator=operator, constant=float(const), reverse=not isinstance(args[0], str)))
        return None
    if cls in UNARY_OPS and len(tensors) == 1 and len(args) == 1:
        fn = UNARY_OPS[cls]
        extra: dict[str, Any] = {}
        if fn == "gelu":
            extra["approximate"] = bool(c.get("approximate", True))
        if fn == "leaky_relu":
            extra["negative_slope"] = float(c.get("negative_slope", 0.2))
        if fn == "elu":
            extra["alpha"] = float(c.get("alpha", 1.0))
        if fn == "identity":
            return b.node("identity", refs, call.name, cls, **call.attrs())
        return b.node("activation", refs, call.name, cls, **call.attrs(fn=fn, **extra))
    return None


OP_HANDLERS = BINARY_OPS.keys() | UNARY_OPS.keys()
