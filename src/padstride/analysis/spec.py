"""YAML (or JSON) spec files: a model as a list of layers, validated with the offending key named.

.. code-block:: yaml

    name: seed003_valid
    layout: channels_last        # the model's layout (default channels_first)
    input: [28, 28, 1]           # or inputs: {image: [28, 28, 1]}
    layers:
      - conv: {filters: 32, kernel: 3, padding: valid}
      - {name: skip, conv: {filters: 32, kernel: 1}, from: input}
      - add: {}                  # from: defaults to the previous layer; merges list theirs
        from: [conv, skip]
      - flatten:
      - dense: {units: 10}

Each layer has exactly one op key (a :class:`~padstride.analysis.builder.GraphBuilder` method) whose
mapping holds that method's arguments, plus optional ``name``, ``from`` and ``type``.

>>> g = graph_from_spec({"input": [1, 8, 8], "layers": [{"conv": {"filters": 4, "kernel": 3}}]})
>>> [n.name for n in g.nodes]
['input', 'conv']
>>> graph_from_spec({"input": [1, 8, 8], "layers": [{"conv": {"filters": 4, "kernal": 3}}]})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
padstride.analysis.spec.SpecError: layers[0].conv: unknown key 'kernal'; expected one of filters, kernel, ...
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import Error
from .builder import GraphBuilder
from .ir import LAYOUTS, Graph, GraphError

__all__ = ["SPEC_OPS", "SpecError", "graph_from_spec", "load_spec"]

#: Op keys of a spec layer → builder method names.
SPEC_OPS: dict[str, str] = {
    name: name for name in (
        "conv", "conv_transpose", "pool", "max_pool", "avg_pool", "global_pool", "pad", "crop", "upsample",
        "concat", "add", "mul", "flatten", "reshape", "dense", "norm", "activation", "relu", "dropout",
        "identity",
    )
}
_TOP = ("name", "layout", "input", "inputs", "layers", "outputs", "framework", "description")
_LAYER = ("name", "from", "type")
_SKIP = {"self", "x", "xs", "name", "type", "kw"}


class SpecError(Error, ValueError):
    """A spec that does not validate; the message starts with the path of the offending key.

    Messages quote the file's values, so they are cut to :data:`MAX_MESSAGE` characters.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…")


#: The longest error message (a spec's values are quoted in messages).
MAX_MESSAGE = 500


def _params(method: Callable[..., Any]) -> list[str]:
    return [p for p in inspect.signature(method).parameters if p not in _SKIP]


def _required(method: Callable[..., Any]) -> list[str]:
    sig = inspect.signature(method)
    return [n for n, p in sig.parameters.items() if n not in _SKIP and p.default is inspect.Parameter.empty
            and p.kind is not inspect.Parameter.VAR_KEYWORD]


def load_spec(path: str | Path) -> Graph:
    """Read a YAML or JSON spec file (``yaml.safe_load`` with a budget: 8 MiB, 100,000 values once
    aliases are expanded) and build its graph.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "m.yaml")
    >>> _ = open(p, "w").write("input: [3, 32, 32]\\nlayers:\\n  - conv: {filters: 8, kernel: 3}\\n")
    >>> load_spec(p).nodes[-1].attrs["filters"]
    8
    """
    import yaml

    from .._yaml import read_text, safe_load

    p = Path(path)
    try:
        data = safe_load(read_text(p))
    except UnicodeDecodeError:
        raise SpecError(f"{p}: not a text file (expected a YAML or JSON spec)") from None
    except OSError as exc:
        raise SpecError(f"{p}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise SpecError(f"{p}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, Mapping):
        raise SpecError(f"{p}: a spec is a mapping with 'input' and 'layers', got {type(data).__name__}")
    data = dict(data)
    data.setdefault("name", p.stem)
    return graph_from_spec(data)


def graph_from_spec(spec: Mapping[str, Any]) -> Graph:
    """Validate a spec mapping and build its graph (see the module docstring for the format)."""
    for key in spec:
        if key not in _TOP:
            raise SpecError(f"{key}: unknown top-level key; expected one of {', '.join(_TOP)}")
    layout = spec.get("layout", "channels_first")
    if layout not in LAYOUTS:
        raise SpecError(f"layout: must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    b = GraphBuilder(str(spec.get("name", "model")), layout=layout, framework=str(spec.get("framework", "padstride")))
    if ("input" in spec) == ("inputs" in spec):
        raise SpecError("input: give exactly one of 'input' (a shape) or 'inputs' (name → shape)")
    inputs = {"input": spec["input"]} if "input" in spec else spec["inputs"]
    if not isinstance(inputs, Mapping):
        raise SpecError("inputs: must map input names to shapes")
    for name, shape in inputs.items():
        key = "input" if "input" in spec else f"inputs.{name}"
        if not isinstance(shape, list) or not shape or not all(isinstance(s, int) and s > 0 for s in shape):
            raise SpecError(f"{key}: a shape is a list of positive integers (without batch), got {shape!r}")
        b.input(shape, name=str(name))
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        raise SpecError("layers: must be a non-empty list of layers")
    for i, layer in enumerate(layers):
        _add_layer(b, layer, f"layers[{i}]")
    outputs = spec.get("outputs")
    if outputs is not None and not (isinstance(outputs, list) and all(isinstance(o, str) for o in outputs)):
        raise SpecError("outputs: must be a list of layer names")
    try:
        return b.build(outputs)
    except GraphError as exc:
        raise SpecError(f"outputs: {exc}") from None


def _add_layer(b: GraphBuilder, layer: object, where: str) -> None:
    if not isinstance(layer, Mapping):
        raise SpecError(f"{where}: a layer is a mapping like {{conv: {{filters: 8, kernel: 3}}}}, got {layer!r}")
    ops = [k for k in layer if k in SPEC_OPS]
    extra = [k for k in layer if k not in SPEC_OPS and k not in _LAYER]
    if extra:
        raise SpecError(f"{where}.{extra[0]}: unknown key; expected one op ({', '.join(SPEC_OPS)}) "
                        f"and optionally {', '.join(_LAYER)}")
    if len(ops) != 1:
        raise SpecError(f"{where}: needs exactly one op key, got {ops or 'none'}")
    op = ops[0]
    args = layer[op] or {}
    if not isinstance(args, Mapping):
        raise SpecError(f"{where}.{op}: arguments must be a mapping, got {args!r}")
    method = getattr(b, SPEC_OPS[op])
    allowed = _params(method)
    if op in ("max_pool", "avg_pool"):
        allowed += ["dilation", "ceil_mode", "rule", "count_include_pad"]
    for key in args:
        if key not in allowed:
            raise SpecError(f"{where}.{op}: unknown key {key!r}; expected one of {', '.join(allowed)}")
    for key in _required(method):
        if key not in args:
            raise SpecError(f"{where}.{op}: missing key {key!r}")
    source = layer.get("from")
    merge = op in ("concat", "add", "mul")
    if merge and not (isinstance(source, list) and len(source) >= 2):
        raise SpecError(f"{where}.from: {op} needs a list of at least two layer names, got {source!r}")
    if source is not None and not merge and not isinstance(source, str):
        raise SpecError(f"{where}.from: must be a layer name, got {source!r}")
    known = {n.name for n in b.nodes}
    for ref in source if isinstance(source, list) else [source] if source is not None else []:
        if ref not in known:
            raise SpecError(f"{where}.from: no layer named {ref!r} before this one")
    name = layer.get("name")
    if name is not None and (not isinstance(name, str) or name in known):
        raise SpecError(f"{where}.name: {name!r} is not a new layer name")
    kwargs = dict(args)
    if name is not None:
        kwargs["name"] = name
    if layer.get("type") is not None:
        kwargs["type"] = str(layer["type"])
    try:
        method(source, **kwargs)
    except (GraphError, TypeError) as exc:
        raise SpecError(f"{where}.{op}: {exc}") from None
