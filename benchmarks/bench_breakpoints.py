"""``breakpoints``: run to the next breakpoint hit across a whole session.

The session is the synthetic recording of :mod:`benchmarks._sessions` (10,000,000 events among
5,000 processes; ``--quick``: 1,000,000). The breakpoint's only hit is the last state change of
the session, near its end:

- ``process == NAME and state.last == M``: a column part (the process) becomes a numpy mask
  over the skeleton, ``state`` narrows it to state events, and only those few candidates are
  decoded;
- ``kind == "state" and state.last == M``: payload-only; every state event is a candidate.

Baseline: a plain Python loop over decoded events (``SessionReader.events()``) testing the same
condition written by hand. Looping over the whole session would take minutes, so the loop runs
over a prefix and its time is extrapolated linearly to the hit (stated in each figure's note).
The session's columns are loaded once before timing (opening a session is measured by the
session benchmarks).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from benchmarks._harness import Figure, benchmark
from benchmarks._sessions import ensure_synthetic
from cinema.model.breakpoints import BreakpointSet
from cinema.model.event_scope import EventTable
from cinema.model.session import Session
from recorder.events import EventKind


def _target(session: Session) -> tuple[int, str, Any]:
    """The last state event: (seq, process name, its state's ``last`` field)."""
    sk = session.skeleton
    seq = int(np.flatnonzero(sk.kind == EventKind.STATE)[-1])
    ev = session.event(seq)
    return seq, session.process_name(ev.pid), ev.data["state"]["last"]


def _run(session: Session, expression: str) -> tuple[float, int]:
    """Seconds to the first hit after event 0 with a fresh breakpoint set (best of 3)."""
    best, found = float("inf"), -1
    for _ in range(3):
        bps = BreakpointSet()
        bps.add(expression)
        t0 = time.perf_counter()
        hit = bps.next_hit(session, 0)
        best = min(best, time.perf_counter() - t0)
        found = hit.seq if hit is not None else -1
    return best, found


def _plain_loop(session: Session, test: Any, prefix: int) -> float:
    """Seconds per event of a Python loop over decoded events testing ``test(event)``."""
    names = {pid: info.name for pid, info in session.processes.items()}
    t0 = time.perf_counter()
    n = 0
    for ev in session.reader.events(0, prefix):
        n += 1
        if test(ev, names):
            break
    return (time.perf_counter() - t0) / max(n, 1)


@benchmark("breakpoints", help="run to the next breakpoint hit vs a plain loop over events")
def run(quick: bool) -> Iterator[Figure]:
    n_events = 1_000_000 if quick else 10_000_000
    path = ensure_synthetic(n_events, 5000)
    with Session.open(path) as session:
        t0 = time.perf_counter()
        EventTable.of(session)  # load the skeleton columns once
        load_s = time.perf_counter() - t0
        seq, name, last = _target(session)
        prefix = min(n_events, 200_000 if quick else 1_000_000)
        state = EventKind.STATE

        def mixed(ev: Any, names: dict[int, str]) -> bool:
            return bool(
                names.get(ev.pid) == name and ev.kind == state and ev.data["state"]["last"] == last
            )

        def payload(ev: Any, names: dict[int, str]) -> bool:
            return bool(ev.kind == state and ev.data["state"]["last"] == last)

        cases = [
            (f'process == "{name}" and state.last == {last}', mixed, "column + payload"),
            (f'kind == "state" and state.last == {last}', payload, "payload only"),
        ]
        for expression, test, what in cases:
            fast_s, found = _run(session, expression)
            if found != seq:
                raise RuntimeError(f"{expression!r} hit {found}, expected {seq}")
            per_event = _plain_loop(session, test, prefix)
            loop_s = per_event * (seq + 1)
            yield Figure(
                f"run to next breakpoint ({what})",
                fast_s,
                "s",
                baseline=loop_s,
                goal="<= 0.2 x baseline (>= 5x faster)",
                note=(
                    f"{expression}; the only hit is event {seq:,} of {n_events:,}; "
                    f"{loop_s / fast_s:,.0f}x faster; baseline: plain loop over "
                    f"reader.events() timed on the first {prefix:,} events "
                    f"({per_event * 1e6:.2f} us/event) and extrapolated to the hit; "
                    f"columns loaded beforehand ({load_s:.2f} s)"
                ),
            )
