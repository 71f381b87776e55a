"""One handler: every failure is one line on stderr and exit 2 (130 on Ctrl-C), ``--debug`` shows the traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from padstride.analysis.usercode import UserCodeError, user_code
from padstride.cli import main, one_line
from padstride.cli import summary as summary_cli

ROOT = Path(__file__).resolve().parents[2]
SRC = str(ROOT / "src")
ENV = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "KERAS_BACKEND": "torch"}


def _one_line(capsys, argv: list[str], expected: str, code: int = 2) -> str:
    got = main(argv)
    err = capsys.readouterr().err
    assert got == code, f"{argv}: exit {got}, stderr {err!r}"
    assert err.count("\n") == 1 and "Traceback" not in err, f"{argv}: {err!r}"
    assert expected in err, f"{argv}: {err!r}"
    return err


@pytest.mark.parametrize(("exc", "expected"), [
    (MemoryError(), "out of memory"),
    (PermissionError(13, "Permission denied", "/proc/r.jsonl"), "/proc/r.jsonl: Permission denied"),
    (FileExistsError(17, "File exists", "no-such-afile"), "no-such-afile: File exists"),
    (OSError(28, "No space left on device"), "No space left on device"),
])
def test_os_and_memory_errors_are_one_line(monkeypatch, capsys, exc, expected):
    def boom(args):
        raise exc

    monkeypatch.setattr(summary_cli, "run", boom)
    err = _one_line(capsys, ["summary", "x.yaml"], expected)
    assert err.startswith("padstride summary: error: ")


def test_keyboard_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(summary_cli, "run", interrupted)
    assert main(["summary", "x.yaml"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err


def test_debug_shows_the_traceback(monkeypatch):
    def boom(args):
        raise MemoryError

    monkeypatch.setattr(summary_cli, "run", boom)
    with pytest.raises(MemoryError):
        main(["--debug", "summary", "x.yaml"])


def test_broken_pipe_in_process_is_quiet(monkeypatch, capsys):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["study", "--list"]) == 0
    assert capsys.readouterr().err == ""


def test_broken_pipe_subprocess_no_traceback():
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written: `| head -0`
    try:
        proc = subprocess.run([sys.executable, "-m", "padstride", "explain", "-i", "9", "-k", "3"], stdout=write,
                              stderr=subprocess.PIPE, env=ENV, timeout=120)
    finally:
        os.close(write)
    err = proc.stderr.decode()
    assert proc.returncode == 0 and "Traceback" not in err and "Broken" not in err, err


def test_long_messages_are_cut_to_one_line():
    assert one_line("a\n" * 10).count("\n") == 0
    assert len(one_line("word " * 10_000)) <= 400


# --- the user's code failing is reported as such, with file and line


def test_syntax_error_in_users_file(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("import math\ndef model(:\n    pass\n")
    _one_line(capsys, ["summary", f"{bad}:model"], "bad.py:2: SyntaxError: invalid syntax")


def test_factory_that_raises(tmp_path, capsys):
    bad = tmp_path / "factory.py"
    bad.write_text("def make():\n    return {}['missing']\n")
    _one_line(capsys, ["summary", f"{bad}:make"], "error in the model's code (factory.py:2, in make): KeyError")


def test_import_error_in_users_file(tmp_path, capsys):
    bad = tmp_path / "imports.py"
    bad.write_text("import not_a_module_anywhere_xyz\nmodel = 1\n")
    _one_line(capsys, ["summary", f"{bad}:model"], "imports.py:1, in <module>): ModuleNotFoundError")


def test_forward_error_names_the_users_line(tmp_path):
    code = tmp_path / "fwd.py"
    code.write_text("def forward(x):\n    y = x + 1\n    return y / 0\n")
    namespace: dict = {}
    exec(compile(code.read_text(), str(code), "exec"), namespace)
    with pytest.raises(UserCodeError, match=r"fwd.py:3, in forward\): ZeroDivisionError"), user_code("fwd.py:forward"):
        namespace["forward"](1.0)


def test_padstride_bugs_keep_their_traceback():
    from padstride.studies.store import record_key

    with pytest.raises(KeyError), user_code("x"):  # raised in padstride's own frame: not the user's
        record_key({})


def test_help_says_code_runs(capsys):
    with pytest.raises(SystemExit):
        main(["summary", "--help"])
    assert "RUNS" in capsys.readouterr().out


# --- model files and shapes


def _keras_zip(path: Path, config: object) -> str:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))
    return str(path)


@pytest.mark.parametrize("config", [
    {"foo": 1},
    {"class_name": "Sequential", "config": {"layers": [{"foo": 1}]}},
    {"class_name": "Functional", "config": {"layers": [{"class_name": "Conv2D", "config": {}}]}},
    [1, 2],
])
def test_malformed_keras_config_is_one_line(tmp_path, capsys, config):
    path = _keras_zip(tmp_path / "fake.keras", config)
    _one_line(capsys, ["summary", path], "fake.keras")


def test_directory_is_named(tmp_path, capsys):
    _one_line(capsys, ["summary", str(tmp_path)], "is a directory")


def test_input_of_the_wrong_rank_is_refused(capsys):
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        _one_line(capsys, ["summary", "examples/specs/seed003_valid.yaml", "-i", "28,28"], "rank 3")
        assert main(["summary", "examples/specs/seed003_valid.yaml", "-i", "32,32,1", "--json"]) == 0
    finally:
        os.chdir(cwd)
    assert json.loads(capsys.readouterr().out)["layers"][0]["output_shape"][-3:] == [32, 32, 1]


def test_forward_that_raises_names_the_users_line(tmp_path, capsys):
    code = tmp_path / "net.py"
    code.write_text("import torch\n\n\nclass Net(torch.nn.Module):\n    def forward(self, x):\n"
                    "        return x * {}['missing']\n")
    _one_line(capsys, ["summary", f"{code}:Net", "-i", "1,8,8"], "net.py:6, in forward")


@pytest.mark.parametrize(("argv", "expected"), [
    (["summary", ""], "no model given"),
    (["summary", "/dev/null"], "is not a regular file"),
    (["report", "/dev/null"], "is not a regular file"),
    (["summary", "fractions:Fraction"], "cannot analyse an object of type Fraction"),
])
def test_odd_model_and_results_paths(capsys, argv, expected):
    _one_line(capsys, argv, expected)


@pytest.mark.parametrize("exc", [FileExistsError, NotADirectoryError])
def test_a_file_where_a_folder_is_expected(monkeypatch, capsys, tmp_path, exc):
    afile = tmp_path / "afile"
    afile.write_text("x")

    def boom(args):
        raise exc(17, "File exists", str(afile / "sub" if exc is NotADirectoryError else afile))

    monkeypatch.setattr(summary_cli, "run", boom)
    _one_line(capsys, ["summary", "x.yaml"], "afile: is a file, not a folder")
