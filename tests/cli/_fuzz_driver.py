"""Run many ``padstride`` argv in one process (the fuzz test's worker).

``python _fuzz_driver.py CORPUS.json RESULTS.jsonl``: CORPUS holds ``{"argv": [[...], ...],
"out_dir": DIR, "timeout": S}``. For each argv it calls ``padstride.cli.main`` with stdout and
stderr captured and a ``SIGALRM`` timeout, and appends one JSON line to RESULTS (flushed, so a
crash or a kill still shows which argv was running): ``{"i", "code", "stderr", "status",
"new_files", "seconds"}``. Files the call created in DIR are listed, then removed, so every argv
starts from the same folder. The memory limit is set by the parent (``RLIMIT_AS``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sys
import time
import traceback


class _Timeout(BaseException):
    """Raised by SIGALRM: the call ran past its time."""


_FIRED: list[bool] = []


def _alarm(signum: int, frame: object) -> None:
    _FIRED.append(True)  # seen even where the exception is swallowed ("Exception ignored in …")
    raise _Timeout


def _listing(folder: str) -> set[str]:
    found = set()
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(root, name), folder))
    return found


def _remove(folder: str, names: list[str]) -> None:
    for name in sorted(names, key=len):
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            with contextlib.suppress(OSError):
                os.unlink(path)


def run(corpus_path: str, results_path: str) -> None:
    with open(corpus_path) as fh:
        corpus = json.load(fh)
    out_dir, per_call = corpus["out_dir"], float(corpus["timeout"])
    os.environ.setdefault("KERAS_BACKEND", "torch")
    from padstride.cli import main

    for name in corpus.get("preload", []):  # import time is not the commands' time
        with contextlib.suppress(ImportError):
            __import__(name)

    signal.signal(signal.SIGALRM, _alarm)
    cwd = os.getcwd()
    with open(results_path, "w") as results:
        for i, argv in enumerate(corpus["argv"]):
            results.write(json.dumps({"start": i}) + "\n")
            results.flush()
            before = _listing(out_dir)
            out, err = io.StringIO(), io.StringIO()
            code: int | None = None
            status = ""
            t0 = time.perf_counter()
            _FIRED.clear()
            signal.setitimer(signal.ITIMER_REAL, per_call)
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    try:
                        code = main(argv)
                    except SystemExit as exc:
                        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            except _Timeout:
                status = f"timeout after {per_call:g} s"
            except BaseException as exc:  # what a user would see as a traceback
                status = "uncaught: " + "".join(traceback.format_exception(exc))[-1500:]
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                os.chdir(cwd)
            seconds = time.perf_counter() - t0
            if _FIRED and not status:
                status = f"timeout after {per_call:g} s (the alarm was swallowed, the call went on)"
            new = sorted(_listing(out_dir) - before)
            _remove(out_dir, new)
            results.write(json.dumps({"i": i, "code": code, "stderr": err.getvalue()[-3000:], "status": status,
                                      "new_files": new, "seconds": round(seconds, 3)}) + "\n")
            results.flush()


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
