"""The graph IR: named nodes with an op, input names and canonical attributes.

Shapes inside the IR are per sample (no batch) and channels first: ``(C, *spatial)`` for feature
maps, ``(F,)`` for vectors. ``Graph.layout`` says how the model itself lays them out, so reports
can print shapes the way the framework does.

>>> from padstride.analysis import GraphBuilder
>>> b = GraphBuilder("tiny", layout="channels_last")
>>> x = b.conv(b.input((28, 28, 1)), 8, 3)
>>> g = b.build()
>>> [n.op for n in g.nodes], g.nodes[0].attrs["shape"]
(['input', 'conv'], (1, 28, 28))

Every attribute key readers set, per op, with its type and default, is declared in
:mod:`padstride.analysis.attrs` (one ``TypedDict`` per op); code that reads a node of a known op
takes a typed view with :func:`~padstride.analysis.attrs.view`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from ..errors import Error

__all__ = ["LAYOUTS", "OPS", "Graph", "GraphError", "Node", "to_canonical", "to_layout"]

#: Every op the propagation pass understands.
OPS: tuple[str, ...] = (
    "input", "conv", "conv_transpose", "pool", "global_pool", "pad", "crop", "upsample",
    "concat", "add", "mul", "flatten", "reshape", "dense", "norm", "activation", "dropout",
    "identity", "opaque",
)

LAYOUTS: tuple[str, ...] = ("channels_first", "channels_last")
_OPS = frozenset(OPS)


class GraphError(Error, ValueError):
    """A graph that cannot be built: unknown op, unknown input name, bad attribute.

    >>> Node("x", "spin")
    Traceback (most recent call last):
    ...
    padstride.analysis.ir.GraphError: node 'x': unknown op 'spin'
    """


@dataclass(frozen=True)
class Node:
    """One layer: ``op`` from :data:`OPS`, the names of its inputs, canonical attributes.

    ``attrs`` is an open mapping (the keys of each op: :data:`padstride.analysis.attrs.ATTRS`);
    read it through :func:`padstride.analysis.attrs.view` to get typed values.

    >>> Node("fc", "dense", ("flat",), {"units": 10}).type
    'dense'
    """

    name: str
    op: str
    inputs: tuple[str, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)
    type: str = ""

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise GraphError(f"node {self.name!r}: unknown op {self.op!r}")
        if not self.type:
            object.__setattr__(self, "type", self.op)

    @classmethod
    def _checked(cls, name: str, op: str, inputs: tuple[str, ...], attrs: Mapping[str, Any], type: str) -> Node:
        """``Node(name, op, inputs, attrs, type)`` for a caller that checked ``op`` and gives a non-empty
        ``type`` (:meth:`GraphBuilder.node <padstride.analysis.GraphBuilder.node>`, once per traced op):
        the frozen fields are filled directly, at a third of ``__init__``'s cost; the same object."""
        node = _new(cls)
        d = node.__dict__
        d["name"], d["op"], d["inputs"], d["attrs"], d["type"] = name, op, inputs, attrs, type
        return node


_new = object.__new__
_CHECKED: ContextVar[bool] = ContextVar("padstride_graph_checked", default=False)


@dataclass
class Graph:
    """Nodes in topological order, the output names, and the model's own layout.

    >>> Graph("g", [Node("x", "input", attrs={"shape": (3, 8, 8)})]).outputs
    ('x',)
    """

    name: str
    nodes: list[Node]
    outputs: tuple[str, ...] = ()
    layout: str = "channels_first"
    framework: str = "padstride"
    dtype_bytes: int = 4
    notes: tuple[str, ...] = ()
    reader: str = ""  # how an adapter read the model, where it has several ways (torch: "trace" or "meta")

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise GraphError(f"graph {self.name!r}: layout must be one of {LAYOUTS}, got {self.layout!r}")
        if not self.outputs and self.nodes:
            self.outputs = (self.nodes[-1].name,)
        if _CHECKED.get():  # nodes and outputs were checked as they were added (:meth:`_checked_graph`)
            return
        seen: set[str] = set()
        for node in self.nodes:
            if node.name in seen:
                raise GraphError(f"graph {self.name!r}: two nodes are named {node.name!r}")
            for name in node.inputs:
                if name not in seen:
                    raise GraphError(f"node {node.name!r}: input {name!r} is not defined before it")
            seen.add(node.name)
        for name in self.outputs:
            if name not in seen:
                raise GraphError(f"graph {self.name!r}: output {name!r} is not a node")

    @classmethod
    def _checked_graph(cls, name: str, nodes: list[Node], outputs: tuple[str, ...], layout: str,
                       framework: str) -> Graph:
        """``Graph(...)`` over nodes whose names and inputs the caller checked one by one, and outputs
        it checked too (:meth:`GraphBuilder.build <padstride.analysis.GraphBuilder.build>`): the
        whole-graph check is skipped (the rest of ``__post_init__`` runs). Thread safe (a context variable)."""
        token = _CHECKED.set(True)
        try:
            return cls(name, nodes, outputs, layout, framework)
        finally:
            _CHECKED.reset(token)

    def node(self, name: str) -> Node:
        """The node called ``name``."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise GraphError(f"graph {self.name!r} has no node {name!r}")

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes if n.op == "input")


def to_canonical(shape: Sequence[int], layout: str) -> tuple[int, ...]:
    """Per-sample shape in the model's layout → channels first.

    >>> to_canonical((28, 28, 1), "channels_last")
    (1, 28, 28)
    """
    shape = tuple(map(int, shape))
    if layout == "channels_last" and len(shape) > 1:
        return (shape[-1], *shape[:-1])
    return shape


def to_layout(shape: Sequence[int], layout: str) -> tuple[int, ...]:
    """Channels-first per-sample shape → the model's layout.

    >>> to_layout((1, 28, 28), "channels_last")
    (28, 28, 1)
    """
    shape = tuple(shape)
    if layout == "channels_last" and len(shape) > 1:
        return (*shape[1:], shape[0])
    return shape
