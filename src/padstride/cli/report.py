"""``padstride report``: one self-contained HTML report (and a markdown summary) from results JSONL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._args import check_output
from ._common import CliError, emit_json

__all__ = ["HELP", "add_arguments", "run"]

HELP = "write an HTML report (plots embedded) and a markdown summary from study results (JSONL)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", help="results JSONL file(s) written by `padstride study`")
    parser.add_argument("-o", "--output", default="report.html",
                        help="HTML file to write, .html or .htm (default: report.html)")
    parser.add_argument("-m", "--markdown",
                        help="markdown summary, .md (default: the HTML path with .md, which is only replaced "
                             "when padstride wrote it)")
    parser.add_argument("-f", "--force", action="store_true",
                        help="replace an existing markdown twin that padstride did not write")
    parser.add_argument("--json", action="store_true", help="print the summary tables as JSON")


def check_report_paths(html: str, md: str | None, inputs: list[str], force: bool, flag: str = "--output") -> None:
    """Refuse, before any work, report paths that cannot be written or would overwrite something."""
    from ..studies import StudyError
    from ..studies.report import check_targets, markdown_twin

    check_output(html, flag, (".html", ".htm"), inputs=inputs)
    check_output(md or markdown_twin(html), "--markdown" if md else f"{flag} (its markdown twin)", (".md",),
                 inputs=inputs)
    try:
        check_targets(html, md, force)
    except StudyError as exc:
        raise CliError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from ..studies import ResultsStore, StudyError
    from ..studies.aggregate import aggregate, summary
    from ..studies.report import write_report

    for path in args.results:
        p = Path(path)
        if p.is_dir():
            raise CliError(f"{path}: is a directory; expected a results JSONL file")
        if not p.exists():
            raise CliError(f"{path}: no such results file")
        if not p.is_file():
            raise CliError(f"{path}: is not a regular file; expected a results JSONL file")
    check_report_paths(args.output, args.markdown, list(args.results), args.force)
    records = []
    for path in args.results:
        try:
            found = ResultsStore(path).records()
        except StudyError as exc:
            raise CliError(str(exc)) from None
        if not found:
            raise CliError(f"{path}: no result records (expected JSON lines written by `padstride study`)")
        records += found
    try:
        html, md = write_report(records, args.output, args.markdown, source=", ".join(args.results), force=args.force)
    except StudyError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        emit_json({"html": str(html), "markdown": str(md),
                   "tables": [{"study": t.study, "budget": t.budget, "type": t.type, "rows": summary(t)}
                              for t in aggregate(records)]})
    else:
        sys.stdout.write(f"wrote {html} and {md}\n")
    return 0
