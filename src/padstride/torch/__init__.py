"""padstride.torch — PyTorch layers in any padding convention (see ``docs/torch.md``).

>>> import torch
>>> from padstride.torch import Conv2d
>>> Conv2d(3, 8, 3, stride=2, padding="same")(torch.zeros(1, 3, 7, 8)).shape
torch.Size([1, 8, 4, 4])
"""

from .build import BuildError, build
from .conv import Conv1d, Conv2d, Conv3d
from .convert import convert
from .keras_port import KerasPortError, PortedModel, from_keras
from .onnx_port import OnnxPortError, from_onnx
from .pool import AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d
from .transpose import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "BuildError",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "KerasPortError",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "OnnxPortError",
    "PortedModel",
    "build",
    "convert",
    "from_keras",
    "from_onnx",
]
