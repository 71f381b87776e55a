"""Port a Keras 3 model to PyTorch: the analysis reads it, the IR builder builds it, Keras weights attached.

The module takes channels-first input (``N, C, *spatial``), as PyTorch does. Padding follows the
Keras/TF rule exactly (padstride layers: TF ``same`` is asymmetric when the total is odd), a
``Flatten`` flattens in Keras' channels-last order so the following ``Dense`` weights stay
valid, and average pooling under ``same`` divides by real cells, like TF.

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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..analysis.ir import Graph, Node
from ..errors import Error
from .build import BuildError, PortedModel, build

__all__ = ["KerasPortError", "PortedModel", "from_keras", "keras_weights"]


class KerasPortError(BuildError):
    """A Keras model that :func:`from_keras` cannot port: the message names the first layer at fault."""


def _np(variable: Any) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(variable))


def _var(layer: Any, *names: str) -> np.ndarray | None:
    for name in names:
        value = getattr(layer, name, None)
        if value is not None and hasattr(value, "shape"):
            return _np(value)
    return None


def _conv_kernel(kernel: np.ndarray) -> np.ndarray:
    """Keras ``(*k, in, out)`` → torch ``(out, in, *k)`` (a transposed conv's ``(*k, out, in)`` → ``(in, out, *k)``)."""
    return np.ascontiguousarray(np.moveaxis(kernel, (-1, -2), (0, 1)))


def _depthwise_kernel(kernel: np.ndarray) -> np.ndarray:
    """Keras ``(*k, C, multiplier)`` → torch ``(C·multiplier, 1, *k)`` (channel ``c·m + j``)."""
    *k, c, m = kernel.shape
    return _conv_kernel(kernel.reshape(*k, 1, c * m))


def _layer_weights(layer: Any, node: Node) -> dict[str, np.ndarray]:
    op, part = node.op, node.attrs.get("part")
    out: dict[str, np.ndarray] = {}
    if op in ("conv", "conv_transpose"):
        if part == "depthwise":
            kernel = _var(layer, "depthwise_kernel", "kernel")
            if kernel is not None:
                out["weight"] = _depthwise_kernel(kernel)
            if node.attrs.get("bias") and (b := _var(layer, "bias")) is not None:
                out["bias"] = b
            return out
        kernel = _var(layer, "pointwise_kernel" if part == "pointwise" else "kernel", "kernel")
        if kernel is not None:
            out["weight"] = _conv_kernel(kernel)
        if node.attrs.get("bias", True) and (b := _var(layer, "bias")) is not None:
            out["bias"] = b
    elif op == "dense":
        kernel = _var(layer, "kernel")
        if kernel is not None:
            out["weight"] = np.ascontiguousarray(kernel.T)
        if node.attrs.get("bias", True) and (b := _var(layer, "bias")) is not None:
            out["bias"] = b
    elif op == "norm":
        kind = node.attrs.get("kind")
        if kind == "normalization":
            for key, names in (("mean", ("adapt_mean", "mean")), ("variance", ("adapt_variance", "variance"))):
                if (v := _var(layer, *names)) is not None:
                    out[key] = v
            return out
        if kind == "scale":
            if (g := _var(layer, "gamma")) is not None:
                out["weight"] = g
            return out
        if node.attrs.get("scale", True) and (g := _var(layer, "gamma")) is not None:
            out["weight"] = g
        if node.attrs.get("center", True) and (b := _var(layer, "beta")) is not None:
            out["bias"] = b
        if kind == "batch":
            out["running_mean"] = _np(layer.moving_mean)
            out["running_var"] = _np(layer.moving_variance)
    return out


def keras_weights(model: Any) -> Any:
    """``node → weights`` for the builder, read from the live Keras layers (``node.attrs['source']``).

    >>> import keras
    >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="fc")])
    >>> from padstride.analysis.adapters.keras import graph_from_keras
    >>> sorted(keras_weights(m)(graph_from_keras(m).node("fc")))
    ['bias', 'weight']
    """
    from ..analysis.adapters.keras import keras_layer

    def weights(node: Node) -> Mapping[str, Any] | None:
        path = node.attrs.get("source")
        if not path or node.op not in ("conv", "conv_transpose", "dense", "norm"):
            return None
        return _layer_weights(keras_layer(model, path), node)

    return weights


def _graph(model: Any, input_shape: Sequence[int] | None) -> Graph:
    from ..analysis.adapters.keras import graph_from_keras

    if not getattr(model, "built", False) or not getattr(model, "inputs", None):
        raise KerasPortError(f"model {model.name!r} has no graph yet: build it with an Input "
                             "(keras.Input(shape)) first")
    if input_shape is None and len(model.inputs) == 1:
        shape = tuple(model.inputs[0].shape)[1:]
        if any(s is None for s in shape):  # sizes left open: any size works for the build itself
            input_shape = [256 if s is None else int(s) for s in shape]
    try:
        return graph_from_keras(model, input_shape)
    except Error as exc:
        raise KerasPortError(str(exc)) from None


def from_keras(model: Any, input_shape: Sequence[int] | None = None) -> PortedModel:
    """A PyTorch module equal to a Keras 3 model (Sequential or functional, nested models), weights copied.

    ``model`` is a built ``keras.Model`` or the path of a ``.keras`` file (loaded with
    ``safe_mode=True``). ``input_shape`` (per sample, Keras layout) is only needed when the model
    leaves sizes open and a layer depends on them. The module takes and returns channels-first
    tensors and is in eval mode. Raises :class:`KerasPortError` naming the first layer it cannot port.

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
    graph = _graph(model, input_shape)
    try:
        return build(graph, keras_weights(model))
    except BuildError as exc:
        raise KerasPortError(str(exc)) from None
