"""``padstride study``: run a study (built-in name or YAML file), resumable, locally or on Ray."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._args import check_output, finite_float, int_range, threads
from ._common import CliError, emit_json

if TYPE_CHECKING:
    from ..studies import Study

__all__ = ["HELP", "add_arguments", "run"]

MAX_SEEDS = 100_000  # the seeds one study may ask for (studies.spec.MAX_SEEDS)

HELP = "run a padding study (built-in name or STUDY.yaml); results append to a JSONL file, reruns resume"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", nargs="?", help="built-in study name or path to a STUDY.yaml (see --list)")
    parser.add_argument("-q", "--quick", action="store_true", help="use the study's small 'quick' budget")
    parser.add_argument("-o", "--out", default="results.jsonl", help="JSONL results file (default: results.jsonl)")
    parser.add_argument("-s", "--seeds", type=int_range(1, MAX_SEEDS),
                        help=f"number of seeds, 1 to {MAX_SEEDS:,} (overrides the study)")
    parser.add_argument("-V", "--variants", metavar="A,B", help="run only these variants (comma-separated)")
    parser.add_argument("-t", "--max-time", type=finite_float(0.0, strict=True), metavar="S",
                        help="stop after S seconds; unfinished records are not written (rerun to resume)")
    parser.add_argument("-e", "--executor", choices=("local", "ray"), default="local", help="where records run")
    parser.add_argument("-a", "--address", help="Ray cluster address (default: start a local cluster)")
    parser.add_argument("-d", "--data", metavar="PATH",
                        help="MNIST/Fashion-MNIST: folder of IDX files (.gz or not) or .npz, used instead of digits")
    parser.add_argument("--threads", type=threads,
                        help="torch threads per record, 1 to 4 x the CPU count (default or 0: all cores; Ray: 1)")
    parser.add_argument("--report", metavar="HTML", help="also write the HTML report (and .md) from --out")
    parser.add_argument("--list", action="store_true", help="list the built-in studies and exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def _load(args: argparse.Namespace) -> Study:
    from ..studies import StudyError, load_study

    if args.address and args.executor != "ray":
        raise CliError("--address needs --executor ray")
    try:
        study = load_study(args.study, quick=args.quick)
        if args.seeds:
            study = replace(study, seeds=args.seeds)
        study = replace(study, order=tuple(study.variants))
        if args.variants:
            wanted = [v.strip() for v in args.variants.split(",") if v.strip()]
            unknown = [v for v in wanted if v not in study.variants]
            if unknown or not wanted:
                raise CliError(f"--variants: {', '.join(unknown) or 'none given'} not in {study.name!r} "
                               f"(variants: {', '.join(study.variants)})")
            study = replace(study, variants={v: study.variants[v] for v in wanted})
        if args.data:
            if study.type not in ("classification", "augmentation"):
                raise CliError(f"--data replaces 28x28 digits; study {study.name!r} is a {study.type} study")
            from ..studies.idx import load_mnist

            name = "fashion_mnist" if "fashion" in Path(args.data).name.lower() else "mnist"
            load_mnist(args.data, 1, 1)  # fail now, with one line, on a bad path
            data = study.data  # the settings in effect stay, the path joins them
            in_effect = data.in_effect if "path" in data.in_effect else (*data.in_effect, "path")
            study = replace(study, data=replace(data, name=name, path=str(Path(args.data).resolve()),
                                                in_effect=in_effect))
    except StudyError as exc:
        raise CliError(str(exc)) from None
    return study


def _check_out(path: str) -> None:
    """Fail early, with one line, when the results file could not be written or is not one (creates nothing)."""
    from ..studies import StudyError
    from ..studies.store import ResultsStore

    check_output(path, "--out")
    try:
        ResultsStore(path).check()
    except StudyError as exc:
        raise CliError(f"--out {exc}") from None


def _check_report(path: str, out: str) -> None:
    from .report import check_report_paths

    check_report_paths(path, None, [out], False, "--report")


def _print_tables(records: list[dict[str, Any]], study_name: str, order: list[str]) -> list[dict[str, Any]]:
    from rich.console import Console
    from rich.table import Table as RichTable

    from ..studies.aggregate import aggregate, summary

    console = Console()
    out = []
    for table in aggregate(records, order):
        if table.study != study_name:
            continue
        rows = summary(table)
        out.append({"study": table.study, "budget": table.budget, "type": table.type, "rows": rows})
        rich_table = RichTable(title=f"{table.study} ({table.budget})")
        for col in rows[0]:
            rich_table.add_column(col, justify="left" if col == "variant" else "right")
        for row in rows:
            rich_table.add_row(*row.values())
        if not getattr(_print_tables, "quiet", False):
            console.print(rich_table)
    return out


def run(args: argparse.Namespace) -> int:
    from ..studies import ResultsStore, StudyError, builtin_studies, run_study

    if args.list:
        from ..studies import load_study

        rows = [{"name": n, "type": load_study(n).type, "variants": list(load_study(n).variants)}
                for n in builtin_studies()]
        if args.json:
            emit_json({"studies": rows})
        else:
            for r in rows:
                sys.stdout.write(f"{r['name']:16} {r['type']:15} {', '.join(r['variants'])}\n")
        return 0
    if not args.study:
        raise CliError("name a study (built-in name or STUDY.yaml); --list shows the built-ins")
    study = _load(args)
    _check_out(args.out)
    if args.report:
        _check_report(args.report, args.out)
    try:
        result = run_study(study, args.out, executor=args.executor, address=args.address, max_time=args.max_time,
                           progress=not args.no_progress and not args.json, threads=args.threads)
        records = ResultsStore(args.out).records()
    except StudyError as exc:
        raise CliError(str(exc)) from None
    _print_tables.quiet = args.json  # type: ignore[attr-defined]
    tables = _print_tables(records, study.name, list(study.order or study.variants))
    status = (f"{result.ran} record(s) run, {result.skipped} already done, {result.left} left"
              f"{' (time budget; rerun to resume)' if result.left else ''}"
              f"{f', {result.busy} being run by another process' if result.busy else ''} → {args.out}")
    if args.report:
        from ..studies.report import write_report

        html, md = write_report(records, args.report)
        status += f"; report {html} and {md}"
    if args.json:
        emit_json({"study": study.name, "budget": study.budget, "ran": result.ran, "skipped": result.skipped,
                   "left": result.left, "busy": result.busy, "out": args.out, "wall_s": result.wall_s,
                   "tables": tables})
    else:
        sys.stderr.write(status + "\n")
    return 0
