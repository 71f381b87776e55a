"""`padstride study` and `padstride report`: runs, JSON output, and bad input → one line, exit 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from padstride.cli import main
from padstride.studies import ResultsStore, parse_study, run_study
from padstride.studies.idx import write_idx

from .conftest import tiny

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _yaml(tmp_path: Path, raw: dict, name: str = "study.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


def _one_line_error(capsys, argv: list[str], expected: str) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # refused by argparse while parsing
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, f"{argv}: exit {code}, stderr {err!r}"
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert expected in err, err


def test_study_cli_json_and_resume(tmp_path, capsys):
    study = _yaml(tmp_path, tiny("volumes"))
    out = str(tmp_path / "r.jsonl")
    assert main(["study", study, "-o", out, "--json", "--seeds", "2", "--variants", "same"]) == 0
    assert json.loads(capsys.readouterr().out)["ran"] == 2
    assert main(["study", study, "-o", out, "--json", "--seeds", "2"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["ran"], first["skipped"], first["left"]) == (2, 2, 0)
    assert [r["variant"] for r in first["tables"][0]["rows"]] == ["valid", "same"]
    assert main(["study", study, "-o", out, "--json", "--seeds", "2"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 4
    report = tmp_path / "rep" / "report.html"
    assert main(["report", out, "-o", str(report), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tables"][0]["study"] == "tiny-vol"
    assert report.exists() and report.with_suffix(".md").exists()


def test_study_list(capsys):
    assert main(["study", "--list", "--json"]) == 0
    names = {s["name"] for s in json.loads(capsys.readouterr().out)["studies"]}
    assert {"classification", "segmentation", "volumes", "augmentation"} <= names


def test_data_flag_reads_mnist_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for stem, n in (("train", 64), ("t10k", 32)):
        write_idx(folder / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
    raw = tiny("classification", seeds=1, variants={"same": {"padding": "same"}})
    out = tmp_path / "r.jsonl"
    assert main(["study", _yaml(tmp_path, raw), "-o", str(out), "--data", str(folder), "--json"]) == 0
    rec = ResultsStore(out).records()[0]
    assert rec["data"]["name"] == "mnist" and rec["data"]["path"] == str(folder)
    assert sum(n for _, n in rec["acc_by_border"].values()) == 32


@pytest.mark.parametrize("case", ["unknown_name", "unknown_key", "bad_yaml", "out_is_dir", "bad_data", "seeds0",
                                  "data_for_segmentation", "bad_variant", "address_without_ray", "no_study",
                                  "out_under_file", "unknown_variant"])
def test_study_bad_input_one_line_exit_2(tmp_path, capsys, case):
    good = _yaml(tmp_path, tiny("classification"))
    argv, expected = {
        "unknown_name": (["study", "nope"], "no built-in study 'nope'"),
        "unknown_key": (["study", _yaml(tmp_path, tiny("classification", trian={}), "k.yaml")], "unknown key 'trian'"),
        "bad_yaml": (["study", str(tmp_path / "b.yaml")], "invalid YAML"),
        "out_is_dir": (["study", good, "-o", str(tmp_path)], "is a directory"),
        "bad_data": (["study", good, "--data", str(tmp_path / "none")], "does not exist"),
        "seeds0": (["study", good, "--seeds", "0"], "--seeds: must be between 1 and 100000, got 0"),
        "data_for_segmentation": (["study", "segmentation", "--data", str(tmp_path)], "segmentation study"),
        "bad_variant": (["study", _yaml(tmp_path, tiny("classification", variants={"x": {"stride": [1, 2]}}), "v.yaml"),
                         "-o", str(tmp_path / "r.jsonl")], "variant 'x': stride lists 2 values"),
        "address_without_ray": (["study", good, "--address", "1.2.3.4:6379"], "--address needs --executor ray"),
        "no_study": (["study"], "name a study"),
        "unknown_variant": (["study", good, "--variants", "same,diagonal"], "--variants: diagonal not in"),
        "out_under_file": (["study", good, "-o", str(tmp_path / "b.yaml" / "r.jsonl")], "is not a directory"),
    }[case]
    (tmp_path / "b.yaml").write_text("variants: {a: [\n")
    _one_line_error(capsys, argv, expected)
    assert not (tmp_path / "r.jsonl").exists() or (tmp_path / "r.jsonl").read_text() == ""


@pytest.mark.parametrize("case", ["missing", "empty", "not_jsonl", "out_is_dir"])
def test_report_bad_input_one_line_exit_2(tmp_path, capsys, case):
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "junk.jsonl").write_text("hello\nworld\n")
    good = tmp_path / "good.jsonl"
    ResultsStore(good).append({"study": "s", "variant": "v", "seed": 0, "test_acc": 0.5})
    argv, expected = {
        "missing": (["report", str(tmp_path / "none.jsonl")], "no such results file"),
        "empty": (["report", str(tmp_path / "empty.jsonl")], "no result records"),
        "not_jsonl": (["report", str(tmp_path / "junk.jsonl")], "no result records"),
        "out_is_dir": (["report", str(good), "-o", str(tmp_path)], "is a directory"),
    }[case]
    _one_line_error(capsys, argv, expected)


def test_killed_run_leaves_no_partial_record_and_resumes(tmp_path):
    raw = tiny("classification", seeds=3, train={"epochs": 3, "batch_size": 16})  # ~1 s a record
    study_file = _yaml(tmp_path, raw)
    out = tmp_path / "r.jsonl"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "padstride", "study", study_file, "-o", str(out), "--no-progress"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 1:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"run ended before it could be killed: {proc.stderr.read().decode()[-500:]}"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()
    text = out.read_text()
    assert text.endswith("\n"), "a partial line was left"
    lines = text.splitlines()
    assert 1 <= len(lines) < 9 and all(json.loads(line)["test_acc"] >= 0 for line in lines)
    summary = run_study(parse_study(raw, study_file), str(out), progress=False)
    assert summary.skipped == len(lines) and summary.ran == 9 - len(lines)
    keys = [(r["variant"], r["seed"]) for r in ResultsStore(out).records()]
    assert len(keys) == len(set(keys)) == 9


def test_two_concurrent_runs_share_the_work(tmp_path):
    raw = tiny("classification", seeds=2, train={"epochs": 2, "batch_size": 16})
    study_file = _yaml(tmp_path, raw)
    out = tmp_path / "r.jsonl"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    argv = [sys.executable, "-m", "padstride", "study", study_file, "-o", str(out), "--no-progress", "--json"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1].decode()[-500:] for o in outputs]
    keys = [(r["variant"], r["seed"]) for r in ResultsStore(out).records()]
    assert len(keys) == len(set(keys)) == 6, f"duplicated work: {sorted(keys)}"
    ran = [json.loads(o[0])["ran"] for o in outputs]
    assert sum(ran) == 6, ran
