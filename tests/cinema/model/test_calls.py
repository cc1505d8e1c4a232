"""The model's traced calls: spans pair CALL with RETURN by process and ref, unfinished calls
stay open to the end, and the per-function summary's figures come from the recorded wall
times."""

from __future__ import annotations

from pathlib import Path

from cinema.model.calls import call_spans, call_summary
from cinema.model.session import Session
from recorder import Recorder
from recorder.events import NO_PEER, EventKind


def _session(tmp_path: Path) -> Path:
    path = tmp_path / "calls.cinema"
    ticks = iter(range(0, 10_000, 10))
    with Recorder(str(path), clock=lambda: next(ticks)) as rec:
        rec.emit(EventKind.SPAWN, 0, NO_PEER, 0, {"name": "a"})
        rec.emit(EventKind.SPAWN, 1, NO_PEER, 0, {"name": "b"})
        for i in range(1, 101):  # 100 calls of f by a: wall times 1..100 us
            rec.emit(EventKind.CALL, 0, NO_PEER, i, {"function": "m:f", "args": (i,)})
            rec.emit(
                EventKind.RETURN,
                0,
                NO_PEER,
                i,
                {"function": "m:f", "result": i, "duration_ns": 0, "wall_ns": i * 1000},
            )
        rec.emit(EventKind.CALL, 1, NO_PEER, 1, {"function": "m:g", "args": ()})  # same ref, b
        rec.emit(EventKind.CALL, 1, NO_PEER, 2, {"function": "m:g", "args": ()})
        rec.emit(
            EventKind.RETURN,
            1,
            NO_PEER,
            1,
            {"function": "m:g", "error": "ValueError: x", "duration_ns": 5, "wall_ns": 7},
        )
    return path


def test_spans_pair_calls_and_returns_per_process(tmp_path: Path) -> None:
    with Session.open(_session(tmp_path)) as s:
        spans = call_spans(s)
        assert len(spans) == 102
        g = [sp for sp in spans if sp.function == "m:g"]
        assert [sp.pid for sp in g] == [1, 1]
        assert g[0].error == "ValueError: x" and g[0].wall_ns == 7
        assert g[1].return_seq is None and g[1].end_ns == s.t_last  # never returned
        assert [sp.function for sp in call_spans(s, 1)] == ["m:g", "m:g"]


def test_summary_per_function(tmp_path: Path) -> None:
    with Session.open(_session(tmp_path)) as s:
        rows = {r.function: r for r in call_summary(s)}
    f, g = rows["m:f"], rows["m:g"]
    assert (f.calls, f.errors, f.unfinished, f.processes) == (100, 0, 0, 1)
    assert f.total_ns == sum(range(1, 101)) * 1000 and f.mean_ns == 50_500.0
    assert f.p50_ns == 51_000 and f.p99_ns == 100_000 and f.max_ns == 100_000
    assert (g.calls, g.errors, g.unfinished) == (2, 1, 1) and g.total_ns == 7
    assert list(rows) == ["m:f", "m:g"]  # the most time first


def test_summary_of_one_process_and_where_each_function_starts(tmp_path: Path) -> None:
    with Session.open(_session(tmp_path)) as s:
        only_b = call_summary(s, 1)
        every = {r.function: r for r in call_summary(s)}
    assert [r.function for r in only_b] == ["m:g"] and only_b[0].calls == 2
    assert every["m:f"].first_call_seq == 2 and every["m:g"].first_call_seq == 202
    assert "first_call_seq" not in every["m:f"].as_json()  # the JSON row is unchanged
