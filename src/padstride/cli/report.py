"""``padstride report``: one self-contained HTML report (and a markdown summary) from results JSONL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._common import CliError, emit_json

__all__ = ["HELP", "add_arguments", "run"]

HELP = "write an HTML report (plots embedded) and a markdown summary from study results (JSONL)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", help="results JSONL file(s) written by `padstride study`")
    parser.add_argument("-o", "--output", default="report.html", help="HTML file to write (default: report.html)")
    parser.add_argument("-m", "--markdown", help="markdown summary (default: the HTML path with .md)")
    parser.add_argument("--json", action="store_true", help="print the summary tables as JSON")


def run(args: argparse.Namespace) -> int:
    from ..studies import ResultsStore, StudyError
    from ..studies.aggregate import aggregate, summary
    from ..studies.report import write_report

    out = Path(args.output)
    if out.is_dir():
        raise CliError(f"--output {args.output}: is a directory")
    records = []
    for path in args.results:
        p = Path(path)
        if not p.is_file():
            raise CliError(f"{path}: no such results file")
        try:
            found = ResultsStore(p).records()
        except StudyError as exc:
            raise CliError(str(exc)) from None
        if not found:
            raise CliError(f"{path}: no result records (expected JSON lines written by `padstride study`)")
        records += found
    try:
        html, md = write_report(records, out, args.markdown, source=", ".join(args.results))
    except StudyError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        emit_json({"html": str(html), "markdown": str(md),
                   "tables": [{"study": t.study, "budget": t.budget, "type": t.type, "rows": summary(t)}
                              for t in aggregate(records)]})
    else:
        sys.stdout.write(f"wrote {html} and {md}\n")
    return 0
