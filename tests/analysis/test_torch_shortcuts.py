"""The meta reader's shape rules for slow meta kernels, each against torch run on real CPU tensors."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from padstride.analysis.adapters.torch_shortcuts import resized, shortcut
from tests._helpers import oracle_settings


def _meta(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.to("meta")
    if isinstance(value, (list, tuple)):
        return type(value)(_meta(v) for v in value)
    if isinstance(value, dict):
        return {k: _meta(v) for k, v in value.items()}
    return value


def _same_as_torch(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], may_decline: bool = False) -> None:
    """The shortcut gives the shape and dtype torch gives on CPU, or declines; it never errs where torch runs."""
    meta = _meta(args)
    meta_kwargs = _meta(kwargs)
    try:
        want = func(*args, **kwargs)
    except (RuntimeError, ValueError, IndexError, TypeError):
        try:
            got = shortcut(func, meta, meta_kwargs)
        except (RuntimeError, ValueError, IndexError, TypeError):
            return
        assert got is None, f"{func.__name__}{kwargs}: torch refuses, the shortcut gives {tuple(got.shape)}"
        return
    got = shortcut(func, meta, meta_kwargs)
    if got is None and may_decline:
        return
    assert got is not None, f"{func.__name__}{kwargs}: declined"
    assert (tuple(got.shape), got.dtype, got.device.type) == (tuple(want.shape), want.dtype, "meta")


@oracle_settings(120)
@given(rank=st.integers(3, 5), sizes=st.lists(st.integers(1, 9), min_size=5, max_size=5),
       mode=st.sampled_from(["linear", "bilinear", "bicubic", "trilinear", "area"]),
       by_size=st.booleans(), out=st.lists(st.integers(1, 12), min_size=3, max_size=3),
       scale=st.sampled_from([0.5, 0.7, 1.5, 2.0, 2.3, 1 / 3]), recompute=st.sampled_from([None, True, False]),
       corners=st.sampled_from([None, False, True]), antialias=st.booleans())
def test_interpolate_sizes_as_torch(rank: int, sizes: list[int], mode: str, by_size: bool, out: list[int],
                                    scale: float, recompute: bool | None, corners: bool | None,
                                    antialias: bool) -> None:
    x = torch.zeros(sizes[:rank])
    spatial = rank - 2
    kwargs: dict[str, Any] = {"mode": mode, "align_corners": corners, "antialias": antialias}
    if by_size:
        kwargs["size"] = tuple(out[:spatial]) if spatial > 1 else out[0]
    else:
        kwargs["scale_factor"], kwargs["recompute_scale_factor"] = scale, recompute
    _same_as_torch(F.interpolate, (x,), kwargs)


@oracle_settings(150)
@given(sizes=st.lists(st.integers(0, 5), min_size=1, max_size=4),
       fn=st.sampled_from([torch.mean, torch.sum, torch.amax, torch.amin, torch.Tensor.mean, torch.Tensor.norm,
                           torch.norm]),
       dims=st.lists(st.integers(-4, 3), min_size=1, max_size=3), as_int=st.booleans(),
       keep=st.sampled_from([None, False, True]), p=st.sampled_from([None, 1, 2, 2.5, float("inf")]))
def test_reductions_shaped_as_torch(sizes: list[int], fn: Any, dims: list[int], as_int: bool, keep: bool | None,
                                    p: float | None) -> None:
    kwargs: dict[str, Any] = {"dim": dims[0] if as_int else tuple(dims)}
    if keep is not None:
        kwargs["keepdim"] = keep
    if p is not None and fn in (torch.Tensor.norm, torch.norm):
        kwargs["p"] = p
    _same_as_torch(fn, (torch.zeros(sizes),), kwargs, may_decline=0 in sizes)  # empty axes: torch decides


@pytest.mark.parametrize("shapes", [((2, 3, 4), (3, 1), (1,)), ((2, 3), (2, 3), (2, 3)), ((2, 3), (4, 3), (3,)),
                                    ((1, 5, 1), (5, 5, 5), (5, 1, 1))])
@pytest.mark.parametrize("fn", [torch.addcmul, torch.addcdiv, torch.Tensor.addcmul])
def test_addcmul_broadcasts_as_torch(shapes: tuple[tuple[int, ...], ...], fn: Any) -> None:
    _same_as_torch(fn, tuple(torch.ones(s) for s in shapes), {"value": 0.5})


@oracle_settings(100)
@given(shapes=st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=3), min_size=1, max_size=3),
       dim=st.integers(-3, 2), fn=st.sampled_from([torch.cat, torch.concat]), by_name=st.booleans())
def test_cat_shaped_as_torch(shapes: list[list[int]], dim: int, fn: Any, by_name: bool) -> None:
    tensors = [torch.zeros(s) for s in shapes]
    legacy = [0] in shapes  # torch skips 1-D empty tensors: left to torch
    if by_name:
        _same_as_torch(fn, (tensors,), {"dim": dim}, may_decline=legacy)
    else:
        _same_as_torch(fn, (tensors, dim), {}, may_decline=legacy)


@pytest.mark.parametrize("kwargs", [{}, {"weight": True}, {"weight": True, "bias": True}, {"bias": True}])
def test_linear_shaped_as_torch(kwargs: dict[str, bool]) -> None:
    x, w, bias = torch.ones(2, 5, 3), torch.ones(4, 3), torch.ones(4)
    args: tuple[Any, ...] = (x,) if "weight" in kwargs else (x, w) if "bias" in kwargs else (x, w, bias)
    _same_as_torch(F.linear, args, {k: {"weight": w, "bias": bias}[k] for k in kwargs})


@oracle_settings(150)
@given(rank=st.integers(1, 3), size=st.integers(1, 9), kernel=st.integers(1, 4),
       stride=st.sampled_from([None, 1, 2, 3]), padding=st.integers(0, 2), ceil=st.booleans(),
       include=st.booleans(), batched=st.booleans())
def test_avg_pool_sized_as_torch(rank: int, size: int, kernel: int, stride: int | None, padding: int, ceil: bool,
                                 include: bool, batched: bool) -> None:
    fn = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[rank - 1]
    x = torch.zeros((2, 3, *[size + i for i in range(rank)]) if batched else (3, *[size] * rank))
    _same_as_torch(fn, (x, kernel, stride, padding, ceil), {"count_include_pad": include}, may_decline=rank == 3)


@pytest.mark.parametrize("call", [
    lambda x: (torch.roll, (x, (1, -2), (2, 3)), {}), lambda x: (torch.Tensor.roll, (x, 3), {}),
    lambda x: (torch.pow, (x, 2), {}), lambda x: (torch.Tensor.__rpow__, (x, 2.0), {}),
    lambda x: (torch.Tensor.masked_fill, (x, torch.ones(5, 1, dtype=torch.bool), 0.0), {}),
    lambda x: (torch.Tensor.masked_fill, (x, torch.ones(3, 1, 1, dtype=torch.bool), 0.0), {}),
    lambda x: (torch.Tensor.masked_fill, (x, torch.ones(2, 3, 5, 4, dtype=torch.bool), 0.0), {}),
])
def test_same_shape_ops_as_torch(call: Any) -> None:
    _same_as_torch(*call(torch.ones(2, 3, 5, 4)))


@oracle_settings(120)
@given(a=st.lists(st.integers(0, 3), max_size=4), b=st.lists(st.integers(0, 3), max_size=4),
       fn=st.sampled_from([torch.add, torch.Tensor.__mul__, torch.Tensor.__truediv__, torch.maximum, torch.pow,
                           torch.Tensor.add_]))
def test_binary_ops_broadcast_as_torch(a: list[int], b: list[int], fn: Any) -> None:
    _same_as_torch(fn, (torch.ones(a), torch.ones(b)), {}, may_decline=fn is torch.Tensor.add_)


@pytest.mark.parametrize("kwargs", [{"dim": -1}, {"p": 2.0, "dim": -1, "eps": 1e-12, "out": None}, {"dim": 1}])
def test_normalize_as_torch(kwargs: dict[str, Any]) -> None:
    """``F.normalize`` hands ``out=None`` on: still the input's shape."""
    _same_as_torch(F.normalize, (torch.ones(2, 3, 5),), kwargs)


@oracle_settings(120)
@given(a=st.lists(st.integers(1, 4), min_size=1, max_size=4), b=st.lists(st.integers(1, 4), min_size=1, max_size=4),
       fn=st.sampled_from([torch.matmul, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__, torch.bmm]))
def test_matmul_shaped_as_torch(a: list[int], b: list[int], fn: Any) -> None:
    _same_as_torch(fn, (torch.zeros(a), torch.zeros(b)), {}, may_decline=min(len(a), len(b)) < 2)  # vectors: torch


@oracle_settings(80)
@given(shapes=st.lists(st.sampled_from([(2, 3), (2, 3), (3,), (2, 3, 1)]), min_size=1, max_size=3),
       dim=st.integers(-4, 3), by_name=st.booleans())
def test_stack_shaped_as_torch(shapes: list[tuple[int, ...]], dim: int, by_name: bool) -> None:
    tensors = [torch.zeros(s) for s in shapes]
    args, kwargs = ((tensors,), {"dim": dim}) if by_name else ((tensors, dim), {})
    _same_as_torch(torch.stack, args, kwargs)


@oracle_settings(80)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=4), dims=st.lists(st.integers(-4, 3), min_size=1,
       max_size=3), keep=st.booleans(), unbiased=st.sampled_from([None, False, True]),
       fn=st.sampled_from([torch.var, torch.std, torch.Tensor.var]))
def test_var_std_shaped_as_torch(sizes: list[int], dims: list[int], keep: bool, unbiased: bool | None,
                                 fn: Any) -> None:
    kwargs: dict[str, Any] = {"dim": tuple(dims), "keepdim": keep}
    if unbiased is not None:
        kwargs["unbiased"] = unbiased
    _same_as_torch(fn, (torch.zeros(sizes),), kwargs)


@pytest.mark.parametrize(("table", "index"), [((169, 3), (49 * 49,)), ((5, 2, 3), (4, 4)), ((7,), (2, 3, 1))])
def test_a_table_lookup_by_index_shaped_as_torch(table: tuple[int, ...], index: tuple[int, ...]) -> None:
    _same_as_torch(torch.Tensor.__getitem__, (torch.zeros(table), torch.zeros(index, dtype=torch.long)), {})


def test_unusual_calls_run_torch() -> None:
    """Integer tensors, reductions over every axis, ``nearest`` modes: left to torch."""
    x = torch.empty(2, 3, 4, 4, device="meta")
    assert shortcut(torch.mean, (x,), {}) is None
    assert shortcut(torch.sum, (torch.empty(2, 3, device="meta", dtype=torch.long), 1), {}) is None
    assert shortcut(F.interpolate, (x,), {"scale_factor": 2, "mode": "nearest"}) is None
    assert shortcut(torch.norm, (x,), {"p": "nuc", "dim": (2, 3)}) is None


_ARGS = st.one_of(st.integers(1, 4), st.integers(-4, 4), st.lists(st.integers(-4, 4), max_size=4),
                  st.lists(st.integers(0, 4), max_size=4).map(tuple), st.none(), st.booleans())


@oracle_settings(400)
@given(sizes=st.lists(st.integers(0, 5), min_size=1, max_size=4),
       fn=st.sampled_from(["permute", "transpose", "swapaxes", "unsqueeze", "squeeze", "unbind", "chunk", "split"]),
       args=st.lists(_ARGS, max_size=4), dim=st.one_of(st.none(), st.integers(-4, 4)))
def test_view_ops_resized_as_torch(sizes: list[int], fn: str, args: list[Any], dim: int | None) -> None:
    """``resized`` gives the sizes torch's own method gives on a CPU tensor, or declines; never where torch errs."""
    kwargs = {} if dim is None else {"dim": dim}
    x = torch.zeros(sizes)
    try:
        out = getattr(x, fn)(*args, **kwargs)
    except (RuntimeError, ValueError, IndexError, TypeError):
        out = None
    got = resized(fn, tuple(sizes), [None, *args], kwargs)
    if got is None:
        return
    assert out is not None, f"{fn}{tuple(args)}{kwargs} on {sizes}: torch refuses, the rule gives {got}"
    want = [tuple(t.shape) for t in out] if isinstance(out, tuple) else tuple(out.shape)
    assert got == want, f"{fn}{tuple(args)}{kwargs} on {sizes}: torch {want}, the rule {got}"


@pytest.mark.parametrize(("fn", "args"), [
    ("permute", [2, 0, 1]), ("permute", [(1, 2, 0)]), ("transpose", [1, 2]), ("unsqueeze", [-1]), ("squeeze", []),
    ("unbind", [1]), ("chunk", [2, 2]), ("chunk", [3, -1]), ("split", [[1, 4], 2]), ("split", [3, -1])])
def test_view_ops_mostly_have_a_rule(fn: str, args: list[Any]) -> None:
    x = torch.zeros(2, 3, 5)
    got = resized(fn, (2, 3, 5), [None, *args], {})
    out = getattr(x, fn)(*args)
    assert got == ([tuple(t.shape) for t in out] if isinstance(out, tuple) else tuple(out.shape))
