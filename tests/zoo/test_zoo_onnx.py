"""The zoo's torchvision models exported to ONNX (TorchScript exporter, opset 17): every node's
output shape in padstride's reading of the file against onnxruntime's (as
``tests/analysis/test_onnx_exported.py`` does for the example models), and the parameter total
against the file's weights: the float initializers with more than one value that nodes read, per
use (the exporter folds batch norms into convolutions, writes Linear layers on 3-D inputs as
MatMul + Add and layer scales as Mul, so no list of "weighted" op types covers them; one-value
floats are the exporter's scalar constants).

``KNOWN_FAILING`` (``_known.py``): strict xfails, as in ``test_zoo_torch.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from padstride.analysis import analyze

from ._known import ONNX as KNOWN_FAILING
from ._zoo import build

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.zoo

#: Exported at one odd size each: a small set, one per kind of graph the exporter writes.
EXPORTS: dict[str, int] = {
    "resnet18": 99, "mobilenet_v3_small": 99, "shufflenet_v2_x0_5": 99, "squeezenet1_0": 99,
    "densenet121": 99, "efficientnet_b0": 99, "regnet_y_400mf": 99, "googlenet": 99,
    "convnext_tiny": 99, "swin_t": 99, "vit_b_16": 112,
}


def _params() -> list[object]:
    return [pytest.param(name, size, id=name, marks=[pytest.mark.xdist_group(f"onnx/{name}")]
                         + ([pytest.mark.xfail(reason=KNOWN_FAILING[name], strict=True)]
                            if name in KNOWN_FAILING else []))
            for name, size in EXPORTS.items()]


@pytest.mark.parametrize(("name", "size"), _params())
def test_exported_zoo_model_matches_onnxruntime(name: str, size: int, tmp_path) -> None:
    import torch

    model, shape = build("torchvision", name, size)
    path = tmp_path / f"{name}.onnx"
    with warnings.catch_warnings():  # not under no_grad: that makes torch's attention take a path the exporter lacks
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, *shape),), str(path), dynamo=False, opset_version=17)
    proto = onnx.load(str(path))
    s = analyze(str(path))
    assert not s.errors, "; ".join(s.errors[:3])

    names = {layer.name for layer in s.layers}
    probes = [(n.name, n.output[0]) for n in proto.graph.node if n.name in names]
    known = {o.name for o in proto.graph.output}
    proto.graph.output.extend(onnx.helper.make_empty_tensor_value_info(o) for _, o in probes if o not in known)
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    sess = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    results = dict(zip([o.name for o in sess.get_outputs()],
                       sess.run(None, {sess.get_inputs()[0].name: np.zeros((1, *shape), np.float32)}), strict=True))
    assert len(probes) > 10, f"only {len(probes)} ONNX nodes are layers of the summary"
    wrong = [f"{node}: padstride {s.layer(node).shape}, onnxruntime {results[out].shape[1:]}"
             for node, out in probes if s.layer(node).shape != tuple(results[out].shape[1:])]
    assert not wrong, f"{len(wrong)} of {len(probes)} node shapes differ: " + "; ".join(wrong[:5])

    inits = {t.name: int(np.prod(t.dims)) for t in proto.graph.initializer
             if t.data_type == onnx.TensorProto.FLOAT and int(np.prod(t.dims)) > 1}
    alias = {n.output[0]: n.input[0] for n in proto.graph.node if n.op_type == "Identity" and n.input[0] in inits}
    # per use: the exporter stores equal initializers once (random-init batch norms fold into equal zero
    # biases), though each layer has its own
    uses = [alias.get(i, i) for n in proto.graph.node if n.op_type != "Identity" for i in n.input]
    weights = sum(inits[i] for i in uses if i in inits)
    assert s.total_params == weights, f"params: padstride {s.total_params:,}, initializers {weights:,}"
