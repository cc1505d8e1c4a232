"""Looking inside a running sandbox: process info, system snapshots, the keyframe world.

:func:`world` follows ``docs/world-schema.md`` exactly (the contract with the model): it writes
the *recorded* world, what a reader replaying the events reaches, not the live notions where
they differ (the run queue, CPU time since the last PROFILE sample, a mutated live state).
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING, Any

from recorder.payload import Limits, Pid
from recorder.sandbox.children import supervisor_entry
from recorder.sandbox.memory import estimate_memory, process_memory
from recorder.session.keyframes import (
    MailboxCells,
    ProcessColumns,
    empty_mailbox_cells,
    mailbox_cells,
)

if TYPE_CHECKING:
    from recorder.sandbox.process import Process
    from recorder.sandbox.runtime import Runtime

__all__ = ["ended_entry", "estimate_memory", "process_info", "system_snapshot", "world"]

_MAILBOX_IN_WORLD = 100


def process_info(rt: Runtime, pid: Pid | str) -> dict[str, Any]:
    """Everything about one live process.

    Returns:
        ``pid``, ``name``, ``behaviour``, ``status``, ``registered``, ``trap_exit``,
        ``mailbox_len``, ``mailbox`` (``[(msg id, sender Pid, message)]``, oldest first),
        ``links``, ``monitors`` (``[(ref, target Pid)]``), ``monitored_by``, ``state``
        (GenServers), ``handled``, ``cpu_ns``, ``memory``, ``restarts``, ``parent``,
        ``supervisor``.

    Raises:
        BadArg: no such live process.
    """
    proc = rt.process(pid)
    return {
        "pid": proc.pid,
        "name": proc.name,
        "behaviour": proc.behaviour,
        "status": proc.status,
        "registered": proc._registered,
        "trap_exit": proc.trap_exit,
        "mailbox_len": len(proc._mailbox),
        "mailbox": [(m, Pid(s), msg) for m, s, msg, _ in proc._mailbox],
        "links": [Pid(n) for n in proc._links],
        "monitors": [(ref, Pid(target)) for ref, target in proc._monitors.items()],
        "monitored_by": [Pid(n) for n, _ in proc._watchers.values()],
        "state": proc._state if proc._has_state else None,
        "handled": proc._handled,
        "cpu_ns": proc._cpu_ns,
        "memory": process_memory(proc),
        "restarts": proc._restarts,
        "parent": proc.parent,
        "supervisor": proc.supervisor,
    }


def system_snapshot(rt: Runtime, top: int = 10) -> dict[str, Any]:
    """A summary of the whole system: counts, totals, and the top processes.

    Returns:
        ``time_ms``, ``process_count``, ``dead_count``, ``run_queue``, ``messages_queued``,
        ``memory``, ``processes`` (one short row per process), ``top_memory`` and
        ``top_mailbox`` (the ``top`` heaviest rows, heaviest first).
    """
    rows: list[dict[str, Any]] = []
    for proc in rt.processes.values():
        rows.append(
            {
                "pid": proc.pid,
                "name": proc.name,
                "behaviour": proc.behaviour,
                "status": proc.status,
                "mailbox_len": len(proc._mailbox),
                "memory": process_memory(proc),
                "handled": proc._handled,
                "cpu_ns": proc._cpu_ns,
            }
        )
    return {
        "time_ms": rt.now_ms(),
        "process_count": len(rows),
        "dead_count": len(rt.dead),
        "run_queue": sum(1 for p in rt.processes.values() if p._queued),
        "messages_queued": sum(r["mailbox_len"] for r in rows),
        "memory": sum(r["memory"] for r in rows),
        "processes": rows,
        "top_memory": sorted(rows, key=lambda r: (-r["memory"], r["pid"]))[:top],
        "top_mailbox": sorted(rows, key=lambda r: (-r["mailbox_len"], r["pid"]))[:top],
    }


def _world_mailbox(proc: Process, cells: Limits | None) -> list[list[Any]] | MailboxCells:
    mailbox: list[list[Any]] | MailboxCells | None = None
    if cells is not None:
        mailbox = (
            mailbox_cells(proc._mailbox, _MAILBOX_IN_WORLD, cells)
            if proc._mailbox
            else empty_mailbox_cells(cells)
        )
    if mailbox is None:
        mailbox = [
            [msg_id, sender, message if recorded is None else recorded]
            for msg_id, sender, message, recorded in islice(proc._mailbox, _MAILBOX_IN_WORLD)
        ]
    return mailbox


def _world_process(proc: Process, cells: Limits | None = None) -> dict[str, Any]:
    # The first messages only, as their SENDs recorded them (the live object may have changed
    # since): a reader finds the others from the events (docs/world-schema.md), so a long
    # mailbox costs a keyframe no more than a short one.
    mailbox = _world_mailbox(proc, cells)
    mark = proc._profile_mark
    # the recorded notion: has messages to handle (not the run queue, which no event shows)
    status = "suspended" if proc._suspended else "running" if proc._mailbox else "waiting"
    return {
        "pid": proc._n,
        "name": proc.name,
        "behaviour": proc.behaviour,
        "status": status,
        "parent": proc._parent,
        "supervisor": proc._supervisor,
        "registered": proc._registered,
        "trap_exit": proc._trap_exit,
        # As last recorded (frozen bytes, embedded as they are): a callback suspended in an
        # `await` may have mutated the live state since.
        "state": proc._recorded_state,
        "mailbox": mailbox,
        "mailbox_len": len(proc._mailbox),
        "links": list(proc._links),
        "monitors": [[ref, target] for ref, target in proc._monitors.items()],
        "restarts": proc._restarts,
        "handled": proc._handled,
        # As of the last PROFILE sample: the world knows CPU time and memory only from those.
        "cpu_ns": mark[1] if mark is not None else 0,
        "memory": proc._sampled_memory,
    }


#: The cell of an empty ``links`` or ``monitors`` in a Recorder's world, shared by every row
#: with none (read-only: the world is packed, never changed): thousands of idle processes
#: would otherwise make as many empty lists for the collector at each keyframe.
_NO_ROWS: list[Any] = []


def _world_columns(procs: list[Process], cells: Limits) -> ProcessColumns:
    """The ``_world_process`` maps of ``procs`` as the columns of their table, keys in the same
    order (what a keyframe for a Recorder needs: no dict per process, and no new object for
    an empty mailbox, links or monitors)."""
    marks = [p._profile_mark for p in procs]
    return ProcessColumns(
        {
            "pid": [p._n for p in procs],
            "name": [p.name for p in procs],
            "behaviour": [p.behaviour for p in procs],
            "status": [
                "suspended" if p._suspended else "running" if p._mailbox else "waiting"
                for p in procs
            ],
            "parent": [p._parent for p in procs],
            "supervisor": [p._supervisor for p in procs],
            "registered": [p._registered for p in procs],
            "trap_exit": [p._trap_exit for p in procs],
            "state": [p._recorded_state for p in procs],
            "mailbox": [_world_mailbox(p, cells) for p in procs],
            "mailbox_len": [len(p._mailbox) for p in procs],
            "links": [list(p._links) if p._links else _NO_ROWS for p in procs],
            "monitors": [
                [[ref, target] for ref, target in p._monitors.items()] if p._monitors else _NO_ROWS
                for p in procs
            ],
            "restarts": [p._restarts for p in procs],
            "handled": [p._handled for p in procs],
            "cpu_ns": [m[1] if m is not None else 0 for m in marks],
            "memory": [p._sampled_memory for p in procs],
        }
    )


def ended_entry(proc: Process, status: str, reason: Any) -> dict[str, Any]:
    """The keyframe ``dead`` entry of ``proc``, which just ended with ``status`` (``"dead"`` or
    ``"crashed"``) and ``reason`` (the frozen reason its EXIT / CRASH event records).

    Built once, when the process ends: an ended process never changes again. Its mailbox,
    links and monitors are empty and left out.
    """
    mark = proc._profile_mark
    return {
        "pid": proc._n,
        "name": proc.name,
        "behaviour": proc.behaviour,
        "status": status,
        "parent": proc._parent,
        "supervisor": proc._supervisor,
        "registered": None,
        "trap_exit": proc._trap_exit,
        "state": proc._recorded_state,
        "mailbox_len": 0,
        "restarts": proc._restarts,
        "handled": proc._handled,
        "cpu_ns": mark[1] if mark is not None else 0,
        "memory": proc._sampled_memory,
        "reason": reason,
    }


def world(rt: Runtime, cells: Limits | None = None) -> dict[str, Any]:
    """The whole world for a keyframe, as ``docs/world-schema.md`` specifies.

    With ``cells`` (a :class:`~recorder.Recorder`'s limits: the world goes to that recorder's
    :meth:`~recorder.Recorder.keyframe` and nowhere else), ``processes`` is given as the
    columns of its keyframe table (:class:`~recorder.session.keyframes.ProcessColumns`) and a
    mailbox as its encoded keyframe cells (:class:`~recorder.session.keyframes.MailboxCells`):
    the same keyframe bytes, without a map per process or an object per queued message.
    """
    procs = list(rt.processes.values())
    processes: list[dict[str, Any]] | ProcessColumns
    if cells is not None and procs:  # for a Recorder: the table's columns, no map per process
        processes = _world_columns(procs, cells)
    else:
        processes = [_world_process(p, cells) for p in procs]
    supervisors = []
    for proc in procs:
        entry = supervisor_entry(proc)
        if entry is not None:
            supervisors.append(entry)
    return {
        "time_ns": rt.clock(),
        "processes": processes,
        "dead": list(rt.ended),
        "supervisors": supervisors,
        "registry": dict(rt.registry.names),
    }
