"""Turn anything that describes a model into a graph, and analyse it.

Accepted: a :class:`Graph`; a spec file (``.yaml``/``.yml``/``.json``); a ``.keras`` file; an
``.onnx`` file; ``path.py:attr`` or ``package.module:attr`` naming a model, a module class or a
zero-argument factory; a live ``torch.nn.Module``, Keras model or ``onnx.ModelProto``.

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
from .ir import Graph, GraphError
from .layer import LayerInfo
from .propagate import propagate
from .summary import Summary

__all__ = ["ModelError", "analyze", "load_model", "load_object", "resolve_object"]


class ModelError(Error, ValueError):
    """A model reference that cannot be loaded (missing file, attribute, unsupported object).

    >>> load_model("nowhere.yaml")
    Traceback (most recent call last):
    ...
    padstride.analysis.load.ModelError: nowhere.yaml: no such file
    """


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

    >>> load_object("fractions:Fraction")
    Fraction(0, 1)
    """
    return _instantiate(resolve_object(ref), ref)


def load_model(model: Any, input_shape: Sequence[int] | None = None) -> Graph:
    """A :class:`Graph` for ``model`` (see the module docstring for what is accepted).

    ``input_shape`` (per sample, model layout) is needed where the model does not fix it (torch).
    """
    return _load(model, input_shape)[0]


def _load(model: Any, input_shape: Sequence[int] | None) -> tuple[Graph, dict[str, LayerInfo] | None]:
    """The graph, and its propagation where loading already ran it (the torch trace does)."""
    if isinstance(model, Graph):
        return (model if input_shape is None else _reshape_input(model, input_shape)), None
    if isinstance(model, (str, Path)):
        text = str(model)
        suffix = Path(text).suffix.lower()
        if ":" in text and not Path(text).exists() and suffix not in (".yaml", ".yml", ".json", ".keras", ".onnx"):
            return _load(load_object(text), input_shape)
        if not Path(text).is_file():
            raise ModelError(f"{text}: no such file")
        if suffix in (".yaml", ".yml", ".json"):
            from .spec import load_spec

            return _load(load_spec(text), input_shape)
        if suffix == ".keras":
            from .adapters.keras import graph_from_keras_file

            return graph_from_keras_file(text, input_shape), None
        if suffix == ".onnx":
            from .adapters.onnx import analyzed_onnx

            return analyzed_onnx(text, input_shape)
        raise ModelError(f"{text}: unknown model file type {suffix!r}; "
                         "expected .yaml, .json, .keras, .onnx or FILE.py:ATTR")
    kind = _framework(model)
    if kind == "torch":
        from .adapters.torch import analyzed_torch

        if input_shape is None:
            raise ModelError("a torch model needs an input shape per sample, e.g. --input 1,28,28")
        return analyzed_torch(model, input_shape)
    if kind == "keras":
        from .adapters.keras import graph_from_keras

        return graph_from_keras(model, input_shape), None
    if kind == "onnx":
        from .adapters.onnx import analyzed_onnx

        return analyzed_onnx(model, input_shape)
    raise ModelError(f"cannot analyse a {type(model).__name__}: expected a spec, a torch, Keras or ONNX model")


def _reshape_input(graph: Graph, input_shape: Sequence[int]) -> Graph:
    from dataclasses import replace

    from .ir import to_canonical

    inputs = graph.inputs
    if len(inputs) != 1:
        raise GraphError(f"graph {graph.name!r} has {len(inputs)} inputs; --input sets one")
    nodes = [replace(n, attrs={**n.attrs, "shape": to_canonical(input_shape, graph.layout)})
             if n.name == inputs[0] else n for n in graph.nodes]
    return Graph(graph.name, nodes, graph.outputs, graph.layout, graph.framework, graph.dtype_bytes, graph.notes)


def analyze(model: Any, input_shape: Sequence[int] | None = None) -> Summary:
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
