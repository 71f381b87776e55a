"""Inverse questions (pads for a target, input sizes for a target, evenly divisible stacks),
answered by padstride and checked by running PyTorch (and onnxruntime for TF SAME)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.geometry import (
    Layer,
    effective_kernel,
    evenly_divisible_sizes,
    input_sizes_for_output,
    pads_for_output,
    stack_output,
)

from ._oracle import oracle_settings, ort_run

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _torch_len(n: int, k: int, s: int, d: int, pads: tuple[int, int]) -> int:
    """Output length of a PyTorch conv1d on F.pad(x, pads); 0 where PyTorch refuses."""
    try:
        x = F.pad(torch.ones(1, 1, n), list(pads))
        return int(F.conv1d(x, torch.ones(1, 1, k), stride=s, dilation=d).shape[-1])
    except RuntimeError:
        return 0


@oracle_settings(200)
@given(n=st.integers(1, 40), k=st.integers(1, 6), s=st.integers(1, 4), d=st.integers(1, 3),
       target=st.integers(1, 30), lower=st.booleans())
def test_pads_for_output_reaches_the_target_in_torch(n: int, k: int, s: int, d: int,
                                                     target: int, lower: bool,
                                                     oracle_count: Counter[str]) -> None:
    """The pads reach ``target`` in PyTorch; one pixel less padding (or one more crop) does not
    when padding; the odd pixel goes after (TF) or before (``lower``)."""
    b, a = pads_for_output(n, k, target, s, d, lower)
    cfg = dict(n=n, k=k, s=s, d=d, target=target, lower=lower, pads=(b, a))
    if n + min(b, 0) + min(a, 0) < 1:
        return  # the crop would remove every input pixel
    oracle_count["torch"] += 1
    assert _torch_len(n, k, s, d, (b, a)) == target, cfg
    assert (b - a) in ((0, 1) if lower else (0, -1)), cfg
    total = b + a
    if total > 0:  # smallest: one pixel less padding gives fewer outputs
        assert _torch_len(n, k, s, d, (b, a - 1) if a >= b else (b - 1, a)) < target, cfg
    elif total < 0:  # least crop: one pixel less crop gives more outputs
        assert _torch_len(n, k, s, d, (b, a + 1) if a <= b else (b + 1, a)) > target, cfg


@oracle_settings(60)
@given(k=st.integers(1, 5), s=st.integers(1, 3), d=st.integers(1, 2), target=st.integers(1, 12),
       padding=st.sampled_from(["valid", "same", "torch_same", 1, 2]))
def test_input_sizes_for_output_is_complete(k: int, s: int, d: int, target: int,
                                            padding: object, oracle_count: Counter[str]) -> None:
    """Every input size in 1..40 whose framework output is ``target`` is listed, and only those.
    PyTorch runs 'valid', ints and 'torch_same'; onnxruntime SAME_UPPER runs 'same' (one session,
    every size)."""
    if padding == "torch_same":
        s = 1
    if padding == "same":
        d = 1  # onnxruntime refuses dilation with SAME_UPPER
    sizes = range(1, 41)
    found = input_sizes_for_output(target, k, s, padding, d, sizes=sizes)
    truth = []
    for n in sizes:
        oracle_count["onnxruntime" if padding == "same" else "torch"] += 1
        if padding == "same":
            out = ort_run("Conv", np.ones((1, 1, n)), np.ones((1, 1, k)), kernel_shape=[k],
                          strides=[s], auto_pad="SAME_UPPER").shape[-1]
        elif padding == "torch_same":
            out = F.conv1d(torch.ones(1, 1, n), torch.ones(1, 1, k), dilation=d,
                           padding="same").shape[-1]
        else:
            p = 0 if padding == "valid" else int(padding)  # type: ignore[call-overload]
            out = _torch_len(n, k, s, d, (p, p))
        if out == target:
            truth.append(n)
    assert found == truth, dict(k=k, s=s, d=d, target=target, padding=padding)


def _torch_stage_reads_everything(layer: Layer, n: int) -> tuple[int, bool]:
    """Run one stage in PyTorch on a length-n map; (output length, every input pixel read?).
    Ones weights / average pooling: an input pixel gets a gradient iff some output reads it."""
    x = torch.ones(1, 1, n, requires_grad=True)
    if layer.op == "conv":
        y = F.conv1d(x, torch.ones(1, 1, layer.kernel), stride=layer.stride,
                     dilation=layer.dilation)
    elif layer.op == "pool":
        y = F.avg_pool1d(x, layer.kernel, layer.stride, ceil_mode=layer.ceil_mode)
    else:
        y = F.conv_transpose1d(x, torch.ones(1, 1, layer.kernel), stride=layer.stride)
    y.sum().backward()
    assert x.grad is not None
    return int(y.shape[-1]), bool((x.grad != 0).all())


UNET_DOWN = [Layer.conv(3), Layer.conv(3), Layer.pool(2)] * 4 + [Layer.conv(3), Layer.conv(3)]


@pytest.mark.parametrize(("name", "stack", "sizes"), [
    ("valid U-Net contracting path", UNET_DOWN, range(540, 600)),
    ("conv5 s2, pool3", [Layer.conv(5, 2), Layer.pool(3), Layer.conv(3)], range(8, 120)),
    ("dilated", [Layer.conv(3, 1, "valid", 2), Layer.pool(2), Layer.conv(2, 2)], range(6, 80)),
])
def test_evenly_divisible_sizes_drop_nothing_in_torch(name: str, stack: list[Layer],
                                                      sizes: range,
                                                      oracle_count: Counter[str]) -> None:
    """Sizes listed by evenly_divisible_sizes are exactly those where every PyTorch stage reads
    every pixel of its input; the traced sizes match PyTorch's."""
    truth = []
    for n in sizes:
        oracle_count["torch"] += 1
        length, ok = n, True
        trace = []
        for layer in stack:
            if length < effective_kernel(layer.kernel, layer.dilation):
                ok = False
                break
            length, read_all = _torch_stage_reads_everything(layer, length)
            trace.append(length)
            ok = ok and read_all
        if len(trace) == len(stack):
            assert [size for size, _ in stack_output(stack, n)] == trace, (name, n)
        if ok:
            truth.append(n)
    assert evenly_divisible_sizes(stack, sizes) == truth, name
    assert truth, name


def test_valid_unet_tiles_concatenate_with_symmetric_crops(oracle_count: Counter[str]) -> None:
    """For the sizes evenly_divisible_sizes gives, a valid U-Net (PyTorch, 2x2 up-convs) runs
    with centre crops that are the same on both sides at every skip connection; 572 → 388 as in
    the U-Net paper. Elsewhere in the range some skip needs an odd (lopsided) crop or a
    pool drops a pixel."""
    tiles = evenly_divisible_sizes(UNET_DOWN, range(540, 640))
    assert 572 in tiles
    for n in range(540, 640):
        oracle_count["torch"] += 1
        x = torch.ones(1, 1, n)
        skips, symmetric = [], True
        for _level in range(4):
            for _ in range(2):
                x = F.conv1d(x, torch.ones(1, 1, 3))
            skips.append(x.shape[-1])
            x = F.max_pool1d(x, 2)
        for _ in range(2):
            x = F.conv1d(x, torch.ones(1, 1, 3))
        for level in reversed(range(4)):
            x = F.conv_transpose1d(x, torch.ones(1, 1, 2), stride=2)
            extra = skips[level] - x.shape[-1]
            symmetric = symmetric and extra % 2 == 0
            for _ in range(2):
                x = F.conv1d(x, torch.ones(1, 1, 3))
        if n == 572:
            assert x.shape[-1] == 388
        if n in tiles:
            assert symmetric, n
