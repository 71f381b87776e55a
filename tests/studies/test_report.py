"""The HTML report: self-contained, every plot present and decoded by a real browser."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading

import pytest

from padstride.studies.report import write_report

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def test_report_html_and_markdown(tiny_records, tmp_path):
    html, md = write_report(tiny_records, tmp_path / "report.html")
    text = html.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|/)""", text), "the report must not load anything"
    plots = re.findall(r"<img class='plot' alt='(\w+)' src='data:image/png;base64,", text)
    assert plots.count("metric_plot") == 2 and {"border_plot", "grad_plot", "cost_plot", "samples_plot",
                                                "tiling_plot"} <= set(plots)
    summary = md.read_text()
    for needle in ("## tiny-cls", "## tiny-seg", "| valid |", "hardware:", "torch", "seeds: 0, 1", "data: name=digits"):
        assert needle in summary, needle
    for rec in tiny_records:
        if rec["study"] == "tiny-cls":
            assert f"{rec['test_acc']:.4f}"[:3] in summary


@pytest.mark.browser
def test_report_renders_in_chromium(tiny_records, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("chromium is not installed (make browser installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    write_report(tiny_records, tmp_path / "report.html")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"http://127.0.0.1:{server.server_port}/report.html")
            page.wait_for_load_state("load")
            sizes = page.eval_on_selector_all("img.plot", "els => els.map(e => [e.alt, e.complete, e.naturalWidth])")
            headings = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
            cells = page.eval_on_selector_all("table td", "els => els.length")
            browser.close()
    finally:
        server.shutdown()
    assert not errors
    assert [u for u in requests if not u.endswith("/report.html")] == [], "report fetched something"
    assert len(sizes) >= 8 and all(done and width > 100 for _, done, width in sizes), sizes
    assert any("tiny-cls" in h for h in headings) and any("tiny-seg" in h for h in headings)
    assert cells >= 5 * 8


def test_aggregate_keeps_the_latest_configuration():
    from padstride.studies.aggregate import aggregate, summary

    def rec(variant, seed, acc, fp):
        return {"study": "s", "variant": variant, "seed": seed, "test_acc": acc, "fingerprint": fp}

    records = [rec("a", 0, 0.1, "old"), rec("a", 1, 0.2, "old"), rec("a", 0, 0.8, "new"), rec("a", 1, 0.6, "new"),
               rec("b", 0, 0.5, "x")]
    table = aggregate(records)[0]
    assert [r.variant for r in table.rows] == ["a", "b"] and table.stale == 2
    assert abs(table.rows[0].mean - 0.7) < 1e-12 and abs(table.rows[0].std - 0.1414213562) < 1e-9
    assert summary(table)[0]["accuracy"] == "0.7000 ± 0.1414"
