"""``padstride.torch.from_onnx`` on torchvision models exported to ONNX (TorchScript exporter, opset 17,
random init): the ported module's output against onnxruntime's on the same file.

Conv nets run at full width (odd size 97, or 65 for the quick ones); the transformers (ViT, Swin v1/v2,
MaxViT) are torchvision's own classes at small widths and depths so that the suite stays fast on two
cores: the same code, hence the same exported graph patterns (class token, windows with padding and
shifts, relative position bias, attention), as the full models, which
``benchmarks/_onnx_port_zoo.py`` ports one by one (every torchvision classification model, the timm
zoo). Four of timm's small ``test_*`` models stand for timm here.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from padstride.torch import from_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torchvision = pytest.importorskip("torchvision")

pytestmark = pytest.mark.zoo


def _named(name: str) -> Callable[[], Any]:
    return lambda: getattr(torchvision.models, name)(weights=None)


def _vit() -> Any:
    return torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                                hidden_dim=32, mlp_dim=64, num_classes=10)


def _swin(v2: bool) -> Callable[[], Any]:
    from torchvision.models import swin_transformer as sw

    extra: dict[str, Any] = {"block": sw.SwinTransformerBlockV2, "downsample_layer": sw.PatchMergingV2} if v2 else {}
    return lambda: sw.SwinTransformer([4, 4], 16, [2, 2], [2, 4], [4, 4], num_classes=10, **extra)


def _maxvit() -> Any:
    return torchvision.models.MaxVit((64, 64), stem_channels=8, partition_size=2, block_channels=[8, 16],
                                     block_layers=[1, 1], head_dim=4, stochastic_depth_prob=0.0, num_classes=10)


def _timm(name: str, size: int) -> Callable[[], Any]:
    from ._zoo import build

    return lambda: build("timm", name, size)[0]


#: name → (constructor, input size)
MODELS: dict[str, tuple[Callable[[], Any], int]] = {
    "resnet18": (_named("resnet18"), 97), "mobilenet_v3_small": (_named("mobilenet_v3_small"), 97),
    "densenet121": (_named("densenet121"), 97), "efficientnet_b0": (_named("efficientnet_b0"), 97),
    "shufflenet_v2_x0_5": (_named("shufflenet_v2_x0_5"), 65), "convnext_tiny": (_named("convnext_tiny"), 65),
    "vit_small": (_vit, 32), "swin_small": (_swin(False), 37), "swin_v2_small": (_swin(True), 37),
    "maxvit_small": (_maxvit, 64),
    # timm's own small test models: a ViT, a ConvNeXt, a MaxViT, a MambaOut (gated convolutions)
    "timm/test_vit": (_timm("test_vit", 112), 112), "timm/test_convnext": (_timm("test_convnext", 99), 99),
    "timm/test_maxvit": (_timm("test_maxvit", 96), 96), "timm/test_mambaout": (_timm("test_mambaout", 99), 99),
}


def _export(name: str) -> tuple[bytes, torch.Tensor]:
    make, size = MODELS[name]
    torch.manual_seed(0)
    model = make().eval()
    with torch.no_grad():  # zero-initialized heads (ViT's) would make every output equal
        for p in model.parameters():
            if p.numel() > 1 and not p.any():
                p.normal_(0, 0.05)
    x = torch.randn(1, 3, size, size)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=17)
    return buf.getvalue(), x


@pytest.mark.parametrize("name", list(MODELS))
def test_ported_equals_onnxruntime(name: str) -> None:
    data, x = _export(name)
    model = onnx.load_from_string(data)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    want = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        got = from_onnx(model)(x).numpy()
    assert got.shape == want.shape
    assert float(np.abs(want).std()) > 0  # not a constant output
    err = float(np.abs(got - want).max() / np.abs(want).max())
    assert err < 1e-4, err  # measured: 2e-7 .. 1.1e-6


def test_ported_swin_compiles_and_exports_back() -> None:
    """Windows, shifts, padding and the relative position bias survive ``torch.compile`` and an ONNX export
    of the ported module (the main suite checks a plain transformer)."""
    data, x = _export("swin_v2_small")
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    want = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    net = from_onnx(onnx.load_from_string(data))
    with torch.no_grad():
        got = torch.compile(net, backend="aot_eager", fullgraph=True)(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * float(np.abs(want).max()))
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), buf, dynamo=False, opset_version=17)
    back = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(back.run(None, {back.get_inputs()[0].name: x.numpy()})[0], want, rtol=1e-4,
                               atol=1e-5 * float(np.abs(want).max()))
