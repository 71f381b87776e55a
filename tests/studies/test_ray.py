"""The Ray executor on a local 2-CPU cluster: same JSONL records and resume rules as a local run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from padstride.studies import ResultsStore, run_study

ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'padstride[ray]'); not installed")

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}})
    yield
    ray.shutdown()


def test_ray_executor_two_workers(cluster, tiny_study, tmp_path):
    study = tiny_study("classification")
    local = run_study(study, str(tmp_path / "local.jsonl"), progress=False).records
    out = tmp_path / "r.jsonl"
    ResultsStore(out).append(local[0])  # one record already there: Ray runs the other five
    summary = run_study(study, str(out), executor="ray", progress=False)
    assert (summary.ran, summary.skipped, summary.left) == (5, 1, 0)
    records = ResultsStore(out).records()
    keys = [(r["variant"], r["seed"]) for r in records]
    assert len(keys) == len(set(keys)) == 6
    assert {r["env"]["threads"] for r in records[1:]} == {1}, "each Ray task uses the one CPU it reserved"
    assert len({r["env"]["host"] + str(r["wall_s"]) for r in records[1:]}) == 5
    # deterministic seeds: Ray workers reproduce the local results exactly
    assert {(r["variant"], r["seed"]): r["test_acc"] for r in records} == {
        (r["variant"], r["seed"]): r["test_acc"] for r in local}
    assert run_study(study, str(out), executor="ray", progress=False).skipped == 6
