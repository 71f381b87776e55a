"""The explorer: its JSON equals the geometry, and headless Chromium shows those numbers."""

from __future__ import annotations

import json
import random
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from padstride.geometry import conv, conv_transpose, pool
from padstride.viz.explorer import geometry_payload
from padstride.viz.server import start

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server, address = start("127.0.0.1", 0)
    yield address
    server.shutdown()
    server.server_close()


def test_api_matches_geometry(url: str) -> None:
    with urllib.request.urlopen(url + "api/geometry?op=conv&input=224,225&kernel=3&stride=2&padding=same") as r:
        data = json.load(r)
    g = conv((224, 225), 3, 2, "same")
    assert data["output"] == list(g.output) and data["pads"] == [list(p) for p in g.pads]
    assert data["geometry"] == json.loads(json.dumps(g.to_dict()))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url + "api/geometry?op=conv&input=2&kernel=5")
    assert err.value.code == 400 and "kernel 5" in json.load(err.value)["error"]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(url + "../etc/passwd")
    assert err.value.code == 404
    for name in ("", "app.js", "style.css"):
        with urllib.request.urlopen(url + name) as r:
            assert r.status == 200 and len(r.read()) > 100


def test_payload_ops() -> None:
    p = geometry_payload({"op": "maxpool", "input": "5,7", "kernel": "2", "ceil_mode": "1"})
    assert p["output"] == list(pool((5, 7), 2, ceil_mode=True).output)
    p = geometry_payload({"op": "convtranspose", "input": "3", "kernel": "3", "stride": "2",
                          "padding": "1", "output_padding": "1"})
    assert p["output"] == list(conv_transpose(3, 3, 2, 1, 1).output)
    assert "error" in geometry_payload({"op": "nope", "input": "3"})
    big = geometry_payload({"op": "conv", "input": "500", "kernel": "3"})
    assert big["output"] == [498] and big["scene"] is None


def _expected(op: str, n: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...],
              padding: object, ceil: bool) -> object:
    if op == "conv":
        return conv(n, k, s, padding, d)
    if op == "convtranspose":
        return conv_transpose(n, k, s, padding, (0,) * len(n), d)
    return pool(n, k, s, padding, d, ceil)


@pytest.mark.browser
def test_browser_shows_geometry(url: str) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not found on PATH (apt-get install -y chromium; `make test` does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    rng = random.Random(8)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(url)
        page.wait_for_function("document.body.dataset.pending === '0' && document.querySelector('#A').dataset.query")

        def set_value(selector: str, value: object) -> None:
            page.evaluate("([s, v]) => { const e = document.querySelector(s); e.value = String(v);"
                          " e.dispatchEvent(new Event('input', {bubbles: true})); }", [selector, value])

        def settle() -> None:
            page.wait_for_function("document.body.dataset.pending === '0'")

        checked = 0
        for trial in range(12):
            op = ["conv", "conv", "maxpool", "avgpool", "convtranspose"][trial % 5]
            nd = 2 if trial % 4 else 1
            n = tuple(rng.randint(3, 12) for _ in range(nd))
            k = tuple(rng.randint(1, 4) for _ in range(nd))
            s = tuple(rng.randint(1, 3) for _ in range(nd))
            d = tuple(rng.randint(1, 2) for _ in range(nd)) if op == "conv" else (1,) * nd
            ceil = op.endswith("pool") and rng.random() < 0.5
            conv_a = rng.choice(["valid", "same", "same_lower", "full"] if op != "convtranspose"
                                else ["valid", "same"])
            pads_b = tuple((rng.randint(0, 2), rng.randint(0, 2)) for _ in range(nd))
            if op.endswith("pool"):  # torch-like pools keep pads within half the kernel
                pads_b = tuple((min(b, kk // 2), min(a, kk // 2)) for (b, a), kk in zip(pads_b, k, strict=True))
            if op == "convtranspose":
                pads_b = tuple((b, b) for b, _ in pads_b)
            set_value("#ndim", nd)
            set_value("#op", op)
            for axis in range(nd):
                for name, values in (("input", n), ("kernel", k), ("stride", s), ("dilation", d)):
                    set_value(f"#{name}{axis}", values[axis])
                set_value(f"#output_padding{axis}", 0)
                set_value(f"#B .b{axis}", pads_b[axis][0])
                set_value(f"#B .a{axis}", pads_b[axis][1])
            page.evaluate("(c) => { const e = document.querySelector('#ceil_mode'); e.checked = c;"
                          " e.dispatchEvent(new Event('input', {bubbles: true})); }", ceil)
            set_value("#A .conv", conv_a)
            set_value("#B .conv", "explicit")
            settle()
            for panel, padding in (("A", conv_a), ("B", pads_b)):
                config = (op, n, k, s, d, padding, ceil)
                try:
                    g = _expected(*config)
                except ValueError:
                    assert page.inner_text(f"#{panel} .error"), config
                    continue
                shown = page.inner_text(f"#{panel} .out-size")
                assert shown == "×".join(map(str, g.output)), (config, shown)  # type: ignore[attr-defined]
                pads = page.inner_text(f"#{panel} .pads")
                assert pads == " ".join(f"({b}, {a})" for b, a in g.pads), (config, pads)  # type: ignore[attr-defined]
                cells = page.locator(f"#{panel} .grid.output .cell").count()
                assert cells == _prod(g.output), config  # type: ignore[attr-defined]
                if op != "convtranspose":
                    n_pad = page.locator(f"#{panel} .grid.source .cell.pad").count()
                    full = _prod(tuple(m + b + a for m, (b, a) in zip(n, g.pads, strict=True)))  # type: ignore[attr-defined]
                    assert n_pad == full - _prod(n), config
                # hover the last output cell: its window's cells light up
                page.hover(f"#{panel} .grid.output .cell >> nth=-1")
                taps = page.locator(f"#{panel} .grid.source .cell.tap").count()
                assert taps == _prod(k), config
                checked += 1
        assert checked >= 12
        set_value("#ndim", 2)
        set_value("#op", "conv")
        for axis, (n_, k_, s_) in enumerate(((7, 3, 2), (6, 3, 2))):
            set_value(f"#input{axis}", n_)
            set_value(f"#kernel{axis}", k_)
            set_value(f"#stride{axis}", s_)
            set_value(f"#dilation{axis}", 1)
            set_value(f"#B .b{axis}", 1)
            set_value(f"#B .a{axis}", 1)
        set_value("#A .conv", "same")
        settle()
        page.hover("#A .grid.output .cell >> nth=0")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)
        browser.close()
    assert (ARTIFACTS / "explorer.png").stat().st_size > 1000


def _prod(values: tuple[int, ...]) -> int:
    out = 1
    for v in values:
        out *= v
    return out
