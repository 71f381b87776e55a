"""One helper for the ONNX tests: padstride's shape of every node against onnxruntime's, node by node."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from padstride.analysis import analyze

FLOAT_TYPES = {1, 10, 11, 16}


def export(net: Any, args: tuple[Any, ...], path: Path, opset: int = 17, **kw: Any) -> Path:
    """``torch.onnx.export`` with the TorchScript exporter (opset 17 by default, what torch 2.x users get)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, args, str(path), dynamo=False, opset_version=opset, **kw)
    return path


def initializer_params(model: Any) -> int:
    """Float initializers (more than one element) once per node that reads them, Identity aliases resolved."""
    inits = {t.name: int(np.prod(t.dims)) for t in model.graph.initializer
             if t.data_type in FLOAT_TYPES and int(np.prod(t.dims)) > 1}
    alias = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Identity" and n.input[0] in inits}
    return sum(inits[alias.get(i, i)] for n in model.graph.node if n.op_type != "Identity"
               for i in n.input if alias.get(i, i) in inits)


def matches_onnxruntime(model_or_path: Any, feeds: dict[str, np.ndarray] | None = None,
                        input_shape: Any = None, min_layers: int = 1) -> Any:
    """Analyse the model, run it in onnxruntime with every node output exposed, compare every layer's shape.

    Returns the summary. ``feeds`` default to zeros of the graph inputs' declared shapes (weights too).
    """
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(model_or_path)) if isinstance(model_or_path, (str, Path)) else model_or_path
    s = analyze(model_or_path, input_shape)
    assert not s.errors, s.errors
    layers = {layer.name: layer for layer in s.layers}
    probes = []
    for n in model.graph.node:
        for k, out in enumerate(n.output):
            name = (n.name or n.output[0]) + (f":{k}" if k else "")
            if out and name in layers:
                probes.append((name, out))
    run = onnx.ModelProto()
    run.CopyFrom(model)
    known = {o.name for o in run.graph.output}
    run.graph.output.extend(onnx.helper.make_empty_tensor_value_info(o) for _, o in probes if o not in known)
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(run.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    if feeds is None:
        feeds = {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
                 for i in sess.get_inputs()}
    results = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds), strict=True))
    assert len(probes) >= min_layers, (len(probes), min_layers)
    wrong = [(name, layers[name].shape, results[out].shape) for name, out in probes
             if layers[name].shape != tuple(results[out].shape[1:])]
    assert not wrong, wrong[:5]
    return s
