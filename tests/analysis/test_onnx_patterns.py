"""The patterns torchvision's exports use that padstride once refused, in small torch models: every node vs onnxruntime.

DenseNet concatenates a one-tensor list; ShuffleNet splits channels and shuffles them with
``Reshape``/``Transpose`` built from ``Shape``; ViT concatenates an expanded class token and adds
a position embedding (``Expand``, ``Concat``, attention's ``MatMul``/``Softmax``); Swin pads a
channels-last tensor, rolls it and folds windows into the batch axis. Models with several inputs,
and weights passed as graph inputs (``export_params=False``, as ONNX's conformance models do),
are read too. Exported with the TorchScript exporter at opset 17 (and 18, 20, 21), at odd sizes; the
dynamo exporter needs ``onnxscript``, not installed here.
"""

from __future__ import annotations

import math
import warnings

import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
import numpy as np  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from padstride.analysis import analyze  # noqa: E402

from ._onnx_oracle import export, initializer_params, matches_onnxruntime  # noqa: E402


class Dense(nn.Module):
    """DenseNet's layer: ``torch.cat([x], 1)`` of a one-element list, then BN-ReLU-Conv, concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 7, 2, 3)
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(8 + 4 * i), nn.ReLU(), nn.Conv2d(8 + 4 * i, 4, 3, 1, 1)) for i in range(2))
        self.pool = nn.AvgPool2d(2, 2)

    def forward(self, x):
        feats = [self.stem(x)]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, 1)))
        return self.pool(torch.cat(feats, 1))


class Shuffle(nn.Module):
    """ShuffleNetV2's unit: ``chunk`` (Split/Slice), a branch, ``cat``, and the channel shuffle."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, 2, 1)
        self.branch = nn.Sequential(nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 3, 1, 1, groups=8), nn.ReLU())
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.stem(x)
        a, b = x.chunk(2, dim=1)
        x = torch.cat((a, self.branch(b)), dim=1)
        n, c, h, w = x.size()
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)
        return self.fc(x.mean([2, 3]))


class ViT(nn.Module):
    """ViT: patch conv, flatten + transpose, an expanded class token, position embedding, attention, head."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 32, 8, 8)
        self.cls = nn.Parameter(torch.zeros(1, 1, 32))
        self.pos = nn.Parameter(torch.zeros(1, 17, 32))
        self.norm = nn.LayerNorm(32)
        self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 32))
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        y = self.norm(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        x = x + self.mlp(self.norm(x))
        return self.head(x[:, 0])


class Swin(nn.Module):
    """Swin's block: channels-last ``F.pad``, ``roll``, windows folded into the batch, a linear, and back."""

    def __init__(self, window: int = 4) -> None:
        super().__init__()
        self.window = window
        self.embed = nn.Conv2d(3, 16, 4, 4)
        self.norm = nn.LayerNorm(16)
        self.fc = nn.Linear(16, 16)

    def forward(self, x):
        x = self.norm(self.embed(x).permute(0, 2, 3, 1))
        n, h, w, c = x.shape
        ws = self.window
        x = F.pad(x, (0, 0, 0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws))
        x = torch.roll(x, shifts=(-2, -2), dims=(1, 2))
        hp, wp = x.shape[1], x.shape[2]
        win = x.view(n, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
        win = self.fc(win)
        x = win.view(n, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(n, hp, wp, c)
        return x[:, :h, :w, :].permute(0, 3, 1, 2)


class TwoInputs(nn.Module):
    """An image and a vector: two branches concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.meta = nn.Linear(6, 4)
        self.head = nn.Linear(12, 2)

    def forward(self, image, meta):
        return self.head(torch.cat([self.pool(self.conv(image)).flatten(1), self.meta(meta)], 1))


class TfSame(nn.Module):
    """timm's ``Conv2dSame``: TF-SAME pads computed in ``forward`` from the size (``Ceil``, ``Clip``, ``Pad``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2)

    def forward(self, x):
        ih, iw = x.size()[-2:]
        if torch.jit.is_tracing():  # sizes are tensors: timm's get_same_padding uses ceil and clamp then
            ph, pw = (torch.clamp(((n / 2).ceil() - 1) * 2 + 3 - n, min=0) for n in (ih, iw))
        else:
            ph, pw = (max((math.ceil(n / 2) - 1) * 2 + 3 - n, 0) for n in (ih, iw))
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return self.conv(x)


CASES = {"densenet": (Dense, 45), "shufflenet": (Shuffle, 45), "vit": (ViT, 32), "swin": (Swin, 45),
         "tf_same": (TfSame, 45)}


@pytest.mark.parametrize("name", list(CASES))
def test_pattern_matches_onnxruntime(name: str, tmp_path) -> None:
    factory, size = CASES[name]
    torch.manual_seed(0)
    path = export(factory().eval(), (torch.zeros(1, 3, size, size),), tmp_path / f"{name}.onnx")
    s = matches_onnxruntime(path, min_layers=2 if name == "tf_same" else 8)
    assert s.total_params == initializer_params(onnx.load(str(path)))


@pytest.mark.parametrize(("name", "opset"), [("shufflenet", 18), ("swin", 20), ("vit", 21)])
def test_pattern_at_newer_opsets(name: str, opset: int, tmp_path) -> None:
    """Opset 18 moved reduce axes, ``Split`` counts and ``Pad`` axes into inputs; the same models still read."""
    factory, size = CASES[name]
    path = export(factory().eval(), (torch.zeros(1, 3, size, size),), tmp_path / f"{name}.onnx", opset=opset)
    matches_onnxruntime(path, min_layers=8)


@pytest.mark.parametrize("name", ["densenet", "shufflenet", "swin", "tf_same"])
def test_dynamic_export_at_another_size(name: str, tmp_path) -> None:
    """Exported with dynamic sizes, the shape arithmetic is in the graph: it is folded at the size asked for."""
    factory, size = CASES[name]
    path = export(factory().eval(), (torch.zeros(1, 3, size, size),), tmp_path / f"{name}.onnx",
                  input_names=["x"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}})
    model = onnx.load(str(path))
    assert any(n.op_type == "Shape" for n in model.graph.node) or name == "densenet"
    feeds = {"x": np.zeros((1, 3, 61, 53), np.float32)}
    if name == "tf_same":
        assert {"Ceil", "Clip", "Pad"} <= {n.op_type for n in model.graph.node}
    matches_onnxruntime(path, feeds, input_shape=(3, 61, 53), min_layers=2 if name == "tf_same" else 8)


def test_several_inputs(tmp_path) -> None:
    path = export(TwoInputs().eval(), (torch.zeros(1, 3, 33, 35), torch.zeros(1, 6)), tmp_path / "two.onnx",
                  input_names=["image", "meta"])
    s = matches_onnxruntime(path, min_layers=5)
    assert [s.layer(i).shape for i in s.graph.inputs] == [(3, 33, 35), (6,)]
    assert s.total_params == sum(p.numel() for p in TwoInputs().parameters())
    by_name = analyze(str(path), {"image": (3, 41, 41)})
    assert by_name.layer(by_name.graph.outputs[0]).shape == (2,)
    assert analyze(str(path), [(3, 17, 17), (6,)]).errors == []


def test_several_inputs_need_one_shape_each(tmp_path) -> None:
    from padstride.analysis.load import ModelError

    path = export(TwoInputs().eval(), (torch.zeros(1, 3, 33, 35), torch.zeros(1, 6)), tmp_path / "two.onnx")
    with pytest.raises(ModelError, match="2 data inputs"):
        analyze(str(path), (3, 41, 41))


def test_input_shape_with_the_batch_axis(tmp_path) -> None:
    """``1,3,H,W`` (torchinfo's habit) is understood: the model's input rank tells the batch axis is included."""
    path = export(Dense().eval(), (torch.zeros(1, 3, 45, 45),), tmp_path / "dense.onnx")
    assert analyze(str(path), (1, 3, 51, 51)).layer("/pool/AveragePool").shape == (16, 13, 13)
    assert analyze(str(path), (3, 51, 51)).layer("/pool/AveragePool").shape == (16, 13, 13)


def test_weights_as_graph_inputs(tmp_path) -> None:
    """``export_params=False``: every weight is a graph input; those in weight slots are parameters."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 4, 3), nn.Flatten(), nn.Linear(4 * 7 * 7, 3))
    path = export(net.eval(), (torch.zeros(1, 3, 17, 17),), tmp_path / "noparams.onnx", export_params=False,
                  input_names=["x"])
    model = onnx.load(str(path))
    assert len(model.graph.input) > 1 and not model.graph.initializer
    feeds = {i.name: np.zeros([d.dim_value for d in i.type.tensor_type.shape.dim], np.float32)
             for i in model.graph.input}
    s = matches_onnxruntime(path, feeds, min_layers=4)
    assert s.graph.inputs == ("x",)
    assert s.total_params == sum(p.numel() for p in net.parameters())


class Tail(nn.Module):
    """A convolution followed by shape arithmetic, a transpose and a softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 5)

    def forward(self, x):
        x = self.conv(x)
        n, c, h, w = x.shape
        return x.reshape(n, c, h * w).transpose(1, 2).softmax(-1) + 1


def test_a_size_the_model_cannot_take_is_reported_not_raised(tmp_path) -> None:
    """Too small for the 5×5 kernel: the convolution's error is in the summary; what follows is unknown."""
    path = export(Tail().eval(), (torch.zeros(1, 3, 9, 9),), tmp_path / "tail.onnx", input_names=["x"],
                  dynamic_axes={"x": {2: "h", 3: "w"}})
    s = analyze(str(path), (3, 4, 4))
    assert len(s.errors) == 1 and "kernel 5 spans 5 > padded input 4" in s.errors[0], s.errors
    assert analyze(str(path), (3, 9, 9)).layer(s.graph.outputs[0]).shape == (25, 4)


@pytest.mark.parametrize("name", list(CASES))
def test_dynamo_export(name: str, tmp_path) -> None:
    """``torch.onnx.export(..., dynamo=True)`` (opset 18+, needs ``onnxscript``): other graphs, same reading."""
    pytest.importorskip("onnxscript")
    factory, size = CASES[name]
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(factory().eval(), (torch.zeros(1, 3, size, size),), str(path), dynamo=True)
    s = matches_onnxruntime(path, min_layers=5)
    assert s.total_params == initializer_params(onnx.load(str(path)))
