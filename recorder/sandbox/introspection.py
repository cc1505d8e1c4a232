"""Looking inside a running sandbox: process info, system snapshots, the keyframe world.

:func:`world` follows ``docs/world-schema.md`` exactly (the contract with the model).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from recorder.payload import Pid

if TYPE_CHECKING:
    from recorder.sandbox.process import Process
    from recorder.sandbox.runtime import Runtime

__all__ = ["estimate_memory", "process_info", "system_snapshot", "world"]

_MAILBOX_IN_WORLD = 100
_MEMORY_WALK_LIMIT = 256  # objects visited per estimate: bounded cost, good enough for "top N"


def estimate_memory(value: Any, limit: int = _MEMORY_WALK_LIMIT) -> int:
    """Approximate bytes held by ``value`` (``sys.getsizeof`` over a bounded walk)."""
    total = 0
    seen: set[int] = set()
    stack = [value]
    visited = 0
    while stack and visited < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        visited += 1
        try:
            total += sys.getsizeof(obj)
        except TypeError:
            total += 64
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            stack.append(vars(obj))
    return total


def process_memory(proc: Process) -> int:
    """Estimated bytes of a process: its state plus its queued messages."""
    mailbox = proc.mailbox
    total = estimate_memory(proc.state) if proc.has_state else 0
    total += sys.getsizeof(mailbox)
    for i, envelope in enumerate(mailbox):
        if i >= 32:  # extrapolate long mailboxes from their first messages
            total += (total // 33) * (len(mailbox) - i)
            break
        total += estimate_memory(envelope[2], 32)
    return total


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
        "registered": proc.registered,
        "trap_exit": proc.trap_exit,
        "mailbox_len": len(proc.mailbox),
        "mailbox": [(m, Pid(s), msg) for m, s, msg in proc.mailbox],
        "links": [Pid(n) for n in proc.links],
        "monitors": [(ref, Pid(target)) for ref, target in proc.monitors.items()],
        "monitored_by": [Pid(n) for n in proc.watchers.values()],
        "state": proc.state if proc.has_state else None,
        "handled": proc.handled,
        "cpu_ns": proc.cpu_ns,
        "memory": process_memory(proc),
        "restarts": proc.restarts,
        "parent": None if proc.parent is None else Pid(proc.parent),
        "supervisor": None if proc.supervisor is None else Pid(proc.supervisor),
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
                "mailbox_len": len(proc.mailbox),
                "memory": process_memory(proc),
                "handled": proc.handled,
                "cpu_ns": proc.cpu_ns,
            }
        )
    return {
        "time_ms": rt.now_ms(),
        "process_count": len(rows),
        "dead_count": len(rt.dead),
        "run_queue": sum(1 for p in rt.processes.values() if p.queued),
        "messages_queued": sum(r["mailbox_len"] for r in rows),
        "memory": sum(r["memory"] for r in rows),
        "processes": rows,
        "top_memory": sorted(rows, key=lambda r: (-r["memory"], r["pid"]))[:top],
        "top_mailbox": sorted(rows, key=lambda r: (-r["mailbox_len"], r["pid"]))[:top],
    }


def _world_process(proc: Process) -> dict[str, Any]:
    mailbox = []
    for i, (msg_id, sender, message) in enumerate(proc.mailbox):
        if i >= _MAILBOX_IN_WORLD:
            break
        mailbox.append([msg_id, sender, message])
    return {
        "pid": proc.n,
        "name": proc.name,
        "behaviour": proc.behaviour,
        "status": "suspended" if proc.suspended else ("running" if proc.queued else "waiting"),
        "parent": proc.parent,
        "supervisor": proc.supervisor,
        "registered": proc.registered,
        "trap_exit": proc.trap_exit,
        # As last recorded: a callback suspended in an `await` may have mutated the live state.
        "state": proc.recorded_state if proc.has_state else None,
        "mailbox": mailbox,
        "mailbox_len": len(proc.mailbox),
        "links": list(proc.links),
        "monitors": [[ref, target] for ref, target in proc.monitors.items()],
        "restarts": proc.restarts,
        "handled": proc.handled,
        "cpu_ns": proc.cpu_ns,
        "memory": process_memory(proc),
    }


def world(rt: Runtime) -> dict[str, Any]:
    """The whole world for a keyframe, as ``docs/world-schema.md`` specifies."""
    from recorder.sandbox.supervisor import supervisor_entry

    supervisors = []
    for proc in rt.processes.values():
        entry = supervisor_entry(proc)
        if entry is not None:
            supervisors.append(entry)
    return {
        "time_ns": rt.clock(),
        "processes": [_world_process(p) for p in rt.processes.values()],
        "dead": [[n, how] for n, how in rt.dead.items()],
        "supervisors": supervisors,
        "registry": dict(rt.registry),
    }
