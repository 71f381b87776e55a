"""PaddingError: one exception type, a message naming the axis and the values; where a framework
refuses the same configuration, the refusal is pinned next to it."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.geometry import (
    CONVENTIONS,
    PaddingError,
    conv,
    conv_transpose,
    pool,
    resolve_axis,
)

from ._oracle import oracle_settings

torch = pytest.importorskip("torch")
F = torch.nn.functional


def test_padding_error_is_a_value_error() -> None:
    assert issubclass(PaddingError, ValueError)


def test_kernel_longer_than_input_message_is_exact(oracle_count: Counter[str]) -> None:
    """The documented message, word for word; PyTorch refuses the same layer."""
    oracle_count["torch"] += 1
    with pytest.raises(PaddingError) as info:
        conv((10, 7), 5, dilation=(1, 2))
    assert str(info.value) == "axis 1: kernel 5 with dilation 2 spans 9 > padded input 7 under 'valid'"
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        F.conv2d(torch.ones(1, 1, 10, 7), torch.ones(1, 1, 5, 5), dilation=(1, 2))


@oracle_settings(100)
@given(n=st.integers(1, 12), k=st.integers(1, 6), d=st.integers(1, 3), axis=st.integers(0, 2),
       b=st.integers(-2, 2), a=st.integers(-2, 2))
def test_window_longer_than_padded_input(n: int, k: int, d: int, axis: int, b: int, a: int,
                                         oracle_count: Counter[str]) -> None:
    """Exactly when d·(k−1)+1 > n + b + a: PaddingError naming axis, kernel, span, padded size
    and how the padding was given; PyTorch refuses exactly then too."""
    span = d * (k - 1) + 1
    shape = [9, 9, 9]
    shape[axis] = n
    pads = [(0, 0)] * 3
    pads[axis] = (b, a)
    oracle_count["torch"] += 1
    kernel = [1, 1, 1]
    kernel[axis] = k
    dil = [1, 1, 1]
    dil[axis] = d
    if span <= n + b + a and n + min(b, 0) + min(a, 0) < 1:  # the window fits, but in padding only
        with pytest.raises(PaddingError, match=rf"axis {axis}: cropping \({b}, {a}\) removes all {n}"):
            conv(shape, kernel, 1, pads, dil)
        return
    def run_torch() -> object:
        x = F.pad(torch.ones(1, 1, *shape), [p for pair in reversed(pads) for p in pair])
        return F.conv3d(x, torch.ones(1, 1, *kernel), dilation=dil)

    if span <= n + b + a:
        conv(shape, kernel, 1, pads, dil)
        run_torch()
        return
    how = f"explicit {(b, a)}"  # given as pairs; 'valid' is pinned above
    head = f"kernel {k}" + (f" with dilation {d}" if d != 1 else "")
    expected = f"axis {axis}: {head} spans {span} > padded input {n + b + a} under {how}"
    with pytest.raises(PaddingError, match=re.escape(expected)):
        conv(shape, kernel, 1, pads, dil)
    with pytest.raises(RuntimeError):
        run_torch()


@oracle_settings(40)
@given(value=st.integers(-3, 0), name=st.sampled_from(["stride", "dilation", "kernel"]),
       axis=st.integers(0, 1))
def test_stride_dilation_kernel_below_one(value: int, name: str, axis: int,
                                          oracle_count: Counter[str]) -> None:
    """stride 0, negative dilation, kernel 0: named with axis and value; PyTorch refuses too."""
    args = {"stride": [1, 1], "dilation": [1, 1], "kernel": [3, 3]}
    args[name][axis] = value
    oracle_count["torch"] += 1
    with pytest.raises(PaddingError, match=re.escape(f"axis {axis}: {name} must be >= 1, got {value}")):
        conv((9, 9), args["kernel"], args["stride"], "valid", args["dilation"])
    with pytest.raises(PaddingError, match=f"{name} must be >= 1"):
        pool((9, 9), args["kernel"], args["stride"], "valid", args["dilation"])
    with pytest.raises(RuntimeError):
        F.conv2d(torch.ones(1, 1, 9, 9), torch.ones(1, 1, *[max(k, 0) for k in args["kernel"]]),
                 stride=args["stride"], dilation=args["dilation"])


@oracle_settings(40)
@given(s=st.integers(2, 4), d=st.integers(1, 3), k=st.integers(1, 5))
def test_torch_same_with_stride(s: int, d: int, k: int, oracle_count: Counter[str]) -> None:
    oracle_count["torch"] += 1
    with pytest.raises(PaddingError, match=f"axis 0: 'torch_same'.*needs stride 1, got stride {s}"):
        resolve_axis(10, k, s, d, "torch_same")
    with pytest.raises(ValueError, match="not supported for strided"):
        torch.nn.Conv1d(1, 1, k, s, padding="same", dilation=d)


@oracle_settings(60)
@given(s=st.integers(1, 3), d=st.integers(1, 3), extra=st.integers(0, 2), axis=st.integers(0, 1))
def test_output_padding_not_below_max_stride_dilation(s: int, d: int, extra: int, axis: int,
                                                      oracle_count: Counter[str]) -> None:
    op = [0, 0]
    op[axis] = max(s, d) + extra
    oracle_count["torch"] += 1
    msg = (f"axis {axis}: output_padding {op[axis]} must be >= 0 and smaller than "
           f"max(stride {s}, dilation {d}) = {max(s, d)}")
    with pytest.raises(PaddingError, match=re.escape(msg)):
        conv_transpose((4, 4), 3, s, 0, op, d)
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3), stride=s,
                           output_padding=op, dilation=d)


@pytest.mark.parametrize("name", ["sideways", "SAME_MIDDLE", "reflect", ""])
def test_unknown_convention(name: str) -> None:
    with pytest.raises(PaddingError, match=re.escape(f"unknown padding convention {name!r}; expected one of "
                                                     + ", ".join(CONVENTIONS))):
        conv(10, 3, 1, name)


def test_unknown_rules_and_misplaced_conventions() -> None:
    with pytest.raises(PaddingError, match="unknown ceil_mode rule 'tf'"):
        pool(10, 3, 2, ceil_mode=True, rule="tf")
    with pytest.raises(PaddingError, match="unknown transposed-conv rule 'jax'"):
        conv_transpose(10, 3, 2, "same", rule="jax")
    with pytest.raises(PaddingError, match="axis 0: transposed convolution takes 'valid', 'same'"):
        conv_transpose(10, 3, 2, "causal")
    with pytest.raises(PaddingError, match="Keras has no 'same_lower'"):
        conv_transpose(10, 3, 2, "same_lower")
    with pytest.raises(PaddingError, match=re.escape("disagree on the number of spatial axes: [2, 3]")):
        conv((8, 8), 3, 1, ["same", "valid", "same"])
