"""Shapes and parameter counts against Keras 3 on the torch backend (random models, the seed examples)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from padstride.analysis import analyze


@st.composite
def keras_models(draw):
    import keras
    from keras import layers

    size = draw(st.integers(8, 24))
    inputs = keras.Input((size, size, draw(st.integers(1, 3))))
    tensors = [inputs]
    for _ in range(draw(st.integers(1, 5))):
        x = tensors[-1]
        kind = draw(st.sampled_from(["conv", "conv", "convT", "pool", "pad", "crop", "up", "bn", "add", "cat"]))
        pad = draw(st.sampled_from(["valid", "same"]))
        if kind == "conv":
            s = draw(st.integers(1, 3))
            d = 1 if s > 1 else draw(st.integers(1, 2))
            y = layers.Conv2D(draw(st.integers(1, 4)), draw(st.integers(1, 4)), strides=s, padding=pad,
                              dilation_rate=d)
        elif kind == "convT":
            y = layers.Conv2DTranspose(draw(st.integers(1, 4)), draw(st.integers(1, 4)),
                                       strides=draw(st.integers(1, 3)), padding=pad)
        elif kind == "pool":
            cls = draw(st.sampled_from([layers.MaxPooling2D, layers.AveragePooling2D]))
            y = cls(draw(st.integers(1, 3)), strides=draw(st.integers(1, 3)), padding=pad)
        elif kind == "pad":
            y = layers.ZeroPadding2D(((draw(st.integers(0, 2)), draw(st.integers(0, 2))), (1, 0)))
        elif kind == "crop":
            y = layers.Cropping2D(((1, 0), (draw(st.integers(0, 1)), 1)))
        elif kind == "up":
            y = layers.UpSampling2D(draw(st.integers(2, 3)))
        elif kind == "bn":
            y = layers.BatchNormalization()
        else:
            other = tensors[draw(st.integers(0, len(tensors) - 1))]
            if tuple(other.shape[1:3]) != tuple(x.shape[1:3]) or (kind == "add" and other.shape[-1] != x.shape[-1]):
                continue
            tensors.append(layers.Add()([x, other]) if kind == "add" else layers.Concatenate()([x, other]))
            continue
        try:
            tensors.append(y(x))
        except ValueError:  # Keras refuses the layer on this shape; stop here
            break
    if draw(st.booleans()):
        tensors.append(layers.Dense(draw(st.integers(1, 5)))(layers.Flatten()(tensors[-1])))
    return keras.Model(inputs, tensors[-1])


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@settings(derandomize=True, max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(keras_models())
def test_random_keras_models_match_keras(model):
    where = [(type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers]
    s = analyze(model)
    assert not s.errors, (s.errors, where)
    assert s.total_params == model.count_params(), where
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert s.trainable_params == trainable, where
    for layer in model.layers:
        assert s.output_shape(s.layer(layer.name)) == tuple(layer.output.shape[1:]), (layer.name, where)
    x = np.zeros((1, *model.input_shape[1:]), dtype="float32")
    real = model(x)
    assert s.output_shape(s.layer(s.graph.outputs[0])) == tuple(real.shape[1:]), where


def test_seed_models_match_keras_and_the_seeds():
    import keras_models as km

    expected = {"seed003_valid": 2_002_698, "seed003_same": 3_231_498, "seed003_strided": 85_770,
                "seed004_strided": 220_938, "mnist_cnn_valid": 93_322, "mnist_cnn_same": 257_162,
                "unet_same": 1_881_985, "cnn3d_same": 16_944_257, "cnn3d_valid": 7_244_929}
    for name, params in expected.items():
        model = getattr(km, name)()
        s = analyze(model)
        assert s.total_params == model.count_params() == params, name
        assert s.output_shape(s.layer(s.graph.outputs[0])) == tuple(model.output_shape[1:]), name
    for size, valid, same in ((32, 121_994, 318_602), (64, 646_282, 1_105_034)):
        for padding, params in (("valid", valid), ("same", same)):
            model = km.create_cnn_model((size, size, 1), padding)
            assert analyze(model).total_params == model.count_params() == params


def test_keras_file_round_trip_and_batchnorm_counts(tmp_path):
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((16, 16, 3)), layers.Conv2D(8, 3, strides=2, padding="same"),
                              layers.BatchNormalization(), layers.DepthwiseConv2D(3, depth_multiplier=2),
                              layers.GlobalAveragePooling2D(), layers.Dense(4)])
    path = tmp_path / "m.keras"
    model.save(path)
    s = analyze(str(path))
    assert (s.total_params, s.non_trainable_params) == (model.count_params(), 16)
    assert s.layer(model.layers[0].name).pads == ((0, 1), (0, 1))
