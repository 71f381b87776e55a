"""The frameworks that define each op, called the same way: NCHW arrays in, NCHW arrays out.

Keras 3 (torch backend) and onnxruntime running models built with ``onnx.helper``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def to_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1)


def to_first(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, -1, 1)


def keras_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: Any, padding: str, dilation: Any = 1) -> np.ndarray:
    """Keras ConvND with torch-layout weights ``(out, in, *k)`` copied in; float64."""
    import keras

    nd = x.ndim - 2
    layer = getattr(keras.layers, f"Conv{nd}D")(
        w.shape[0], w.shape[2:], strides=stride, padding=padding, dilation_rate=dilation, dtype="float64"
    )
    layer.build((None, *x.shape[2:], x.shape[1]))
    layer.set_weights([np.moveaxis(w, (0, 1), (-1, -2)), b])
    return to_first(keras.ops.convert_to_numpy(layer(to_last(x))))


def keras_pool(x: np.ndarray, kind: str, kernel: Any, stride: Any, padding: str) -> np.ndarray:
    import keras

    nd = x.ndim - 2
    name = {"max": "MaxPooling", "avg": "AveragePooling"}[kind]
    layer = getattr(keras.layers, f"{name}{nd}D")(kernel, stride, padding=padding, dtype="float64")
    return to_first(keras.ops.convert_to_numpy(layer(to_last(x))))


def _run(node: Any, inputs: dict[str, np.ndarray], out_rank: int) -> np.ndarray:
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    elem = TensorProto.DOUBLE if next(iter(inputs.values())).dtype == np.float64 else TensorProto.FLOAT
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(k, elem, list(v.shape)) for k, v in inputs.items()],
        [helper.make_tensor_value_info("Y", elem, [None] * out_rank)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return np.asarray(sess.run(None, inputs)[0])


def _pad_attrs(pads: Any) -> dict[str, Any]:
    if isinstance(pads, str):
        return {"auto_pad": pads}
    return {"pads": [p[0] for p in pads] + [p[1] for p in pads]}


def ort_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: Any, pads: Any, dilation: Any) -> np.ndarray:
    """ONNX Conv; ``pads`` is ``'SAME_UPPER'``/``'SAME_LOWER'``/``'VALID'`` or per-axis pairs (float32)."""
    from onnx import helper

    nd = x.ndim - 2
    node = helper.make_node(
        "Conv", ["X", "W", "B"], ["Y"], kernel_shape=list(w.shape[2:]), strides=list(stride),
        dilations=list(dilation), **_pad_attrs(pads),
    )
    inputs = {"X": x.astype(np.float32), "W": w.astype(np.float32), "B": b.astype(np.float32)}
    return _run(node, inputs, nd + 2)


def ort_pool(
    x: np.ndarray, kind: str, kernel: Any, stride: Any, pads: Any, ceil_mode: bool = False,
    count_include_pad: bool = False, dilation: Any = None,
) -> np.ndarray:
    """ONNX MaxPool / AveragePool (float32)."""
    from onnx import helper

    attrs = {"kernel_shape": list(kernel), "strides": list(stride), "ceil_mode": int(ceil_mode), **_pad_attrs(pads)}
    if kind == "avg":
        attrs["count_include_pad"] = int(count_include_pad)
    elif dilation is not None:
        attrs["dilations"] = list(dilation)
    node = helper.make_node("AveragePool" if kind == "avg" else "MaxPool", ["X"], ["Y"], **attrs)
    return _run(node, {"X": x.astype(np.float32)}, x.ndim)


def keras_conv_transpose(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: Any, padding: str, output_padding: Any = None,
    dilation: Any = 1,
) -> np.ndarray:
    """Keras ConvNDTranspose with torch-layout weights ``(in, out, *k)`` copied in; float64."""
    import keras

    nd = x.ndim - 2
    layer = getattr(keras.layers, f"Conv{nd}DTranspose")(
        w.shape[1], w.shape[2:], strides=stride, padding=padding, output_padding=output_padding,
        dilation_rate=dilation, dtype="float64",
    )
    layer.build((None, *x.shape[2:], x.shape[1]))
    layer.set_weights([np.moveaxis(w, (0, 1), (-1, -2)), b])
    return to_first(keras.ops.convert_to_numpy(layer(to_last(x))))


def ort_conv_transpose(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: Any, auto_pad: str) -> np.ndarray:
    """ONNX ConvTranspose with ``auto_pad`` (output ``n·s``), float32."""
    from onnx import helper

    node = helper.make_node(
        "ConvTranspose", ["X", "W", "B"], ["Y"], kernel_shape=list(w.shape[2:]), strides=list(stride),
        auto_pad=auto_pad,
    )
    inputs = {"X": x.astype(np.float32), "W": w.astype(np.float32), "B": b.astype(np.float32)}
    return _run(node, inputs, x.ndim)
