"""Build a :class:`~padstride.analysis.ir.Graph` in Python, one call per layer.

Each method adds a node and returns its name, to pass as the input of the next call. Sizes are
given the way the model's layout writes them (``input((28, 28, 1))`` for channels last);
kernel, stride, dilation and padding take a scalar or one value per spatial axis.

>>> b = GraphBuilder("cnn", layout="channels_last")
>>> x = b.input((28, 28, 1))
>>> x = b.conv(x, 32, 3, padding="same", activation="relu")
>>> x = b.dense(b.flatten(b.max_pool(x, 2)), 10)
>>> from padstride.analysis import analyze
>>> analyze(b.build()).total_params
63050
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from . import propagate as _propagate
from .ir import OPS, Graph, GraphError, Node, to_canonical
from .layer import LayerInfo
from .propagate import _State, new_state

__all__ = ["GraphBuilder", "snake_case"]


@functools.lru_cache(maxsize=1024)  # (called for every unnamed node; models repeat a few types)
def snake_case(name: str) -> str:
    """Keras' default layer names: ``Conv2D`` → ``conv2d``, ``MaxPooling2D`` → ``max_pooling2d``.

    >>> snake_case("MaxPooling2D"), snake_case("BatchNorm2d")
    ('max_pooling2d', 'batch_norm2d')
    """
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()

Ref = str
_OPS = frozenset(OPS)
_checked = Node._checked


class GraphBuilder:
    """Collects nodes; :meth:`build` returns the graph.

    >>> b = GraphBuilder("g")
    >>> b.relu(b.input((3, 8, 8)))
    'relu'
    """

    def __init__(self, name: str = "model", layout: str = "channels_first", framework: str = "padstride") -> None:
        self.name, self.layout, self.framework = name, layout, framework
        self.nodes: list[Node] = []
        self._names: set[str] = set()
        self._suffix: dict[str, int] = {}  # per base name, the last suffix handed out by unique()
        self._last: str | None = None
        self._state: _State | None = None  # incremental propagation of the nodes built so far
        self._live: Graph | None = None  # a graph over ``self.nodes`` itself, validated as nodes are added

    # -- plumbing ---------------------------------------------------------------------------
    def unique(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2``… — the first name not taken (amortised O(1): the search
        for a base resumes where the previous one stopped, so n layers of one kind cost O(n), not O(n²)).

        >>> b = GraphBuilder(); _ = b.input((1, 4), name="add"); b.unique("add"), b.unique("relu")
        ('add_1', 'relu')
        """
        if base not in self._names:
            return base
        i = self._suffix.get(base, 0) + 1
        while f"{base}_{i}" in self._names:
            i += 1
        self._suffix[base] = i
        return f"{base}_{i}"

    def node(self, op: str, inputs: Sequence[Ref] | Ref | None, name: str | None = None,
             type: str | None = None, **attrs: Any) -> Ref:
        """Add any node; ``inputs`` defaults to the previous node.

        >>> b = GraphBuilder(); x = b.input((1, 4)); b.node("identity", x, name="same")
        'same'
        """
        if inputs is None:
            ins: tuple[str, ...] = () if self._last is None or op == "input" else (self._last,)
        elif isinstance(inputs, str):
            ins = (inputs,)
        else:
            ins = tuple(inputs)
        names = self._names
        node_name = name if name is not None else self.unique(snake_case(type or op))
        if node_name in names:
            raise GraphError(f"graph {self.name!r}: two nodes are named {node_name!r}")
        for ref in ins:  # checked here, once per node, so the live graph never needs validating again
            if ref not in names:
                raise GraphError(f"node {node_name!r}: input {ref!r} is not defined before it")
        if op not in _OPS:
            raise GraphError(f"node {node_name!r}: unknown op {op!r}")
        self.nodes.append(_checked(node_name, op, ins, attrs, type or op))
        names.add(node_name)
        self._last = node_name
        return node_name

    def build(self, outputs: Sequence[Ref] | Ref | None = None) -> Graph:
        """The graph; outputs default to the last node added."""
        outs = (outputs,) if isinstance(outputs, str) else tuple(outputs or ())
        for name in outs:
            if name not in self._names:
                raise GraphError(f"graph {self.name!r}: output {name!r} is not a node")
        if len(self._names) != len(self.nodes):  # nodes appended behind node()'s back: check them all
            return Graph(self.name, list(self.nodes), outs, self.layout, self.framework)
        return Graph._checked_graph(self.name, list(self.nodes), outs, self.layout, self.framework)

    def propagated(self, graph: Graph | None = None) -> dict[str, LayerInfo]:
        """:func:`~padstride.analysis.propagate.propagate` of ``graph`` (default: what is built so far),
        incremental: nodes a previous call saw are not computed again (adapters ask for shapes while
        they build). ``graph`` must hold this builder's nodes. Each call costs O(nodes added since the
        last one): the result is the builder's own growing mapping (read it, don't change it).

        >>> b = GraphBuilder(); x = b.input((3, 8, 8)); _ = b.conv(x, 4, 3)
        >>> b.propagated()["conv"].shape
        (4, 6, 6)
        """
        if graph is None:  # the nodes so far, without copying or re-validating them (O(new nodes) per call)
            if self._live is None:
                self._live = Graph(self.name, self.nodes, (), self.layout, self.framework)
            graph = self._live
        state = self._state
        if state is None:
            state = self._state = new_state(graph)
        elif state.graph is graph:  # the live graph (or the same one again): only the nodes added since
            nodes = graph.nodes
            n = len(nodes)
            if state.done < n:  # (adapters ask after nearly every node: one step, without propagate()'s set-up)
                step = _propagate._step
                for i in range(state.done, n):
                    step(nodes[i], state)
                state.done = n
            return state.infos
        return _propagate.propagate(graph, state)

    # -- layers -----------------------------------------------------------------------------
    def input(self, shape: Sequence[int], name: str | None = None) -> Ref:
        """Model input, per sample, in the model's layout."""
        return self.node("input", (), name, "InputLayer" if self.layout == "channels_last" else "Input",
                        shape=to_canonical(shape, self.layout))

    def conv(self, x: Ref | None, filters: int, kernel: int | Sequence[int], stride: int | Sequence[int] = 1,
             padding: object = "valid", dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool = True,
             activation: str | None = None, in_channels: int | None = None, name: str | None = None,
             type: str | None = None) -> Ref:
        """Convolution (any number of spatial axes)."""
        return self.node("conv", x, name, type, filters=filters, kernel=kernel, stride=stride, padding=padding,
                        dilation=dilation, groups=groups, bias=bias, activation=activation,
                        in_channels=in_channels)

    def conv_transpose(self, x: Ref | None, filters: int, kernel: int | Sequence[int],
                       stride: int | Sequence[int] = 1, padding: object = 0,
                       output_padding: int | Sequence[int] | None = None, dilation: int | Sequence[int] = 1,
                       groups: int = 1, bias: bool = True, rule: str = "keras",
                       output_size: Sequence[int] | None = None, in_channels: int | None = None,
                       name: str | None = None, type: str | None = None) -> Ref:
        """Transposed convolution; ``rule`` as in :func:`padstride.geometry.conv_transpose`."""
        return self.node("conv_transpose", x, name, type, filters=filters, kernel=kernel, stride=stride,
                        padding=padding, output_padding=output_padding, dilation=dilation, groups=groups,
                        bias=bias, rule=rule, output_size=output_size, in_channels=in_channels)

    def pool(self, x: Ref | None, kind: str, kernel: int | Sequence[int], stride: int | Sequence[int] | None = None,
             padding: object = "valid", dilation: int | Sequence[int] = 1, ceil_mode: bool = False,
             rule: str = "torch", count_include_pad: bool = True, name: str | None = None,
             type: str | None = None) -> Ref:
        """Max or average pooling (``kind`` ``'max'`` / ``'avg'``); stride defaults to the kernel."""
        return self.node("pool", x, name, type or f"{kind}_pool", kind=kind, kernel=kernel, stride=stride,
                        padding=padding, dilation=dilation, ceil_mode=ceil_mode, rule=rule,
                        count_include_pad=count_include_pad)

    def max_pool(self, x: Ref | None, kernel: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: object = "valid", **kw: Any) -> Ref:
        """Max pooling."""
        return self.pool(x, "max", kernel, stride, padding, **kw)

    def avg_pool(self, x: Ref | None, kernel: int | Sequence[int], stride: int | Sequence[int] | None = None,
                 padding: object = "valid", **kw: Any) -> Ref:
        """Average pooling."""
        return self.pool(x, "avg", kernel, stride, padding, **kw)

    def global_pool(self, x: Ref | None, kind: str = "avg", keepdims: bool = False, name: str | None = None,
                    type: str | None = None) -> Ref:
        """Global max/average pooling over all spatial axes."""
        return self.node("global_pool", x, name, type or f"global_{kind}_pool", kind=kind, keepdims=keepdims)

    def pad(self, x: Ref | None, pads: object, mode: str = "constant", name: str | None = None,
            type: str | None = None) -> Ref:
        """Explicit padding: an int, or per spatial axis an int or a ``(before, after)`` pair."""
        return self.node("pad", x, name, type, pads=pads, mode=mode)

    def crop(self, x: Ref | None, crops: object, name: str | None = None, type: str | None = None) -> Ref:
        """Cropping: an int, or per spatial axis an int or a ``(before, after)`` pair."""
        return self.node("crop", x, name, type, crops=crops)

    def upsample(self, x: Ref | None, scale: object = 2, size: Sequence[int] | None = None,
                 mode: str = "nearest", align_corners: bool = False, name: str | None = None,
                 type: str | None = None) -> Ref:
        """Upsampling by ``scale`` (per axis) or to ``size``."""
        return self.node("upsample", x, name, type, scale=scale, size=size, mode=mode, align_corners=align_corners)

    def concat(self, xs: Sequence[Ref], axis: int | None = None, name: str | None = None,
               type: str | None = None) -> Ref:
        """Concatenation; ``axis`` counts the batch axis, as frameworks do (``None`` = channels)."""
        return self.node("concat", xs, name, type, axis=axis)

    def add(self, xs: Sequence[Ref], name: str | None = None, type: str | None = None) -> Ref:
        """Element-wise sum (residual connections)."""
        return self.node("add", xs, name, type)

    def mul(self, xs: Sequence[Ref], name: str | None = None, type: str | None = None) -> Ref:
        """Element-wise product (gates, attention)."""
        return self.node("mul", xs, name, type)

    def flatten(self, x: Ref | None = None, name: str | None = None, type: str | None = None) -> Ref:
        """Flatten everything but the batch axis."""
        return self.node("flatten", x, name, type)

    def reshape(self, x: Ref | None, target: Sequence[int], batch_absorbing: bool = False,
                name: str | None = None, type: str | None = None) -> Ref:
        """Reshape to ``target`` (per sample, model layout, one ``-1`` allowed).

        ``batch_absorbing`` marks PyTorch's ``x.view(-1, F)``: the ``-1`` takes the batch too, so a
        sample that does not split into rows of ``F`` is a silent bug, reported as an error.
        """
        return self.node("reshape", x, name, type, target=tuple(target), batch_absorbing=batch_absorbing)

    def dense(self, x: Ref | None, units: int, bias: bool = True, activation: str | None = None,
              in_features: int | None = None, name: str | None = None, type: str | None = None) -> Ref:
        """Fully connected layer on the feature axis (``in_features`` checks the input size)."""
        return self.node("dense", x, name, type, units=units, bias=bias, activation=activation,
                        in_features=in_features)

    def norm(self, x: Ref | None, kind: str = "batch", affine: bool | int = True, stats: bool = True,
             stats_are_params: bool = False, features: int | None = None, name: str | None = None,
             type: str | None = None) -> Ref:
        """Normalization; ``affine``: scale and shift (or how many per-feature vectors: 0, 1, 2).

        ``stats_are_params`` counts running statistics as non-trainable params, as Keras does.
        """
        return self.node("norm", x, name, type or f"{kind}_norm", kind=kind, affine=affine, stats=stats,
                        stats_are_params=stats_are_params, features=features)

    def activation(self, x: Ref | None, fn: str = "relu", name: str | None = None, type: str | None = None) -> Ref:
        """Element-wise activation."""
        return self.node("activation", x, name, type or fn, fn=fn)

    def relu(self, x: Ref | None = None, name: str | None = None) -> Ref:
        """ReLU."""
        return self.activation(x, "relu", name)

    def dropout(self, x: Ref | None = None, rate: float = 0.5, name: str | None = None,
                type: str | None = None) -> Ref:
        """Dropout (shape-preserving)."""
        return self.node("dropout", x, name, type, rate=rate)

    def identity(self, x: Ref | None = None, name: str | None = None, type: str | None = None) -> Ref:
        """Pass-through."""
        return self.node("identity", x, name, type)

    def opaque(self, xs: Sequence[Ref] | Ref | None, shape: Sequence[int], params: int = 0,
               trainable: int | None = None, name: str | None = None, type: str | None = None) -> Ref:
        """A layer padstride does not model: its canonical output shape and params are given."""
        return self.node("opaque", xs, name, type, shape=tuple(shape), params=params,
                        trainable=params if trainable is None else trainable)
