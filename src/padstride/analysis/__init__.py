"""padstride.analysis — static whole-network analysis: shapes, pads, params, MACs, receptive fields.

Build a graph (Python builder, YAML spec, or an adapter for torch, Keras and ONNX models) and run
one propagation pass; nothing is executed and no activation is allocated.

>>> from padstride.analysis import GraphBuilder, analyze
>>> b = GraphBuilder("tiny")
>>> x = b.max_pool(b.conv(b.input((1, 28, 28)), 8, 3, padding=1), 2)
>>> s = analyze(b.build())
>>> s.layer("max_pool").shape, s.total_params, s.output_rf[0].size
((8, 14, 14), 80, 4)
"""

from __future__ import annotations

from .builder import GraphBuilder
from .ir import OPS, Graph, GraphError, Node
from .layer import LayerInfo
from .load import analyze, load_model
from .propagate import ShapeError, propagate
from .rf import AxisMap, AxisRF, union
from .spec import SpecError, graph_from_spec, load_spec
from .summary import Summary

__all__ = [
    "OPS",
    "AxisMap",
    "AxisRF",
    "Graph",
    "GraphBuilder",
    "GraphError",
    "LayerInfo",
    "Node",
    "ShapeError",
    "SpecError",
    "Summary",
    "analyze",
    "graph_from_spec",
    "load_model",
    "load_spec",
    "propagate",
    "union",
]
