"""The top processes at a moment: CPU time in handlers, memory, mailbox length, messages
handled (``cinema top``, the window's Top table).

Figures come from the PROFILE samples the sandbox records every ``profile_interval_ms``
(per process: ``cpu_ns``, ``handled``, ``mailbox_len``, ``memory``; for the system:
``processes``, ``messages_queued``, ``memory``, ``cpu_ns``, ``handled``, ``timers``): a
process's figures are those of its latest sample at or before the moment, as the world and the
inspector show them. Status and mailbox length are the world's own (exact, not sampled). CPU
over the last ``window_ns`` is the difference between the latest sample and the latest one
before the window. Only the samples used are decoded, each once per session
(:class:`~cinema.model.samples.ProfileSamples`); figures that do not fit an int64 read as 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from cinema.model._facts import STATUSES
from cinema.model.errors import ModelError
from cinema.model.session import Session

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
    status = table.status[alive]
    mailbox = table.mailbox_len[alive]
    sk = session.skeleton
    ts = int(sk.ts[seq])
    samples = session.index.profiles
    now = samples.latest(pids, seq)
    # the latest sample before the window: samples are in time order
    upto = samples.seqs[: int(np.searchsorted(samples.seqs, seq, side="right"))]
    cut = int(np.searchsorted(sk.ts[upto], ts - window_ns, side="right"))
    then = samples.latest(pids, int(upto[cut - 1])) if cut else np.full(len(pids), -1)
    fig = samples.figures(now)
    before = samples.figures(then).cpu_ns
    cpu = fig.cpu_ns
    recent = np.maximum(cpu - before, 0)
    total = int(recent.sum())
    share = recent / total if total else np.zeros(len(pids))
    columns = {"cpu_recent_ns": recent, "memory": fig.memory, "mailbox_len": mailbox,
               "handled": fig.handled, "cpu_ns": cpu}  # fmt: skip
    # busiest first by ``by``, then by total CPU, then by pid (lexsort: the last key first)
    order = np.lexsort((pids, -cpu, -columns[SORT_KEYS[by]]))
    if limit is not None:
        order = order[:limit]
    procs = session.processes
    rows = []
    for i in order.tolist():
        p = int(pids[i])
        info = procs.get(p)
        rows.append(
            TopRow(
                pid=p, name=session.process_name(p),
                behaviour=info.behaviour if info is not None else "process",
                status=STATUSES[int(status[i])], cpu_ns=int(cpu[i]),
                cpu_recent_ns=int(recent[i]), cpu_share=float(share[i]),
                handled=int(fig.handled[i]), mailbox_len=int(mailbox[i]),
                memory=int(fig.memory[i]), sampled_seq=int(now[i]),
            )
        )  # fmt: skip
    sys_seq = samples.latest_system(seq)
    system = session.reader.event(sys_seq).data if sys_seq >= 0 else None
    return Top(
        seq, ts, by, window_ns, rows, len(pids),
        dict(system) if isinstance(system, dict) else {}, sys_seq,
    )  # fmt: skip
