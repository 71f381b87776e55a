"""``padstride diff``: faithful ports agree, planted one-pixel pad changes are found and named.

Oracles are models others wrote or that frameworks produce: Keras applications and their
:func:`padstride.torch.from_keras` ports, ``torch.onnx.export``, the ResNet-50 of ``examples/``.
"""

from __future__ import annotations

import io
import json
import os
import sys
import warnings
from pathlib import Path

import pytest

from padstride.analysis import GraphBuilder
from padstride.analysis.diff import diff
from padstride.cli import main

torch = pytest.importorskip("torch")
nn = torch.nn
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "examples") not in sys.path:
    sys.path.insert(0, str(ROOT / "examples"))


def _keras_mini(stride2_padding: str = "same"):
    keras = pytest.importorskip("keras")
    x = inp = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="stem")(x)
    x = keras.layers.BatchNormalization(name="stem_bn")(x)
    x = keras.layers.ReLU(6.0)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", name="dw1")(x)
    x = keras.layers.Conv2D(16, 1, name="pw1")(x)
    x = keras.layers.DepthwiseConv2D(3, strides=2, padding=stride2_padding, name="dw2")(x)
    x = keras.layers.Conv2D(16, 1, name="pw2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(10, name="head")(x)
    return keras.Model(inp, x)


def _torch_mini(stem_pad: object = "half") -> nn.Module:
    """The hand-written port: ``padding=k//2`` everywhere, or TF's SAME pads spelled out at the stem."""
    stem = (nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(3, 8, 3, 2)) if stem_pad == "tf"
            else nn.Conv2d(3, 8, 3, 2, 1))
    return nn.Sequential(stem, nn.BatchNorm2d(8), nn.ReLU6(),
                         nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.Conv2d(8, 16, 1),
                         nn.Conv2d(16, 16, 3, 2, 1, groups=16), nn.Conv2d(16, 16, 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def _onnx(model: nn.Module, shape: tuple[int, ...]):
    onnx = pytest.importorskip("onnx")
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), torch.zeros(1, *shape), f, dynamo=False)
    return onnx.load_from_string(f.getvalue())


def test_keras_mobilenetv2_vs_its_port_agree():
    keras = pytest.importorskip("keras")
    from padstride.torch import from_keras

    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    d = diff(model, from_keras(model))
    assert d.same and d.first is None and d.matched == 64, str(d)
    assert "The models agree" in str(d) and d.to_dict()["differences"] == 0
    # Keras counts BatchNorm's moving statistics, torch keeps them as buffers: a note, not a difference.
    assert any("normalization layers" in n for n in d.notes)


def test_keras_vs_hand_port_with_k_over_2_pads():
    d = diff(_keras_mini(), _torch_mini())
    assert not d.same
    assert [(r.a, r.b, r.fields) for r in d.differences] == [("stem", "0", ("pads",)), ("dw2", "5", ("pads",))]
    first = d.to_dict()["first"]
    assert first["a_values"]["pads"] == [[0, 1], [0, 1]] and first["b_values"]["pads"] == [[1, 1], [1, 1]]
    assert "output shapes agree" in first["text"] and "1 px earlier on H and W" in first["text"]


def test_explicit_pad_layer_folds_into_the_conv():
    # TF SAME at stride 2 written as ZeroPad2d((0, 1, 0, 1)) + a valid conv: the stem now agrees.
    d = diff(_keras_mini(), _torch_mini("tf"))
    assert [r.a for r in d.differences] == ["dw2"], str(d)
    stem = d.rows[0]
    assert stem.same and stem.values_b["pads"] == ((0, 1), (0, 1))


def test_same_at_stride_1_equals_k_over_2():
    def net(padding):
        b = GraphBuilder("n", layout="channels_last")
        x = b.conv(b.input((17, 17, 3)), 4, 5, padding=padding)
        _ = b.max_pool(x, 3, 1, padding=padding if padding == "same" else 1)
        return b.build()

    assert diff(net("same"), net(2)).same
    assert not diff(net("same"), net("valid")).same


def test_torch_vs_onnx_export_agree():
    model = _torch_mini()
    d = diff(model, _onnx(model, (3, 32, 32)), (3, 32, 32))
    assert d.same and d.matched == 7, str(d)


def _planted_resnet50():
    from resnet import resnet50

    model = resnet50()
    conv = model.layer4[0].conv2  # 3×3 stride 2: TF's SAME pads (0, 1) instead of torch's (1, 1)
    model.layer4[0].conv2 = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)),
                                          nn.Conv2d(conv.in_channels, conv.out_channels, 3, 2, bias=False))
    return model


def test_resnet50_planted_pad_found_and_named():
    from resnet import resnet50

    d = diff(resnet50(), _planted_resnet50(), (3, 224, 224))
    assert len(d.differences) == 1, str(d)
    first = d.first
    assert first is not None and first.a == "layer4.0.conv2" and first.b.startswith("layer4.0.conv2")
    assert first.fields == ("pads",) and first.values_b["pads"] == ((0, 1), (0, 1))
    assert d.matched == len(d.rows) > 50


def test_resnet50_vs_onnx_export_agree():
    from resnet import resnet50

    model = resnet50()
    d = diff(model, _onnx(model, (3, 224, 224)), (3, 224, 224))
    assert d.same, str(d)


# -- CLI -----------------------------------------------------------------------------------------


def _cli(capsys, args: list[str]) -> tuple[int, str, str]:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["diff", *args])
    finally:
        os.chdir(cwd)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("diff")
    paths = []
    for name, model in (("half", _torch_mini()), ("tf", _torch_mini("tf"))):
        path = folder / f"{name}.onnx"
        path.write_bytes(_onnx(model, (3, 32, 32)).SerializeToString())
        paths.append(str(path))
    return paths[0], paths[1]


def test_cli_exit_codes_and_json(capsys, onnx_files):
    half, tf = onnx_files
    code, out, _ = _cli(capsys, [half, half])
    assert code == 0 and "The models agree" in out
    code, out, _ = _cli(capsys, [half, tf, "--json"])
    data = json.loads(out)
    assert code == 1 and data["same"] is False and data["differences"] == 1
    assert data["first"]["fields"] == ["pads"] and data["first"]["b_values"]["pads"] == [[0, 1], [0, 1]]
    code, out, _ = _cli(capsys, [half, tf])
    assert code == 1 and "first at" in out and "(1,1),(1,1) vs (0,1),(0,1)" in out


def test_cli_torch_reference_takes_the_other_sides_input(capsys, onnx_files):
    half, _ = onnx_files
    code, out, err = _cli(capsys, ["examples/torch_models.py:custom_cnn", half, "-i", "1,28,28"])
    assert code == 1 and out, err  # different models: a difference, not an error


@pytest.mark.parametrize("args", [["nowhere.onnx", "x.onnx"], ["examples/specs/seed003_valid.yaml", "x.yaml"],
                                  ["examples/specs/seed003_valid.yaml", "examples/specs/seed003_valid.yaml",
                                   "--input", "a,b"]])
def test_cli_bad_input_is_one_line(capsys, args):
    code, out, err = _cli(capsys, args)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("padstride diff: error:")


def _branches(order: tuple[int, ...], nested: bool = True):
    """Two inception-like branches, written in ``order``, concatenated (nested or flat)."""
    b = GraphBuilder("branches")
    x = b.conv(b.input((3, 15, 15)), 8, 3, stride=2, padding="same")
    made = {0: lambda: b.conv(x, 4, 1), 1: lambda: b.conv(b.conv(x, 4, 1), 6, 3, padding=1),
            2: lambda: b.max_pool(x, 3, 1, padding=1)}
    outs = {i: made[i]() for i in order}
    y = b.concat([outs[0], b.concat([outs[1], outs[2]])]) if nested else b.concat([outs[0], outs[1], outs[2]])
    _ = b.dense(b.flatten(b.global_pool(y, "avg")), 5)
    return b.build()


def test_branch_order_and_nested_concat_do_not_matter():
    assert diff(_branches((0, 1, 2)), _branches((2, 1, 0), nested=False)).same
    d = diff(_branches((0, 1, 2)), _branches((2, 0, 1)))
    assert d.same and d.matched == 8, str(d)


def test_keras_inception_like_vs_onnx_export_of_its_port():
    keras = pytest.importorskip("keras")
    from padstride.torch import from_keras

    x = inp = keras.Input((19, 19, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="stem")(x)
    a = keras.layers.Conv2D(4, 1, name="a")(x)
    b1 = keras.layers.Conv2D(4, (1, 3), padding="same", name="b1")(x)
    b2 = keras.layers.Conv2D(4, (3, 1), padding="same", name="b2")(x)
    c = keras.layers.AveragePooling2D(3, 1, padding="same", name="c")(x)
    x = keras.layers.Concatenate(name="mixed")([a, keras.layers.Concatenate(name="inner")([b1, b2]), c])
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inp, keras.layers.Dense(3, name="head")(x))
    d = diff(model, _onnx(from_keras(model), (3, 19, 19)))
    assert d.same and d.matched == 8, str(d)


def test_average_pool_divisor_over_pads():
    keras = pytest.importorskip("keras")
    x = inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(x)
    model = keras.Model(inp, keras.layers.AveragePooling2D(3, 1, padding="same", name="pool")(x))

    def port(include: bool) -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AvgPool2d(3, 1, 1, count_include_pad=include))

    assert diff(model, port(False)).same
    d = diff(model, port(True))
    assert [(r.a, r.fields) for r in d.differences] == [("pool", ("divisor",))]
    assert "divisor valid cells vs all cells" in d.first.text()


class _ChannelsLastMlp(nn.Module):
    """ConvNeXt's pattern: a Linear over the channels of an NHWC view (exported as MatMul + Add)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 8, 3, padding=1), nn.Linear(8, 16)

    def forward(self, x):
        return self.fc(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def test_linear_on_a_feature_map_vs_its_matmul_export():
    model = _ChannelsLastMlp()
    d = diff(model, _onnx(model, (3, 10, 10)), (3, 10, 10))
    assert d.same and d.matched == 2, str(d)
    assert "params 144 vs 128" in d.rows[1].notes[0] and "differ only by a bias" in d.notes[0]


def test_cli_keras_file_vs_torch_port_file(capsys, tmp_path):
    keras_file = tmp_path / "mini.keras"
    _keras_mini().save(keras_file)
    port = tmp_path / "port.py"
    port.write_text("from torch import nn\n\n"
                    "def model():\n"
                    "    return nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(3, 8, 3, 2), nn.BatchNorm2d(8),\n"
                    "                         nn.ReLU6(), nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.Conv2d(8, 16, 1),\n"
                    "                         nn.Conv2d(16, 16, 3, 2, 1, groups=16), nn.Conv2d(16, 16, 1),\n"
                    "                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))\n")
    code, out, err = _cli(capsys, [str(keras_file), f"{port}:model", "--json"])  # no --input: Keras fixes it
    data = json.loads(out)
    assert code == 1 and data["differences"] == 1, err
    assert (data["first"]["a"], data["first"]["b"]) == ("dw2", "6")
