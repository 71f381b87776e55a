"""``torch.nn.Module`` → graph IR, by tracing ``forward`` with stand-in tensors: no tensor is ever computed.

The model's ``forward`` runs once with a stand-in (:class:`_Sym`) for the input, while
``nn.Module.__call__`` is redirected: known layers become IR nodes from their attributes and are
not run; other modules are traced into. Torch functions reach the stand-in through
``__torch_function__``, tensor methods through attribute access, Python operators through its
dunder methods. Sizes are concrete as soon as they are asked for (the graph is propagated as it
grows), so Python code on shapes — ``if x.size(2) != skip.size(2): x = F.pad(...)`` — simply runs,
which ``torch.fx`` cannot trace; branching on tensor *values* is reported. This costs a few µs per
layer, a fraction of a ``torch.fx`` trace, and the propagation done while tracing is kept.

Standard layers (``nn.Conv*``, pools, ``ConvTranspose*``, ``Upsample``, pads, ``Flatten``,
``Linear``, norms, activations, dropout) become IR nodes; ``F.pad``, ``F.max_pool*``/``F.avg_pool*``,
``F.interpolate``, ``torch.cat``, ``+``/``-``/``*``/``/``, ``flatten``, ``view``/``reshape``,
``mean`` over the spatial axes and slicing crops are understood in ``forward``. Layers whose
padding is a :class:`padstride.geometry.Padding` (attribute ``padding_spec`` or ``spec``, as
padstride's own torch layers have) use it. Other ``torch.nn`` layers and functions run on the
``meta`` device (shapes only) and are kept as opaque nodes.

>>> import torch.nn as nn
>>> net = nn.Sequential(nn.Conv2d(1, 8, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2))
>>> g = graph_from_torch(net, (1, 28, 28))
>>> [(n.name, n.op) for n in g.nodes]
[('input', 'input'), ('0', 'conv'), ('1', 'activation'), ('2', 'pool')]
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from ...geometry import Padding
from ..builder import GraphBuilder, snake_case
from ..ir import Graph
from ..layer import LayerInfo
from ..load import ModelError

__all__ = ["analyzed_torch", "graph_from_torch"]


class _Batch:
    """The batch size: unknown, carried through ``x.size(0)`` and arithmetic on it."""

    def __repr__(self) -> str:
        return "B"

    def _same(self, *_: Any) -> _Batch:
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same
    __floordiv__ = __rfloordiv__ = __truediv__ = __rtruediv__ = __mod__ = __neg__ = _same


BATCH = _Batch()


class _Ref(str):
    """A tensor inside the converter: the name of the IR node that produces it."""


class _Sym:
    """A tensor while ``forward`` runs: stands for IR node ``ref``; every op on it goes to the converter.

    Torch functions reach :meth:`__torch_function__`, tensor methods :meth:`__getattr__`, Python
    operators the dunder methods below. Sizes are concrete (the batch size is :data:`BATCH`), so
    Python code on shapes simply runs; branching on tensor *values* cannot be traced.
    """

    __slots__ = ("_conv", "_ref")

    def __init__(self, ref: str, conv: _Converter) -> None:
        self._ref, self._conv = ref, conv

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        conv = next(v._conv for v in _flat((args, kwargs or {})) if isinstance(v, _Sym))
        return conv.call(func, tuple(args), dict(kwargs or {}))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        conv = self._conv
        if name == "shape":
            return conv.full_shape(self._ref)
        if name == "ndim":
            return len(conv.full_shape(self._ref))
        facts = _tensor_facts()
        if name in facts:
            return facts[name]()
        if name == "data":
            return self
        return lambda *args, **kwargs: conv.call(name, (self, *args), kwargs)

    def __repr__(self) -> str:
        return f"<traced tensor {self._ref}>"

    def __bool__(self) -> bool:
        raise _Untraceable(f"the forward branches on tensor values ({self._ref}), which a static trace cannot follow")

    def __len__(self) -> int:
        raise _Untraceable(f"len() of a tensor ({self._ref}) is its batch size, unknown to a static trace")

    def __iter__(self) -> Any:
        raise _Untraceable(f"iterating over a tensor ({self._ref}) depends on its batch size, unknown to a static "
                           "trace")


class _Untraceable(ModelError):
    """A ``forward`` that needs tensor values or the batch size; reported with the model's name."""


def _operator(op: Callable[..., Any], reflected: bool = False) -> Callable[..., Any]:
    def method(self: _Sym, *other: Any) -> Any:
        return self._conv.call(op, (*other, self) if reflected else (self, *other), {})

    return method


for _op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and_", "or_", "xor"):
    _dunder = _op.rstrip("_")
    setattr(_Sym, f"__{_dunder}__", _operator(getattr(operator, _op)))
    setattr(_Sym, f"__r{_dunder}__", _operator(getattr(operator, _op), reflected=True))
for _op in ("getitem", "neg", "pos", "abs", "invert", "lt", "le", "gt", "ge", "eq", "ne"):
    setattr(_Sym, f"__{_op}__", _operator(getattr(operator, _op)))
_Sym.__hash__ = object.__hash__  # type: ignore[method-assign]


@functools.cache
def _tensor_facts() -> dict[str, Callable[[], Any]]:
    """What a stand-in answers for a tensor's plain attributes."""
    import torch

    return {"dtype": torch.get_default_dtype, "device": lambda: torch.device("cpu"), "requires_grad": lambda: False,
            "is_cuda": lambda: False, "is_sparse": lambda: False, "layout": lambda: torch.strided}


_ACTIVATION_FNS = {
    "relu", "relu_", "relu6", "gelu", "sigmoid", "tanh", "silu", "mish", "softmax", "log_softmax", "elu",
    "leaky_relu", "hardswish", "hardsigmoid", "hardtanh", "softplus", "selu", "celu", "prelu", "glu",
    "logsigmoid", "softsign", "tanhshrink", "threshold", "sigmoid_", "tanh_", "exp", "abs", "neg", "sqrt",
    "square", "clamp", "clamp_", "clip",
}
_IDENTITY_FNS = {"contiguous", "clone", "detach", "float", "half", "double", "to", "type_as", "requires_grad_"}
_DROPOUT_FNS = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"}
_ARGS: dict[str, tuple[str, ...]] = {
    "max_pool": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    "avg_pool": ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    "pad": ("input", "pad", "mode", "value"),
    "interpolate": ("input", "size", "scale_factor", "mode", "align_corners"),
    "cat": ("tensors", "dim"),
    "flatten": ("input", "start_dim", "end_dim"),
    "mean": ("input", "dim", "keepdim"),
    "adaptive": ("input", "output_size"),
    "conv": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "linear": ("input", "weight", "bias"),
}


def _bind(kind: str, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    names = _ARGS[kind]
    bound = dict(zip(names, args, strict=False))
    bound.update(kwargs)
    return bound


def _fn_name(target: Any) -> str:
    name = getattr(target, "__name__", str(target))
    return name.lstrip("_").removesuffix("_") if name not in ("relu_", "sigmoid_", "tanh_", "clamp_") else name


class _Converter:
    def __init__(self, module: Any, input_shape: Sequence[int]) -> None:
        import torch

        self.torch = torch
        self.root = module
        self.b = GraphBuilder(type(module).__name__, layout="channels_first", framework="torch")
        self.input_shape = tuple(int(s) for s in input_shape)
        self.used: set[str] = set()

    # -- shapes of what is built so far ------------------------------------------------------
    def shape(self, ref: str) -> tuple[int, ...]:
        info = self.b.propagated()[ref]
        if info.shape is None:
            raise ModelError(f"{ref}: shape unknown after an earlier error: {'; '.join(info.errors)}")
        return info.shape

    def full_shape(self, ref: str) -> tuple[Any, ...]:
        return (BATCH, *self.shape(ref))

    def _name(self, preferred: str) -> str:
        name = preferred
        if name in self.used:
            i = 1
            while f"{preferred}_{i}" in self.used:
                i += 1
            name = f"{preferred}_{i}"
        self.used.add(name)
        return name

    # -- tracing -------------------------------------------------------------------------------
    def run(self) -> Graph:
        import torch.nn as nn

        root = self.root
        modules = list(root.named_modules())
        self.qualnames = {id(m): name for name, m in modules}
        self.param_count = sum({id(p): p.numel() for _, m in modules for p in m._parameters.values()
                                if p is not None}.values())
        original = nn.Module.__call__
        converter = self

        def call(module: Any, *args: Any, **kwargs: Any) -> Any:
            if not (args and type(args[0]) is _Sym) and not any(isinstance(a, _Sym) for a in _flat((args, kwargs))):
                return original(module, *args, **kwargs)
            return converter.call_module(module, args, kwargs)

        x = _Sym(self.b.input(self.input_shape, name=self._name("input")), self)
        nn.Module.__call__ = call  # type: ignore[method-assign]
        try:
            result = call(root, x)
        except _Untraceable as exc:
            raise ModelError(f"{type(root).__name__}: {exc}") from None
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"{type(root).__name__}: cannot trace its forward ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        finally:
            nn.Module.__call__ = original  # type: ignore[method-assign]
        outputs = [v._ref for v in _flat(result) if isinstance(v, _Sym)]
        g = self.b.build(outputs or None)
        g.notes = self._check_params(g)
        return g

    def call_module(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``module(*args)`` during the trace: a known layer becomes a node, a container is traced into."""
        qualname = self.qualnames.get(id(module), "") or snake_case(type(module).__name__)
        handler = _handler(type(module))
        if handler is not None and _own_forward(type(module)) and _spec_of(module) is None:
            handler = None  # e.g. a Conv2d subclass that pads in its forward: trace into it
        if handler is not None:
            x = next(v for v in _flat((args, kwargs)) if isinstance(v, _Sym))  # ``layer(x)`` or ``layer(input=x)``
            return _Sym(handler(self, module, _unwrap(x), self._name(qualname)), self)
        if _is_torch_leaf(module):
            return _wrap(self._opaque(self._name(qualname), type(module).__name__, module, _unwrap(args),
                                      _unwrap(kwargs), module), self)
        return module.forward(*args, **kwargs)

    def call(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A function or tensor method applied to traced tensors."""
        fn = _fn_name(target)
        args, kwargs = _unwrap(args), _unwrap(kwargs)
        return _wrap(self._function(target, fn, args, kwargs), self)

    def _function(self, target: Any, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        b = self.b
        x: Any = args[0] if args else None
        if not any(isinstance(a, _Ref) for a in _flat((args, kwargs))):  # e.g. torch.Tensor.size(x, 0) already done
            return target(*args, **kwargs) if callable(target) else getattr(x, target)(*args[1:], **kwargs)
        if fn in ("size", "dim"):
            shape = self.full_shape(x)
            if fn == "dim":
                return len(shape)
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            return shape if dim is None else shape[dim]
        name = self._name(fn)
        if fn == "getitem" and isinstance(x, _Ref):
            return _Ref(self._slice(name, x, args[1]))
        if fn in _ACTIVATION_FNS:
            return _Ref(b.activation(x, fn.rstrip("_"), name=name, type=f"F.{fn}"))
        if fn in _IDENTITY_FNS:
            return _Ref(b.identity(x, name=name, type=fn))
        if fn in _DROPOUT_FNS:
            return _Ref(b.dropout(x, name=name, type=f"F.{fn}"))
        if fn in ("add", "iadd", "sub", "isub", "mul", "imul", "truediv", "itruediv"):
            refs = [a for a in args[:2] if isinstance(a, _Ref)]
            if len(refs) < 2:
                return _Ref(b.identity(refs[0], name=name, type=fn))
            op = "mul" if fn in ("mul", "imul", "truediv", "itruediv") else "add"
            return _Ref(b.node(op, refs, name=name, type=fn))
        if fn in ("cat", "concat", "concatenate"):
            bound = _bind("cat", args, kwargs)
            return _Ref(b.concat(list(bound["tensors"]), axis=int(bound.get("dim", 0)), name=name, type="cat"))
        if fn == "pad":
            bound = _bind("pad", args, kwargs)
            return _Ref(self._pad(name, x, bound["pad"], str(bound.get("mode", "constant")), "F.pad"))
        if fn.startswith(("max_pool", "avg_pool")) and fn[-2:] in ("1d", "2d", "3d"):
            kind = fn[:3]
            bound = _bind("max_pool" if kind == "max" else "avg_pool", args, kwargs)
            return _Ref(b.pool(x, kind, bound["kernel_size"], bound.get("stride") or None, bound.get("padding", 0),
                               bound.get("dilation", 1), bool(bound.get("ceil_mode", False)),
                               count_include_pad=bool(bound.get("count_include_pad", True)), name=name,
                               type=f"F.{fn}"))
        if fn in ("conv1d", "conv2d", "conv3d", "linear") and not isinstance(args[1] if len(args) > 1 else
                                                                          kwargs.get("weight"), _Ref):
            return _Ref(self._weighted(name, x, fn, _bind("linear" if fn == "linear" else "conv", args, kwargs)))
        if fn.startswith("adaptive_") and fn[-2:] in ("1d", "2d", "3d"):
            bound = _bind("adaptive", args, kwargs)
            return _Ref(self._adaptive(name, x, fn[9:12], bound["output_size"], f"F.{fn}"))
        if fn in ("interpolate", "upsample"):
            bound = _bind("interpolate", args, kwargs)
            return _Ref(self._upsample(name, x, bound.get("size"), bound.get("scale_factor"),
                                       str(bound.get("mode", "nearest")), bool(bound.get("align_corners")),
                                       "F.interpolate"))
        if fn == "flatten":
            bound = _bind("flatten", args, kwargs)
            return _Ref(self._flatten(name, x, int(bound.get("start_dim", 0)), int(bound.get("end_dim", -1)),
                                      "flatten"))
        if fn in ("view", "reshape"):
            target = args[1:] if len(args) > 2 or not isinstance(args[1], (list, tuple)) else args[1]
            return _Ref(self._reshape(name, x, list(target), fn))
        if fn == "mean":
            bound = _bind("mean", args, kwargs)
            dims = bound.get("dim")
            rank = len(self.full_shape(x))
            spatial = set(range(2, rank))
            if dims is not None and {d % rank for d in _flat([dims])} == spatial:
                return _Ref(b.global_pool(x, "avg", bool(bound.get("keepdim", False)), name=name, type="mean"))
        return self._opaque(name, fn, target, args, kwargs, None)

    # -- layer helpers -----------------------------------------------------------------------------
    def _pad(self, name: str, x: str, pad: Sequence[int], mode: str, type: str) -> str:
        nd = len(self.shape(x)) - 1
        pairs = Padding.from_torch_pad([int(p) for p in pad]).axes
        if len(pairs) > nd:
            raise ModelError(f"{name}: F.pad pads {len(pairs)} axes of a tensor with {nd} spatial axes")
        full = ((0, 0),) * (nd - len(pairs)) + tuple(pairs)
        return self.b.pad(x, list(full), mode=mode, name=name, type=type)

    def _slice(self, name: str, x: str, index: Any) -> str:
        shape = self.full_shape(x)
        items = list(index) if isinstance(index, tuple) else [index]
        if items and items[0] is Ellipsis:
            items = [slice(None)] * (len(shape) - len(items) + 1) + items[1:]
        items += [slice(None)] * (len(shape) - len(items))
        if len(items) != len(shape) or not all(isinstance(i, slice) and i.step in (None, 1) for i in items) or \
                items[0] != slice(None) or items[1] != slice(None):
            return str(self._opaque(name, "getitem", operator.getitem, (x, index), {}, None))
        crops = []
        for n, item in zip(shape[2:], items[2:], strict=True):
            start, stop, _ = item.indices(n)
            crops.append((start, n - stop))
        return self.b.crop(x, crops, name=name, type="slice")

    def _weighted(self, name: str, x: str, fn: str, bound: dict[str, Any]) -> str:
        """``F.conv*d`` / ``F.linear`` on weight tensors (e.g. a ``forward`` that pads, then convolves)."""
        w, has_bias = bound["weight"], bound.get("bias") is not None
        if fn == "linear":
            return self.b.dense(x, int(w.shape[0]), has_bias, in_features=int(w.shape[1]), name=name, type="F.linear")
        groups = int(bound.get("groups", 1))
        padding = bound.get("padding", 0)
        return self.b.conv(x, int(w.shape[0]), tuple(w.shape[2:]), bound.get("stride", 1),
                           "torch_same" if padding == "same" else padding, bound.get("dilation", 1), groups,
                           has_bias, in_channels=int(w.shape[1]) * groups, name=name, type=f"F.{fn}")

    def _adaptive(self, name: str, x: str, kind: str, size: Any, type: str) -> str:
        spatial = self.shape(x)[1:]
        sizes = [n if s is None else int(s) for n, s in zip(spatial, _per(size, len(spatial)), strict=True)]
        if all(s == 1 for s in sizes):
            return self.b.global_pool(x, kind, keepdims=True, name=name, type=type)
        if all(n % s == 0 for n, s in zip(spatial, sizes, strict=True)):
            k = [n // s for n, s in zip(spatial, sizes, strict=True)]
            return self.b.pool(x, kind, k, k, name=name, type=type)
        return self.b.opaque(x, (self.shape(x)[0], *sizes), name=name, type=type)

    def _upsample(self, name: str, x: str, size: Any, scale: Any, mode: str, corners: bool, type: str) -> str:
        nd = len(self.shape(x)) - 1
        if size is not None:
            return self.b.upsample(x, size=list(_per(size, nd)), mode=mode, align_corners=corners, name=name, type=type)
        return self.b.upsample(x, scale=list(_per(scale, nd)), mode=mode, align_corners=corners, name=name, type=type)

    def _flatten(self, name: str, x: str, start: int, end: int, type: str) -> str:
        shape = self.full_shape(x)
        start, end = start % len(shape), end % len(shape)
        if start == 1 and end == len(shape) - 1:
            return self.b.flatten(x, name=name, type=type)
        if start == 0:
            raise ModelError(f"{name}: flattening the batch axis is not supported")
        target = [*shape[1:start], math.prod(shape[start:end + 1]), *shape[end + 1:]]
        return self.b.reshape(x, target, name=name, type=type)

    def _reshape(self, name: str, x: str, target: list[Any], type: str) -> str:
        if target and target[0] is BATCH:
            return self.b.reshape(x, [int(t) for t in target[1:]], name=name, type=type)
        if target and target[0] == -1 and -1 not in target[1:] and BATCH not in target:
            return self.b.reshape(x, [int(t) for t in target[1:]], batch_absorbing=True, name=name, type=type)
        if BATCH in target:
            raise ModelError(f"{name}: reshape to {target} moves the batch axis")
        return self.b.reshape(x, [int(t) for t in target[1:]], name=name, type=type)

    def _opaque(self, name: str, type: str, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                module: Any) -> Any:
        """Run one op on meta tensors (shapes only) and keep it as an opaque node (one per output tensor)."""
        torch = self.torch
        refs: list[str] = []

        def meta(v: Any) -> Any:
            if isinstance(v, _Ref):
                refs.append(v)
                return torch.empty((1, *self.shape(v)), device="meta")
            if v is BATCH:
                return 1
            if isinstance(v, (list, tuple)):
                return type_(v)(meta(i) for i in v)
            return v

        def type_(v: Any) -> Callable[..., Any]:
            return list if isinstance(v, list) else tuple

        margs, mkwargs = meta(args), {k: meta(v) for k, v in kwargs.items()}
        try:
            if module is not None:
                out = _on_meta(module, margs, mkwargs)
            elif isinstance(fn, str):  # a tensor method
                out = getattr(margs[0], fn)(*margs[1:], **mkwargs)
            else:
                out = fn(*margs, **mkwargs)
        except Exception as exc:
            raise ModelError(f"{name} ({type}): not understood and fails on meta tensors "
                             f"({type_name(exc)}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
        params = trainable = 0
        if module is not None:
            params = sum(p.numel() for p in module.parameters())
            trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
        if isinstance(out, (tuple, list)) and out and all(isinstance(o, torch.Tensor) for o in out):
            # chunk, split, unbind, max over an axis: one opaque node per output (the first holds the params)
            return type_(out)(_Ref(self.b.opaque(refs, tuple(o.shape[1:]), params if i == 0 else 0,
                                                 trainable if i == 0 else 0, name=name if i == 0 else
                                                 self._name(f"{name}_{i}"), type=type)) for i, o in enumerate(out))
        if not isinstance(out, torch.Tensor):
            raise ModelError(f"{name} ({type}): not understood (returns {type_name(out)}, not tensors)")
        return _Ref(self.b.opaque(refs, tuple(out.shape[1:]), params, trainable, name=name, type=type))

    def _check_params(self, g: Graph) -> tuple[str, ...]:
        counted = sum(i.params for i in self.b.propagated(g).values())
        actual = self.param_count
        if counted == actual:
            return ()
        return (f"{g.name}: the model holds {actual:,} parameters, the recognised layers {counted:,}",)


def type_name(obj: Any) -> str:
    return type(obj).__name__


def _on_meta(module: Any, args: Any, kwargs: Any) -> Any:
    import copy

    clone = copy.deepcopy(module).to("meta")
    return clone(*args, **kwargs)


def _unwrap(value: Any) -> Any:
    """Traced tensors → converter refs, inside lists, tuples and dicts."""
    if isinstance(value, _Sym):
        return _Ref(value._ref)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _wrap(value: Any, conv: _Converter) -> Any:
    if isinstance(value, (tuple, list)) and any(isinstance(v, _Ref) for v in value):
        return type(value)(_wrap(v, conv) for v in value)
    return _Sym(value, conv) if isinstance(value, _Ref) else value


_HANDLER_OF: dict[type, Handler | None] = {}


def _handler(cls: type) -> Handler | None:
    """The handler of a module class (the most specific registered base), cached per class."""
    if cls not in _HANDLER_OF:
        known = _module_handlers()
        _HANDLER_OF[cls] = next((known[c] for c in cls.__mro__ if c in known), None)
    return _HANDLER_OF[cls]


def _own_forward(cls: type) -> bool:
    """Whether a subclass of a ``torch.nn`` layer overrides that layer's ``forward``."""
    base = next(c for c in cls.__mro__ if c.__module__.startswith("torch.nn"))
    return cls.forward is not base.forward  # type: ignore[attr-defined]


def _is_torch_leaf(module: Any) -> bool:
    """A ``torch.nn`` layer padstride does not know: run on meta tensors, not traced into (as torch.fx does)."""
    import torch.nn as nn

    mod = type(module).__module__
    return mod.startswith(("torch.nn", "torch.ao.nn")) and not isinstance(module, (nn.Sequential, nn.ModuleList,
                                                                                    nn.ModuleDict))


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flat(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _flat(item)]
    return [value]


def _per(value: Any, nd: int) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * nd


# -- nn.Module handlers --------------------------------------------------------------------------

Handler = Callable[[_Converter, Any, str, str], str]


def _spec_of(m: Any) -> Padding | None:
    """A layer's own :class:`Padding` (attribute ``padding_spec`` or ``spec``), as padstride's layers have."""
    for attr in ("padding_spec", "spec"):
        spec = getattr(m, attr, None)
        if isinstance(spec, Padding):
            return spec
    return None


def _padding_of(m: Any) -> object:
    spec = _spec_of(m)
    if spec is not None:
        return spec
    pad = m.padding
    if isinstance(pad, str):
        return "torch_same" if pad == "same" else pad
    return pad


def _conv(c: _Converter, m: Any, x: str, name: str) -> str:
    return c.b.conv(x, m.out_channels, m.kernel_size, m.stride, _padding_of(m), m.dilation, m.groups,
                    m.bias is not None, in_channels=m.in_channels, name=name, type=type(m).__name__)


def _conv_t(c: _Converter, m: Any, x: str, name: str) -> str:
    nd = len(m.kernel_size)
    crop = getattr(m, "crop", None) if isinstance(_padding_of(m), Padding) else None
    if crop is not None:  # padstride's layer: the crop of the full output, output_padding included
        pads, out_pad = [(int(b), int(a)) for b, a in crop], [0] * nd
    else:  # nn.ConvTransposeNd (or padstride's on its native path): what PyTorch is given
        pads, out_pad = [(p, p) for p in _per(m.padding, nd)], list(m.output_padding)
    return c.b.conv_transpose(x, m.out_channels, m.kernel_size, m.stride, pads, out_pad, m.dilation,
                              m.groups, m.bias is not None, in_channels=m.in_channels, name=name,
                              type=type(m).__name__)


def _pool(c: _Converter, m: Any, x: str, name: str) -> str:
    import torch.nn as nn

    kind = "max" if isinstance(m, nn.modules.pooling._MaxPoolNd) else "avg"
    return c.b.pool(x, kind, m.kernel_size, m.stride, _padding_of(m), getattr(m, "dilation", 1), bool(m.ceil_mode),
                    count_include_pad=bool(getattr(m, "count_include_pad", True)), name=name, type=type(m).__name__)


def _adaptive(c: _Converter, m: Any, x: str, name: str) -> str:
    kind = "max" if "Max" in type(m).__name__ else "avg"
    return c._adaptive(name, x, kind, m.output_size, type(m).__name__)


def _upsample(c: _Converter, m: Any, x: str, name: str) -> str:
    return c._upsample(name, x, m.size, m.scale_factor, m.mode, bool(m.align_corners), type(m).__name__)


def _padmod(c: _Converter, m: Any, x: str, name: str) -> str:
    mode = {"Zero": "constant", "Constant": "constant", "Reflection": "reflect", "Replication": "replicate",
            "Circular": "circular"}
    kind = next((v for k, v in mode.items() if type(m).__name__.startswith(k)), "constant")
    return c._pad(name, x, list(m.padding), kind, type(m).__name__)


def _flatten(c: _Converter, m: Any, x: str, name: str) -> str:
    return c._flatten(name, x, m.start_dim, m.end_dim, type(m).__name__)


def _linear(c: _Converter, m: Any, x: str, name: str) -> str:
    return c.b.dense(x, m.out_features, m.bias is not None, in_features=m.in_features, name=name,
                     type=type(m).__name__)


def _norm(c: _Converter, m: Any, x: str, name: str) -> str:
    import torch.nn as nn

    vectors = int(getattr(m, "weight", None) is not None) + int(getattr(m, "bias", None) is not None)
    if isinstance(m, nn.LayerNorm):
        features, kind = math.prod(m.normalized_shape), "layer"
    elif isinstance(m, nn.GroupNorm):
        features, kind = m.num_channels, "group"
    else:
        features, kind = m.num_features, "instance" if "Instance" in type(m).__name__ else "batch"
    return c.b.norm(x, kind, vectors, stats=False, features=features, name=name, type=type(m).__name__)


def _activation(c: _Converter, m: Any, x: str, name: str) -> str:
    params = sum(p.numel() for p in m.parameters())
    if params:  # PReLU
        return c.b.opaque(x, c.shape(x), params, name=name, type=type(m).__name__)
    return c.b.activation(x, type(m).__name__.lower(), name=name, type=type(m).__name__)


def _dropout(c: _Converter, m: Any, x: str, name: str) -> str:
    return c.b.dropout(x, float(m.p), name=name, type=type(m).__name__)


def _identity(c: _Converter, m: Any, x: str, name: str) -> str:
    return c.b.identity(x, name=name, type=type(m).__name__)


@functools.cache
def _module_handlers() -> dict[type, Handler]:
    import torch.nn as nn
    from torch.nn.modules import activation, dropout

    return {
        nn.modules.conv._ConvTransposeNd: _conv_t,
        nn.modules.conv._ConvNd: _conv,
        nn.modules.pooling._MaxPoolNd: _pool,
        nn.modules.pooling._AvgPoolNd: _pool,
        nn.modules.pooling._AdaptiveAvgPoolNd: _adaptive,
        nn.modules.pooling._AdaptiveMaxPoolNd: _adaptive,
        nn.Upsample: _upsample,
        nn.modules.padding._ConstantPadNd: _padmod,
        nn.modules.padding._ReflectionPadNd: _padmod,
        nn.modules.padding._ReplicationPadNd: _padmod,
        nn.modules.padding._CircularPadNd: _padmod,
        nn.Flatten: _flatten,
        nn.Linear: _linear,
        nn.modules.batchnorm._NormBase: _norm,
        nn.LayerNorm: _norm,
        nn.GroupNorm: _norm,
        nn.Identity: _identity,
        dropout._DropoutNd: _dropout,
        **{cls: _activation for cls in vars(activation).values()
           if isinstance(cls, type) and issubclass(cls, nn.Module) and cls is not nn.Module
           and cls.__module__ == activation.__name__ and cls is not activation.MultiheadAttention},
    }


def graph_from_torch(module: Any, input_shape: Sequence[int]) -> Graph:
    """The graph of ``module`` for inputs of ``input_shape`` per sample (``(C, H, W)``), without running it.

    >>> import torch.nn as nn
    >>> g = graph_from_torch(nn.Conv3d(1, 4, 3, stride=2), (1, 16, 16, 16))
    >>> g.nodes[-1].attrs["stride"]
    (2, 2, 2)
    """
    return _Converter(module, input_shape).run()


def analyzed_torch(module: Any, input_shape: Sequence[int]) -> tuple[Graph, dict[str, LayerInfo]]:
    """:func:`graph_from_torch` plus the propagation the trace already ran (so it is not run twice).

    >>> import torch.nn as nn
    >>> g, infos = analyzed_torch(nn.Conv2d(1, 4, 3), (1, 8, 8))
    >>> infos["conv2d"].shape
    (4, 6, 6)
    """
    converter = _Converter(module, input_shape)
    graph = converter.run()
    return graph, converter.b.propagated(graph)
