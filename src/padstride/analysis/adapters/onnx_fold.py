"""Constants of an ONNX graph and the budgeted folding of the shape arithmetic exporters emit.

Exporters compute ``Reshape`` targets, ``Pad`` pads and ``Expand`` shapes from ``Shape`` with
small subgraphs (``Gather``, ``Unsqueeze``, ``Concat``, ``Slice``, arithmetic). With the model's
static sizes known, those subgraphs are constants: :func:`fold` evaluates them with NumPy. Nothing
is evaluated whose result would exceed :data:`MAX_ELEMENTS` (checked before allocating), and ops
outside :data:`FOLDABLE` (``Loop``, ``Scan``, ``If``, convolutions, anything unknown) are never
run: their outputs stay constants of unknown value, so a tiny file cannot make the reader
allocate gigabytes or loop for ever.

>>> import numpy as np
>>> from onnx import helper
>>> shape = Const.of(np.array([1, 64, 7, 7]))
>>> two = Const.of(np.array([2]))
>>> four = Const.of(np.array([4]))
>>> [c.value.tolist() for c in fold(helper.make_node("Slice", ["s", "a", "b"], ["y"]), [shape, two, four])]
[[7, 7]]
>>> fold(helper.make_node("ConstantOfShape", ["s"], ["y"]), [Const.of(np.array([10**6, 10**6]))]) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["FOLDABLE", "MAX_ELEMENTS", "Const", "fold"]

#: No folded constant (and no initializer read for its value) holds more elements than this.
MAX_ELEMENTS = 1_000_000

_FLOAT_TYPES = {1, 10, 11, 16}  # FLOAT, FLOAT16, DOUBLE, BFLOAT16


class Const:
    """A tensor known before the model runs: its shape, its value where small, the weights it carries.

    ``params``: learned elements it holds (float initializers and weight inputs, passed on through
    folding), counted by the data node that consumes it. ``value`` is read lazily from ``proto``.

    >>> Const.of(np.zeros((2, 3), np.float32), params=6).shape
    (2, 3)
    """

    __slots__ = ("_proto", "_value", "dtype", "params", "shape")

    def __init__(self, shape: tuple[int, ...] | None, dtype: int = 0, value: np.ndarray | None = None,
                 params: int = 0, proto: Any = None) -> None:
        self.shape, self.dtype, self.params = shape, dtype, params
        self._value, self._proto = value, proto

    @classmethod
    def of(cls, value: Any, params: int = 0) -> Const:
        """A constant holding ``value`` (a NumPy array or a number)."""
        array = np.asarray(value)
        return cls(tuple(int(d) for d in array.shape), _tensor_type(array.dtype), array, params)

    @classmethod
    def from_tensor(cls, tensor: Any, weights: bool, skipped: bool = False) -> Const:
        """From a ``TensorProto``; ``weights``: floats of more than one element count as params."""
        shape = tuple(int(d) for d in tensor.dims)
        params = math.prod(shape) if weights and tensor.data_type in _FLOAT_TYPES and math.prod(shape) > 1 else 0
        return cls(shape, int(tensor.data_type), None, params, None if skipped else tensor)

    @property
    def size(self) -> int | None:
        return None if self.shape is None else math.prod(self.shape)

    @property
    def value(self) -> np.ndarray | None:
        if self._value is None and self._proto is not None:
            proto, self._proto = self._proto, None
            if (self.size or 0) <= MAX_ELEMENTS:
                from onnx import numpy_helper

                try:
                    self._value = numpy_helper.to_array(proto)
                except Exception:  # a tensor onnx cannot decode stays unknown
                    self._value = None
        return self._value


_TYPES: dict[np.dtype[Any], int] = {}


def _tensor_type(dtype: np.dtype[Any]) -> int:
    """ONNX element type of a NumPy dtype (0 where ONNX has none), cached: folding asks once per constant."""
    if dtype not in _TYPES:
        from onnx import helper

        try:
            _TYPES[dtype] = int(helper.np_dtype_to_tensor_dtype(dtype))
        except (KeyError, ValueError, TypeError):
            _TYPES[dtype] = 0
    return _TYPES[dtype]


def _axes(a: dict[str, Any], values: Sequence[np.ndarray | None], index: int) -> list[int] | None:
    if "axes" in a:
        return [int(x) for x in a["axes"]]
    if len(values) > index and values[index] is not None:
        return [int(x) for x in np.asarray(values[index]).reshape(-1)]
    return None


def _div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if np.issubdtype(x.dtype, np.integer) and np.issubdtype(y.dtype, np.integer):
        q: np.ndarray = (np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y))).astype(x.dtype)  # C truncation
        return q
    return np.asarray(x / y, dtype=np.result_type(x, y))


def _reshape(x: np.ndarray, shape: np.ndarray, allowzero: int) -> np.ndarray:
    target = [int(t) for t in shape.reshape(-1)]
    if not allowzero:
        target = [x.shape[i] if t == 0 else t for i, t in enumerate(target)]
    return x.reshape(target)


def _unsqueeze(x: np.ndarray, axes: list[int]) -> np.ndarray:
    rank = x.ndim + len(axes)
    for ax in sorted(a % rank for a in axes):
        x = np.expand_dims(x, ax)
    return x


def _slice(x: np.ndarray, a: dict[str, Any], v: Sequence[np.ndarray | None]) -> np.ndarray:
    def get(key: str, index: int) -> list[int] | None:
        if key in a:
            return [int(t) for t in a[key]]
        if len(v) > index and v[index] is not None:
            return [int(t) for t in np.asarray(v[index]).reshape(-1)]
        return None

    starts, ends = get("starts", 1), get("ends", 2)
    if starts is None or ends is None:
        raise ValueError("unknown starts/ends")
    axes = get("axes", 3) or list(range(len(starts)))
    steps = get("steps", 4) or [1] * len(starts)
    index: list[slice] = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        index[ax % x.ndim] = slice(s, e, st)
    return x[tuple(index)]


def _split(x: np.ndarray, a: dict[str, Any], v: Sequence[np.ndarray | None], n: int) -> list[np.ndarray]:
    axis = int(a.get("axis", 0)) % x.ndim
    if "split" in a:
        sizes = [int(s) for s in a["split"]]
    elif len(v) > 1 and v[1] is not None:
        sizes = [int(s) for s in np.asarray(v[1]).reshape(-1)]
    else:
        step = -(-x.shape[axis] // n)
        sizes = [min(step, x.shape[axis] - i * step) for i in range(n)]
    return np.split(x, np.cumsum(sizes)[:-1].tolist(), axis=axis)


def _reduce(fn: Callable[..., np.ndarray]) -> Callable[[dict[str, Any], list[np.ndarray | None]], np.ndarray]:
    def run(a: dict[str, Any], v: list[np.ndarray | None]) -> np.ndarray:
        axes = _axes(a, v, 1)
        if not axes and a.get("noop_with_empty_axes", 0):
            assert v[0] is not None
            return v[0]
        return np.asarray(fn(v[0], axis=None if not axes else tuple(axes), keepdims=bool(a.get("keepdims", 1))))

    return run


def _binary(fn: Callable[[np.ndarray, np.ndarray], Any]) -> Callable[[dict[str, Any], list[Any]], np.ndarray]:
    return lambda a, v: np.asarray(fn(v[0], v[1]))


def _cast(a: dict[str, Any], v: list[Any]) -> np.ndarray:
    from onnx import helper

    return np.asarray(v[0]).astype(helper.tensor_dtype_to_np_dtype(int(a["to"])))


def _constant_of_shape(a: dict[str, Any], v: list[Any]) -> np.ndarray:
    from onnx import numpy_helper

    value = a.get("value")
    fill = numpy_helper.to_array(value).reshape(-1)[:1] if value is not None else np.zeros(1, np.float32)
    return np.full([int(s) for s in v[0].reshape(-1)], fill[0], dtype=fill.dtype)


def _clip(a: dict[str, Any], v: list[Any]) -> np.ndarray:
    low = a.get("min", v[1] if len(v) > 1 and v[1] is not None else None)
    high = a.get("max", v[2] if len(v) > 2 and v[2] is not None else None)
    out: np.ndarray = v[0]
    if low is not None:
        out = np.maximum(out, np.asarray(low, dtype=out.dtype))
    if high is not None:
        out = np.minimum(out, np.asarray(high, dtype=out.dtype))
    return out


def _gather(a: dict[str, Any], v: list[Any]) -> np.ndarray:
    axis = int(a.get("axis", 0))
    idx = np.asarray(v[1])
    return np.take(v[0], np.where(idx < 0, idx + v[0].shape[axis], idx), axis=axis)


def _scatter_nd(a: dict[str, Any], v: list[Any]) -> np.ndarray:
    """ONNX ``ScatterND`` (PyTorch's exporter writes ``mask[a:b, c:d] = k`` as one): ``updates`` written at
    ``indices`` (index tuples over the leading axes), or combined with ``reduction``."""
    data, indices, updates = np.array(v[0]), np.asarray(v[1], np.int64), np.asarray(v[2])
    k = indices.shape[-1]
    where = tuple(np.moveaxis(indices.reshape(-1, k), 1, 0))
    values = updates.reshape(-1, *data.shape[k:]).astype(data.dtype)
    reduction = a.get("reduction", b"none")
    reduction = reduction.decode() if isinstance(reduction, bytes) else str(reduction)
    ufunc = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}.get(reduction)
    if ufunc is None:
        data[where] = values
    else:
        ufunc.at(data, where, values)
    return data


_Fn = Callable[[dict[str, Any], list[Any]], Any]

_OPS: dict[str, _Fn] = {
    "Identity": lambda a, v: v[0],
    "Cast": _cast,
    "Shape": lambda a, v: np.array(v[0].shape[a.get("start", 0):a.get("end", v[0].ndim)], np.int64),
    "Size": lambda a, v: np.array(v[0].size, np.int64),
    "Gather": _gather,
    "Unsqueeze": lambda a, v: _unsqueeze(v[0], _axes(a, v, 1) or []),
    "Squeeze": lambda a, v: np.squeeze(v[0], axis=tuple(_axes(a, v, 1) or ()) or None),
    "Concat": lambda a, v: np.concatenate(v, axis=int(a["axis"])),
    "Slice": lambda a, v: _slice(v[0], a, v),
    "Reshape": lambda a, v: _reshape(v[0], v[1], int(a.get("allowzero", 0))),
    "Flatten": lambda a, v: v[0].reshape(math.prod(v[0].shape[:int(a.get("axis", 1))]), -1),
    "Transpose": lambda a, v: np.transpose(v[0], a.get("perm")),
    "Expand": lambda a, v: np.broadcast_to(v[0], np.broadcast_shapes(v[0].shape, tuple(int(s) for s in v[1]))).copy(),
    "Tile": lambda a, v: np.tile(v[0], [int(r) for r in v[1]]),
    "ConstantOfShape": _constant_of_shape,
    "Range": lambda a, v: np.arange(v[0].item(), v[1].item(), v[2].item()).astype(v[0].dtype),
    "Add": _binary(np.add), "Sub": _binary(np.subtract), "Mul": _binary(np.multiply), "Div": _binary(_div),
    "Pow": _binary(np.power), "Equal": _binary(np.equal), "Less": _binary(np.less), "Greater": _binary(np.greater),
    "LessOrEqual": _binary(np.less_equal), "GreaterOrEqual": _binary(np.greater_equal),
    "And": _binary(np.logical_and), "Or": _binary(np.logical_or),
    "Mod": lambda a, v: np.fmod(v[0], v[1]) if a.get("fmod") else np.mod(v[0], v[1]),
    "Where": lambda a, v: np.where(v[0], v[1], v[2]),
    "Max": lambda a, v: np.asarray(np.maximum.reduce(np.broadcast_arrays(*v))),
    "Min": lambda a, v: np.asarray(np.minimum.reduce(np.broadcast_arrays(*v))),
    "Neg": lambda a, v: -v[0], "Abs": lambda a, v: np.abs(v[0]), "Not": lambda a, v: np.logical_not(v[0]),
    "Floor": lambda a, v: np.floor(v[0]), "Ceil": lambda a, v: np.ceil(v[0]), "Sqrt": lambda a, v: np.sqrt(v[0]),
    "Reciprocal": lambda a, v: 1 / v[0], "Sign": lambda a, v: np.sign(v[0]), "Round": lambda a, v: np.round(v[0]),
    "Exp": lambda a, v: np.exp(v[0]), "Log": lambda a, v: np.log(v[0]), "Clip": _clip,
    "CastLike": lambda a, v: v[0].astype(v[1].dtype), "ScatterND": _scatter_nd,
    "ReduceProd": _reduce(np.prod), "ReduceSum": _reduce(np.sum), "ReduceMax": _reduce(np.max),
    "ReduceMin": _reduce(np.min), "ReduceMean": _reduce(np.mean),
}

#: The ops :func:`fold` evaluates (plus ``Split``); everything else is never run.
FOLDABLE: frozenset[str] = frozenset({*_OPS, "Split"})


def _numel(shape: Sequence[int]) -> int:
    return math.prod(int(s) for s in shape)


def _result_elements(op: str, a: dict[str, Any], v: list[np.ndarray]) -> int:
    """How many elements ``op`` would produce, computed before running it (the budget check)."""
    if op == "ConstantOfShape":
        dims = [int(s) for s in v[0].reshape(-1)]
        return -1 if any(d < 0 for d in dims) else _numel(dims)
    if op == "Expand":
        return _numel(np.broadcast_shapes(v[0].shape, tuple(int(s) for s in v[1].reshape(-1))))
    if op == "Tile":
        return int(v[0].size) * _numel([int(r) for r in v[1].reshape(-1)])
    if op == "Range":
        start, limit, delta = (x.item() for x in v[:3])
        return max(math.ceil((limit - start) / delta), 0) if delta else -1
    if op == "Gather":
        return int(v[1].size) * (int(v[0].size) // max(int(v[0].shape[int(a.get("axis", 0))]), 1))
    if op == "Concat":
        return sum(x.size for x in v)
    if op in ("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
              "And", "Or", "Mod", "Where", "Max", "Min"):
        return _numel(np.broadcast_shapes(*(x.shape for x in v)))
    return max((x.size for x in v), default=0)  # the others never grow their input


def fold(node: Any, inputs: Sequence[Const | None], attrs: dict[str, Any] | None = None) -> list[Const] | None:
    """The outputs of ``node`` from its constant ``inputs`` (``None`` for an omitted optional input);
    ``None`` where it cannot or may not be evaluated within the budget."""
    op = str(node.op_type)
    if op not in FOLDABLE or node.domain not in ("", "ai.onnx"):
        return None
    if attrs is None:
        from onnx import helper

        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    values = [None if c is None else c.value for c in inputs]
    if not values or values[0] is None or any(c is not None and v is None for c, v in zip(inputs, values, strict=True)):
        return None  # an input's value is unknown (or too large to hold)
    try:
        if not 0 <= _result_elements(op, attrs, [v for v in values if v is not None]) <= MAX_ELEMENTS:
            return None
        with np.errstate(all="ignore"):
            split = op == "Split"
            results = _split(values[0], attrs, values, len(node.output)) if split else [_OPS[op](attrs, values)]
    except Exception:  # malformed attributes or inputs: the outputs stay unknown
        return None
    params = sum(c.params for c in inputs if c is not None)
    return [Const.of(r, params=params) for r in results]

