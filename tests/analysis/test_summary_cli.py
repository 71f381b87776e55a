"""``padstride summary``: golden tables, JSON keys, Markdown, exit codes, the seed numbers, spec validation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from padstride.analysis import SpecError, analyze, graph_from_spec
from padstride.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "examples" / "specs"
GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "seed003_valid": ["examples/specs/seed003_valid.yaml"],
    "seed001_cnn_valid_32": ["examples/specs/seed001_cnn_valid.yaml", "--input", "32,32,1"],
    "seed001_unet_valid": ["examples/specs/seed001_unet_valid.yaml"],
    "custom_cnn": ["examples/torch_models.py:custom_cnn", "--input", "1,28,28"],
}


def _run(capsys, args: list[str]) -> tuple[int, str, str]:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = main(["summary", *args])
    finally:
        os.chdir(cwd)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_tables(capsys, name):
    code, out, _ = _run(capsys, CASES[name])
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("PADSTRIDE_REGOLD"):
        path.write_text(out)
    assert out == path.read_text(), f"regenerate with PADSTRIDE_REGOLD=1 and review: {path}"
    assert code == (1 if "E1 " in out else 0)


@pytest.mark.parametrize(("spec", "params"), [
    ("seed003_valid", 2_002_698), ("seed003_same", 3_231_498), ("seed003_strided", 85_770),
    ("seed004_strided", 220_938), ("seed001_unet_same", 1_881_985), ("seed001_cnn3d_same", 16_944_257),
    ("seed001_cnn3d_valid", 7_244_929),
])
def test_seed_numbers_in_json(capsys, spec, params):
    code, out, _ = _run(capsys, [f"examples/specs/{spec}.yaml", "--json"])
    data = json.loads(out)
    assert code == 0 and data["total_params"] == params
    assert {"name", "type", "output_shape", "params", "macs", "pads", "rf"} <= set(data["layers"][1])
    assert {"total_params", "total_macs"} <= set(data)


@pytest.mark.parametrize(("size", "valid", "same"), [(28, 93_322, 257_162), (32, 121_994, 318_602),
                                                      (64, 646_282, 1_105_034)])
def test_seed001_cnn_for_three_input_sizes(capsys, size, valid, same):
    for padding, params in (("valid", valid), ("same", same)):
        _, out, _ = _run(capsys, [f"examples/specs/seed001_cnn_{padding}.yaml", "-i", f"{size},{size},1", "-j"])
        assert json.loads(out)["total_params"] == params


def test_resnet50_cli(capsys):
    code, out, _ = _run(capsys, ["examples/resnet.py:resnet50", "--input", "3,224,224", "--json"])
    data = json.loads(out)
    assert code == 0 and data["total_params"] == 25_557_032 and data["total_macs"] == 4_089_238_376
    assert data["rf"] == {"size": [427, 427], "stride": [32, 32], "padding": [213, 213], "centre": [0, 0]}


def test_unet_valid_names_the_crop(capsys):
    code, out, _ = _run(capsys, ["examples/specs/seed001_unet_valid.yaml", "--markdown"])
    assert code == 1
    assert "cannot concatenate 114×114 (up4) with 122×122 (conv2)" in out
    assert "Cropping2D(4) on conv2" in out and "Cropping2D(16) on conv1" in out
    assert out.startswith("**seed001_unet_valid**") and "| Layer (type) |" in out


@pytest.mark.parametrize(("args", "message"), [
    (["nowhere.yaml"], "nowhere.yaml: no such file"),
    (["examples/specs/seed003_valid.yaml", "--input", "a,b"], "--input expects integers"),
    (["examples/torch_models.py:nothing"], "has no attribute 'nothing'"),
    (["examples/torch_models.py:seed003_valid"], "needs an input shape"),
    (["README.md"], "unknown model file type"),
])
def test_bad_input_is_one_line_exit_2(capsys, args, message):
    code, out, err = _run(capsys, args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_spec_validation_names_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [28, 28, 1]\nlayers:\n  - conv: {filters: 8, kernal: 3}\n")
    code, _, err = _run(capsys, [str(bad)])
    assert code == 2 and "layers[0].conv: unknown key 'kernal'" in err
    for spec, message in [
        ({"input": [1, 8, 8], "layers": [], "colour": 1}, "colour: unknown top-level key"),
        ({"input": [1, 8, 8], "layers": [{"conv": {"filters": 4}}]}, "layers[0].conv: missing key 'kernel'"),
        ({"input": [1, 8, 8], "layers": [{"add": {}, "from": ["input"]}]}, "layers[0].from: add needs a list"),
        ({"input": [1, 8, 8], "layers": [{"relu": None, "from": "x"}]}, "layers[0].from: no layer named 'x'"),
        ({"input": [1, -8], "layers": [{"relu": None}]}, "input: a shape is a list of positive integers"),
        ({"input": [1, 8], "layout": "nhwc", "layers": [{"relu": None}]}, "layout: must be one of"),
        ({"input": [1, 8], "layers": [{"relu": None, "conv": {}}]}, "layers[0]: needs exactly one op key"),
    ]:
        with pytest.raises(SpecError) as info:
            graph_from_spec(spec)
        assert str(info.value).startswith(message), (spec, str(info.value))


def test_spec_and_keras_agree_layer_by_layer():
    import keras_models as km

    spec, keras = analyze(str(SPECS / "seed001_unet_same.yaml")), analyze(km.unet_same())
    assert [spec.output_shape(i) for i in spec.layers if i.op == "conv"] == \
        [keras.output_shape(i) for i in keras.layers if i.op == "conv"]
    assert (spec.total_params, spec.total_macs) == (keras.total_params, keras.total_macs)
    assert spec.output_rf == keras.output_rf
