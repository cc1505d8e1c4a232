"""Links, exit signals, monitors and the name registry (a mixin of :class:`Runtime`).

Erlang semantics: a link is symmetric; when a process ends with an abnormal reason, every
linked process gets an exit signal and dies with the same reason, unless it traps exits, in
which case the signal arrives as the message ``("EXIT", pid, reason)``. The reason ``"normal"``
kills nobody; ``"kill"`` sent directly cannot be trapped and kills with reason ``"killed"``.
A monitor is one-way: when the target ends, the watcher gets ``("DOWN", ref, pid, reason)``.
"""

from __future__ import annotations

import abc
import collections
import contextlib
from typing import Any

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import Pid, Ref
from recorder.sandbox.errors import BadArg
from recorder.sandbox.process import Process
from recorder.sandbox.scheduler import SchedulerBase

__all__ = ["SignalsMixin"]

_LINK = int(EventKind.LINK)
_UNLINK = int(EventKind.UNLINK)
_MONITOR = int(EventKind.MONITOR)
_DEMONITOR = int(EventKind.DEMONITOR)
_EXIT_SIGNAL = int(EventKind.EXIT_SIGNAL)
_REGISTER = int(EventKind.REGISTER)
_UNREGISTER = int(EventKind.UNREGISTER)
_NO_REASON: Any = object()


class SignalsMixin(SchedulerBase):
    """Links, monitors, exit signals and names. Needs ``system_send`` and ``make_ref``."""

    registry: dict[str, int]
    _kill_queue: collections.deque[tuple[Process, Any]]
    _killing: bool

    @abc.abstractmethod
    def system_send(self, sender_n: int, target_n: int, message: Any) -> None: ...

    @abc.abstractmethod
    def make_ref(self) -> Ref: ...

    # ------------------------------------------------------------------ lookup

    def resolve(self, target: Pid | str) -> Process | None:
        """The live process at a pid or registered name, or ``None``."""
        if type(target) is Pid:
            return self.processes.get(target.n)
        if isinstance(target, str):
            n = self.registry.get(target)
            return None if n is None else self.processes.get(n)
        if isinstance(target, Pid):
            return self.processes.get(target.n)
        raise BadArg(f"expected a Pid or a registered name, got {target!r}")

    def _process_or_badarg(self, target: Pid | str, what: str) -> Process | None:
        if isinstance(target, str) and target not in self.registry:
            raise BadArg(f"{what} {target!r} failed: badarg (no process is registered as it)")
        return self.resolve(target)

    # ------------------------------------------------------------------ registry

    def register(self, name: str, pid: Pid) -> None:
        """Register ``pid`` under ``name`` (recorded as REGISTER).

        Raises:
            BadArg: the name is taken, the process already has a name, or it is not alive.
        """
        if not isinstance(name, str) or not name:
            raise BadArg(f"register: a name must be a non-empty str, not {name!r}")
        proc = self.processes.get(pid.n)
        if proc is None:
            raise BadArg(f"register {name!r} failed: badarg ({pid!r} is not alive)")
        if name in self.registry:
            owner = Pid(self.registry[name])
            raise BadArg(f"register {name!r} failed: badarg (already registered to {owner!r})")
        if proc.registered is not None:
            raise BadArg(
                f"register {name!r} failed: badarg ({pid!r} is already registered as "
                f"{proc.registered!r})"
            )
        self.registry[name] = proc.n
        proc.registered = name
        self.emit_raw(_REGISTER, proc.n, NO_PEER, NO_REF, {"name": name})

    def unregister(self, name: str) -> None:
        """Remove a registered name (recorded as UNREGISTER).

        Raises:
            BadArg: no process is registered under ``name``.
        """
        n = self.registry.pop(name, None)
        if n is None:
            raise BadArg(f"unregister {name!r} failed: badarg (no process is registered as it)")
        proc = self.processes.get(n)
        if proc is not None:
            proc.registered = None
        self.emit_raw(_UNREGISTER, n, NO_PEER, NO_REF, {"name": name})

    def whereis(self, name: str) -> Pid | None:
        """The pid registered under ``name``, or ``None``."""
        n = self.registry.get(name)
        return None if n is None else Pid(n)

    # ------------------------------------------------------------------ links

    def link(self, a_n: int, other: Pid) -> None:
        """Link process ``a_n`` and ``other`` (a dead ``other`` sends ``a`` a ``noproc`` exit)."""
        a = self.processes.get(a_n)
        if a is None:
            return
        b = self.processes.get(other.n)
        if b is None:
            self.exit_signal(a, other.n, "noproc", linked=True)
            return
        if b.n in a.links or a is b:
            return
        a.links[b.n] = None
        b.links[a.n] = None
        self.emit_raw(_LINK, a.n, b.n)

    def unlink(self, a_n: int, other: Pid) -> None:
        """Remove the link between process ``a_n`` and ``other``."""
        a = self.processes.get(a_n)
        if a is None or other.n not in a.links:
            return
        del a.links[other.n]
        b = self.processes.get(other.n)
        if b is not None:
            b.links.pop(a_n, None)
        self.emit_raw(_UNLINK, a_n, other.n)

    # ------------------------------------------------------------------ monitors

    def monitor(self, watcher_n: int, target: Pid | str) -> Ref:
        """``watcher_n`` monitors ``target``; a dead target gives an immediate ``noproc`` DOWN."""
        ref = self.make_ref()
        proc = self.resolve(target)
        watcher = self.processes.get(watcher_n)
        if proc is None or watcher is None:
            self.system_send(NO_PEER, watcher_n, ("DOWN", ref, target, "noproc"))
            return ref
        watcher.monitors[ref.n] = proc.n
        proc.watchers[ref.n] = watcher_n
        self.emit_raw(_MONITOR, watcher_n, proc.n, ref.n)
        return ref

    def demonitor(self, watcher_n: int, ref: Ref) -> None:
        """Remove monitor ``ref`` held by ``watcher_n`` (no-op if it already fired)."""
        watcher = self.processes.get(watcher_n)
        if watcher is None:
            return
        target_n = watcher.monitors.pop(ref.n, None)
        if target_n is None:
            return
        target = self.processes.get(target_n)
        if target is not None:
            target.watchers.pop(ref.n, None)
        self.emit_raw(_DEMONITOR, watcher_n, target_n, ref.n)

    # ------------------------------------------------------------------ exit signals

    def exit(self, target: Pid, reason: Any, sender: Pid | None = None) -> None:
        """Send an exit signal with ``reason`` to ``target`` (Erlang's ``exit/2``).

        ``"kill"`` cannot be trapped (the target dies with ``"killed"``); ``"normal"`` is ignored
        by a process that does not trap exits; anything else kills it unless it traps exits.
        """
        proc = self.processes.get(target.n)
        if proc is None:
            return
        sender_n = sender.n if sender is not None else NO_PEER
        if proc is self.current and reason != "normal" and not proc.trap_exit:
            from recorder.sandbox.errors import ProcessExit

            raise ProcessExit("killed" if reason == "kill" else reason)
        self.exit_signal(proc, sender_n, reason, linked=False)

    def exit_signal(self, target: Process, from_n: int, reason: Any, *, linked: bool) -> None:
        """Deliver one exit signal (from a link when ``linked``)."""
        if not target.alive:
            return
        if reason == "kill" and not linked:
            self.emit_raw(
                _EXIT_SIGNAL, target.n, from_n, NO_REF, {"reason": reason, "trapped": False}
            )
            self.kill(target, "killed")
            return
        trapped = target.trap_exit
        self.emit_raw(
            _EXIT_SIGNAL, target.n, from_n, NO_REF, {"reason": reason, "trapped": trapped}
        )
        if trapped:
            self.system_send(from_n, target.n, ("EXIT", Pid(from_n), reason))
        elif reason != "normal":
            self.kill(target, reason)

    def kill(self, proc: Process, reason: Any) -> None:
        """End ``proc`` from outside with ``reason`` (its ``finally`` blocks run)."""
        if not proc.alive:
            return
        self._kill_queue.append((proc, reason))
        if self._killing:
            return
        self._killing = True
        try:
            while self._kill_queue:
                victim, why = self._kill_queue.popleft()
                if not victim.alive:
                    continue
                if victim is self.current:
                    victim.doomed = why  # ends right after its current step
                    continue
                coro = victim.coro
                if coro is not None:
                    # A `finally` that awaits raises here: there is nothing more to run.
                    with contextlib.suppress(Exception):
                        coro.close()
                self.finish(victim, why, None)
        finally:
            self._killing = False
