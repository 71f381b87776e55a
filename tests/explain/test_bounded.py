"""`padstride explain` costs what its answer costs: any size up to 10^18 in well under a second and
a few MB (the issue measured a MemoryError at 10^12 and 22.8 GB for ``-i 10^9 --json``)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from padstride.cli import main
from padstride.geometry import conv_axis
from tests._helpers import oracle_settings

ROOT = Path(__file__).resolve().parents[2]


class _Slow(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Slow()


def _run(argv: list[str]) -> tuple[str, int]:
    """stdout and the peak traced memory of one in-process run."""
    out = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    tracemalloc.start()
    try:
        with contextlib.redirect_stdout(out):
            assert main(["explain", *argv]) == 0
        peak = tracemalloc.get_traced_memory()[1]
    except _Slow:
        pytest.fail(f"slower than 20 s: {argv}")
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return out.getvalue(), peak


@pytest.mark.parametrize("argv", [
    ["-i", "1000000000000", "-k", "3", "-s", "2", "-p", "same"],
    ["-i", "1000000000", "-k", "3", "-s", "2", "-p", "same", "--json"],
    ["-i", f"{10**18},{10**18 - 1}", "-k", "3", "-s", "3", "-d", "2", "-p", "same", "--draw"],
    ["-i", f"{10**18}", "-k", "1", "-s", "3", "--json", "--draw"],
    ["--op", "avgpool", "-i", f"{10**18}", "-k", "3", "-s", "2", "-p", "same", "--json"],
    ["--op", "convtranspose", "-i", f"{10**18}", "-k", "3", "-s", "2", "-p", f"{10**17}:5"],
    ["--op", "avgpool", "-i", "3", "-k", f"{10**18}", "--ceil-mode", "--draw"],
    ["--op", "convtranspose", "-i", f"{10**18},5", "-k", "3", "-s", "1000", "-d", "7", "-p", "1", "--draw"],
])
def test_huge_inputs_are_cheap(argv: list[str]) -> None:
    main(["explain", "-i", "5", "-k", "3"])  # imports outside the measured run
    text, peak = _run(argv)
    assert peak < 20_000_000, f"peak {peak:,} bytes"
    assert len(text) < 20_000


def test_json_of_a_huge_axis_counts_and_samples() -> None:
    text, _ = _run(["-i", f"{10**12}", "-k", "1", "-s", "3", "--json"])
    axis = json.loads(text)["axes"][0]
    ax = conv_axis(10**12, 1, 3)
    assert axis["dropped_count"] == 10**12 - ax.output == 666_666_666_666
    assert axis["dropped"] == [i for i in range(60) if i % 3][:20]
    assert axis["dropped_last"] == [i for i in range(10**12 - 60, 10**12) if i % 3][-20:]


def test_text_names_the_count_and_both_ends() -> None:
    text, _ = _run(["-i", f"{10**12}", "-k", "1", "-s", "3"])
    assert "never read: 666,666,666,666 pixels: 1, 2, 4, 5, …, 999999999994" in text


def test_avgpool_divisors_are_sampled() -> None:
    text, _ = _run(["--op", "avgpool", "-i", "1000", "-k", "3", "-s", "2", "-p", "same", "--json"])
    axis = json.loads(text)["axes"][0]
    assert axis["divisors_count"] == 500 and axis["divisors"] == [3] * 20 and axis["divisors_last"][-1] == 2


def test_subprocess_under_memory_limit() -> None:
    """The console command, as the issue ran it, under a 1 GiB address-space limit and a timeout."""
    code = ("import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
            "sys.argv = ['padstride', 'explain', '-i', '1000000000000', '-k', '3', '-s', '2', '-p', 'same']; "
            "runpy.run_module('padstride', run_name='__main__')")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "input (1000000000000,) → output (500000000000,)" in proc.stdout


def test_count_include_pad_on_a_conv_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "-i", "5", "-k", "3", "--count-include-pad", "true"]) == 2
    err = capsys.readouterr().err
    assert "count_include_pad applies only to avgpool" in err and err.count("\n") == 1


def test_explain_does_not_import_viz() -> None:
    code = "import sys, padstride.explain, padstride.cli.explain; print([m for m in sys.modules if 'viz' in m])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


NUMS = ["0", "1", "2", "3", "5", "-1", "-7", "10", "999", f"{10**12}", f"{10**18}", "9" * 20, "x", "", "3,3",
        "1,2,3", "2:3", "nan", "1e3"]
PADS = ["same", "valid", "full", "causal", "same_lower", "torch_same", "1", "0:1", "-1:2", "3,same", "bogus",
        f"{10**11}:0"]


@st.composite
def explain_argv(draw: st.DrawFn) -> list[str]:
    op = draw(st.sampled_from(["conv", "maxpool", "avgpool", "convtranspose"]))
    argv = ["explain", "--op", op, "-i", draw(st.sampled_from(NUMS)), "-k", draw(st.sampled_from(NUMS))]
    for flag, values in [("-s", NUMS), ("-d", NUMS), ("-p", PADS), ("--output-padding", NUMS),
                         ("--rule", ["torch", "onnx", "keras", "caffe", "onnxruntime", "zz"]),
                         ("--count-include-pad", ["true", "false"])]:
        if draw(st.booleans()):
            argv += [flag, draw(st.sampled_from(values))]
    return argv + draw(st.lists(st.sampled_from(["--ceil-mode", "--draw", "--json"]), unique=True))


@oracle_settings(300)
@given(explain_argv())
def test_fuzz_explain_is_fast_and_one_line(argv: list[str]) -> None:
    """Any mix of huge, zero, negative and malformed values: exit 0 or 2 within 3 s, one line on exit 2."""
    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(3)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as exc:
                rc = exc.code
    except _Slow:
        pytest.fail(f"slower than 3 s: {argv}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert rc in (0, 2), argv
    if rc == 2:
        assert err.getvalue().count("\n") == 1, (argv, err.getvalue())
