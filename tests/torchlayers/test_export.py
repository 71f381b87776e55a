"""Dynamic spatial sizes through torch.export, torch.compile and ONNX export (run by onnxruntime).

The pads are recomputed from the symbolic size inside the exported graph, so every size works,
odd ones included (TF ``same`` pads change with the parity of the input).

Not covered, by torch's design: ``reflect``/``circular`` padding whose pads depend on the size
(stride > 1) makes torch.export guard ``pad < size``, which its symbolic solver cannot prove.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

import padstride.torch as pt

SIZES = [(33, 35), (32, 32), (47, 40), (41, 61), (64, 37)]


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        pt.Conv2d(3, 4, 3, stride=2, padding="same"),
        pt.AvgPool2d(3, 2, "same"),
        pt.MaxPool2d(2, 2, "same"),
        pt.Conv2d(4, 4, (4, 3), stride=(3, 1), padding="same_lower"),
        pt.Conv2d(4, 4, 2, padding="same", padding_mode="reflect"),  # static asymmetric (0, 1)
        pt.ConvTranspose2d(4, 2, 3, stride=2, padding="same"),
    ).eval()


def test_torch_export_dynamic_sizes():
    from torch.export import Dim

    model = _model()
    dims = {2: Dim("h", min=32, max=512), 3: Dim("w", min=32, max=512)}
    ep = torch.export.export(model, (torch.randn(1, 3, 67, 70),), dynamic_shapes=(dims,))
    for size in SIZES:
        x = torch.randn(1, 3, *size)
        torch.testing.assert_close(ep.module()(x), model(x), msg=str(size))


def test_torch_compile_dynamic_sizes_one_graph():
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    model = _model()
    compiled = torch.compile(model, dynamic=True, backend="eager", fullgraph=True)
    for size in SIZES:
        x = torch.randn(1, 3, *size)
        torch.testing.assert_close(compiled(x), model(x), msg=str(size))
    assert counters["stats"]["unique_graphs"] == 1  # no recompilation per size or parity


def test_onnx_export_dynamic_sizes_run_by_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    model = _model()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.randn(1, 3, 67, 70),), buf, dynamo=False, input_names=["x"], output_names=["y"],
            dynamic_axes={"x": {2: "h", 3: "w"}}, opset_version=17,
        )
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    for size in SIZES:
        x = torch.randn(1, 3, *size)
        (y,) = sess.run(None, {"x": x.numpy()})
        want = model(x).detach().numpy()
        assert y.shape == want.shape, (size, y.shape, want.shape)
        np.testing.assert_allclose(y, want, atol=1e-5, err_msg=str(size))
