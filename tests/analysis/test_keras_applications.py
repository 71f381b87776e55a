"""Models others wrote: ``keras.applications`` (built with ``weights=None``, no download) against Keras itself.

Every layer's output shape is compared with the shape Keras computes for it, and the parameter
total with ``count_params()``. The models cover ZeroPadding2D before strided VALID convolutions
(ResNet, MobileNet), depthwise and separable convolutions, squeeze-and-excite broadcasts, dense
concatenation, VALID inception branches, ``keras.ops`` arithmetic on tensors (MobileNetV3's
hard-sigmoid ``x + 3.0``), Rescaling and Normalization (EfficientNet), LayerScale and nested
Sequential blocks (ConvNeXt), CustomScaleLayer (InceptionResNetV2). The list is in
``tests/_keras_apps.py``; ``PADSTRIDE_KERAS_APPS=all`` runs all 39.

Also here: what a ``.keras`` file may hold (nested functional models, ``channels_first``, an
unknown layer, a malformed or oversized config), read without Keras ever loading the file.
"""

from __future__ import annotations

import json
import zipfile

import pytest

from padstride.analysis import analyze
from padstride.analysis.ir import to_canonical
from padstride.analysis.load import ModelError
from tests import _keras_apps

keras = pytest.importorskip("keras")
L = keras.layers


def _check_against_keras(model, s, layout="channels_last"):
    assert not s.errors, s.errors
    assert s.total_params == model.count_params()
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert s.trainable_params == trainable
    for layer in model.layers:
        if None in layer.output.shape[1:]:  # a nested model with open sizes: checked by its callers
            continue
        want = to_canonical(tuple(layer.output.shape[1:]), layout)
        assert s.layer(layer.name).shape == want, (layer.name, s.layer(layer.name).shape, want)


@pytest.mark.parametrize("name", _keras_apps.params())
def test_keras_applications_match_keras(name: str) -> None:
    model = _keras_apps.build(name)
    s = analyze(model)
    assert not s.graph.notes
    _check_against_keras(model, s)


@pytest.fixture
def no_keras_loading(monkeypatch):
    """Reading a file must never deserialize it with Keras (that allocates every declared weight)."""

    def refuse(*args, **kwargs):
        raise AssertionError("keras.saving.load_model was called")

    monkeypatch.setattr(keras.saving, "load_model", refuse)
    monkeypatch.setattr(keras.models, "load_model", refuse)


def test_a_saved_keras_application_through_the_cli(tmp_path, capsys, no_keras_loading) -> None:
    from padstride.cli import main

    model = _keras_apps.build("MobileNetV3Small")
    path = tmp_path / "mnv3.keras"
    model.save(path)
    assert main(["summary", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_params"] == model.count_params()
    by_name = {layer["name"]: layer for layer in out["layers"]}
    for layer in model.layers:
        assert tuple(by_name[layer.name]["output_shape"]) == tuple(layer.output.shape[1:]), layer.name


def _nested_model():
    keras.utils.set_random_seed(4)
    inner_in = keras.Input((None, None, 4))
    y = L.SeparableConv2D(6, 3, strides=2, padding="same", activation="relu", name="sep")(inner_in)
    y = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw")(y)
    inner = keras.Model(inner_in, L.BatchNormalization(name="bn")(y), name="inner")
    stem = keras.Sequential([L.Conv2D(4, 3, padding="same", name="c"), L.ReLU(6.0, name="r6")], name="stem")
    inp = keras.Input((17, 21, 3))
    x = stem(inp)
    a = inner(x)
    b = inner(L.MaxPooling2D(1, name="mp")(x))  # the same nested model called twice (shared weights)
    model_calls = {"inner": a.shape, "inner_call1": b.shape}
    x = L.Add(name="sum")([a, b])
    x = L.LayerNormalization(name="ln")(x)
    x = L.Reshape((-1, 12), name="rs")(x)
    x = L.Flatten(name="fl")(x)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="fc")(x)), model_calls


def test_nested_functional_models_in_a_file(tmp_path, no_keras_loading) -> None:
    model, calls = _nested_model()
    live = analyze(model)
    _check_against_keras(model, live)
    for name, shape in calls.items():
        assert live.layer(name).shape == to_canonical(tuple(shape[1:]), "channels_last"), name
    path = tmp_path / "nested.keras"
    model.save(path)
    from_file = analyze(path)
    _check_against_keras(model, from_file)
    assert from_file.layer("inner/sep/depthwise").shape == (4, 9, 11)
    assert [i.shape for i in from_file.layers] == [i.shape for i in live.layers]


def test_channels_first(tmp_path, no_keras_loading) -> None:
    keras.utils.set_random_seed(5)
    inp = keras.Input((3, 13, 12))
    x = L.Conv2D(5, 3, strides=2, padding="same", data_format="channels_first")(inp)
    x = L.BatchNormalization(axis=1)(x)
    y = L.AveragePooling2D(3, 1, padding="same", data_format="channels_first")(x)
    x = L.Concatenate(axis=1)([x, y])
    x = L.ZeroPadding2D(((1, 0), (0, 1)), data_format="channels_first")(x)
    x = L.SeparableConv2D(4, 3, data_format="channels_first")(x)
    x = L.Dense(7)(x)  # on the last axis (W), as Keras does
    x = L.GlobalAveragePooling2D(data_format="channels_first", keepdims=True)(x)
    x = L.Flatten(data_format="channels_first")(x)
    model = keras.Model(inp, L.Dense(2)(x))
    s = analyze(model)
    assert s.graph.layout == "channels_first"
    _check_against_keras(model, s, "channels_first")
    path = tmp_path / "cf.keras"
    model.save(path)
    _check_against_keras(model, analyze(path), "channels_first")


def test_a_channels_first_application() -> None:
    keras.config.set_image_data_format("channels_first")
    try:
        model = keras.applications.MobileNet(input_shape=(3, 35, 37), alpha=0.25, weights=None)
    finally:
        keras.config.set_image_data_format("channels_last")
    _check_against_keras(model, analyze(model), "channels_first")


@keras.saving.register_keras_serializable(package="padstride_tests")
class Swirl(L.Layer):
    """A layer padstride does not know, with weights (a file must not be loaded to count them)."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 2 * input_shape[-1]))

    def call(self, x):
        return keras.ops.matmul(x, self.w)[..., ::2]


def test_an_unknown_layer_in_a_file_is_opaque_and_never_loaded(tmp_path, no_keras_loading) -> None:
    inp = keras.Input((6, 6, 3))
    x = Swirl(name="swirl")(L.Conv2D(4, 3)(inp))
    model = keras.Model(inp, L.Conv2D(2, 1)(x))
    path = tmp_path / "swirl.keras"
    model.save(path)
    s = analyze(path)
    assert s.layer("swirl").shape == (4, 4, 4) and s.layer("swirl").op == "opaque"
    assert s.total_params == model.count_params() - 32  # the unknown layer's weights are not counted …
    assert any("swirl (Swirl)" in n for n in s.graph.notes)  # … and the notes say so
    live = analyze(model)  # a live model: Keras reports the layer's shape and parameters
    assert live.total_params == model.count_params()


def _zip(path, config, size=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        text = config if isinstance(config, str) else json.dumps(config)
        if size is not None:
            text = text + " " * (size - len(text))
        z.writestr("config.json", text)
    return path


def test_an_oversized_config_is_not_read(tmp_path) -> None:
    from padstride.analysis.adapters.keras import CONFIG_LIMIT, read_keras_config

    bomb = _zip(tmp_path / "bomb.keras", {"class_name": "Functional", "config": {}}, CONFIG_LIMIT + 1)
    assert bomb.stat().st_size < 200_000  # a zip bomb: small on disk, over the limit inside
    with pytest.raises(ModelError, match=r"over the \d+-byte limit"):
        analyze(bomb)
    small = _zip(tmp_path / "small.keras", {"class_name": "Functional", "config": {}}, 2000)
    with pytest.raises(ModelError, match="over the 1000-byte limit"):
        read_keras_config(small, limit=1000)


@pytest.mark.parametrize("config", [
    {"class_name": "Functional", "config": {"layers": [{"config": {"name": "x"}}]}},
    {"class_name": "Functional", "config": {"layers": [{"class_name": "InputLayer", "config": {}}]}},
    {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "d"}}]}},
    {"class_name": "Functional", "config": {"layers": "nonsense"}},
    {"class_name": "Functional", "config": []},
    [1, 2, 3],
])
def test_malformed_configs_are_one_line_errors(tmp_path, capsys, config) -> None:
    from padstride.cli import main

    path = _zip(tmp_path / "bad.keras", config)
    with pytest.raises(ModelError) as info:
        analyze(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    assert main(["summary", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err


def test_the_layer_classes_of_the_larger_applications() -> None:
    """What InceptionResNetV2, ConvNeXt, EfficientNet(V2) and NASNet add, in one small model."""
    from keras.src.applications.convnext import LayerScale, StochasticDepth
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    inp = keras.Input((16, 15, 3))
    x = L.Rescaling(1 / 128.0, offset=-1)(inp)
    x = L.Normalization()(x)  # adapted statistics: 2·C + 1 non-trainable weights
    x = L.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 3.0])(x)  # constants: no weights
    r = L.SeparableConv2D(3, 5, strides=2, padding="same")(L.ZeroPadding2D(1)(x))
    r = L.Cropping2D(((0, 1), (0, 1)))(r)
    p = L.AveragePooling2D(3, strides=2, padding="same")(x)
    x = CustomScaleLayer(0.2)([p, r])
    x = StochasticDepth(0.1)(LayerScale(1e-6, 3)(x))
    model = keras.Model(inp, x)
    _check_against_keras(model, analyze(model))


def test_a_shared_layer_called_after_a_later_layer(tmp_path, no_keras_loading) -> None:
    keras.utils.set_random_seed(6)
    inp = keras.Input((5, 7, 3))
    shared = L.Conv2D(3, 3, padding="same", name="shared")
    x = shared(inp)
    x = L.Conv2D(3, 3, strides=2, padding="same", name="later")(x)  # created after `shared`
    x = shared(x)  # its second call reads a layer listed after it in the config
    model = keras.Model(inp, L.GlobalAveragePooling2D(name="gap")(x))
    path = tmp_path / "shared.keras"
    model.save(path)
    s = analyze(path)
    _check_against_keras(model, s)
    assert s.layer("shared_call1").shape == (3, 3, 4)
