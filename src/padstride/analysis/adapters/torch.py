"""``torch.nn.Module`` → graph IR, without computing anything: a fast stand-in trace, and a meta-device forward.

Two readers, tried in order:

1. :mod:`.torch_sym`, the stand-in trace: ``forward`` runs on stand-in tensors, known layers become
   IR nodes from their attributes (a few µs per layer; ResNet-50 in milliseconds); other ops run
   once on meta tensors, and the model's own tensors used outside known layers are counted where
   they meet the data. It stops where it is unsure (the batch size used as a number, a branch on
   tensor values, parameters counted twice).
2. :mod:`.torch_meta`, the meta-device forward: ``forward`` runs with parameters, buffers and inputs
   swapped for ``meta`` tensors, watched by module hooks and a ``TorchFunctionMode``; it reads any
   model torch can run, every op with its true output shape.

``graph.reader`` says which one read the model (``"trace"`` or ``"meta"``). Inputs are given per
sample; see :func:`.torch_inputs.torch_inputs` for several inputs and shapes with the batch.

>>> import torch.nn as nn
>>> net = nn.Sequential(nn.Conv2d(1, 8, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2))
>>> g = graph_from_torch(net, (1, 28, 28))
>>> [(n.name, n.op) for n in g.nodes], g.reader
([('input', 'input'), ('0', 'conv'), ('1', 'activation'), ('2', 'pool')], 'trace')
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from ..ir import Graph
from ..layer import LayerInfo
from . import torch_meta, torch_sym
from .torch_inputs import torch_inputs
from .torch_meta import distinct, walk
from .torch_state import untouched

__all__ = ["analyzed_torch", "graph_from_torch"]


def graph_from_torch(module: Any, input_shape: Any) -> Graph:
    """The graph of ``module`` for inputs of ``input_shape`` per sample (``(C, H, W)``), without running it.

    ``input_shape``: one shape, a list of shapes (positional inputs), or a dict name → shape.

    >>> import torch.nn as nn
    >>> g = graph_from_torch(nn.Conv3d(1, 4, 3, stride=2), (1, 16, 16, 16))
    >>> g.nodes[-1].attrs["stride"]
    (2, 2, 2)
    """
    return analyzed_torch(module, input_shape)[0]


def analyzed_torch(module: Any, input_shape: Any) -> tuple[Graph, dict[str, LayerInfo]]:
    """:func:`graph_from_torch` plus the propagation the read already ran (so it is not run twice).

    >>> import torch.nn as nn
    >>> g, infos = analyzed_torch(nn.Conv2d(1, 4, 3), (1, 8, 8))
    >>> infos["conv2d"].shape
    (4, 6, 6)
    """
    inputs = torch_inputs(module, input_shape)
    with _reading(module):  # functional_call swaps the model's tensors while it runs: one read per model at a time
        return _read(module, inputs)


_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _reading(module: Any) -> threading.Lock:
    """The lock of one model (reads of different models run in parallel)."""
    with _LOCKS_GUARD:
        lock = _LOCKS.get(module)
        if lock is None:
            lock = _LOCKS[module] = threading.Lock()
        return lock


def _read(module: Any, inputs: Any) -> tuple[Graph, dict[str, LayerInfo]]:
    modules = distinct(walk(module))  # one walk of the modules for the whole read
    with untouched(module, [m for _, m in modules]):  # what forward caches on the modules during a read is undone
        return _read_once(module, inputs, modules)


def _read_once(module: Any, inputs: Any, modules: list[tuple[str, Any]]) -> tuple[Graph, dict[str, LayerInfo]]:
    if isinstance(inputs, list) and len(inputs) == 1:
        converter = torch_sym.Converter(module, inputs[0], modules)
        try:
            graph = converter.run()
        except Exception:
            pass
        else:
            if not graph.notes:  # every parameter is in a layer the trace understood
                graph.reader = "trace"
                infos = converter.b.propagated(graph)
                if not any(info.errors for info in infos.values()):
                    return graph, infos
                return _confirmed(module, inputs, graph, infos)
    graph, infos = torch_meta.read(module, inputs)
    graph.reader = "meta"
    return graph, infos


def _confirmed(module: Any, inputs: Any, graph: Graph,
               infos: dict[str, LayerInfo]) -> tuple[Graph, dict[str, LayerInfo]]:
    """A trace that found shape errors, checked by the meta reader: torch's word wins where it runs clean."""
    try:
        meta, meta_infos = torch_meta.read(module, inputs)
    except Exception:
        return graph, infos
    if any(info.errors for info in meta_infos.values()):
        return graph, infos
    meta.reader = "meta"
    return meta, meta_infos
