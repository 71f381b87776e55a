"""The facts that make a result interpretable: hardware, versions, threads.

>>> "python" in environment()
True
"""

from __future__ import annotations

import os
import platform
from typing import Any

__all__ = ["environment"]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment() -> dict[str, Any]:
    """Hardware and library versions of this process (torch and numpy versions, CPU model, cores, threads).

    >>> {"cpu", "cores", "numpy", "torch"} <= set(environment())
    True
    """
    import numpy as np

    from .. import __version__

    info: dict[str, Any] = {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(terse=True),
        "python": platform.python_version(), "numpy": np.__version__, "padstride": __version__,
        "host": platform.node(),
    }
    try:
        import torch

        info.update(torch=torch.__version__, threads=torch.get_num_threads())
    except ImportError:  # pragma: no cover
        pass
    return info
