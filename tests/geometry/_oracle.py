"""Helpers of the geometry oracle tests: hypothesis settings, geometry-driven NumPy references,
cached onnxruntime sessions built with ``onnx.helper``.

The references below take every position from padstride's geometry (``taps``/``targets``, i.e.
``pad_before``) and nothing else, so a framework output that equals them proves the pads sit
where the geometry says, not only that the sizes agree.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings

from padstride.geometry import AxisTranspose, AxisWindow, Geometry

os.environ.setdefault("KERAS_BACKEND", "torch")


def oracle_settings(examples: int) -> settings:
    """Fixed-seed hypothesis settings: the same configurations on every run."""
    return settings(
        derandomize=True,
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def torch_pad(pads: Sequence[tuple[int, int]]) -> list[int]:
    """``F.pad`` order (last axis first) of per-axis ``(before, after)`` pairs."""
    return [p for pair in reversed(pads) for p in pair]


def conv_ref_1d(x: np.ndarray, w: np.ndarray, win: AxisWindow) -> np.ndarray:
    """Cross-correlation of 1-D ``x`` with ``w`` at the geometry's taps (zeros outside)."""
    out = np.zeros(win.output)
    for j in range(win.output):
        for t, i in enumerate(win.taps(j)):
            if 0 <= i < win.input:
                out[j] += w[t] * x[i]
    return out


def transpose_ref_1d(x: np.ndarray, w: np.ndarray, ax: AxisTranspose) -> np.ndarray:
    """Transposed convolution of 1-D ``x``: input ``i`` adds ``x[i]·w[t]`` at ``targets(i)[t]``."""
    out = np.zeros(ax.output)
    for i in range(ax.input):
        for t, o in enumerate(ax.targets(i)):
            if 0 <= o < ax.output:
                out[o] += x[i] * w[t]
    return out


def outer(per_axis: Sequence[Sequence[float]]) -> np.ndarray:
    """Outer product of one vector per axis (separable N-D expectations)."""
    out = np.ones(())
    for vec in per_axis:
        out = np.multiply.outer(out, np.asarray(vec, dtype=np.float64))
    return out


def ones_conv_expected(geom: Geometry) -> np.ndarray:
    """Ones input ⊛ ones kernel: per output, the product over axes of taps on real input."""
    return outer([[a.real_cells(j) for j in range(a.output)] for a in geom.axes])


def ones_transpose_expected(geom: Geometry) -> np.ndarray:
    """Ones input, ones kernel, transposed: per output, the product of write counts."""
    return outer([a.write_counts() for a in geom.axes])


def ramp(shape: Sequence[int]) -> np.ndarray:
    """``1 + Σ_axis idx_axis · 100^(ndim−1−axis)``: strictly increasing along every axis."""
    out = np.ones(tuple(shape))
    for axis, n in enumerate(shape):
        view = [1] * len(shape)
        view[axis] = n
        out = out + np.arange(n).reshape(view) * 100.0 ** (len(shape) - 1 - axis)
    return out


def ramp_max_expected(geom: Geometry) -> np.ndarray:
    """Max pooling of :func:`ramp`: per axis the largest real tap (padding never wins)."""
    nd = geom.ndim
    out = np.ones(())
    for axis, a in enumerate(geom.axes):
        last = [max((i for i in a.taps(j) if 0 <= i < a.input), default=-np.inf)
                for j in range(a.output)]  # a window of pure padding gives −inf
        vec = np.asarray(last, dtype=np.float64) * 100.0 ** (nd - 1 - axis)
        out = np.add.outer(out, vec)
    return out


# --- onnxruntime ---------------------------------------------------------------------------

def _freeze(attrs: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in attrs.items()))


@functools.lru_cache(maxsize=4096)
def _ort_session(op: str, rank: int, wshape: tuple[int, ...] | None,
                 frozen: tuple[tuple[str, Any], ...], opset: int) -> Any:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    ort.set_default_logger_severity(4)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None] * rank)]
    names = ["x"]
    if wshape is not None:
        inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, list(wshape)))
        names.append("w")
    attrs = {k: list(v) if isinstance(v, tuple) else v for k, v in frozen}
    node = helper.make_node(op, names, ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.intra_op_num_threads = 1  # no thread pool: its spinning costs more than the op
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def ort_run(op: str, x: np.ndarray, w: np.ndarray | None = None, opset: int = 22,
            **attrs: Any) -> np.ndarray:
    """Run one ONNX node on ``x`` (NC…) with onnxruntime; the session is cached per attributes,
    and the spatial sizes are dynamic, so one session serves every input size."""
    sess = _ort_session(op, x.ndim, None if w is None else tuple(w.shape), _freeze(attrs), opset)
    feeds = {"x": x.astype(np.float32)}
    if w is not None:
        feeds["w"] = w.astype(np.float32)
    return np.asarray(sess.run(None, feeds)[0])
