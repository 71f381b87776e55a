"""The meta-device reader: the issue's failing cases written out, each against a real forward."""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from padstride.analysis import analyze
from padstride.analysis.adapters import torch_sym
from padstride.analysis.load import ModelError

from ._forward import real_shapes


@pytest.fixture
def meta_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in trace gives up on every model, so ``analyze`` reads with the meta reader."""

    def give_up(self: object) -> None:
        raise ModelError("the trace is off in this test")

    monkeypatch.setattr(torch_sym.Converter, "run", give_up)


def _exact(net: nn.Module, shape: tuple[int, ...], reader: str) -> None:
    real, outs = real_shapes(net, torch.zeros(1, *shape))
    s = analyze(net, shape)
    assert s.graph.reader == reader
    assert not s.errors and not s.graph.notes, (s.errors, s.graph.notes)
    assert s.total_params == sum(p.numel() for p in net.parameters())
    for node in s.graph.nodes:
        if node.name in real:
            assert s.layer(node.name).shape == real[node.name], node.name
    assert [s.layer(o).shape for o in s.graph.outputs] == outs


class BatchNormAct(nn.BatchNorm2d):
    """timm's ``BatchNormAct2d``: ``F.batch_norm`` with the layer's own weights, then an activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training, 0.1, self.eps)
        return F.silu(x)


class DenseLayer(nn.Module):
    """torchvision's DenseNet layer: ``torch.cat`` of a one-element list."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.norm, self.conv = BatchNormAct(c), nn.Conv2d(c, 4, 3, padding=1)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return self.conv(self.norm(torch.cat(features, 1)))


class Dense(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2)
        self.a, self.b = DenseLayer(8), DenseLayer(12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.a([x])
        return self.b([x, y])


@pytest.mark.parametrize("size", [(3, 17, 17), (3, 24, 31)])
def test_norms_with_their_weights_and_a_one_element_cat_are_traced(size: tuple[int, ...]) -> None:
    _exact(Dense().eval(), size, "trace")


class Vit(nn.Module):
    """``cls_token.expand(B, -1, -1)``, ``pos_embed``, layer scale ``gamma``: bare parameters and the batch size."""

    def __init__(self, size: int = 16) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 4, 4)
        n = (size // 4) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 16))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, 16))
        self.norm = nn.LayerNorm(16)
        self.mlp = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))
        self.gamma = nn.Parameter(torch.ones(16))
        self.unused_head = nn.Linear(16, 1000)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = x + self.gamma * self.mlp(self.norm(x))
        return OrderedDict(last_hidden_state=x, pooled=x[:, 0])


@pytest.mark.parametrize("reader", ["trace", "meta"])
def test_bare_parameters_and_the_batch_size(reader: str, request: pytest.FixtureRequest) -> None:
    if reader == "meta":
        request.getfixturevalue("meta_only")
    net = Vit().eval()
    _exact(net, (3, 16, 16), reader)
    s = analyze(net, (3, 16, 16))
    assert s.layer("unused_head.unused").params == 16 * 1000 + 1000  # listed, so the total is torch's
    assert [s.layer(n).shape for n in s.graph.outputs] == [(17, 16), (16,)]


class SwinStage(nn.Module):
    """Swin's ``F.pad`` of a channels-last tensor to a window multiple, then a channels-first conv."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 2, 2)
        self.norm = nn.LayerNorm(8)
        self.out = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.embed(x).permute(0, 2, 3, 1))
        h, w = x.shape[1:3]
        x = F.pad(x, (0, 0, 0, (-w) % 4, 0, (-h) % 4))
        return self.out(x.permute(0, 3, 1, 2).contiguous())


@pytest.mark.parametrize("reader", ["trace", "meta"])
@pytest.mark.parametrize("size", [(3, 22, 22), (3, 30, 18)])
def test_a_channels_last_pad_is_opaque_with_its_true_shape(size: tuple[int, ...], reader: str,
                                                            request: pytest.FixtureRequest) -> None:
    if reader == "meta":
        request.getfixturevalue("meta_only")
    _exact(SwinStage().eval(), size, reader)


class Branches(nn.Module):
    """DLA/HRNet's failure at an odd size: a strided conv and a pool disagree by one pixel before an add."""

    def __init__(self, bare: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.pool = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(3, 8, 1))
        self.scale = nn.Parameter(torch.ones(1)) if bare else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x) + self.pool(x)
        return y * self.scale if self.scale is not None else y


def test_a_merge_that_torch_refuses_is_reported_like_a_static_one(request: pytest.FixtureRequest) -> None:
    with pytest.raises(RuntimeError, match="size of tensor a"):
        Branches(True)(torch.zeros(1, 3, 225, 225))
    static = analyze(Branches(False), (3, 225, 225))
    request.getfixturevalue("meta_only")
    meta = analyze(Branches(True), (3, 225, 225))
    assert (static.graph.reader, meta.graph.reader) == ("trace", "meta")
    assert static.errors == ["add (add): cannot add 113×113 (conv) with 112×112 (pool.1); crop conv by ((0, 1), "
                             "(0, 1)) (before, after) per axis: conv[..., 0:-1, 0:-1] (a centre crop to 112×112, "
                             "as the U-Net paper does)"]
    assert meta.errors == static.errors
    assert meta.total_params == sum(p.numel() for p in Branches(True).parameters())
    assert not analyze(Branches(True), (3, 224, 224)).errors


def test_a_linear_that_torch_refuses_is_reported_with_its_features(meta_only: None) -> None:
    net = nn.Sequential(nn.Conv2d(1, 64, 3), nn.Flatten(), nn.Linear(64 * 7 * 7, 10))
    net.register_parameter("bare", nn.Parameter(torch.zeros(3)))
    s = analyze(net, (1, 8, 8))
    assert s.graph.reader == "meta"
    assert s.errors == ["2 (Linear): expects 3136 = 64·7·7 input features, gets 2304 = 64·6·6"]


def test_a_conv_fed_the_wrong_channels_is_reported_and_the_read_goes_on(meta_only: None) -> None:
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU())
    net.register_parameter("bare", nn.Parameter(torch.zeros(3)))
    s = analyze(net, (3, 9, 9))
    assert s.graph.reader == "meta" and s.errors == ["1 (Conv2d): expects 4 input channels, gets 8"]
    assert s.layer("2").shape == (6, 7, 7) and s.total_params == sum(p.numel() for p in net.parameters())


def test_a_data_dependent_forward_is_one_line_with_the_module_path() -> None:
    class Gate(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, : int(x.sum().item()) + 1]

    net = nn.Sequential(nn.Conv2d(1, 2, 3), Gate())
    with pytest.raises(ModelError, match=r"^Sequential: 1 \(Gate\) needs tensor values \(item\), which a read "
                                         r"without computing cannot follow") as err:
        analyze(net, (1, 8, 8))
    assert "\n" not in str(err.value)


def test_several_inputs_named_or_not_and_the_batch_axis() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.fc = nn.Conv2d(3, 8, 3, stride=2), nn.Linear(10, 8)

        def forward(self, image: torch.Tensor, meta: torch.Tensor) -> torch.Tensor:
            return self.conv(image).mean((2, 3)) + self.fc(meta)

    net = Two()
    by_position = analyze(net, [(3, 33, 33), (10,)])
    by_name = analyze(net, {"meta": (10,), "image": (1, 3, 33, 33)})
    assert by_position.layer(by_position.graph.outputs[0]).shape == by_name.layer(by_name.graph.outputs[0]).shape \
        == (8,)
    assert by_name.graph.inputs == ("image", "meta") and by_name.total_params == 224 + 88
    conv = nn.Sequential(nn.Conv2d(3, 4, 3))
    assert analyze(conv, (2, 3, 9, 9)).to_dict() == analyze(conv, (3, 9, 9)).to_dict()
    with pytest.raises(ModelError, match=r"^input 1,4,9,9: 4 axes read as N,C,spatial \(the batch included\), but "
                                         r"the first layer 0 \(Conv2d\) expects 3 channels at dim 1"):
        analyze(conv, (1, 4, 9, 9))


def test_the_model_is_not_touched_and_reads_run_in_parallel() -> None:
    from torch.nn.modules import module as torch_module

    nets = [Vit().train(), Dense().eval(), Branches(True).eval()]
    shapes = [(3, 16, 16), (3, 21, 21), (3, 32, 32)]
    before = [{k: (v, v.clone()) for k, v in net.state_dict(keep_vars=True).items()} for net in nets]
    serial = [analyze(net, shape).to_dict() for net, shape in zip(nets, shapes, strict=True)]
    results: dict[int, list[dict[str, object]]] = {i: [] for i in range(3)}

    def work(i: int) -> None:
        for _ in range(4):
            results[i].append(analyze(nets[i], shapes[i]).to_dict())

    threads = [threading.Thread(target=work, args=(i,)) for i in (0, 0, 1, 2)]  # Vit twice: one model, two threads
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == [serial[i]] * len(r) for i, r in results.items()) and len(results[0]) == 8
    for net, state in zip(nets, before, strict=True):
        for k, v in net.state_dict(keep_vars=True).items():
            assert v is state[k][0] and v.device.type == "cpu" and torch.equal(v, state[k][1]), k
    assert nets[0].training and not nets[1].training
    assert not torch_module._global_forward_hooks and not torch_module._global_forward_pre_hooks
    assert nn.Module.__call__ is nn.Module.__dict__["__call__"] and "_redirected" not in nn.Module.__call__.__name__


def test_a_read_hides_from_a_compile_in_another_thread_and_leaves_no_hook() -> None:
    """Issue 12: global module hooks are seen by every thread (a ``torch.compile(fullgraph=True)`` running
    meanwhile fails on them) and torch leaves the ``with_kwargs`` entry of one behind when it is removed,
    after which every ``torch.compile(module)`` of the process warns of global hooks."""
    from torch.nn.modules import module as torch_module

    from padstride.analysis.adapters import torch_meta

    inside, release = threading.Event(), threading.Event()

    class Wait(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            inside.set()
            release.wait(60)
            return x

    class Fails(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("no")

    net = nn.Sequential(nn.Conv2d(3, 4, 3), Wait(), nn.ReLU())
    read: list[object] = []

    def work() -> None:
        graph, infos = torch_meta.read(net, [(3, 9, 9)])
        read.append(infos[graph.outputs[0]].shape)

    reader = threading.Thread(target=work)
    reader.start()
    try:
        assert inside.wait(60)
        assert not torch_module._has_any_global_hook()
        other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 1)).eval()
        torch._dynamo.reset()
        x = torch.randn(1, 3, 9, 9)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            torch.testing.assert_close(torch.compile(other, backend="eager", fullgraph=True)(x), other(x))
        assert not [w for w in seen if "hook" in str(w.message)]
    finally:
        release.set()
        reader.join()
    assert read == [(4, 7, 7)]
    broken = nn.Sequential(nn.Conv2d(3, 4, 3), Fails())
    with pytest.raises(ModelError, match="RuntimeError: no"):
        torch_meta.read(broken, [(3, 9, 9)])
    assert not torch_module._has_any_global_hook()
    for m in (*net.modules(), *broken.modules()):
        assert not m._forward_pre_hooks and not m._forward_hooks and not m._forward_hooks_with_kwargs, m


def test_a_bare_assert_names_its_line() -> None:
    class Fixed(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[-1] != 224:  # a bare assert, as pytest does not rewrite it outside tests
                raise AssertionError
            return x

    with pytest.raises(ModelError, match=r"^Sequential: 1 \(Fixed\) fails: AssertionError at test_torch_meta.py:\d+ "
                                         r"\(raise AssertionError\)$"):
        analyze(nn.Sequential(nn.Conv2d(1, 2, 1), Fixed()), (1, 8, 8))


def test_lazy_parameters_are_one_line() -> None:
    with pytest.raises(ModelError, match=r"^Sequential: has uninitialized \(Lazy\*\) parameters"):
        analyze(nn.Sequential(nn.LazyConv2d(4, 3), nn.ReLU()), (3, 8, 8))



TWO_INPUTS = '''
import torch.nn as nn


class Two(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv, self.fc = nn.Conv2d(3, 8, 3, stride=2), nn.Linear(10, 8)

    def forward(self, image, meta):
        return self.conv(image).mean((2, 3)) + self.fc(meta)
'''


@pytest.mark.parametrize(("inputs", "code"), [
    (["--input", "3,33,33", "--input", "10"], 0),
    (["--input", "meta=10", "--input", "image=1,3,33,33"], 0),
    (["--input", "meta=10", "--input", "3,33,33"], 2),
    (["--input", "3,33,33"], 2),
])
def test_the_cli_takes_several_inputs(tmp_path, capsys, inputs: list[str], code: int) -> None:
    import json

    from padstride.cli import main

    (tmp_path / "two.py").write_text(TWO_INPUTS)
    got = main(["summary", f"{tmp_path / 'two.py'}:Two", *inputs, "--json"])
    out = capsys.readouterr()
    assert got == code, out.err
    if code == 0:
        data = json.loads(out.out)
        assert data["reader"] == "meta" and data["total_params"] == 224 + 88
        assert data["layers"][-1]["output_shape"] == [8]
    else:
        assert out.err.count("\n") == 1 and ("name every input" in out.err or "missing 1 required" in out.err)


class _Shared(nn.Module):
    """One conv reached by two paths (CoaT's shared ``cpe``) and one weight tied across two layers."""

    def __init__(self) -> None:
        super().__init__()
        self.pos = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.blocks = nn.ModuleList([nn.Sequential(self.pos, nn.ReLU()), nn.Conv2d(4, 4, 1)])
        self.head, self.tail = nn.Linear(4, 4), nn.Linear(4, 4)
        self.tail.weight = self.head.weight

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.blocks[1](self.blocks[0](self.pos(x)))
        return {"out": self.tail(self.head(x.mean((2, 3))))}


@pytest.mark.parametrize("reader", ["trace", "meta"])
def test_shared_modules_and_tied_weights_stay_on_the_model(reader: str, request: pytest.FixtureRequest) -> None:
    if reader == "meta":
        request.getfixturevalue("meta_only")
    net = _Shared().eval()
    before = {k: v for k, v in net.named_parameters(remove_duplicate=False)}
    s = analyze(net, (4, 9, 9))
    assert s.graph.reader == reader and s.total_params == sum(p.numel() for p in net.parameters())
    after = dict(net.named_parameters(remove_duplicate=False))
    assert all(after[k] is v and v.device.type == "cpu" for k, v in before.items())
    assert net.tail.weight is net.head.weight
    net(torch.zeros(1, 4, 9, 9))  # still runs on its real weights


class _Caching(nn.Module):
    """What timm's LeViT and ConViT do: cache in forward what they compute from their own tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bias_table = nn.Parameter(torch.randn(4, 1, 1))
        self.bias_cache: dict[str, torch.Tensor] = {}
        self.rel = torch.zeros(1)  # recomputed when the size changes
        self.register_buffer("steps", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        key = str(x.device)
        if key not in self.bias_cache:
            self.bias_cache[key] = self.bias_table * 2
        if self.rel.shape[0] != x.shape[-1]:
            self.rel = torch.arange(x.shape[-1], device=x.device, dtype=x.dtype)
        self.steps = self.steps + 1  # a buffer replaced in forward
        self.seen = x.shape[-1]
        return self.conv(x) + self.bias_cache[key] + self.rel


@pytest.mark.parametrize("reader", ["trace", "meta"])
def test_a_read_leaves_what_forward_caches_as_it_was(reader: str, request: pytest.FixtureRequest) -> None:
    if reader == "meta":
        request.getfixturevalue("meta_only")
    model = _Caching().eval()
    before = dict(model.__dict__), model.steps
    graph = analyze(model, (3, 9, 9)).graph
    assert graph.reader == reader
    assert model.bias_cache == {} and model.rel is before[0]["rel"] and model.steps is before[1]
    assert not hasattr(model, "seen")
    out = model(torch.randn(2, 3, 9, 9))  # the real forward after a read: nothing on meta left behind
    assert out.shape == (2, 4, 9, 9) and model.bias_cache["cpu"].device.type == "cpu"
