"""One self-contained HTML report (plots embedded as base64 PNG) and a markdown summary.

>>> import tempfile, os
>>> rec = {"study": "s", "variant": "same", "seed": 0, "test_acc": 0.9, "type": "classification"}
>>> html, md = write_report([rec], os.path.join(tempfile.mkdtemp(), "r.html"))
>>> html.read_text().count("<img") >= 1, md.suffix
(True, '.md')
"""

from __future__ import annotations

import base64
import datetime as _dt
import html as _html
from pathlib import Path
from typing import Any

from .aggregate import Table, aggregate, summary
from .errors import StudyError

__all__ = ["context_lines", "render_html", "render_markdown", "write_report"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}
caption{caption-side:bottom;text-align:left;font-size:12px;color:#555;padding-top:4px}
figure{margin:1em 0}figcaption{font-size:12px;color:#555}img{max-width:100%}
code{background:#f4f4f4;padding:0 3px}.muted{color:#777;font-size:12px}
"""


def _envs(table: Table) -> list[dict[str, Any]]:
    seen, out = set(), []
    for r in table.records:
        env = r.get("env") or {}
        key = tuple(sorted((k, str(v)) for k, v in env.items() if k != "host"))
        if env and key not in seen:
            seen.add(key)
            out.append(env)
    return out


def context_lines(table: Table) -> list[str]:
    """What the numbers depend on: hardware, versions, seeds, data, training budget.

    >>> t = aggregate([{"study": "s", "variant": "v", "seed": 0, "test_acc": 1.0, "data": {"name": "digits"}}])[0]
    >>> context_lines(t)[1]
    'seeds: 0 (1 per variant)'
    """
    first = table.records[0] if table.records else {}
    envs = _envs(table)
    hw = "; ".join(f"{e.get('cpu', '?')}, {e.get('cores', '?')} cores, {e.get('threads', '?')} torch threads"
                   for e in envs) or "not recorded"
    versions = "; ".join(f"padstride {e.get('padstride', '?')}, torch {e.get('torch', '?')}, numpy "
                         f"{e.get('numpy', '?')}, python {e.get('python', '?')}" for e in envs) or "not recorded"
    seeds = sorted({s for row in table.rows for s in row.seeds})
    data = first.get("data") or {}
    data_text = ", ".join(f"{k}={v}" for k, v in data.items() if v not in ("", None)) or "not recorded"
    train = first.get("train") or {}
    return [
        f"hardware: {hw}",
        f"seeds: {', '.join(map(str, seeds))} ({min(len(r.seeds) for r in table.rows)} per variant)",
        f"data: {data_text}",
        f"training: {', '.join(f'{k}={v}' for k, v in train.items()) or 'not recorded'}; budget {table.budget}",
        f"versions: {versions}",
    ]


def _table_html(rows: list[dict[str, str]], caption: list[str]) -> str:
    head = "".join(f"<th>{_html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_html.escape(v)}</td>" for v in r.values()) + "</tr>" for r in rows)
    cap = "<br>".join(_html.escape(c) for c in caption)
    return f"<table><caption>{cap}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _variants_html(table: Table) -> str:
    items = []
    for row in table.rows:
        cfg = dict(row.first("variant_config") or {})
        desc = cfg.pop("description", "")
        shapes = row.first("feature_shapes")
        text = ", ".join(f"{k}={v}" for k, v in cfg.items())
        if shapes:
            text += "; feature maps " + " → ".join("×".join(map(str, s)) for s in shapes)
        items.append(f"<li><b>{_html.escape(row.variant)}</b>: {_html.escape(text)}"
                     f"{' — ' + _html.escape(desc) if desc else ''}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def render_html(tables: list[Table], source: str = "") -> str:
    """The report as one HTML string (no external resources).

    >>> render_html([]).startswith("<!doctype html>")
    True
    """
    from .plots import FIGURES

    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>padstride report</title>"
             f"<style>{_CSS}</style></head><body><h1>padstride study report</h1>"
             f"<p class='muted'>{_html.escape(source)} — generated "
             f"{_dt.datetime.now().isoformat(timespec='seconds')}</p>"]
    if not tables:
        parts.append("<p>No results yet.</p>")
    for table in tables:
        parts.append(f"<section class='study' id='{_html.escape(table.study)}-{table.budget}'>"
                     f"<h2>{_html.escape(table.study)} <span class='muted'>({table.type}, {table.budget} budget)"
                     f"</span></h2>")
        desc = table.records[0].get("description") if table.records else ""
        if desc:
            parts.append(f"<p>{_html.escape(desc)}</p>")
        caption = context_lines(table)
        if table.stale:
            caption.append(f"{table.stale} record(s) from older configurations of this study are not shown")
        parts.append(_table_html(summary(table), caption))
        parts.append(_variants_html(table))
        for build, text in FIGURES:
            png = build(table)
            if png:
                b64 = base64.b64encode(png).decode("ascii")
                parts.append(f"<figure><img class='plot' alt='{build.__name__}' src='data:image/png;base64,{b64}'>"
                             f"<figcaption>{_html.escape(text)}</figcaption></figure>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_markdown(tables: list[Table], html_name: str = "") -> str:
    """The summary tables and their context as markdown.

    >>> render_markdown([]).splitlines()[0]
    '# padstride study report'
    """
    lines = ["# padstride study report", ""]
    if html_name:
        lines += [f"Plots: [{html_name}]({html_name}).", ""]
    for table in tables:
        rows = summary(table)
        lines += [f"## {table.study} ({table.type}, {table.budget} budget)", ""]
        lines.append("| " + " | ".join(rows[0]) + " |")
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(rows[0]))) + "|")
        lines += ["| " + " | ".join(r.values()) + " |" for r in rows]
        lines.append("")
        lines += [f"- {c}" for c in context_lines(table)]
        lines.append("")
    return "\n".join(lines)


def write_report(records: list[dict[str, Any]], html_path: str | Path, md_path: str | Path | None = None,
                 source: str = "") -> tuple[Path, Path]:
    """Write the HTML report and its markdown summary (``.md`` next to it unless given).

    >>> write_report.__name__
    'write_report'
    """
    html_path = Path(html_path)
    md = Path(md_path) if md_path else html_path.with_suffix(".md")
    tables = aggregate(records)
    try:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = html_path.with_name(html_path.name + ".tmp")
        tmp.write_text(render_html(tables, source), encoding="utf-8")
        tmp.replace(html_path)  # never a half-written report
        md.write_text(render_markdown(tables, html_path.name), encoding="utf-8")
    except OSError as exc:
        raise StudyError(f"cannot write the report: {exc}") from None
    return html_path, md
