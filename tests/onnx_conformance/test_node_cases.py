"""ONNX's conformance suite as an oracle: every node case of Conv, ConvTranspose, MaxPool,
AveragePool (and their Global forms) and Pad in ``onnx.backend.test.case.node``, run through
``padstride.engine`` (values against ONNX's expected outputs) and ``padstride.geometry`` (shapes).

ONNX attributes map one to one: ``auto_pad`` SAME_UPPER/SAME_LOWER/VALID are the conventions
``same``/``same_lower``/``valid``, ``pads`` ``[b₁…, e₁…]`` are per-axis ``(b, e)`` pairs, pooling
uses ``rule="onnx"`` and ONNX's defaults (stride 1, ``count_include_pad=0``), ConvTranspose
``rule="onnx"`` with ``output_shape`` as ``output_size``. What the engine cannot express is listed in
:data:`NOT_EXPRESSIBLE` with the reason; such a case still has its other outputs checked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("onnx")

from padstride import engine, geometry

from ._cases import OPS, NodeCase, node_cases

CASES = node_cases()
BY_NAME = {c.name: c for c in CASES}

#: Outputs the engine has no counterpart for: case name → (output index, reason).
NOT_EXPRESSIBLE: dict[str, tuple[int, str]] = {
    "test_maxpool_with_argmax_2d_precomputed_pads": (
        1, "MaxPool's Indices output: engine.pool returns the values only (no argmax)"),
    "test_maxpool_with_argmax_2d_precomputed_strides": (
        1, "MaxPool's Indices output with storage_order=1 (column-major indices): engine.pool returns "
           "the values only"),
}

AUTO_PAD = {"SAME_UPPER": "same", "SAME_LOWER": "same_lower", "VALID": "valid"}


def _padding(attrs: dict[str, Any], nd: int) -> object:
    auto = attrs.get("auto_pad", "NOTSET")
    if auto != "NOTSET":
        return AUTO_PAD[auto]
    pads = list(attrs.get("pads", [0] * 2 * nd))
    return [(pads[i], pads[i + nd]) for i in range(nd)]


def _spatial(case: NodeCase) -> tuple[int, ...]:
    return tuple(case.inputs[0].shape[2:])


def run_engine(case: NodeCase) -> np.ndarray:
    """The case's first output, computed by ``padstride.engine``."""
    a, x = case.attrs, case.inputs[0]
    nd = x.ndim - 2
    if case.op == "Conv":
        w = case.inputs[1]
        bias = case.inputs[2] if len(case.inputs) > 2 else None
        return engine.conv(x, w, bias, a.get("strides", 1), _padding(a, nd), a.get("dilations", 1),
                           a.get("group", 1))
    if case.op == "ConvTranspose":
        w = case.inputs[1]
        bias = case.inputs[2] if len(case.inputs) > 2 else None
        return engine.conv_transpose(x, w, bias, a.get("strides", 1), _padding(a, nd), a.get("output_padding", 0),
                                     a.get("dilations", 1), a.get("group", 1), rule="onnx",
                                     output_size=a.get("output_shape"))
    if case.op in ("MaxPool", "AveragePool"):
        return engine.pool(x, a["kernel_shape"], a.get("strides", 1), _padding(a, nd),
                           "max" if case.op == "MaxPool" else "avg", bool(a.get("ceil_mode", 0)),
                           bool(a.get("count_include_pad", 0)), a.get("dilations", 1), rule="onnx")
    if case.op in ("GlobalMaxPool", "GlobalAveragePool"):
        return engine.pool(x, _spatial(case), mode="max" if case.op == "GlobalMaxPool" else "avg")
    if case.op == "Pad":
        inputs = dict(zip(case.input_names, case.inputs, strict=False))
        pads = [int(p) for p in inputs[case.input_names[1]]]
        value = case.inputs[2] if len(case.inputs) > 2 and case.input_names[2] else 0
        axes = [int(v) % x.ndim for v in case.inputs[3]] if len(case.inputs) > 3 else list(range(x.ndim))
        half = len(pads) // 2
        pairs = [(pads[i], pads[i + half]) for i in range(half)]
        return engine.pad(x, pairs, a.get("mode", "constant"), float(value), axes=axes)
    raise AssertionError(f"no engine mapping for {case.op}")


def run_geometry(case: NodeCase) -> tuple[int, ...]:
    """The case's output spatial shape, computed by ``padstride.geometry``."""
    a, n = case.attrs, _spatial(case)
    nd = len(n)
    if case.op == "Conv":
        return geometry.conv(n, case.inputs[1].shape[2:], a.get("strides", 1), _padding(a, nd),
                             a.get("dilations", 1)).output
    if case.op == "ConvTranspose":
        return geometry.conv_transpose(n, case.inputs[1].shape[2:], a.get("strides", 1), _padding(a, nd),
                                       a.get("output_padding", 0), a.get("dilations", 1), rule="onnx",
                                       output_size=a.get("output_shape")).output
    if case.op in ("MaxPool", "AveragePool"):
        return geometry.pool(n, a["kernel_shape"], a.get("strides", 1), _padding(a, nd), a.get("dilations", 1),
                             bool(a.get("ceil_mode", 0)), rule="onnx").output
    if case.op in ("GlobalMaxPool", "GlobalAveragePool"):
        return geometry.pool(n, n).output
    raise AssertionError(f"no geometry mapping for {case.op}")


def test_the_suite_is_there() -> None:
    """ONNX's suite has these ops' cases (a missing module would silently test nothing)."""
    ops = {c.op for c in CASES}
    assert ops == set(OPS), ops
    assert len(CASES) >= 60, len(CASES)
    for name in ("test_maxpool_2d_ceil_output_size_reduce_by_one", "test_averagepool_2d_ceil_last_window_starts_on_pad",
                 "test_averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True"):
        assert name in BY_NAME


def test_not_expressible_list_is_exact() -> None:
    """Every case with an output the engine cannot give is listed, and every listed case exists."""
    multi = {c.name for c in CASES if len(c.outputs) > 1}
    assert multi == set(NOT_EXPRESSIBLE), multi ^ set(NOT_EXPRESSIBLE)


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_engine_matches_onnx_case(name: str) -> None:
    case = BY_NAME[name]
    want = case.outputs[0]
    got = run_engine(case)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != ONNX's {want.shape} ({case.attrs})"
    assert got.dtype == want.dtype, f"{name}: dtype {got.dtype} != ONNX's {want.dtype}"
    if want.dtype.kind == "f":  # ONNX's own tolerance (rtol 1e-3, atol 1e-7: some outputs are typed rounded)
        np.testing.assert_allclose(got, want, rtol=case.rtol, atol=case.atol, err_msg=f"{name} {case.attrs}")
    else:
        np.testing.assert_array_equal(got, want, err_msg=f"{name} {case.attrs}")


@pytest.mark.parametrize("name", [c.name for c in CASES if c.op != "Pad"])
def test_geometry_matches_onnx_case_shape(name: str) -> None:
    case = BY_NAME[name]
    want = tuple(case.outputs[0].shape[2:])
    assert run_geometry(case) == want, f"{name}: {case.attrs} on {_spatial(case)}"


def test_plain_ceil_rule_fails_onnx_own_cases() -> None:
    """The old rule (plain ceil, the opset 10–21 text; now ``rule="plain"``) contradicts two cases."""
    wrong = []
    for case in CASES:
        if case.op in ("MaxPool", "AveragePool") and case.attrs.get("ceil_mode"):
            a = case.attrs
            plain = geometry.pool(_spatial(case), a["kernel_shape"], a.get("strides", 1),
                                  _padding(a, len(_spatial(case))), a.get("dilations", 1), True, rule="plain")
            if plain.output != case.outputs[0].shape[2:]:
                wrong.append(case.name)
    assert sorted(wrong) == ["test_averagepool_2d_ceil_last_window_starts_on_pad",
                             "test_maxpool_2d_ceil_output_size_reduce_by_one"]


@pytest.mark.parametrize("opset", [10, 19, 22])
def test_onnx_reference_implementation_uses_the_onnx_rule(opset: int) -> None:
    """``onnx.reference`` (the ONNX package's own runtime) drops a last ceil_mode window that
    starts in the right padding at every opset, even where the opset's text says plain ceil.
    Strides ≥ 2 only: at stride 1 ceil is floor, and the reference's stride-1 MaxPool takes another
    path that misreads 1-D ``pads``."""
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    differ = ran = refused = 0
    grid = [(n, k, s, b, a) for n in range(1, 7) for k in range(1, 4) for s in range(2, 4)
            for b in range(k) for a in range(k) if n + b + a >= k]
    for n, k, s, b, a in grid[::2]:
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[k], strides=[s], pads=[b, a], ceil_mode=1)
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        try:
            y = ReferenceEvaluator(model).run(None, {"x": np.ones((1, 1, n), np.float32)})[0]
        except RuntimeError:  # "output shape cannot be null": a window longer than the unpadded input
            refused += 1
            continue
        ran += 1
        want = geometry.pool_output_size(n, k, s, b, a, ceil_mode=True, rule="onnx")
        assert y.shape[-1] == want, dict(n=n, k=k, s=s, pads=(b, a), opset=opset)
        differ += want != geometry.pool_output_size(n, k, s, b, a, ceil_mode=True, rule="plain")
    assert differ > 0 and ran > 4 * refused, (differ, ran, refused)  # the grid reaches where the rules differ
