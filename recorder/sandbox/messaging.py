"""GenServer client messages and timers (a mixin of :class:`~recorder.sandbox.Runtime`).

Casts, replies and synchronous calls from outside the scheduler, and ``send_after`` timers.
"""

from __future__ import annotations

import abc
from typing import Any

from recorder.events import NO_PEER, NO_PID, EventKind
from recorder.payload import Pid, Ref
from recorder.sandbox.errors import BadArg, CallError
from recorder.sandbox.process import From, Process, ProcessBody
from recorder.sandbox.scheduler import SchedulerBase
from recorder.sandbox.timers import TimerEntry

__all__ = ["MessagingMixin"]

_DROP = int(EventKind.DROP)


class MessagingMixin(SchedulerBase):
    """Casts, replies, outside calls and timers. Needs the runtime's send and spawn."""

    registry: dict[str, int]
    _next_id: int
    _send_after_timers: dict[int, TimerEntry]

    @abc.abstractmethod
    def send_from(self, sender_n: int, to: Pid | str, message: Any) -> int: ...

    @abc.abstractmethod
    def make_ref(self) -> Ref: ...

    @abc.abstractmethod
    def spawn(self, body: ProcessBody, *args: Any, name: str | None = None) -> Pid: ...

    # ------------------------------------------------------------------ GenServer messages

    def cast_from(self, sender_n: int, target: Pid | str, request: Any) -> None:
        """Send ``("$cast", request)``; an unknown name is silently ignored, as in OTP."""
        if isinstance(target, str) and target not in self.registry:
            self._next_id += 1
            self.emit_raw(
                _DROP, sender_n, NO_PEER, self._next_id, {"reason": "noproc", "name": target}
            )
            return
        self.send_from(sender_n, target, ("$cast", request))

    def cast(self, target: Pid | str, request: Any) -> None:
        """Cast to a GenServer from outside any process."""
        self.cast_from(NO_PID, target, request)

    def reply_from(self, server_n: int, to: From, value: Any) -> None:
        """Reply ``value`` to the caller ``to`` of a call that ``server_n`` received."""
        caller, ref = to
        server = self.processes.get(server_n)
        if server is not None:
            server.pending_calls.pop(ref.n, None)
        self.send_from(server_n, caller, ("$reply", ref, value))

    def call(self, target: Pid | str, request: Any, timeout: float | None = 5000) -> Any:
        """Call a GenServer from outside the scheduler: runs it until the reply arrives.

        Inside a process use ``await proc.call(...)`` instead.

        Raises:
            CallError: ``noproc``, ``timeout``, or the server's exit reason.
        """
        if self._running:
            raise RuntimeError("Runtime.call() from inside a process: use `await proc.call()`")
        outcome: list[Any] = []

        async def caller(proc: Process) -> None:
            try:
                outcome.append(("ok", await proc.call(target, request, timeout)))
            except CallError as exc:
                outcome.append(("error", exc))
            self.stop()

        self.spawn(caller, name="$caller")
        self.run()
        if not outcome:
            raise CallError("timeout", target, request)
        status, value = outcome[0]
        if status == "error":
            raise value
        return value

    # ------------------------------------------------------------------ timers

    def send_after(
        self, ms: float, to: Pid | str, message: Any, *, sender: Pid | None = None
    ) -> Ref:
        """Send ``message`` to ``to`` after ``ms`` ms; returns a ref for :meth:`cancel_timer`."""
        ref = self.make_ref()
        sender_n = sender.n if sender is not None else NO_PID
        entry = self.timers.add(
            self.clock() + int(ms * 1e6), self._fire_send_after, (ref.n, sender_n, to, message)
        )
        self._send_after_timers[ref.n] = entry
        return ref

    def _fire_send_after(self, arg: tuple[int, int, Pid | str, Any]) -> None:
        ref_n, sender_n, to, message = arg
        self._send_after_timers.pop(ref_n, None)
        try:
            self.send_from(sender_n, to, message)
        except BadArg:  # the name was unregistered meanwhile: the message goes nowhere
            self._next_id += 1
            self.emit_raw(_DROP, sender_n, NO_PEER, self._next_id, {"reason": "noproc", "name": to})

    def cancel_timer(self, ref: Ref) -> float | None:
        """Cancel a :meth:`send_after` timer; the ms it had left, or ``None`` if already fired."""
        entry = self._send_after_timers.pop(ref.n, None)
        if entry is None or not self.timers.cancel(entry):
            return None
        deadline: int = entry[0]
        return max(0.0, (deadline - self.clock()) / 1e6)
