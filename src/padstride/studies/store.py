"""Results store: one JSON line per (study, variant, seed), appended atomically.

Each record is written as one whole line with a single ``write``, then flushed and fsynced,
under an exclusive lock on the file; a run killed at any moment leaves either the complete line
or nothing. A torn tail (from another tool) is ignored on read and cut off before the next append.

>>> import tempfile, os
>>> store = ResultsStore(os.path.join(tempfile.mkdtemp(), "r.jsonl"))
>>> store.append({"study": "s", "variant": "same", "seed": 0, "fingerprint": "f", "test_acc": 0.9})
>>> store.done()
{('s', 'same', 0, 'f')}
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import StudyError

__all__ = ["ResultsStore", "record_key"]


def record_key(record: dict[str, Any]) -> tuple[str, str, int, str]:
    """The identity of a record: study, variant, seed and the configuration fingerprint.

    >>> record_key({"study": "a", "variant": "valid", "seed": 1, "fingerprint": "x"})
    ('a', 'valid', 1, 'x')
    """
    return (record["study"], record["variant"], int(record["seed"]), record.get("fingerprint", ""))


@contextlib.contextmanager
def _locked(fd: int) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: single writer assumed
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


class ResultsStore:
    """A JSONL file of result records.

    >>> ResultsStore("results.jsonl").path.name
    'results.jsonl'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def records(self) -> list[dict[str, Any]]:
        """Every complete record, in file order (a torn or invalid line is skipped)."""
        if not self.path.exists():
            return []
        out = []
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StudyError(f"{self.path}: cannot read results ({exc})") from None
        for line in text.split("\n")[:-1]:  # the part after the last newline is never complete
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and {"study", "variant", "seed"} <= record.keys():
                out.append(record)
        return out

    def done(self) -> set[tuple[str, str, int, str]]:
        """Keys of the finished records."""
        return {record_key(r) for r in self.records()}

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as one line: single write, flush, fsync, under an exclusive lock."""
        line = (json.dumps(record, sort_keys=False, separators=(",", ":")) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            with _locked(fd):
                size = os.fstat(fd).st_size
                if size:
                    os.lseek(fd, size - 1, os.SEEK_SET)
                    if os.read(fd, 1) != b"\n":  # cut a torn tail left by someone else
                        with self.path.open("rb") as fh:
                            keep = fh.read().rfind(b"\n") + 1
                        os.ftruncate(fd, keep)
                written = os.write(fd, line)
                if written != len(line):  # pragma: no cover - disk full
                    os.ftruncate(fd, os.fstat(fd).st_size - written)
                    raise StudyError(f"{self.path}: short write, record not saved")
                os.fsync(fd)
        finally:
            os.close(fd)
