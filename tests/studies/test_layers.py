"""The studies' layer factory against Keras (the framework that defines TF SAME), weights copied."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from padstride.studies.layers import conv_layer, max_pool

keras = pytest.importorskip("keras")


@settings(derandomize=True, max_examples=12, deadline=None)
@given(n=st.integers(5, 16), k=st.integers(1, 4), s=st.integers(1, 3), pad=st.sampled_from(["same", "valid"]))
def test_conv_and_pool_match_keras(n, k, s, pad):
    import torch

    config = f"n={n} k={k} s={s} padding={pad}"
    x = np.random.default_rng(n * 100 + k * 10 + s).random((2, n, n, 3), dtype=np.float32)
    conv = conv_layer(3, 4, k, stride=s, padding=pad)
    ref = keras.layers.Conv2D(4, k, strides=s, padding=pad)
    ref.build((None, n, n, 3))
    weight = conv.weight.detach().numpy()
    ref.set_weights([weight.transpose(2, 3, 1, 0), conv.bias.detach().numpy()])
    with torch.no_grad():
        ours = conv(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
    theirs = keras.ops.convert_to_numpy(ref(x))
    assert ours.shape == theirs.shape, config
    np.testing.assert_allclose(ours, theirs, atol=1e-5, err_msg=config)
    if k <= n:
        pool = max_pool(k, stride=s, padding=pad)
        with torch.no_grad():
            ours = pool(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 3, 1)
        theirs = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(k, s, padding=pad)(x))
        np.testing.assert_allclose(ours, theirs, atol=1e-6, err_msg=f"max pool {config}")


@pytest.mark.parametrize("arch,padding,stride,pool", [
    ("seed003", "valid", 1, True), ("seed003", "same", 1, True), ("seed003", "same", 2, True),
    ("seed003", "same", [2, 2, 1], True), ("slide4", "valid", 1, True), ("slide4", "same", 1, True),
    ("slide4", "same", [2, 2, 1], False), ("slide11", "valid", 1, True),
])
def test_params_equal_keras(arch, padding, stride, pool):
    from padstride.studies.models import ARCHITECTURES, build_classifier, per_layer

    ours = build_classifier(arch, padding=padding, stride=stride, pool=pool)
    strides = iter(per_layer(stride, 3 if arch != "slide11" else 2, "stride"))
    layers = [keras.Input((28, 28, 1))]
    for stage in ARCHITECTURES[arch]["features"]:
        if stage == "P":
            if pool:
                layers.append(keras.layers.MaxPooling2D(2))
            continue
        layers.append(keras.layers.Conv2D(stage, 3, strides=next(strides), padding=padding, activation="relu"))
    last_conv = len(layers) - 2  # index in model.layers (the Input is not a layer)
    dense = [keras.layers.Dense(d, activation="relu") for d in ARCHITECTURES[arch]["dense"]]
    model = keras.Sequential([*layers, keras.layers.Flatten(), *dense, keras.layers.Dense(10)])
    config = (arch, padding, stride, pool)
    assert sum(p.numel() for p in ours.parameters()) == model.count_params(), config
    assert tuple(ours.feature_shapes[-1][1:]) == tuple(model.layers[last_conv].output.shape[1:3]), config
