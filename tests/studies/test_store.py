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


def test_torn_tail_is_ignored_then_kept(tmp_path):
    store = ResultsStore(tmp_path / "r.jsonl")
    store.append(_rec(0))
    torn = json.dumps(_rec(1))[:17]
    with store.path.open("a") as fh:  # what a writer killed mid-line would leave
        fh.write(torn)
    assert [r["seed"] for r in store.records()] == [0]
    store.append(_rec(2))
    lines = store.path.read_text().splitlines()
    assert lines[1] == torn, "results files are only appended to: the torn line stays, on its own line"
    assert [r["seed"] for r in store.records()] == [0, 2]


def test_a_complete_last_record_without_newline_is_kept(tmp_path):
    store = ResultsStore(tmp_path / "r.jsonl")
    store.path.write_text(json.dumps(_rec(0)) + "\n" + json.dumps(_rec(1)))  # no final newline
    assert [r["seed"] for r in store.records()] == [0, 1]
    store.append(_rec(2))
    assert [r["seed"] for r in store.records()] == [0, 1, 2]
    assert store.path.read_text().endswith("\n") and store.path.read_text().count("\n") == 3


def test_a_file_without_final_newline_loses_no_line(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("first line\nlast line without newline")
    ResultsStore(notes).append(_rec(0))
    assert notes.read_text().splitlines()[:2] == ["first line", "last line without newline"]


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


def _hold_claim(path: str, key: tuple, ready, done) -> None:
    from padstride.studies.store import Claims

    with Claims(path) as claims:
        assert claims.claim(key)
        ready.set()
        done.wait(30)


def test_claims_exclude_other_processes_and_die_with_them(tmp_path):
    from padstride.studies.store import Claims

    path = str(tmp_path / "r.jsonl")
    key = ("s", "same", 0, "f")
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_claim, args=(path, key, ready, done))
    proc.start()
    try:
        assert ready.wait(30)
        with Claims(path) as claims:
            assert not claims.claim(key), "another process holds this record"
            assert claims.claim(("s", "same", 1, "f")), "other records are free"
    finally:
        done.set()
        proc.join(30)
    with Claims(path) as claims:
        assert claims.claim(key), "a claim ends with its process"
