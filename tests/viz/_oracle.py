"""PyTorch as the oracle for what the pictures claim: output sizes and which input pixels are read."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def conv_read_mask(n: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...],
                   pads: tuple[tuple[int, int], ...]) -> tuple[tuple[int, ...], np.ndarray]:
    """Output shape and a mask of the input pixels that reach the output (non-zero gradient)."""
    x = torch.ones((1, 1, *n), dtype=torch.float64, requires_grad=True)
    flat = [v for pair in reversed(pads) for v in pair]  # F.pad order: last axis first
    xp = F.pad(x, flat)
    w = torch.ones((1, 1, *k), dtype=torch.float64)
    conv = F.conv1d if len(n) == 1 else F.conv2d
    y = conv(xp, w, stride=s, dilation=d)
    y.sum().backward()
    return tuple(y.shape[2:]), (x.grad[0, 0] != 0).numpy()


def pool_read_mask(n: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...], p: tuple[int, ...],
                   ceil_mode: bool) -> tuple[tuple[int, ...], np.ndarray]:
    x = torch.ones((1, 1, *n), dtype=torch.float64, requires_grad=True)
    pool = F.avg_pool1d if len(n) == 1 else F.avg_pool2d
    y = pool(x, k, s, p, ceil_mode=ceil_mode, count_include_pad=True)
    y.sum().backward()
    return tuple(y.shape[2:]), (x.grad[0, 0] != 0).numpy()


def transpose_read_mask(n: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...],
                        p: tuple[int, ...], op: tuple[int, ...]) -> tuple[tuple[int, ...], np.ndarray]:
    x = torch.ones((1, 1, *n), dtype=torch.float64, requires_grad=True)
    w = torch.ones((1, 1, *k), dtype=torch.float64)
    convt = F.conv_transpose1d if len(n) == 1 else F.conv_transpose2d
    y = convt(x, w, stride=s, padding=p, output_padding=op, dilation=d)
    y.sum().backward()
    return tuple(y.shape[2:]), (x.grad[0, 0] != 0).numpy()
