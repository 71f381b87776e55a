"""What a running record may know about its run: the deadline and a progress callback.

>>> Context().expired()
False
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Context"]


@dataclass
class Context:
    """``deadline`` is a ``time.time()`` value (None = no limit); ``on_step(done, total)`` reports progress.

    >>> Context(deadline=0.0).expired()
    True
    """

    deadline: float | None = None
    on_step: Callable[[int, int], None] | None = None
    threads: int = 0

    def expired(self) -> bool:
        return self.deadline is not None and time.time() > self.deadline
