"""A process: a mailbox, links, monitors, and the API its coroutine uses (the "context").

A process body is ``async def body(proc: Process, *args)``. Inside it, ``proc`` sends, receives
(selectively, with a timeout), spawns, links, monitors, registers, sets timers and calls
GenServers. Everything a process does goes through the :class:`~recorder.sandbox.Runtime` that
owns it, which records it.
"""

from __future__ import annotations

import collections
import types
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from recorder.events import EventKind
from recorder.payload import Pid, Ref
from recorder.sandbox.errors import CallError, ProcessExit, ReceiveTimeout
from recorder.sandbox.patterns import compile_pattern

if TYPE_CHECKING:
    from recorder.sandbox.runtime import Runtime
    from recorder.sandbox.timers import TimerEntry

__all__ = ["Envelope", "From", "Process", "ProcessBody"]

#: ``(message id, sender pid number, message)`` as queued in a mailbox.
Envelope = tuple[int, int, Any]
#: Who to reply to: ``(caller pid, call reference)``; handed to ``GenServer.handle_call``.
From = tuple[Pid, Ref]
ProcessBody = Callable[..., Coroutine[Any, Any, Any]]

PARK: Any = object()  # yielded to the scheduler: wait to be woken (message, timer)
YIELD: Any = object()  # yielded to the scheduler: run again later (fairness)
_NOTHING: Any = object()
NOT_DOOMED: Any = object()  # Process.doomed when no exit is pending
TIMED_OUT: Any = object()

_RECEIVE = int(EventKind.RECEIVE)

#: Messages a process takes from its mailbox in one go before yielding to others.
RECEIVE_BUDGET = 32


@types.coroutine
def _suspend(op: Any) -> Generator[Any, Any, Any]:
    return (yield op)


class Process:
    """One sandbox process. Its coroutine receives it as first argument.

    Attributes:
        pid: the process id (record-friendly :class:`~recorder.payload.Pid`).
        name: display name (registered name, or the function / class name).
        behaviour: ``"process"``, ``"gen_server"``, ``"supervisor"`` or a custom label.
        trap_exit: when true, exit signals from links arrive as ``("EXIT", pid, reason)``
            messages instead of killing this process.
        state: the GenServer state (``None`` for plain processes).
    """

    __slots__ = (
        "alive",
        "behaviour",
        "budget",
        "coro",
        "cpu_ns",
        "doomed",
        "handled",
        "has_state",
        "links",
        "mailbox",
        "match",
        "monitors",
        "n",
        "name",
        "parent",
        "pending_calls",
        "pid",
        "profile_mark",
        "queued",
        "recorded_state",
        "registered",
        "restarts",
        "resume_value",
        "runtime",
        "state",
        "supervisor",
        "suspended",
        "timer",
        "trap_exit",
        "waiting",
        "wake_pending",
        "watchers",
    )

    def __init__(
        self,
        runtime: Runtime,
        n: int,
        name: str,
        behaviour: str,
        parent: int | None,
        supervisor: int | None,
    ) -> None:
        self.runtime = runtime
        self.n = n
        self.pid = Pid(n)
        self.name = name
        self.behaviour = behaviour
        self.parent = parent
        self.supervisor = supervisor
        self.mailbox: collections.deque[Envelope] = collections.deque()
        self.links: dict[int, None] = {}  # an ordered set: deterministic iteration
        self.monitors: dict[int, int] = {}  # monitor ref -> target pid (held by this process)
        self.watchers: dict[int, int] = {}  # monitor ref -> watcher pid (watching this process)
        self.pending_calls: dict[int, int] = {}  # call ref -> caller pid, until replied
        self.trap_exit = False
        self.coro: Coroutine[Any, Any, Any] | None = None
        self.alive = True
        self.doomed: Any = NOT_DOOMED
        self.queued = False
        self.waiting = False
        self.match: Callable[[Any], bool] | None = None
        self.resume_value: Any = None
        self.timer: TimerEntry | None = None
        self.suspended = False
        self.wake_pending = False
        self.state: Any = None
        self.has_state = False
        self.recorded_state: Any = None  # the state as of its last STATE event
        self.handled = 0
        self.cpu_ns = 0
        self.restarts = 0
        self.registered: str | None = None
        self.budget = RECEIVE_BUDGET
        self.profile_mark: tuple[int, int, int] | None = None

    def __repr__(self) -> str:
        return f"<Process {self.name} {self.pid!r}{'' if self.alive else ' dead'}>"

    @property
    def status(self) -> str:
        """``"running"`` (has work), ``"waiting"`` (idle in receive / sleep) or ``"suspended"``."""
        if self.suspended:
            return "suspended"
        return "running" if self.queued or self.runtime.current is self else "waiting"

    # ------------------------------------------------------------------ messages

    def send(self, to: Pid | str, message: Any) -> None:
        """Send ``message`` to a pid or a registered name. Never blocks.

        Raises:
            BadArg: ``to`` is a name nobody registered (a dead pid is not an error: the message
                is dropped and recorded with reason ``noproc``, as in Erlang).
        """
        self.runtime.send_from(self.n, to, message)

    async def receive(self, match: Any = None, timeout: float | None = None) -> Any:
        """Take the oldest message that matches ``match`` out of the mailbox, waiting for one.

        Args:
            match: a pattern or predicate (see :mod:`recorder.sandbox.patterns`); ``None`` takes
                the oldest message. Messages that do not match stay queued, in order.
            timeout: milliseconds to wait; ``None`` waits forever, ``0`` only looks.

        Raises:
            ReceiveTimeout: nothing matched in time (recorded as a TIMEOUT event).
        """
        if match is None and self.budget > 0:
            mailbox = self.mailbox
            if mailbox:  # fast path: a message is already there, no need to park
                self.budget -= 1
                envelope = mailbox.popleft()
                self.handled += 1
                emit = self.runtime.emit
                if emit is not None:
                    emit(_RECEIVE, self.n, envelope[1], envelope[0], None)
                return envelope[2]
        envelope = await self.receive_envelope(
            None if match is None else compile_pattern(match), timeout
        )
        return envelope[2]

    async def receive_envelope(
        self,
        match: Callable[[Any], bool] | None = None,
        timeout: float | None = None,
        call: tuple[int, int] | None = None,
    ) -> Envelope:
        """Like :meth:`receive` with a compiled predicate; returns ``(msg id, sender, message)``.

        ``call`` is ``(server pid, call message id)`` when waiting for a call's reply: a timeout
        is then recorded as a call timeout.
        """
        rt = self.runtime
        found = self._take(match)
        if found is not _NOTHING and self.budget > 0:
            self.budget -= 1
            return rt.on_received(self, found)
        self.budget = RECEIVE_BUDGET
        if found is not _NOTHING:  # out of budget: let others run, then take it
            self.mailbox.appendleft(found)  # _take removed it; it was the first match
            await _suspend(YIELD)
            found = self._take(match)
            if found is not _NOTHING:
                return rt.on_received(self, found)
        if timeout is not None:
            if timeout <= 0:
                raise rt.on_receive_timeout(self, timeout, call)
            self.timer = rt.arm_receive_timeout(self, timeout)
        self.match = match
        while True:
            self.waiting = True
            woken = await _suspend(PARK)
            if woken is TIMED_OUT:
                self.match = None
                raise rt.on_receive_timeout(self, timeout or 0, call)
            found = self._take(match)
            if found is not _NOTHING:
                self.match = None
                if self.timer is not None:
                    rt.timers.cancel(self.timer)
                    self.timer = None
                return rt.on_received(self, found)

    def _take(self, match: Callable[[Any], bool] | None) -> Any:
        mailbox = self.mailbox
        if not mailbox:
            return _NOTHING
        if match is None:
            return mailbox.popleft()
        for i, envelope in enumerate(mailbox):
            if match(envelope[2]):
                del mailbox[i]
                return envelope
        return _NOTHING

    async def sleep(self, ms: float) -> None:
        """Wait ``ms`` milliseconds of runtime time (virtual time in deterministic mode)."""
        self.runtime.arm_wakeup(self, ms)
        await _suspend(PARK)

    async def yield_now(self) -> None:
        """Let other runnable processes run before continuing."""
        await _suspend(YIELD)

    # ------------------------------------------------------------------ processes

    def spawn(
        self, body: ProcessBody, *args: Any, name: str | None = None, link: bool = False
    ) -> Pid:
        """Start a new process running ``body(new_process, *args)``; optionally linked."""
        return self.runtime.spawn(body, *args, name=name, link_to=self.pid if link else None)

    def spawn_link(self, body: ProcessBody, *args: Any, name: str | None = None) -> Pid:
        """:meth:`spawn` with ``link=True`` (atomically: the link exists before it runs)."""
        return self.spawn(body, *args, name=name, link=True)

    def link(self, other: Pid) -> None:
        """Link to ``other``: when either exits abnormally, the other gets an exit signal."""
        self.runtime.link(self.n, other)

    def unlink(self, other: Pid) -> None:
        """Remove the link to ``other`` (if any)."""
        self.runtime.unlink(self.n, other)

    def monitor(self, target: Pid | str) -> Ref:
        """Monitor ``target``: when it exits, ``("DOWN", ref, pid, reason)`` arrives."""
        return self.runtime.monitor(self.n, target)

    def demonitor(self, ref: Ref) -> None:
        """Remove a monitor taken with :meth:`monitor`."""
        self.runtime.demonitor(self.n, ref)

    def register(self, name: str) -> None:
        """Register this process under ``name`` (see :meth:`Runtime.register`)."""
        self.runtime.register(name, self.pid)

    def exit(self, reason: Any = "normal") -> None:
        """End this process now with ``reason`` (raises :class:`ProcessExit`)."""
        raise ProcessExit(reason)

    def exit_process(self, target: Pid, reason: Any) -> None:
        """Send an exit signal to ``target`` (``"kill"`` cannot be trapped)."""
        self.runtime.exit(target, reason, sender=self.pid)

    def send_after(self, ms: float, to: Pid | str, message: Any) -> Ref:
        """Send ``message`` to ``to`` after ``ms`` milliseconds; returns a timer reference."""
        return self.runtime.send_after(ms, to, message, sender=self.pid)

    def cancel_timer(self, ref: Ref) -> float | None:
        """Cancel a timer; returns the milliseconds it had left, or ``None`` if it had fired."""
        return self.runtime.cancel_timer(ref)

    # ------------------------------------------------------------------ GenServer client

    async def call(self, target: Pid | str, request: Any, timeout: float | None = 5000) -> Any:
        """Call a GenServer and wait for its reply.

        Raises:
            CallError: reason ``"noproc"`` (no such process), ``"timeout"``, or the server's
                exit reason if it died before replying.
        """
        rt = self.runtime
        server = rt.resolve(target)
        if server is None:
            raise CallError("noproc", target, request)
        ref = rt.make_ref()
        msg_id = rt.send_from(self.n, server.pid, ("$call", (self.pid, ref), request))
        server.pending_calls[ref.n] = self.n

        def is_answer(message: Any) -> bool:
            return (
                type(message) is tuple
                and len(message) >= 3
                and message[1] == ref
                and (message[0] == "$reply" or message[0] == "DOWN")
            )

        try:
            answer = await self.receive_envelope(is_answer, timeout, call=(server.n, msg_id))
        except ReceiveTimeout:
            server.pending_calls.pop(ref.n, None)
            raise CallError("timeout", target, request) from None
        message = answer[2]
        if message[0] == "$reply":
            return message[2]
        raise CallError(message[3], target, request)

    def cast(self, target: Pid | str, request: Any) -> None:
        """Send an asynchronous request to a GenServer (``handle_cast``); never fails."""
        self.runtime.cast_from(self.n, target, request)

    def reply(self, to: From, value: Any) -> None:
        """Reply to a call received earlier (``handle_call`` returned ``("noreply", state)``)."""
        self.runtime.reply_from(self.n, to, value)

    # ------------------------------------------------------------------ observability

    def marker(self, label: str, **data: Any) -> None:
        """Record a MARKER event from this process."""
        self.runtime.marker(label, pid=self.pid, **data)

    def breakpoint(self, name: str) -> None:
        """Record a BREAKPOINT hit in this process (and pause, if a pause handler is set)."""
        self.runtime.breakpoint(name, pid=self.pid)
