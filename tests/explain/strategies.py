"""Hypothesis strategies for random layers (small sizes so brute-force references stay fast)."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from padstride.explain import LayerRequest
from padstride.geometry import PaddingError

CONVENTIONS = ("valid", "same", "same_lower", "full", "causal", "torch_same")


@st.composite
def layer_requests(draw, ops=("conv", "maxpool", "avgpool", "convtranspose"), max_ndim=2):
    op = draw(st.sampled_from(ops))
    nd = draw(st.integers(1, max_ndim))
    n = tuple(draw(st.integers(1, 9)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd)) if op in ("conv", "maxpool", "convtranspose") else (1,) * nd
    if op == "convtranspose":
        padding = draw(st.one_of(st.sampled_from(["valid", "same"]),
                                 st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * nd)))
    else:
        padding = draw(st.one_of(
            st.sampled_from(CONVENTIONS if op == "conv" else ("valid", "same", "same_lower")),
            st.integers(0, 2),
            st.tuples(*[st.tuples(st.integers(-1, 2), st.integers(-1, 2))] * nd)))
    ceil_mode = op in ("maxpool", "avgpool") and draw(st.booleans())
    include = draw(st.sampled_from([None, True, False])) if op == "avgpool" else None
    try:
        req = LayerRequest.make(op, n, k, s, padding, d, ceil_mode=ceil_mode, count_include_pad=include)
        g = req.geometry()
    except PaddingError:
        assume(False)
    if op in ("maxpool", "avgpool"):  # windows with no input cell: frameworks disagree or refuse
        assume(all(a.real_cells(j) for a in g.axes for j in range(a.output)))
    return req
