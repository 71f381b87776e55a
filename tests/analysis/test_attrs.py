"""Every attribute key a reader sets is declared in its op's ``TypedDict`` (padstride.analysis.attrs)."""

from __future__ import annotations

import io

import pytest

from padstride.analysis import GraphBuilder, Node
from padstride.analysis.attrs import ATTRS, ConvAttrs, undeclared, view
from padstride.analysis.ir import OPS, Graph
from padstride.analysis.load import load_model


def test_every_op_has_its_attrs() -> None:
    assert set(ATTRS) == set(OPS)


def test_an_undeclared_key_is_named() -> None:
    g = Graph("g", [Node("x", "input", attrs={"shape": (3, 8, 8)}),
                    Node("c", "conv", ("x",), {"filters": 4, "kernel": 3, "fliters": 4})])
    assert undeclared(g) == ["c: 'fliters' (conv)"]


def test_view_is_the_mapping_itself() -> None:
    b = GraphBuilder()
    b.conv(b.input((3, 8, 8)), 4, 3)
    node = b.nodes[-1]
    assert view(node, ConvAttrs) is node.attrs


def test_builder() -> None:
    b = GraphBuilder()
    x = b.input((3, 16, 16))
    x = b.conv(x, 8, 3, padding="same", activation="relu", in_channels=3)
    y = b.conv_transpose(b.max_pool(x, 2), 8, 2, 2, output_padding=0, rule="onnx")
    x = b.concat([x, y])
    x = b.add([b.pad(x, 1), b.pad(x, 1, mode="reflect")])
    x = b.mul([b.crop(x, 1), b.upsample(b.avg_pool(x, 2, ceil_mode=True), 2)])
    x = b.norm(b.dropout(b.activation(x, "gelu")), "group", features=16)
    x = b.dense(b.flatten(b.global_pool(x, keepdims=True)), 4, in_features=16)
    b.opaque(b.reshape(b.identity(x), (2, 2)), (4,), params=3)
    assert undeclared(b.build()) == []


def _torch_model():  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c = nn.Conv2d(3, 8, 3, 2, 1)
            self.ct = nn.ConvTranspose2d(8, 8, 3, 2, 1, 1)
            self.bn, self.gn = nn.BatchNorm2d(8), nn.GroupNorm(2, 8)
            self.mp, self.ap = nn.MaxPool2d(2, ceil_mode=True), nn.AvgPool2d(3, 1, 1, count_include_pad=False)
            self.fc, self.up = nn.Linear(8, 4), nn.Upsample(scale_factor=2)

        def forward(self, x):  # type: ignore[no-untyped-def]
            y = F.leaky_relu(self.bn(self.c(x)), 0.1)
            y = self.gn(self.ct(y)) + F.relu(y.repeat(1, 1, 2, 2)) * 2.0
            y = torch.cat([y, self.up(self.mp(y))], 1)[:, :8]
            y = F.pad(self.ap(y), (1, 1, 1, 1), mode="reflect")[..., 1:-1, 1:-1]
            return F.softmax(self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1)), 1)

    return torch, Net().eval()


def test_torch_and_onnx_readers() -> None:
    torch, model = _torch_model()
    graph = load_model(model, (3, 16, 16))
    assert len(graph.nodes) > 10 and undeclared(graph) == []
    onnx = pytest.importorskip("onnx")
    buf = io.BytesIO()
    torch.onnx.export(model, torch.randn(1, 3, 16, 16), buf, dynamo=False, opset_version=17)
    graph = load_model(onnx.load_from_string(buf.getvalue()))
    assert {n.op for n in graph.nodes} >= {"conv", "conv_transpose", "pool", "add", "concat", "dense"}
    assert any("onnx_inputs" in n.attrs for n in graph.nodes) and undeclared(graph) == []


def test_keras_reader() -> None:
    keras = pytest.importorskip("keras")
    L = keras.layers
    i = keras.Input((16, 16, 3))
    x = L.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 1.0, 1.0])(L.Rescaling(1 / 255.0)(i))
    x = L.SeparableConv2D(8, 3, padding="same")(L.DepthwiseConv2D(3, padding="same", activation="swish")(x))
    x = L.Concatenate()([L.MaxPooling2D(2)(x), L.AveragePooling2D(2, padding="same")(L.BatchNormalization()(x))])
    x = L.Add()([x, L.ReLU(6.0)(x)])
    x = L.Average()([x, L.LeakyReLU()(L.Subtract()([x, L.ELU()(x)]))])
    x = L.Conv2DTranspose(8, 3, 2, padding="same", output_padding=1)(L.Multiply()([x, x]))
    x = L.Cropping2D(1)(L.ZeroPadding2D(1)(L.UpSampling2D(2)(x)))
    x = L.GroupNormalization(4)(L.LayerNormalization()(L.Dropout(0.1)(x * 2.0)))
    x = L.Flatten()(L.MaxPooling2D(32)(x))
    y = L.Dense(8)(x)
    shared = L.Dense(4, activation="gelu")
    x = L.Softmax()(L.Reshape((2, 2))(L.Add()([shared(x), shared(y)])))
    graph = load_model(keras.Model(i, x))
    assert any(n.attrs.get("shared") for n in graph.nodes) and undeclared(graph) == []
