"""The world a keyframe holds, and the empty world before the first event.

A keyframe's process entries stay in their decoded form (rows of its process tables) until
something reads or changes them; :class:`~cinema.model._facts.KeyframeFacts` reads the facts of
all of them column by column, once per keyframe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cinema.model._facts import KeyframeFacts, _as_int
from cinema.model.world import History, KfEntries, Namer, Resolver, World
from recorder.session.keyframes import table_column

__all__ = ["empty_world", "world_from_keyframe"]

_STR, _INT = frozenset((str,)), frozenset((int,))


def _ints(pids: Sequence[Any]) -> Sequence[int]:
    """A pid column as ints (what normalize_world leaves it: as it is)."""
    return pids if set(map(type, pids)) <= _INT else [_as_int(p) for p in pids]


def empty_world(resolve: Resolver, names: Namer) -> World:
    """The world before the first event."""
    return World(-1, 0, {}, {}, {}, frozenset(), {}, resolve, names)


def world_from_keyframe(
    kf_seq: int, kf: Mapping[str, Any], resolve: Resolver, names: Namer, time_ns: int,
    history: History | None = None,
) -> World:  # fmt: skip
    """The world a keyframe at ``kf_seq`` holds (after event ``kf_seq - 1``, whose timestamp
    is ``time_ns``: the keyframe's own clock is when it was taken, not the world's time).
    ``history`` completes the mailboxes of which the keyframe listed only the first messages.

    Process entries stay in their decoded keyframe form until something reads or changes them.
    Ended processes are the keyframe's ``dead`` entries (full rows, or the ``[pid, status]``
    pairs of older files); a pid listed both alive and dead is alive.
    """
    holders: set[int] = set()
    dead = kf.get("dead") or ()
    rows = kf.get("processes") or ()
    # entries of table rows are their row numbers (KfEntries): no row made before it is read
    procs = KfEntries((rows, dead))
    dead_pids = table_column(dead, "pid")
    if dead_pids is not None:
        procs.update(zip(_ints(dead_pids), range(-1, -len(dead_pids) - 1, -1), strict=True))
    else:
        for row in dead:
            if isinstance(row, Mapping):
                procs[_as_int(row.get("pid"))] = row
            elif isinstance(row, (list, tuple)) and len(row) >= 2:
                pid = _as_int(row[0])
                procs[pid] = {"pid": pid, "status": "crashed" if row[1] == "crashed" else "dead"}
    pids, monitors = table_column(rows, "pid"), table_column(rows, "monitors")
    if pids is not None and monitors is not None:
        # A keyframe's process table: two columns instead of two lookups per row.
        pid_list = _ints(pids)
        procs.update(zip(pid_list, range(len(pid_list)), strict=True))
        holders.update(p for p, mons in zip(pid_list, monitors, strict=True) if mons)
    else:
        for e in rows:
            if isinstance(e, Mapping):
                pid = _as_int(e.get("pid"))
                procs[pid] = e
                if e.get("monitors"):
                    holders.add(pid)
    sups: dict[int, Mapping[str, Any]] = {}
    for s in kf.get("supervisors") or ():
        if isinstance(s, Mapping):
            sups[_as_int(s.get("pid"))] = s
    reg = kf.get("registry")
    registry: dict[str, int] = {}
    if isinstance(reg, Mapping):
        if set(map(type, reg)) <= _STR and set(map(type, reg.values())) <= _INT:
            registry = dict(reg)  # (what normalize_world leaves: 5,000 names at C speed)
        else:
            registry = {str(k): _as_int(v) for k, v in reg.items()}
    return World(
        kf_seq - 1, time_ns, {}, sups, registry, frozenset(holders), {}, resolve, names,
        base=KeyframeFacts(kf_seq, procs, (dead, rows)), history=history, kf_procs=procs,
    )  # fmt: skip
