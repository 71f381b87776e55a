"""The model zoo runs in the second venv (``.venv-zoo``, newest torch + torchvision + timm), which
``make test`` creates and runs after the main suite. Where torchvision or timm is missing, or does
not load against the installed torch (torchvision has no CPU wheel for the pinned torch), the zoo
is not collected."""

from __future__ import annotations

try:
    import timm  # noqa: F401
    import torchvision  # noqa: F401
except Exception:  # ImportError, or torchvision's compiled ops refusing this torch (RuntimeError)
    collect_ignore_glob = ["test_*.py"]
else:
    import torch

    torch.set_num_threads(1)  # `make test` runs the zoo on two xdist workers
