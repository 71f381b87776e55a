"""Models others wrote: ``keras.applications`` (built with ``weights=None``, no download) against Keras itself.

Every layer's output shape is compared with the shape Keras computes for it, and the parameter
total with ``count_params()``. The models cover ZeroPadding2D before strided VALID convolutions
(ResNet, MobileNet), depthwise and separable convolutions, squeeze-and-excite broadcasts, dense
concatenation, VALID inception branches, ``keras.ops`` arithmetic on tensors (MobileNetV3's
hard-sigmoid ``x + 3.0``) and nested Sequential blocks (ConvNeXt).
"""

from __future__ import annotations

import json

import pytest

from padstride.analysis import analyze
from padstride.analysis.ir import to_canonical

keras = pytest.importorskip("keras")
apps = keras.applications

MODELS = {
    "MobileNet": lambda: apps.MobileNet(input_shape=(64, 64, 3), alpha=0.25, weights=None),
    "MobileNetV2": lambda: apps.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None),
    "MobileNetV3Small": lambda: apps.MobileNetV3Small(input_shape=(96, 96, 3), weights=None),
    "ResNet50": lambda: apps.ResNet50(input_shape=(67, 61, 3), weights=None),
    "DenseNet121": lambda: apps.DenseNet121(input_shape=(64, 64, 3), weights=None),
    "EfficientNetB0": lambda: apps.EfficientNetB0(input_shape=(65, 63, 3), weights=None),
    "Xception": lambda: apps.Xception(input_shape=(71, 75, 3), weights=None),
    "InceptionV3": lambda: apps.InceptionV3(input_shape=(75, 80, 3), weights=None),
    "ConvNeXtTiny": lambda: apps.ConvNeXtTiny(input_shape=(32, 32, 3), weights=None),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_keras_applications_match_keras(name: str) -> None:
    model = MODELS[name]()
    s = analyze(model)
    assert not s.errors, s.errors
    assert s.total_params == model.count_params()
    assert not s.graph.notes
    for layer in model.layers:
        want = to_canonical(tuple(layer.output.shape[1:]), "channels_last")
        assert s.layer(layer.name).shape == want, (layer.name, s.layer(layer.name).shape, want)


def test_a_saved_keras_application_through_the_cli(tmp_path, capsys) -> None:
    from padstride.cli import main

    model = MODELS["MobileNetV3Small"]()
    path = tmp_path / "mnv3.keras"
    model.save(path)
    assert main(["summary", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_params"] == model.count_params()
    by_name = {layer["name"]: layer for layer in out["layers"]}
    for layer in model.layers:
        assert tuple(by_name[layer.name]["output_shape"]) == tuple(layer.output.shape[1:]), layer.name
