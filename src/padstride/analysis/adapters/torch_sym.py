"""The fast torch reader: ``forward`` runs once on stand-in tensors (:class:`_Sym`); nothing is computed.

While it runs, a call of a module on a stand-in goes to the converter: known layers become IR
nodes from their attributes and are not run; other modules are traced into. Torch functions reach
the stand-in through ``__torch_function__``, tensor methods through attribute access, Python
operators through its dunder methods. Sizes are concrete as soon as they are asked for (the graph
is propagated as it grows), so Python code on shapes — ``if x.size(2) != skip.size(2): x =
F.pad(...)`` — simply runs, which ``torch.fx`` cannot trace.

The batch size is a symbol, :class:`_Batch` (``B``, or ``B·f`` once windows or heads are folded into
it); an op the IR has no node for runs once on ``meta`` tensors whose batch is a probe size, and the
probe's place in its output says where the batch went (``qkv.permute(2, 0, 3, 1, 4)`` moves it to
axis 1, ``x.reshape(-1, 7, 7, C)`` folds the windows into it). The model's own tensors (parameters,
buffers) and tensors ``forward`` makes (``torch.zeros(B, 1, C)``) become ``meta`` tensors when first
touched outside a known layer, carrying the parameters they hold; those are counted, once, in the
node where they meet the data (``cls_token.expand(B, -1, -1)`` in the ``cat``, a layer scale
``gamma`` in the ``mul``); parameters ``forward`` never uses are listed per module, as the meta reader
does. Anything it cannot follow (branching on tensor values, the batch size used as a number, an op
that fails on meta tensors) raises :class:`ModelError`; :mod:`.torch` then reads the model with
:mod:`.torch_meta`.

>>> import torch.nn as nn
>>> g = trace(nn.Sequential(nn.Conv2d(1, 8, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2)), (1, 28, 28))
>>> [(n.name, n.op) for n in g.nodes]
[('input', 'input'), ('0', 'conv'), ('1', 'activation'), ('2', 'pool')]
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import operator
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..builder import snake_case
from ..errors import ModelError
from ..ir import Graph
from .torch_composites import composite
from .torch_layers import (
    ACTIVATION_FNS,
    DROPOUT_FNS,
    IDENTITY_FNS,
    LayerReader,
    bind,
    flat,
    fn_name,
    handler,
    is_torch_leaf_class,
    own_forward,
    slice_crops,
    spec_of,
)
from .torch_meta import distinct, first_line, on_meta, walk
from .torch_shortcuts import broadcast, resized, shortcut

__all__ = ["BATCH", "Converter", "trace"]

#: The batch size of the meta runs: a prime no layer size is, so the batch is found in any output.
PROBE = 10007


class _Untraceable(ModelError):
    """A ``forward`` that needs tensor values or the batch size; reported with the model's name."""


class _Batch(int):
    """The batch size, unknown: ``B``, or ``B·factor`` where windows, heads or patches are folded into the batch.

    It multiplies and divides by whole numbers (``B * num_windows``, ``B_ // num_windows``); anything
    that needs its value (``int(B)``, ``B + 1``, ``B == 2``) stops the trace. It is an ``int`` whose
    value is the probe size, so that torch's argument parser takes it (``cls_token.expand(B, -1, -1)``)
    and the trace's mode sees it.

    >>> BATCH * 4, BATCH * 4 // 2, BATCH * 4 == BATCH * 4
    (B·4, B·2, True)
    """

    __slots__ = ()

    def __new__(cls, factor: int = 1) -> _Batch:
        return super().__new__(cls, PROBE * factor)

    @property
    def factor(self) -> int:
        return int.__floordiv__(self, PROBE)

    def __repr__(self) -> str:
        return "B" if self.factor == 1 else f"B·{self.factor}"

    __str__ = __repr__

    def _number(self, *_: Any) -> Any:
        raise _Untraceable("the batch size is used as a number, unknown to a static trace")

    def __mul__(self, other: Any) -> _Batch:
        if type(other) is int and other > 0:
            return _Batch(self.factor * other)
        return self._number()  # type: ignore[no-any-return]

    __rmul__ = __mul__

    def __floordiv__(self, other: Any) -> Any:
        if type(other) is _Batch and self.factor % other.factor == 0:
            return self.factor // other.factor  # windows per image: ``B_ // B``
        if type(other) is int and other > 0 and self.factor % other == 0:
            return _Batch(self.factor // other)
        if type(other) is float and other > 0 and other.is_integer() and self.factor % int(other) == 0:
            return _Batch(self.factor // int(other))
        return self._number()

    __truediv__ = __floordiv__

    def __eq__(self, other: object) -> bool:
        if type(other) is _Batch:
            return self.factor == other.factor
        return self._number()  # type: ignore[no-any-return]

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return int.__hash__(self)

    __add__ = __radd__ = __sub__ = __rsub__ = __mod__ = __rmod__ = __neg__ = __lt__ = __le__ = __gt__ = __ge__ = \
        __rfloordiv__ = __rtruediv__ = __pow__ = __rpow__ = __int__ = __float__ = __bool__ = __divmod__ = \
        __and__ = __or__ = __lshift__ = __rshift__ = _number


BATCH = _Batch()


def _is_batch(v: Any) -> bool:
    return type(v) is _Batch


class _Ref(str):
    """A tensor inside the converter: the name of the IR node that produces it."""


#: Where a tensor's batch is, when not plainly first: (size of axis 0, the batch's axis, its factor).
#: The node's shape is what a batch of one gives without axis 0, as a real forward shows it.
Layout = tuple[int, int, int]


class _Sym:
    """A tensor while ``forward`` runs: stands for IR node ``ref``; every op on it goes to the converter.

    Torch functions reach :meth:`__torch_function__`, tensor methods :meth:`__getattr__`, Python
    operators the dunder methods below. Sizes are concrete (the batch size is a :class:`_Batch`), so
    Python code on shapes simply runs; branching on tensor *values* cannot be traced.
    """

    __slots__ = ("_conv", "_ref")

    def __init__(self, ref: str, conv: _Converter) -> None:
        self._ref, self._conv = ref, conv

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        first = args[0] if args else None  # mostly ``f(x, ...)``: no walk of the arguments
        conv = first._conv if type(first) is _Sym else \
            next(v._conv for v in flat((args, kwargs or {})) if isinstance(v, _Sym))
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
        first = self._conv.full_shape(self._ref)[0]
        if _is_batch(first):
            raise _Untraceable(f"len() of a tensor ({self._ref}) is its batch size, unknown to a static trace")
        return int(first)

    def __iter__(self) -> Iterator[Any]:
        return iter([self._conv.call(operator.getitem, (self, i), {}) for i in range(len(self))])


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


def _tensor_method(name: str) -> Callable[..., Any]:
    def method(self: _Sym, *args: Any, **kwargs: Any) -> Any:
        return self._conv.call(name, (self, *args), kwargs)

    method.__name__ = method.__qualname__ = name
    return method


#: Tensor methods models call most, defined on the stand-in: what :meth:`_Sym.__getattr__` gives for them, without
#: the failed lookup before it (an ``AttributeError`` raised and caught per call).
_METHODS = (
    "view", "reshape", "permute", "transpose", "swapaxes", "flatten", "unflatten", "contiguous", "size", "dim",
    "numel", "mean", "sum", "amax", "amin", "max", "min", "std", "var", "norm", "chunk", "split", "unbind",
    "unsqueeze", "squeeze", "expand", "expand_as", "view_as", "reshape_as", "repeat", "flip", "roll", "movedim",
    "narrow", "softmax", "sigmoid", "sigmoid_", "tanh", "relu", "relu_", "exp", "sqrt", "rsqrt", "pow", "abs",
    "clamp", "clamp_", "clamp_min", "mul", "mul_", "add", "add_", "sub", "sub_", "div", "div_", "matmul",
    "masked_fill", "float", "type_as", "to", "clone", "detach", "new_zeros", "new_ones", "new_empty", "new_full",
    "new_tensor", "index_select", "gather")
for _name in _METHODS:
    setattr(_Sym, _name, _tensor_method(_name))


@functools.cache
def _tensor_facts() -> dict[str, Callable[[], Any]]:
    """What a stand-in answers for a tensor's plain attributes."""
    import torch

    return {"dtype": torch.get_default_dtype, "device": lambda: torch.device("cpu"), "requires_grad": lambda: False,
            "is_cuda": lambda: False, "is_sparse": lambda: False, "layout": lambda: torch.strided}


_ARITH = frozenset({"add", "iadd", "sub", "isub", "mul", "imul", "truediv", "itruediv", "div", "div_"})
_PRODUCT = frozenset({"mul", "imul", "truediv", "itruediv", "div", "div_"})


#: Argument types :meth:`_Converter._in` passes on as they are.
_PLAIN = frozenset({int, float, bool, str, type(None), _Batch})
#: The same without the batch (which a meta run takes as the probe size).
_SCALARS = _PLAIN - {_Batch}
#: The functions :meth:`_Converter._known` may make a node of (besides pools: ``max_pool2d``, ``adaptive_…``).
_KNOWN_FNS = _ARITH | ACTIVATION_FNS | IDENTITY_FNS | DROPOUT_FNS | frozenset({
    "conv1d", "conv2d", "conv3d", "linear", "batch_norm", "layer_norm", "group_norm", "instance_norm", "cat",
    "concat", "concatenate", "getitem", "pad", "interpolate", "upsample", "flatten", "view", "reshape", "mean"})


class _Converter(LayerReader):
    def __init__(self, module: Any, input_shape: Sequence[int], modules: list[tuple[str, Any]] | None = None) -> None:
        """``modules``: ``list(module.named_modules())``, when the caller has it."""
        import torch

        super().__init__(type(module).__name__)
        self.torch = torch
        self.root = module
        self.modules = modules
        self.input_shape = tuple(int(s) for s in input_shape)
        self.param_count = 0
        self.layout: dict[str, Layout] = {}  # refs whose batch is not plainly axis 0
        self.params: dict[int, tuple[int, bool]] = {}  # id(parameter) → (numel, trainable)
        self.owners: dict[int, str] = {}  # id(parameter) → the module that holds it
        self.counted: set[int] = set()  # parameters some node counts
        self.consts: dict[int, tuple[Any, Any]] = {}  # id(real tensor) → (it, its meta stand-in)
        self.carried: dict[int, tuple[Any, frozenset[int]]] = {}  # id(meta tensor) → (it, parameters it holds)

    # -- shapes of what is built so far ------------------------------------------------------
    def full_shape(self, ref: str) -> tuple[Any, ...]:
        """``ref``'s shape with the batch, as ``forward`` sees it (the batch a :class:`_Batch`)."""
        shape = self.shape(ref)
        lay = self.layout.get(ref)
        if lay is None:
            return (BATCH, *shape)
        first, axis, factor = lay
        if axis == 0:
            return (_Batch(factor), *shape)
        full: list[Any] = [first, *shape]
        full[axis] = _Batch(factor)
        return tuple(full)

    def _probe_shape(self, ref: str) -> tuple[int, ...]:
        if ref not in self.layout:  # batch first, unfolded: the common case
            return (PROBE, *self.shape(ref))
        return tuple(_probed(s) for s in self.full_shape(ref))

    def _lead(self, refs: Sequence[str]) -> int | None:
        """The batch factor all ``refs`` share with their batch on axis 0 (``None`` if they do not)."""
        if len(refs) == 1:  # the common case, without a set
            lay = self.layout.get(refs[0])
            return 1 if lay is None else None if lay[1] != 0 else lay[2]
        factors = set()
        for ref in refs:
            lay = self.layout.get(ref)
            if lay is not None and lay[1] != 0:
                return None
            factors.add(1 if lay is None else lay[2])
        return factors.pop() if len(factors) == 1 else None

    def _adopt(self, sizes: Sequence[int], what: str) -> tuple[tuple[int, ...], Layout | None]:
        """The node shape and layout of a meta output of ``sizes`` (the batch found by the probe)."""
        hits = [i for i, n in enumerate(sizes) if n and n % PROBE == 0]
        if len(hits) != 1:
            raise _Untraceable(f"{what}: its output {tuple(sizes)} has no single batch axis (batch probed as "
                               f"{PROBE})")
        axis, factor = hits[0], sizes[hits[0]] // PROBE
        one = [int(n) for n in sizes]
        one[axis] = factor  # a batch of one
        if axis == 0:
            return tuple(one[1:]), None if factor == 1 else (0, 0, factor)
        return tuple(one[1:]), (one[0], axis, factor)

    # -- the model's own tensors ----------------------------------------------------------------
    def const(self, t: Any) -> Any:
        """The meta stand-in of a real tensor (one per tensor); a parameter's carries itself."""
        hit = self.consts.get(id(t))
        if hit is not None and hit[0] is t:
            return hit[1]
        m = self.torch.empty(tuple(t.shape), dtype=t.dtype, device="meta")
        self.consts[id(t)] = (t, m)
        if id(t) in self.params:
            self.carried[id(m)] = (m, frozenset((id(t),)))
        return m

    def _held(self, value: Any) -> frozenset[int]:
        """The parameters the meta tensors in ``value`` (a flat list, or nested) carry that no node counts yet."""
        if not self.carried:
            return frozenset()
        held: set[int] = set()
        for t in value if type(value) is list else flat(value):
            hit = self.carried.get(id(t))
            if hit is not None and hit[0] is t:
                held |= hit[1]
        return frozenset(held - self.counted)

    def _take(self, value: Any) -> tuple[int, int]:
        """Count the parameters carried by ``value`` (once): (all, trainable)."""
        fresh = self._held(value)
        self.counted |= fresh
        return (sum(self.params[i][0] for i in fresh), sum(self.params[i][0] for i in fresh if self.params[i][1]))

    def _carry(self, out: Any, held: frozenset[int]) -> None:
        if held:
            torch = self.torch
            for t in flat(out):
                if isinstance(t, torch.Tensor):
                    self.carried[id(t)] = (t, held)

    def _metas(self, value: Any) -> Any:
        """Real tensors → their meta stand-ins, batch symbols → the probe size, inside lists, tuples, dicts."""
        torch = self.torch
        if isinstance(value, torch.Tensor):
            return value if value.device.type == "meta" else self.const(value)
        if _is_batch(value):
            return _probed(value)
        if isinstance(value, (list, tuple)):
            items = [self._metas(v) for v in value]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else type(value)(items)
        if isinstance(value, dict):
            return {k: self._metas(v) for k, v in value.items()}
        return value

    def const_call(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A torch function on no stand-in: run on meta tensors (the model's own ones swapped in), carrying
        their parameters; sizes holding the probe come back as batch symbols."""
        torch = self.torch
        values = flat((args, kwargs))
        probed = any(_is_batch(v) for v in values)
        if probed and not any(isinstance(v, torch.Tensor) for v in values):
            kwargs = {**kwargs, "device": "meta"}  # torch.zeros(B, 1, C): a factory sized by the batch
        args, kwargs = self._metas(args), self._metas(kwargs)
        held = self._held((args, kwargs))
        if fn_name(func) in ("to", "cpu", "cuda") and args and isinstance(args[0], torch.Tensor):
            args, kwargs = _on_meta_device(args, kwargs, torch)  # ``mask.to(weight.device)``: stays on meta
        with torch._C.DisableTorchFunction():
            out = shortcut(func, args, kwargs)
            if out is None:
                out = func(*args, **kwargs)
        self._carry(out, held)
        return _batched(out)

    # -- tracing -------------------------------------------------------------------------------
    def run(self) -> Graph:
        root = self.root
        modules = self.modules if self.modules is not None else distinct(walk(root))  # root.named_modules()
        self.qualnames = {id(m): name for name, m in modules}
        self.module_paths = set(self.qualnames.values())
        self.prefixes = [""]  # :meth:`_prefix` of the root, then of each module traced into, innermost last
        for path, m in modules:
            for p in m._parameters.values():
                if p is not None and id(p) not in self.params:
                    self.params[id(p)] = (p.numel(), bool(p.requires_grad))
                    self.owners[id(p)] = path
        self.param_count = sum(n for n, _ in self.params.values())
        if any(s % PROBE == 0 for s in self.input_shape):
            raise ModelError(f"{type(root).__name__}: an input size is a multiple of {PROBE}, the trace's batch probe")
        x = _Sym(self.b.input(self.input_shape, name=self._name("input")), self)
        with _module_calls_redirected([m for _, m in modules]), _stand_ins_only(self):
            try:
                result = root(x)
            except _Untraceable as exc:
                raise ModelError(f"{type(root).__name__}: {exc}") from None
            except ModelError:
                raise
            except Exception as exc:
                raise ModelError(f"{type(root).__name__}: cannot trace its forward ({type(exc).__name__}: "
                                 f"{first_line(exc)})") from None
        outputs = []
        for v in flat(result):
            if isinstance(v, self.torch.Tensor):
                raise ModelError(f"{type(root).__name__}: an output is made without the input")
            if isinstance(v, _Sym):
                if v._ref in self.layout:
                    raise ModelError(f"{type(root).__name__}: an output's batch is not its first axis "
                                     f"({self.full_shape(v._ref)})")
                outputs.append(v._ref)
        self._unused_params()
        g = self.b.build(outputs or None)
        g.notes = self._check_params(g)
        return g

    def call_module(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], sym: _Sym) -> Any:
        """``module(*args)`` during the trace (``sym``: its first stand-in argument): a known layer becomes a node,
        a container is traced into."""
        cls: Any = type(module)
        make, own, leaf, fused, _ = _dispatch(cls)
        inner = self.qualnames.get(id(module), "")
        if own and spec_of(module) is None:
            make = None  # e.g. a Conv2d subclass that pads in its forward: trace into it
        if make is not None:
            lay = self.layout.get(sym._ref)  # ``layer(x)``, also ``layer(input=x)``
            lead = 1 if lay is None else lay[2] if lay[1] == 0 else None
            if lead is not None and not module._modules:  # torch.nn layers: no children
                x = _Ref(sym._ref)
                params = module._parameters
                mine = [id(p) for p in params.values() if p is not None] if params else []
                if not mine or self.counted.isdisjoint(mine):
                    node = make(self, module, x, self._name(inner or snake_case(cls.__name__)))
                    self.counted.update(mine)
                else:  # called again (CoaT's shared convolutions): its parameters are counted where first used
                    node = self._again(make, module, x, self._name(inner or snake_case(cls.__name__)))
                if lead != 1:
                    self.layout[node] = (0, 0, lead)
                return _Sym(node, self)
        if make is not None or leaf:
            return _wrap(self._opaque(self._name(inner or snake_case(cls.__name__)), cls.__name__, module,
                                      self._in(args), self._in(kwargs), module), self)
        self.prefixes.append(inner + "." if inner else self.prefixes[-1])
        try:
            if fused is not None and len(args) == 1 and not kwargs and "forward" not in module.__dict__:
                out = fused(self, module, sym)  # a known composite: its nodes built directly
                if out is not None:
                    return out
            return module.forward(*args, **kwargs)
        finally:
            self.prefixes.pop()

    def child(self, module: Any, x: Any) -> Any:
        """``module(x)`` from a composite reader: straight to :meth:`call_module` where ``module.__call__`` would
        take it there (a stand-in, a module of the model, torch's own ``__call__``), else the real call."""
        cls: Any = type(module)
        if type(x) is _Sym and id(module) in self.qualnames and _dispatch(cls)[4]:
            return self.call_module(module, (x,), {}, x)
        return module(x)

    def fused_norm(self, x: _Sym, fn: str, weight: Any, bias: Any, rank: int | None = None) -> _Sym | None:
        """``F.<fn>(x, …, weight, bias)`` (a norm) on a layer's own parameters, recorded as a traced call records
        it; ``None`` where the trace must run it (the batch not plainly first, another ``rank`` than ``x``'s,
        weights that are no fresh parameters of the model: nothing is recorded then)."""
        ref = x._ref
        lead = self._lead([ref])
        if lead is None or (rank is not None and len(self.shape(ref)) + 1 != rank):
            return None
        params = self.params  # (tensor methods would go through the trace's torch-function mode: not asked)
        ids = [id(v) for v in (weight, bias) if v is not None]
        if not all(i in params for i in ids) or len(set(ids)) != len(ids) or self.counted.intersection(ids) or \
                len({params[i][0] for i in ids}) > 1:
            return None
        name = self._name(self._prefix() + fn, function=True)
        self.counted.update(ids)
        node = self.b.norm(_Ref(ref), fn.split("_")[0], len(ids), stats=False,
                           features=params[ids[0]][0] if ids else None, name=name, type=f"F.{fn}")
        if lead != 1:
            self.layout[node] = (0, 0, lead)
        return _Sym(node, self)

    def _again(self, make: Any, module: Any, x: str, name: str) -> str:
        """A known layer called a second time: an opaque node of the shape its handler gives, without parameters."""
        scratch = LayerReader(name)
        out = make(scratch, module, scratch.b.input(self.shape(x), name="x"), "layer")
        shape = scratch.b.propagated()[out].shape
        if shape is None:
            raise _Untraceable(f"{name}: a shared layer that does not fit its input")
        return self.b.opaque(x, shape, 0, 0, name=name, type=type(module).__name__)

    def _prefix(self) -> str:
        """The module path that functions called now belong to, with a trailing dot (``""`` at the root)."""
        return self.prefixes[-1]

    def _in(self, value: Any) -> Any:
        """Stand-ins → converter refs, real tensors → meta stand-ins, inside lists, tuples and dicts."""
        kind = type(value)
        if kind is _Sym:
            return _Ref(value._ref)
        if kind in _PLAIN:
            return value
        if kind is tuple or kind is list:
            items = [v if type(v) in _PLAIN else self._in(v) for v in value]
            return items if kind is list else tuple(items)
        if kind is dict:
            return {k: v if type(v) in _PLAIN else self._in(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._in(v) for v in value)
        if isinstance(value, dict):
            return {k: self._in(v) for k, v in value.items()}
        if isinstance(value, self.torch.Tensor) and value.device.type != "meta":
            return self.const(value)
        return value

    def call(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A function or tensor method applied to traced tensors."""
        try:
            fn, inplace, kind = _target(target)
        except TypeError:  # an unhashable callable
            fn, inplace, kind = _target.__wrapped__(target)
        if kind and args and type(args[0]) is _Sym:  # the commonest ops, without the general walk
            out = self._fast(kind, target, fn, args, kwargs)
            if out is not None:
                if inplace and type(out) is _Sym:
                    args[0]._ref = out._ref
                return out
        with self.torch._C.DisableTorchFunction():
            margs, mkwargs = self._in(args), self._in(kwargs)
            out = _wrap(self._function(target, fn, margs, mkwargs), self)
        if inplace and args and isinstance(args[0], _Sym) and isinstance(out, _Sym):
            args[0]._ref = out._ref  # an in-place op: the tensor is now its result
        return out

    def _fast(self, kind: int, target: Any, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """:meth:`call` of an op :func:`_target` marks common, on a stand-in ``args[0]`` with plain numbers
        beside it: the node :meth:`_known` would make; ``None`` (nothing recorded) for the general path."""
        x = args[0]._ref
        if kind == _META:
            return self._fast_meta(target, fn, x, args, kwargs)
        if kind == _PLAIN_CALL:
            return self._plain_call(target, fn, args, kwargs)
        if kind == _SIZE:
            if len(args) > 2 or (kwargs and (fn != "size" or kwargs.keys() - {"dim"})):
                return None
            dim = args[1] if len(args) > 1 else kwargs.get("dim")
            if (fn != "size" and dim is not None) or (dim is not None and type(dim) is not int):
                return None
            return self._size_query(x, fn, dim)
        lay = self.layout.get(x)
        lead = 1 if lay is None else lay[2] if lay[1] == 0 else 0
        if not lead:
            return None
        b = self.b
        if kind == _ARITH_OP:
            if len(args) != 2 or kwargs:
                return None
            other = args[1]
            kind_other = type(other)
            if kind_other is _Sym:
                y = other._ref
                lay = self.layout.get(y)
                if (1 if lay is None else lay[2] if lay[1] == 0 else 0) != lead or \
                        len(self.shape(x)) != len(self.shape(y)):
                    return None
                node = b.node("mul" if fn in _PRODUCT else "add", [_Ref(x), _Ref(y)],
                              name=self._name(self._prefix() + fn, function=True), type=fn)
            elif kind_other is int or kind_other is float:
                node = b.identity(_Ref(x), name=self._name(self._prefix() + fn, function=True), type=fn)
            else:
                return None
        else:
            for v in args[1:]:
                if type(v) not in _SCALARS:
                    return None
            for v in kwargs.values():
                if type(v) not in _SCALARS:
                    return None
            name = self._name(self._prefix() + fn, function=True)
            if kind == _ACTIVATION:
                node = b.activation(_Ref(x), fn.rstrip("_"), name=name, type=f"F.{fn}")
            elif kind == _IDENTITY:
                node = b.identity(_Ref(x), name=name, type=fn)
            else:
                node = b.dropout(_Ref(x), name=name, type=f"F.{fn}")
        if lead != 1:
            self.layout[node] = (0, 0, lead)
        return _Sym(node, self)

    def _function(self, target: Any, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        x: Any = args[0] if args else None
        values = flat((args, kwargs))
        refs = [a for a in values if type(a) is _Ref]
        if not refs:  # e.g. torch.Tensor.size(x, 0) already done
            method = getattr(type(x), target) if isinstance(target, str) else target
            return self.const_call(method, args, kwargs)
        if fn in ("size", "dim", "numel") and isinstance(x, _Ref):
            return self._size_query(x, fn, args[1] if len(args) > 1 else kwargs.get("dim"))
        if fn.startswith("new_") or (fn in ("type_as", "to") and not isinstance(x, _Ref)):
            return self._made_like(target, fn, args, kwargs, values)
        name = self._name(self._prefix() + fn, function=True)
        lead = self._lead(refs)
        node = None if lead is None else self._known(name, fn, x, refs, args, kwargs, values)
        if node is None or lead is None:
            return self._opaque(name, fn, target, args, kwargs, None, values)
        if lead != 1:
            self.layout[node] = (0, 0, lead)  # a layer on windows folded into the batch keeps them there
        return _Ref(node)

    def _size_query(self, ref: str, fn: str, dim: Any) -> Any:
        """``x.size(dim)`` (``x.size()`` where ``dim`` is ``None``), ``x.dim()`` or ``x.numel()`` of stand-in ``ref``,
        the batch a :class:`_Batch`."""
        shape = self.full_shape(ref)
        if fn == "dim":
            return len(shape)
        if fn == "numel":
            return math.prod(shape[1:]) * shape[0]
        return shape if dim is None else shape[dim]

    def _plain_call(self, target: Any, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Any other op on one stand-in ``args[0]`` whose other arguments are plain numbers, strings or flat
        tuples of them (``x.mean((2, 3), keepdim=True)``, ``F.pad(x, (1, 1, 1, 1))``, ``x.view(B, -1)``): what
        :meth:`_function` does, without converting and walking the arguments; ``None``: the general path."""
        plain = _PLAIN
        for v in args[1:]:
            kind = type(v)
            if kind not in plain and not ((kind is tuple or kind is list) and all(type(i) in plain for i in v)):
                return None
        for v in kwargs.values():
            kind = type(v)
            if kind not in plain and not ((kind is tuple or kind is list) and all(type(i) in plain for i in v)):
                return None
        x = _Ref(args[0]._ref)
        margs = (x, *args[1:])
        with self.torch._C.DisableTorchFunction():
            name = self._name(self._prefix() + fn, function=True)
            lead = self._lead([x])
            node = None if lead is None else self._known(name, fn, x, [x], margs, kwargs, [x])
            if node is None or lead is None:
                return _wrap(self._opaque(name, fn, target, margs, kwargs, None, []), self)
        if lead != 1:
            self.layout[node] = (0, 0, lead)
        return _Sym(node, self)

    def _fast_meta(self, target: Any, fn: str, x: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """An op the IR has no node for on one stand-in with numbers (``x.permute(0, 2, 1)``, ``x.chunk(3, -1)``):
        the opaque nodes :meth:`_opaque` makes, without its walk of the arguments; ``None``: the general path."""
        margs: list[Any] = [None]
        for v in args[1:]:
            kind = type(v)
            if kind in _SCALARS:
                margs.append(v)
            elif kind is _Batch:
                margs.append(_probed(v))
            elif (kind is tuple or kind is list) and all(type(i) is int for i in v):
                margs.append(v)
            else:
                return None
        for v in kwargs.values():
            if type(v) not in _SCALARS:
                return None
        name = self._name(self._prefix() + fn, function=True)
        probe = self._probe_shape(x)
        sizes = resized(fn, probe, margs, kwargs)
        if sizes is not None:  # the shape rule torch's meta kernel applies, without a meta tensor
            if type(sizes) is list:
                return tuple(_Sym(r, self) for r in self._opaque_nodes(name, fn, [_Ref(x)], sizes, frozenset(), None))
            return _Sym(self._opaque_nodes(name, fn, [_Ref(x)], [sizes], frozenset(), None)[0], self)
        torch = self.torch
        method = getattr(torch.Tensor, target) if isinstance(target, str) else target
        with torch._C.DisableTorchFunction():  # also while the output's sizes are read
            try:
                margs[0] = torch.empty(probe, device="meta")
                out = method(*margs, **kwargs)
            except Exception as exc:
                raise ModelError(f"{name} ({fn}): not understood and fails on meta tensors "
                                 f"({type_name(exc)}: {first_line(exc)})") from None
            return _wrap(self._kept(name, fn, [_Ref(x)], out, frozenset(), None), self)

    def _made_like(self, target: Any, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                   values: list[Any]) -> Any:
        """``x.new_zeros(H, W)``, ``scale.type_as(x)``: a tensor of the model's; the traced one gives only its dtype."""
        torch = self.torch

        def meta(v: Any) -> Any:
            if type(v) is _Ref:
                return torch.empty(self._probe_shape(v), device="meta")
            if isinstance(v, (list, tuple)):
                return type(v)(meta(i) for i in v)
            return v

        method = getattr(torch.Tensor, target) if isinstance(target, str) else target
        return self.const_call(method, meta(args), {k: meta(v) for k, v in kwargs.items()})

    def _known(self, name: str, fn: str, x: Any, refs: list[_Ref], args: tuple[Any, ...], kwargs: dict[str, Any],
               values: list[Any]) -> str | None:
        """The IR node of an op the IR models, on batch-first tensors; ``None`` where only a meta run is exact."""
        if fn not in _KNOWN_FNS and not fn.startswith(("max_pool", "avg_pool", "adaptive_")):
            return None  # an op the IR has no node for (``permute``, ``matmul``…): a meta run
        b = self.b
        held = self._held(values)
        if fn in _ARITH and len(args) >= 2:
            return self._arith(name, fn, args[:2], held)
        if fn in ("conv1d", "conv2d", "conv3d", "linear") and isinstance(x, _Ref) and len(refs) == 1:
            return self._weighted_fn(name, x, fn, args, kwargs)
        if fn in ("batch_norm", "layer_norm", "group_norm", "instance_norm") and isinstance(x, _Ref) and \
                len(refs) == 1:
            return self._norm_fn(name, x, fn, args, kwargs)
        if fn in ("cat", "concat", "concatenate"):
            return self._cat(name, args, kwargs)
        if held or not isinstance(x, _Ref) or len(refs) > 1:
            return None
        if any(isinstance(v, self.torch.Tensor) for v in values):
            return None  # a tensor of the model's among the arguments: a meta run says what it does
        if fn == "getitem":
            crops = slice_crops(self.full_shape(x), args[1])
            return None if crops is None else b.crop(x, crops, name=name, type="slice")
        if fn in ACTIVATION_FNS:
            return b.activation(x, fn.rstrip("_"), name=name, type=f"F.{fn}")
        if fn in IDENTITY_FNS:
            return b.identity(x, name=name, type=fn)
        if fn in DROPOUT_FNS:
            return b.dropout(x, name=name, type=f"F.{fn}")
        if fn == "pad":
            bound = bind("pad", args, kwargs)
            if len(bound["pad"]) // 2 > len(self.shape(x)) - 1:
                return None  # pads the channels too (a channels-last tensor)
            return self._pad(name, x, bound["pad"], str(bound.get("mode", "constant")), "F.pad")
        if fn.startswith(("max_pool", "avg_pool")) and fn[-2:] in ("1d", "2d", "3d"):
            kind = fn[:3]
            bound = bind("max_pool" if kind == "max" else "avg_pool", args, kwargs)
            if bound.get("return_indices") or bound.get("divisor_override"):
                return None
            return b.pool(x, kind, bound["kernel_size"], bound.get("stride") or None, bound.get("padding", 0),
                          bound.get("dilation", 1), bool(bound.get("ceil_mode", False)),
                          count_include_pad=bool(bound.get("count_include_pad", True)), name=name, type=f"F.{fn}")
        if fn.startswith("adaptive_") and fn[-2:] in ("1d", "2d", "3d"):
            bound = bind("adaptive", args, kwargs)
            if bound.get("return_indices"):
                return None
            return self._adaptive(name, x, fn[9:12], bound["output_size"], f"F.{fn}")
        if fn in ("interpolate", "upsample"):
            bound = bind("interpolate", args, kwargs)
            return self._upsample(name, x, bound.get("size"), bound.get("scale_factor"),
                                  str(bound.get("mode", "nearest")), bool(bound.get("align_corners")),
                                  "F.interpolate")
        if fn == "flatten":
            bound = bind("flatten", args, kwargs)
            rank = len(self.shape(x)) + 1
            if int(bound.get("start_dim", 0)) % rank == 0:
                return None  # folds the batch
            return self._flatten(name, x, int(bound.get("start_dim", 0)), int(bound.get("end_dim", -1)), "flatten")
        if fn in ("view", "reshape") and len(args) >= 2:
            target = list(args[1:] if len(args) > 2 or not isinstance(args[1], (list, tuple)) else args[1])
            return self._reshape(name, x, target, fn)
        if fn == "mean":
            bound = bind("mean", args, kwargs)
            dims, rank = bound.get("dim"), len(self.shape(x)) + 1
            if dims is not None and all(isinstance(d, int) for d in flat([dims])) and \
                    {d % rank for d in flat([dims])} == set(range(2, rank)):
                return b.global_pool(x, "avg", bool(bound.get("keepdim", False)), name=name, type="mean")
        return None

    # -- layer helpers -----------------------------------------------------------------------------
    def _arith(self, name: str, fn: str, pair: tuple[Any, ...], held: frozenset[int]) -> str | None:
        """``+ - * /`` of a traced tensor with another, a number or a tensor of the model's (a layer scale)."""
        torch = self.torch
        refs = [a for a in pair if isinstance(a, _Ref)]
        if len(refs) == 2:
            if len(self.shape(refs[0])) != len(self.shape(refs[1])):
                return None  # broadcast across ranks: a meta run says what comes out
            return self.b.node("mul" if fn in _PRODUCT else "add", refs, name=name, type=fn)
        other = pair[1] if isinstance(pair[0], _Ref) else pair[0]
        x = refs[0]
        if isinstance(other, torch.Tensor):
            full = self._probe_shape(x)
            if broadcast(full, tuple(other.shape)) != full:
                return None
        elif not isinstance(other, (int, float)) or isinstance(other, bool):
            return None
        if not held:
            return self.b.identity(x, name=name, type=fn)
        params, trainable = self._take(other)
        return self.b.opaque(x, self.shape(x), params, trainable, name=name, type=fn)

    def _vectors_counted(self, vectors: list[Any]) -> bool:
        """Whether ``vectors`` (a layer's weights) are parameters no node counts yet, whole; if so, count them."""
        fresh = self._held(vectors)
        if sum(self.params[i][0] for i in fresh) != sum(int(v.numel()) for v in vectors):
            return False
        self.counted |= fresh
        return True

    def _weighted_fn(self, name: str, x: str, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        bound = bind("linear" if fn == "linear" else "conv", args, kwargs)
        w, bias = bound.get("weight"), bound.get("bias")
        others = [v for k, v in bound.items() if k not in ("input", "weight", "bias")]
        if w is None or any(isinstance(v, self.torch.Tensor) for v in flat(others)) or \
                not self._vectors_counted([v for v in (w, bias) if v is not None]):
            return None  # weights of a buffer, computed from several parameters, or shared: a meta run counts them
        return self._weighted(name, x, fn, bound)

    def _norm_fn(self, name: str, x: str, fn: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        bound = bind(fn, args, kwargs)
        vectors = [v for v in (bound.get("weight"), bound.get("bias")) if v is not None]
        if len({int(v.numel()) for v in vectors}) > 1 or not self._vectors_counted(vectors):
            return None
        return self.b.norm(x, fn.split("_")[0], len(vectors), stats=False,
                           features=int(vectors[0].numel()) if vectors else None, name=name, type=f"F.{fn}")

    def _cat(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
        bound = bind("cat", args, kwargs)
        tensors = bound["tensors"]
        dim = bound.get("dim", bound.get("axis", 0))
        if not isinstance(tensors, (list, tuple)) or not all(type(t) is _Ref for t in tensors) or \
                not isinstance(dim, int) or dim % (len(self.shape(tensors[0])) + 1) == 0:
            return None  # a tensor of the model's among them, or along the batch: a meta run
        if len(tensors) == 1:  # DenseNet's ``torch.cat([x], 1)``
            return self.b.identity(tensors[0], name=name, type="cat")
        return self.b.concat(list(tensors), axis=dim, name=name, type="cat")

    def _reshape(self, name: str, x: str, target: list[Any], type: str) -> str | None:
        if not target or not all(_is_batch(t) or (isinstance(t, int) and not isinstance(t, bool)) for t in target):
            return None
        first, rest = target[0], target[1:]
        if any(_is_batch(t) for t in rest):
            return None  # moves the batch: a meta run says where
        lead = self.layout.get(x, (0, 0, 1))[2]
        if _is_batch(first):
            return self.b.reshape(x, rest, name=name, type=type) if first.factor == lead else None
        if first == -1 and lead == 1 and -1 not in rest:
            total, known = math.prod(self.shape(x)), math.prod(rest)
            if known and total != known and total % known == 0:
                return None  # folds windows into the batch: a meta run follows it
            return self.b.reshape(x, rest, batch_absorbing=True, name=name, type=type)
        return None

    def _opaque(self, name: str, type_: str, fn: Any, args: Any, kwargs: dict[str, Any], module: Any,
                values: list[Any] | None = None) -> Any:
        """Run one op on meta tensors (the batch a probe size) and keep it as opaque nodes, one per output tensor."""
        torch = self.torch
        refs: list[str] = []

        def meta(v: Any) -> Any:
            kind = type(v)
            if kind in _SCALARS:
                return v
            if kind is _Ref:
                refs.append(v)
                return torch.empty(self._probe_shape(v), device="meta")
            if kind is _Batch:
                return _probed(v)
            if isinstance(v, (list, tuple)):
                return (list if isinstance(v, list) else tuple)([meta(i) for i in v])
            return v

        margs, mkwargs = meta(args), {k: meta(v) for k, v in kwargs.items()}
        held = self._held(flat((args, kwargs)) if values is None else values)
        with torch._C.DisableTorchFunction():  # also while the output's sizes are read
            try:
                if module is not None:
                    out = on_meta(module, margs, mkwargs)
                else:
                    method = getattr(torch.Tensor, fn) if isinstance(fn, str) else fn
                    out = shortcut(method, margs, mkwargs)
                    if out is None:
                        out = method(*margs, **mkwargs)
            except Exception as exc:
                raise ModelError(f"{name} ({type_}): not understood and fails on meta tensors "
                                 f"({type_name(exc)}: {first_line(exc)})") from None
            return self._kept(name, type_, refs, out, held, module)

    def _kept(self, name: str, type_: str, refs: list[str], out: Any, held: frozenset[int], module: Any) -> Any:
        """The opaque nodes of what a meta run of ``refs`` gave (``out``), one per output tensor (torch functions
        disabled by the caller: the sizes are read as they are)."""
        torch = self.torch
        outs = [o for o in out if o is not None] if isinstance(out, (tuple, list)) else [out]
        sizes = [tuple(o.shape) if isinstance(o, torch.Tensor) else None for o in outs]
        if not outs or any(size is None for size in sizes):
            raise ModelError(f"{name} ({type_}): not understood (returns {type_name(out)}, not tensors)")
        made = self._opaque_nodes(name, type_, refs, sizes, held, module)  # type: ignore[arg-type]
        if not isinstance(out, (tuple, list)):
            return made[0]
        them = iter(made)  # ``(attn_output, None)``: the Nones stay
        return (list if isinstance(out, list) else tuple)(None if o is None else next(them) for o in out)

    def _opaque_nodes(self, name: str, type_: str, refs: list[str], sizes: list[tuple[int, ...]],
                      held: frozenset[int], module: Any) -> list[_Ref]:
        """One opaque node per output of probed ``sizes``, the first holding the parameters counted here."""
        if len(sizes) >= PROBE:
            raise _Untraceable(f"{name} ({type_}): splits the batch")
        shaped = [self._adopt(size, f"{name} ({type_})") for size in sizes]
        params = trainable = 0
        if held:
            self.counted |= held
            params = sum(self.params[i][0] for i in held)
            trainable = sum(self.params[i][0] for i in held if self.params[i][1])
        if module is not None:
            mine = [p for p in module.parameters() if id(p) not in self.counted]
            self.counted.update(id(p) for p in mine)
            params += sum(p.numel() for p in mine)
            trainable += sum(p.numel() for p in mine if p.requires_grad)
        made = []
        for i, (shape, lay) in enumerate(shaped):  # chunk, split, unbind: the first holds the params
            node = self.b.opaque(refs, shape, params if i == 0 else 0, trainable if i == 0 else 0,
                                 name=name if i == 0 else self._name(f"{name}_{i}"), type=type_)
            if lay is not None:
                self.layout[node] = lay
            made.append(_Ref(node))
        return made

    def _unused_params(self) -> None:
        """Parameters ``forward`` never used, one node per module that holds them (the total stays torch's)."""
        owners: dict[str, list[int]] = {}
        for i in self.params:
            if i not in self.counted:
                owners.setdefault(self.owners[i], []).append(i)
        first = self.b.nodes[0]
        for owner, ids in owners.items():
            self.counted.update(ids)
            self.b.opaque(first.name, first.attrs["shape"], sum(self.params[i][0] for i in ids),
                          sum(self.params[i][0] for i in ids if self.params[i][1]),
                          name=self._name(f"{owner or 'model'}.unused"), type="parameters unused by forward")

    def _check_params(self, g: Graph) -> tuple[str, ...]:
        counted = sum(i.params for i in self.b.propagated(g).values())
        actual = self.param_count
        if counted == actual:
            return ()
        return (f"{g.name}: the model holds {actual:,} parameters, the recognised layers {counted:,}",)


@functools.lru_cache(maxsize=4096)  # bounded: torch.fx makes a class per model
def _dispatch(cls: Any) -> tuple[Any, bool, bool, Any, bool]:
    """What a call of a module of class ``cls`` does, decided once per class: (its handler, whether it overrides
    the handled layer's ``forward``, whether it is a ``torch.nn`` layer kept whole, the reader of its ``forward``
    where that is a known composite, whether its ``__call__`` is ``nn.Module``'s)."""
    import torch.nn as nn

    make = handler(cls)
    return make, make is not None and own_forward(cls), is_torch_leaf_class(cls), composite(cls), \
        cls.__call__ is nn.Module.__call__


_SIZE, _ARITH_OP, _ACTIVATION, _IDENTITY, _DROPOUT, _META, _PLAIN_CALL = 1, 2, 3, 4, 5, 6, 7
#: Ops the IR has no node for that :meth:`_Converter._fast_meta` runs on meta tensors (none has a shortcut).
_META_OPS = frozenset({"permute", "transpose", "swapaxes", "movedim", "unsqueeze", "squeeze", "expand", "unbind",
                       "chunk", "split", "unflatten"})


@functools.lru_cache(maxsize=4096)  # bounded: models may make functions per call
def _target(target: Any) -> tuple[str, bool, int]:
    """A traced call's target, decided once: (its :func:`fn_name`, whether it works in place, which fast path
    of :meth:`_Converter._fast` it may take, 0 for none)."""
    fn = fn_name(target)
    raw = target if isinstance(target, str) else str(getattr(target, "__name__", ""))
    inplace = raw.endswith("_") and not raw.startswith("__")
    kind = _SIZE if fn in ("size", "dim", "numel") else _ARITH_OP if fn in _ARITH else \
        _ACTIVATION if fn in ACTIVATION_FNS else _IDENTITY if fn in IDENTITY_FNS else \
        _DROPOUT if fn in DROPOUT_FNS else _META if fn in _META_OPS else 0 if fn.startswith("new_") else _PLAIN_CALL
    return fn, inplace, kind


def type_name(obj: Any) -> str:
    return type(obj).__name__


def _probed(v: Any) -> int:
    return int.__int__(v)


def _batched(value: Any) -> Any:
    """Sizes of meta tensors with the batch probe in them → batch symbols (``torch.Size`` → tuple)."""
    if type(value) is int:
        return _Batch(value // PROBE) if value and value % PROBE == 0 else value
    if isinstance(value, tuple) and value and all(type(v) is int for v in value) and \
            any(v and v % PROBE == 0 for v in value):
        return tuple(_batched(v) for v in value)
    return value


def _on_meta_device(args: tuple[Any, ...], kwargs: dict[str, Any], torch: Any) -> tuple[tuple[Any, ...],
                                                                                       dict[str, Any]]:
    """The arguments of ``Tensor.to`` / ``.cpu()`` / ``.cuda()`` without a move off the meta device."""
    kept = tuple(a for a in args[1:] if not isinstance(a, (torch.device, str, int)) or isinstance(a, bool))
    return (args[0], *kept), {k: v for k, v in kwargs.items() if k not in ("device", "non_blocking", "copy")}


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


_FREE = frozenset({"size", "dim", "numel", "stride", "is_contiguous", "element_size", "nelement",
                   "is_floating_point", "is_complex", "get_device", "ndimension", "data_ptr", "__len__", "__hash__",
                   "__repr__", "__format__", "__bool__", "__index__", "__int__", "__float__", "tolist", "item"})


def _stand_ins_only(conv: _Converter) -> Any:
    """A ``TorchFunctionMode`` for the trace: torch functions on stand-ins go to their converter; any other
    runs on meta tensors, the model's own tensors swapped for meta stand-ins that carry their parameters
    (the stand-in trace never computes on weights)."""
    import torch
    from torch.overrides import TorchFunctionMode

    class StandInsOnly(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            if args and type(args[0]) is _Sym:  # the common case, without a walk of the arguments
                return args[0]._conv.call(func, tuple(args), kwargs)
            values = flat((args, kwargs))
            for v in values:
                if type(v) is _Sym:
                    return v._conv.call(func, tuple(args), kwargs)
            raw = str(getattr(func, "__name__", ""))
            if raw in _FREE or fn_name(func) in _FREE or (raw == "__get__" and not _tensor_property(func)):
                out = func(*args, **kwargs)
                return _batched(out) if any(isinstance(v, torch.Tensor) and v.device.type == "meta"
                                            for v in values) else out
            if not any(isinstance(v, torch.Tensor) or _is_batch(v) for v in values):
                return func(*args, **kwargs)
            return conv.const_call(func, tuple(args), dict(kwargs))

    return StandInsOnly()


def _tensor_property(func: Any) -> bool:
    """Whether a property getter returns a tensor (``.T``, ``.mT``, ``.real``), not metadata (``.shape``)."""
    owner = getattr(func, "__self__", None)
    return str(getattr(owner, "__name__", "")) in ("T", "mT", "H", "mH", "real", "imag", "data", "grad")


_PATCH_LOCK = threading.Lock()
_SHARED: dict[int, int] = {}  # id(module) → how many more traces use its redirect (modules read by several at once)
_CLASS_USERS = 0
_ORIGINAL_CALL: Any = None
_OWN_NONE = object()
_KEY = "_compiled_call_impl"


def _instance_call(module: Any, own: Any, *args: Any, **kwargs: Any) -> Any:
    """A module's call while a stand-in trace runs: calls on stand-ins go to their converter.

    Each stand-in knows its converter, so traces in several threads do not meet; calls on real
    or meta tensors run as usual. ``own``: the instance's own ``_compiled_call_impl`` (``_OWN_NONE``: none).
    """
    sym = args[0] if args and type(args[0]) is _Sym else next((v for v in flat((args, kwargs)) if type(v) is _Sym),
                                                              None)
    if sym is not None:
        return sym._conv.call_module(module, args, kwargs, sym)
    if own is not None and own is not _OWN_NONE:
        return own(*args, **kwargs)
    return module._call_impl(*args, **kwargs)


def _redirected_call(module: Any, *args: Any, **kwargs: Any) -> Any:
    """``nn.Module.__call__`` for a torch whose modules have no ``_compiled_call_impl`` slot (torch < 2.2)."""
    sym = next((v for v in flat((args, kwargs)) if type(v) is _Sym), None)
    if sym is None:
        return _ORIGINAL_CALL(module, *args, **kwargs)
    return sym._conv.call_module(module, args, kwargs, sym)


def _ours(impl: Any) -> bool:
    """Whether a ``_compiled_call_impl`` is a redirect a running trace installed."""
    return type(impl) is functools.partial and impl.func is _instance_call


@contextlib.contextmanager
def _module_calls_redirected(modules: Sequence[Any]) -> Iterator[None]:
    """Route the calls of ``modules`` to :func:`_instance_call` while at least one trace runs (counted, under a lock).

    Torch's ``Module.__call__`` calls an instance's ``_compiled_call_impl`` where it is set; setting
    it per instance leaves the class alone (assigning ``nn.Module.__call__`` makes CPython drop the
    attribute caches of every ``nn.Module`` subclass loaded, about 1 ms with timm imported). A module
    another trace already redirects keeps that redirect; the last trace to end puts back what was there.
    """
    import torch.nn as nn

    global _CLASS_USERS, _ORIGINAL_CALL
    per_instance = _KEY in vars(nn.Module)
    owns: list[Any] = []  # per module, what its ``_compiled_call_impl`` was (``_OWN_NONE``: not set)
    dicts: list[dict[str, Any]] = []
    plain = False
    with _PATCH_LOCK:
        if not per_instance:
            if _CLASS_USERS == 0:
                _ORIGINAL_CALL = nn.Module.__call__
                nn.Module.__call__ = _redirected_call  # type: ignore[method-assign]
            _CLASS_USERS += 1
        else:
            partial, call, shared = functools.partial, _instance_call, _SHARED
            dicts = [m.__dict__ for m in modules]
            owns = [attrs.get(_KEY, _OWN_NONE) for attrs in dicts]
            plain = all(map(operator.is_, owns, itertools.repeat(_OWN_NONE)))  # the common case: no redirect yet
            for m, attrs, own in zip(modules, dicts, owns, strict=True):
                if not plain and _ours(own):
                    shared[id(m)] = shared.get(id(m), 0) + 1
                else:
                    attrs[_KEY] = partial(call, m, own)
    try:
        yield
    finally:
        with _PATCH_LOCK:
            if not per_instance:
                _CLASS_USERS -= 1
                if _CLASS_USERS == 0:
                    nn.Module.__call__ = _ORIGINAL_CALL  # type: ignore[method-assign]
            elif plain and not _SHARED:  # no other trace ran through these modules: drop the redirects
                for attrs in dicts:
                    attrs.pop(_KEY, None)
            else:
                shared = _SHARED
                for m, own in zip(modules, owns, strict=True):
                    if shared:
                        users = shared.get(id(m))
                        if users:  # another trace still runs through it
                            if users == 1:
                                del shared[id(m)]
                            else:
                                shared[id(m)] = users - 1
                            continue
                    if _ours(own):  # it was another trace's, which ended first
                        own = own.args[1]
                    if own is _OWN_NONE:
                        m.__dict__.pop(_KEY, None)
                    else:
                        m.__dict__[_KEY] = own


Converter = _Converter


def trace(module: Any, input_shape: Sequence[int]) -> Graph:
    """The graph of ``module`` for one input of ``input_shape`` per sample, by the stand-in trace.

    >>> import torch.nn as nn
    >>> trace(nn.Linear(4, 2), (4,)).nodes[-1].op
    'dense'
    """
    return _Converter(module, input_shape).run()
