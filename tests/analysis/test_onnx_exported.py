"""ONNX files written by an exporter (``torch.onnx.export``), not by hand: every node's shape against onnxruntime.

The exporter folds batch norms into the convolutions, emits ``Flatten``/``Gemm``, ``Constant``
nodes and its own names, so these graphs differ from the ``onnx.helper`` ones of
``test_onnx_oracle.py``. Every node output is made a graph output and onnxruntime's shape for it
is compared with padstride's; the parameter total with the initializers that weighted ops read
(BN folded into the convolutions: ResNet-50 exports 25,530,472 of its 25,557,032).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from padstride.analysis import analyze

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

WEIGHTED = {"Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization"}


def _models():
    import resnet
    import torch_models as tm

    return {"resnet50": (resnet.resnet50, (3, 64, 72)), "unet_same": (tm.unet_same, (1, 48, 48)),
            "seed003_strided": (tm.seed003_strided, (1, 28, 28)), "mnist_cnn_valid": (lambda: tm.mnist_cnn_valid(32),
                                                                                       (1, 32, 32))}


@pytest.mark.parametrize("name", ["resnet50", "unet_same", "seed003_strided", "mnist_cnn_valid"])
def test_exported_onnx_matches_onnxruntime_node_by_node(name: str, tmp_path) -> None:
    factory, shape = _models()[name]
    net = factory().eval()
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(1, *shape),), str(path), dynamo=False, opset_version=17)
    model = onnx.load(str(path))
    s = analyze(str(path))
    assert not s.errors, s.errors

    names = {layer.name for layer in s.layers}
    probes = [(n.name, n.output[0]) for n in model.graph.node if n.name in names]
    known = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(out) for _, out in probes if out not in known)
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: np.zeros((1, *shape), np.float32)}
    results = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feed), strict=True))
    assert len(probes) > 10
    for node, out in probes:
        assert s.layer(node).shape == tuple(results[out].shape[1:]), node

    inits = {t.name: int(np.prod(t.dims)) for t in model.graph.initializer}
    for n in model.graph.node:  # the exporter stores equal initializers once and aliases them with Identity
        if n.op_type == "Identity" and n.input[0] in inits:
            inits[n.output[0]] = inits[n.input[0]]
    uses = [i for n in model.graph.node if n.op_type in WEIGHTED for i in n.input[1:] if i in inits]
    assert s.total_params == sum(inits[i] for i in uses)
