"""The one IR → PyTorch builder: a :mod:`padstride.analysis` graph becomes an ``nn.Module``.

Every reader of the analysis (Keras, ONNX, torch, YAML specs) produces the same graph IR; this
module turns any such graph into a :class:`PortedModel` through one op table
(:data:`padstride.torch.ops.OP_TABLE`), weights attached per node by a ``weights`` function
(``node → {name: array}`` in PyTorch's layout, see :mod:`padstride.torch.ops`; ``None``: fresh
init). The module takes and returns channels-first tensors, as PyTorch does; pads follow each
node's own convention through the padstride layers.

>>> import torch
>>> from padstride.analysis import GraphBuilder
>>> b = GraphBuilder("net", layout="channels_last")
>>> x = b.conv(b.input((9, 9, 3)), 4, 3, stride=2, padding="same", activation="relu")
>>> net = build(b.build(b.dense(b.flatten(x), 2)))
>>> net(torch.zeros(1, 3, 9, 9)).shape
torch.Size([1, 2])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from ..analysis.ir import Graph, Node
from .ops import OP_TABLE, BuildError, NodeContext

__all__ = ["BuildError", "Factory", "PortedModel", "Weights", "build"]

#: ``node → {weight name: array}`` in PyTorch's layout, or ``None`` to keep the fresh init.
Weights = Callable[[Node], Mapping[str, Any] | None]
#: a node's module, or ``None`` for the op table's
Factory = Callable[[NodeContext], nn.Module | None]


class PortedModel(nn.Module):
    """A graph run in PyTorch: ``layers`` by node name, run in topological order (``plan``:
    ``(layer, input slots, output slot)``; slots number the graph's tensors)."""

    def __init__(self, layers: dict[str, nn.Module], plan: list[tuple[str, list[int], int]],
                 inputs: list[int], outputs: list[int]) -> None:
        super().__init__()
        self.layers = nn.ModuleDict(layers)
        self.plan, self.inputs, self.outputs = plan, inputs, outputs

    def forward(self, *args: torch.Tensor) -> Any:
        if len(args) != len(self.inputs):
            raise TypeError(f"this model takes {len(self.inputs)} input(s), got {len(args)}")
        values: dict[int, torch.Tensor] = dict(zip(self.inputs, args, strict=True))
        for name, ins, out in self.plan:
            values[out] = self.layers[name](*(values[i] for i in ins))
        result = [values[o] for o in self.outputs]
        return result[0] if len(result) == 1 else tuple(result)


def _key(name: str, used: set[str]) -> str:
    key = name.replace(".", "_") or "_"
    base, i = key, 1
    while key in used:
        key, i = f"{base}_{i}", i + 1
    used.add(key)
    return key


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def build(graph: Graph, weights: Weights | None = None, factory: Factory | None = None) -> PortedModel:
    """An ``nn.Module`` computing ``graph`` (eval mode), weights from ``weights(node)``.

    ``factory`` (a reader's own exact ops, e.g. ONNX's ``Sub`` or ``Clip``): tried first for each
    node; ``None`` from it falls back to the op table.

    Raises :class:`BuildError` naming the first node it cannot build (an opaque layer, a shape
    error found by the propagation pass, a weight of the wrong shape).

    >>> from padstride.analysis import GraphBuilder
    >>> b = GraphBuilder(); _ = b.opaque(b.input((3, 4, 4)), (3, 4, 4), name="mystery", type="Swirl")
    >>> build(b.build())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    padstride.torch.ops.BuildError: layer 'mystery' (Swirl) is not supported: padstride has no module for ...
    """
    from ..analysis.propagate import propagate

    infos = propagate(graph)
    slots: dict[str, int] = {}
    layers: dict[str, nn.Module] = {}
    plan: list[tuple[str, list[int], int]] = []
    used: set[str] = set()
    owners: dict[tuple[Any, Any], nn.Module] = {}  # (source, part) → the module that owns the weights
    for node in graph.nodes:
        info = infos[node.name]
        if node.op != "input" and info.errors:
            raise BuildError(f"layer {node.name!r} ({node.type}): {info.errors[0]}")
        if node.op == "input":
            slots[node.name] = len(slots)
            continue
        in_shapes = [infos[i].shape for i in node.inputs]
        if info.shape is None or any(s is None for s in in_shapes):
            raise BuildError(f"layer {node.name!r} ({node.type}): shape unknown after an earlier error")
        owner = (_hashable(node.attrs.get("source")), node.attrs.get("part"))
        key = _key(node.name, used)
        if node.attrs.get("shared") and owner in owners:
            layers[key] = owners[owner]  # a later call of a layer: the same module, the same weights
        else:
            ctx = NodeContext(node, graph, [tuple(s) for s in in_shapes if s is not None], tuple(info.shape),
                              weights(node) if weights is not None else None)
            made = factory(ctx) if factory is not None else None
            if made is None:
                table = OP_TABLE.get(node.op)
                if table is None:
                    raise ctx.fail(f"op {node.op!r} has no factory")
                made = table(ctx)
            layers[key] = made
            if node.attrs.get("source") is not None:
                owners.setdefault(owner, layers[key])
        slots[node.name] = len(slots)
        plan.append((key, [slots[i] for i in node.inputs], slots[node.name]))
    model = PortedModel(layers, plan, [slots[n] for n in graph.inputs], [slots[n] for n in graph.outputs])
    return model.eval()
