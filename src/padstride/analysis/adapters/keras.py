"""Keras 3 model or ``.keras`` file → graph IR, from the model's config alone.

A ``.keras`` file is read as its ``config.json`` (nothing is deserialized, so no code from the
file runs); a layer padstride does not know is then built with
``keras.saving.load_model(path, safe_mode=True)`` and kept as an opaque node with the shape and
parameter count Keras computes. Sequential and functional models are supported; Keras' own
layer names are kept.

>>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")  # doctest: +ELLIPSIS
'...'
>>> import keras
>>> m = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, strides=2, padding="same")])
>>> g = graph_from_keras(m)
>>> [(n.type, n.attrs.get("padding")) for n in g.nodes]
[('InputLayer', None), ('Conv2D', 'same')]
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..builder import GraphBuilder
from ..ir import Graph
from ..load import ModelError

__all__ = ["graph_from_config", "graph_from_keras", "graph_from_keras_file"]

Config = Mapping[str, Any]
Handler = Callable[[GraphBuilder, Config, list[str], str, str], str]


def _nd(cls: str) -> int:
    m = re.search(r"([123])D", cls)
    return int(m.group(1)) if m else 2


def _conv(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
    if "Transpose" in cls:
        return b.conv_transpose(xs[0], c["filters"], c["kernel_size"], c["strides"], c["padding"],
                                c.get("output_padding"), c.get("dilation_rate", 1), c.get("groups", 1),
                                c.get("use_bias", True), rule="keras", name=name, type=cls)
    if cls.startswith("Depthwise"):
        return b.node("conv", xs, name, cls, filters=c.get("depth_multiplier", 1), kernel=c["kernel_size"],
                      stride=c["strides"], padding=c["padding"], dilation=c.get("dilation_rate", 1),
                      bias=c.get("use_bias", True), depthwise=True)
    return b.conv(xs[0], c["filters"], c["kernel_size"], c["strides"], c["padding"], c.get("dilation_rate", 1),
                  c.get("groups", 1), c.get("use_bias", True), c.get("activation"), name=name, type=cls)


def _pool(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
    kind = "max" if cls.startswith("Max") else "avg"
    size = c.get("pool_size", 2)
    return b.pool(xs[0], kind, size, c.get("strides") or size, c.get("padding", "valid"),
                  count_include_pad=False, name=name, type=cls)


def _global(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
    return b.global_pool(xs[0], "max" if "Max" in cls else "avg", bool(c.get("keepdims", False)), name=name, type=cls)


def _pairs(value: Any, nd: int) -> list[Any]:
    if isinstance(value, int):
        return [value] * nd
    items = list(value)
    if nd == 1 and len(items) == 2 and all(isinstance(i, int) for i in items):
        return [tuple(items)]
    return [tuple(i) if isinstance(i, (list, tuple)) else i for i in items]


def _zero_pad(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
    return b.pad(xs[0], _pairs(c["padding"], _nd(cls)), name=name, type=cls)


def _crop(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
    return b.crop(xs[0], _pairs(c["cropping"], _nd(cls)), name=name, type=cls)


def _upsample(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
    size = c.get("size", 2)
    scale = list(size) if isinstance(size, (list, tuple)) else [size] * _nd(cls)
    return b.upsample(xs[0], scale, mode=c.get("interpolation", "nearest"), name=name, type=cls)


def _merge(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
    if cls == "Concatenate":
        return b.concat(xs, axis=c.get("axis", -1), name=name, type=cls)
    return b.node("mul" if cls == "Multiply" else "add", xs, name, cls)


def _dense(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
    return b.dense(xs[0], c["units"], c.get("use_bias", True), c.get("activation"), name=name, type=cls)


def _norm(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
    axis = c.get("axis", -1)
    if axis not in (-1, [-1], (-1,)) and not isinstance(axis, int):
        raise ModelError(f"{name} ({cls}): normalizing over axes {axis} is not supported")
    vectors = int(c.get("center", True)) + int(c.get("scale", True))
    kind = {"BatchNormalization": "batch", "LayerNormalization": "layer", "GroupNormalization": "group"}[cls]
    return b.norm(xs[0], kind, vectors, stats=kind == "batch", stats_are_params=True, name=name, type=cls)


def _simple(op: str) -> Handler:
    def handler(b: GraphBuilder, c: Config, xs: list[str], name: str, cls: str) -> str:
        if op == "reshape":
            return b.reshape(xs[0], list(c["target_shape"]), name=name, type=cls)
        return b.node(op, xs, name, cls)

    return handler


_HANDLERS: dict[str, Handler] = {
    **{f"Conv{d}D": _conv for d in (1, 2, 3)}, **{f"Convolution{d}D": _conv for d in (1, 2, 3)},
    **{f"Conv{d}DTranspose": _conv for d in (1, 2, 3)}, "DepthwiseConv1D": _conv, "DepthwiseConv2D": _conv,
    **{f"{k}Pooling{d}D": _pool for k in ("Max", "Average") for d in (1, 2, 3)},
    **{f"Global{k}Pooling{d}D": _global for k in ("Max", "Average") for d in (1, 2, 3)},
    **{f"ZeroPadding{d}D": _zero_pad for d in (1, 2, 3)}, **{f"Cropping{d}D": _crop for d in (1, 2, 3)},
    **{f"UpSampling{d}D": _upsample for d in (1, 2, 3)},
    "Concatenate": _merge, "Add": _merge, "Subtract": _merge, "Average": _merge, "Maximum": _merge,
    "Minimum": _merge, "Multiply": _merge,
    "Dense": _dense, "Flatten": _simple("flatten"), "Reshape": _simple("reshape"),
    "BatchNormalization": _norm, "LayerNormalization": _norm, "GroupNormalization": _norm,
    **{k: _simple("activation") for k in ("Activation", "ReLU", "LeakyReLU", "Softmax", "ELU")},
    **{k: _simple("dropout") for k in ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                                       "GaussianNoise", "GaussianDropout", "AlphaDropout")},
    "Identity": _simple("identity"),
}


#: Keras operations (``keras.ops``, or Python operators on Keras tensors) that keep or broadcast shapes.
_ELEMENTWISE_OPS = {"Add": "add", "Subtract": "add", "Maximum": "add", "Minimum": "add", "Multiply": "mul",
                    "Divide": "mul", "TrueDivide": "mul", "Power": "mul"}
_UNARY_OPS = {"Sigmoid", "HardSigmoid", "Relu", "Relu6", "Tanh", "Exp", "Abs", "Negative", "Sqrt", "Square",
              "Silu", "Swish", "HardSilu", "HardSwish", "Gelu", "Softplus", "Elu", "LeakyRelu", "Clip", "Log",
              "Reciprocal", "Sign", "Round", "Floor", "Ceil", "Cast"}


def _elementwise(cls: str, tensors: int) -> bool:
    return (cls in _ELEMENTWISE_OPS and tensors >= 1) or (cls in _UNARY_OPS and tensors == 1)


def _input_shape(layer: Config) -> list[Any]:
    c = layer.get("config", {})
    shape = c.get("batch_shape") or c.get("batch_input_shape")
    if shape is None:
        raise ModelError(f"input layer {c.get('name')!r} has no shape")
    return list(shape)[1:]


def _check_shape(shape: Sequence[Any], given: Sequence[int] | None, where: str) -> list[int]:
    if given is not None:
        return list(given)
    if any(s is None for s in shape):
        raise ModelError(f"{where}: the input shape {tuple(shape)} has unknown sizes; pass one with --input")
    return [int(s) for s in shape]


def graph_from_config(config: Config, class_name: str, input_shape: Sequence[int] | None = None,
                      fallback: Callable[[str], tuple[Sequence[int], int, int]] | None = None) -> Graph:
    """The graph of a Sequential or Functional model config (``model.get_config()``).

    ``fallback(layer_name)`` returns ``(output shape without batch, params, trainable)`` for layers
    padstride does not know; without it such a layer is an error naming it.
    """
    name = str(config.get("name", "model"))
    b = GraphBuilder(name, layout="channels_last", framework="keras")
    layers = list(config.get("layers", []))
    for layer in layers:
        fmt = layer.get("config", {}).get("data_format")
        if fmt == "channels_first":
            raise ModelError(f"{layer['config'].get('name')}: data_format='channels_first' is not supported yet")

    def add(layer: Config, inputs: list[str], lname: str, nested: bool = False) -> str:
        cls = str(layer["class_name"])
        if cls == "Sequential" and len(inputs) == 1:  # a nested Sequential (ConvNeXt's stem): inlined
            inner = [x for x in layer["config"]["layers"] if x["class_name"] != "InputLayer"]
            x = inputs[0]
            for i, sub in enumerate(inner):
                x = add(sub, [x], lname if i == len(inner) - 1 else f"{lname}/{sub['config']['name']}", True)
            return x
        if str(layer.get("module", "")).startswith("keras.src.ops") and _elementwise(cls, len(inputs)):
            op = _ELEMENTWISE_OPS.get(cls, "activation") if len(inputs) > 1 else "activation"
            return b.node(op, inputs, lname, cls)  # ``x + 3.0``, ``ops.sigmoid(x)``, ``a * b``: shapes broadcast
        handler = _HANDLERS.get(cls)
        if handler is not None:
            return handler(b, layer.get("config", {}), inputs, lname, cls)
        if cls in ("Functional", "Model") and fallback is None:
            raise ModelError(f"{lname} ({cls}): a nested functional model needs the model itself (load it), "
                             "or analyse it on its own")
        if fallback is None or nested:
            raise ModelError(f"{lname} ({cls}): unknown layer class (load the model itself to use Keras' shapes)")
        shape, params, trainable = fallback(lname)
        from ..ir import to_canonical

        return b.opaque(inputs, to_canonical(shape, "channels_last"), params, trainable, name=lname, type=cls)

    if class_name == "Sequential":
        start = 0
        if layers and layers[0]["class_name"] == "InputLayer":
            shape = _input_shape(layers[0])
            in_name = layers[0]["config"].get("name", "input_layer")
            start = 1
        else:
            build = config.get("build_input_shape")
            if build is None and input_shape is None:
                raise ModelError(f"{name}: the Sequential model has no input shape; pass one with --input")
            shape = list(build or [None])[1:]
            in_name = "input_layer"
        x = b.input(_check_shape(shape, input_shape, name), name=in_name)
        for layer in layers[start:]:
            x = add(layer, [x], str(layer["config"]["name"]))
        return b.build(x)

    tensors: dict[tuple[str, int, int], str] = {}
    given = input_shape
    for layer in layers:
        lname = str(layer.get("name") or layer["config"]["name"])
        if layer["class_name"] == "InputLayer":
            tensors[(lname, 0, 0)] = b.input(_check_shape(_input_shape(layer), given, lname), name=lname)
            given = None
            continue
        for call, node in enumerate(layer.get("inbound_nodes", [])):
            refs = [tensors[_history(t)] for t in _tensors(node.get("args", []))]
            tensors[(lname, call, 0)] = add(layer, refs, lname if call == 0 else f"{lname}_call{call}")
    outputs = [tensors[(str(o[0]), int(o[1]), int(o[2]))] for o in _output_list(config.get("output_layers", []))]
    return b.build(outputs or None)


def _output_list(value: Any) -> list[Any]:
    if value and isinstance(value[0], str):
        return [value]
    return list(value)


def _history(tensor: Config) -> tuple[str, int, int]:
    h = tensor["config"]["keras_history"]
    return (str(h[0]), int(h[1]), int(h[2]))


def _tensors(args: Any) -> list[Config]:
    if isinstance(args, Mapping):
        return [args] if args.get("class_name") == "__keras_tensor__" else []
    if isinstance(args, (list, tuple)):
        return [t for a in args for t in _tensors(a)]
    return []


def graph_from_keras(model: Any, input_shape: Sequence[int] | None = None) -> Graph:
    """The graph of a live Keras 3 model (its config; Keras shapes for layers padstride does not know).

    >>> import keras
    >>> m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.MaxPooling2D(3, strides=2, padding="same")])
    >>> graph_from_keras(m).nodes[-1].attrs["stride"]
    (2, 2)
    """
    import keras  # type: ignore[import-untyped]

    kind = "Sequential" if isinstance(model, keras.Sequential) else "Functional"

    def fallback(name: str) -> tuple[Sequence[int], int, int]:
        layer = model.get_layer(name)
        shape = tuple(layer.output.shape)[1:]
        trainable = sum(int(w.numpy().size) for w in layer.trainable_weights)
        return shape, layer.count_params(), trainable

    return graph_from_config(model.get_config(), kind, input_shape, fallback)


def graph_from_keras_file(path: str | Path, input_shape: Sequence[int] | None = None) -> Graph:
    """The graph of a ``.keras`` file, read from its ``config.json``.

    Unknown layer classes make padstride load the model with ``keras.saving.load_model(path,
    safe_mode=True)`` and ask Keras for their shapes.
    """
    try:
        with zipfile.ZipFile(path) as z:
            data = json.loads(z.read("config.json"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not a readable .keras file ({exc})") from None
    cls, config = str(data.get("class_name")), data.get("config", {})
    if cls not in ("Sequential", "Functional", "Model"):
        raise ModelError(f"{path}: a {cls} is not a Sequential or functional model")
    loaded: list[Any] = []

    def fallback(name: str) -> tuple[Sequence[int], int, int]:
        if not loaded:
            import keras

            loaded.append(keras.saving.load_model(str(path), safe_mode=True, compile=False))
        layer = loaded[0].get_layer(name)
        trainable = sum(int(w.numpy().size) for w in layer.trainable_weights)
        return tuple(layer.output.shape)[1:], layer.count_params(), trainable

    graph = graph_from_config(config, "Sequential" if cls == "Sequential" else "Functional", input_shape, fallback)
    graph.name = str(config.get("name", Path(path).stem))
    return graph
