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

__all__ = ["context_lines", "is_report", "markdown_twin", "render_html", "render_markdown", "write_report"]

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
        study, kind, budget = (_html.escape(str(v)) for v in (table.study, table.type, table.budget))
        parts.append(f"<section class='study' id='{study}-{budget}'>"
                     f"<h2>{study} <span class='muted'>({kind}, {budget} budget)</span></h2>")
        desc = table.records[0].get("description") if table.records else ""
        if desc:
            parts.append(f"<p>{_html.escape(str(desc))}</p>")
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
    from urllib.parse import quote

    lines = [_MD_TITLE, ""]
    if html_name:
        lines += [f"Plots: [{_md(html_name)}]({quote(html_name)}).", ""]
    for table in tables:
        rows = summary(table)
        lines += [f"## {_md(table.study)} ({_md(table.type)}, {_md(table.budget)} budget)", ""]
        lines.append("| " + " | ".join(_md(c) for c in rows[0]) + " |")
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(rows[0]))) + "|")
        lines += ["| " + " | ".join(_md(v) for v in r.values()) + " |" for r in rows]
        lines.append("")
        lines += [f"- {_md(c)}" for c in context_lines(table)]
        lines.append("")
    return "\n".join(lines)


def _md(value: object) -> str:
    """Text for a markdown line or table cell: raw HTML shown as text, ``|`` escaped, one line.

    >>> print(_md("<script>x</script> | y"))
    &lt;script&gt;x&lt;/script&gt; \\| y
    """
    text = " ".join(str(value).split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")


_MD_TITLE = "# padstride study report"
_HTML_MARK = "<title>padstride report</title>"


def markdown_twin(html_path: str | Path) -> Path:
    """The markdown summary written next to an HTML report when none is named.

    >>> markdown_twin("out/report.html").as_posix()
    'out/report.md'
    """
    return Path(html_path).with_suffix(".md")


def is_report(path: str | Path) -> bool:
    """True when ``path`` is a report padstride wrote (HTML or markdown), so rewriting it loses nothing.

    >>> is_report("no-such-file.md")
    False
    """
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return head.startswith(_MD_TITLE) or _HTML_MARK in head


def check_targets(html_path: str | Path, md_path: str | Path | None = None, force: bool = False) -> tuple[Path, Path]:
    """The two files a report writes; refuses (:class:`StudyError`) to overwrite a file not named.

    The markdown twin (``report.md`` for ``report.html``) is only replaced when it is a padstride
    report already, or with ``force``; the HTML and markdown paths must differ.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp(); _ = open(os.path.join(d, "README.md"), "w").write("# My project")
    >>> check_targets(os.path.join(d, "README.html"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    padstride.studies.errors.StudyError: .../README.md exists and is not a padstride report; ...
    """
    html = Path(html_path)
    md = Path(md_path) if md_path else markdown_twin(html)
    if html.resolve() == md.resolve():
        raise StudyError(f"{html}: the HTML report and its markdown summary would be the same file")
    if md_path is None and md.exists() and not force and not is_report(md):
        raise StudyError(f"{md} exists and is not a padstride report; the markdown summary would overwrite it "
                         "(name another with --markdown, or --force)")
    return html, md


def _write_atomically(files: dict[Path, str]) -> None:
    """Write every file to a temporary sibling first, then rename them all: none or all appear."""
    import os
    import tempfile

    temps: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temps.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)


def write_report(records: list[dict[str, Any]], html_path: str | Path, md_path: str | Path | None = None,
                 source: str = "", force: bool = False) -> tuple[Path, Path]:
    """Write the HTML report and its markdown summary (``.md`` next to it unless given).

    Both are rendered, written to temporary files and renamed at the end (a failure leaves
    neither); an existing markdown twin that padstride did not write is refused unless ``force``.

    >>> import tempfile, os
    >>> rec = {"study": "s", "variant": "same", "seed": 0, "test_acc": 0.9, "type": "<i>classification</i>"}
    >>> html, md = write_report([rec], os.path.join(tempfile.mkdtemp(), "r.html"))
    >>> "<i>" in html.read_text(), md.read_text().splitlines()[4]
    (False, '## s (&lt;i&gt;classification&lt;/i&gt;, full budget)')
    """
    html, md = check_targets(html_path, md_path, force)
    try:
        tables = aggregate(records)
        pages = {html: render_html(tables, source), md: render_markdown(tables, html.name)}
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:  # records are untrusted input
        raise StudyError(f"the results hold values a report cannot show ({type(exc).__name__}: "
                         f"{str(exc)[:200]}); were they written by `padstride study`?") from None
    try:
        _write_atomically(pages)
    except OSError as exc:
        raise StudyError(f"cannot write the report: {exc.strerror or exc}: {exc.filename or html}") from None
    return html, md
