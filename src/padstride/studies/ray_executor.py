"""Run a study's records as Ray tasks (a local cluster by default, or an existing one by address).

The driver appends each record to the JSONL store as its task finishes, so the resume rules are
those of a local run. Ray is an optional extra: ``pip install 'padstride[ray]'``.

Example (needs Ray)::

    from padstride.studies import load_study, run_study
    run_study(load_study("classification", quick=True), "results.jsonl", executor="ray")
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .errors import StudyError
from .record import execute
from .spec import Study
from .store import ResultsStore

__all__ = ["run_on_ray"]

_SRC = str(Path(__file__).resolve().parents[2])  # the folder holding the padstride package


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise StudyError("--executor ray needs Ray: pip install 'padstride[ray]'") from None
    return ray


def run_on_ray(study: Study, jobs: list[Any], store: ResultsStore, address: str | None, deadline: float | None,
               threads: int, bars: Any) -> list[dict[str, Any]]:
    """Submit every job as a task (``threads`` CPUs each); append records as they arrive.

    Uses the running Ray session if there is one; otherwise starts a local cluster (or connects to
    ``address``) and shuts it down afterwards. Workers import padstride from this checkout.
    """
    ray = _ray()
    started = False
    env = {"PYTHONPATH": os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p)}
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, runtime_env={"env_vars": env}, log_to_driver=False)
            else:
                ray.init(include_dashboard=False, runtime_env={"env_vars": env}, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise StudyError(f"cannot start or reach Ray at {address or 'a local cluster'}: {exc}") from None
        started = True
    try:
        remote = ray.remote(num_cpus=threads)(execute).options(runtime_env={"env_vars": env})
        payload = ray.put(study.to_dict())
        pending = {remote.remote(payload, j.variant, j.seed, deadline, threads): j for j in jobs}
        records = []
        while pending:
            timeout = None if deadline is None else max(deadline - time.time(), 0) + 5
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=timeout)
            if not ready:  # past the deadline: drop what is still running
                for ref in pending:
                    ray.cancel(ref, force=True)
                break
            for ref in ready:
                pending.pop(ref)
                record = ray.get(ref)
                if record is not None:
                    store.append(record)
                    records.append(record)
                    bars.finish()
        return records
    finally:
        if started:
            ray.shutdown()
