"""channels_last against Keras 3 on the torch backend (float64 layers), and its pinned SAME-avg fault."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from padstride import geometry  # noqa: E402
from padstride.engine import conv, conv_transpose, pool  # noqa: E402
from padstride.geometry import PaddingError  # noqa: E402

from ._oracle import check, fixed  # noqa: E402

pytestmark = pytest.mark.skipif(keras.backend.backend() != "torch", reason="needs KERAS_BACKEND=torch")


def _run(layer: object, x: np.ndarray, weights: list[np.ndarray] | None = None) -> np.ndarray:
    layer.build(x.shape)  # type: ignore[attr-defined]
    if weights is not None:
        layer.set_weights(weights)  # type: ignore[attr-defined]
    return keras.ops.convert_to_numpy(layer(x))  # type: ignore[operator]


@fixed(25)
@given(st.data())
def test_conv_matches_keras(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 3), "nd")
    size = tuple(data.draw(st.lists(st.integers(1, {1: 10, 2: 8, 3: 5}[nd]), min_size=nd, max_size=nd), "size"))
    kernel = tuple(data.draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd), "kernel"))
    strided = data.draw(st.booleans(), "strided")  # Keras allows strides > 1 or dilation > 1, not both
    stride = tuple(data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd), "stride")) if strided \
        else (1,) * nd
    dil = (1,) * nd if strided else tuple(data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd), "dil"))
    padding = data.draw(st.sampled_from(["valid", "same"] + (["causal"] if nd == 1 else [])), "padding")
    groups = data.draw(st.sampled_from([1, 2]), "groups")
    try:
        geometry.conv(size, kernel, stride, padding, dil)
    except PaddingError:
        assume(False)
    rng = np.random.default_rng(nd)
    x = rng.standard_normal((2, *size, 2 * groups))
    w = rng.standard_normal((*kernel, 2, 3 * groups))
    b = rng.standard_normal(3 * groups)
    layer = getattr(keras.layers, f"Conv{nd}D")(3 * groups, kernel, stride, padding, dilation_rate=dil,
                                                  groups=groups, dtype="float64")
    want = _run(layer, x, [w, b])
    check(conv(x, w, b, stride, padding, dil, groups, layout="channels_last"), want,
          (nd, size, kernel, stride, dil, padding, groups))


@fixed(25)
@given(st.data())
def test_pool_matches_keras(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 3), "nd")
    size = tuple(data.draw(st.lists(st.integers(2, 8), min_size=nd, max_size=nd), "size"))
    kernel = tuple(data.draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd), "kernel"))
    stride = tuple(data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd), "stride"))
    padding = data.draw(st.sampled_from(["valid", "same"]), "padding")
    mode = data.draw(st.sampled_from(["max", "avg"]), "mode")
    try:
        geo = geometry.pool(size, kernel, stride, padding)
    except PaddingError:
        assume(False)
        return
    if mode == "avg" and padding == "same":  # Keras' torch backend is wrong for odd total pads (pinned below)
        assume(all((a.pad_before + a.pad_after) % 2 == 0 for a in geo))
    x = np.random.default_rng(2).standard_normal((2, *size, 3))
    name = {"max": "MaxPooling", "avg": "AveragePooling"}[mode]
    want = _run(getattr(keras.layers, f"{name}{nd}D")(kernel, stride, padding, dtype="float64"), x)
    check(pool(x, kernel, stride, padding, mode, layout="channels_last"), want, (size, kernel, stride, padding, mode))


def test_keras_same_average_pooling_fault_is_pinned() -> None:
    """Keras 3 (torch backend) pads SAME average pooling by replication when the total pad is odd
    (keras-team/keras #19721); TF's rule, which padstride follows, averages only real cells."""
    x = np.arange(36.0).reshape(1, 6, 6, 1)
    ours = pool(x, 3, 2, "same", "avg", layout="channels_last")
    keras_out = _run(keras.layers.AveragePooling2D(3, 2, "same", dtype="float64"), x)
    assert ours[0, :, :, 0].tolist() == [[7.0, 9.0, 10.5], [19.0, 21.0, 22.5], [28.0, 30.0, 31.5]]
    diff = np.abs(ours - keras_out)
    assert diff.max() > 1.0, "Keras now agrees with TF's SAME average pooling: drop this pin"
    assert diff[0, :2, :2].max() == 0  # interior windows agree, only the padded border differs


@fixed(20)
@given(st.data())
def test_conv_transpose_matches_keras(data: st.DataObject) -> None:
    nd = data.draw(st.integers(1, 3), "nd")
    size = tuple(data.draw(st.lists(st.integers(1, {1: 8, 2: 5, 3: 4}[nd]), min_size=nd, max_size=nd), "size"))
    kernel = tuple(data.draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd), "kernel"))
    stride = tuple(data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd), "stride"))
    padding = data.draw(st.sampled_from(["valid", "same"]), "padding")
    x = np.random.default_rng(4).standard_normal((2, *size, 3))
    w = np.random.default_rng(5).standard_normal((*kernel, 4, 3))  # Keras: (*k, C_out, C_in)
    b = np.random.default_rng(6).standard_normal(4)
    layer = getattr(keras.layers, f"Conv{nd}DTranspose")(4, kernel, stride, padding, dtype="float64")
    try:
        want = _run(layer, x, [w, b])
    except (ValueError, RuntimeError):
        assume(False)
        return
    cfg = (nd, size, kernel, stride, padding)
    # TF refuses 'same' with an even kernel and output_padding=0; elsewhere Keras places the crop as TF does
    check(conv_transpose(x, w, b, stride, padding, layout="channels_last"), want, cfg)


@fixed(15)
@given(st.data())
def test_conv_transpose_explicit_crops_match_keras(data: st.DataObject) -> None:
    """Any output_padding, including where TF refuses: the crops Keras itself computes (its
    ``compute_conv_transpose_output_crops_for_torch``) handed to the engine as explicit pads."""
    from keras.src.backend.common.backend_utils import compute_conv_transpose_output_crops_for_torch

    nd = data.draw(st.integers(1, 2), "nd")
    size = tuple(data.draw(st.lists(st.integers(2, 6), min_size=nd, max_size=nd), "size"))
    kernel = tuple(data.draw(st.lists(st.integers(1, 4), min_size=nd, max_size=nd), "kernel"))
    stride = tuple(data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd), "stride"))
    op = tuple(data.draw(st.integers(0, s - 1), f"op{i}") for i, s in enumerate(stride))
    padding = data.draw(st.sampled_from(["valid", "same"]), "padding")
    x = np.random.default_rng(8).standard_normal((1, *size, 2))
    w = np.random.default_rng(9).standard_normal((*kernel, 3, 2))
    layer = getattr(keras.layers, f"Conv{nd}DTranspose")(3, kernel, stride, padding, output_padding=op,
                                                         use_bias=False, dtype="float64")
    want = _run(layer, x, [w])
    assume(0 not in want.shape)
    crops = compute_conv_transpose_output_crops_for_torch((1, 2, *size), (*kernel, 3, 2), stride, padding, op, 1)
    got = conv_transpose(x, w, None, stride, [tuple(c) for c in crops], layout="channels_last")
    check(got, want, (nd, size, kernel, stride, op, padding, crops))
