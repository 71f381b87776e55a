"""`padstride explain` as a user runs it: text, JSON, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from padstride.cli import main
from padstride.geometry import conv

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    "seed000_same_k7_s2": ["--input", "28,28", "--kernel", "7", "--stride", "2", "--padding", "same"],
    "issue_224x225_same_s2": ["--input", "224,225", "--kernel", "3", "--stride", "2", "--padding", "same"],
    "maxpool_ceil": ["--op", "maxpool", "--input", "7", "--kernel", "2", "--ceil-mode"],
    "avgpool_same": ["--op", "avgpool", "--input", "6,6", "--kernel", "3", "--stride", "2", "--padding", "same"],
    "convtranspose_same": ["--op", "convtranspose", "--input", "4,4", "--kernel", "3", "--stride", "2",
                           "--padding", "same"],
    "causal_dilated": ["--input", "10", "--kernel", "3", "--dilation", "2", "--padding", "causal"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_explain_text_matches_golden(name, capsys):
    assert main(["explain", *CASES[name]]) == 0
    text = capsys.readouterr().out
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("PADSTRIDE_UPDATE_GOLDEN"):  # regenerate, then review the diff once
        golden.write_text(text)
    assert golden.exists(), f"missing {golden}: run with PADSTRIDE_UPDATE_GOLDEN=1 and review it"
    assert text == golden.read_text()


def test_json_is_one_object_with_axes(capsys):
    assert main(["explain", "--input", "224,225", "--kernel", "3", "--stride", "2", "--padding", "same",
                 "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    g = conv((224, 225), 3, 2, "same")
    assert [(a["input"], a["output"], a["pad_before"], a["pad_after"]) for a in payload["axes"]] == [
        (a.input, a.output, a.pad_before, a.pad_after) for a in g.axes]
    assert all(isinstance(a["dropped"], list) for a in payload["axes"])
    assert set(payload["frameworks"]) == {"pytorch", "keras", "onnx", "jax"}


def test_dropped_pixels_reported(capsys):
    assert main(["explain", "--input", "8", "--kernel", "3", "--stride", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["axes"][0]["dropped"] == [7]


@pytest.mark.parametrize("argv, message", [
    (["--input", "7", "--kernel", "5", "--dilation", "2"],
     "axis 0: kernel 5 with dilation 2 spans 9 > padded input 7 under 'valid'"),
    (["--input", "7", "--kernel", "3", "--stride", "0"], "axis 0: stride must be >= 1, got 0"),
    (["--input", "7", "--kernel", "3", "--dilation", "-1"], "dilation must be >= 1"),
    (["--input", "9", "--kernel", "3", "--stride", "2", "--padding", "torch_same"], "needs stride 1"),
    (["--input", "7", "--kernel", "3", "--padding", "bogus"], "unknown padding convention 'bogus'"),
    (["--input", "7,x", "--kernel", "3"], "--input expects integers"),
    (["--input", "7,7", "--kernel", "3,3,3"], "--kernel has 3 values for 2 spatial axes"),
    (["--op", "convtranspose", "--input", "4", "--kernel", "3", "--stride", "2", "--output-padding", "2"],
     "output_padding 2 must be >= 0 and smaller than max(stride 2, dilation 1)"),
    (["--input", "4", "--kernel", "3", "--ceil-mode"], "ceil_mode applies only to pooling"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    assert main(["explain", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_exit_code_and_stderr():
    proc = subprocess.run([sys.executable, "-m", "padstride", "explain", "-i", "7", "-k", "9"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().startswith("padstride explain: error: axis 0: kernel 9 spans 9 > padded input 7")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_argument_is_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["explain", "--kernel", "3"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--input" in err
