"""ONNX's own node conformance cases (shipped in the ``onnx`` package): padstride's shapes vs their expected outputs.

Each case is a one-node model whose weights are graph inputs, with input data and the expected
output that ONNX's reference computed (``onnx.backend.test.case.node``: importing a module runs
its cases' ``expect``). padstride must treat the weight inputs as parameters, read the node and
give the expected output's shape; parameters equal the weight inputs' sizes.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

from padstride.analysis import analyze

onnx = pytest.importorskip("onnx")

FAMILIES = ("conv", "convtranspose", "maxpool", "averagepool", "pad")  # lppool: 6 s more of reference pooling
PREFIXES = ("test_conv", "test_convtranspose", "test_maxpool", "test_averagepool", "test_constant_pad",
            "test_edge_pad", "test_reflect_pad", "test_wrap_pad")
WEIGHTED = {"Conv": (1, 2), "ConvTranspose": (1, 2), "ConvInteger": (1,)}


def _cases() -> dict[str, object]:
    from onnx.backend.test.case import node as registry

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for family in FAMILIES:
            importlib.import_module(f"onnx.backend.test.case.node.{family}")
    return {c.name: c for c in registry._NodeTestCases if c.name.startswith(PREFIXES)}


CASES = _cases()


def test_every_family_is_there() -> None:
    assert len(CASES) >= 55, sorted(CASES)
    for prefix in PREFIXES:
        assert any(name.startswith(prefix) for name in CASES), prefix


@pytest.mark.parametrize("name", sorted(CASES))
def test_conformance_case_shape(name: str) -> None:
    case = CASES[name]
    model = case.model
    inputs, outputs = case.data_sets[0]
    node = model.graph.node[0]
    s = analyze(model)
    assert not s.errors, s.errors
    assert s.layer(s.graph.outputs[0]).shape == tuple(np.asarray(outputs[0]).shape[1:])
    weights = [np.asarray(v).size for k, v in enumerate(inputs) if k in WEIGHTED.get(node.op_type, ())]
    assert s.total_params == sum(w for w in weights if w > 1)
    assert len(s.graph.inputs) == 1
