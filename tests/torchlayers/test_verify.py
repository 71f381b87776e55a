"""``padstride verify``: the seed 000 experiment across frameworks; exit codes 0/1/2."""

from __future__ import annotations

import json

import numpy as np

from padstride import verify as verify_lib
from padstride.cli import main


def _json(capsys):
    return json.loads(capsys.readouterr().out)


def test_defaults_pass_in_every_available_framework(capsys):
    assert main(["verify", "--json"]) == 0
    out = _json(capsys)
    assert out["config"]["kernel"] == 7 and out["config"]["stride"] == 2
    names = {r["a"] for r in out["rows"]}
    assert {"keras VALID(manual pad)", "torch VALID(manual pad)", "onnxruntime VALID(manual pad)"} <= names
    assert all(r["status"] == "PASS" for r in out["rows"]) and out["passed"]
    assert set(out["skipped"]) <= {"engine"}


def test_table_output(capsys):
    assert main(["verify", "-k", "4", "-s", "3", "-i", "11,8", "--only", "torch,keras"]) == 0
    text = capsys.readouterr().out
    assert "keras SAME" in text and "torch SAME" in text and text.strip().endswith("PASS")


def test_sweep_passes(capsys):
    assert main(["verify", "--sweep", "6", "--json", "--only", "torch,keras,onnxruntime"]) == 0
    out = _json(capsys)
    assert out["configs"] == 6 and out["passed"] and not out["failures"]
    assert all(p["FAIL"] == 0 for p in out["pairs"])


def test_a_mismatch_exits_1(monkeypatch, capsys):
    real = verify_lib.RUNNERS["torch"]

    def off_by_one(*args):
        valid, same = real(*args)
        return valid, np.roll(same, 1, axis=1)

    monkeypatch.setitem(verify_lib.RUNNERS, "torch", off_by_one)
    assert main(["verify", "--only", "torch", "-i", "9,9", "-k", "3"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_onnxruntime_known_fault_is_labelled_not_failed(capsys):
    assert main(["verify", "-k", "1", "-s", "4", "-i", "4,4", "--only", "torch,onnxruntime", "--json"]) == 0
    rows = _json(capsys)["rows"]
    known = [r for r in rows if r["status"] == "KNOWN"]
    assert known and "onnxruntime" in known[0]["fault"]


def _code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # refused by argparse while parsing
        return int(exc.code)


def test_bad_input_exits_2(capsys):
    assert _code(["verify", "--kernel", "0"]) == 2
    assert _code(["verify", "--input", "a,b"]) == 2
    assert _code(["verify", "--only", "tensorflow"]) == 2
    assert _code(["verify", "--sweep", "0"]) == 2
    err = capsys.readouterr().err
    assert "argument -k/--kernel: must be between 1 and 255, got 0" in err and "Traceback" not in err
