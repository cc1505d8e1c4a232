"""The detectors' shared lookups on a hand-written session (the real writer)."""

from __future__ import annotations

from pathlib import Path

from cinema.model.analysis import Context, analyze
from cinema.model.session import Session
from recorder.events import EventKind as K
from recorder.session.writer import Recorder


def test_an_events_own_send_is_the_last_one_before_it(tmp_path: Path) -> None:
    """A message id sent twice (a source that re-sends): a TIMEOUT names the SEND before it,
    not the later one (the lookup took the last SEND of the session)."""
    path = tmp_path / "resent.cinema"
    t = iter(range(0, 10**9, 1_000_000))
    rec = Recorder(path, clock=lambda: next(t), wall_clock=lambda: 0, flush_interval=None)
    rec.emit(K.SPAWN, 1, data={"name": "caller", "behaviour": "process"})
    rec.emit(K.SPAWN, 2, data={"name": "callee", "behaviour": "process"})
    rec.emit(K.SEND, 1, 2, 7, ("$call", (1, 8), "first"))  # event 2
    rec.emit(K.TIMEOUT, 1, 2, 7, {"op": "call", "after_ms": 1})  # event 3
    rec.emit(K.SEND, 1, 2, 7, ("$call", (1, 8), "again"))  # event 4
    rec.emit(K.RECEIVE, 2, 1, 7)
    rec.close()
    with Session.open(path) as s:
        cx = Context(s)
        assert cx.send_row(7, before=3) == cx.flow.row_of_send(2)
        assert cx.send_row(7) == cx.flow.row_of_send(4)
        assert cx.send_row(7, before=2) == -1 and cx.send_row(0) == -1
        (f,) = [f for f in analyze(s, context=cx) if f.detector == "call_timeout"]
        assert f.events == (2, 3)
