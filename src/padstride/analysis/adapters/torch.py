"""``torch.nn.Module`` → graph IR, by ``torch.fx`` symbolic tracing: no tensor is ever computed.

Standard layers (``nn.Conv*``, pools, ``ConvTranspose*``, ``Upsample``, pads, ``Flatten``,
``Linear``, norms, activations, dropout) become IR nodes from their attributes; ``F.pad``,
``F.max_pool*``/``F.avg_pool*``, ``F.interpolate``, ``torch.cat``, ``+``/``*``, ``flatten``,
``view``/``reshape``, ``mean`` over the spatial axes and slicing crops are understood in
``forward``. Layers whose padding is a :class:`padstride.geometry.Padding` (attribute
``padding_spec`` or ``spec``, as padstride's own torch layers have) use it. Anything else is
evaluated on the ``meta`` device (shapes only) and kept as an opaque node.

>>> import torch.nn as nn
>>> net = nn.Sequential(nn.Conv2d(1, 8, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2))
>>> g = graph_from_torch(net, (1, 28, 28))
>>> [(n.name, n.op) for n in g.nodes]
[('input', 'input'), ('0', 'conv'), ('1', 'activation'), ('2', 'pool')]
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from ...geometry import Padding
from ..builder import GraphBuilder, snake_case
from ..ir import Graph
from ..load import ModelError

__all__ = ["graph_from_torch"]


class _Batch:
    """The batch size: unknown, carried through ``x.size(0)`` and friends."""

    def __repr__(self) -> str:
        return "B"


BATCH = _Batch()


class _Ref(str):
    """A tensor: the name of the IR node that produces it."""


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
        self.values: dict[str, Any] = {}
        self.used: set[str] = set()
        self.state: Any = None

    # -- shapes of what is built so far ------------------------------------------------------
    def shape(self, ref: str) -> tuple[int, ...]:
        from ..propagate import new_state, propagate

        graph = self.b.build(ref)
        if self.state is None:
            self.state = new_state(graph)
        info = propagate(graph, self.state)[ref]
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
        import torch.fx as fx

        known = _module_handlers()

        class Tracer(fx.Tracer):
            def is_leaf_module(self, m: Any, qualname: str) -> bool:
                return isinstance(m, tuple(known)) or super().is_leaf_module(m, qualname)

        if isinstance(self.root, tuple(known)):
            from collections import OrderedDict

            named: OrderedDict[str, Any] = OrderedDict([(snake_case(type(self.root).__name__), self.root)])
            self.root = self.torch.nn.Sequential(named)
        try:
            graph = Tracer().trace(self.root)
        except Exception as exc:
            raise ModelError(f"{type(self.root).__name__}: torch.fx cannot trace it ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        self.modules = dict(self.root.named_modules())
        outputs: list[str] = []
        placeholders = 0
        for node in graph.nodes:
            if node.op == "placeholder":
                if placeholders:
                    raise ModelError(f"{type(self.root).__name__}: only models with one tensor input are supported")
                placeholders += 1
                self.values[node.name] = _Ref(self.b.input(self.input_shape, name=self._name("input")))
            elif node.op == "output":
                outputs = [str(v) for v in _flat(self._eval(node.args[0])) if isinstance(v, _Ref)]
            elif node.op == "get_attr":
                self.values[node.name] = _fetch(self.root, str(node.target))
            else:
                args, kwargs = self._eval(node.args), self._eval(node.kwargs)
                self.values[node.name] = self._convert(node, args, kwargs)
        g = self.b.build(outputs or None)
        g.notes = self._check_params(g)
        return g

    def _eval(self, value: Any) -> Any:
        import torch.fx as fx

        if isinstance(value, fx.Node):
            return self.values[value.name]
        if isinstance(value, (list, tuple)):
            return type(value)(self._eval(v) for v in value)
        if isinstance(value, dict):
            return {k: self._eval(v) for k, v in value.items()}
        if isinstance(value, slice):
            return slice(self._eval(value.start), self._eval(value.stop), self._eval(value.step))
        return value

    def _convert(self, node: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if node.op == "call_module":
            module = self.modules[str(node.target)]
            name = self._name(str(node.target))
            for cls, handler in _module_handlers().items():
                if isinstance(module, cls):
                    return _Ref(handler(self, module, args[0], name))
            return self._opaque(name, type(module).__name__, module, args, kwargs, module)
        fn = _fn_name(node.target)
        tensors = [a for a in _flat((args, kwargs)) if isinstance(a, _Ref)]
        if not tensors:
            return _python(node.target, args, kwargs)
        name = self._name(node.name)
        return self._function(node, fn, name, args, kwargs)

    def _function(self, node: Any, fn: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        b = self.b
        x: Any = args[0] if args else None
        if fn in ("size", "dim") or (fn == "getattr" and args[1] in ("shape", "ndim")):
            shape = self.full_shape(x)
            if fn == "dim" or (fn == "getattr" and args[1] == "ndim"):
                return len(shape)
            dim = args[1] if fn == "size" and len(args) > 1 else kwargs.get("dim")
            return shape if fn == "getattr" or dim is None else shape[dim]
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
        return self._opaque(name, fn, node.target, args, kwargs, None)

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
            return self._opaque(name, "getitem", operator.getitem, (x, index), {}, None)
        crops = []
        for n, item in zip(shape[2:], items[2:], strict=True):
            start, stop, _ = item.indices(n)
            crops.append((start, n - stop))
        return self.b.crop(x, crops, name=name, type="slice")

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
                module: Any) -> _Ref:
        """Run one op on meta tensors (shapes only) and keep it as an opaque node."""
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
        if not isinstance(out, torch.Tensor):
            raise ModelError(f"{name} ({type}): not understood (returns {type_name(out)}, not one tensor)")
        params = trainable = 0
        if module is not None:
            params = sum(p.numel() for p in module.parameters())
            trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
        return _Ref(self.b.opaque(refs, tuple(out.shape[1:]), params, trainable, name=name, type=type))

    def _check_params(self, g: Graph) -> tuple[str, ...]:
        from ..propagate import new_state, propagate

        if self.state is None:
            self.state = new_state(g)
        counted = sum(i.params for i in propagate(g, self.state).values())
        actual = sum(p.numel() for p in self.root.parameters())
        if counted == actual:
            return ()
        return (f"{g.name}: the model holds {actual:,} parameters, the recognised layers {counted:,}",)


def type_name(obj: Any) -> str:
    return type(obj).__name__


def _on_meta(module: Any, args: Any, kwargs: Any) -> Any:
    import copy

    clone = copy.deepcopy(module).to("meta")
    return clone(*args, **kwargs)


def _fetch(root: Any, target: str) -> Any:
    obj = root
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flat(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _flat(item)]
    return [value]


def _per(value: Any, nd: int) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * nd


def _python(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Plain Python on sizes; anything touching the batch size stays the batch size."""
    if any(a is BATCH for a in _flat((args, kwargs))):
        if target is operator.getitem:
            return args[0][args[1]]
        return BATCH
    if isinstance(target, str):  # a method on a Python value
        return getattr(args[0], target)(*args[1:], **kwargs)
    return target(*args, **kwargs)


# -- nn.Module handlers --------------------------------------------------------------------------

Handler = Callable[[_Converter, Any, str, str], str]


def _padding_of(m: Any) -> object:
    for attr in ("padding_spec", "spec"):
        spec = getattr(m, attr, None)
        if isinstance(spec, Padding):
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
    pads = [(p, p) for p in _per(m.padding, nd)]
    return c.b.conv_transpose(x, m.out_channels, m.kernel_size, m.stride, pads, list(m.output_padding), m.dilation,
                              m.groups, m.bias is not None, in_channels=m.in_channels, name=name,
                              type=type(m).__name__)


def _pool(c: _Converter, m: Any, x: str, name: str) -> str:
    kind = "max" if "Max" in type(m).__mro__[-3].__name__ or "Max" in type(m).__name__ else "avg"
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
