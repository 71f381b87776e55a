"""Turn anything that describes a model into a graph, and analyse it.

Accepted: a :class:`Graph`; a spec file (``.yaml``/``.yml``/``.json``); a ``.keras`` file; an
``.onnx`` file; ``path.py:attr`` or ``package.module:attr`` naming a model, a module class or a
zero-argument factory (that code is imported and run: only name code you trust); a live
``torch.nn.Module``, Keras model or ``onnx.ModelProto``.

>>> s = analyze("examples/specs/seed003_valid.yaml")   # doctest: +SKIP
>>> from padstride.analysis import GraphBuilder
>>> b = GraphBuilder(); _ = b.conv(b.input((3, 8, 8)), 4, 3)
>>> analyze(b.build()).layer("conv").shape
(4, 6, 6)
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import Error
from .errors import ModelError
from .ir import Graph, GraphError
from .layer import LayerInfo
from .propagate import propagate
from .summary import Summary

__all__ = ["ModelError", "analyze", "load_model", "load_object", "resolve_object"]


def _framework(obj: object) -> str:
    for cls in type(obj).__mro__:
        mod = cls.__module__ or ""
        if mod.startswith("torch.nn"):
            return "torch"
        if mod.startswith("keras"):
            return "keras"
        if mod.startswith("onnx"):
            return "onnx"
    return ""


def resolve_object(ref: str) -> Any:
    """The object named by ``path.py:attr`` or ``module:attr`` (zero-argument factories are called).

    >>> resolve_object("fractions:Fraction").__name__
    'Fraction'
    """
    target, _, attr = ref.rpartition(":")
    if not target or not attr:
        raise ModelError(f"{ref}: expected FILE.py:ATTR or MODULE:ATTR")
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise ModelError(f"{target}: no such file")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or spec.loader is None:  # pragma: no cover
            raise ModelError(f"{target}: cannot import")
        module = importlib.util.module_from_spec(spec)
        sys.modules.setdefault(path.stem, module)
        sys.path.insert(0, str(path.resolve().parent))
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.pop(0)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise ModelError(f"{target}: cannot import ({exc})") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ModelError(f"{ref}: {target} has no attribute {part!r}")
        obj = getattr(obj, part)
    return obj


def _instantiate(obj: Any, ref: str) -> Any:
    if _framework(obj) or isinstance(obj, Graph):
        return obj
    if callable(obj):
        try:
            inspect.signature(obj).bind()
        except TypeError:
            raise ModelError(f"{ref}: {obj!r} needs arguments; point at a model or a zero-argument factory") from None
        except ValueError:  # pragma: no cover - builtins without signatures
            pass
        return obj()
    return obj


def load_object(ref: str) -> Any:
    """The live model named by ``path.py:attr`` or ``module:attr``: a model class or factory is called.

    This imports and runs code: the file's top level, then the factory. An exception raised there
    is reported as the model's (a :class:`~padstride.analysis.usercode.UserCodeError` naming the
    file and line).

    >>> load_object("fractions:Fraction")
    Fraction(0, 1)
    """
    from .usercode import user_code

    with user_code(ref):
        return _instantiate(resolve_object(ref), ref)


def load_model(model: Any, input_shape: Any = None) -> Graph:
    """A :class:`Graph` for ``model`` (see the module docstring for what is accepted).

    ``input_shape`` (per sample, model layout) is needed where the model does not fix it (torch).
    A torch model also takes several: a list of shapes (positional inputs) or a dict name → shape
    (keyword inputs of ``forward``), and a shape with the batch axis where its first layer shows it.
    """
    return _load(model, input_shape)[0]


def _one_shape(input_shape: Any) -> Any:
    """One input shape for the readers that take one: ``[(3, 8, 8)]`` or ``{"x": (3, 8, 8)}`` → ``(3, 8, 8)``.

    >>> _one_shape([(3, 8, 8)]), _one_shape((3, 8, 8)), _one_shape(None)
    ((3, 8, 8), (3, 8, 8), None)
    """
    values = list(input_shape.values()) if isinstance(input_shape, dict) else input_shape
    if isinstance(values, (list, tuple)) and values and all(isinstance(v, (list, tuple)) for v in values):
        if len(values) != 1:
            raise ModelError(f"this model takes one input shape, got {len(values)}")
        return tuple(values[0])
    return input_shape


def _load(model: Any, input_shape: Any) -> tuple[Graph, dict[str, LayerInfo] | None]:
    """The graph, and its propagation where loading already ran it (the torch trace does)."""
    if isinstance(model, Graph):  # specs, Keras: one input (the torch and ONNX readers take several)
        input_shape = _one_shape(input_shape)
        return (model if input_shape is None else _reshape_input(model, input_shape)), None
    if isinstance(model, (str, Path)):
        text = str(model)
        suffix = Path(text).suffix.lower()
        if ":" in text and not Path(text).exists() and suffix not in (".yaml", ".yml", ".json", ".keras", ".onnx"):
            return _load(load_object(text), input_shape)
        if not text.strip():
            raise ModelError("no model given; expected a model file, FILE.py:ATTR or MODULE:ATTR")
        if Path(text).is_dir():
            raise ModelError(f"{text}: is a directory; expected a model file")
        if not Path(text).exists():
            raise ModelError(f"{text}: no such file")
        if not Path(text).is_file():
            raise ModelError(f"{text}: is not a regular file; expected a model file")
        if suffix in (".yaml", ".yml", ".json"):
            from .spec import load_spec

            return _load(load_spec(text), input_shape)
        if suffix == ".keras":
            from .adapters.keras import graph_from_keras_file

            try:
                return graph_from_keras_file(text, _one_shape(input_shape)), None
            except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
                if isinstance(exc, Error):
                    raise
                raise ModelError(f"{text}: malformed .keras config ({type(exc).__name__}: {str(exc)[:200]})") from None
        if suffix == ".onnx":
            from .adapters.onnx import analyzed_onnx

            return analyzed_onnx(text, input_shape)
        raise ModelError(f"{text}: unknown model file type {suffix!r}; "
                         "expected .yaml, .json, .keras, .onnx or FILE.py:ATTR")
    kind = _framework(model)
    if kind == "torch":
        from .adapters.torch import analyzed_torch
        from .usercode import user_code

        if input_shape is None:
            raise ModelError("a torch model needs an input shape per sample, e.g. --input 1,28,28")
        with user_code(type(model).__name__):  # the model's forward runs (on the meta device)
            return analyzed_torch(model, input_shape)
    if kind == "keras":
        from .adapters.keras import graph_from_keras

        return graph_from_keras(model, _one_shape(input_shape)), None
    if kind == "onnx":
        from .adapters.onnx import analyzed_onnx

        return analyzed_onnx(model, input_shape)
    raise ModelError(f"cannot analyse an object of type {type(model).__name__}: expected a spec, a torch, Keras or "
                     "ONNX model")


def _reshape_input(graph: Graph, input_shape: Sequence[int]) -> Graph:
    from dataclasses import replace

    from .attrs import InputAttrs, view
    from .ir import to_canonical, to_layout

    inputs = graph.inputs
    if len(inputs) != 1:
        raise GraphError(f"graph {graph.name!r} has {len(inputs)} inputs; --input sets one")
    old = view(graph.node(inputs[0]), InputAttrs).get("shape")
    if old is not None and len(old) != len(input_shape):
        dims = {"channels_last": "H,W,C", "channels_first": "C,H,W"}.get(graph.layout, "")
        was = ",".join(map(str, to_layout(old, graph.layout)))
        raise GraphError(f"the model's input has rank {len(old)} ({was}, {graph.layout}); --input gives "
                         f"{len(input_shape)} value(s) {','.join(map(str, input_shape))}: give {len(old)} "
                         f"{'(' + dims + ')' if dims and len(old) == 3 else ''}".rstrip())
    nodes = [replace(n, attrs={**n.attrs, "shape": to_canonical(input_shape, graph.layout)})
             if n.name == inputs[0] else n for n in graph.nodes]
    return Graph(graph.name, nodes, graph.outputs, graph.layout, graph.framework, graph.dtype_bytes, graph.notes)


def analyze(model: Any, input_shape: Any = None) -> Summary:
    """Static analysis of ``model``: a :class:`Summary` (print it, or ``.to_dict()`` for JSON).

    >>> from padstride.analysis import GraphBuilder
    >>> b = GraphBuilder(); _ = b.dense(b.flatten(b.input((2, 3))), 4)
    >>> analyze(b.build()).total_macs
    28
    """
    graph, infos = _load(model, input_shape)
    if infos is None:
        infos = propagate(graph)
    return Summary(graph, list(infos.values()))
