"""One record of a study, run in this process: what the local runner and a Ray worker both call.

Plain data in, plain data out. ``runner`` and ``ray_executor`` import this module; it imports
neither (no import cycle between them).
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from .context import Context
from .spec import Study
from .train import Interrupted, set_threads

__all__ = ["execute", "task"]


def task(study_type: str) -> tuple[Callable[..., dict[str, Any]], Callable[[Study, str], None]]:
    """The (run, check) functions of a study type.

    >>> [f.__name__ for f in task("segmentation")]
    ['run_segmentation', 'check_segmentation']
    """
    if study_type == "segmentation":
        from .segment import check_segmentation, run_segmentation

        return run_segmentation, check_segmentation
    from .classify import check_classification, run_classification

    return run_classification, check_classification


def execute(study_dict: dict[str, Any], variant: str, seed: int, deadline: float | None = None, threads: int = 0,
            on_step: Callable[[int, int], None] | None = None) -> dict[str, Any] | None:
    """Run one record in this process and return it (None when the deadline interrupted it).

    Plain data in, plain data out: this is what a Ray worker runs.

    >>> from padstride.studies.spec import load_study
    >>> study = load_study("volumes", quick=True).override(
    ...     data={"n_train": 8, "n_test": 4}, train={"epochs": 1},
    ...     eval={"latency_batch": 1, "latency_repeats": 1, "latency_warmup": 0, "latency_size": 20, "grad_batch": 4})
    >>> record = execute(study.to_dict(), "same", seed=0, threads=1)
    >>> record["variant"], record["seed"], record["fingerprint"] == study.fingerprint("same")
    ('same', 0, True)
    """
    from .env import environment

    study = Study.from_dict(study_dict)
    threads = set_threads(threads)
    run, _ = task(study.type)
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    try:
        metrics = run(study, variant, seed, Context(deadline, on_step, threads))
    except Interrupted:
        return None
    return {
        "study": study.name, "variant": variant, "seed": seed, "fingerprint": study.fingerprint(variant),
        "type": study.type, "budget": study.budget, "source": study.source, "description": study.description,
        "variant_config": study.variant_config(variant), "variant_order": list(study.order or study.variants),
        "data": study.data.to_dict(), "model": asdict(study.model), "train": asdict(study.train),
        "eval": asdict(study.eval), "env": environment(), "started": started, "wall_s": time.perf_counter() - t0,
        **metrics,
    }
