"""Untrusted ONNX files have a budget: tiny files that ask for huge tensors or endless loops are read fast.

Each file is a few hundred bytes built with ``onnx.helper``: a ``ConstantOfShape`` of 10^10
elements, a ``Loop`` of 10^12 iterations, a ``Range``, ``Expand`` and ``Tile`` as large. The
reader must never evaluate them (the node's output becomes a constant of unknown value, or the
node an opaque one), so a subprocess under a 4 GiB address-space limit reads them all in seconds
with a small traced peak. Corrupt, truncated and empty files give one-line errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from padstride.analysis import analyze
from padstride.analysis.load import ModelError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

BIG = 10**12


def _model(nodes, inits=(), outputs=("y",), inputs=(("x", [1, 3, 8, 8]),)):
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs]
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    model = helper.make_model(helper.make_graph(nodes, "bomb", ins, outs, list(inits)),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def _bombs():
    relu = helper.make_node("Relu", ["x"], ["y"])
    yield "constant_of_shape", _model([relu, helper.make_node("ConstantOfShape", ["s"], ["big"])],
                                      [_i64("s", [100000, 100000])], ("y", "big"))
    add = [helper.make_node("ConstantOfShape", ["s"], ["big"]), helper.make_node("Add", ["x", "big"], ["y"])]
    yield "constant_of_shape_added", _model(add, [_i64("s", [1, 3, 8, 8, 10**8])])
    body = helper.make_graph([helper.make_node("Identity", ["cond"], ["cond_out"]),
                              helper.make_node("Identity", ["v"], ["v_out"])], "body",
                             [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                              helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                              helper.make_tensor_value_info("v", TensorProto.FLOAT, [1])],
                             [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                              helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])])
    loop = helper.make_node("Loop", ["m", "c", "v0"], ["v_final"], body=body)
    yield "loop", _model([relu, loop], [_i64("m", BIG), numpy_helper.from_array(np.array(True), "c"),
                                        numpy_helper.from_array(np.zeros(1, np.float32), "v0")], ("y", "v_final"))
    loop_data = helper.make_node("Loop", ["m", "c", "x"], ["y"], body=helper.make_graph(
        [helper.make_node("Identity", ["cond"], ["cond_out"]), helper.make_node("Relu", ["v"], ["v_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1, 3, 8, 8])]))
    yield "loop_on_data", _model([loop_data], [_i64("m", BIG), numpy_helper.from_array(np.array(True), "c")])
    yield "range", _model([relu, helper.make_node("Range", ["a", "b", "d"], ["r"])],
                          [_i64("a", 0), _i64("b", BIG), _i64("d", 1)], ("y", "r"))
    yield "expand", _model([relu, helper.make_node("Expand", ["one", "s"], ["e"])],
                           [_i64("one", [1]), _i64("s", [BIG])], ("y", "e"))
    yield "tile", _model([relu, helper.make_node("Tile", ["one", "s"], ["t"])],
                         [_i64("one", [1, 2]), _i64("s", [100000, 100000])], ("y", "t"))
    reshape = [helper.make_node("ConstantOfShape", ["s"], ["big"]), helper.make_node("Shape", ["big"], ["shape"]),
               helper.make_node("Reshape", ["x", "shape"], ["y"])]
    yield "shape_of_huge", _model(reshape, [_i64("s", [1, 192, 10**9])])


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bombs")
    files = {}
    for name, model in _bombs():
        files[name] = d / f"{name}.onnx"
        files[name].write_bytes(model.SerializeToString())
    return files


SCRIPT = textwrap.dedent("""
    import json, resource, sys, time, tracemalloc
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    from padstride.analysis import analyze
    from padstride.analysis.load import ModelError
    import onnx.shape_inference, padstride.analysis.adapters.onnx  # imports are not the file's cost
    out = {}
    for path in sys.argv[1:]:
        tracemalloc.start()
        t = time.perf_counter()
        try:
            s = analyze(path)
            result = "read: " + "; ".join(s.errors)
        except ModelError as exc:
            result = "ModelError: " + str(exc)
        out[path] = (time.perf_counter() - t, tracemalloc.get_traced_memory()[1], result)
        tracemalloc.stop()
    print(json.dumps(out))
""")


def test_tiny_files_cannot_ask_for_huge_work(bombs) -> None:
    for path in bombs.values():
        assert path.stat().st_size < 700, path
    paths = [str(p) for p in bombs.values()]
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *paths], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.splitlines()[-1])
    for name, path in bombs.items():
        seconds, peak, result = results[str(path)]
        assert seconds < 5, (name, seconds, result)
        assert peak < 64 << 20, (name, peak, result)
        assert len(result) < 600 and "\n" not in result, (name, result)


def test_what_the_bombs_read_as(bombs) -> None:
    """Outside the data path they are constants of unknown value; on it, a ModelError naming the node."""
    assert analyze(str(bombs["constant_of_shape"])).layer("y").shape == (3, 8, 8)
    assert analyze(str(bombs["loop"])).layer("y").shape == (3, 8, 8)
    with pytest.raises(ModelError, match=r"y \(Loop\): not supported and ONNX shape inference gives no static"):
        analyze(str(bombs["loop_on_data"]))
    with pytest.raises(ModelError, match=r"y \(Add\)"):
        analyze(str(bombs["constant_of_shape_added"]))


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty file"),
    (b"\x0a\xff\xff\xff\xff\x0f", "corrupt or truncated"),
    (b"\xff\xff\xff", "corrupt or truncated"),
])
def test_unreadable_files(tmp_path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        analyze(str(path))


def test_truncated_file(tmp_path) -> None:
    w = numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "w")
    data = _model([helper.make_node("Conv", ["x", "w"], ["y"])], [w]).SerializeToString()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="corrupt or truncated"):
        analyze(str(path))


def test_graph_without_inputs_says_so(tmp_path, capsys) -> None:
    from padstride.cli import main

    empty = tmp_path / "empty.onnx"
    empty.write_bytes(helper.make_model(helper.make_graph([], "empty", [], [])).SerializeToString())
    with pytest.raises(ModelError, match=r"no input tensor to analyse \(it has 0 inputs"):
        analyze(str(empty))
    assert main(["summary", str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert "0 inputs" in err and "\n" not in err
    zero = tmp_path / "zero.onnx"
    zero.write_bytes(b"")
    assert main(["summary", str(zero)]) == 2
    assert "empty file" in capsys.readouterr().err


def test_error_messages_are_truncated(tmp_path) -> None:
    name = "n" * 100_000
    model = _model([helper.make_node("NoSuchOp", ["x"], ["y"], name=name, domain="example.com")])
    model.opset_import.append(helper.make_opsetid("example.com", 1))
    with pytest.raises(ModelError) as info:
        analyze(model)
    assert len(str(info.value)) < 400 and "NoSuchOp" in str(info.value)


def test_large_weights_are_not_read(tmp_path) -> None:
    """A file's large initializers are skipped by their length: the traced peak stays far below their size."""
    import tracemalloc

    w = numpy_helper.from_array(np.zeros((256, 256, 3, 3), np.float32), "w")  # 2.4 MB of weights ×8 convs
    nodes = [helper.make_node("Conv", [f"t{i}", "w"], [f"t{i + 1}"], pads=[1, 1, 1, 1]) for i in range(8)]
    model = _model(nodes, [w], ("t8",), (("t0", [1, 256, 9, 9]),))
    path = tmp_path / "big.onnx"
    path.write_bytes(model.SerializeToString())
    tracemalloc.start()
    s = analyze(str(path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert s.total_params == 8 * 256 * 256 * 9 and peak < 1 << 20


def test_structure_over_the_cap_is_refused(tmp_path, monkeypatch) -> None:
    """The graph without large weights must fit the structure budget (patched small here)."""
    from padstride.analysis.adapters import onnx_file

    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name="r" * 150 + str(i)) for i in range(100)]
    path = tmp_path / "wide.onnx"
    path.write_bytes(_model(nodes, (), ("t100",), (("t0", [1, 3, 8, 8]),)).SerializeToString())
    assert analyze(str(path)).layer("r" * 150 + "99").shape == (3, 8, 8)
    monkeypatch.setattr(onnx_file, "MAX_STRUCTURE_BYTES", 10_000)
    with pytest.raises(ModelError, match="over the 10,000-byte limit"):
        analyze(str(path))


def test_external_data_is_never_opened(tmp_path) -> None:
    """Weights in a side file (how exporters save models over 2 GB) are counted from their shapes; the file
    is not read (here it is deleted before the analysis)."""
    w = numpy_helper.from_array(np.ones((16, 3, 3, 3), np.float32), "w")
    b = numpy_helper.from_array(np.ones(16, np.float32), "b")
    model = _model([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])], [w, b])
    path = tmp_path / "ext.onnx"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin",
              size_threshold=0)
    (tmp_path / "weights.bin").unlink()
    s = analyze(str(path))
    assert s.total_params == 16 * 27 + 16 and s.layer("y").shape == (16, 8, 8)
