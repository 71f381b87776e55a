"""The fast torch reader: ``forward`` runs once on stand-in tensors (:class:`_Sym`); nothing is computed.

While it runs, a call of a module on a stand-in goes to the converter: known layers become IR
nodes from their attributes and are not run; other modules are traced into. Torch functions reach
the stand-in through ``__torch_function__``, tensor methods through attribute access, Python
operators through its dunder methods. Sizes are concrete as soon as they are asked for (the graph
is propagated as it grows), so Python code on shapes — ``if x.size(2) != skip.size(2): x =
F.pad(...)`` — simply runs, which ``torch.fx`` cannot trace. Anything it cannot follow (branching
on tensor values, the batch size used as a number, an op it does not know and cannot run on meta
tensors) raises :class:`ModelError`; :mod:`.torch` then reads the model with :mod:`.torch_meta`.

>>> import torch.nn as nn
>>> g = trace(nn.Sequential(nn.Conv2d(1, 8, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2)), (1, 28, 28))
>>> [(n.name, n.op) for n in g.nodes]
[('input', 'input'), ('0', 'conv'), ('1', 'activation'), ('2', 'pool')]
"""

from __future__ import annotations

import contextlib
import functools
import operator
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..builder import snake_case
from ..errors import ModelError
from ..ir import Graph
from .torch_layers import (
    ACTIVATION_FNS,
    DROPOUT_FNS,
    IDENTITY_FNS,
    LayerReader,
    bind,
    flat,
    fn_name,
    handler,
    is_torch_leaf,
    own_forward,
    slice_crops,
    spec_of,
)
from .torch_meta import first_line, on_meta

__all__ = ["BATCH", "Converter", "trace"]


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
        conv = next(v._conv for v in flat((args, kwargs or {})) if isinstance(v, _Sym))
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


class _Converter(LayerReader):
    def __init__(self, module: Any, input_shape: Sequence[int]) -> None:
        import torch

        super().__init__(type(module).__name__)
        self.torch = torch
        self.root = module
        self.input_shape = tuple(int(s) for s in input_shape)
        self.param_count = 0

    # -- shapes of what is built so far ------------------------------------------------------
    def full_shape(self, ref: str) -> tuple[Any, ...]:
        return (BATCH, *self.shape(ref))

    # -- tracing -------------------------------------------------------------------------------
    def run(self) -> Graph:
        root = self.root
        modules = list(root.named_modules())
        self.qualnames = {id(m): name for name, m in modules}
        self.module_paths = set(self.qualnames.values())
        self.scope: list[str] = []
        self.param_count = sum({id(p): p.numel() for _, m in modules for p in m._parameters.values()
                                if p is not None}.values())
        x = _Sym(self.b.input(self.input_shape, name=self._name("input")), self)
        with _module_calls_redirected(), _stand_ins_only():
            try:
                result = root(x)
            except _Untraceable as exc:
                raise ModelError(f"{type(root).__name__}: {exc}") from None
            except ModelError:
                raise
            except Exception as exc:
                raise ModelError(f"{type(root).__name__}: cannot trace its forward ({type(exc).__name__}: "
                                 f"{first_line(exc)})") from None
        outputs = [v._ref for v in flat(result) if isinstance(v, _Sym)]
        g = self.b.build(outputs or None)
        g.notes = self._check_params(g)
        return g

    def call_module(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``module(*args)`` during the trace: a known layer becomes a node, a container is traced into."""
        qualname = self.qualnames.get(id(module), "") or snake_case(type(module).__name__)
        make = handler(type(module))
        if make is not None and own_forward(type(module)) and spec_of(module) is None:
            make = None  # e.g. a Conv2d subclass that pads in its forward: trace into it
        if make is not None:
            x = next(v for v in flat((args, kwargs)) if isinstance(v, _Sym))  # ``layer(x)`` or ``layer(input=x)``
            return _Sym(make(self, module, _unwrap(x), self._name(qualname)), self)
        if is_torch_leaf(module):
            return _wrap(self._opaque(self._name(qualname), type(module).__name__, module, _unwrap(args),
                                      _unwrap(kwargs), module), self)
        self.scope.append(self.qualnames.get(id(module), ""))
        try:
            return module.forward(*args, **kwargs)
        finally:
            self.scope.pop()

    def _prefix(self) -> str:
        """The module path that functions called now belong to, with a trailing dot (``""`` at the root)."""
        inner = next((name for name in reversed(self.scope) if name), "")
        return inner + "." if inner else ""

    def call(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A function or tensor method applied to traced tensors."""
        fn = fn_name(target)
        args, kwargs = _unwrap(args), _unwrap(kwargs)
        return _wrap(self._function(target, fn, args, kwargs), self)

    def _function(self, target: Any, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        b = self.b
        x: Any = args[0] if args else None
        if not any(isinstance(a, _Ref) for a in flat((args, kwargs))):  # e.g. torch.Tensor.size(x, 0) already done
            return target(*args, **kwargs) if callable(target) else getattr(x, target)(*args[1:], **kwargs)
        if fn in ("size", "dim"):
            shape = self.full_shape(x)
            if fn == "dim":
                return len(shape)
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            return shape if dim is None else shape[dim]
        name = self._name(self._prefix() + fn, function=True)
        if fn == "getitem" and isinstance(x, _Ref):
            return _Ref(self._slice(name, x, args[1]))
        if fn in ACTIVATION_FNS:
            return _Ref(b.activation(x, fn.rstrip("_"), name=name, type=f"F.{fn}"))
        if fn in IDENTITY_FNS:
            return _Ref(b.identity(x, name=name, type=fn))
        if fn in DROPOUT_FNS:
            return _Ref(b.dropout(x, name=name, type=f"F.{fn}"))
        if fn in ("add", "iadd", "sub", "isub", "mul", "imul", "truediv", "itruediv"):
            refs = [a for a in args[:2] if isinstance(a, _Ref)]
            if len(refs) < 2:
                return _Ref(b.identity(refs[0], name=name, type=fn))
            op = "mul" if fn in ("mul", "imul", "truediv", "itruediv") else "add"
            return _Ref(b.node(op, refs, name=name, type=fn))
        if fn in ("cat", "concat", "concatenate"):
            bound = bind("cat", args, kwargs)
            if len(bound["tensors"]) == 1:  # DenseNet's ``torch.cat([x], 1)``
                return _Ref(b.identity(bound["tensors"][0], name=name, type="cat"))
            return _Ref(b.concat(list(bound["tensors"]), axis=int(bound.get("dim", 0)), name=name, type="cat"))
        if fn == "pad":
            bound = bind("pad", args, kwargs)
            return _Ref(self._pad(name, x, bound["pad"], str(bound.get("mode", "constant")), "F.pad"))
        if fn.startswith(("max_pool", "avg_pool")) and fn[-2:] in ("1d", "2d", "3d"):
            kind = fn[:3]
            bound = bind("max_pool" if kind == "max" else "avg_pool", args, kwargs)
            return _Ref(b.pool(x, kind, bound["kernel_size"], bound.get("stride") or None, bound.get("padding", 0),
                               bound.get("dilation", 1), bool(bound.get("ceil_mode", False)),
                               count_include_pad=bool(bound.get("count_include_pad", True)), name=name,
                               type=f"F.{fn}"))
        if fn in ("conv1d", "conv2d", "conv3d", "linear") and not isinstance(args[1] if len(args) > 1 else
                                                                          kwargs.get("weight"), _Ref):
            return _Ref(self._weighted(name, x, fn, bind("linear" if fn == "linear" else "conv", args, kwargs)))
        if fn in ("batch_norm", "layer_norm", "group_norm", "instance_norm"):
            bound = bind(fn, args, kwargs)
            vectors = [v for v in (bound.get("weight"), bound.get("bias")) if v is not None]
            if not any(isinstance(v, _Ref) for v in vectors):  # timm's norm layers, with their own weights
                return _Ref(b.norm(x, fn.split("_")[0], len(vectors), stats=False,
                                   features=int(vectors[0].numel()) if vectors else None, name=name, type=f"F.{fn}"))
        if fn.startswith("adaptive_") and fn[-2:] in ("1d", "2d", "3d"):
            bound = bind("adaptive", args, kwargs)
            return _Ref(self._adaptive(name, x, fn[9:12], bound["output_size"], f"F.{fn}"))
        if fn in ("interpolate", "upsample"):
            bound = bind("interpolate", args, kwargs)
            return _Ref(self._upsample(name, x, bound.get("size"), bound.get("scale_factor"),
                                       str(bound.get("mode", "nearest")), bool(bound.get("align_corners")),
                                       "F.interpolate"))
        if fn == "flatten":
            bound = bind("flatten", args, kwargs)
            return _Ref(self._flatten(name, x, int(bound.get("start_dim", 0)), int(bound.get("end_dim", -1)),
                                      "flatten"))
        if fn in ("view", "reshape"):
            target = args[1:] if len(args) > 2 or not isinstance(args[1], (list, tuple)) else args[1]
            return _Ref(self._reshape(name, x, list(target), fn))
        if fn == "mean":
            bound = bind("mean", args, kwargs)
            dims = bound.get("dim")
            rank = len(self.full_shape(x))
            spatial = set(range(2, rank))
            if dims is not None and {d % rank for d in flat([dims])} == spatial:
                return _Ref(b.global_pool(x, "avg", bool(bound.get("keepdim", False)), name=name, type="mean"))
        return self._opaque(name, fn, target, args, kwargs, None)

    # -- layer helpers -----------------------------------------------------------------------------
    def _slice(self, name: str, x: str, index: Any) -> str:
        crops = slice_crops(self.full_shape(x), index)
        if crops is None:
            return str(self._opaque(name, "getitem", operator.getitem, (x, index), {}, None))
        return self.b.crop(x, crops, name=name, type="slice")

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
                out = on_meta(module, margs, mkwargs)
            elif isinstance(fn, str):  # a tensor method
                out = getattr(margs[0], fn)(*margs[1:], **mkwargs)
            else:
                out = fn(*margs, **mkwargs)
        except Exception as exc:
            raise ModelError(f"{name} ({type}): not understood and fails on meta tensors "
                             f"({type_name(exc)}: {first_line(exc)})") from None
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


_FREE = frozenset({"__get__", "size", "dim", "numel", "stride", "is_contiguous", "element_size", "nelement",
                   "is_floating_point", "is_complex", "get_device", "ndimension", "data_ptr", "__len__", "__hash__",
                   "__repr__", "__format__", "__bool__", "__index__", "__int__", "__float__", "tolist", "item"})


def _stand_ins_only() -> Any:
    """A ``TorchFunctionMode`` for the trace: torch functions on stand-ins go to their converter, and a
    computation on the model's real tensors (weight standardization, ``cls_token.expand``) stops the
    trace (the meta reader then reads the model): the stand-in trace never computes on weights."""
    import torch
    from torch.overrides import TorchFunctionMode

    class StandInsOnly(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            values = flat((args, kwargs))
            if any(type(v) is _Sym for v in values):
                return _Sym.__torch_function__(func, types, args, kwargs)
            if fn_name(func) not in _FREE and str(getattr(func, "__name__", "")) not in _FREE and any(
                    isinstance(v, torch.Tensor) and v.device.type != "meta" for v in values):
                raise _Untraceable(f"{fn_name(func)} computes on the model's own tensors, which the stand-in "
                                   "trace does not do")
            return func(*args, **kwargs)

    return StandInsOnly()


_PATCH_LOCK = threading.Lock()
_PATCH_USERS = 0
_ORIGINAL_CALL: Any = None


def _redirected_call(module: Any, *args: Any, **kwargs: Any) -> Any:
    """``nn.Module.__call__`` while a stand-in trace runs: calls on stand-ins go to their converter.

    Each stand-in knows its converter, so traces in several threads do not meet; calls on real
    tensors run as usual.
    """
    sym = next((v for v in flat((args, kwargs)) if type(v) is _Sym), None)
    if sym is None:
        return _ORIGINAL_CALL(module, *args, **kwargs)
    return sym._conv.call_module(module, args, kwargs)


@contextlib.contextmanager
def _module_calls_redirected() -> Iterator[None]:
    """Install :func:`_redirected_call` while at least one trace runs (counted, under a lock)."""
    import torch.nn as nn

    global _PATCH_USERS, _ORIGINAL_CALL
    with _PATCH_LOCK:
        if _PATCH_USERS == 0:
            _ORIGINAL_CALL = nn.Module.__call__
            nn.Module.__call__ = _redirected_call  # type: ignore[method-assign]
        _PATCH_USERS += 1
    try:
        yield
    finally:
        with _PATCH_LOCK:
            _PATCH_USERS -= 1
            if _PATCH_USERS == 0:
                nn.Module.__call__ = _ORIGINAL_CALL  # type: ignore[method-assign]


Converter = _Converter


def trace(module: Any, input_shape: Sequence[int]) -> Graph:
    """The graph of ``module`` for one input of ``input_shape`` per sample, by the stand-in trace.

    >>> import torch.nn as nn
    >>> trace(nn.Linear(4, 2), (4,)).nodes[-1].op
    'dense'
    """
    return _Converter(module, input_shape).run()
