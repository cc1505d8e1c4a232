"""Why is this process in this state? The causal chain of an event, backwards and forwards.

Backwards, each step names the event that caused the previous one: a RECEIVE was caused by
the SEND of its message; a STATE change by the RECEIVE of the message it names; anything else
a process did, by the message it was handling (its last RECEIVE before), or its start; an exit
signal by the exit of the linked process; a restart by the child's exit. Forwards, the tree of
what an event caused: a message's receipt (or drop), everything its receiver did while handling
it, and so on; a crash's exit signals, the DOWN and EXIT messages it sent, and the restart.
Both are bounded by hops, processes and events. Everything is read from the columns; only a
RESTART's payload is decoded (to find which child it restarts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from cinema.model.analysis._context import Context
from cinema.model.session import Session
from recorder.events import NO_PEER, EventKind

__all__ = ["Step", "Why", "why"]

_K = EventKind
#: Events of one process scanned for what it did while handling a message.
_HANDLING_WINDOW = 1 << 16
#: Events after a crash scanned for its exit signals and its supervisor's restart.
_AFTERMATH_WINDOW = 4096


class Step(NamedTuple):
    """One event of a chain: ``cause`` is the event it follows from (backwards: the later
    event it explains), ``-1`` for the starting event; ``relation`` says how, in words."""

    seq: int
    depth: int
    cause: int
    relation: str


@dataclass
class Why:
    """The chain of event ``seq``: ``backward`` newest first (``backward[0]`` is the event
    itself), ``forward`` breadth first (``forward[0]`` is the event itself); ``cut_*`` say
    whether a bound stopped the walk while there was more to follow."""

    seq: int
    backward: list[Step] = field(default_factory=list)
    forward: list[Step] = field(default_factory=list)
    cut_backward: str = ""
    cut_forward: str = ""


def why(
    session: Session,
    seq: int,
    *,
    max_hops: int = 20,
    max_processes: int = 10,
    max_events: int = 200,
    context: Context | None = None,
) -> Why:
    """The causes and the effects of event ``seq``.

    Args:
        max_hops: steps followed backwards, and levels forwards.
        max_processes: distinct processes a chain may visit.
        max_events: events listed forwards.

    Raises:
        ModelError: ``seq`` is not an event of the session.
    """
    session.check_seq(seq)
    cx = context if context is not None else Context(session)
    out = Why(seq)
    _backward(cx, seq, out, max_hops, max_processes)
    _forward(cx, seq, out, max_hops, max_processes, max_events)
    return out


# --------------------------------------------------------------------------- backwards


#: Events the runtime records on a process's behalf, not things it did while handling.
_BOOKKEEPING = frozenset({int(_K.PROFILE), int(_K.LOST)})


def _delays(cx: Context) -> dict[int, int]:
    """message id -> its DELAY event (the SEND comes when the rule lets it through)."""
    got: dict[int, int] | None = cx.memo.get("delays")
    if got is None:
        d = cx.seqs_of(_K.DELAY)
        got = dict(zip(cx.refs[d].tolist(), d.tolist(), strict=True))
        cx.memo["delays"] = got
    return got


def _cause(cx: Context, e: int) -> tuple[int, str]:
    """The event that caused event ``e``, and how (``(-1, "")`` when none is recorded)."""
    sk = cx.sk
    k, p, ref = int(sk.kind[e]), int(sk.pid[e]), int(cx.refs[e])
    if k == _K.SEND and ref:
        held = _delays(cx).get(ref, -1)
        if 0 <= held < e:
            return held, "an interception rule held this message back here"
    if k in (_K.RECEIVE, _K.DROP, _K.TIMEOUT, _K.INTERCEPT, _K.DELAY) and ref:
        row = cx.send_row(ref)
        if row >= 0 and cx.flow.send_seq[row] < e:
            what: dict[int, str] = {
                _K.RECEIVE: "sent the message taken here",
                _K.DROP: "sent the message dropped here",
                _K.TIMEOUT: "sent the call that timed out here",
            }
            return int(cx.flow.send_seq[row]), what.get(k, "sent the message intercepted here")
    if k == _K.STATE and ref:
        row = cx.send_row(ref)
        if row >= 0:
            r = int(cx.flow.recv_seq[row])
            if 0 <= r < e:
                return r, "took the message that changed the state here"
    if k == _K.EXIT_SIGNAL and int(sk.peer[e]) != NO_PEER:
        origin = int(sk.peer[e])
        end = cx.last_of(origin, e, (_K.EXIT, _K.CRASH))
        if end >= 0:
            return end, "its exit sent this exit signal through a link"
    if k in (_K.CRASH, _K.EXIT):
        before = cx.last_of(p, e - 1)
        if before >= 0 and sk.kind[before] == _K.EXIT_SIGNAL:
            return before, "this exit signal ended it"
    if k == _K.RESTART:
        d = cx.data_of([e]).get(e)
        old = d.get("old_pid") if isinstance(d, dict) else None
        if isinstance(old, int):
            end = cx.last_of(old, e, (_K.EXIT, _K.CRASH))
            if end >= 0:
                return end, "the child's exit made its supervisor restart it"
    if k == _K.SPAWN:
        parent = int(sk.peer[e])
        if parent != NO_PEER:
            r = cx.last_of(parent, e, (_K.RECEIVE,))
            if r >= 0:
                return r, "its parent started it while handling this message"
        return -1, ""
    r = cx.last_of(p, e - 1, (_K.RECEIVE, _K.SPAWN, _K.EXIT, _K.CRASH))
    if r >= 0:
        rk = int(sk.kind[r])
        if rk == _K.SPAWN:
            return r, "the process was started here (it had taken no message yet)"
        if rk in (_K.EXIT, _K.CRASH):
            return r, "sent as the process ended (a DOWN or EXIT message)"
        return r, "the process was handling this message"
    return -1, ""


def _backward(cx: Context, seq: int, out: Why, max_hops: int, max_processes: int) -> None:
    out.backward.append(Step(seq, 0, -1, "the event asked about"))
    seen_pids = {int(cx.sk.pid[seq])}
    e = seq
    for depth in range(1, max_hops + 1):
        c, relation = _cause(cx, e)
        if c < 0:
            return
        pid = int(cx.sk.pid[c])
        if pid not in seen_pids and len(seen_pids) >= max_processes:
            out.cut_backward = f"stopped at {max_processes} processes"
            return
        seen_pids.add(pid)
        out.backward.append(Step(c, depth, e, relation))
        e = c
    if _cause(cx, e)[0] >= 0:
        out.cut_backward = f"stopped after {max_hops} hops"


# --------------------------------------------------------------------------- forwards


def _while_handling(cx: Context, pid: int, after: int) -> list[int]:
    """What ``pid`` did after event ``after`` and before its next RECEIVE."""
    nxt = cx.next_of(pid, after, (_K.RECEIVE,))
    stop = nxt if nxt >= 0 else min(cx.n, after + 1 + _HANDLING_WINDOW)
    stop = min(stop, after + 1 + _HANDLING_WINDOW)
    mine = np.flatnonzero(cx.sk.pid[after + 1 : stop] == pid) + after + 1
    kinds, refs, delays = cx.sk.kind, cx.refs, _delays(cx)
    out = []
    for s in mine.tolist():
        k = int(kinds[s])
        if k in _BOOKKEEPING:
            continue
        if k == _K.SEND and delays.get(int(refs[s]), s) < after:
            continue  # a message held back earlier, delivered now: not this handling's
        out.append(s)
    return out


def _effects(cx: Context, e: int) -> list[tuple[int, str]]:
    sk = cx.sk
    k, p, ref = int(sk.kind[e]), int(sk.pid[e]), int(cx.refs[e])
    if k == _K.SEND:
        row = cx.flow.row_of_send(e)
        if row >= 0 and cx.flow.recv_seq[row] >= 0:
            r = int(cx.flow.recv_seq[row])
            what: dict[int, str] = {
                _K.RECEIVE: "took this message",
                _K.DROP: "this message was dropped",
            }
            return [(r, what.get(int(sk.kind[r]), "the caller stopped waiting for it"))]
        return []
    if k in (_K.RECEIVE, _K.SPAWN, _K.EXIT_SIGNAL):
        how = {
            _K.RECEIVE: "while handling that message",
            _K.SPAWN: "as it started",
            _K.EXIT_SIGNAL: "because of that exit signal",
        }[_K(k)]
        return [(s, how) for s in _while_handling(cx, p, e)]
    if k in (_K.CRASH, _K.EXIT):
        lo, hi = e + 1, min(cx.n, e + 1 + _AFTERMATH_WINDOW)
        peer, kind = sk.peer[lo:hi], sk.kind[lo:hi]
        sig = np.flatnonzero((peer == p) & (kind == _K.EXIT_SIGNAL)) + lo
        own = np.flatnonzero(sk.pid[lo:hi] == p) + lo  # DOWN and EXIT messages it left
        found = [(int(s), "its exit reached a linked process") for s in sig]
        found += [(int(s), "sent as it ended") for s in own]
        info = cx.session.processes.get(p)
        if info is not None and info.supervisor != NO_PEER:
            rs = np.flatnonzero((sk.pid[lo:hi] == info.supervisor) & (kind == _K.RESTART)) + lo
            data = cx.data_of(rs[:8].tolist())
            for s in rs[:8].tolist():
                d = data.get(s)
                if isinstance(d, dict) and d.get("old_pid") == p:
                    how = "its supervisor restarted it"
                    if d.get("gave_up"):
                        how = "its supervisor gave up restarting it and stops"
                    found.append((s, how))
                    break
        return sorted(found)
    if k == _K.DELAY and ref:
        row = cx.send_row(ref)
        if row >= 0 and cx.flow.send_seq[row] > e:
            return [(int(cx.flow.send_seq[row]), "delivered when the rule let it through")]
        return []
    if k == _K.TIMEOUT and ref:
        return [(s, "after the timeout") for s in _while_handling(cx, p, e)[:20]]
    return []


def _forward(
    cx: Context, seq: int, out: Why, max_hops: int, max_processes: int, max_events: int
) -> None:
    out.forward.append(Step(seq, 0, -1, "the event asked about"))
    seen = {seq}
    pids = {int(cx.sk.pid[seq])}
    frontier = [seq]
    for depth in range(1, max_hops + 1):
        nxt: list[int] = []
        for e in frontier:
            for s, relation in _effects(cx, e):
                if s in seen:
                    continue
                pid = int(cx.sk.pid[s])
                if pid not in pids and len(pids) >= max_processes:
                    out.cut_forward = f"stopped at {max_processes} processes"
                    continue
                if len(out.forward) >= max_events:
                    out.cut_forward = f"stopped at {max_events} events"
                    return
                seen.add(s)
                pids.add(pid)
                out.forward.append(Step(s, depth, e, relation))
                nxt.append(s)
        if not nxt:
            return
        frontier = nxt
    if any(_effects(cx, e) for e in frontier[:20]):
        out.cut_forward = f"stopped after {max_hops} levels"
