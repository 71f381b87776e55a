"""Results store: one JSON line per (study, variant, seed), appended atomically.

Each record is written as one whole line with a single ``write``, then flushed and fsynced,
under an exclusive lock on the file; a run killed at any moment leaves either the complete line
or nothing. The file is only ever appended to: a last line without its newline (a complete
record, or a torn one from another tool) is kept, and the newline is added before the next record.
Concurrent runs on one file share the work through :class:`Claims` (a lock per record).

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

__all__ = ["Claims", "ResultsStore", "record_key"]


def record_key(record: dict[str, Any]) -> tuple[str, str, int, str]:
    """The identity of a record: study, variant, seed and the configuration fingerprint.

    >>> record_key({"study": "a", "variant": "valid", "seed": 1, "fingerprint": "x"})
    ('a', 'valid', 1, 'x')
    """
    return (record["study"], record["variant"], int(record["seed"]), record.get("fingerprint", ""))


#: Top-level record fields that hold numbers (a results file is untrusted input: other types are skipped).
_NUMBERS = ("test_acc", "test_iou", "test_iou_mean_image", "params", "macs", "train_time_s", "samples_per_s",
            "wall_s")


def _valid(record: object) -> bool:
    """A record padstride can aggregate: identity fields of the right types, numbers where numbers go.

    >>> _valid({"study": "s", "variant": "v", "seed": 0, "test_acc": 0.5}), _valid({"study": "s", "variant": "v",
    ...                                                                             "seed": "0"})
    (True, False)
    """
    if not isinstance(record, dict) or not {"study", "variant", "seed"} <= record.keys():
        return False
    if not (isinstance(record["study"], str) and isinstance(record["variant"], str)
            and isinstance(record["seed"], int) and not isinstance(record["seed"], bool)):
        return False
    if any(not isinstance(record.get(k, ""), str) for k in ("budget", "type", "fingerprint", "description")):
        return False
    return all(k not in record or (isinstance(record[k], (int, float)) and not isinstance(record[k], bool))
               for k in _NUMBERS)


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

    def _text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StudyError(f"{self.path}: cannot read results ({exc})") from None

    def records(self) -> list[dict[str, Any]]:
        """Every complete record, in file order (a torn or invalid line is skipped)."""
        if not self.path.exists():
            return []
        out = []
        for line in self._text().split("\n"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if _valid(record):
                out.append(record)
        return out

    def check(self) -> None:
        """Refuse (:class:`StudyError`) an existing file that is not a results file: appending would spoil it.

        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "notes.txt"); _ = open(p, "w").write("my notes\\n")
        >>> ResultsStore(p).check()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        padstride.studies.errors.StudyError: .../notes.txt: exists and is not a padstride results file ...
        """
        if not self.path.exists():
            return
        if not self.path.is_file():
            raise StudyError(f"{self.path}: is not a regular file")
        try:
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            text = ""
            binary = True
        except OSError as exc:
            raise StudyError(f"{self.path}: cannot read results ({exc.strerror or exc})") from None
        else:
            binary = False
        if binary or (text.strip() and not self.records()):
            raise StudyError(f"{self.path}: exists and is not a padstride results file (no JSON result records); "
                             "choose another file")

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
                    if os.read(fd, 1) != b"\n":  # end the last line (kept: only ever append)
                        line = b"\n" + line
                written = os.write(fd, line)
                if written != len(line):  # pragma: no cover - disk full
                    os.ftruncate(fd, os.fstat(fd).st_size - written)
                    raise StudyError(f"{self.path}: short write, record not saved")
                os.fsync(fd)
        finally:
            os.close(fd)


def _lock_file(path: Path) -> Path:
    """Where the claims on ``path`` live: a file per results file in the temp folder (not next to it)."""
    import hashlib
    import tempfile

    folder = Path(tempfile.gettempdir()) / f"padstride-claims-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / (hashlib.sha1(str(path.resolve()).encode()).hexdigest() + ".lock")


class Claims:
    """Per-record claims on a results file, so concurrent runs on it share the work.

    A claim is a POSIX byte-range lock (one byte per record key) on a lock file in the temp folder;
    the kernel drops it when the process ends, so a killed run leaves no stale claim. Use one
    ``Claims`` per results file per process (closing any descriptor of the lock file in this
    process drops all its claims).

    >>> import tempfile, os
    >>> with Claims(os.path.join(tempfile.mkdtemp(), "r.jsonl")) as claims:
    ...     claims.claim(("s", "same", 0, "f"))
    True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def __enter__(self) -> Claims:
        try:
            self._fd = os.open(_lock_file(self.path), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # no temp folder to share: single-run behaviour
            self._fd = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def _offset(key: tuple[str, str, int, str]) -> int:
        import hashlib

        return int.from_bytes(hashlib.sha1(repr(key).encode()).digest()[:5], "big")

    def claim(self, key: tuple[str, str, int, str]) -> bool:
        """Claim one record for this process: False when another process holds it."""
        if self._fd is None:
            return True
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: single run assumed
            return True
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, self._offset(key), os.SEEK_SET)
        except OSError:
            return False
        return True

    def release(self, key: tuple[str, str, int, str]) -> None:
        """Give a claim back (after the record is appended, or when it was not run)."""
        if self._fd is None:
            return
        try:
            import fcntl
        except ImportError:  # pragma: no cover
            return
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, self._offset(key), os.SEEK_SET)
