"""Output tensors for the ops whose ``meta`` kernels are slow Python, from their shape rule alone.

On the ``meta`` device torch runs many element-wise ops and norms through Python reference
implementations (``relu`` ~0.6 ms, ``layer_norm`` ~2 ms, ``scaled_dot_product_attention`` ~2 ms
per call, measured with torch 2.14), while allocating an empty meta tensor takes ~2 µs. For ops
whose output shape is a rule everyone agrees on — the input's (activations, norms, dropout), the
broadcast of the operands (``+``, ``*``, …), ``(*x[:-1], out_features)`` (``F.linear``) — the
reader returns an empty meta tensor of that shape and dtype, or the input itself for in-place
ops. Anything unusual (mixed dtypes, ``out=``, ``dtype=``, non-meta tensors, shapes that do not
fit) returns ``None`` and torch runs the op, so its own checks and messages still apply.

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

from .torch_layers import DROPOUT_FNS, fn_name

__all__ = ["shortcut"]

_SAME = frozenset({
    "relu", "relu6", "gelu", "silu", "sigmoid", "tanh", "hardswish", "hardsigmoid", "hardtanh", "mish", "elu",
    "leaky_relu", "softplus", "selu", "celu", "softmax", "log_softmax", "exp", "sqrt", "rsqrt", "abs", "neg",
    "square", "clamp", "clip", "erf", "reciprocal", "sign", "sin", "cos", "logsigmoid", "softsign", "tanhshrink",
    "batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm", "normalize", "clamp_min", "clamp_max",
    *DROPOUT_FNS,
})
_BINARY = frozenset({"add", "sub", "mul", "div", "truediv", "radd", "rsub", "rmul", "rtruediv", "iadd", "isub",
                     "imul", "itruediv", "maximum", "minimum"})


@functools.cache
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
        return None
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
        shape = torch.broadcast_shapes(*(t.shape for t in tensors))  # type: ignore[no-untyped-call]  # raises torch's own mismatch error
        if inplace:
            return a if isinstance(a, torch.Tensor) and tuple(shape) == tuple(a.shape) else None
        return torch.empty(shape, dtype=tensors[0].dtype, device="meta")
    if name == "linear" and len(args) + len(kwargs) <= 3:
        if len(args) < 2:
            return None
        inp: Any = args[0]
        w: Any = args[1]
        bias = args[2] if len(args) > 2 else kwargs.get("bias")
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
        batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])  # type: ignore[no-untyped-call]
        return torch.empty((*batch, q.shape[-2], v.shape[-1]), dtype=q.dtype, device="meta")
    return None
