"""``padstride verify``: seed 000's experiment (:mod:`padstride.verify`), in every framework at hand.

The experiment, configurations and runners live in :mod:`padstride.verify`; this module parses
the options (every one checked against its range when parsed) and prints.

Example::

    padstride verify                      # the seed's k=7, s=2
    padstride verify -k 4 -s 3 -i 31,20 --json
    padstride verify --sweep 200
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ._args import finite_float, int_list, int_range
from ._common import CliError, emit_json

__all__ = ["HELP", "add_arguments", "run"]

HELP = "seed 000's check: VALID conv on the manually SAME-padded input == SAME conv, in each framework"

_IMPLS = ("keras", "torch", "engine", "onnxruntime")  # padstride.verify.IMPLS (not imported: numpy-free parsing)
_LIMITS = {"kernel": 255, "stride": 255, "input": 4096, "channels": 1024, "filters": 1024, "batch": 1024,
           "sweep": 10_000}  # the parse-time bounds of padstride.verify.LIMITS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-k", "--kernel", type=int_range(1, _LIMITS["kernel"]), default=7,
                   help="kernel size (default 7, the seed's)")
    p.add_argument("-s", "--stride", type=int_range(1, _LIMITS["stride"]), default=2,
                   help="stride (default 2, the seed's)")
    p.add_argument("-i", "--input", type=int_list(1, _LIMITS["input"], max_len=2), default=(28, 28),
                   help=f"input height,width, each 1 to {_LIMITS['input']} (default 28,28)")
    p.add_argument("-c", "--channels", type=int_range(1, _LIMITS["channels"]), default=1,
                   help="input channels (default 1)")
    p.add_argument("-f", "--filters", type=int_range(1, _LIMITS["filters"]), default=4,
                   help="output channels (default 4)")
    p.add_argument("-b", "--batch", type=int_range(1, _LIMITS["batch"]), default=2,
                   help="images per batch (default 2)")
    p.add_argument("--seed", type=int_range(0, 2**63 - 1), default=0, help="random seed of images and weights")
    p.add_argument("--atol", type=finite_float(0.0), default=1e-5,
                   help="absolute tolerance, finite and >= 0 (float32; default 1e-5)")
    p.add_argument("--only", help=f"comma-separated subset of {','.join(_IMPLS)}")
    p.add_argument("--sweep", type=int_range(1, _LIMITS["sweep"]), metavar="N",
                   help=f"run N random configurations instead of one (1 to {_LIMITS['sweep']:,})")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _impls(text: str | None) -> tuple[str, ...]:
    if not text:
        return _IMPLS
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    bad = [n for n in names if n not in _IMPLS]
    if bad or not names:
        raise CliError(f"--only takes names from {','.join(_IMPLS)}, got {text[:60]!r}")
    return names


def _progress(total: int, work: Callable[[Callable[[], None]], None], quiet: bool) -> None:
    if quiet or not sys.stderr.isatty():
        work(lambda: None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("verify"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("verify", total=total)
        work(lambda: bar.advance(task))


def _print_table(result: dict[str, Any]) -> None:
    cfg = result["config"]
    print(f"kernel {cfg['kernel']}, stride {cfg['stride']}, input {cfg['input'][0]}x{cfg['input'][1]}, "
          f"channels {cfg['channels']} -> {cfg['filters']}, batch {cfg['batch']}, seed {cfg['seed']}")
    width = max([len(r["a"]) for r in result["rows"]] + [4])
    width_b = max([len(r["b"]) for r in result["rows"]] + [4])
    print(f"{'A':<{width}}  {'B':<{width_b}}  {'max |A-B|':>10}  result")
    for r in result["rows"]:
        diff = "shape" if r["max_abs_diff"] == float("inf") else f"{r['max_abs_diff']:.3g}"
        note = f"  ({r['fault']})" if r.get("fault") else ""
        print(f"{r['a']:<{width}}  {r['b']:<{width_b}}  {diff:>10}  {r['status']}{note}")
    for name, why in result["skipped"].items():
        print(f"skipped {name}: {why}")
    print("PASS" if result["passed"] else "FAIL")


def _print_sweep(summary: dict[str, Any], seed: int) -> None:
    counts = {p["pair"]: p for p in summary["pairs"]}
    width = max(len(k) for k in counts) if counts else 4
    print(f"{summary['configs']} random configurations (seed {seed})")
    print(f"{'pair':<{width}}  {'PASS':>5}  {'KNOWN':>5}  {'FAIL':>5}  {'max |A-B| (pass)':>16}")
    for k, v in counts.items():
        print(f"{k:<{width}}  {v['PASS']:>5}  {v['KNOWN']:>5}  {v['FAIL']:>5}  {v['max_abs_diff_passing']:>16.3g}")
    for name, why in summary["skipped"].items():
        print(f"skipped {name}: {why}")
    for f in summary["failures"][:5]:
        print(f"FAIL at {f['config']}")
    print("PASS" if summary["passed"] else "FAIL")


def run(args: argparse.Namespace) -> int:
    from ..verify import Config, VerifyError, experiment, random_configs, sweep

    impls = _impls(args.only)
    try:
        if args.sweep is None:
            size = tuple(args.input) * 2 if len(args.input) == 1 else tuple(args.input)
            cfg = Config(args.kernel, args.stride, (size[0], size[1]), args.channels, args.filters, args.batch,
                         args.seed).check()
            result = experiment(cfg, impls, args.atol)
            if not result["rows"]:
                raise CliError("no framework available: install keras, torch or onnxruntime")
            emit_json(result) if args.json else _print_table(result)
            return 0 if result["passed"] else 1
        configs = random_configs(args.sweep, args.seed)
        holder: dict[str, Any] = {}

        def work(step: Callable[[], None]) -> None:
            holder["summary"] = sweep(configs, impls, args.atol, step)

        _progress(len(configs), work, args.json)
    except VerifyError as exc:
        raise CliError(str(exc)) from None
    summary = holder["summary"]
    emit_json(summary) if args.json else _print_sweep(summary, args.seed)
    return 0 if summary["passed"] else 1
