"""An ONNX graph's inputs: which are data, which are weights or settings, and the shape each data input gets.

ONNX's conformance models (and ``export_params=False`` exports) pass weights as graph inputs. An
input that feeds a weight slot (``Conv``'s ``W`` and ``B``, ``Gemm``'s ``B``, norms' scales) with
a static shape is a parameter; one used only as a setting (a ``Pad``'s pads, a ``Reshape``
target) is a constant of unknown value; every other input is data. A data input's shape comes
from the file or from the user, per sample or with the batch axis (the model's rank tells which),
one shape per data input (a list in order, or a mapping by name).

>>> from onnx import TensorProto, helper
>>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
>>> w = helper.make_tensor_value_info("w", TensorProto.FLOAT, [4, 3, 3, 3])
>>> g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"])], "g", [x, w], [])
>>> data, weights = split_inputs(g, set(), "g")
>>> [i.name for i in data], {k: (c.shape, c.params) for k, c in weights.items()}
(['x'], {'w': ((4, 3, 3, 3), 108)})
>>> input_shapes(data, None, "g"), input_shapes(data, (1, 3, 9, 9), "g"), input_shapes(data, {"x": (3, 5, 5)}, "g")
([(1, 3, 8, 8)], [(1, 3, 9, 9)], [(1, 3, 5, 5)])
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ModelError
from .onnx_fold import Const

__all__ = ["InputShapes", "dims_of", "input_shapes", "short", "split_inputs"]

#: One shape per sample (a model with one data input), one per data input, or by input name.
InputShapes = Sequence[int] | Sequence[Sequence[int]] | Mapping[str, Sequence[int]]

#: Inputs that hold weights: a graph input feeding one of these is a parameter, not a model input.
WEIGHT_SLOTS = {"Conv": (1, 2), "ConvTranspose": (1, 2), "ConvInteger": (1, 3), "Gemm": (1, 2), "MatMul": (1,),
                "PRelu": (1,), "BatchNormalization": (1, 2, 3, 4), "InstanceNormalization": (1, 2),
                "LayerNormalization": (1, 2), "GroupNormalization": (1, 2)}
#: Inputs that say how to reshape, pad or slice (not data): a graph input used only there is a setting.
SETTING_SLOTS = {"Pad": (1, 2, 3), "Reshape": (1,), "Resize": (1, 2, 3), "Upsample": (1,), "Slice": (1, 2, 3, 4),
                 "Expand": (1,), "Tile": (1,), "Squeeze": (1,), "Unsqueeze": (1,), "Split": (1,), "TopK": (1,),
                 "ConstantOfShape": (0,), "Range": (0, 1, 2), "Clip": (1, 2), "ReduceMean": (1,), "ReduceSum": (1,),
                 "ReduceMax": (1,), "ReduceMin": (1,), "ReduceProd": (1,), "OneHot": (1, 2), "CenterCropPad": (1,),
                 "ConvInteger": (2,)}
_FLOAT_TYPES = {1, 10, 11, 16}


def short(text: object, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters: names in a file can be any length.

    >>> short("n" * 100, 10)
    'nnnnnnnnn…'
    """
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def dims_of(value_info: Any) -> list[int | None] | None:
    """The declared dims of a ``ValueInfoProto`` (``None`` per symbolic dim), ``None`` without a shape."""
    t = value_info.type
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    return [int(d.dim_value) if d.HasField("dim_value") else None for d in t.tensor_type.shape.dim]


def split_inputs(graph: Any, initialized: set[str], source: str) -> tuple[list[Any], dict[str, Const]]:
    """The data inputs (``ValueInfoProto``) and the weight or setting inputs as constants of unknown value."""
    weights, settings, other = set(), set(), set()
    for n in graph.node:
        for k, name in enumerate(n.input):
            if k in WEIGHT_SLOTS.get(n.op_type, ()):
                weights.add(name)
            elif k in SETTING_SLOTS.get(n.op_type, ()):
                settings.add(name)
            else:
                other.add(name)
    data, consts = [], {}
    for inp in graph.input:
        if inp.name in initialized:
            continue
        dims = dims_of(inp)
        elem = int(inp.type.tensor_type.elem_type) if inp.type.HasField("tensor_type") else 0
        static = dims is not None and all(d is not None and d >= 0 for d in dims)
        if static and (inp.name in weights or (inp.name in settings and inp.name not in other)):
            shape = tuple(d for d in dims or () if d is not None)
            size = math.prod(shape)
            params = size if inp.name in weights and elem in _FLOAT_TYPES and size > 1 else 0
            consts[inp.name] = Const(shape, elem, None, params)
        else:
            data.append(inp)
    if not data:
        what = f"all {len(graph.input)} of its inputs are weights" if len(graph.input) else "it has 0 inputs"
        raise ModelError(f"{source}: the ONNX graph has no input tensor to analyse ({what})")
    return data, consts


def input_shapes(data: list[Any], given: InputShapes | None, source: str) -> list[tuple[int, ...]]:
    """Each data input's shape with its batch axis (the file's batch, or 1 where it is symbolic)."""
    names = [i.name for i in data]
    per: list[Sequence[int] | None]
    if given is None:
        per = [None] * len(data)
    elif isinstance(given, Mapping):
        extra = sorted(set(given) - set(names))
        if extra:
            raise ModelError(f"{source}: no data input named {short(extra[0])!r}; the inputs are "
                             f"{short(', '.join(names), 200)}")
        per = [given.get(n) for n in names]
    elif len(given) and all(isinstance(s, (int, np.integer)) for s in given):
        if len(data) != 1:
            raise ModelError(f"{source}: the model has {len(data)} data inputs "
                             f"({short(', '.join(names), 200)}); give one shape per input")
        per = [given]  # type: ignore[list-item]
    else:
        per = [list(s) for s in given]  # type: ignore[arg-type]
        if len(per) != len(data):
            raise ModelError(f"{source}: {len(per)} input shapes for {len(data)} data inputs "
                             f"({short(', '.join(names), 200)})")
    out = []
    for inp, shape in zip(data, per, strict=True):
        dims = dims_of(inp) or []
        batch = dims[0] if dims and dims[0] else 1
        where = short(inp.name)
        if shape is None:
            if any(d is None for d in dims[1:]):
                text = "×".join("?" if d is None else str(d) for d in dims)
                raise ModelError(f"{where}: input shape {text} has unknown sizes; pass one with --input")
            out.append((batch, *[int(d) for d in dims[1:] if d is not None]) if dims else ())
            continue
        sizes = tuple(int(s) for s in shape)
        if any(s < 1 for s in sizes):
            raise ModelError(f"{where}: input sizes must be positive, got {sizes}")
        if dims and len(sizes) == len(dims):
            out.append(sizes)  # given with the batch axis
        elif not dims or len(sizes) == len(dims) - 1:
            out.append((batch, *sizes))
        else:
            raise ModelError(f"{where}: the model's input has {len(dims)} axes with the batch; give "
                             f"{len(dims) - 1} sizes per sample, got {len(sizes)}")
    return out
