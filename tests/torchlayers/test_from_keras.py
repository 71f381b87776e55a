"""padstride.torch.from_keras against Keras 3 on the torch backend: seed models and every layer kind."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from examples.seed_models import SEED_MODELS

from padstride.torch import KerasPortError, from_keras


def _check(model, atol=1e-5, seed=0):
    """Keras output vs the ported module on the same (channels-last → channels-first) input."""
    rng = np.random.default_rng(seed)
    inputs = [rng.random((2, *t.shape[1:])).astype("float32") for t in model.inputs]
    want = keras.ops.convert_to_numpy(model(inputs if len(inputs) > 1 else inputs[0]))
    net = from_keras(model)
    torch_in = [torch.from_numpy(x).movedim(-1, 1) if x.ndim > 2 else torch.from_numpy(x) for x in inputs]
    with torch.no_grad():
        got = net(*torch_in)
    got = got.movedim(1, -1).numpy() if got.dim() > 2 else got.numpy()
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=atol, rtol=0)
    return net


@pytest.mark.parametrize("name", sorted(SEED_MODELS))
def test_seed_models_round_trip(name):
    keras.utils.set_random_seed(0)
    _check(SEED_MODELS[name]())


def test_functional_with_every_supported_kind(tmp_path):
    keras.utils.set_random_seed(1)
    L = keras.layers
    inp = keras.Input((11, 13, 3))
    x = L.ZeroPadding2D(((1, 2), (0, 1)))(inp)
    x = L.Conv2D(6, 4, strides=2, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU(0.1)(x)
    y = L.Conv2D(6, 1, activation="tanh")(x)
    x = L.Add()([x, y])
    x = L.AveragePooling2D(2, 1, padding="valid")(x)
    x = L.MaxPooling2D(3, 2, padding="same")(x)
    x = L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(x)
    x = L.Cropping2D(((1, 1), (0, 2)))(x)
    x = L.Dropout(0.5)(x)
    z = L.UpSampling2D(2)(L.Conv2D(4, 3, strides=2, padding="same")(x))
    x = L.Concatenate()([x, z])
    x = L.Activation("sigmoid")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(5)(x)
    out = L.Softmax()(x)
    model = keras.Model(inp, out)
    # make BatchNorm's statistics non-trivial
    bn = next(layer for layer in model.layers if isinstance(layer, L.BatchNormalization))
    bn.moving_mean.assign(np.linspace(-1, 1, 6).astype("float32"))
    bn.moving_variance.assign(np.linspace(0.5, 2, 6).astype("float32"))
    _check(model)
    path = tmp_path / "model.keras"
    model.save(path)
    _check(keras.saving.load_model(path))
    net = from_keras(str(path))
    assert isinstance(net, torch.nn.Module) and not net.training


def test_1d_and_3d_layers():
    keras.utils.set_random_seed(2)
    L = keras.layers
    model = keras.Sequential([
        keras.Input((17, 2)), L.Conv1D(3, 4, padding="causal", dilation_rate=2),
        L.Conv1D(3, 3, strides=2, padding="same"),
        L.Conv1DTranspose(2, 4, strides=3, padding="valid"), L.MaxPooling1D(2, padding="same"),
        L.GlobalMaxPooling1D(), L.Dense(2),
    ])
    _check(model)
    model3 = keras.Sequential([
        keras.Input((5, 6, 7, 2)), L.Conv3D(3, (2, 3, 2), strides=(2, 1, 2), padding="same"),
        L.Conv3DTranspose(2, 2, strides=2, padding="same"), L.AveragePooling3D(2), L.Flatten(), L.Dense(3),
    ])
    _check(model3)


def test_flatten_order_is_channels_last():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((3, 4, 5)), keras.layers.Flatten(), keras.layers.Dense(2)])
    _check(model, atol=1e-6)


def test_unsupported_layer_is_named():
    model = keras.Sequential([
        keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3), keras.layers.Reshape((8,), name="my_reshape"),
        keras.layers.LayerNormalization(),
    ])
    with pytest.raises(KerasPortError, match=r"'my_reshape' \(Reshape\)"):
        from_keras(model)


def test_unbuilt_model_is_refused():
    with pytest.raises(KerasPortError, match="Input"):
        from_keras(keras.Sequential([keras.layers.Dense(2)]))
