"""The JSONL store: whole lines, torn tails ignored and cut, concurrent writers never interleave."""

from __future__ import annotations

import json
import multiprocessing

from padstride.studies import ResultsStore


def _rec(i: int, pad: int = 0) -> dict:
    return {"study": "s", "variant": f"v{i % 3}", "seed": i, "fingerprint": "f", "blob": "x" * pad}


def test_append_and_read(tmp_path):
    store = ResultsStore(tmp_path / "sub" / "r.jsonl")
    for i in range(3):
        store.append(_rec(i))
    assert [r["seed"] for r in store.records()] == [0, 1, 2]
    assert store.done() == {("s", f"v{i}", i, "f") for i in range(3)}
    assert store.path.read_text().count("\n") == 3


def test_torn_tail_is_ignored_then_cut(tmp_path):
    store = ResultsStore(tmp_path / "r.jsonl")
    store.append(_rec(0))
    with store.path.open("a") as fh:  # what a writer killed mid-line would leave
        fh.write(json.dumps(_rec(1))[:17])
    assert [r["seed"] for r in store.records()] == [0]
    store.append(_rec(2))
    lines = store.path.read_text().splitlines()
    assert [json.loads(line)["seed"] for line in lines] == [0, 2]


def test_garbage_lines_are_skipped(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('not json\n{"no": "keys"}\n' + json.dumps(_rec(5)) + "\n")
    assert [r["seed"] for r in ResultsStore(path).records()] == [5]


def _writer(path: str, start: int) -> None:
    store = ResultsStore(path)
    for i in range(start, start + 40):
        store.append(_rec(i, pad=20000))  # lines far larger than a pipe buffer


def test_concurrent_writers_never_interleave(tmp_path):
    path = str(tmp_path / "r.jsonl")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, k * 100)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    with open(path) as fh:
        lines = fh.read().splitlines()
    assert len(lines) == 120
    expected = sorted(k * 100 + i for k in range(3) for i in range(40))
    assert sorted(json.loads(line)["seed"] for line in lines) == expected
