"""Validate before working: study, verify, report refuse bad options and outputs in one line, before any work."""

from __future__ import annotations

import json
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from padstride.cli import main
from padstride.studies import ResultsStore, StudyError
from padstride.studies.report import write_report

from ..studies.conftest import tiny


def _code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # refused by argparse while parsing
        return int(exc.code)


def _refused(capsys, argv: list[str], expected: str) -> str:
    t0 = time.perf_counter()
    code = _code(argv)
    err = capsys.readouterr().err
    assert code == 2, f"{argv}: exit {code}, stderr {err!r}"
    assert err.count("\n") == 1 and "Traceback" not in err, f"{argv}: {err!r}"
    assert expected in err, f"{argv}: {err!r}"
    assert time.perf_counter() - t0 < 20, f"{argv}: took {time.perf_counter() - t0:.1f} s before refusing"
    return err


@pytest.fixture
def study_file(tmp_path):
    import yaml

    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(tiny("classification")))
    return str(path)


@pytest.fixture
def results(tmp_path):
    path = tmp_path / "results.jsonl"
    ResultsStore(path).append({"study": "s", "variant": "v", "seed": 0, "test_acc": 0.5})
    return path


# --- study


@pytest.mark.parametrize(("extra", "expected"), [
    (["--threads", "100000"], "--threads: must be between 0 and"),
    (["--threads", "-1"], "--threads: must be between 0 and"),
    (["--seeds", str(10**12), "--max-time", "5"], "--seeds: must be between 1 and 100000"),
    (["--max-time", "nan"], "--max-time: must be a finite number"),
    (["--max-time", "0"], "--max-time: must be > 0"),
    (["--out", "/proc/r.jsonl"], "cannot write results under /proc"),
    (["--out", "{tmp}/afile/r.jsonl"], "afile is not a directory"),
    (["--out", "{tmp}/garbage.jsonl"], "is not a padstride results file"),
    (["--out", "{tmp}/notes.txt"], "is not a padstride results file"),
    (["--report", "{tmp}/afile/r.html"], "afile is not a directory"),
    (["--report", "{tmp}/r.png"], "expected a .html or .htm file"),
    (["--report", "/proc/r.html"], "cannot write results under /proc"),
    (["--report", "{tmp}/README.html"], "README.md exists and is not a padstride report"),
])
def test_study_refuses_before_training(tmp_path, capsys, study_file, extra, expected):
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "garbage.jsonl").write_bytes(b"\x00\xff garbage \x01\n\x02")
    (tmp_path / "notes.txt").write_text("my notes\nlast line")
    (tmp_path / "README.md").write_text("# My project\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    argv = ["study", study_file, "-o", str(tmp_path / "r.jsonl"), *(a.format(tmp=tmp_path) for a in extra)]
    _refused(capsys, argv, expected)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before, "a refused run must neither create nor change a file"


def test_study_seeds_bound_matches_the_library():
    from padstride.cli.study import MAX_SEEDS as CLI_MAX
    from padstride.studies.spec import MAX_SEEDS

    assert CLI_MAX == MAX_SEEDS


@pytest.mark.parametrize(("change", "expected"), [
    ({"seeds": 10**12}, "'seeds' must be between 1 and 100,000"),
    ({"threads": 10**6}, "'threads' must be between 0 and"),
    ({"data": {"name": "digits", "n_train": 10**12}}, "'data.n_train' must be between 1 and"),
])
def test_study_file_numbers_are_bounded(tmp_path, capsys, change, expected):
    import yaml

    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(tiny("classification", **change)))
    _refused(capsys, ["study", str(path), "-o", str(tmp_path / "r.jsonl")], expected)


def _bomb() -> str:
    lines = ['description: [&a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"],']
    for prev, name in zip("abcdefg", "bcdefgh"):
        lines.append(f"  &{name} [" + ",".join(["*" + prev] * 9) + "],")
    lines[-1] = lines[-1].rstrip(",") + "]"
    lines.append("input: [" + ",".join(["*h"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("command", ["summary", "study"])
def test_billion_laughs_fails_fast(tmp_path, capsys, command):
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb())
    assert path.stat().st_size < 600
    err = _refused(capsys, [command, str(path)], "once aliases are expanded")
    assert len(err) < 500


def test_yaml_error_messages_are_short(tmp_path, capsys):
    path = tmp_path / "long.yaml"
    path.write_text("input: [" + ", ".join(["x" * 50] * 2000) + "]\nlayers: [{relu: {}}]\n")
    err = _refused(capsys, ["summary", str(path)], "input: a shape is a list")
    assert len(err) <= 520


# --- verify


@pytest.mark.parametrize(("extra", "expected"), [
    (["-i", "100000,100000"], "--input: each value must be between 1 and 4096"),
    (["-i", "4096,4096", "-b", "1024"], "above the limit of 16,777,216"),
    (["--atol", "nan"], "--atol: must be a finite number"),
    (["--atol", "-1"], "--atol: must be >= 0"),
    (["--sweep", str(10**12)], "--sweep: must be between 1 and 10000"),
    (["--seed", "-1"], "--seed: must be between 0 and"),
    (["-k", "100000"], "--kernel: must be between 1 and 255"),
    (["-i", "1,2,3"], "--input: expected at most 2 values"),
])
def test_verify_refuses(capsys, extra, expected):
    _refused(capsys, ["verify", *extra], expected)


def test_verify_pads_come_from_geometry():
    source = (Path(__file__).resolve().parents[2] / "src" / "padstride" / "verify.py").read_text()
    assert "-(-n //" not in source and "+ cfg.kernel - n" not in source


# --- report


@pytest.mark.parametrize(("argv", "expected"), [
    (["{r}", "-o", "{tmp}/afile/r.html"], "afile is not a directory"),
    (["{r}", "-o", "{tmp}/r.html", "-m", "{tmp}/afile/r.md"], "afile is not a directory"),
    (["{r}", "-o", "{tmp}/r.png"], "expected a .html or .htm file"),
    (["{r}", "-o", "{tmp}/out.md"], "expected a .html or .htm file"),
    (["{r}", "-o", "{tmp}/r.html", "-m", "{tmp}/r.html"], "expected a .md file"),
    (["{r}", "-o", "{r}"], "expected a .html"),
    (["{tmp}/same.html", "-o", "{tmp}/same.html"], "is one of the inputs"),
    (["{r}", "-o", "{tmp}/README.html"], "README.md exists and is not a padstride report"),
    (["{r}", "-o", "/proc/r.html"], "cannot write results under /proc"),
    (["{tmp}"], "is a directory"),
])
def test_report_refuses_and_writes_nothing(tmp_path, capsys, results, argv, expected):
    (tmp_path / "afile").write_text("a file")
    (tmp_path / "README.md").write_text("# My project\n")
    (tmp_path / "same.html").write_text(results.read_text())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    _refused(capsys, ["report", *(a.format(r=results, tmp=tmp_path) for a in argv)], expected)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before, "a refused report must neither create nor change a file"


def test_report_force_and_own_twin(tmp_path, capsys, results):
    (tmp_path / "README.md").write_text("# My project\n")
    out = str(tmp_path / "README.html")
    assert main(["report", str(results), "-o", out, "--force"]) == 0
    assert main(["report", str(results), "-o", out]) == 0, "padstride's own markdown twin is replaced"
    assert (tmp_path / "README.md").read_text().startswith("# padstride study report")


def test_report_nothing_half_written(tmp_path, results):
    (tmp_path / "afile").write_text("x")
    records = ResultsStore(results).records()
    with pytest.raises(StudyError):
        write_report(records, tmp_path / "r.html", tmp_path / "afile" / "r.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "results.jsonl"]


class _Live(HTMLParser):
    """Collects what a browser would run: script elements, event-handler attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.live: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "svg", "math", "style") and tag != "style":
            self.live.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.live.append(f"{tag} {name}={value}")


MARKUP = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "\"'><svg onload=alert(1)>",
          "javascript:alert(1)", "</table><iframe src=//evil>", "' onmouseover='alert(1)"]


def test_report_escapes_every_field(tmp_path):
    records = []
    for i, bad in enumerate(MARKUP):
        records.append({
            "study": f"s{bad}", "variant": f"v{i}{bad}", "seed": 0, "test_acc": 0.5, "type": bad, "budget": bad,
            "description": bad, "variant_config": {"padding": bad, "description": bad, bad: bad},
            "data": {"name": bad}, "train": {bad: bad}, "env": {"cpu": bad, "torch": bad, "padstride": bad},
            "feature_shapes": [[bad]],
        })
    html, md = write_report(records, tmp_path / "r.html")
    text = html.read_text()
    parser = _Live()
    parser.feed(text)
    assert parser.live == [], f"live markup in the report: {parser.live[:5]}"
    assert "<script" not in text.lower() and "<img src=x" not in text
    md_text = md.read_text()
    assert "<script" not in md_text and "<img" not in md_text and "<svg" not in md_text


def test_report_json_accuracy(tmp_path, capsys, results):
    assert main(["report", str(results), "-o", str(tmp_path / "r.html"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tables"]
