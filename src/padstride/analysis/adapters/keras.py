"""Keras 3 model or ``.keras`` file → graph IR, from the model's config alone.

A ``.keras`` file is read as its ``config.json`` (capped at :data:`CONFIG_LIMIT` bytes; nothing is
deserialized, no code from the file runs and no weight is allocated). Sequential and functional
models, nested models (inlined, their layers named ``outer/inner``), ``keras.ops`` arithmetic on
tensors and both ``data_format`` values are read; Keras' own layer names are kept. Parameters come
from the layers' attributes (the arithmetic Keras' ``count_params()`` does).

A layer class padstride does not know: in a live model, an opaque node with the shape and
parameters Keras reports for it; in a file, an opaque node with the shape recorded in the config
(its parameters are not counted, and the graph's notes say so).

Every node carries ``source``, the layer's path in the Keras model (nested models add a level), so
a builder can fetch its weights (:mod:`padstride.torch`).

>>> import os; os.environ.setdefault("KERAS_BACKEND", "torch")  # doctest: +ELLIPSIS
'...'
>>> import keras
>>> m = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, strides=2, padding="same")])
>>> g = graph_from_keras(m)
>>> [(n.type, n.attrs.get("padding")) for n in g.nodes]
[('InputLayer', None), ('Conv2D', 'same')]
"""

from __future__ import annotations

import heapq
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..builder import GraphBuilder
from ..errors import ModelError
from ..ir import Graph, to_canonical
from .keras_layers import HANDLERS, OP_HANDLERS, Call, Config, op_node

__all__ = ["CONFIG_LIMIT", "graph_from_config", "graph_from_keras", "graph_from_keras_file", "read_keras_config"]

#: The largest ``config.json`` read from a ``.keras`` file (EfficientNetB7's is about 1 MB).
CONFIG_LIMIT = 64 * 2**20

Fallback = Callable[[tuple[str, ...]], tuple[Sequence[int], int, int]]
_MODELS = ("Functional", "Model", "Sequential")


def read_keras_config(path: str | Path, limit: int = CONFIG_LIMIT) -> dict[str, Any]:
    """The ``config.json`` of a ``.keras`` file, read only if it is at most ``limit`` bytes.

    >>> read_keras_config("missing.keras")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    padstride.analysis.errors.ModelError: missing.keras: not a readable .keras file ([Errno 2] No such file ...)
    """
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("config.json")
            if info.file_size > limit:
                raise ModelError(f"{path}: config.json is {info.file_size} bytes, over the {limit}-byte limit")
            with z.open(info) as f:
                raw = f.read(limit + 1)  # the header's size may lie: never read past the limit
            if len(raw) > limit:
                raise ModelError(f"{path}: config.json is over the {limit}-byte limit")
            data = json.loads(raw)
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, EOFError,
            RuntimeError, NotImplementedError) as exc:
        raise ModelError(f"{path}: not a readable .keras file ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: config.json holds a {type(data).__name__}, expected a model object")
    return data


def _layout(layers: Sequence[Any]) -> str:
    """The model's ``data_format`` (every layer that has one must agree)."""
    found: set[str] = set()

    def walk(items: Sequence[Any]) -> None:
        for layer in items:
            c = layer.get("config", {}) if isinstance(layer, Mapping) else {}
            if isinstance(c, Mapping):
                if c.get("data_format") in ("channels_first", "channels_last"):
                    found.add(str(c["data_format"]))
                if isinstance(c.get("layers"), list):
                    walk(c["layers"])

    walk(layers)
    if len(found) > 1:
        raise ModelError("the model mixes data_format='channels_first' and 'channels_last' layers")
    return found.pop() if found else "channels_last"


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


def _layer_name(layer: Config) -> str:
    return str(layer.get("name") or layer["config"]["name"])


class _Reader:
    """Walks a (possibly nested) model config into one :class:`GraphBuilder`."""

    def __init__(self, name: str, layout: str, fallback: Fallback | None) -> None:
        self.b = GraphBuilder(name, layout=layout, framework="keras")
        self.layout, self.fallback = layout, fallback
        self.recorded: dict[tuple[tuple[str, ...], int, int], list[Any]] = {}
        self.unknown_params: list[str] = []
        self.shared = False  # inside a second call of a layer or nested model

    # -- one layer call ---------------------------------------------------------------------
    def layer(self, layer: Config, args: Sequence[Any], refs: list[str], name: str, path: tuple[str, ...],
              call_index: int) -> str:
        cls = str(layer["class_name"])
        shared = self.shared or call_index > 0
        call = Call(name, cls, path, self.layout, shared)
        c = layer.get("config", {})
        if cls in _MODELS:
            outer, self.shared = self.shared, shared
            try:
                return self.nested(layer, refs, name, path)
            finally:
                self.shared = outer
        if str(layer.get("module", "")).startswith("keras.src.ops") and cls in OP_HANDLERS:
            out = op_node(self.b, c, args, refs, call)
            if out is not None:
                return out
        handler = HANDLERS.get(cls)
        if handler is not None:
            if not refs:
                raise ModelError(f"{name} ({cls}): called without an input tensor")
            return handler(self.b, c, refs, call)
        return self.opaque(cls, refs, name, path, call_index, shared)

    def opaque(self, cls: str, refs: list[str], name: str, path: tuple[str, ...], call_index: int,
               shared: bool) -> str:
        if self.fallback is not None:
            try:
                shape, params, trainable = self.fallback(path)
            except Exception as exc:  # any failure of the live model is reported as such
                raise ModelError(f"{name} ({cls}): unknown layer class, and Keras cannot say its shape "
                                 f"({exc})") from None
            if shared:
                params = trainable = 0
            return self.b.opaque(refs, to_canonical(shape, self.layout), params, trainable, name=name, type=cls)
        recorded = self.recorded.get((path, call_index, 0))
        if recorded is None:
            raise ModelError(f"{name} ({cls}): unknown layer class, and the config records no output shape for it "
                             "(load the model and analyse it live to use Keras' shapes)")
        self.unknown_params.append(f"{name} ({cls})")
        return self.b.opaque(refs, to_canonical([int(s) for s in recorded], self.layout), 0, name=name, type=cls)

    # -- models -----------------------------------------------------------------------------
    def nested(self, layer: Config, refs: list[str], name: str, path: tuple[str, ...]) -> str:
        cls = str(layer["class_name"])
        config = layer.get("config", {})
        if cls == "Sequential":
            inner = [x for x in config.get("layers", []) if x.get("class_name") != "InputLayer"]
            if len(refs) != 1:
                raise ModelError(f"{name} (Sequential): called on {len(refs)} tensors, expected one")
            x = refs[0]
            for i, sub in enumerate(inner):
                sname = _layer_name(sub)
                last = i == len(inner) - 1
                x = self.layer(sub, [x], [x], name if last else f"{name}/{sname}", (*path, sname), 0)
            if not inner:
                x = self.b.node("identity", x, name, cls, source=path)
            return x
        outs = self.functional(config, refs, name, path)
        if len(outs) != 1:
            raise ModelError(f"{name} ({cls}): a nested model with {len(outs)} outputs is not supported")
        return outs[0]

    def functional(self, config: Config, refs: list[str] | None, prefix: str | None,
                   path: tuple[str, ...], given: Sequence[int] | None = None) -> list[str]:
        """The output node names of a functional model; ``refs`` feed its inputs (``None``: top level)."""
        layers = list(config.get("layers", []))
        self._record(layers, path)
        outputs = [tuple(o) for o in _output_list(config.get("output_layers", []))]
        final = {(str(o[0]), int(o[1]), int(o[2])) for o in outputs}
        single = prefix if prefix is not None and len(outputs) == 1 else None
        tensors: dict[tuple[str, int, int], str] = {}
        inputs = [str(i[0]) for i in _output_list(config.get("input_layers", []))]
        for layer, call_index, node in _calls_in_order(layers):
            lname, cls = _layer_name(layer), str(layer["class_name"])
            full = lname if prefix is None else f"{prefix}/{lname}"
            if cls == "InputLayer":
                if refs is None:
                    shape = _check_shape(_input_shape(layer), given, lname)
                    tensors[(lname, 0, 0)] = self.b.input(shape, name=lname)
                    given = None
                else:
                    index = inputs.index(lname) if lname in inputs else len(tensors)
                    if index >= len(refs):
                        raise ModelError(f"{prefix}: the nested model has more inputs than it is called with")
                    tensors[(lname, 0, 0)] = refs[index]
                continue
            args = list(node.get("args", [])) if isinstance(node, Mapping) else []
            if len(args) == 1 and isinstance(args[0], list):
                args = args[0]  # a merge layer: one list argument
            resolved = [self._resolve(a, tensors, full) for a in args]
            refs_here = [r for r in resolved if isinstance(r, str)]
            nested = [t for a in args if isinstance(a, (list, tuple, Mapping)) for t in _tensors(a)]
            if nested and len(refs_here) < len(nested):
                refs_here = [self._resolve(t, tensors, full) for t in nested]
            key = (lname, call_index, 0)
            node_name = single if single is not None and key in final else full
            if call_index:
                node_name = f"{node_name}_call{call_index}"
            tensors[key] = self.layer(layer, resolved, refs_here, node_name, (*path, lname), call_index)
        if refs is None and not self.b.nodes:
            raise ModelError("malformed Keras config: the functional model has no InputLayer")
        if not outputs:
            raise ModelError(f"malformed Keras config: {prefix or 'the model'} names no output_layers")
        result = []
        for o in outputs:
            key = (str(o[0]), int(o[1]), int(o[2]))
            if key not in tensors:
                raise ModelError(f"{prefix or config.get('name')}: output {key[0]!r} is not produced by any layer")
            result.append(tensors[key])
        if single is not None and result and result[0] != single:  # the output is an input, or renamed
            result = [self.b.node("identity", result[0], single, "Functional", source=path)]
        return result

    def _resolve(self, arg: Any, tensors: Mapping[tuple[str, int, int], str], where: str) -> Any:
        if isinstance(arg, Mapping) and arg.get("class_name") == "__keras_tensor__":
            key = _history(arg)
            if key not in tensors:
                raise ModelError(f"{where}: input {key[0]!r} is not defined before it")
            return tensors[key]
        return arg

    def _record(self, layers: Sequence[Any], path: tuple[str, ...]) -> None:
        """Shapes the config records for each layer output (where a later layer consumes it)."""
        for layer in layers:
            for node in layer.get("inbound_nodes", []) if isinstance(layer, Mapping) else []:
                for t in _tensors(node.get("args", []) if isinstance(node, Mapping) else []):
                    shape = t.get("config", {}).get("shape")
                    if isinstance(shape, list) and len(shape) > 1 and all(isinstance(s, int) for s in shape[1:]):
                        h = _history(t)
                        self.recorded[((*path, h[0]), h[1], h[2])] = shape[1:]


def graph_from_config(config: Config, class_name: str, input_shape: Sequence[int] | None = None,
                      fallback: Fallback | None = None) -> Graph:
    """The graph of a Sequential or Functional model config (``model.get_config()``).

    ``fallback(path)`` returns ``(output shape without batch, params, trainable)`` for a layer
    padstride does not know (``path``: its layer names from the top model down). Malformed configs
    raise :class:`ModelError` with one line.

    >>> graph_from_config({"layers": [{"class_name": "Dense"}]}, "Sequential")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    padstride.analysis.errors.ModelError: malformed Keras config: Sequential model has no input shape; pass one ...
    """
    try:
        return _graph_from_config(config, class_name, input_shape, fallback)
    except ModelError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0][:200]
        raise ModelError(f"malformed Keras config: {what}") from None


def _graph_from_config(config: Config, class_name: str, input_shape: Sequence[int] | None,
                       fallback: Fallback | None) -> Graph:
    if not isinstance(config, Mapping):
        raise ModelError(f"malformed Keras config: expected an object, got {type(config).__name__}")
    name = str(config.get("name", "model"))
    layers = list(config.get("layers", []))
    r = _Reader(name, _layout(layers), fallback)
    if class_name == "Sequential":
        start = 0
        if layers and layers[0].get("class_name") == "InputLayer":
            shape = _input_shape(layers[0])
            in_name = layers[0]["config"].get("name", "input_layer")
            start = 1
        else:
            build = config.get("build_input_shape")
            if build is None and input_shape is None:
                raise ModelError("malformed Keras config: Sequential model has no input shape; pass one with --input")
            shape = list(build or [None])[1:]
            in_name = "input_layer"
        x = r.b.input(_check_shape(shape, input_shape, name), name=in_name)
        for layer in layers[start:]:
            lname = _layer_name(layer)
            x = r.layer(layer, [x], [x], lname, (lname,), 0)
        outputs = [x]
    else:
        outputs = r.functional(config, None, None, (), input_shape)
    graph = r.b.build(outputs or None)
    if r.unknown_params:
        graph.notes = (f"parameters not counted for layers padstride does not know: {', '.join(r.unknown_params)}",)
    return graph


def _calls_in_order(layers: Sequence[Any]) -> list[tuple[Config, int, Any]]:
    """Every (layer, call index, inbound node), each after the calls it reads; else in config order.

    Keras lists layers in creation order, so a shared layer's second call can come before the
    layer that feeds it (``s = Dense(8); x = s(i); x = Dense(8)(x); x = s(x)``).
    """
    calls: list[tuple[Config, int, Any]] = []
    for layer in layers:
        nodes = layer.get("inbound_nodes", []) if layer.get("class_name") != "InputLayer" else [None]
        calls.extend((layer, index, node) for index, node in enumerate(nodes or []))
    producer = {(_layer_name(layer), index): i for i, (layer, index, _) in enumerate(calls)}
    readers: list[list[int]] = [[] for _ in calls]
    waiting = [0] * len(calls)
    for i, (_, _, node) in enumerate(calls):
        args = node.get("args", []) if isinstance(node, Mapping) else []
        keys = {_history(t)[:2] for t in _tensors(args)}
        for dep in {producer[k] for k in keys if k in producer} - {i}:
            readers[dep].append(i)
            waiting[i] += 1
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for r in readers[i]:
            waiting[r] -= 1
            if waiting[r] == 0:
                heapq.heappush(ready, r)
    if len(order) < len(calls):  # a cycle: keep config order, and _resolve names the first gap
        return calls
    return [calls[i] for i in order]


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


def keras_layer(model: Any, path: Sequence[str]) -> Any:
    """The layer at ``path`` (layer names from the top model down) of a live Keras model.

    >>> import keras
    >>> inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="d")], name="inner")
    >>> outer = keras.Sequential([keras.Input((4,)), inner])
    >>> keras_layer(outer, ("inner", "d")).units
    2
    """
    layer = model
    for part in path:
        layer = layer.get_layer(part)
    return layer


def graph_from_keras(model: Any, input_shape: Sequence[int] | None = None) -> Graph:
    """The graph of a live Keras 3 model (its config; Keras shapes for layers padstride does not know).

    >>> import keras
    >>> m = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.MaxPooling2D(3, strides=2, padding="same")])
    >>> graph_from_keras(m).nodes[-1].attrs["stride"]
    (2, 2)
    """
    import keras

    kind = "Sequential" if isinstance(model, keras.Sequential) else "Functional"

    def fallback(path: tuple[str, ...]) -> tuple[Sequence[int], int, int]:
        layer = keras_layer(model, path)
        shape = tuple(layer.output.shape)[1:]
        trainable = sum(int(w.numpy().size) for w in layer.trainable_weights)
        return shape, layer.count_params(), trainable

    return graph_from_config(model.get_config(), kind, input_shape, fallback)


def graph_from_keras_file(path: str | Path, input_shape: Sequence[int] | None = None) -> Graph:
    """The graph of a ``.keras`` file, read from its ``config.json`` only (never loaded by Keras)."""
    data = read_keras_config(path)
    cls, config = str(data.get("class_name")), data.get("config", {})
    if cls not in _MODELS:
        raise ModelError(f"{path}: a {cls} is not a Sequential or functional model")
    try:
        graph = graph_from_config(config, "Sequential" if cls == "Sequential" else "Functional", input_shape)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None
    graph.name = str(config.get("name", Path(path).stem)) if isinstance(config, Mapping) else Path(path).stem
    return graph
