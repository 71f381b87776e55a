"""engine.conv against torch.nn.functional.conv{1,2,3}d in float64 on random configurations, and every
fast path, forced through ``Tuning(path=...)``, against ``engine.reference.conv``."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from padstride import geometry
from padstride.engine import Path, PlanError, Tuning, _blocks, conv, conv_plan, reference, set_workers
from padstride.geometry import PaddingError

from ._oracle import check, draw_axes, oracle_settings, torch_op, torch_padded

MODES = ("constant", "reflect", "symmetric", "edge", "circular")


@st.composite
def conv_configs(draw: st.DrawFn, nd: int | None = None, unit_stride: bool = False,
                 depthwise: bool = False) -> dict[str, object]:
    nd = draw(st.integers(1, 3), "nd") if nd is None else nd
    top = {1: 12, 2: 8, 3: 5}[nd]
    groups = draw(st.integers(1, 3))
    names = ["valid", "same", "same_lower", "torch_same", "full", "causal"]
    axis_pad = st.one_of(st.sampled_from(names), st.tuples(st.integers(-1, 3), st.integers(-1, 3)))
    return {
        "nd": nd,
        "n": draw(st.integers(1, 2)),
        "cin": groups * (1 if depthwise else draw(st.integers(1, 3))),
        "cout": groups * draw(st.integers(1, 3)),
        "groups": groups,
        "size": tuple(draw(st.lists(st.integers(1, top), min_size=nd, max_size=nd))),
        "kernel": tuple(draw(st.lists(st.one_of(st.just(3), st.integers(1, 4)), min_size=nd, max_size=nd))),
        "stride": (1,) * nd if unit_stride else tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd))),
        "dilation": tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd))),
        "padding": draw(st.one_of(st.sampled_from(names), st.lists(axis_pad, min_size=nd, max_size=nd))),
        "mode": draw(st.sampled_from(MODES)),
        "bias": draw(st.booleans()),
        "block": draw(st.sampled_from([1, 300, 5000, 4 << 20])),
        "workers": draw(st.sampled_from([1, 2])),
    }


def torch_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: geometry.Geometry, groups: int,
               mode: str) -> np.ndarray:
    """Pad with F.pad (pads from the geometry), then torch's convolution without padding."""
    xp = torch_padded(x, geo.pads, mode)
    op = torch_op("conv", geo.ndim)
    out = op(torch.from_numpy(xp), torch.from_numpy(w), None if b is None else torch.from_numpy(b),
             stride=[a.stride for a in geo], dilation=[a.dilation for a in geo], groups=groups)
    return out.numpy()


@oracle_settings(180)
@given(conv_configs())
def test_conv_matches_torch(cfg: dict) -> None:
    check_conv(cfg)


@st.composite
def path_configs(draw: st.DrawFn) -> tuple[Path, dict[str, object]]:
    """A path, and a configuration it can compute (the path's own constraints drawn in)."""
    path = draw(st.sampled_from(list(Path)), "path")
    shifted = path in (Path.SHIFTED, Path.STACKED)
    nd = draw(st.integers(2 if shifted else 1, 3), "nd")
    return path, draw(conv_configs(nd, unit_stride=shifted, depthwise=path is Path.DEPTHWISE))


@oracle_settings(300)
@given(path_configs(), st.booleans())
def test_every_path_matches_the_reference(drawn: tuple[Path, dict], into_output: bool) -> None:
    """Each path, forced through ``Tuning(path=...)`` (both layouts where it can run), against ``reference.conv``."""
    path, cfg = drawn
    _, x, w, b = operands(cfg)
    nd, groups = cfg["nd"], cfg["groups"]
    args = (b, cfg["stride"], cfg["padding"], cfg["dilation"], groups)
    want = reference.conv(x, w, *args, padding_mode=cfg["mode"])
    x_last, w_last = np.moveaxis(x, 1, -1), np.moveaxis(w, (0, 1), (nd + 1, nd))
    old = set_workers(cfg["workers"])
    try:
        for layout, xs, ws in [("channels_first", x, w), ("channels_last", x_last, w_last)]:
            paths = conv_plan(xs, ws, *args, layout=layout, tuning=Tuning(into_output=into_output)).eligible
            assert Path.IM2COL in paths and Path.CHANNELS_LAST in paths
            if path not in paths:
                assert path is Path.DIRECT and not (into_output and layout == "channels_first")
                continue
            tuning = Tuning(path=path, into_output=into_output, block_bytes=cfg["block"])
            got = conv(xs, ws, *args, padding_mode=cfg["mode"], layout=layout, tuning=tuning)
            if layout == "channels_last":
                got = np.moveaxis(got, -1, 1)
            check(got, want, {**cfg, "path": path, "layout": layout, "into_output": into_output})
    finally:
        set_workers(old)


def test_planner_choices_and_forcing() -> None:
    """The planner's choice for the benchmark's shapes; a path that cannot run is refused clearly."""
    x = np.zeros((2, 64, 12, 12), np.float32)
    assert conv_plan(x, np.zeros((64, 64, 3, 3), np.float32), padding="same").path is Path.SHIFTED
    assert conv_plan(x, np.zeros((64, 64, 3, 3), np.float32), stride=2, padding="same").path is Path.CHANNELS_LAST
    assert conv_plan(x, np.zeros((64, 1, 3, 3), np.float32), groups=64).path is Path.DEPTHWISE
    volume = np.zeros((1, 64, 6, 6, 6), np.float32)
    assert conv_plan(volume, np.zeros((8, 64, 3, 3, 3), np.float32)).path is Path.STACKED
    assert conv_plan(volume, np.zeros((8, 64, 1, 1, 3), np.float32)).path is not Path.STACKED
    assert conv_plan(volume[:, :2], np.zeros((8, 2, 3, 3, 3), np.float32)).path is Path.STACKED
    assert conv_plan(volume[:, :1], np.zeros((8, 1, 3, 3, 3), np.float32)).path is Path.IM2COL  # not direct in 3-D
    assert conv_plan(x[:, :3], np.zeros((8, 3, 3, 3), np.float32)).path is Path.DIRECT
    stem, w3 = np.zeros((1, 3, 224, 224), np.float32), np.zeros((32, 3, 3, 3), np.float32)
    assert conv_plan(stem, w3, padding="same").path is Path.IM2COL  # one image's result 6.4 MB: wide columns
    assert conv_plan(stem, w3, stride=2, padding="same").path is Path.DIRECT  # strided: no wide columns
    assert conv_plan(x[:, :3], np.zeros((8, 3, 3, 3), np.float32), tuning=Tuning(into_output=False)).path \
        is Path.IM2COL
    with pytest.raises(PlanError, match="path 'shifted' cannot compute"):
        conv(x, np.zeros((8, 64, 3, 3)), stride=2, tuning=Tuning(path=Path.SHIFTED))
    with pytest.raises(PlanError, match="path 'direct' cannot compute"):
        conv(np.moveaxis(x, 1, -1), np.zeros((3, 3, 64, 8)), layout="channels_last", tuning=Tuning(path=Path.DIRECT))


def operands(cfg: dict) -> tuple[geometry.Geometry, np.ndarray, np.ndarray, np.ndarray | None]:
    """Geometry, x, w and bias of a configuration (skipped where the geometry or torch's F.pad refuses it)."""
    try:
        geo = geometry.conv(cfg["size"], cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"])
    except PaddingError:
        assume(False)
        raise
    mode = cfg["mode"]
    kept_ok = all(a.input + min(a.pad_before, 0) + min(a.pad_after, 0) >= 1 for a in geo)
    if mode != "constant":  # F.pad's limits: reflect < n, circular ≤ n, no crops with symmetric (np.pad)
        assume(kept_ok and all(max(a.pads) < a.input for a in geo))
        assume(mode != "symmetric" or all(min(a.pads) >= 0 for a in geo))
    rng = np.random.default_rng(abs(hash(str(cfg))) % 2**32)
    x = rng.standard_normal((cfg["n"], cfg["cin"], *cfg["size"]))
    w = rng.standard_normal((cfg["cout"], cfg["cin"] // cfg["groups"], *cfg["kernel"]))
    b = rng.standard_normal(cfg["cout"]) if cfg["bias"] else None
    return geo, x, w, b


def check_conv(cfg: dict) -> None:
    nd, groups = cfg["nd"], cfg["groups"]
    geo, x, w, b = operands(cfg)
    mode = cfg["mode"]
    want = torch_conv(x, w, b, geo, groups, mode)
    tuning = Tuning(block_bytes=cfg["block"])
    old_workers = set_workers(cfg["workers"])
    try:
        got = conv(x, w, b, cfg["stride"], cfg["padding"], cfg["dilation"], groups, mode, tuning=tuning)
        # channels_last: the same numbers through transposed layouts
        got_last = conv(np.moveaxis(x, 1, -1), np.moveaxis(w, (0, 1), (nd + 1, nd)), b, cfg["stride"],
                        cfg["padding"], cfg["dilation"], groups, mode, layout="channels_last", tuning=tuning)
    finally:
        set_workers(old_workers)
    check(got, want, cfg)
    check(np.moveaxis(got_last, -1, 1), want, {**cfg, "layout": "channels_last"})


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@oracle_settings(40)
@given(st.data())
def test_torch_same_is_pytorch_padding_same(data: st.DataObject) -> None:
    """PyTorch's own padding='same' (stride 1) is the oracle for 'torch_same', no pads handed over."""
    nd = data.draw(st.integers(1, 3))
    size = draw_axes(data, nd, 1, 7)
    kernel = draw_axes(data, nd, 1, 4)
    dilation = draw_axes(data, nd, 1, 2)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, *size)), rng.standard_normal((4, 3, *kernel))
    want = torch_op("conv", nd)(torch.from_numpy(x), torch.from_numpy(w), padding="same", dilation=dilation)
    check(conv(x, w, padding="torch_same", dilation=dilation), want.numpy(), (size, kernel, dilation))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_dtype_is_kept_and_unbatched_input_works(dtype: type) -> None:
    x = np.ones((3, 6, 6), dtype)
    w = np.ones((2, 3, 3, 3), dtype)
    out = conv(x, w, padding="same")
    assert out.dtype == dtype and out.shape == (2, 6, 6)
    assert out[0, 0, 0] == 12 and out[0, 2, 2] == 27


def test_blocks_stay_within_the_limit() -> None:
    limit = 10_000
    for n, rows, row in [(32, 56, 300), (4, 10, 20_000), (1, 7, 9_999)]:
        for n0, n1, r0, r1 in _blocks.plan(n, rows, row, limit):
            assert (n1 - n0) * (r1 - r0) * row <= max(limit, row)
        covered = sum((n1 - n0) * (r1 - r0) for n0, n1, r0, r1 in _blocks.plan(n, rows, row, limit))
        assert covered == n * rows


def test_nested_block_runs_do_not_wait_on_their_own_pool() -> None:
    """A block that pads its own images may split a copy over the threads: from a worker that runs inline."""
    seen: list[tuple[int, int, int, int]] = []
    pair = [(0, 1, 0, 0), (1, 2, 0, 0)]
    old = set_workers(2)
    try:
        _blocks.run(pair, lambda block: _blocks.run(pair, seen.append))
    finally:
        set_workers(old)
    assert sorted(seen) == sorted(pair * 2)


def test_a_late_thread_leaves_its_blocks_to_the_others() -> None:
    """Threads take blocks from one queue: a thread held up (its core busy) does not keep a share."""
    done: list[tuple[int, str]] = []
    held = threading.Event()

    def work(block: int) -> None:
        name = threading.current_thread().name
        if name != threading.main_thread().name and not held.is_set():
            held.set()
            time.sleep(0.3)
        done.append((block, name))

    old = set_workers(2)
    try:
        _blocks.run(list(range(20)), work)
    finally:
        set_workers(old)
    assert sorted(b for b, _ in done) == list(range(20))
    assert sum(name == threading.main_thread().name for _, name in done) >= 15


def test_blocks_are_even_and_shared_by_the_threads() -> None:
    for n, parts in [(32, 2), (33, 2), (7, 3), (3, 4)]:
        blocks = list(_blocks.plan(n, 28, 80_000, 8 << 20, parts))
        sizes = [n1 - n0 for n0, n1, _, _ in blocks]
        assert sum(sizes) == n and max(sizes) - min(sizes) <= 1 and max(sizes) <= (8 << 20) // (28 * 80_000)
        assert len(blocks) % parts == 0 or len(blocks) == n


@pytest.mark.parametrize(
    ("x", "w", "kwargs", "message"),
    [
        (np.ones((1, 4, 5, 5)), np.ones((2, 3, 3, 3)), {}, "groups=1 does not fit"),
        (np.ones((1, 4, 5, 5)), np.ones((3, 2, 3, 3)), {"groups": 2}, "groups=2 does not fit"),
        (np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), {}, "spans 3 > padded input 2"),
        (np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), {"stride": 2, "padding": "torch_same"}, "needs stride 1"),
        (np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), {"layout": "NHCW"}, "unknown layout"),
        (np.ones((5, 5)), np.ones((1, 1, 3, 3)), {}, "has 2 axes"),
    ],
)
def test_conv_errors_are_clear(x: np.ndarray, w: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(PaddingError, match=message):
        conv(x, w, **kwargs)
