"""ONNX's own node conformance cases (``onnx.backend.test.case.node``) for the ops padstride models.

The ``onnx`` wheel no longer ships the ``backend/test/data/node`` directories; the cases are built
by importing the ``onnx.backend.test.case.node`` modules, whose ``export*`` functions call
``expect(node, inputs, outputs, name)`` (what ``collect_testcases()`` does for every op, ~8 s).
Importing only the modules of the ops wanted gives the same cases in about half the time.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The op types checked, and the ``onnx.backend.test.case.node`` module defining each one's cases.
OPS: dict[str, str] = {
    "Conv": "conv",
    "ConvTranspose": "convtranspose",
    "MaxPool": "maxpool",
    "AveragePool": "averagepool",
    "GlobalMaxPool": "globalmaxpool",
    "GlobalAveragePool": "globalaveragepool",
    "Pad": "pad",
}


@dataclass(frozen=True)
class NodeCase:
    """One single-node conformance case: its op, attributes, inputs and expected outputs."""

    name: str
    op: str
    opset: int
    attrs: dict[str, Any]
    inputs: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]
    input_names: tuple[str, ...]
    rtol: float
    atol: float


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def node_cases() -> list[NodeCase]:
    """Every conformance case of :data:`OPS`, in ONNX's order, each once."""
    import onnx.backend.test.case.node as node_pkg

    for module in OPS.values():
        importlib.import_module(f"{node_pkg.__name__}.{module}")
    seen: dict[str, NodeCase] = {}
    for case in node_pkg._NodeTestCases:  # filled by the imports (or an earlier collect_testcases())
        nodes = case.model.graph.node
        if len(nodes) != 1 or nodes[0].op_type not in OPS or case.name in seen:
            continue
        (inputs, outputs), = case.data_sets
        opset = next(o.version for o in case.model.opset_import if o.domain in ("", "ai.onnx"))
        seen[case.name] = NodeCase(case.name, nodes[0].op_type, opset, _attrs(nodes[0]), tuple(inputs),
                                   tuple(outputs), tuple(nodes[0].input), case.rtol, case.atol)
    return list(seen.values())
