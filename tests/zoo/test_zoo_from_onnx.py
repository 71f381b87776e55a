"""``padstride.torch.from_onnx`` on torchvision conv nets exported to ONNX (TorchScript exporter,
opset 17, random init, odd size 97): the ported module's output against onnxruntime's on the same
file. Ops the builder has no module for (a ViT's ``Transpose``) raise one error naming the node.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

from padstride.torch import OnnxPortError, from_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torchvision = pytest.importorskip("torchvision")

pytestmark = pytest.mark.zoo

PORTED = ["resnet18", "mobilenet_v3_small", "densenet121", "efficientnet_b0"]


def _export(name: str, size: int) -> tuple[bytes, torch.Tensor]:
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(1, 3, size, size)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=17)
    return buf.getvalue(), x


@pytest.mark.parametrize("name", PORTED)
def test_ported_equals_onnxruntime(name: str) -> None:
    data, x = _export(name, 97)
    model = onnx.load_from_string(data)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    want = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        got = from_onnx(model)(x).numpy()
    assert got.shape == want.shape
    err = float(np.abs(got - want).max() / np.abs(want).max())
    assert err < 1e-4, err  # measured: 5e-7 .. 1.1e-6


def test_vit_names_the_node_it_cannot_port() -> None:
    data, _ = _export("vit_b_16", 224)
    with pytest.raises(OnnxPortError, match=r"Transpose.*not supported"):
        from_onnx(onnx.load_from_string(data))
