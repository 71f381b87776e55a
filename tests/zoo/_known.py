"""What padstride does not read yet (``python -m tests.zoo.status`` prints these), as strict xfails.

Keys: ``zoo/model`` (every size) or ``zoo/model@size``; values: the first line of the failure.
"""
# ruff: noqa: E501

TORCH: dict[str, str] = {
}

#: torchvision model exported to ONNX → the failure
ONNX: dict[str, str] = {
    'shufflenet_v2_x0_5': '/stage2/stage2.1/Slice (Slice): not supported and onnx shape inference gives no static shape',
    'densenet121': '/features/denseblock1/denselayer1/Concat (Concat): needs at least two inputs, got 1',
    'swin_t': '/features/features.1/features.1.0/attn/Pad (Pad): padding the batch or channel axis is not supported',
    'vit_b_16': '/Concat: shape unknown after an earlier error: /Concat (Concat): needs at least two inputs, got 1',
}
