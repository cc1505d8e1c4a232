"""The top processes at a moment: CPU time in handlers, memory, mailbox length, messages
handled (``cinema top``, the window's Top table).

Figures come from the PROFILE samples the sandbox records every ``profile_interval_ms``
(per process: ``cpu_ns``, ``handled``, ``mailbox_len``, ``memory``; for the system:
``processes``, ``messages_queued``, ``memory``, ``cpu_ns``, ``handled``, ``timers``): a
process's figures are those of its latest sample at or before the moment, as the world and the
inspector show them. Status and mailbox length are the world's own (exact, not sampled). CPU
over the last ``window_ns`` is the difference between the latest sample and the latest one
before the window. Only the samples used are decoded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from cinema.model._facts import STATUSES
from cinema.model.errors import ModelError
from cinema.model.session import Session
from recorder.events import NO_PID, EventKind

__all__ = ["SORT_KEYS", "Top", "TopRow", "top"]

#: What ``--by`` accepts, and the column each sorts by.
SORT_KEYS = {"cpu": "cpu_recent_ns", "memory": "memory", "mailbox": "mailbox_len",
             "handled": "handled", "cpu_total": "cpu_ns"}  # fmt: skip


class TopRow(NamedTuple):
    """One live process at the moment."""

    pid: int
    name: str
    behaviour: str
    status: str
    cpu_ns: int
    """CPU time in its handlers since it started (latest sample)."""
    cpu_recent_ns: int
    """CPU time in the window before the moment."""
    cpu_share: float
    """``cpu_recent_ns`` over all processes' CPU in the window (0..1)."""
    handled: int
    mailbox_len: int
    memory: int
    sampled_seq: int
    """The PROFILE event the figures come from (-1: no sample yet)."""


@dataclass
class Top:
    """The table at event ``seq``: ``rows`` sorted by ``by``, at most ``limit``; ``alive`` the
    number of live processes; ``system`` the latest system sample (``{}`` if none)."""

    seq: int
    ts: int
    by: str
    window_ns: int
    rows: list[TopRow]
    alive: int
    system: dict[str, Any] = field(default_factory=dict)
    system_seq: int = -1


def _latest(pids: np.ndarray, seqs: np.ndarray) -> dict[int, int]:
    """pid -> the last of its ``seqs`` (both ascending by seq)."""
    if not len(seqs):
        return {}
    rp, rs = pids[::-1], seqs[::-1]
    uniq, first = np.unique(rp, return_index=True)
    return dict(zip(uniq.tolist(), rs[first].tolist(), strict=True))


def _figure(d: Any, key: str) -> int:
    v = d.get(key) if isinstance(d, dict) else None
    return int(v) if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else 0


def top(
    session: Session, seq: int, *, by: str = "cpu", limit: int | None = 20,
    window_ns: int = 1_000_000_000,
) -> Top:  # fmt: skip
    """The live processes after event ``seq``, busiest first by ``by`` (:data:`SORT_KEYS`).

    Raises:
        ModelError: an unknown ``by``, or ``seq`` out of range.
    """
    if by not in SORT_KEYS:
        raise ModelError(f"unknown sort key {by!r} (valid: {', '.join(SORT_KEYS)})")
    session.check_seq(seq)
    world = session.world_at(seq)
    table = world.status_table()
    alive = table.alive
    pids = table.pid[alive].astype(np.int64)
    status = [STATUSES[int(c)] for c in table.status[alive]]
    mailbox = table.mailbox_len[alive]
    sk = session.skeleton
    ts = int(sk.ts[seq])
    prof = np.flatnonzero(sk.kind[: seq + 1] == EventKind.PROFILE)
    ppid = sk.pid[prof].astype(np.int64)
    system_seqs = prof[ppid == NO_PID]
    mine = ppid != NO_PID
    prof, ppid = prof[mine], ppid[mine]
    now = _latest(ppid, prof)
    cut = int(np.searchsorted(sk.ts[prof], ts - window_ns, side="right"))
    then = _latest(ppid[:cut], prof[:cut])
    wanted = [now[p] for p in pids.tolist() if p in now]
    wanted += [then[p] for p in pids.tolist() if p in then]
    sys_seq = int(system_seqs[-1]) if len(system_seqs) else -1
    if sys_seq >= 0:
        wanted.append(sys_seq)
    arr = np.unique(np.asarray(wanted, dtype=np.int64))
    data = {ev.seq: ev.data for ev in session.reader.events_at(arr)}
    procs = session.processes
    rows = []
    for i, p in enumerate(pids.tolist()):
        s_now, s_then = now.get(p, -1), then.get(p, -1)
        d = data.get(s_now)
        cpu = _figure(d, "cpu_ns")
        before = _figure(data.get(s_then), "cpu_ns") if s_then >= 0 else 0
        info = procs.get(p)
        rows.append(
            TopRow(
                pid=p, name=session.process_name(p),
                behaviour=info.behaviour if info is not None else "process",
                status=status[i], cpu_ns=cpu, cpu_recent_ns=max(cpu - before, 0),
                cpu_share=0.0, handled=_figure(d, "handled"), mailbox_len=int(mailbox[i]),
                memory=_figure(d, "memory"), sampled_seq=s_now,
            )
        )  # fmt: skip
    total = sum(r.cpu_recent_ns for r in rows)
    if total:
        rows = [r._replace(cpu_share=r.cpu_recent_ns / total) for r in rows]
    key = SORT_KEYS[by]
    rows.sort(key=lambda r: (-getattr(r, key), -r.cpu_ns, r.pid))
    system = data.get(sys_seq) if sys_seq >= 0 else None
    return Top(
        seq, ts, by, window_ns, rows[:limit] if limit is not None else rows, len(pids),
        dict(system) if isinstance(system, dict) else {}, sys_seq,
    )  # fmt: skip
