"""Spawning and ending processes: the process table's comings and goings.

:meth:`Lifecycle.spawn` makes a process (recorded as SPAWN, registered and linked before it
first runs); :meth:`Lifecycle.end` is the one place a process ends, whatever ended it (its
body returned or raised, an exit signal, a kill): it records EXIT or CRASH, acknowledges a
start still waiting for its init, and tells its links and monitors.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import Pid, freeze
from recorder.sandbox.errors import BadArg, crash_data, is_normal_reason
from recorder.sandbox.introspection import ended_entry
from recorder.sandbox.process import Process, ProcessBody

if TYPE_CHECKING:
    from recorder.sandbox.messaging import PostOffice
    from recorder.sandbox.recording import Recording
    from recorder.sandbox.registry import Registry
    from recorder.sandbox.scheduler import Scheduler
    from recorder.sandbox.signals import Signals

__all__ = ["Lifecycle"]

_SPAWN = int(EventKind.SPAWN)
_EXIT = int(EventKind.EXIT)
_CRASH = int(EventKind.CRASH)


class Lifecycle:
    """Spawning and ending the processes of one runtime.

    Args:
        runtime: the :class:`~recorder.sandbox.Runtime` a new process belongs to.
        processes: the live processes by pid number (shared; this class adds and removes).
        dead: ended pid number -> ``"dead"`` or ``"crashed"`` (shared).
        ended: the keyframe entries of processes that ended while recording (shared).
        scheduler, recording, registry, post: the runtime's parts.

    :attr:`signals` is set once the runtime made its :class:`Signals` (which needs
    :meth:`end`).
    """

    def __init__(
        self,
        *,
        runtime: Any,
        processes: dict[int, Process],
        dead: dict[int, str],
        ended: list[dict[str, Any]],
        scheduler: Scheduler,
        recording: Recording,
        registry: Registry,
        post: PostOffice,
    ) -> None:
        self._runtime = runtime
        self._processes = processes
        self._dead = dead
        self._ended = ended
        self._scheduler = scheduler
        self._rec = recording
        self._registry = registry
        self._post = post
        self.signals: Signals | None = None
        self._next_pid = 0

    @property
    def spawned(self) -> int:
        """How many processes were spawned so far (the next pid number)."""
        return self._next_pid

    def spawn(
        self,
        body: ProcessBody,
        *args: Any,
        name: str | None = None,
        link_to: Pid | None = None,
        behaviour: str = "process",
        supervisor: Pid | None = None,
        trap_exit: bool = False,
        register: str | None = None,
    ) -> Pid:
        """Make a process running ``await body(process, *args)`` (see ``Runtime.spawn``)."""
        if not callable(body):
            raise TypeError(f"spawn needs an async function, got {body!r}")
        if register is not None:
            owner = self._registry.whereis(register) if isinstance(register, str) else None
            if owner is not None or not isinstance(register, str) or not register:
                why = f"already registered to {owner!r}" if owner else "not a non-empty str"
                raise BadArg(f"register {register!r} failed: badarg ({why})")
        n = self._next_pid
        self._next_pid += 1
        current = self._scheduler.current
        parent = current._n if current is not None else None
        label: str = name or register or str(getattr(body, "__name__", "process"))
        sup_n = None if supervisor is None else supervisor.n
        proc = Process(self._runtime, n, label, behaviour, parent, sup_n)
        proc._trap_exit = bool(trap_exit)  # recorded in the SPAWN, not as a PROCESS_FLAG
        coro = body(proc, *args)
        if not inspect.iscoroutine(coro):
            raise TypeError(
                f"spawn needs an async function (async def), but {label} returned {coro!r}"
            )
        proc._coro = coro
        self._processes[n] = proc
        rec = self._rec
        if rec.active:
            info = {
                "name": label,
                "behaviour": behaviour,
                "parent": parent,  # None when spawned from outside any process
                "supervisor": sup_n,
                "node": "local",
            }
            if trap_exit:
                info["trap_exit"] = True
            rec.record(_SPAWN, n, NO_PEER if parent is None else parent, NO_REF, info)
        if register is not None:
            self._registry.register(register, proc.pid)
        if link_to is not None:
            assert self.signals is not None
            self.signals.link(n, link_to)
        self._scheduler.enqueue(proc)
        return proc.pid

    def end(self, proc: Process, reason: Any, exc: BaseException | None = None) -> None:
        """``proc`` ended with ``reason``: record it, notify its starter, links and monitors."""
        if not proc._alive:
            return
        proc._alive = False
        proc._waiting = False
        n = proc._n
        del self._processes[n]
        if proc._timer is not None:
            self._scheduler.timers.cancel(proc._timer)
            proc._timer = None
        self._post.ack(proc, ("error", reason))  # ended before its init acknowledged
        self._post.cancel_timers_to(n)  # erlang:send_after: timers aimed at its pid go too
        if proc._registered is not None:
            self._registry.unregister(proc._registered)
        normal = is_normal_reason(reason)
        status = "dead" if normal else "crashed"
        rec = self._rec
        if rec.active:
            if normal:
                rec.record(_EXIT, n, NO_PEER, NO_REF, {"reason": reason})
            else:
                rec.record(_CRASH, n, NO_PEER, NO_REF, crash_data(reason, exc))
            # the keyframes' entry of the ended process: its reason frozen as recorded just now
            self._ended.append(ended_entry(proc, status, freeze(reason)))
        self._dead[n] = status
        proc._mailbox.clear()
        assert self.signals is not None
        self.signals.process_ended(proc, reason)
