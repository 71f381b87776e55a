"""Output tensors for the ops whose ``meta`` kernels are slow Python, from their shape rule alone.

On the ``meta`` device torch runs many element-wise ops and norms through Python reference
implementations (``relu`` ~0.6 ms, ``layer_norm`` ~2 ms, ``scaled_dot_product_attention`` ~2 ms
per call, measured with torch 2.14), while allocating an empty meta tensor takes ~2 µs. For ops
whose output shape is a rule everyone agrees on — the input's (activations, norms, dropout), the
broadcast of the operands (``+``, ``*``, ``pow``, ``addcmul``, ``masked_fill``, …),
``(*x[:-1], out_features)`` (``F.linear``), reductions over given dims (``mean``, ``sum``,
``amax``, ``amin``, ``norm``, ``var``, ``std``), ``cat``, ``stack``, ``roll``, ``matmul`` (``@``) of
matrices, a lookup ``table[index]`` by an integer tensor; ``F.interpolate`` and 1-D/2-D average pools
are sized by torch's own cheap ``nearest`` / ``max_pool`` calls — the reader returns an empty
meta tensor of that shape and dtype, or the input itself for in-place ops. Anything unusual
(mixed dtypes, ``out=`` or ``dtype=`` other than ``None``, non-meta tensors, shapes that do not
broadcast) returns ``None`` and torch runs the op, so its own checks and messages still apply
(``tests/analysis/test_torch_shortcuts.py`` checks every rule against torch on CPU tensors).

>>> import torch
>>> x = torch.empty(2, 8, 5, 5, device="meta")
>>> shortcut(torch.relu, (x,), {}).shape, shortcut(torch.Tensor.__add__, (x, 1.0), {}).shape
(torch.Size([2, 8, 5, 5]), torch.Size([2, 8, 5, 5]))
>>> shortcut(torch.Tensor.add_, (x, torch.empty(2, 8, 1, 1, device="meta")), {}) is x
True
"""

from __future__ import annotations

import functools
from typing import Any

from ..propagate import broadcast
from .torch_layers import DROPOUT_FNS, fn_name

__all__ = ["broadcast", "resized", "shortcut"]

_SAME = frozenset({
    "relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "hardtanh", "mish", "elu",
    "leaky_relu", "softplus", "selu", "celu", "softmax", "log_softmax", "exp", "sqrt", "rsqrt", "abs", "neg",
    "square", "clamp", "clip", "erf", "reciprocal", "sign", "sin", "cos", "logsigmoid", "softsign", "tanhshrink",
    "batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm", "normalize", "clamp_min", "clamp_max",
    *DROPOUT_FNS,
})
_REDUCE = frozenset({"mean", "sum", "amax", "amin"})
_INTERP = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5, "area": 0}  # mode → the input's rank (0: any)
_INTERP_ARGS = ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias")
_BINARY = frozenset({"add", "sub", "mul", "div", "truediv", "radd", "rsub", "rmul", "rtruediv", "iadd", "isub",
                     "imul", "itruediv", "maximum", "minimum", "pow", "rpow"})
_POOL_ARGS = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")


@functools.lru_cache(maxsize=4096)  # bounded: models may make functions per call
def _names(func: Any) -> tuple[str, bool]:
    """A function's name (as :func:`fn_name`) and whether it works in place (``relu_``, ``__iadd__``)."""
    raw = str(getattr(func, "__name__", ""))
    inplace = (raw.endswith("_") and not raw.startswith("__")) or raw in ("__iadd__", "__isub__", "__imul__",
                                                                          "__itruediv__")
    return fn_name(func), inplace


def _meta_float(t: Any, torch: Any) -> bool:
    return isinstance(t, torch.Tensor) and t.device.type == "meta" and t.is_floating_point()


def shortcut(func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    """The output of ``func(*args, **kwargs)`` on meta tensors by its shape rule, or ``None`` to run it."""
    import torch

    if "out" in kwargs or "dtype" in kwargs:
        if kwargs.get("out") is not None or kwargs.get("dtype") is not None:
            return None
        kwargs = {k: v for k, v in kwargs.items() if k not in ("out", "dtype")}  # F.normalize passes out=None
    try:
        name, inplace = _names(func)
    except TypeError:  # unhashable callables
        return None
    if name in _SAME:
        x: Any = args[0] if args else kwargs.get("input")
        if not _meta_float(x, torch) or any(isinstance(v, torch.Tensor) and v.device.type != "meta"
                                            for v in (*args[1:], *kwargs.values())):
            return None
        if inplace or kwargs.get("inplace") is True:
            return x
        return torch.empty(x.shape, dtype=x.dtype, device="meta")
    if name in _BINARY and len(args) == 2 and not kwargs.keys() - {"alpha"}:
        a, b = args
        tensors = [t for t in (a, b) if isinstance(t, torch.Tensor)]
        if not tensors or not all(_meta_float(t, torch) or (t.dim() == 0 and t.is_floating_point())
                                  for t in tensors):
            return None
        if len({t.dtype for t in tensors}) != 1 or not all(isinstance(v, (torch.Tensor, int, float))
                                                            for v in (a, b)):
            return None
        shape = broadcast(*(t.shape for t in tensors))
        if shape is None:
            return None  # torch raises its own mismatch error
        if inplace:
            return a if isinstance(a, torch.Tensor) and tuple(shape) == tuple(a.shape) else None
        return torch.empty(shape, dtype=tensors[0].dtype, device="meta")
    if name in _REDUCE or name == "norm":
        return _reduced(name, args, kwargs, torch)
    if name in ("var", "std"):
        return _spread(args, kwargs, torch)
    if name in ("matmul", "rmatmul", "bmm") and len(args) == 2 and not kwargs:
        a, b = args[::-1] if name == "rmatmul" else args
        return _matmul(a, b, name == "bmm", torch)
    if name == "stack":
        return _stacked(args, kwargs, torch)
    if name == "getitem" and len(args) == 2 and not kwargs and _meta_float(args[0], torch) and args[0].dim() and \
            isinstance(args[1], torch.Tensor) and args[1].device.type == "meta" and \
            args[1].dtype in (torch.int64, torch.int32):  # a relative-position table looked up by an index buffer
        return torch.empty((*args[1].shape, *args[0].shape[1:]), dtype=args[0].dtype, device="meta")
    if name == "interpolate":
        return _interpolated(args, kwargs, torch)
    if name in ("addcmul", "addcdiv") and len(args) == 3 and not kwargs.keys() - {"value"}:
        if not all(_meta_float(t, torch) for t in args) or len({t.dtype for t in args}) != 1:
            return None
        shape = broadcast(*(t.shape for t in args))
        if shape is None:
            return None
        return torch.empty(shape, dtype=args[0].dtype, device="meta")
    if name in ("cat", "concat", "concatenate"):
        return _concatenated(args, kwargs, torch)
    if name in ("avg_pool1d", "avg_pool2d"):  # 3-D: torch's CPU kernel refuses inputs smaller than the window
        return _avg_pooled(name, args, kwargs, torch)
    if name == "roll" and args and _meta_float(args[0], torch) and not kwargs.keys() - {"shifts", "dims"} and \
            all(not isinstance(v, torch.Tensor) for v in (*args[1:], *kwargs.values())):
        return torch.empty(args[0].shape, dtype=args[0].dtype, device="meta")  # Swin's shifted windows
    if name == "masked_fill" and len(args) == 3 and not kwargs and _meta_float(args[0], torch) and \
            isinstance(args[1], torch.Tensor) and args[1].device.type == "meta" and args[1].dtype == torch.bool and \
            isinstance(args[2], (int, float)) and \
            broadcast(args[0].shape, args[1].shape) == tuple(args[0].shape):
        return torch.empty(args[0].shape, dtype=args[0].dtype, device="meta")
    if name == "linear" and len(args) <= 3 and not kwargs.keys() - {"input", "weight", "bias"}:  # Eva: weight=…
        bound: dict[str, Any] = dict(zip(("input", "weight", "bias"), args, strict=False)) | kwargs
        inp: Any = bound.get("input")
        w: Any = bound.get("weight")
        bias = bound.get("bias")
        if inp is None or w is None:
            return None
        if not (_meta_float(inp, torch) and _meta_float(w, torch)) or w.dim() != 2 or inp.dim() < 1 or \
                inp.shape[-1] != w.shape[1] or inp.dtype != w.dtype or \
                (bias is not None and not _meta_float(bias, torch)):
            return None
        return torch.empty((*inp.shape[:-1], w.shape[0]), dtype=inp.dtype, device="meta")
    if name == "scaled_dot_product_attention" and len(args) >= 3 and not kwargs.get("enable_gqa"):
        q, k, v = args[:3]
        if not all(_meta_float(t, torch) and t.dim() >= 2 for t in (q, k, v)) or q.shape[-1] != k.shape[-1] or \
                k.shape[-2] != v.shape[-2] or len({q.dtype, k.dtype, v.dtype}) != 1:
            return None
        batch = broadcast(q.shape[:-2], k.shape[:-2], v.shape[:-2])
        if batch is None:
            return None
        return torch.empty((*batch, q.shape[-2], v.shape[-1]), dtype=q.dtype, device="meta")
    return None


def _dims(dim: Any, rank: int) -> set[int] | None:
    """The axes a reduction's ``dim`` names (``None`` where it is not a plain int or list of ints in range)."""
    items = list(dim) if isinstance(dim, (list, tuple)) else [dim]
    if not items or not all(isinstance(d, int) and not isinstance(d, bool) and -rank <= d < rank for d in items):
        return None
    axes = {d % rank for d in items}
    return axes if len(axes) == len(items) else None


def _reduced(name: str, args: Any, kwargs: dict[str, Any], torch: Any) -> Any:
    """``mean``/``sum``/``amax``/``amin``/``norm`` over named axes: the input's shape without (or with 1 at) them."""
    keys = ("input", "p", "dim", "keepdim") if name == "norm" else ("input", "dim", "keepdim")
    if len(args) > len(keys) or kwargs.keys() - set(keys[1:]):
        return None
    bound: dict[str, Any] = dict(zip(keys, args, strict=False)) | kwargs
    x: Any = bound.get("input")
    if not _meta_float(x, torch) or x.dim() == 0:
        return None
    keep = bound.get("keepdim", False)
    axes = _dims(bound.get("dim"), x.dim())
    if axes is None or not isinstance(keep, bool) or any(int(x.shape[d]) == 0 for d in axes):
        return None  # no dim (all axes), odd arguments, or an empty axis (amax refuses it): torch decides
    if name == "norm":
        p = bound.get("p", "fro")
        if not (p == "fro" and len(axes) <= 2) and (isinstance(p, bool) or not isinstance(p, (int, float))):
            return None  # "fro" over 3+ axes and "nuc" are matrix norms with rules of their own
    shape = [1 if d in axes else int(s) for d, s in enumerate(x.shape)] if keep else \
        [int(s) for d, s in enumerate(x.shape) if d not in axes]
    return torch.empty(shape, dtype=x.dtype, device="meta")


def _spread(args: Any, kwargs: dict[str, Any], torch: Any) -> Any:
    """``var``/``std`` over named axes (``unbiased``/``correction`` change values, not shapes)."""
    if len(args) > 2 or kwargs.keys() - {"dim", "keepdim", "unbiased", "correction"} or \
            not all(isinstance(kwargs.get(k, False), bool) for k in ("keepdim", "unbiased")):
        return None
    return _reduced("mean", args, {k: v for k, v in kwargs.items() if k in ("dim", "keepdim")}, torch)


def _matmul(a: Any, b: Any, batched: bool, torch: Any) -> Any:
    """``a @ b`` of (stacks of) matrices: the broadcast of the stacks, then ``(n, k) @ (k, m)`` → ``(n, m)``."""
    if not (_meta_float(a, torch) and _meta_float(b, torch)) or a.dtype != b.dtype or a.dim() < 2 or b.dim() < 2 \
            or a.shape[-1] != b.shape[-2] or (batched and not a.dim() == b.dim() == 3):
        return None  # vectors, mixed dtypes, mismatched sizes: torch decides
    stack = broadcast(a.shape[:-2], b.shape[:-2])
    if stack is None or (batched and a.shape[0] != b.shape[0]):
        return None
    return torch.empty((*stack, a.shape[-2], b.shape[-1]), dtype=a.dtype, device="meta")


def _stacked(args: Any, kwargs: dict[str, Any], torch: Any) -> Any:
    """``torch.stack`` of meta tensors of one shape and dtype: a new axis of their number at ``dim``."""
    if len(args) > 2 or kwargs.keys() - {"tensors", "dim"}:
        return None
    bound: dict[str, Any] = dict(zip(("tensors", "dim"), args, strict=False)) | kwargs
    tensors, dim = bound.get("tensors"), bound.get("dim", 0)
    if not isinstance(tensors, (list, tuple)) or not tensors or isinstance(dim, bool) or not isinstance(dim, int) or \
            not all(_meta_float(t, torch) for t in tensors):
        return None
    first = tensors[0]
    rank = first.dim() + 1
    if not -rank <= dim < rank or any(t.shape != first.shape or t.dtype != first.dtype for t in tensors):
        return None
    dim %= rank
    return torch.empty((*first.shape[:dim], len(tensors), *first.shape[dim:]), dtype=first.dtype, device="meta")


def _interpolated(args: Any, kwargs: dict[str, Any], torch: Any) -> Any:
    """``F.interpolate`` in a (slow on meta) linear, cubic or area mode: sized as ``mode="nearest"`` sizes it."""
    if len(args) > len(_INTERP_ARGS) or kwargs.keys() - set(_INTERP_ARGS[1:]):
        return None
    bound: dict[str, Any] = dict(zip(_INTERP_ARGS, args, strict=False)) | kwargs
    x: Any = bound.get("input")
    mode = bound.get("mode", "nearest")
    rank = _INTERP.get(mode) if isinstance(mode, str) else None
    if rank is None or not _meta_float(x, torch) or (rank and x.dim() != rank) or not 3 <= x.dim() <= 5:
        return None
    if bound.get("antialias") and not (mode in ("bilinear", "bicubic") and x.dim() == 4):
        return None
    if bound.get("align_corners") is not None and mode == "area":
        return None
    import torch.nn.functional as F

    return F.interpolate(x, size=bound.get("size"), scale_factor=bound.get("scale_factor"), mode="nearest",
                         recompute_scale_factor=bound.get("recompute_scale_factor"))


def _concatenated(args: Any, kwargs: dict[str, Any], torch: Any) -> Any:
    """``torch.cat`` of meta tensors of one rank and dtype whose other axes agree: the sum along ``dim``."""
    if len(args) > 2 or kwargs.keys() - {"tensors", "dim", "axis"}:
        return None
    bound: dict[str, Any] = dict(zip(("tensors", "dim"), args, strict=False)) | kwargs
    tensors, dim = bound.get("tensors"), bound.get("dim", bound.get("axis", 0))
    if not isinstance(tensors, (list, tuple)) or not tensors or isinstance(dim, bool) or not isinstance(dim, int) or \
            not all(_meta_float(t, torch) for t in tensors):
        return None
    first = tensors[0]
    rank = first.dim()
    if rank == 0 or not -rank <= dim < rank or any(t.dim() != rank or t.dtype != first.dtype for t in tensors):
        return None
    dim %= rank
    if any(t.shape[:dim] != first.shape[:dim] or t.shape[dim + 1:] != first.shape[dim + 1:] for t in tensors):
        return None  # torch's own error
    shape = (*first.shape[:dim], sum(int(t.shape[dim]) for t in tensors), *first.shape[dim + 1:])
    return torch.empty(shape, dtype=first.dtype, device="meta")


def _avg_pooled(name: str, args: Any, kwargs: dict[str, Any], torch: Any) -> Any:
    """``avg_poolNd`` (slow on meta): sized as ``max_poolNd`` sizes the same windows (one rule, one check)."""
    keys = _POOL_ARGS[:6] if name == "avg_pool1d" else _POOL_ARGS
    if len(args) > len(keys) or kwargs.keys() - set(keys[1:]):
        return None
    bound: dict[str, Any] = dict(zip(keys, args, strict=False)) | kwargs
    x: Any = bound.get("input")
    if not _meta_float(x, torch) or bound.get("divisor_override") is not None or "kernel_size" not in bound:
        return None
    import torch.nn.functional as F

    pool = getattr(F, "max" + name[3:])
    return pool(x, bound["kernel_size"], bound.get("stride"), bound.get("padding", 0),
                ceil_mode=bool(bound.get("ceil_mode", False)))


def resized(fn: str, shape: tuple[int, ...], args: Any, kwargs: dict[str, Any]) -> Any:
    """The output size of tensor method ``fn`` (``permute``, ``transpose``, ``swapaxes``, ``unsqueeze``,
    ``squeeze``) on a tensor of ``shape``, or the list of sizes of its pieces (``unbind``, ``chunk``, ``split``);
    ``None`` where torch decides (odd arguments, errors, empty pieces). ``args[0]`` stands for the tensor.

    >>> resized("permute", (2, 3, 4), [None, 2, 0, 1], {}), resized("chunk", (2, 5), [None, 2, -1], {})
    ((4, 2, 3), [(2, 3), (2, 2)])
    """
    rank = len(shape)
    rest = args[1:]
    if kwargs:
        before = _BEFORE_DIM.get(fn)  # how many arguments come before ``dim``
        if kwargs.keys() - {"dim"} or before is None or len(rest) != before:
            return None
        rest = [*rest, kwargs["dim"]]
    if fn == "permute":
        dims = rest[0] if len(rest) == 1 and type(rest[0]) in (tuple, list) else rest
        axes = _axes(dims, rank)
        if axes is None or len(axes) != rank or len(set(axes)) != rank:
            return None
        return tuple(shape[d] for d in axes)
    if fn in ("transpose", "swapaxes"):
        axes = _axes(rest, rank)
        if axes is None or len(axes) != 2:
            return None
        out = list(shape)
        out[axes[0]], out[axes[1]] = shape[axes[1]], shape[axes[0]]
        return tuple(out)
    if fn == "unsqueeze":
        axes = _axes(rest, rank + 1)
        if axes is None or len(axes) != 1:
            return None
        return (*shape[:axes[0]], 1, *shape[axes[0]:])
    if fn == "squeeze":
        if not rest:
            return tuple(n for n in shape if n != 1)
        axes = _axes(rest[0] if len(rest) == 1 and type(rest[0]) in (tuple, list) else rest, rank)
        if axes is None or not axes or len(set(axes)) != len(axes):
            return None
        return tuple(n for d, n in enumerate(shape) if d not in axes or n != 1)
    if fn not in ("unbind", "chunk", "split") or not rank:
        return None
    if fn == "unbind":
        axes = _axes(rest, rank) if rest else [0]
        if axes is None or len(axes) != 1:
            return None
        d = axes[0]
        return [(*shape[:d], *shape[d + 1:])] * shape[d] if 0 < shape[d] < 1024 else None
    if not 1 <= len(rest) <= 2:
        return None
    axes = _axes(rest[1:], rank) if len(rest) == 2 else [0]
    first = rest[0]
    if axes is None or len(axes) != 1 or not shape[axes[0]]:
        return None
    d, total = axes[0], shape[axes[0]]
    if fn == "chunk":
        if type(first) is not int or first <= 0:
            return None
        step = -(-total // first)
        pieces = [step] * (total // step) + ([total % step] if total % step else [])
    elif type(first) is int:
        if first <= 0:
            return None
        pieces = [first] * (total // first) + ([total % first] if total % first else [])
    elif type(first) in (tuple, list) and first and all(type(n) is int and n > 0 for n in first) and \
            sum(first) == total:
        pieces = list(first)
    else:
        return None
    if len(pieces) >= 1024:
        return None
    return [(*shape[:d], n, *shape[d + 1:]) for n in pieces]


_BEFORE_DIM = {"unbind": 0, "squeeze": 0, "unsqueeze": 0, "chunk": 1, "split": 1}


def _axes(dims: Any, rank: int) -> list[int] | None:
    """``dims`` as axes in ``range(rank)`` (``None`` where one is not a plain int in ``[-rank, rank)``)."""
    out = []
    for d in dims:
        if type(d) is not int or not -rank <= d < rank:
            return None
        out.append(d % rank)
    return out
