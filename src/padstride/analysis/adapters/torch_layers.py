"""What both torch readers share: ``torch.nn`` layers → IR nodes, and the helpers that build them.

A reader (the stand-in trace in :mod:`.torch_sym`, the meta-device forward in :mod:`.torch_meta`)
is a :class:`LayerReader`: a :class:`~padstride.analysis.builder.GraphBuilder` plus the shapes of
what it built. :func:`handler` gives, per module class, the function that turns one call of that
layer into a node (pads through :mod:`padstride.geometry`, parameters from the layer's attributes).

>>> import torch.nn as nn
>>> r = LayerReader("net")
>>> x = r.b.input((3, 9, 9))
>>> name = handler(nn.Conv2d)(r, nn.Conv2d(3, 4, 3, stride=2, padding=1), x, "conv")
>>> r.shape(name)
(4, 5, 5)
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

from ...geometry import Padding
from ..builder import GraphBuilder
from ..errors import ModelError

__all__ = ["ACTIVATION_FNS", "DROPOUT_FNS", "IDENTITY_FNS", "Handler", "LayerReader", "bind", "flat", "fn_name",
           "handler", "is_torch_leaf", "is_torch_leaf_class", "own_forward", "per", "slice_crops", "spec_of"]

ACTIVATION_FNS = frozenset({
    "relu", "relu_", "relu6", "gelu", "sigmoid", "tanh", "silu", "mish", "softmax", "log_softmax", "elu",
    "leaky_relu", "hardswish", "hardsigmoid", "hardtanh", "softplus", "selu", "celu", "prelu", "glu",
    "logsigmoid", "softsign", "tanhshrink", "threshold", "sigmoid_", "tanh_", "exp", "abs", "neg", "sqrt",
    "square", "clamp", "clamp_", "clip",
})
IDENTITY_FNS = frozenset({"contiguous", "clone", "detach", "float", "half", "double", "to", "type_as",
                          "requires_grad_"})
DROPOUT_FNS = frozenset({"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                         "feature_alpha_dropout"})
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
    "conv_transpose": ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
    "linear": ("input", "weight", "bias"),
    "batch_norm": ("input", "running_mean", "running_var", "weight", "bias"),
    "layer_norm": ("input", "normalized_shape", "weight", "bias"),
    "group_norm": ("input", "num_groups", "weight", "bias"),
    "instance_norm": ("input", "running_mean", "running_var", "weight", "bias"),
}


def bind(kind: str, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A torch function's arguments by name (``kind`` as in ``_ARGS``).

    >>> bind("pad", ("x", [1, 1]), {"mode": "reflect"})
    {'input': 'x', 'pad': [1, 1], 'mode': 'reflect'}
    """
    bound = dict(zip(_ARGS[kind], args, strict=False))
    bound.update(kwargs)
    return bound


def fn_name(target: Any) -> str:
    """A torch function's or tensor method's name without dunders: ``Tensor.__iadd__`` → ``iadd``.

    >>> import torch
    >>> fn_name(torch.Tensor.__iadd__), fn_name(torch.relu_)
    ('iadd', 'relu_')
    """
    name = getattr(target, "__name__", None)
    if name is None:
        name = str(target)
    return name.strip("_") if name not in ("relu_", "sigmoid_", "tanh_", "clamp_") else name


def flat(value: Any) -> list[Any]:
    """The leaves of nested lists, tuples and dicts.

    >>> flat([1, (2, {"a": 3})])
    [1, 2, 3]
    """
    if not isinstance(value, _NESTED):
        return [value]
    out: list[Any] = []
    _flat_into(value, out)
    return out


_NESTED = (list, tuple, dict)


def _flat_into(value: Any, out: list[Any]) -> None:
    """:func:`flat` into ``out``: one call per container, none per leaf (it runs on every traced call)."""
    for item in value.values() if isinstance(value, dict) else value:
        if isinstance(item, _NESTED):
            _flat_into(item, out)
        else:
            out.append(item)


def per(value: Any, nd: int) -> tuple[Any, ...]:
    """One value per axis.

    >>> per(2, 3), per([1, 2], 2)
    ((2, 2, 2), (1, 2))
    """
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * nd


def slice_crops(shape: Sequence[Any], index: Any) -> list[tuple[int, int]] | None:
    """The per-spatial-axis crops of ``x[index]`` (batch-first ``shape``), or ``None`` if it is no crop.

    >>> slice_crops((1, 8, 10, 10), (slice(None), slice(None), slice(1, -1), slice(0, 9)))
    [(1, 1), (0, 1)]
    """
    items = list(index) if isinstance(index, tuple) else [index]
    if items and items[0] is Ellipsis:
        items = [slice(None)] * (len(shape) - len(items) + 1) + items[1:]
    items += [slice(None)] * (len(shape) - len(items))
    if len(shape) < 3 or len(items) != len(shape) or not all(
            isinstance(i, slice) and i.step in (None, 1) for i in items) or items[0] != slice(None) or \
            items[1] != slice(None):
        return None
    crops = []
    for n, item in zip(shape[2:], items[2:], strict=True):
        start, stop, _ = item.indices(int(n))
        crops.append((start, int(n) - stop))
    return crops


class LayerReader:
    """A graph under construction and the helpers the layer handlers call."""

    def __init__(self, name: str) -> None:
        self.b = GraphBuilder(name, layout="channels_first", framework="torch")
        self.used: set[str] = set()
        self.module_paths: set[str] = set()  # kept for the modules: functions never take these names
        self._suffix: dict[str, int] = {}

    def shape(self, ref: str) -> tuple[int, ...]:
        """The per-sample shape of node ``ref`` (propagated incrementally)."""
        info = self.b.propagated()[ref]
        if info.shape is None:
            cause = "; ".join(info.errors) or "an error upstream of it"
            raise ModelError(f"{ref}: shape unknown after an earlier error: {cause}")
        return info.shape

    def _name(self, preferred: str, function: bool = False) -> str:
        """``preferred``, or ``preferred_1``, ``preferred_2``… (the search resumes where it last stopped).

        A ``function``'s node never takes a module's path, so each module keeps its own name.
        """
        name = preferred = preferred or "node"
        used, paths = self.used, self.module_paths if function else ()
        if name in used or name in paths:
            i = self._suffix.get(preferred, 0) + 1
            while f"{preferred}_{i}" in used or f"{preferred}_{i}" in paths:
                i += 1
            self._suffix[preferred] = i
            name = f"{preferred}_{i}"
        self.used.add(name)
        return name

    def _pad(self, name: str, x: str, pad: Sequence[int], mode: str, type: str) -> str:
        nd = len(self.shape(x)) - 1
        pairs = Padding.from_torch_pad([int(p) for p in pad]).axes
        if len(pairs) > nd:
            raise ModelError(f"{name}: F.pad pads {len(pairs)} axes of a tensor with {nd} spatial axes")
        full = ((0, 0),) * (nd - len(pairs)) + tuple(pairs)
        return self.b.pad(x, list(full), mode=mode, name=name, type=type)

    def _weighted(self, name: str, x: str, fn: str, bound: dict[str, Any]) -> str:
        """``F.conv*d`` / ``F.conv_transpose*d`` / ``F.linear`` on weight tensors."""
        w, has_bias = bound["weight"], bound.get("bias") is not None
        if fn == "linear":
            return self.b.dense(x, int(w.shape[0]), has_bias, in_features=int(w.shape[1]), name=name, type="F.linear")
        groups = int(bound.get("groups", 1))
        if fn.startswith("conv_transpose"):
            nd = len(w.shape) - 2
            pads = [(int(p), int(p)) for p in per(bound.get("padding", 0), nd)]
            return self.b.conv_transpose(x, int(w.shape[1]) * groups, tuple(w.shape[2:]), bound.get("stride", 1),
                                         pads, list(per(bound.get("output_padding", 0), nd)),
                                         bound.get("dilation", 1), groups, has_bias, in_channels=int(w.shape[0]),
                                         name=name, type=f"F.{fn}")
        padding = bound.get("padding", 0)
        return self.b.conv(x, int(w.shape[0]), tuple(w.shape[2:]), bound.get("stride", 1),
                           "torch_same" if padding == "same" else padding, bound.get("dilation", 1), groups,
                           has_bias, in_channels=int(w.shape[1]) * groups, name=name, type=f"F.{fn}")

    def _adaptive(self, name: str, x: str, kind: str, size: Any, type: str) -> str:
        spatial = self.shape(x)[1:]
        sizes = [n if s is None else int(s) for n, s in zip(spatial, per(size, len(spatial)), strict=True)]
        if all(s == 1 for s in sizes):
            return self.b.global_pool(x, kind, keepdims=True, name=name, type=type)
        if all(n % s == 0 for n, s in zip(spatial, sizes, strict=True)):
            k = [n // s for n, s in zip(spatial, sizes, strict=True)]
            return self.b.pool(x, kind, k, k, name=name, type=type)
        return self.b.opaque(x, (self.shape(x)[0], *sizes), name=name, type=type)

    def _upsample(self, name: str, x: str, size: Any, scale: Any, mode: str, corners: bool, type: str) -> str:
        nd = len(self.shape(x)) - 1
        if size is not None:
            return self.b.upsample(x, size=list(per(size, nd)), mode=mode, align_corners=corners, name=name, type=type)
        return self.b.upsample(x, scale=list(per(scale, nd)), mode=mode, align_corners=corners, name=name, type=type)

    def _flatten(self, name: str, x: str, start: int, end: int, type: str) -> str:
        shape = (None, *self.shape(x))
        start, end = start % len(shape), end % len(shape)
        if start == 1 and end == len(shape) - 1:
            return self.b.flatten(x, name=name, type=type)
        if start == 0:
            raise ModelError(f"{name}: flattening the batch axis is not supported")
        target = [*shape[1:start], math.prod(shape[start:end + 1]), *shape[end + 1:]]  # type: ignore[arg-type]
        return self.b.reshape(x, target, name=name, type=type)  # type: ignore[arg-type]


# -- nn.Module handlers --------------------------------------------------------------------------

Handler = Callable[[LayerReader, Any, str, str], str]


def spec_of(m: Any) -> Padding | None:
    """A layer's own :class:`Padding` (attribute ``padding_spec`` or ``spec``), as padstride's layers have.

    Only a plain attribute (instance or class) can hold one: ``nn.Module.__getattr__`` finds parameters,
    buffers and submodules, never a :class:`Padding`, so it is not asked (it raises, slowly, on every layer
    of torch's own).
    """
    own = getattr(m, "__dict__", None) or {}
    cls: Any = type(m)
    if "padding_spec" not in own and "spec" not in own and not _class_has_spec(cls):
        return None  # torch's own layers: one cached look per class
    for attr in ("padding_spec", "spec"):
        if attr in own or _class_has(cls, attr):
            spec = getattr(m, attr, None)
            if isinstance(spec, Padding):
                return spec
    return None


@functools.lru_cache(maxsize=4096)  # bounded: torch.fx makes a class per model
def _class_has(cls: Any, attr: str) -> bool:
    return any(attr in vars(c) for c in cls.__mro__)


@functools.lru_cache(maxsize=4096)
def _class_has_spec(cls: Any) -> bool:
    return _class_has(cls, "padding_spec") or _class_has(cls, "spec")


def _vector(m: Any, name: str) -> Any:
    """``m.weight`` / ``m.bias`` (``None`` if absent), without ``nn.Module.__getattr__`` where it is a parameter
    registered on ``m`` that no instance or class attribute of that name hides."""
    params = m._parameters
    cls: Any = type(m)
    if name in params and name not in m.__dict__ and not _class_has(cls, name):
        return params[name]
    return getattr(m, name, None)


@functools.lru_cache(maxsize=4096)
def _norm_kind(cls: Any) -> tuple[str, bool]:
    """A norm layer class's kind and whether its features are ``num_channels`` (else ``num_features``)."""
    import torch.nn as nn

    if issubclass(cls, nn.LayerNorm):
        return "layer", False
    if issubclass(cls, nn.GroupNorm):
        return "group", True
    return ("instance" if "Instance" in cls.__name__ else "batch"), False


@functools.lru_cache(maxsize=4096)
def _pool_kind(cls: Any) -> str:
    import torch.nn as nn

    return "max" if issubclass(cls, nn.modules.pooling._MaxPoolNd) else "avg"


def own_forward(cls: Any) -> bool:
    """Whether a subclass of a ``torch.nn`` layer overrides that layer's ``forward`` (cached per class)."""
    return _own_forward(cls)


@functools.lru_cache(maxsize=4096)  # bounded: torch.fx makes a class per model
def _own_forward(cls: Any) -> bool:
    base = next(c for c in cls.__mro__ if c.__module__.startswith("torch.nn"))
    return cls.forward is not base.forward


def is_torch_leaf(module: Any) -> bool:
    """A ``torch.nn`` layer padstride does not know: kept whole as an opaque node (as torch.fx does)."""
    return is_torch_leaf_class(type(module))


def is_torch_leaf_class(cls: Any) -> bool:
    """:func:`is_torch_leaf` of a module class."""
    import torch.nn as nn

    mod = cls.__module__
    return mod.startswith(("torch.nn", "torch.ao.nn")) and not issubclass(cls, (nn.Sequential, nn.ModuleList,
                                                                               nn.ModuleDict))


def _padding_of(m: Any) -> object:
    spec = spec_of(m)
    if spec is not None:
        return spec
    pad = m.padding
    if isinstance(pad, str):
        return "torch_same" if pad == "same" else pad
    return pad


def _conv(c: LayerReader, m: Any, x: str, name: str) -> str:
    return c.b.conv(x, m.out_channels, m.kernel_size, m.stride, _padding_of(m), m.dilation, m.groups,
                    _vector(m, "bias") is not None, in_channels=m.in_channels, name=name, type=type(m).__name__)


def _conv_t(c: LayerReader, m: Any, x: str, name: str) -> str:
    nd = len(m.kernel_size)
    crop = getattr(m, "crop", None) if isinstance(_padding_of(m), Padding) else None
    if crop is not None:  # padstride's layer: the crop of the full output, output_padding included
        pads, out_pad = [(int(b), int(a)) for b, a in crop], [0] * nd
    else:  # nn.ConvTransposeNd (or padstride's on its native path): what PyTorch is given
        pads, out_pad = [(p, p) for p in per(m.padding, nd)], list(m.output_padding)
    return c.b.conv_transpose(x, m.out_channels, m.kernel_size, m.stride, pads, out_pad, m.dilation,
                              m.groups, _vector(m, "bias") is not None, in_channels=m.in_channels, name=name,
                              type=type(m).__name__)


def _pool(c: LayerReader, m: Any, x: str, name: str) -> str:
    cls: Any = type(m)
    kind = _pool_kind(cls)
    return c.b.pool(x, kind, m.kernel_size, m.stride, _padding_of(m), getattr(m, "dilation", 1), bool(m.ceil_mode),
                    count_include_pad=bool(getattr(m, "count_include_pad", True)), name=name, type=type(m).__name__)


def _adaptive(c: LayerReader, m: Any, x: str, name: str) -> str:
    kind = "max" if "Max" in type(m).__name__ else "avg"
    return c._adaptive(name, x, kind, m.output_size, type(m).__name__)


def _upsample(c: LayerReader, m: Any, x: str, name: str) -> str:
    return c._upsample(name, x, m.size, m.scale_factor, m.mode, bool(m.align_corners), type(m).__name__)


def _padmod(c: LayerReader, m: Any, x: str, name: str) -> str:
    mode = {"Zero": "constant", "Constant": "constant", "Reflection": "reflect", "Replication": "replicate",
            "Circular": "circular"}
    kind = next((v for k, v in mode.items() if type(m).__name__.startswith(k)), "constant")
    return c._pad(name, x, list(m.padding), kind, type(m).__name__)


def _flatten(c: LayerReader, m: Any, x: str, name: str) -> str:
    return c._flatten(name, x, m.start_dim, m.end_dim, type(m).__name__)


def _linear(c: LayerReader, m: Any, x: str, name: str) -> str:
    return c.b.dense(x, m.out_features, _vector(m, "bias") is not None, in_features=m.in_features, name=name,
                     type=type(m).__name__)


def _norm(c: LayerReader, m: Any, x: str, name: str) -> str:
    vectors = int(_vector(m, "weight") is not None) + int(_vector(m, "bias") is not None)
    cls: Any = type(m)
    kind, channels = _norm_kind(cls)
    features = math.prod(m.normalized_shape) if kind == "layer" else m.num_channels if channels else m.num_features
    return c.b.norm(x, kind, vectors, stats=False, features=features, name=name, type=type(m).__name__)


def _activation(c: LayerReader, m: Any, x: str, name: str) -> str:
    own = m._parameters.values() if not m._modules else m.parameters()  # no generator walk for a plain layer
    params = sum(p.numel() for p in own if p is not None)
    if params:  # PReLU
        return c.b.opaque(x, c.shape(x), params, name=name, type=type(m).__name__)
    return c.b.activation(x, type(m).__name__.lower(), name=name, type=type(m).__name__)


def _dropout(c: LayerReader, m: Any, x: str, name: str) -> str:
    return c.b.dropout(x, float(m.p), name=name, type=type(m).__name__)


def _identity(c: LayerReader, m: Any, x: str, name: str) -> str:
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


def handler(cls: Any) -> Handler | None:
    """The handler of a module class (the most specific registered base), cached per class."""
    return _handler_of(cls)


@functools.lru_cache(maxsize=4096)  # bounded: torch.fx makes a class per model
def _handler_of(cls: Any) -> Handler | None:
    known = _module_handlers()
    return next((known[c] for c in cls.__mro__ if c in known), None)
