"""Write a picture whole or not at all: into a temporary file next to it, renamed at the end.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
>>> with replacing(target) as tmp:
...     _ = tmp.write_text("done")
>>> target.read_text(), sorted(p.name for p in target.parent.iterdir())
('done', ['a.txt'])
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["replacing"]


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path with ``path``'s suffix (formats are chosen by suffix) in its directory;
    renamed onto ``path`` when the block succeeds, removed when it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
