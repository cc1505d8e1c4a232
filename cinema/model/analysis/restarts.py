"""Supervision trouble: restart storms, crash loops, and supervisors that gave up.

Read from the RESTART events (their data names the child and the old pid): the only payloads
decoded are those of RESTART events, a small share of any session.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from cinema.model import present
from cinema.model.analysis._context import Context
from cinema.model.analysis.findings import Finding, Severity, proof
from recorder.events import EventKind

__all__ = ["detect_restarts"]

#: A crash loop: one child restarted at least this many times, each life alike ...
LOOP_RESTARTS = 3
#: ... (lifetimes or messages handled per life within this coefficient of variation) ...
LOOP_REGULARITY = 0.1
#: ... or dying right after starting (at most this many messages handled, median).
LOOP_QUICK_HANDLED = 2
#: A restart storm: this many restarts by one supervisor, of two children or more ...
STORM_RESTARTS = 5
#: ... within this window.
STORM_WINDOW_NS = 1_000_000_000


def detect_restarts(cx: Context) -> list[Finding]:
    """Gave-up supervisors (error), crash loops (error) and restart storms (warning)."""
    seqs = cx.seqs_of(EventKind.RESTART)
    if not len(seqs):
        return []
    data = cx.data_of(seqs.tolist())
    sk = cx.sk
    out: list[Finding] = []
    by_child: dict[tuple[int, str], list[int]] = defaultdict(list)
    by_sup: dict[int, list[int]] = defaultdict(list)
    for s in seqs.tolist():
        if s not in data:
            continue  # its data cannot be read (a damaged file): which child is unknown
        d = data[s]
        d = d if isinstance(d, dict) else {}
        sup = int(sk.pid[s])
        child = str(d.get("child_id"))
        if d.get("gave_up"):
            out.append(_gave_up(cx, s, sup, child, d))
            continue
        by_child[(sup, child)].append(s)
        by_sup[sup].append(s)
    for (sup, child), rs in by_child.items():
        f = _crash_loop(cx, sup, child, rs, data)
        if f is not None:
            out.append(f)
    for sup, rs in by_sup.items():
        f = _storm(cx, sup, rs, data)
        if f is not None:
            out.append(f)
    return out


def _gave_up(cx: Context, seq: int, sup: int, child: str, d: dict[str, Any]) -> Finding:
    old = d.get("old_pid")
    crash = cx.death_seq.get(int(old), -1) if isinstance(old, int) else -1
    sup_end = cx.death_seq.get(sup, -1)
    return Finding(
        detector="supervisor_gave_up",
        severity=Severity.ERROR,
        title=f"supervisor {cx.label(sup)} gave up restarting {child!r} and stopped",
        explanation=(
            f"Child {child!r} of {cx.label(sup)} kept failing (last reason: "
            f"{present.brief(d.get('reason'), 120)}). A supervisor allows only so many restarts "
            "in a time window (its restart intensity); past that, restarting again looks "
            "hopeless, so it stops itself and every child it supervises, and leaves the problem "
            "to its own supervisor. The children it stopped are no longer running. Look at why "
            "the child crashes: its first crash is usually the telling one."
        ),
        pids=(sup, *((int(old),) if isinstance(old, int) else ())),
        events=proof([crash, seq, sup_end]),
        figures={"child_id": child, "restarts": d.get("restarts")},
    )


def _lives(cx: Context, rs: list[int], data: dict[int, Any]) -> tuple[list[int], list[int]]:
    """Lifetimes (ns) and messages handled of the incarnations these restarts replaced."""
    lives, handled = [], []
    for s in rs:
        d = data.get(s)
        old = d.get("old_pid") if isinstance(d, dict) else None
        if not isinstance(old, int):
            continue
        born = cx.spawn_seq.get(old, -1)
        if born >= 0:
            lives.append(cx.t(s) - cx.t(born))
            handled.append(cx.received_by(old))
    return lives, handled


def _cv(xs: list[int]) -> float:
    a = np.asarray(xs, dtype=np.float64)
    m = float(a.mean())
    return float(a.std() / m) if m > 0 else 0.0


def _crash_loop(
    cx: Context, sup: int, child: str, rs: list[int], data: dict[int, Any]
) -> Finding | None:
    if len(rs) < LOOP_RESTARTS:
        return None
    lives, handled = _lives(cx, rs, data)
    if len(lives) < LOOP_RESTARTS:
        return None
    regular = _cv(lives) <= LOOP_REGULARITY or _cv(handled) <= LOOP_REGULARITY
    if not (regular or float(np.median(handled)) <= LOOP_QUICK_HANDLED):
        return None  # lives of all lengths: crashes now and then, not a loop
    med = float(np.median(lives))
    per_life = int(np.median(handled))
    known = [data[s] for s in rs if isinstance(data.get(s), dict)]
    reasons = {present.brief(d.get("reason"), 80) for d in known}
    reason = next(iter(reasons)) if len(reasons) == 1 else f"{len(reasons)} different reasons"
    olds = [d.get("old_pid") for d in known]
    crashes = [cx.death_seq.get(o, -1) for o in olds if isinstance(o, int)]
    return Finding(
        detector="crash_loop",
        severity=Severity.ERROR,
        title=(
            f"{child!r} under {cx.label(sup)} is in a crash loop: restarted {len(rs)} times, "
            f"each life about {cx.seconds(med)} and {per_life} message(s)"
        ),
        explanation=(
            f"Each time {cx.label(sup)} restarts {child!r}, the new process crashes again "
            f"the same way, after about {cx.seconds(med)} and {per_life} handled message(s) "
            f"(reason: {reason}). Restarting helps with rare, "
            "transient faults; a child that fails the same way every time has a bug or a bad "
            "input that a restart does not fix, and its work is not getting done meanwhile. "
            "Look at the first crash and the state the child starts from."
        ),
        pids=(sup, *(o for o in olds if isinstance(o, int))),
        events=proof([*crashes, *rs]),
        figures={
            "child_id": child,
            "restarts": len(rs),
            "median_lifetime_ns": int(med),
            "median_handled": per_life,
        },
    )


def _storm(cx: Context, sup: int, rs: list[int], data: dict[int, Any]) -> Finding | None:
    if len(rs) < STORM_RESTARTS:
        return None
    ts = cx.sk.ts[np.asarray(rs, np.int64)]
    # The busiest window: for each restart, how many follow within the window.
    ends = np.searchsorted(ts, ts + STORM_WINDOW_NS, side="right")
    counts = ends - np.arange(len(ts))
    i = int(np.argmax(counts))
    best = int(counts[i])
    if best < STORM_RESTARTS:
        return None
    window = rs[i : i + best]
    children = {str(data[s].get("child_id")) for s in window if isinstance(data.get(s), dict)}
    if len(children) < 2:
        return None  # one child restarting: a crash loop, reported as one
    span = int(ts[i + best - 1] - ts[i])
    return Finding(
        detector="restart_storm",
        severity=Severity.WARNING,
        title=(
            f"restart storm under {cx.label(sup)}: {best} restarts of {len(children)} children "
            f"in {cx.seconds(max(span, 1))}"
        ),
        explanation=(
            f"{cx.label(sup)} restarted {best} children within {cx.seconds(max(span, 1))} "
            f"({', '.join(sorted(children)[:6])}{'…' if len(children) > 6 else ''}); "
            f"{len(rs)} restarts in the whole session. Many restarts close together usually "
            "share one cause (a dependency that went away, bad input reaching every worker) "
            "and can exhaust the supervisor's restart intensity, which then stops the whole "
            "subtree. Look at the first crash of the burst."
        ),
        pids=(sup,),
        events=proof(window),
        figures={"restarts_in_window": best, "window_ns": span, "restarts_total": len(rs)},
    )
