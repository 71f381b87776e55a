"""What padstride does not read yet (``python -m tests.zoo.status`` prints these), as strict xfails.

Keys: ``zoo/model`` (every size) or ``zoo/model@size``; values: the first line of the failure.
"""

TORCH: dict[str, str] = {
}

#: torchvision model exported to ONNX → the failure
ONNX: dict[str, str] = {
}
