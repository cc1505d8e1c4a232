"""Traced calls (CALL / RETURN events, ``docs/sandbox.md`` "Call tracing"): each call as a
span, and a summary per function (calls, errors, total, mean, p99 of their wall time).

A CALL and its RETURN share the process and the ``ref`` (the call's id); a CALL without a
RETURN is a call that had not ended when the recording did (or whose process was killed in it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from cinema.model.session import Session
from recorder.events import EventKind

__all__ = ["CallSpan", "FunctionCalls", "call_spans", "call_summary"]

_CALL = int(EventKind.CALL)
_RETURN = int(EventKind.RETURN)


@dataclass(frozen=True, slots=True)
class CallSpan:
    """One traced call.

    Attributes:
        function: ``module:qualname``.
        pid: the calling process.
        call_seq: its CALL event.
        return_seq: its RETURN event, or ``None`` if it never returned.
        start_ns, end_ns: timestamps of the two events (``end_ns`` is the last timestamp of the
            session for an unfinished call).
        wall_ns: the wall time it took (``None`` if unfinished).
        error: ``"Type: message"`` when it raised.
    """

    function: str
    pid: int
    call_seq: int
    return_seq: int | None
    start_ns: int
    end_ns: int
    wall_ns: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class FunctionCalls:
    """The calls of one traced function.

    Attributes:
        function: ``module:qualname``.
        calls: calls recorded (CALL events).
        errors: calls that raised.
        unfinished: calls without a RETURN.
        processes: how many processes called it.
        total_ns, mean_ns, p50_ns, p99_ns, max_ns: wall time of the finished calls.
        clock_total_ns: their time on the runtime clock (virtual in deterministic mode).
        first_call_seq: the CALL event of its first call (where the window seeks; not in
            the JSON row).
    """

    function: str
    calls: int
    errors: int
    unfinished: int
    processes: int
    total_ns: int
    mean_ns: float
    p50_ns: int
    p99_ns: int
    max_ns: int
    clock_total_ns: int
    first_call_seq: int = -1

    def as_json(self) -> dict[str, Any]:
        """The row of ``cinema calls --json``."""
        return {
            "function": self.function, "calls": self.calls, "errors": self.errors,
            "unfinished": self.unfinished, "processes": self.processes,
            "total_ns": self.total_ns, "mean_ns": self.mean_ns, "p50_ns": self.p50_ns,
            "p99_ns": self.p99_ns, "max_ns": self.max_ns, "clock_total_ns": self.clock_total_ns,
        }  # fmt: skip


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def call_spans(session: Session, pid: int | None = None) -> list[CallSpan]:
    """Every traced call of the session (or of process ``pid``), in the order they began."""
    skel = session.skeleton
    mask = (skel.kind == _CALL) | (skel.kind == _RETURN)
    if pid is not None:
        mask &= skel.pid == pid
    seqs = np.flatnonzero(mask)
    if not len(seqs):
        return []
    refs = session.refs
    open_calls: dict[tuple[int, int], tuple[int, str]] = {}
    ended: dict[int, CallSpan] = {}
    order: list[int] = []
    for ev in session.reader.events_at(seqs):
        data = ev.data if isinstance(ev.data, Mapping) else {}
        function = str(data.get("function", "?"))
        key = (ev.pid, int(refs[ev.seq]))
        if ev.kind == _CALL:
            open_calls[key] = (ev.seq, function)
            order.append(ev.seq)
            continue
        begun = open_calls.pop(key, None)
        if begun is None:  # a RETURN whose CALL is not in the file (a cut recording)
            continue
        call_seq, function = begun
        error = data.get("error")
        ended[call_seq] = CallSpan(
            function, ev.pid, call_seq, ev.seq, int(skel.ts[call_seq]), ev.ts,
            _int(data.get("wall_ns")), error if isinstance(error, str) else None,
        )  # fmt: skip
    last = session.t_last
    for (p, _ref), (call_seq, function) in open_calls.items():
        ended[call_seq] = CallSpan(
            function, p, call_seq, None, int(skel.ts[call_seq]), last, None, None
        )
    return [ended[s] for s in order]


def call_summary(session: Session, pid: int | None = None) -> list[FunctionCalls]:
    """One row per traced function (of the calls of process ``pid``, if given), the most
    time first."""
    by_function: dict[str, list[CallSpan]] = {}
    clock: dict[str, int] = {}
    for span in call_spans(session, pid):
        by_function.setdefault(span.function, []).append(span)
        if span.return_seq is not None:
            clock[span.function] = clock.get(span.function, 0) + span.end_ns - span.start_ns
    rows = []
    for function, spans in by_function.items():
        walls = np.array([s.wall_ns for s in spans if s.wall_ns is not None], dtype=np.int64)
        done = len(walls)
        rows.append(
            FunctionCalls(
                function=function,
                calls=len(spans),
                errors=sum(1 for s in spans if s.error is not None),
                unfinished=sum(1 for s in spans if s.return_seq is None),
                processes=len({s.pid for s in spans}),
                total_ns=int(walls.sum()) if done else 0,
                mean_ns=float(walls.mean()) if done else 0.0,
                p50_ns=int(np.percentile(walls, 50, method="higher")) if done else 0,
                p99_ns=int(np.percentile(walls, 99, method="higher")) if done else 0,
                max_ns=int(walls.max()) if done else 0,
                clock_total_ns=clock.get(function, 0),
                first_call_seq=spans[0].call_seq,
            )
        )
    rows.sort(key=lambda r: (-r.total_ns, -r.calls, r.function))
    return rows
