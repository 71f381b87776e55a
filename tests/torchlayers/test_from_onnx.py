"""``padstride.torch.from_onnx``: ported modules equal onnxruntime on random inputs.

Oracles: onnxruntime running the same model. Models: small torch nets exported with
``torch.onnx.export`` (TorchScript exporter, opset 17) and hand-built TF-style graphs
(``auto_pad=SAME_UPPER``/``SAME_LOWER`` at odd sizes and stride 2, what tf2onnx emits).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn

from padstride.torch import OnnxPortError, from_onnx
from tests._helpers import oracle_settings

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RTOL = 1e-4
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _run_ort(model: Any, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(None, {sess.get_inputs()[0].name: x})[0])


def _check(model: Any, shape: tuple[int, ...], seed: int = 0, path: Any = None, valid_only: bool = False) -> float:
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    try:
        want = _run_ort(model, x)
    except Exception:  # a configuration onnxruntime rejects (a window past a too-small input)
        if not valid_only:
            raise
        assume(False)
    net = from_onnx(path if path is not None else model)
    with torch.no_grad():
        got = net(torch.from_numpy(x)).numpy()
    assert got.shape == want.shape
    err = float(np.abs(got - want).max() / max(1.0, float(np.abs(want).max())))
    assert err < RTOL, err
    return err


def _export(module: nn.Module, shape: tuple[int, ...]) -> Any:
    buf = io.BytesIO()
    torch.onnx.export(module.eval(), (torch.zeros(shape),), buf, dynamo=False, opset_version=17,
                      input_names=["x"], output_names=["y"])
    return onnx.load_from_string(buf.getvalue())


# -- torch nets exported to ONNX ----------------------------------------------------------------


class _Net(nn.Module):
    def __init__(self, stride: int, ceil: bool, dil: int, groups: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride, 1, dilation=dil), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.MaxPool2d(3, 2, 1, ceil_mode=ceil)
        self.branch = nn.Conv2d(8, 8, 3, 1, 1, groups=groups)
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 8, 1), nn.Hardsigmoid())
        self.up = nn.ConvTranspose2d(16, 4, 3, 2, 1, output_padding=1)
        self.head = nn.Linear(4, 5)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.uniform_(m.running_mean, -1, 1)
                nn.init.uniform_(m.running_var, 0.5, 2)
                nn.init.uniform_(m.weight, 0.5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stem(x))
        y = nn.functional.hardswish(self.branch(x)) * self.se(x) - 0.5
        z = torch.cat([x + y, torch.clamp(x * 2, 0, 6)], 1)
        z = self.up(z)
        return self.head(torch.flatten(z.mean((2, 3), keepdim=True), 1)).softmax(-1)


@oracle_settings(8)
@given(stride=st.sampled_from([1, 2]), ceil=st.booleans(), dil=st.sampled_from([1, 2]),
       groups=st.sampled_from([1, 4]), size=st.integers(9, 20))
def test_exported_torch_net(stride: int, ceil: bool, dil: int, groups: int, size: int) -> None:
    torch.manual_seed(size)
    shape = (1, 3, size, size + 1)
    _check(_export(_Net(stride, ceil, dil, groups), shape), shape, size)


class _Pools(nn.Module):
    def __init__(self, ceil: bool, include: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 2, 2, 0)
        self.avg = nn.AvgPool2d(3, 2, 1, ceil_mode=ceil, count_include_pad=include)
        self.max = nn.MaxPool2d(2, 2, 0, ceil_mode=ceil)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.avg(torch.relu(self.conv(x)))
        return torch.cat([a, torch.sigmoid(a)], 1) + self.max(self.conv(x)).mean() * 0 + torch.clamp(
            self.max(self.conv(x)), -0.5, 0.5).sum() * 0


@oracle_settings(8)
@given(ceil=st.booleans(), include=st.booleans(), h=st.integers(6, 17), w=st.integers(6, 17))
def test_exported_pools(ceil: bool, include: bool, h: int, w: int, tmp_path_factory: Any) -> None:
    torch.manual_seed(h * w)
    shape = (1, 2, h, w)
    model = _export(_Pools(ceil, include), shape)
    path = tmp_path_factory.mktemp("onnx") / "pools.onnx"
    onnx.save(model, str(path))
    _check(model, shape, h, path=path)


# -- hand-built TF-style graphs -----------------------------------------------------------------


def _graph(nodes: list[Any], shape: tuple[int, ...], inits: dict[str, np.ndarray], opset: int = 17) -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph(nodes, "tf_style", [x], [y],
                          [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


@oracle_settings(12)
@given(auto=st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID"]), k=st.integers(1, 3), s=st.integers(1, 3),
       d=st.integers(1, 2), groups=st.sampled_from([1, 2]), h=st.integers(11, 19), w=st.integers(11, 19),
       pool=st.sampled_from(["MaxPool", "AveragePool"]), include=st.booleans())
def test_tf_style_same(auto: str, k: int, s: int, d: int, groups: int, h: int, w: int, pool: str,
                       include: bool) -> None:
    rng = np.random.default_rng(h * 31 + w)
    d = d if auto == "VALID" else 1  # onnxruntime: "Dilation not supported for SAME_UPPER or SAME_LOWER"
    inits = {"w": rng.standard_normal((4, 4 // groups, k, k + 1)), "b": rng.standard_normal(4),
             "wt": rng.standard_normal((4, 2, k + 1, k + 1)), "fc": rng.standard_normal((3, 2)),
             "fb": rng.standard_normal(3), "lo": np.array(-0.3), "hi": np.array(0.8), "c": np.array(0.25)}
    pool_attrs: dict[str, Any] = {"kernel_shape": [k + 1, k], "strides": [s, 2], "auto_pad": auto}
    if pool == "AveragePool":
        pool_attrs["count_include_pad"] = int(include)
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c1"], strides=[s, 2], dilations=[d, 1], group=groups,
                         auto_pad=auto),
        helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"]),
        helper.make_node(pool, ["r1"], ["p1"], **pool_attrs),
        helper.make_node("ConvTranspose", ["p1", "wt"], ["t1"], strides=[2, 2], auto_pad=auto if auto != "VALID"
                         else "NOTSET", pads=[0, 1, 1, 0] if auto == "VALID" else None),
        helper.make_node("Sub", ["c", "t1"], ["s1"]),
        helper.make_node("LeakyRelu", ["s1"], ["l1"], alpha=0.2),
        helper.make_node("GlobalAveragePool", ["l1"], ["g1"]),
        helper.make_node("Flatten", ["g1"], ["f1"]),
        helper.make_node("Gemm", ["f1", "fc", "fb"], ["y"], transB=1, alpha=0.5, beta=2.0),
    ]
    for n in nodes:  # pads=None leaves an empty attribute; drop it
        keep = [a for a in n.attribute if not (a.name == "pads" and not a.ints)]
        del n.attribute[:]
        n.attribute.extend(keep)
    _check(_graph(nodes, (1, 4, h, w), inits), (1, 4, h, w), h + w, valid_only=True)


@oracle_settings(10)
@given(mode=st.sampled_from(["constant", "reflect", "edge"]), pads=st.lists(st.integers(0, 3), min_size=4,
                                                                             max_size=4),
       h=st.integers(5, 9))
def test_pad_and_explicit_asymmetric(mode: str, pads: list[int], h: int) -> None:
    rng = np.random.default_rng(h)
    t, l, b, r = pads
    inits = {"pads": np.array([0, 0, t, l, 0, 0, b, r]), "w": rng.standard_normal((3, 2, 3, 3)),
             "m": rng.standard_normal((3, 6))}
    pads_init = numpy_helper.from_array(inits.pop("pads").astype(np.int64), "pads")
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["p"], mode=mode),
        helper.make_node("Conv", ["p", "w"], ["c"], strides=[2, 2], pads=[t, 0, 0, r]),
        helper.make_node("AveragePool", ["c"], ["a"], kernel_shape=[2, 2], strides=[1, 1], pads=[1, 0, 0, 1],
                         dilations=[2, 1], count_include_pad=1),
        helper.make_node("MaxPool", ["a"], ["q"], kernel_shape=[2, 2], strides=[2, 2], pads=[0, 1, 1, 0],
                         ceil_mode=1),
        helper.make_node("Reshape", ["q", "shape"], ["r"]),
        helper.make_node("Relu", ["r"], ["y"]),
    ]
    model = _graph(nodes, (1, 2, h, h + 2), inits, opset=19)
    model.graph.initializer.append(pads_init)
    # the Reshape target: per-sample flatten, known only once the size is: infer it from onnxruntime
    model.graph.initializer.append(numpy_helper.from_array(np.array([1, -1], np.int64), "shape"))
    _check(model, (1, 2, h, h + 2), h)


@pytest.mark.parametrize(("mode", "ctm", "scale"), [
    ("nearest", "asymmetric", 2.0), ("nearest", "half_pixel", 3.0), ("linear", "half_pixel", 2.0),
    ("linear", "align_corners", 2.0), ("linear", "half_pixel", 0.5)])
def test_resize(mode: str, ctm: str, scale: float) -> None:
    attrs: dict[str, Any] = {"mode": mode, "coordinate_transformation_mode": ctm}
    if mode == "nearest" and ctm == "asymmetric":
        attrs["nearest_mode"] = "floor"
    scales = numpy_helper.from_array(np.array([1, 1, scale, scale], np.float32), "scales")
    model = _graph([helper.make_node("Resize", ["x", "", "scales"], ["y"], **attrs)], (1, 2, 6, 8), {})
    model.graph.initializer.append(scales)
    _check(model, (1, 2, 6, 8))


def test_resize_refused_where_torch_differs() -> None:
    scales = numpy_helper.from_array(np.array([1, 1, 1.5, 1.5], np.float32), "scales")
    model = _graph([helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="cubic", name="rz")],
                   (1, 2, 6, 8), {})
    model.graph.initializer.append(scales)
    with pytest.raises(OnnxPortError, match=r"rz.*cubic"):
        from_onnx(model)


# -- ONNX's own conformance node cases ----------------------------------------------------------


def _conformance() -> list[Any]:
    from tests.onnx_conformance._cases import node_cases

    return node_cases()


CASES = _conformance()


def _case_model(case: Any) -> tuple[Any, list[np.ndarray]]:
    """The case as ONNX's conformance suite runs it: weights (``Conv``'s ``W``, ``B`` …) are graph inputs
    with no initializer, settings (``Pad``'s pads) initializers. Returns the model and its inputs."""
    from padstride.analysis.adapters.onnx_inputs import WEIGHT_SLOTS

    named = list(zip(case.input_names, case.inputs, strict=True))
    given = [(n, v) for j, (n, v) in enumerate(named) if n and (j == 0 or j in WEIGHT_SLOTS.get(case.op, ()))]
    inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape))
              for n, v in given]
    inits = [numpy_helper.from_array(v, n) for n, v in named if n and n not in dict(given)]
    outs = [f"y{k}" for k in range(len(case.outputs))]
    ys = [helper.make_tensor_value_info(o, helper.np_dtype_to_tensor_dtype(v.dtype), None)
          for o, v in zip(outs, case.outputs, strict=True)]
    node = helper.make_node(case.op, list(case.input_names), outs, **case.attrs)
    graph = helper.make_graph([node], case.name, inputs, ys, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)]), [v for _, v in given]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_case(case: Any) -> None:
    """Every output of every Conv/ConvTranspose/MaxPool/AveragePool/Global*Pool/Pad node case (66),
    MaxPool's indices included, weights passed at run time as the suite does."""
    model, inputs = _case_model(case)
    net = from_onnx(model)
    with torch.no_grad():
        got = net(*(torch.from_numpy(v) for v in inputs))
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(case.outputs)
    for have, want in zip(got, case.outputs, strict=True):
        assert have.shape == want.shape
        assert have.numpy().dtype.kind == want.dtype.kind
        np.testing.assert_allclose(have.numpy(), want, rtol=max(case.rtol, 1e-5), atol=max(case.atol, 1e-5))


def test_conformance_cases_are_all_there() -> None:
    ops = {c.op for c in CASES}
    assert {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "Pad"} <= ops and len(CASES) >= 60
    assert sum(len(c.outputs) == 2 for c in CASES) >= 2  # MaxPool with its indices
    assert sum(len(_case_model(c)[1]) > 1 for c in CASES) >= 15  # weights given at run time (17)


# -- ONNX's pytorch-converted models (IR 3, opset 6: weights listed as graph inputs with initializers) ---


def _converted() -> list[Any]:
    import os

    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "pytorch-converted")
    return sorted(os.path.join(root, d) for d in os.listdir(root)) if os.path.isdir(root) else []


CONVERTED = _converted()


@pytest.mark.parametrize("case", CONVERTED, ids=[c.rsplit("/", 1)[-1] for c in CONVERTED])
def test_pytorch_converted_model(case: str) -> None:
    """Every model of ``onnx/backend/test/data/pytorch-converted`` (82 in onnx 1.23) against its shipped
    outputs, its weights read as parameters."""
    import glob

    net = from_onnx(f"{case}/model.onnx")
    sets = sorted(glob.glob(f"{case}/test_data_set_*"))
    assert sets
    for data in sets:
        ins = [numpy_helper.to_array(onnx.load_tensor(p)) for p in sorted(glob.glob(f"{data}/input_*.pb"))]
        outs = [numpy_helper.to_array(onnx.load_tensor(p)) for p in sorted(glob.glob(f"{data}/output_*.pb"))]
        with torch.no_grad():
            got = net(*[torch.from_numpy(np.array(i)) for i in ins])
        got = got if isinstance(got, tuple) else (got,)
        assert len(got) == len(outs)
        for have, want in zip(got, outs, strict=True):
            assert have.shape == want.shape
            np.testing.assert_allclose(have.numpy(), want, rtol=1e-5, atol=1e-5)


def test_pytorch_converted_models_are_there() -> None:
    assert len(CONVERTED) >= 80, "the onnx wheel no longer ships backend/test/data/pytorch-converted"


# -- the ported module is plain PyTorch: it compiles and exports back ---------------------------


def test_compiles_and_exports_back(tmp_path: Any) -> None:
    shape = (1, 3, 13, 11)
    rng = np.random.default_rng(7)
    inits = {"w": rng.standard_normal((4, 3, 3, 3)), "b": rng.standard_normal(4),
             "wt": rng.standard_normal((4, 2, 3, 3)), "c": np.array(0.5)}
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c1"], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("HardSigmoid", ["c1"], ["h1"], alpha=0.3, beta=0.4),
        helper.make_node("AveragePool", ["h1"], ["p1"], kernel_shape=[3, 2], strides=[2, 1], auto_pad="SAME_LOWER"),
        helper.make_node("ConvTranspose", ["p1", "wt"], ["t1"], strides=[2, 2], auto_pad="SAME_UPPER"),
        helper.make_node("Sub", ["t1", "c"], ["y"]),
    ]
    model = _graph(nodes, shape, inits)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    want = _run_ort(model, x)
    net = from_onnx(model)
    compiled = torch.compile(net, backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        np.testing.assert_allclose(compiled(torch.from_numpy(x)).numpy(), want, rtol=1e-4, atol=1e-4)
    path = tmp_path / "back.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(path), dynamo=False, opset_version=17)
    np.testing.assert_allclose(_run_ort(onnx.load(str(path)), x), want, rtol=1e-4, atol=1e-4)
