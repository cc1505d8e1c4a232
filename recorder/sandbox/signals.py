"""Links, monitors and exit signals, by Erlang's rules.

A link is symmetric. When a process ends, every linked process gets an exit signal with its
reason: ``"normal"`` is ignored by a process that does not trap exits, any other reason
(``"shutdown"`` included) kills it with that reason; a process that traps exits gets the message
``("EXIT", pid, reason)`` instead. ``"kill"`` sent directly cannot be trapped and kills with
reason ``"killed"``. A monitor is one-way: when the target ends, the watcher gets
``("DOWN", ref, target, reason)``, where ``target`` is what was monitored (a pid or a name).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import Pid, Ref
from recorder.sandbox.errors import NoProcError, ProcessExit

if TYPE_CHECKING:
    from recorder.sandbox.messaging import PostOffice
    from recorder.sandbox.process import Process
    from recorder.sandbox.recording import Recording
    from recorder.sandbox.registry import Registry
    from recorder.sandbox.scheduler import EndProcess, Scheduler

__all__ = ["Signals"]

_LINK = int(EventKind.LINK)
_UNLINK = int(EventKind.UNLINK)
_MONITOR = int(EventKind.MONITOR)
_DEMONITOR = int(EventKind.DEMONITOR)
_EXIT_SIGNAL = int(EventKind.EXIT_SIGNAL)


def _is_down_of(ref: Ref) -> Callable[[Any], bool]:
    def match(message: Any) -> bool:
        return (type(message) is tuple and len(message) == 4 and message[0] == "DOWN") and message[
            1
        ] == ref

    return match


class Signals:
    """Links, monitors and exit signals of one runtime.

    Args:
        processes: the live processes by pid number (shared).
        registry: resolves monitor targets given by name.
        recording: where LINK, MONITOR, EXIT_SIGNAL, ... go.
        scheduler: who is running (a signal to oneself acts at once).
        post: delivers EXIT and DOWN messages.
        end: ends a process (the runtime's).
    """

    def __init__(
        self,
        *,
        processes: dict[int, Process],
        registry: Registry,
        recording: Recording,
        scheduler: Scheduler,
        post: PostOffice,
        end: EndProcess,
    ) -> None:
        self._processes = processes
        self._registry = registry
        self._rec = recording
        self._scheduler = scheduler
        self._post = post
        self._end = end
        self._kill_queue: collections.deque[tuple[Process, Any]] = collections.deque()
        self._killing = False

    # ------------------------------------------------------------------ links

    def link(self, a_n: int, other: Pid, *, raising: bool = False) -> None:
        """Link process ``a_n`` and ``other``.

        When ``other`` does not exist: a process that traps exits gets
        ``("EXIT", other, "noproc")``; one that does not gets :class:`NoProcError` raised
        (``raising``, when it links itself) or is killed with ``noproc`` (a link made for it).
        """
        a = self._processes.get(a_n)
        if a is None:
            return
        b = self._processes.get(other.n)
        if b is None:
            if raising and not a.trap_exit:
                raise NoProcError("link to", other)
            self.exit_signal(a, other.n, "noproc", linked=True)
            return
        if b._n in a._links or a is b:
            return
        a._links[b._n] = None
        b._links[a._n] = None
        rec = self._rec
        if rec.active:
            rec.record(_LINK, a._n, b._n, NO_REF, None)

    def unlink(self, a_n: int, other: Pid) -> None:
        """Remove the link between process ``a_n`` and ``other``."""
        a = self._processes.get(a_n)
        if a is None or other.n not in a._links:
            return
        del a._links[other.n]
        b = self._processes.get(other.n)
        if b is not None:
            b._links.pop(a_n, None)
        rec = self._rec
        if rec.active:
            rec.record(_UNLINK, a_n, other.n, NO_REF, None)

    # ------------------------------------------------------------------ monitors

    def monitor(self, watcher_n: int, target: Pid | str) -> Ref:
        """``watcher_n`` monitors ``target`` (a pid or a name); a dead target gives an immediate
        ``noproc`` DOWN. The DOWN names ``target`` as given."""
        ref = self._post.make_ref()
        proc = self._registry.resolve(target)
        watcher = self._processes.get(watcher_n)
        if proc is None or watcher is None:
            self._post.system_send(NO_PEER, watcher_n, ("DOWN", ref, target, "noproc"))
            return ref
        watcher._monitors[ref.n] = proc._n
        proc._watchers[ref.n] = (watcher_n, target if isinstance(target, str) else proc.pid)
        rec = self._rec
        if rec.active:
            rec.record(_MONITOR, watcher_n, proc._n, ref.n, None)
        return ref

    def demonitor(
        self, watcher_n: int, ref: Ref, *, flush: bool = False, info: bool = False
    ) -> bool:
        """Remove monitor ``ref`` held by ``watcher_n``.

        ``flush`` also removes a DOWN of ``ref`` from the mailbox (recorded as its RECEIVE).

        Returns:
            with ``info``, whether the monitor was still there; else ``True``.
        """
        watcher = self._processes.get(watcher_n)
        if watcher is None:
            return not info
        target_n = watcher._monitors.pop(ref.n, None)
        if target_n is not None:
            target = self._processes.get(target_n)
            if target is not None:
                target._watchers.pop(ref.n, None)
            rec = self._rec
            if rec.active:
                rec.record(_DEMONITOR, watcher_n, target_n, ref.n, None)
        if flush:
            found = watcher._take(_is_down_of(ref))
            if type(found) is tuple:
                self._post.received(watcher, found)
        return (target_n is not None) if info else True

    # ------------------------------------------------------------------ exit signals

    def exit(self, target: Pid, reason: Any, sender: Pid | None = None) -> None:
        """Send an exit signal with ``reason`` to ``target`` (Erlang's ``exit/2``).

        ``"kill"`` cannot be trapped (the target dies with ``"killed"``); ``"normal"`` is ignored
        by a process that does not trap exits, unless it sent it to itself; anything else kills
        a process that does not trap exits.
        """
        proc = self._processes.get(target.n)
        if proc is None:
            return
        sender_n = sender.n if sender is not None else NO_PEER
        # A signal to oneself acts at once, like exit/2 in Erlang. `normal` ends the caller too
        # (the documented exception to "normal is ignored").
        to_self = proc is self._scheduler.current and sender_n == proc._n
        if to_self and (reason == "kill" or not proc.trap_exit):
            why = "killed" if reason == "kill" else reason
            self._record_signal(proc, sender_n, reason, trapped=False)
            proc._doomed = why  # even if the code catches the exception below
            raise ProcessExit(why)
        self.exit_signal(proc, sender_n, reason, linked=False)

    def _record_signal(self, target: Process, from_n: int, reason: Any, *, trapped: bool) -> None:
        rec = self._rec
        if rec.active:
            rec.record(
                _EXIT_SIGNAL, target._n, from_n, NO_REF, {"reason": reason, "trapped": trapped}
            )

    def exit_signal(self, target: Process, from_n: int, reason: Any, *, linked: bool) -> None:
        """Deliver one exit signal (from a link when ``linked``)."""
        if not target._alive:
            return
        if reason == "kill" and not linked:
            self._record_signal(target, from_n, reason, trapped=False)
            self.kill(target, "killed")
            return
        trapped = target.trap_exit
        self._record_signal(target, from_n, reason, trapped=trapped)
        if trapped:
            self._post.system_send(from_n, target._n, ("EXIT", Pid(from_n), reason))
        elif reason != "normal":
            self.kill(target, reason)

    def kill(self, proc: Process, reason: Any) -> None:
        """End ``proc`` from outside with ``reason`` (its ``finally`` blocks run)."""
        if not proc._alive:
            return
        self._kill_queue.append((proc, reason))
        if self._killing:
            return
        self._killing = True
        try:
            while self._kill_queue:
                victim, why = self._kill_queue.popleft()
                if not victim._alive:
                    continue
                if victim is self._scheduler.current:
                    victim._doomed = why  # ends right after its current step
                    continue
                coro = victim._coro
                if coro is not None:
                    # A `finally` that awaits raises here: there is nothing more to run.
                    with contextlib.suppress(Exception):
                        coro.close()
                self._end(victim, why, None)
        finally:
            self._killing = False

    # ------------------------------------------------------------------ a process ended

    def process_ended(self, proc: Process, reason: Any) -> None:
        """Tell everyone who watched or linked ``proc`` (already dead) that it ended."""
        n = proc._n
        processes = self._processes
        post = self._post
        for ref_n, target_n in proc._monitors.items():
            target = processes.get(target_n)
            if target is not None:
                target._watchers.pop(ref_n, None)
        for ref_n, caller_n in proc._pending_calls.items():
            post.forget_call(ref_n)
            post.system_send(n, caller_n, ("DOWN", Ref(ref_n), proc.pid, reason))
        for ref_n, (watcher_n, reported) in proc._watchers.items():
            watcher = processes.get(watcher_n)
            if watcher is not None:
                watcher._monitors.pop(ref_n, None)
                post.system_send(n, watcher_n, ("DOWN", Ref(ref_n), reported, reason))
        for other_n in proc._links:
            other = processes.get(other_n)
            if other is not None:
                other._links.pop(n, None)
                self.exit_signal(other, n, reason, linked=True)
        proc._links.clear()
        proc._watchers.clear()
        proc._pending_calls.clear()
