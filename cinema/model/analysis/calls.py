"""Calls that went wrong: calls that timed out, and call cycles that deadlock (A waits on B
while B waits on A).

A process blocked in a call does nothing until the reply, a DOWN or its timeout: so "P is
waiting on Q at event N" is "P's last event at or before N is a SEND of a ``$call`` to Q". The
wait graph is checked where waits end badly (each call TIMEOUT) and at the end of the session;
only those few SENDs are decoded.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from cinema.model.analysis._context import Context
from cinema.model.analysis.findings import Finding, Severity, proof
from cinema.model.flow import TIMED_OUT
from recorder.events import NO_PEER, NO_PID, EventKind

__all__ = ["detect_calls"]

_K = EventKind
#: How long a chain of waits is followed.
MAX_CYCLE = 16


def detect_calls(cx: Context) -> list[Finding]:
    """Deadlocks (error) and timed-out calls, one finding per caller and callee (warning)."""
    timeouts = cx.seqs_of(_K.TIMEOUT)
    timeouts = timeouts[cx.sk.peer[timeouts] != NO_PEER]  # op "call": peer is the callee
    out = _deadlocks(cx, timeouts)
    out.extend(_timed_out(cx, timeouts))
    return out


def _call_target(cx: Context, send_seq: int, cache: dict[int, bool]) -> int:
    """The callee if SEND ``send_seq`` is a call, else -1."""
    is_call = cache.get(send_seq)
    if is_call is None:
        d = cx.data_of([send_seq]).get(send_seq)
        is_call = type(d) is tuple and len(d) == 3 and d[0] == "$call"
        cache[send_seq] = is_call
    return int(cx.sk.peer[send_seq]) if is_call else -1


def _waiting_on(cx: Context, pid: int, at: int, cache: dict[int, bool]) -> tuple[int, int]:
    """``(callee, call SEND)`` when ``pid`` is blocked in a call at event ``at``, else (-1, -1)."""
    last = cx.last_of(pid, at)
    if last < 0 or cx.sk.kind[last] != _K.SEND:
        return -1, -1
    callee = _call_target(cx, last, cache)
    return (callee, last) if callee >= 0 else (-1, -1)


def _cycle_from(
    cx: Context, pid: int, callee: int, send: int, at: int, cache: dict[int, bool]
) -> list[tuple[int, int]] | None:
    """The waits ``[(waiter, call SEND), ...]`` of a cycle through ``pid`` at ``at``, if any."""
    chain = [(pid, send)]
    seen = {pid}
    cur = callee
    for _ in range(MAX_CYCLE):
        if cur == pid:
            return chain
        if cur in seen:
            return None  # a cycle not through pid: found from one of its own members
        seen.add(cur)
        nxt, s = _waiting_on(cx, cur, at, cache)
        if nxt < 0:
            return None
        chain.append((cur, s))
        cur = nxt
    return None


def _deadlocks(cx: Context, timeouts: np.ndarray) -> list[Finding]:
    cache: dict[int, bool] = {}
    found: dict[frozenset[int], tuple[list[tuple[int, int]], int]] = {}
    fl = cx.flow
    for t in timeouts.tolist():
        pid, callee = int(cx.sk.pid[t]), int(cx.sk.peer[t])
        row = cx.send_row(int(cx.refs[t]), before=t)
        send = int(fl.send_seq[row]) if row >= 0 else -1
        cyc = _cycle_from(cx, pid, callee, send, t - 1, cache)
        if cyc is not None:
            found.setdefault(frozenset(p for p, _ in cyc), (cyc, t))
    # At the end: processes alive whose last event is a SEND (maybe a call they still wait on).
    if cx.n:
        uniq, last = _last_events(cx)
        live = np.array([p not in cx.death_seq for p in uniq.tolist()], dtype=bool)
        cand = last[(cx.sk.kind[last] == _K.SEND) & live]
        # A cycle of waits needs every member's last event to be its call: find the cycles
        # among those last SENDs from the columns, then decode only the SENDs on a cycle.
        import networkx as nx  # here: importing it costs ~0.3 s, and opening a window needs none

        graph = nx.DiGraph()
        for s in cand.tolist():
            graph.add_edge(int(cx.sk.pid[s]), int(cx.sk.peer[s]), send=s)
        for cyc_nodes in nx.simple_cycles(graph, length_bound=MAX_CYCLE):
            nxt = [cyc_nodes[(i + 1) % len(cyc_nodes)] for i in range(len(cyc_nodes))]
            cyc = [(p, int(graph.edges[p, q]["send"])) for p, q in zip(cyc_nodes, nxt, strict=True)]
            if all(_call_target(cx, s, cache) >= 0 for _, s in cyc):
                found.setdefault(frozenset(cyc_nodes), (cyc, -1))
    return [_deadlock_finding(cx, cyc, t) for cyc, t in found.values()]


def _last_events(cx: Context) -> tuple[np.ndarray, np.ndarray]:
    """``(pids, last event of each)``, pids ascending (NO_PID last, if it acts at all).

    A maximum per pid with ``np.maximum.at`` over a table as long as the largest pid: 0.13 s
    CPU on 10 M events, where ``np.unique`` (a sort of the whole pid column) took 2.4 s."""
    pid = cx.sk.pid
    real = pid != NO_PID
    seqs = np.flatnonzero(real)
    uniq, last = np.empty(0, np.int64), np.empty(0, np.int64)
    if len(seqs):
        p = pid[seqs].astype(np.int64)
        table = np.full(int(p.max()) + 1, -1, np.int64)
        np.maximum.at(table, p, seqs)
        uniq = np.flatnonzero(table >= 0)
        last = table[uniq]
    if len(seqs) < cx.n:
        uniq = np.r_[uniq, NO_PID].astype(np.int64)
        last = np.r_[last, int(np.flatnonzero(~real)[-1])].astype(np.int64)
    return uniq, last


def _deadlock_finding(cx: Context, cyc: list[tuple[int, int]], timeout: int) -> Finding:
    names = [cx.label(p) for p, _ in cyc]
    loop = " waits on ".join([*names, names[0]])
    if timeout >= 0:
        ended = (
            f"It ended only when {cx.label(int(cx.sk.pid[timeout]))}'s call timed out after "
            f"{cx.seconds(cx.t(timeout) - cx.t(cyc[0][1]))}; until then all of them were stuck."
        )
    else:
        ended = "Nothing broke it: they were all still waiting when the recording ended."
    return Finding(
        detector="deadlock",
        severity=Severity.ERROR,
        title=f"deadlock: {loop}",
        explanation=(
            f"{len(cyc)} processes called each other in a circle: {loop}. A call blocks the "
            "caller until the callee replies, and a process that is blocked in its own call "
            "cannot answer anyone, so none of them can ever go on. " + ended + " Break the "
            "circle: make one of the requests a cast (no reply awaited), or reply before "
            "calling out (gen_server:reply/2)."
        ),
        pids=tuple(p for p, _ in cyc),
        events=proof([*(s for _, s in cyc), timeout]),
        figures={"processes": len(cyc), "broken_by_timeout": timeout >= 0},
    )


def _timed_out(cx: Context, timeouts: np.ndarray) -> list[Finding]:
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for t in timeouts.tolist():
        groups[(int(cx.sk.pid[t]), int(cx.sk.peer[t]))].append(t)
    out = []
    fl = cx.flow
    for (caller, callee), ts in groups.items():
        first = ts[0]
        d = cx.data_of([first]).get(first)
        after = d.get("after_ms") if isinstance(d, dict) else None
        rows = [cx.send_row(int(cx.refs[t]), before=t) for t in ts]
        rows = [r for r in rows if r >= 0]
        sends = [int(fl.send_seq[r]) for r in rows[:9]]
        # TIMED_OUT: no RECEIVE or DROP ever took the request (else that is its outcome)
        never = sum(int(fl.outcome[r]) == TIMED_OUT for r in rows)
        if never:
            fate = (
                f"{never} of the requests were never taken from {cx.label(callee)}'s "
                "mailbox at all (it was blocked, suspended or busy to the end, or it ended "
                "with them)."
            )
        elif rows:
            fate = (
                f"{cx.label(callee)} did take every request, but later than the caller "
                "allowed: it still did the work, and its reply was thrown away, so the two "
                "can disagree about what happened."
            )
        else:
            fate = (
                "The callee may still do the work later and its reply is then thrown away, "
                "so the two can disagree about what happened."
            )
        times = f"{len(ts)} call{'s' if len(ts) > 1 else ''}"
        out.append(
            Finding(
                detector="call_timeout",
                severity=Severity.WARNING,
                title=(
                    f"{times} from {cx.label(caller)} to {cx.label(callee)} timed out"
                    + (f" (after {after} ms)" if after is not None else "")
                ),
                explanation=(
                    f"{cx.label(caller)} called {cx.label(callee)} and stopped waiting for the "
                    f"answer {len(ts)} time(s). A timeout means the callee was busy, blocked, "
                    f"suspended or gone for longer than the caller allowed. {fate} Look at "
                    "what the callee was doing at the time of the first timeout."
                ),
                pids=(caller, callee),
                events=proof([*sends, *ts]),
                figures={"timeouts": len(ts), "after_ms": after, "never_taken": never},
            )
        )
    return out
