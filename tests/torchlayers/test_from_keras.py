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


class Swirl(keras.layers.Layer):
    """A layer padstride has no module for."""

    def call(self, x):
        return keras.ops.flip(x, axis=-1)


def test_unsupported_layer_is_named():
    model = keras.Sequential([
        keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3), Swirl(name="my_swirl"), keras.layers.LayerNormalization(),
    ])
    with pytest.raises(KerasPortError, match=r"^layer 'my_swirl' \(Swirl\) is not supported"):
        from_keras(model)


def test_unbuilt_model_is_refused():
    with pytest.raises(KerasPortError, match="Input"):
        from_keras(keras.Sequential([keras.layers.Dense(2)]))


def _rel_check(model, inputs_scale=1.0, rtol=1e-4, seed=0):
    """Outputs equal Keras' within ``rtol`` of the output scale (max |Keras|)."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((2, *model.inputs[0].shape[1:])) * inputs_scale).astype("float32")
    want = keras.ops.convert_to_numpy(model(x, training=False))
    layout_last = getattr(model, "_padstride_channels_first", False) is False
    tx = torch.from_numpy(x)
    if layout_last and x.ndim > 2:
        tx = tx.movedim(-1, 1)
    with torch.no_grad():
        got = from_keras(model)(tx)
    if layout_last and got.dim() > 2:
        got = got.movedim(1, -1)
    got = got.numpy()
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(float(np.abs(want).max()), 1e-12)
    assert float(np.abs(got - want).max()) / scale < rtol, float(np.abs(got - want).max()) / scale
    return float(np.abs(got - want).max()) / scale


L = keras.layers


@pytest.mark.parametrize("kw", [
    {}, {"max_value": 6.0}, {"max_value": 2.5}, {"negative_slope": 0.1}, {"threshold": 0.5},
    {"threshold": 0.5, "negative_slope": 0.2}, {"max_value": 1.0, "negative_slope": 0.3, "threshold": 0.2},
])
def test_relu_variants(kw):
    model = keras.Sequential([keras.Input((5, 6, 2)), L.ReLU(**kw)])
    _rel_check(model, inputs_scale=3.0, rtol=1e-6)


ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "silu", "swish", "gelu",
               "hard_sigmoid", "hard_silu", "mish", "exponential", "linear", "leaky_relu", "softmax", "log_softmax",
               "celu", "hard_tanh", "log_sigmoid", "tanh_shrink", "sparse_plus", "squareplus"]


@pytest.mark.parametrize("fn", ACTIVATIONS)
def test_every_activation_as_a_layer_and_an_argument(fn):
    keras.utils.set_random_seed(7)
    inp = keras.Input((7, 5, 3))
    x = L.Activation(fn)(inp)
    out = L.Dense(3, activation=fn)(L.Flatten()(x))
    _rel_check(keras.Model(inp, out), inputs_scale=0.3 if fn == "exponential" else 2.0)


def test_keras_ops_arithmetic_on_tensors():
    keras.utils.set_random_seed(8)
    ops = keras.ops
    inp = keras.Input((6, 7, 4))
    x = L.Conv2D(4, 1)(inp)
    gate = ops.relu6(x + 3.0) * (1.0 / 6.0)  # MobileNetV3's hard sigmoid
    y = x * gate
    y = 2.0 - y
    y = ops.sigmoid(y) + ops.tanh(x)
    y = ops.maximum(y, 0.25) / 1.5
    y = ops.square(y) - x
    _rel_check(keras.Model(inp, y))


def test_preprocessing_and_normalization_layers():
    keras.utils.set_random_seed(9)
    inp = keras.Input((9, 7, 3))
    x = L.Rescaling(1 / 127.5, offset=-1.0)(inp)
    x = L.Rescaling([0.5, 2.0, 1.5])(x)  # a scale per channel
    x = L.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 4.0, 0.25])(x)
    adapted = L.Normalization()
    x = adapted(x)
    x = L.LayerNormalization(epsilon=1e-6)(x)
    x = L.BatchNormalization(center=False, epsilon=1e-2)(x)
    x = L.BatchNormalization(scale=False, momentum=0.9)(x)
    model = keras.Model(inp, L.GroupNormalization(groups=3)(x))
    adapted.adapt(np.random.default_rng(1).random((16, 9, 7, 3)).astype("float32"))
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(np.linspace(-0.5, 0.5, c).astype("float32"))
            layer.moving_variance.assign(np.linspace(0.5, 2.0, c).astype("float32"))
    _rel_check(model, inputs_scale=100.0)


def test_convolution_kinds_merges_and_reshapes():
    keras.utils.set_random_seed(10)
    inp = keras.Input((12, 13, 4))
    a = L.SeparableConv2D(6, 3, strides=2, padding="same", depth_multiplier=2, activation="relu")(inp)
    b = L.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2, use_bias=True)(inp)
    b = L.Conv2D(6, 1, groups=2)(b)
    x = L.Multiply()([a, b])
    x = L.Subtract()([x, a])
    x = L.Average()([x, a, b])
    x = L.Maximum()([x, b])
    x = L.Minimum()([x, a])
    c = L.Conv2D(6, 3, padding="same", groups=3, dilation_rate=2)(x)
    x = L.Concatenate(axis=-1)([x, c])
    x = L.Dense(5)(x)  # a Dense on a feature map: on the channels
    x = L.Reshape((-1, 5))(x)
    x = L.Reshape((6, 7, 5))(x)
    se = L.GlobalAveragePooling2D(keepdims=True)(x)
    x = L.Multiply()([x, L.Conv2D(5, 1, activation="sigmoid")(se)])  # a broadcast gate
    x = L.SeparableConv1D(3, 3, padding="same")(L.Reshape((42, 5))(x))
    _rel_check(keras.Model(inp, L.GlobalMaxPooling1D()(x)))


def test_custom_scale_and_layer_scale_from_the_applications():
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    keras.utils.set_random_seed(11)
    inp = keras.Input((5, 5, 4))
    r = L.Conv2D(4, 1)(inp)
    x = CustomScaleLayer(0.17)([inp, r])
    ls = LayerScale(0.5, 4)
    x = ls(x)
    x = StochasticDepth(0.1)(x)
    model = keras.Model(inp, x)
    ls.gamma.assign(np.array([0.5, -1.0, 2.0, 0.25], dtype="float32"))
    _rel_check(model)


def test_nested_and_shared_models(tmp_path):
    keras.utils.set_random_seed(12)
    inner_in = keras.Input((None, None, 3))
    inner = keras.Model(inner_in, L.Conv2D(3, 3, padding="same", activation="relu")(inner_in), name="inner")
    block = keras.Sequential([L.Conv2D(3, 3, strides=2, padding="same"), L.BatchNormalization()], name="block")
    inp = keras.Input((11, 9, 3))
    x = inner(inp)
    x = inner(x)  # called twice: one module, the same weights
    x = block(x)
    model = keras.Model(inp, L.Flatten()(x))
    _rel_check(model)
    net = from_keras(model)
    assert net.layers["inner"] is net.layers["inner_call1"]
    torch_params = sum(p.numel() for p in net.parameters())
    assert torch_params == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    path = tmp_path / "nested.keras"
    model.save(path)
    _rel_check(keras.saving.load_model(path))


def test_channels_first_models():
    keras.utils.set_random_seed(13)
    inp = keras.Input((3, 13, 12))
    x = L.Conv2D(5, 3, strides=2, padding="same", data_format="channels_first")(inp)
    x = L.BatchNormalization(axis=1)(x)
    y = L.AveragePooling2D(3, 1, padding="same", data_format="channels_first")(x)
    x = L.Concatenate(axis=1)([x, y])
    x = L.ZeroPadding2D(((1, 0), (0, 1)), data_format="channels_first")(x)
    x = L.SeparableConv2D(4, 3, data_format="channels_first")(x)
    x = L.Dense(7)(x)  # on the last axis (W), as Keras does
    x = L.Flatten(data_format="channels_first")(x)  # Keras flattens channels last even here
    model = keras.Model(inp, L.Dense(2)(x))
    model._padstride_channels_first = True
    _rel_check(model)
    keras.config.set_image_data_format("channels_first")
    try:
        app = keras.applications.MobileNetV2(input_shape=(3, 35, 33), alpha=0.35, weights=None,
                                             classifier_activation=None)
    finally:
        keras.config.set_image_data_format("channels_last")
    app._padstride_channels_first = True
    _rel_check(app)


def test_port_is_a_plain_module_that_runs_any_size():
    keras.utils.set_random_seed(14)
    inp = keras.Input((None, None, 3))
    x = L.Conv2D(4, 3, strides=2, padding="same")(inp)
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    model = keras.Model(inp, L.GlobalAveragePooling2D()(x))
    net = from_keras(model)
    for h, w in ((9, 10), (16, 17)):
        x = np.random.default_rng(h).random((1, h, w, 3)).astype("float32")
        want = keras.ops.convert_to_numpy(model(x))
        got = net(torch.from_numpy(x).movedim(-1, 1)).detach().numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)
