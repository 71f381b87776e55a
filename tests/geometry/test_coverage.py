"""Read counts and never-read pixels against PyTorch: the gradient of a ones-kernel convolution.

With every weight 1, ``d(sum of outputs)/d x[i]`` is how many window taps land on input ``i``, so
PyTorch's backward pass counts the reads independently of padstride's arithmetic. Negative pads
(crops) are applied by slicing before the convolution, positive ones by ``F.pad``.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.geometry import PaddingError, conv_axis

from ._oracle import oracle_settings

torch = pytest.importorskip("torch")
F = torch.nn.functional


def torch_read_counts(n: int, k: int, s: int, d: int, before: int, after: int) -> list[int]:
    x = torch.zeros(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = x[..., max(-before, 0):n - max(-after, 0)]
    y = F.pad(y, (max(before, 0), max(after, 0)))
    F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, dilation=d).sum().backward()
    assert x.grad is not None
    return [int(v) for v in x.grad[0, 0].tolist()]


@oracle_settings(400)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(1, 7), st.integers(1, 3), st.integers(-4, 6),
       st.integers(-4, 6))
def test_read_counts_and_never_read_match_torch_gradients(n: int, k: int, s: int, d: int, before: int,
                                                         after: int) -> None:
    try:
        ax = conv_axis(n, k, s, (before, after), d)
    except PaddingError:
        return
    counts = torch_read_counts(n, k, s, d, before, after)
    assert list(ax.read_counts()) == counts
    zero = [c == 0 for c in counts]
    first = zero.index(False) if False in zero else n
    last = zero[::-1].index(False) if False in zero else n
    inner = max(sum(zero) - first - last, 0)
    assert ax.never_read() == (first, last, inner), (n, k, s, d, before, after)
    assert (ax.dropped_before, ax.dropped_after) == (first, last)
