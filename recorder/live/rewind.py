"""System snapshots that really rewind: states, mailboxes and timers of the processes in them.

:func:`take` copies, for each process (all, or those named): its GenServer state, its mailbox
(messages deep-copied, oldest first), and its pending timers as time *left*: its own receive
timeout or sleep, ``send_after`` timers aimed at it, and messages an interception rule holds
back for it. :func:`restore` puts all of it back and records what it did, so the viewer tells
the truth: a MARKER (``restore snapshot N``), a DROP (reason ``"restore"``) for each message
that leaves a mailbox, a SEND (new message id, original sender) for each message put back, a
STATE (trigger ``replace``) for each state, then a keyframe.

A GenServer waits in its receive loop between messages, so restoring its state and mailbox
returns it exactly to the moment of the snapshot. A plain process's *position in its code*
cannot be copied (a coroutine cannot be cloned): only its mailbox and timers go back. A process
that died since is found again by its registered name (a supervisor restarted it), else skipped.
Runs on the runtime thread (a :class:`~recorder.live.control.LiveControl` job).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_PID, NO_REF, EventKind
from recorder.payload import Pid

if TYPE_CHECKING:
    from recorder.sandbox.process import Envelope, Process
    from recorder.sandbox.runtime import Runtime
    from recorder.sandbox.timers import TimerEntry

__all__ = ["SavedProcess", "SystemSnapshot", "restore", "take"]

log = logging.getLogger("recorder.live")

_DROP = int(EventKind.DROP)
_MARKER = int(EventKind.MARKER)
_RESTORE_DROP = {"reason": "restore"}


@dataclass(slots=True)
class SavedTimer:
    kind: str  # "own" (receive timeout / sleep), "send_after", "delayed"
    left_ns: int
    arg: Any = None
    callback_name: str = ""


@dataclass(slots=True)
class SavedProcess:
    pid: int
    name: str
    registered: str | None
    has_state: bool
    state: Any
    mailbox: list[Envelope]
    timers: list[SavedTimer] = field(default_factory=list)
    copied: bool = True  # False: the state could not be deep-copied (kept by reference)


@dataclass(slots=True)
class SystemSnapshot:
    """Processes at one moment (``taken_ns`` on the runtime clock, after event ``seq``)."""

    id: int
    taken_ns: int
    seq: int
    processes: list[SavedProcess]
    label: str = ""

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "seq": self.seq,
            "time_ms": self.taken_ns / 1e6,
            "processes": len(self.processes),
            "messages": sum(len(p.mailbox) for p in self.processes),
            "timers": sum(len(p.timers) for p in self.processes),
        }


def _copy(value: Any) -> tuple[Any, bool]:
    try:
        return copy.deepcopy(value), True
    except Exception:  # a lock, a socket, a generator...: keep the object itself
        return value, False


def _target_of(rt: Runtime, to: Any) -> int | None:
    if isinstance(to, Pid):
        return to.n
    if isinstance(to, str):
        proc = rt.registry.resolve(to)
        return proc._n if proc is not None else None
    return None


def _timers_by_process(rt: Runtime) -> dict[int, list[tuple[TimerEntry, SavedTimer]]]:
    sched, post = rt.scheduler, rt.post
    own = (sched._on_wakeup, sched._on_receive_timer)
    now = rt.clock()
    out: dict[int, list[tuple[TimerEntry, SavedTimer]]] = {}
    for entry in rt.timers.pending():
        cb, arg = entry[2], entry[3]
        left = max(0, entry[0] - now)
        target: int | None
        if cb in own:
            target = arg._n
            saved = SavedTimer("own", left, None, cb.__name__)
        elif cb == post._fire_send_after:
            target = _target_of(rt, arg[2])
            saved = SavedTimer("send_after", left, arg)
        elif cb == rt.interceptor._release:
            target = arg[1]
            saved = SavedTimer("delayed", left, arg)
        else:
            continue
        if target is not None:
            out.setdefault(target, []).append((entry, saved))
    return out


def take(
    rt: Runtime, snap_id: int, seq: int, pids: list[int] | None = None, label: str = ""
) -> SystemSnapshot:
    """Copy the processes ``pids`` (all live processes when ``None``)."""
    procs: list[Process] = (
        list(rt.processes.values())
        if pids is None
        else [p for p in (rt.processes.get(n) for n in pids) if p is not None]
    )
    timers = _timers_by_process(rt)
    saved = []
    for proc in procs:
        state, copied = _copy(proc._state) if proc._has_state else (None, True)
        mailbox = []
        for msg_id, sender, message, *_recorded in proc._mailbox:
            msg, ok = _copy(message)
            copied = copied and ok
            mailbox.append((msg_id, sender, msg, None))
        entries = [s for _e, s in timers.get(proc._n, [])]
        for s in entries:
            if s.arg is not None:
                s.arg, _ = _copy(s.arg)
        saved.append(
            SavedProcess(
                proc._n,
                proc.name,
                proc.registered,
                proc._has_state,
                state,
                mailbox,
                entries,
                copied,
            )
        )
    return SystemSnapshot(snap_id, rt.clock(), seq, saved, label)


def restore(rt: Runtime, snap: SystemSnapshot) -> dict[str, Any]:
    """Put the snapshot back (see the module docstring); returns what was restored."""
    rec = rt.recording
    if rec.active:
        rec.record(
            _MARKER, NO_PID, NO_PEER, NO_REF,
            {"label": f"restore snapshot {snap.id}", "snapshot": snap.id, "of_seq": snap.seq},
        )  # fmt: skip
    timers = _timers_by_process(rt)
    restored: list[int] = []
    skipped: list[str] = []
    for saved in snap.processes:
        proc = rt.processes.get(saved.pid)
        if proc is None and saved.registered is not None:
            proc = rt.registry.resolve(saved.registered)
        if proc is None:
            skipped.append(f"{saved.name} <{saved.pid}> (dead)")
            continue
        _restore_mailbox(rt, proc, saved)
        _restore_timers(rt, proc, saved, timers.get(proc._n, []))
        if saved.has_state and proc._has_state:
            state, _ = _copy(saved.state)
            rt.replace_state(proc.pid, state)
        restored.append(proc._n)
    rec.keyframe()
    return {"restored": restored, "skipped": skipped}


def _restore_mailbox(rt: Runtime, proc: Process, saved: SavedProcess) -> None:
    rec = rt.recording
    for msg_id, sender, _message, *_recorded in list(proc._mailbox):
        if rec.active:
            rec.record(_DROP, sender, proc._n, msg_id, _RESTORE_DROP)
    proc._mailbox.clear()
    post = rt.post
    for _msg_id, sender, message, *_recorded in saved.mailbox:
        msg, _ = _copy(message)
        post.deliver(sender, proc._n, post.next_id(), msg)


def _restore_timers(
    rt: Runtime, proc: Process, saved: SavedProcess, current: list[tuple[TimerEntry, SavedTimer]]
) -> None:
    sched, post = rt.scheduler, rt.post
    for entry, info in current:
        if info.kind == "send_after":
            post.disarm_send_after(info.arg[0])
            sched.timers.cancel(entry)
        elif info.kind == "delayed":
            sched.timers.cancel(entry)
    now = rt.clock()
    for info in saved.timers:
        if info.kind == "send_after":
            arg, _ = _copy(info.arg)
            post.rearm_send_after(now + info.left_ns, arg)
        elif info.kind == "delayed":
            arg, _ = _copy(info.arg)
            sched.timers.add(now + info.left_ns, rt.interceptor._release, arg)
        elif info.kind == "own" and proc._timer is not None:
            # the process waits again in a receive with a timeout (or sleeps): the time it had
            # left at the snapshot comes back (a GenServer's idle timeout, a worker's sleep)
            cb = proc._timer[2]
            if cb is not None and cb.__name__ == info.callback_name:
                sched.timers.cancel(proc._timer)
                proc._timer = sched.timers.add(now + info.left_ns, cb, proc)
