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

Attributes that only a builder (:mod:`padstride.torch.build`) reads, beside the geometric ones
(every one optional, with the default in brackets):

- any op: ``source`` — the layer's path in the framework model (names from the top model
  down) for weight lookup [the node name]; ``part`` — which weights of that layer the node uses
  when one layer became several nodes (``depthwise``/``pointwise`` of a separable convolution);
  ``shared`` — a later call of a layer whose weights an earlier node (same ``source`` and
  ``part``) owns: its parameters are not counted again, and a builder reuses that module.
- ``conv``, ``conv_transpose``, ``dense``: ``activation`` — an ``fn`` name or a mapping of
  activation attributes applied after the layer [none].
- ``activation``: ``fn`` — ``relu`` (``max_value``, ``negative_slope``, ``threshold``, Keras'
  rule), ``relu6``, ``leaky_relu`` (``negative_slope``), ``elu``/``celu`` (``alpha``), ``gelu``
  (``approximate``), ``softmax``/``log_softmax`` (``axis``, framework axis), ``sigmoid``,
  ``tanh``, ``silu``, ``hard_sigmoid``, ``hard_silu``, ``mish``, ``selu``, ``softplus``,
  ``softsign``, ``exp``, ``abs``, ``sqrt``, ``square`` …; ``affine`` (``x·scale + offset``, a
  vector broadcasting on the framework's last axis); ``scalar`` (``x <operator> constant``,
  ``operator`` one of add/subtract/multiply/divide/power/maximum/minimum, ``reverse`` for
  ``constant <operator> x``).
- ``norm``: ``kind`` — ``batch``, ``layer``, ``group`` (``groups``), ``scale`` (one trainable
  factor per channel), ``normalization`` (fixed ``mean``/``variance``: ``(x − mean) /
  max(√variance, epsilon)``, ``invert``); ``epsilon``, ``momentum`` (the framework's: Keras'
  0.99 is PyTorch's 0.01); ``center``/``scale`` — which affine vectors exist; ``extra_params`` —
  scalars the framework counts beside them (Keras ``Normalization``'s ``count``).
- ``add``: ``mode`` — ``sum`` [default], ``max``, ``min``; ``scales`` — one factor per input
  for ``sum`` (subtract is ``(1, −1)``, average ``1/n`` each). ``mul``: ``mode`` — ``product``
  or ``quotient``.
- ``flatten``: ``order`` — ``channels_first`` [default] or ``channels_last`` (Keras flattens
  ``*spatial, C`` in both of its layouts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
        seen: set[str] = set()
        for node in self.nodes:
            if node.name in seen:
                raise GraphError(f"graph {self.name!r}: two nodes are named {node.name!r}")
            for name in node.inputs:
                if name not in seen:
                    raise GraphError(f"node {node.name!r}: input {name!r} is not defined before it")
            seen.add(node.name)
        if not self.outputs and self.nodes:
            self.outputs = (self.nodes[-1].name,)
        for name in self.outputs:
            if name not in seen:
                raise GraphError(f"graph {self.name!r}: output {name!r} is not a node")

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
    shape = tuple(int(s) for s in shape)
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
