"""``from_onnx`` on the tensor ops a transformer's graph is made of (``Transpose``, ``Slice``, ``Split``,
``Gather``, ``Reshape`` across the batch axis, ``MatMul`` of two activations, ``LayerNormalization``,
``Expand``, ``Tile``, ``Where``, ``Squeeze``/``Unsqueeze``, ``Concat`` with a constant), graph inputs
that are weights, and a small exported vision transformer that compiles and exports back.

Oracle: onnxruntime running the same model, on random configurations (fixed-seed hypothesis).
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

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

INT_MAX, INT_MIN = 2**63 - 1, -(2**63)


def _model(nodes: list[Any], shape: tuple[int, ...], inits: dict[str, np.ndarray], outputs: list[str],
           opset: int = 17, inputs: list[Any] | None = None) -> Any:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))
    ys = [helper.make_empty_tensor_value_info(o) for o in outputs]
    g = helper.make_graph(nodes, "ops", [x, *(inputs or [])], ys,
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _check(model: Any, shape: tuple[int, ...], seed: int = 0) -> None:
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"x": x})
    net = from_onnx(model)
    with torch.no_grad():
        got = net(torch.from_numpy(x))
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(want)
    for have, ref in zip(got, want, strict=True):
        assert tuple(have.shape) == ref.shape
        np.testing.assert_allclose(have.numpy(), ref, rtol=1e-5, atol=1e-5)


_ENDS = st.one_of(st.integers(-9, 9), st.sampled_from([INT_MAX, INT_MIN]))


@oracle_settings(25)
@given(starts=st.lists(st.integers(-9, 9), min_size=2, max_size=2), ends=st.lists(_ENDS, min_size=2, max_size=2),
       axes=st.sampled_from([[1, 3], [-1, 2], [0, -2], [3, 1]]),
       steps=st.lists(st.sampled_from([1, 2, 3, -1, -2]), min_size=2, max_size=2))
def test_slice(starts: list[int], ends: list[int], axes: list[int], steps: list[int]) -> None:
    shape = (1, 3, 7, 8)
    ref = np.zeros(shape)
    index = [slice(None)] * 4
    for s, e, a, t in zip(starts, ends, axes, steps, strict=True):
        index[a] = slice(s, e, t)
    assume(ref[tuple(index)].size > 0)  # an empty slice: nothing to compare
    inits = {"s": np.array(starts), "e": np.array(ends), "a": np.array(axes), "t": np.array(steps)}
    nodes = [helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"])]
    _check(_model(nodes, shape, inits, ["y"]), shape)


@oracle_settings(10)
@given(perm=st.permutations([0, 1, 2, 3]), axis=st.integers(-4, 3), scalar=st.booleans(),
       idx=st.lists(st.integers(-3, 2), min_size=1, max_size=4))
def test_transpose_gather_matmul(perm: list[int], axis: int, scalar: bool, idx: list[int]) -> None:
    shape = (1, 3, 4, 5)
    indices = np.array(idx[0] if scalar else idx, np.int64)
    n = shape[perm[axis % 4]]
    assume(all(-n <= i < n for i in np.atleast_1d(indices)))
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=list(perm)),
             helper.make_node("Gather", ["t", "i"], ["g"], axis=axis),
             helper.make_node("Transpose", ["x"], ["xt"], perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["x", "xt"], ["m"]),  # two activations: attention scores
             helper.make_node("MatMul", ["m", "w"], ["y"])]  # an activation times a 3-D constant
    w = np.random.default_rng(1).standard_normal((3, 4, 2)).astype(np.float32)
    _check(_model(nodes, shape, {"i": indices, "w": w}, ["g", "y"]), shape)


@oracle_settings(10)
@given(axis=st.integers(-3, 2), sizes=st.sampled_from([[2, 4], [1, 1, 4], [3, 3], None]),
       allowzero=st.booleans())
def test_split_reshape_concat(axis: int, sizes: list[int] | None, allowzero: bool) -> None:
    shape = (1, 6, 6)
    split = [helper.make_node("Split", ["x", "sz"] if sizes else ["x"], ["a", "b"] if not sizes or len(sizes) == 2
                              else ["a", "b", "c"], axis=axis)]
    outs = ["a", "b"] if not sizes or len(sizes) == 2 else ["a", "b", "c"]
    if sizes and sum(sizes) != shape[axis % 3]:
        sizes = [shape[axis % 3] - 1, 1]
        split = [helper.make_node("Split", ["x", "sz"], ["a", "b"], axis=axis)]
        outs = ["a", "b"]
    assume(axis % 3 != 0)
    inits: dict[str, np.ndarray] = {"cls": np.random.default_rng(2).standard_normal((1, 1, 36)).astype(np.float32),
                                    "shape": np.array([0, -1] if not allowzero else [1, -1]),
                                    "swap": np.array([-1, 3, 12])}
    if sizes:
        inits["sz"] = np.array(sizes)
    nodes = [*split,
             helper.make_node("Concat", list(reversed(outs)), ["r"], axis=axis),
             helper.make_node("Reshape", ["r", "shape"], ["f"], allowzero=int(allowzero)),
             helper.make_node("Unsqueeze", ["f", "one"], ["u"]),
             helper.make_node("Concat", ["cls", "u"], ["y"], axis=1),  # a class token before the tokens
             helper.make_node("Reshape", ["x", "swap"], ["z"])]  # the batch axis changes size
    inits["one"] = np.array([1])
    _check(_model(nodes, shape, inits, [*outs, "y", "z"]), shape)


@oracle_settings(8)
@given(axis=st.sampled_from([-1, -2, 2]), eps=st.sampled_from([1e-5, 1e-3]), affine=st.booleans(),
       reps=st.lists(st.integers(1, 3), min_size=3, max_size=3))
def test_norms_expand_tile_where(axis: int, eps: float, affine: bool, reps: list[int]) -> None:
    shape = (1, 4, 6)
    rng = np.random.default_rng(3)
    norm_shape = shape[axis:]
    inits = {"g": rng.standard_normal(norm_shape).astype(np.float32),
             "b": rng.standard_normal(norm_shape).astype(np.float32),
             "reps": np.array(reps), "big": np.array([3, 1, 1]),
             "cond": rng.standard_normal((4, 1)) > 0, "other": np.float32(0.5) * np.ones(6, np.float32),
             "sq": np.array([0]), "s4": rng.standard_normal(4).astype(np.float32),
             "b4": rng.standard_normal(4).astype(np.float32)}
    nodes = [helper.make_node("LayerNormalization", ["x", "g", "b"] if affine else ["x", "g"], ["n"], axis=axis,
                              epsilon=eps),
             helper.make_node("Expand", ["n", "big"], ["e"]),
             helper.make_node("Tile", ["x", "reps"], ["t"]),
             helper.make_node("Where", ["cond", "x", "other"], ["w"]),
             helper.make_node("Squeeze", ["w", "sq"], ["y"]),
             helper.make_node("InstanceNormalization", ["x", "s4", "b4"], ["i"], epsilon=eps),
             helper.make_node("Flatten", ["t"], ["f"], axis=reps[0] - 1 if reps[1] > 1 else -1)]
    _check(_model(nodes, shape, inits, ["e", "t", "y", "i", "f"]), shape)


def test_unknown_op_names_the_node() -> None:
    nodes = [helper.make_node("CumSum", ["x", "ax"], ["y"], name="running")]
    with pytest.raises(OnnxPortError, match=r"running.*CumSum"):
        from_onnx(_model(nodes, (1, 2, 3), {"ax": np.array(1)}, ["y"]))


def test_runtime_setting_is_refused() -> None:
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Cast", ["x"], ["xi"], to=TensorProto.INT64),
             helper.make_node("ReduceMax", ["xi"], ["k"], keepdims=0),
             helper.make_node("Unsqueeze", ["k", "zero"], ["k1"]),
             helper.make_node("Slice", ["x", "zero", "k1", "two"], ["y"], name="dyn")]
    with pytest.raises(OnnxPortError, match="dyn"):
        from_onnx(_model(nodes, (1, 2, 3), {"zero": np.array([0]), "two": np.array([2])}, ["y"]))


# -- graph inputs that are weights -------------------------------------------------------------------------


def test_weight_inputs_with_initializers_are_parameters() -> None:
    """ONNX IR < 4 lists every initializer among the graph inputs too (a default value the caller may
    override): the port reads it as a parameter, the module takes the data input only."""
    rng = np.random.default_rng(4)
    w, b = rng.standard_normal((3, 2, 3, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    g = np.ones(3, np.float32) * 2
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Transpose", ["c"], ["t"], perm=[0, 2, 3, 1]),
             helper.make_node("LayerNormalization", ["t", "g"], ["y"])]
    extra = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(v.shape)) for n, v in
             (("w", w), ("b", b), ("g", g))]
    model = _model(nodes, (1, 2, 5, 5), {"w": w, "b": b, "g": g}, ["y"], inputs=extra)
    _check(model, (1, 2, 5, 5))
    net = from_onnx(model)
    assert len(net.inputs) == 1
    assert sum(p.numel() for p in net.parameters()) == w.size + b.size + g.size


@pytest.mark.parametrize("transb", [0, 1])
def test_weight_inputs_without_values_are_module_inputs(transb: int) -> None:
    """A weight input with no initializer (ONNX's conformance models): the module takes it as an input, in
    the graph's order, and equals onnxruntime for any value."""
    rng = np.random.default_rng(5)
    vals = {"w": rng.standard_normal((3, 2, 3, 3)), "b": rng.standard_normal(3), "s": rng.standard_normal((3, 1, 1)),
            "fc": rng.standard_normal((4, 3) if transb else (3, 4)), "mean": rng.standard_normal(3),
            "var": rng.uniform(0.5, 2, 3), "g": rng.uniform(0.5, 2, 3)}
    vals = {k: v.astype(np.float32) for k, v in vals.items()}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], strides=[2, 2], auto_pad="SAME_UPPER"),
             helper.make_node("BatchNormalization", ["c", "g", "b", "mean", "var"], ["n"]),
             helper.make_node("PRelu", ["n", "s"], ["p"]),
             helper.make_node("GlobalAveragePool", ["p"], ["q"]),
             helper.make_node("Flatten", ["q"], ["f"]),
             helper.make_node("Gemm", ["f", "fc"], ["y"], transB=transb, alpha=0.5)]
    order = ["w", "g", "b", "s", "mean", "fc", "var"]
    extra = [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(vals[n].shape)) for n in order]
    model = _model(nodes, (1, 2, 7, 8), {}, ["y"], inputs=extra)
    x = np.random.default_rng(6).standard_normal((1, 2, 7, 8)).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"x": x, **vals})[0]
    net = from_onnx(model)
    with torch.no_grad():
        got = net(torch.from_numpy(x), *(torch.from_numpy(vals[n]) for n in order))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5)


def test_norm_scale_inputs_without_values_are_refused() -> None:
    """Where the module has no way to take a weight at run time (a LayerNormalization's scale), the
    port is refused, naming the node and the input."""
    scale = helper.make_tensor_value_info("scale", TensorProto.FLOAT, [3])
    nodes = [helper.make_node("LayerNormalization", ["x", "scale"], ["y"], name="ln")]
    with pytest.raises(OnnxPortError, match=r"'ln'.*'scale'.*graph input with no initializer"):
        from_onnx(_model(nodes, (1, 2, 3), {}, ["y"], inputs=[scale]))


# -- a small vision transformer exported by torch: ported, compiled, exported back ------------------------


class _TinyViT(nn.Module):
    def __init__(self, dim: int = 16, patch: int = 4, heads: int = 2, classes: int = 5) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, dim, patch, patch)
        self.cls = nn.Parameter(torch.randn(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 10, dim))
        self.block = nn.TransformerEncoderLayer(dim, heads, 2 * dim, 0.0, "gelu", batch_first=True,
                                                norm_first=True)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(x.shape[0], -1, -1), t], 1) + self.pos
        t = self.block(t)
        return self.head(self.norm(t)[:, 0]).softmax(-1)


def test_transformer_ports_compiles_and_exports_back(tmp_path: Any) -> None:
    torch.manual_seed(0)
    shape = (1, 3, 12, 13)  # 3×3 patches, the last column of pixels dropped
    buf = io.BytesIO()
    torch.onnx.export(_TinyViT().eval(), (torch.zeros(shape),), buf, dynamo=False, opset_version=17,
                      input_names=["x"])
    model = onnx.load_from_string(buf.getvalue())
    assert {"Transpose", "LayerNormalization", "MatMul", "Softmax"} <= {n.op_type for n in model.graph.node}
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    want = sess.run(None, {"x": x})[0]
    net = from_onnx(model)
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(x)).numpy(), want, rtol=1e-5, atol=1e-6)
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in _TinyViT().parameters())
    compiled = torch.compile(net, backend="aot_eager", fullgraph=True)
    with torch.no_grad():
        np.testing.assert_allclose(compiled(torch.from_numpy(x)).numpy(), want, rtol=1e-5, atol=1e-6)
    path = tmp_path / "back.onnx"
    torch.onnx.export(net, (torch.from_numpy(x),), str(path), dynamo=False, opset_version=17)
    back = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(back.run(None, {back.get_inputs()[0].name: x})[0], want, rtol=1e-5, atol=1e-6)


@oracle_settings(12)
@given(h=st.integers(3, 13), w=st.integers(3, 13), oh=st.integers(1, 30), ow=st.integers(1, 30),
       mode=st.sampled_from(["nearest", "linear"]))
def test_resize_to_any_size(h: int, w: int, oh: int, ow: int, mode: str) -> None:
    """``F.interpolate(size=...)`` exports a Resize with ``sizes``: PyTorch's in/out mapping is ONNX's there,
    at any ratio (timm's GhostNet v3 resizes 12 → 25)."""
    attrs: dict[str, Any] = {"mode": mode, "coordinate_transformation_mode": "asymmetric" if mode == "nearest"
                             else "half_pixel"}
    if mode == "nearest":
        attrs["nearest_mode"] = "floor"
    nodes = [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], **attrs)]
    _check(_model(nodes, (1, 2, h, w), {"sizes": np.array([1, 2, oh, ow])}, ["y"]), (1, 2, h, w))


def test_resize_by_a_scale_that_is_not_the_ratio_is_refused() -> None:
    """A scale of 1.7 on 6 pixels gives 10: ONNX maps by 1/1.7, PyTorch by 6/10."""
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest", name="rz",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor")]
    model = _model(nodes, (1, 2, 6, 6), {"scales": np.array([1, 1, 1.7, 1.7], np.float32)}, ["y"])
    with pytest.raises(OnnxPortError, match=r"rz"):
        from_onnx(model)


@oracle_settings(10)
@given(auto=st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]), s=st.integers(1, 3),
       k=st.integers(1, 4), groups=st.sampled_from([1, 2]), h=st.integers(6, 11),
       pads=st.lists(st.integers(0, 2), min_size=4, max_size=4))
def test_conv_with_computed_weights(auto: str, s: int, k: int, groups: int, h: int, pads: list[int]) -> None:
    """A Conv whose weights the graph computes from the input (timm's CondConv mixes experts per sample)."""
    rng = np.random.default_rng(h * 7 + k)
    inits = {"w": rng.standard_normal((4, 4 // groups, k, k + 1)).astype(np.float32),
             "b": rng.standard_normal(4).astype(np.float32)}
    attrs: dict[str, Any] = {"strides": [s, 1], "group": groups, "auto_pad": auto}
    if auto == "NOTSET":
        attrs["pads"] = pads
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], keepdims=0),
             helper.make_node("Mul", ["w", "m"], ["wx"]),
             helper.make_node("Conv", ["x", "wx", "b"], ["y"], **attrs)]
    _check(_model(nodes, (1, 4, h, h + 1), inits, ["y"]), (1, 4, h, h + 1))
