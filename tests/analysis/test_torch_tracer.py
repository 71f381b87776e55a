"""The torch adapter's tracer: forwards written in many styles, against real forward passes."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from padstride.analysis import analyze
from padstride.analysis.adapters.torch import graph_from_torch
from padstride.analysis.load import ModelError
from padstride.analysis.propagate import propagate
from padstride.analysis.summary import Summary
from tests._helpers import oracle_settings


class UpBlock(nn.Module):
    """A U-Net decoder step that pads to the skip's size: Python branches on sizes (torch.fx cannot trace it)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(c, c // 2, 2, stride=2)
        self.conv = nn.Conv2d(c, c // 2, 3, padding=1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = self.up(x)
        dy, dx = skip.size(2) - x.size(2), skip.shape[3] - x.shape[3]
        if dy or dx:
            x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([skip, x], dim=1))


class Styles(nn.Module):
    """Tensor methods, torch functions, reflected operators, views on the batch size, tuple outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.up = UpBlock(16)
        self.head = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s = torch.relu(self.stem(x))
        d = self.down(input=s).relu()
        u = self.up(d, s)
        u = 0.5 * (u + s) - s / 2
        u = torch.add(u, 1.0).contiguous()
        if u.shape[-1] > 4:
            u = F.adaptive_avg_pool2d(u, (4, 4))
        pooled = F.interpolate(u, size=s.shape[2:], mode="nearest")
        return self.head(u.view(u.size(0), -1)), torch.flatten(pooled + s, 1)


@pytest.mark.parametrize("size", [(3, 16, 16), (3, 15, 17), (3, 9, 12)])
def test_forward_styles_match_a_real_forward(size: tuple[int, ...]) -> None:
    net = Styles().eval()
    with torch.no_grad():
        real = net(torch.zeros(1, *size))
    s = analyze(net, size)
    assert not s.errors, s.errors
    got = [s.layer(name).shape for name in s.graph.outputs]
    assert got == [tuple(t.shape[1:]) for t in real]
    assert s.total_params == sum(p.numel() for p in net.parameters())
    pads = [n for n in s.graph.nodes if n.type == "F.pad"]
    assert bool(pads) == (size[1] % 4 != 0 or size[2] % 4 != 0)  # the size branch was followed


def test_the_trace_propagation_equals_a_fresh_one() -> None:
    import resnet

    net = resnet.resnet50().eval()
    traced = analyze(net, (3, 97, 131))
    graph = graph_from_torch(net, (3, 97, 131))
    fresh = Summary(graph, list(propagate(graph).values()))
    assert traced.to_dict() == fresh.to_dict()


def test_module_call_is_restored_after_a_failed_trace() -> None:
    class Bad(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2 if x.mean() > 0 else x

    original = nn.Module.__call__
    with pytest.raises(ModelError, match=r"^Bad: Bad.forward branches on tensor values, which a read without "
                                         r"computing cannot follow"):
        analyze(Bad(), (1, 4, 4))
    assert nn.Module.__call__ is original
    assert nn.Conv2d(1, 1, 1)(torch.ones(1, 1, 2, 2)).shape == (1, 1, 2, 2)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), Bad())
    with pytest.raises(ModelError):
        analyze(net, (1, 8, 8))
    assert not any("_compiled_call_impl" in vars(m) for m in net.modules())  # each module's call restored


class _BatchSized(nn.Module):
    """A tensor sized by the batch (``torch.zeros(B, 3)``), or the batch size used as a number (``int(B)``)."""

    def __init__(self, as_number: bool) -> None:
        super().__init__()
        self.as_number = as_number

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = int(x.size(0)) if self.as_number else x.size(0)
        return torch.zeros(batch, 3) + x.mean((2, 3))[:, :1]


@pytest.mark.parametrize(("as_number", "reader"), [(False, "trace"), (True, "meta")])
def test_the_batch_size_as_a_number_is_read_on_meta(as_number: bool, reader: str) -> None:
    s = analyze(_BatchSized(as_number), (1, 4, 4))
    assert s.graph.reader == reader and s.layer(s.graph.outputs[0]).shape == (3,)


def test_an_error_inside_forward_is_one_line_with_the_module_path() -> None:
    class Picky(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("needs 224 pixels\nsecond line")

    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Sequential(nn.ReLU(), Picky()))
    with pytest.raises(ModelError, match=r"^Sequential: 1\.1 \(Picky\) fails: ValueError: needs 224 pixels "
                       r"\(at test_torch_tracer\.py:\d+, in forward\)$") as err:
        analyze(net, (1, 8, 8))
    assert "\n" not in str(err.value)


class Conv2dSame(nn.Conv2d):
    """timm's ``Conv2dSame`` (timm/layers/conv2d_same.py), written out: TF SAME pads computed in ``forward``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for n, k, s, d in zip(x.size()[-2:], self.kernel_size, self.stride, self.dilation):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        x = F.pad(x, [*pads[1], *pads[0]])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


@oracle_settings(25)
@given(st.integers(5, 40), st.integers(5, 40), st.integers(1, 5), st.integers(1, 3), st.integers(1, 2))
def test_a_conv_subclass_that_pads_in_forward_is_traced_into(h: int, w: int, k: int, s: int, d: int) -> None:
    from padstride.geometry import conv

    net = nn.Sequential(Conv2dSame(2, 4, k, stride=s, dilation=d), nn.ReLU()).eval()
    with torch.no_grad():
        real = net(torch.zeros(1, 2, h, w))
    summary = analyze(net, (2, h, w))
    assert summary.layer(summary.graph.outputs[0]).shape == tuple(real.shape[1:])
    assert summary.total_params == sum(p.numel() for p in net.parameters()) and not summary.graph.notes
    pad = next(layer for layer in summary.layers if layer.type == "F.pad")
    assert pad.pads == conv((h, w), k, s, "same", d).pads  # TF SAME, found by running the layer's own code


class ShuffleBlock(nn.Module):
    """ShuffleNetV2's stride-1 unit (torchvision's InvertedResidual, written out): chunk, branch, cat, shuffle."""

    def __init__(self, c: int) -> None:
        super().__init__()
        half = c // 2
        self.branch = nn.Sequential(nn.Conv2d(half, half, 1), nn.BatchNorm2d(half), nn.ReLU(),
                                    nn.Conv2d(half, half, 3, padding=1, groups=half), nn.BatchNorm2d(half),
                                    nn.Conv2d(half, half, 1), nn.ReLU())
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        out = torch.cat((x1, self.branch(x2)), dim=1)
        b, c, h, w = out.size()
        out = out.view(b, 2, c // 2, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)
        return self.shuffle(out)


def test_multi_output_ops_and_unknown_torch_layers() -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), ShuffleBlock(8), nn.MaxPool2d(2)).eval()
    with torch.no_grad():
        real = net(torch.zeros(1, 3, 17, 19))
    s = analyze(net, (3, 17, 19))
    assert not s.errors, s.errors
    assert s.layer(s.graph.outputs[0]).shape == tuple(real.shape[1:])
    assert s.total_params == sum(p.numel() for p in net.parameters())
    assert [layer.shape for layer in s.layers if layer.type == "chunk"] == [(4, 8, 9)] * 2


class _SameNames(nn.Module):
    """A function called before a child module whose name it would take (timm shvit's head ``flatten``)."""

    def __init__(self) -> None:
        super().__init__()
        self.flatten, self.conv = nn.Flatten(1), nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.flatten(2)  # recorded, named before the module
        return self.flatten(self.conv(x))


@pytest.mark.parametrize("reader", ["trace", "meta"])
def test_a_function_never_takes_a_module_name(reader: str) -> None:
    from padstride.analysis.adapters import torch_meta
    from padstride.analysis.adapters.torch_inputs import torch_inputs

    net = nn.Sequential(_SameNames())
    if reader == "trace":
        s = analyze(net, (3, 8, 8))
        assert s.graph.reader == "trace"
        shapes = {n.name: s.layer(n.name).shape for n in s.graph.nodes}
    else:
        _graph, infos = torch_meta.read(net, torch_inputs(net, (3, 8, 8)))
        shapes = {name: info.shape for name, info in infos.items()}
    hooks = {}
    for path, module in net.named_modules():
        if path in ("0.flatten", "0.conv"):
            module.register_forward_hook(lambda m, i, o, path=path: hooks.__setitem__(path, tuple(o.shape[1:])))
    net(torch.zeros(1, 3, 8, 8))
    assert {p: shapes[p] for p in hooks} == hooks


class WindowBlock(nn.Module):
    """Swin/MaxViT's window attention, written out: windows folded into the batch, ``qkv.permute(2, 0, ...)``
    moving the batch to axis 1, ``unbind``, a relative-position bias table indexed by a buffer, a layer scale."""

    def __init__(self, c: int = 8, ws: int = 4, heads: int = 2) -> None:
        super().__init__()
        self.ws, self.heads = ws, heads
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + ws - 1
        self.register_buffer("index", rel[..., 0] * (2 * ws - 1) + rel[..., 1], persistent=False)
        self.gamma = nn.Parameter(torch.ones(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        ws = self.ws
        w = x.view(B, H // ws, ws, W // ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, C)
        B_, N, _ = w.shape
        q, k, v = self.qkv(w).reshape(B_, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        bias = self.table[self.index.view(-1)].view(N, N, -1).permute(2, 0, 1).unsqueeze(0)
        attn = (q @ k.transpose(-2, -1) * (C // self.heads) ** -0.5 + bias).softmax(-1)
        w = self.proj((attn @ v).transpose(1, 2).reshape(B_, N, C))
        w = w.view(B_ // (H // ws * W // ws), H // ws, W // ws, ws, ws, C).permute(0, 1, 3, 2, 4, 5)
        return x + self.gamma * w.reshape(B, H, W, C)


class WindowNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 2, 2)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 8))
        self.block = WindowBlock()
        self.norm = nn.LayerNorm(8)
        self.aux = nn.Linear(8, 3)  # never called: listed as unused
        self.head = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(self.stem(x).permute(0, 2, 3, 1))
        tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x.flatten(1, 2)], dim=1)
        return self.head(self.norm(tokens)[:, 0])


@pytest.mark.parametrize("size", [(3, 16, 16), (3, 8, 24), (3, 32, 16)])
def test_windows_heads_and_the_models_own_tensors_are_traced_exactly(size: tuple[int, ...]) -> None:
    from ._forward import real_shapes

    net = WindowNet().eval()
    real, outs = real_shapes(net, torch.zeros(1, *size))
    s = analyze(net, size)
    assert s.graph.reader == "trace" and not s.errors and not s.graph.notes
    assert s.total_params == sum(p.numel() for p in net.parameters())
    assert s.layer("aux.unused").params == 8 * 3 + 3
    traced = {n.name: s.layer(n.name).shape for n in s.graph.nodes if n.name in real}
    assert traced == {k: v for k, v in real.items() if k in traced} and len(traced) == 5  # every layer; not the block
    assert [s.layer(o).shape for o in s.graph.outputs] == outs
    assert s.layer("block.qkv").shape == (16, 24) and s.layer("block.proj").shape == (16, 8)  # per window
    assert s.layer("block.permute_1").shape == (size[1] // 8 * size[2] // 8, 2, 16, 4)  # (3, B·windows, …)
    assert s.layer("block.unbind").shape == (2, 16, 4)  # q: the batch back on axis 0
    # the model's own tensors, counted where they meet the data: bias table, layer scale, class token
    assert [s.layer(n).params for n in ("block.add", "block.mul_1", "cat")] == [98, 8, 8]


class Blur(nn.Module):
    """timm's ``BlurPool2d``: a fixed filter in a buffer; and ``ScaledStdConv2d``: weights standardized with a gain."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("filt", torch.ones(4, 1, 3, 3) / 9)
        self.conv = nn.Conv2d(4, 6, 3)
        self.gain = nn.Parameter(torch.ones(6, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), self.filt, stride=2, groups=4)
        w = self.conv.weight
        w = (w - w.mean((1, 2, 3), keepdim=True)) * self.gain
        return F.conv2d(x, w, self.conv.bias)


@pytest.mark.parametrize("size", [(4, 9, 9), (4, 16, 11)])
def test_weights_from_buffers_or_computed_are_counted_once(size: tuple[int, ...]) -> None:
    net = nn.Sequential(nn.Conv2d(4, 4, 1), Blur()).eval()
    with torch.no_grad():
        real = net(torch.zeros(1, *size))
    s = analyze(net, size)
    assert s.graph.reader == "trace" and not s.errors
    assert s.layer(s.graph.outputs[0]).shape == tuple(real.shape[1:])
    assert s.total_params == sum(p.numel() for p in net.parameters())  # the buffer is no parameter


class Extras(nn.Module):
    """torchvision Swin's ``x.new_zeros((H, W))`` mask, EdgeNeXt's ``torch.zeros(B, ...).to(weight.device)``,
    GCViT's ``repeat_interleave(B_ // B)``, CoaT's shared conv, ViT's ``nn.MultiheadAttention`` (``(out, None)``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        x = self.conv(x + x.new_zeros((H, W)) + torch.zeros(B, 1, H, W).to(self.conv.weight.device))
        x = self.conv(x)  # shared: its parameters counted once
        windows = x.reshape(B, C, 2, H // 2, W).transpose(1, 2).reshape(B * 2, C, H // 2 * W).transpose(1, 2)
        g = x.flatten(2).mean(2, keepdim=True).transpose(1, 2).repeat_interleave(windows.shape[0] // B, dim=0)
        out, _ = self.attn(windows + g, windows, windows, need_weights=False)
        return out.reshape(B, 2, -1).flatten(1)


@pytest.mark.parametrize("size", [(4, 6, 5), (4, 8, 9)])
def test_tensors_made_in_forward_shared_layers_and_torch_attention(size: tuple[int, ...]) -> None:
    net = Extras().eval()
    with torch.no_grad():
        real = net(torch.zeros(1, *size))
    s = analyze(net, size)
    assert s.graph.reader == "trace" and not s.errors and not s.graph.notes
    assert s.layer(s.graph.outputs[0]).shape == tuple(real.shape[1:])
    assert s.total_params == sum(p.numel() for p in net.parameters())


class Ops(nn.Module):
    """The ops :meth:`Converter.call` takes a fast path for, in their spellings: functions, methods, operators,
    in place, with keywords, reflected, on tensors whose batch is folded or moved."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = F.relu(self.conv(x), inplace=False).sigmoid_()
        y = F.dropout(y * 0.5 + y, 0.1, training=False) - 1
        y = torch.clamp(y, min=0.0).float().contiguous() / y
        y.add_(x).relu_()
        z = (2 * y).softmax(dim=1)
        n = y.size(2) * y.size(dim=3) + y.dim() + y.numel() // y.shape[0] + len(y.size())
        B, C, H, W = y.shape
        w = y.reshape(B * 2, C, H // 2, W).relu() * 3  # windows folded into the batch
        t = y.permute(1, 0, 2, 3).tanh()  # the batch on axis 1
        u = y.flatten(2).transpose(1, 2)
        first, _ = u.chunk(2, dim=-1)
        parts = torch.split(u, [1, 3], dim=2)
        v = torch.unsqueeze(u, 1).squeeze(1).permute(0, 2, 1).unbind(1)[0]
        e = y.mean((2, 3)).unsqueeze(1).expand(B, 3, -1).swapaxes(1, 2)
        y = F.max_pool2d(F.pad(y, [1, 0, 0, 1], value=0.0), 2, stride=1, ceil_mode=True) + y.view(B, C, H * W).view(
            B, C, H, W)
        return (z + w.reshape(B, C, H, W) + t.permute(1, 0, 2, 3).tanh() + n, first + parts[1][..., :2], v, e)


@pytest.mark.parametrize(("net", "size"), [(Ops(), (4, 6, 5)), (Styles(), (3, 15, 17)), (WindowNet(), (3, 8, 24))])
def test_the_fast_paths_build_what_the_general_path_builds(net: nn.Module, size: tuple[int, ...],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from padstride.analysis.adapters import torch_sym

    def read() -> tuple[object, ...]:
        s = analyze(net.eval(), size)
        return ([(n.name, n.op, n.inputs, dict(n.attrs), n.type) for n in s.graph.nodes],
                [(i.name, i.shape, i.params) for i in s.layers], s.graph.reader)

    fast = read()
    assert fast[2] == "trace"
    with torch.no_grad():
        real = net(torch.zeros(1, *size))
    s = analyze(net, size)
    assert [s.layer(o).shape for o in s.graph.outputs] == [tuple(t.shape[1:]) for t in
                                                           (real if isinstance(real, tuple) else (real,))]
    target = torch_sym._target.__wrapped__

    def general(t: object) -> tuple[str, bool, int]:
        return (*target(t)[:2], 0)

    general.__wrapped__ = general  # type: ignore[attr-defined]
    monkeypatch.setattr(torch_sym, "_target", general)
    assert read() == fast


@pytest.mark.parametrize("waiting_ends_first", [False, True])
def test_traces_in_two_threads_share_a_module_and_restore_it(waiting_ends_first: bool) -> None:
    """Two models that share a layer, traced at once: the redirect of the shared module's calls stays while
    either trace runs, and whichever ends last puts the module back as it was."""
    import threading

    inside, release, second_inside = threading.Event(), threading.Event(), threading.Event()

    class Wait(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            inside.set()
            release.wait(60)
            return x

    class Hold(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            second_inside.set()
            first.join(60)  # the waiting trace ends while this one still runs, then calls the shared layer
            return x

    shared = nn.Conv2d(3, 3, 3, padding=1)
    waiting = nn.Sequential(shared, Wait(), nn.ReLU()).eval()
    other = nn.Sequential(nn.Conv2d(3, 3, 1), *([Hold()] if waiting_ends_first else []), shared).eval()
    got: dict[str, list[tuple[str, str]]] = {}

    def read(name: str, net: nn.Module) -> None:
        got[name] = [(n.name, n.op) for n in graph_from_torch(net, (3, 8, 8)).nodes]

    first = threading.Thread(target=read, args=("waiting", waiting))
    first.start()
    assert inside.wait(60)
    second = threading.Thread(target=read, args=("other", other))
    second.start()
    if waiting_ends_first:
        assert second_inside.wait(60)
    else:
        second.join(60)
        assert "_compiled_call_impl" in vars(shared)  # still redirected: the first trace runs
    release.set()
    first.join(60)
    second.join(60)
    assert got == {"waiting": [("input", "input"), ("0", "conv"), ("2", "activation")],
                   "other": [("input", "input"), ("0", "conv"), (f"{len(other) - 1}", "conv")]}  # a layer in both
    assert not any("_compiled_call_impl" in vars(m) for net in (waiting, other) for m in net.modules())
    assert shared(torch.ones(1, 3, 4, 4)).shape == (1, 3, 4, 4)


class Gates(nn.Module):
    """Broadcast operands (a channel gate, a row) on either side of ``*`` and ``+``."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.sigmoid(x.mean((2, 3), keepdim=True))
        row = x.mean(2, keepdim=True)
        return g * x + x * g + row + x, torch.cat([(row + x) * g, row * x], 1)


@pytest.mark.parametrize("size", [(4, 5, 7), (2, 1, 6), (3, 6, 1)])
def test_broadcast_operands_in_either_order_match_a_real_forward(size: tuple[int, ...]) -> None:
    s = analyze(Gates().eval(), size)
    ref = Gates()(torch.zeros(1, *size))
    assert [s.layer(o).shape for o in s.graph.outputs] == [tuple(t.shape[1:]) for t in ref]
    assert not s.errors
