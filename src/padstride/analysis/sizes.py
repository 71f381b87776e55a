"""Which input sizes a whole model takes: ``padstride sizes``, statically (issue 12, Deliver 6).

The model is read once into the IR; each candidate size is then one propagation pass over that
graph (shapes and window geometry, no tensor, no forward), so a range of 160 sizes of a ResNet
costs well under a second. Per size the verdict is

- ``runs``: no layer reports an error (merges agree, windows fit, dense inputs match);
- ``clean``: runs, and no window layer leaves a border pixel unread (the last ``(n − K) mod s``
  pixels of a valid, strided window: dropped pixels are lost information and shift alignment);
  pixels skipped *between* windows (a 1×1 stride-2 shortcut) are structural, the same at every
  size, and listed once;
- ``fails``: an error, with the first layer and its message (``cannot add 57×57 with 56×56``);
- ``unknown``: the graph holds a layer whose output was recorded at the traced size only (an
  opaque layer or a reshape whose input size changed): the static graph cannot say.

>>> from padstride.analysis import GraphBuilder
>>> b = GraphBuilder("merge32")
>>> x = b.input((3, 64, 64))
>>> deep = x
>>> for _ in range(5):
...     deep = b.max_pool(deep, 2)
>>> up = b.upsample(deep, 32)
>>> _ = b.add([x, up])
>>> r = input_sizes(b.build(), range(60, 100))
>>> r.runs, r.nearest(70)
([64, 96], (64, 96))
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..geometry import is_transposed
from .attrs import CommonAttrs, InputAttrs, UpsampleAttrs, view
from .ir import Graph, GraphError, Node
from .layer import LayerInfo
from .propagate import propagate

__all__ = ["MAX_SIZES", "SizeReport", "SizeVerdict", "input_sizes"]

#: The most candidate sizes one call examines (each is one propagation pass).
MAX_SIZES = 4096

_SIZE_BOUND = ("opaque", "reshape")  # ops whose recorded attributes fix the traced size


@dataclass(frozen=True)
class SizeVerdict:
    """One candidate size: ``runs``, ``clean`` (runs, no border pixel dropped), or why not."""

    size: int
    runs: bool
    clean: bool
    unknown: bool = False
    reason: str = ""
    dropped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "runs": self.runs, "clean": self.clean, "unknown": self.unknown,
                "reason": self.reason, "dropped": list(self.dropped)}


@dataclass
class SizeReport:
    """Verdicts for a range of square inputs (every spatial axis the same size).

    >>> from padstride.analysis import GraphBuilder
    >>> b = GraphBuilder(); _ = b.conv(b.input((1, 9, 9)), 4, 3, stride=2)
    >>> input_sizes(b.build(), range(7, 12)).clean
    [7, 9, 11]
    """

    name: str
    input_shape: tuple[int, ...]  # the shape the model was read at, per sample, channels first
    traced: int
    verdicts: list[SizeVerdict]
    structural: list[str] = field(default_factory=list)

    @property
    def runs(self) -> list[int]:
        """Sizes at which the model runs."""
        return [v.size for v in self.verdicts if v.runs]

    @property
    def clean(self) -> list[int]:
        """Sizes at which it runs and no layer drops a border pixel."""
        return [v.size for v in self.verdicts if v.clean]

    @property
    def unknown(self) -> list[int]:
        return [v.size for v in self.verdicts if v.unknown]

    def verdict(self, size: int) -> SizeVerdict:
        for v in self.verdicts:
            if v.size == size:
                return v
        raise KeyError(size)

    def nearest(self, size: int, clean: bool = False) -> tuple[int | None, int | None]:
        """The closest good size at or below ``size`` and at or above it (``None`` where the range has none).

        >>> SizeReport("m", (3,), 64, [SizeVerdict(s, s % 32 == 0, False) for s in range(200, 260)]).nearest(225)
        (224, 256)
        """
        good = self.clean if clean else self.runs
        below = [s for s in good if s <= size]
        above = [s for s in good if s >= size]
        return (max(below) if below else None, min(above) if above else None)

    @property
    def step(self) -> int | None:
        """The period of the running sizes when they are every ``step``-th size (e.g. 32), else ``None``."""
        runs = self.runs
        if len(runs) < 2:
            return None
        step = math.gcd(*(b - a for a, b in itertools.pairwise(runs)))
        return step if runs == list(range(runs[0], runs[-1] + 1, step)) and step > 1 else None

    def to_dict(self, requested: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.name, "traced_size": self.traced, "range": [self.verdicts[0].size, self.verdicts[-1].size]
            if self.verdicts else [], "runs": self.runs, "clean": self.clean, "unknown": self.unknown,
            "step": self.step, "structural_drops": self.structural,
            "fails": {str(v.size): v.reason for v in self.verdicts if not v.runs and not v.unknown},
        }
        if requested is not None:
            out["requested"] = requested
            out["nearest_runs"] = list(self.nearest(requested))
            out["nearest_clean"] = list(self.nearest(requested, clean=True))
        return out


def _at_size(graph: Graph, size: int) -> Graph:
    """``graph`` with its (first) input resized to ``size`` on every spatial axis."""
    nodes = []
    first = graph.inputs[0]
    for n in graph.nodes:
        if n.name == first:
            shape = tuple(view(n, InputAttrs)["shape"])
            n = replace(n, attrs={**n.attrs, "shape": (shape[0], *([size] * (len(shape) - 1)))})
        nodes.append(n)
    return Graph(graph.name, nodes, graph.outputs, graph.layout, graph.framework, graph.dtype_bytes)


def _size_follows_input(node: Node, traced: dict[str, LayerInfo]) -> bool:
    """An opaque layer whose traced output has its single input's spatial size (an element-wise or
    channel-mixing op padstride does not model): at another size its output follows the input."""
    info = traced.get(node.name)
    if node.op != "opaque" or len(node.inputs) != 1 or info is None or info.shape is None:
        return False
    src = traced[node.inputs[0]].shape
    return src is not None and len(src) == len(info.shape) > 1 and src[1:] == info.shape[1:]


def _generic(graph: Graph, traced: dict[str, LayerInfo]) -> Graph:
    """Opaque layers that keep their input's spatial size say so (``follow_input``), so the per-size
    pass resizes them instead of repeating the traced shape."""
    nodes = [replace(n, attrs={**n.attrs, "follow_input": True}) if _size_follows_input(n, traced) else n
             for n in graph.nodes]
    return Graph(graph.name, nodes, graph.outputs, graph.layout, graph.framework, graph.dtype_bytes)


def _border_drops(infos: dict[str, LayerInfo]) -> tuple[list[str], list[str]]:
    """Layers that never read border pixels at this size, and those that skip interior pixels."""
    border, interior = [], []
    for info in infos.values():
        g = info.geometry
        if g is None or is_transposed(g):  # conv and pool only
            continue
        lo = hi = inner = 0
        for ax in g.axes:
            a, b, c = ax.never_read()
            lo, hi, inner = lo + a, hi + b, inner + c
        if lo or hi:
            border.append(f"{info.name}: {lo + hi} border px never read")
        if inner:
            interior.append(info.name)
    return border, interior


def _verdict(size: int, graph: Graph, traced: dict[str, LayerInfo], side: int) -> tuple[SizeVerdict, list[str]]:
    """The verdict at ``size`` (one propagation pass), and the layers skipping interior pixels."""
    g = _at_size(graph, size)
    infos = propagate(g)
    for node in g.nodes:  # a layer recorded at the traced size whose input has changed: no static answer
        bound = node.op in _SIZE_BOUND or (node.op == "upsample" and view(node, UpsampleAttrs).get("size") is not None)
        if bound and not view(node, CommonAttrs).get("follow_input"):
            before = [traced[i].shape for i in node.inputs]
            now = [infos[i].shape for i in node.inputs]
            if before != now and all(s is not None for s in now):
                return SizeVerdict(size, False, False, True, f"{node.name} ({node.type}) was recorded at the traced "
                                   f"size {side} only"), []
    errors = [e for i in infos.values() for e in i.errors]
    if errors:
        return SizeVerdict(size, False, False, reason=errors[0]), []
    border, interior = _border_drops(infos)
    return SizeVerdict(size, True, not border, dropped=tuple(border)), interior


def _side(graph: Graph) -> int:
    shape = view(graph.node(graph.inputs[0]), InputAttrs)["shape"]
    return int(shape[1]) if len(shape) > 1 else int(shape[0])


def input_sizes(model: Any, sizes: Iterable[int], input_shape: Sequence[int] | None = None) -> SizeReport:
    """Verdicts for every square input size in ``sizes`` (at most :data:`MAX_SIZES`), from one read of ``model``.

    ``model`` is anything :func:`~padstride.analysis.load_model` takes; ``input_shape`` (per sample,
    model layout) is the size it is read at, for torch models: its channels count, and its size is
    the one the graph's size-bound layers (reshapes, opaque layers) were recorded at.
    """
    from .load import _load

    candidates = sorted(set(int(s) for s in sizes))
    if not candidates:
        raise GraphError("no candidate sizes given")
    if len(candidates) > MAX_SIZES:
        raise GraphError(f"at most {MAX_SIZES} candidate sizes, got {len(candidates)}")
    if candidates[0] < 1:
        raise GraphError(f"sizes must be at least 1, got {candidates[0]}")
    graph, infos = _load(model, input_shape)
    if not graph.inputs:
        raise GraphError(f"graph {graph.name!r} has no input")
    traced = infos if infos is not None else propagate(graph)
    generic = _generic(graph, traced)
    side = _side(graph)
    verdicts, structural = [], set()
    for size in candidates:
        v, interior = _verdict(size, generic, traced, side)
        verdicts.append(v)
        structural.update(interior)
    shape = tuple(view(graph.node(graph.inputs[0]), InputAttrs)["shape"])
    return SizeReport(graph.name, shape, side, verdicts, [n for n in traced if n in structural])
