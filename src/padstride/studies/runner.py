"""Run a study: one record per (variant, seed), skipping finished ones, locally or on Ray.

>>> import tempfile, os
>>> from padstride.studies.spec import load_study
>>> study = load_study("volumes", quick=True).override(
...     seeds=1, data={"n_train": 8, "n_test": 4}, train={"epochs": 1},
...     eval={"latency_batch": 1, "latency_repeats": 1, "latency_warmup": 0, "latency_size": 20, "grad_batch": 4})
>>> out = os.path.join(tempfile.mkdtemp(), "r.jsonl")
>>> run_study(study, out, progress=False).ran, run_study(study, out, progress=False).skipped
(2, 2)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from .errors import StudyError
from .record import execute, task
from .spec import Study
from .store import Claims, ResultsStore, record_key

__all__ = ["Job", "RunSummary", "check_study", "execute", "plan", "run_study"]  # execute: from .record


@dataclass(frozen=True)
class Job:
    """One (variant, seed) of a study.

    >>> Job("s", "same", 1, "abc").key
    ('s', 'same', 1, 'abc')
    """

    study: str
    variant: str
    seed: int
    fingerprint: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.study, self.variant, self.seed, self.fingerprint)


@dataclass
class RunSummary:
    """What a run did: records written, skipped (already there) and left (time budget).

    >>> RunSummary(ran=1).complete
    True
    """

    ran: int = 0
    skipped: int = 0
    left: int = 0
    busy: int = 0  #: records another run on the same file was running (left to it)
    out: str = ""
    wall_s: float = 0.0
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.left == 0 and self.busy == 0


def plan(study: Study, done: set[tuple[str, str, int, str]] | None = None) -> tuple[list[Job], int]:
    """The jobs still to run (variant-major, seeds 0..N−1) and how many are already done.

    >>> from padstride.studies.spec import load_study
    >>> jobs, skipped = plan(load_study("segmentation", quick=True))
    >>> [(j.variant, j.seed) for j in jobs], skipped
    ([('same', 0), ('same', 1), ('valid', 0), ('valid', 1)], 0)
    """
    done = done or set()
    jobs = [Job(study.name, v, seed, study.fingerprint(v)) for seed in range(study.seeds) for v in study.variants]
    jobs.sort(key=lambda j: (list(study.variants).index(j.variant), j.seed))
    pending = [j for j in jobs if j.key not in done]
    return pending, len(jobs) - len(pending)


def check_study(study: Study) -> None:
    """Build every variant once (no training) so a bad variant fails before any work; names it.

    >>> from padstride.studies.spec import load_study
    >>> check_study(load_study("volumes", quick=True))
    """
    _, check = task(study.type)
    for variant in study.variants:
        try:
            check(study, variant)
        except StudyError as exc:
            raise StudyError(f"{study.source}: variant {variant!r}: {exc}") from None


class _Bars:
    """rich progress bars on stderr: one for the records, one for the current record's steps."""

    def __init__(self, total: int, title: str, enabled: bool) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(stderr=True), disable=not enabled, transient=False)
        self.records = self.progress.add_task(title, total=total)
        self.steps = self.progress.add_task("", total=1, visible=False)

    def __enter__(self) -> _Bars:
        self.progress.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None,
    ) -> None:
        self.progress.__exit__(kind, exc, tb)

    def start(self, label: str) -> None:
        self.progress.reset(self.steps, total=1, description=f"  {label}", visible=True)

    def step(self, done: int, total: int) -> None:
        self.progress.update(self.steps, completed=done, total=total)

    def finish(self, n: int = 1) -> None:
        self.progress.advance(self.records, n)


def run_study(
    study: Study,
    out: str,
    executor: str = "local",
    address: str | None = None,
    max_time: float | None = None,
    progress: bool = True,
    threads: int | None = None,
) -> RunSummary:
    """Run the study's unfinished records, appending each to ``out`` (JSONL) as it completes.

    ``max_time`` (seconds): records still running at the limit are dropped (no partial record)
    and the rest are left for the next run. ``executor``: ``local`` or ``ray`` (``address`` = an
    existing cluster; default a local one). Another run on the same ``out`` shares the work: a
    record it is running is left to it (:class:`~padstride.studies.store.Claims`). The module
    docstring has a runnable example.
    """
    t0 = time.time()
    deadline = t0 + max_time if max_time else None
    store = ResultsStore(out)
    jobs, skipped = plan(study, store.done())
    summary = RunSummary(skipped=skipped, out=str(store.path))
    if jobs:
        check_study(study)
    threads = study.threads if threads is None else threads
    if executor not in ("local", "ray"):
        raise StudyError(f"unknown executor {executor!r}; expected local or ray")
    with Claims(store.path) as claims, _Bars(len(jobs), f"{study.name} ({study.budget})",
                                              progress and bool(jobs)) as bars:
        if executor == "ray":
            from .ray_executor import run_on_ray

            mine, busy, done_meanwhile = _claim_all(jobs, store, claims)
            records = run_on_ray(study, mine, store, address, deadline, threads or 1, bars)
        else:
            records, busy, done_meanwhile = _run_local(study, jobs, store, deadline, threads, bars, claims)
    summary.skipped += done_meanwhile
    summary.ran, summary.busy, summary.records = len(records), busy, records
    summary.left = len(jobs) - len(records) - busy - done_meanwhile
    summary.wall_s = time.time() - t0
    return summary


def _claim_all(jobs: list[Job], store: ResultsStore, claims: Claims) -> tuple[list[Job], int, int]:
    """Claim every job not claimed by another run; those finished meanwhile are dropped."""
    mine, busy = [], 0
    for job in jobs:
        if claims.claim(job.key):
            mine.append(job)
        else:
            busy += 1
    done = store.done()
    return [j for j in mine if j.key not in done], busy, sum(j.key in done for j in mine)


def _run_local(study: Study, jobs: list[Job], store: ResultsStore, deadline: float | None, threads: int,
               bars: _Bars, claims: Claims) -> tuple[list[dict[str, Any]], int, int]:
    """Run the jobs here; returns the records, the jobs another run was running and those it had finished."""
    payload = study.to_dict()
    done: list[dict[str, Any]] = []
    busy = done_meanwhile = 0
    for job in jobs:
        if deadline is not None and time.time() > deadline:
            break
        if not claims.claim(job.key):  # another run on this file is running it
            busy += 1
            bars.finish()
            continue
        try:
            if job.key in store.done():  # another run finished it since this one planned
                done_meanwhile += 1
                bars.finish()
                continue
            bars.start(f"{job.variant} seed {job.seed}")
            record = execute(payload, job.variant, job.seed, deadline, threads, bars.step)
            if record is None:
                break
            assert record_key(record) == job.key
            store.append(record)
        finally:
            claims.release(job.key)
        done.append(record)
        bars.finish()
    return done, busy, done_meanwhile
