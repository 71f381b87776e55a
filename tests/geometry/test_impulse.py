"""Where did the pads go? Read ``pad_before`` back from each framework's output.

Convolution: a ramp input (``x[i] = i + 1``, in 2-D ``x[i, j] = i·W + j + 1``) and a delta kernel
at tap ``t``: output ``j`` holds ``x[j·s − pad_before + t·d]``, so every non-zero output names the
pad that framework used. Transposed convolution: an impulse at input ``i0`` and a delta kernel at
``t`` land at ``i0·s − pad_before + t·d``; its position names the start crop. Each framework is
asked in its own convention words (PyTorch ``padding='same'``/int, ONNX ``auto_pad``/``pads``,
Keras ``'same'``/``'valid'``/``'causal'``); the geometry must name the same pad.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.geometry import PaddingError, conv, conv_transpose

from ._oracle import oracle_settings, ort_run

os.environ.setdefault("KERAS_BACKEND", "torch")
torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
pytest.importorskip("onnxruntime")

ONNX_AUTO = {"same": "SAME_UPPER", "same_lower": "SAME_LOWER", "valid": "VALID"}
CONV_CONVENTIONS = {
    "torch": ["torch_same", "explicit"],
    "onnxruntime": ["same", "same_lower", "valid", "explicit"],
    "keras": ["same", "valid", "causal"],
}


def _delta(k: tuple[int, ...], t: tuple[int, ...]) -> np.ndarray:
    w = np.zeros(k)
    w[t] = 1.0
    return w


# --- running one conv in each framework's own words ----------------------------------------

def _conv(framework: str, x: np.ndarray, w: np.ndarray, s: tuple[int, ...], d: tuple[int, ...],
          spec: Any) -> np.ndarray:
    nd = x.ndim
    if framework == "torch":
        f = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d}[nd]
        padding = "same" if spec == "torch_same" else tuple(b for b, _ in spec)
        y = f(torch.from_numpy(x)[None, None], torch.from_numpy(w)[None, None], stride=s,
              dilation=d, padding=padding)
        return y[0, 0].numpy()
    if framework == "onnxruntime":
        attrs: dict[str, Any] = dict(kernel_shape=list(w.shape), strides=list(s), dilations=list(d))
        if isinstance(spec, str):
            attrs["auto_pad"] = ONNX_AUTO[spec]
        else:
            attrs["pads"] = [b for b, _ in spec] + [a for _, a in spec]
        return ort_run("Conv", x[None, None], w[None, None], **attrs)[0, 0]
    layer = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}[nd](
        1, w.shape, s, spec, dilation_rate=d, use_bias=False)
    layer.build((None, *x.shape, 1))
    layer.set_weights([w.reshape((*w.shape, 1, 1)).astype(np.float32)])
    out = layer(x[None, ..., None].astype(np.float32))
    return np.asarray(keras.ops.convert_to_numpy(out))[0, ..., 0]


def _conv_transpose(framework: str, x: np.ndarray, w: np.ndarray, s: tuple[int, ...],
                    spec: Any, op: tuple[int, ...] | None) -> np.ndarray:
    nd = x.ndim
    if framework == "torch":
        f = {1: torch.nn.functional.conv_transpose1d, 2: torch.nn.functional.conv_transpose2d}[nd]
        y = f(torch.from_numpy(x)[None, None], torch.from_numpy(w)[None, None], stride=s,
              padding=tuple(b for b, _ in spec), output_padding=op or 0)
        return y[0, 0].numpy()
    if framework == "onnxruntime":
        attrs: dict[str, Any] = dict(kernel_shape=list(w.shape), strides=list(s),
                                     output_padding=list(op or (0,) * nd))
        if isinstance(spec, str):
            attrs["auto_pad"] = ONNX_AUTO[spec]
        else:
            attrs["pads"] = [b for b, _ in spec] + [a for _, a in spec]
        return ort_run("ConvTranspose", x[None, None], w[None, None], **attrs)[0, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = {1: keras.layers.Conv1DTranspose, 2: keras.layers.Conv2DTranspose}[nd](
            1, w.shape, s, spec, output_padding=op, use_bias=False)
    layer.build((None, *x.shape, 1))
    layer.set_weights([w.reshape((*w.shape, 1, 1)).astype(np.float32)])
    out = layer(x[None, ..., None].astype(np.float32))
    return np.asarray(keras.ops.convert_to_numpy(out))[0, ..., 0]


# --- the tests -----------------------------------------------------------------------------

@oracle_settings(240)
@given(framework=st.sampled_from(["torch", "onnxruntime", "keras"]), nd=st.integers(1, 2),
       data=st.data())
def test_ramp_through_delta_kernel_reveals_pad_before(framework: str, nd: int,
                                                      data: st.DataObject,
                                                      oracle_count: Counter[str]) -> None:
    name = data.draw(st.sampled_from(CONV_CONVENTIONS[framework] if nd == 1 else
                                     [c for c in CONV_CONVENTIONS[framework] if c != "causal"]))
    k = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
    t = tuple(data.draw(st.integers(0, ki - 1)) for ki in k)
    n = tuple(data.draw(st.integers(1, 11)) for _ in range(nd))
    dilated = data.draw(st.booleans()) and not (framework == "onnxruntime" and name in ONNX_AUTO
                                                and name != "valid")
    strided = not dilated and name != "torch_same"
    s = tuple(data.draw(st.integers(1, 3)) if strided else 1 for _ in range(nd))
    d = tuple(data.draw(st.integers(1, 3)) if dilated else 1 for _ in range(nd))
    sym = framework == "torch"
    spec: Any = name
    if name == "explicit":
        spec = tuple((p, p) if sym else (p, data.draw(st.integers(0, 3)))
                     for p in (data.draw(st.integers(0, 3)) for _ in range(nd)))
    cfg = dict(framework=framework, n=n, k=k, t=t, s=s, d=d, padding=spec)
    try:
        geom = conv(n, k, s, spec, d)
    except PaddingError:
        return
    oracle_count[framework] += 1
    x = np.arange(1.0, float(np.prod(n)) + 1).reshape(n)
    y = _conv(framework, x, _delta(k, t), s, d, spec)
    assert y.shape == geom.output, f"{cfg}: {y.shape} vs geometry {geom.output}"
    for idx in np.ndindex(*y.shape):
        value = round(float(y[idx]))
        taps = [a.taps(j)[ti] for a, j, ti in zip(geom.axes, idx, t, strict=True)]
        inside = all(0 <= i < a.input for i, a in zip(taps, geom.axes, strict=True))
        if not value:
            assert not inside, f"{cfg}: output {idx} reads padding, geometry says input {taps}"
            continue
        read = np.unravel_index(value - 1, n)  # the input index this output really read
        pads = tuple(j * a.stride + ti * a.dilation - int(i)
                     for a, j, ti, i in zip(geom.axes, idx, t, read, strict=True))
        assert pads == tuple(a.pad_before for a in geom.axes), (
            f"{cfg}: output {idx} says pad_before {pads}, geometry {geom.pads}")


@oracle_settings(150)
@given(framework=st.sampled_from(["torch", "onnxruntime", "keras"]), nd=st.integers(1, 2),
       data=st.data())
def test_impulse_through_transposed_conv_reveals_crop(framework: str, nd: int,
                                                      data: st.DataObject,
                                                      oracle_count: Counter[str]) -> None:
    k = tuple(data.draw(st.integers(1, 5)) for _ in range(nd))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    n = tuple(data.draw(st.integers(1, 6)) for _ in range(nd))
    t = tuple(data.draw(st.integers(0, ki - 1)) for ki in k)
    i0 = tuple(data.draw(st.integers(0, ni - 1)) for ni in n)
    op = tuple(data.draw(st.integers(0, si - 1)) for si in s) if data.draw(st.booleans()) else None
    names = {"torch": ["explicit"], "onnxruntime": ["same", "same_lower", "valid", "explicit"],
             "keras": ["same", "valid"]}[framework]
    name = data.draw(st.sampled_from(names))
    spec: Any = name
    if name == "explicit":
        spec = tuple((p, p) if framework == "torch" else (p, data.draw(st.integers(0, 2)))
                     for p in (data.draw(st.integers(0, 2)) for _ in range(nd)))
    rule = {"torch": "keras", "onnxruntime": "onnxruntime", "keras": "keras_torch"}[framework]
    cfg = dict(framework=framework, n=n, k=k, t=t, s=s, i0=i0, padding=spec, output_padding=op)
    try:
        geom = conv_transpose(n, k, s, spec, op, rule=rule)
    except PaddingError:
        return
    oracle_count[framework] += 1
    x = np.zeros(n)
    x[i0] = 1.0
    y = _conv_transpose(framework, x, _delta(k, t), s, spec, op)
    assert y.shape == geom.output, f"{cfg}: {y.shape} vs geometry {geom.output}"
    target = tuple(a.targets(i)[ti] for a, i, ti in zip(geom.axes, i0, t, strict=True))
    if not all(0 <= o < a.output for o, a in zip(target, geom.axes, strict=True)):
        assert not y.any(), f"{cfg}: geometry crops the impulse at {target}, framework kept it"
        return
    hit = tuple(int(v) for v in np.unravel_index(int(np.argmax(y)), y.shape))
    assert y[hit] == pytest.approx(1.0) and np.count_nonzero(y) == 1, cfg
    crops = tuple(i * a.stride + ti * a.dilation - o
                  for a, i, ti, o in zip(geom.axes, i0, t, hit, strict=True))
    assert crops == tuple(a.pad_before for a in geom.axes), (
        f"{cfg}: the impulse says crop {crops}, geometry {geom.pads}")
