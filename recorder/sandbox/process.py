"""A process: the API its coroutine uses (send, receive, spawn, link, call, ...).

A process body is ``async def body(proc: Process, *args)``. Inside it, ``proc`` sends, receives
(selectively, with a timeout), spawns, starts GenServers, links, monitors, registers, sets
timers and calls GenServers. Everything a process does goes through the
:class:`~recorder.sandbox.Runtime` that owns it, which records it.

A :class:`Process` is the user's handle. Its bookkeeping (mailbox, links, monitors, scheduling
flags) lives in underscored slots that only the runtime's own modules touch; read it through
:func:`~recorder.sandbox.process_info`.
"""

from __future__ import annotations

import collections
import types
from collections.abc import Callable, Coroutine, Generator
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import Pid, Ref
from recorder.sandbox.errors import ProcessExit
from recorder.sandbox.patterns import compile_pattern

if TYPE_CHECKING:
    from recorder.sandbox.runtime import Runtime
    from recorder.sandbox.timers import TimerEntry

__all__ = ["Envelope", "From", "Process", "ProcessBody"]

#: ``(message id, sender pid number, message, as recorded)`` as queued in a mailbox; the last
#: is the message as its SEND event recorded it (frozen if it could change), ``None`` when
#: nothing records; keyframes show it instead of the live object.
Envelope = tuple[int, int, Any, Any]
#: Who to reply to: ``(caller pid, call reference)``; handed to ``GenServer.handle_call``.
From = tuple[Pid, Ref]
ProcessBody = Callable[..., Coroutine[Any, Any, Any]]

PARK: Any = object()  # yielded to the scheduler: wait to be woken (message, timer)
YIELD: Any = object()  # yielded to the scheduler: run again later (fairness)
NOTHING: Any = object()  # "no message matched"
NOT_DOOMED: Any = object()  # Process._doomed when no exit is pending
TIMED_OUT: Any = object()

_RECEIVE = int(EventKind.RECEIVE)
_PROCESS_FLAG = int(EventKind.PROCESS_FLAG)

#: Messages a process takes from its mailbox in one go before yielding to others.
RECEIVE_BUDGET = 32


@types.coroutine
def suspend(op: Any) -> Generator[Any, Any, Any]:
    """Hand ``op`` (:data:`PARK` or :data:`YIELD`) to the scheduler; returns the wake value."""
    return (yield op)


class Process:
    """One sandbox process. Its coroutine receives it as first argument.

    Attributes:
        pid: the process id (record-friendly :class:`~recorder.payload.Pid`).
        name: display name (registered name, or the function / class name).
        behaviour: ``"process"``, ``"gen_server"``, ``"supervisor"`` or a custom label.
        runtime: the :class:`~recorder.sandbox.Runtime` running it.
        trap_exit: when true, exit signals arrive as ``("EXIT", pid, reason)`` messages instead
            of killing this process (``"kill"`` excepted).
    """

    __slots__ = (
        "_ack",
        "_alive",
        "_budget",
        "_coro",
        "_cpu_ns",
        "_doomed",
        "_handled",
        "_has_state",
        "_links",
        "_mailbox",
        "_match",
        "_monitors",
        "_n",
        "_parent",
        "_pending_calls",
        "_post",
        "_profile_mark",
        "_queued",
        "_rec",
        "_recorded_state",
        "_registered",
        "_restarts",
        "_resume_value",
        "_sampled_memory",
        "_state",
        "_supervisor",
        "_suspended",
        "_timer",
        "_trap_exit",
        "_waiting",
        "_wake_pending",
        "_watchers",
        "behaviour",
        "name",
        "pid",
        "runtime",
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
        self.pid = Pid(n)
        self.name = name
        self.behaviour = behaviour
        self._trap_exit = False
        self._n = n
        self._post = runtime.post
        self._rec = runtime.recording
        self._parent = parent
        self._supervisor = supervisor
        self._mailbox: collections.deque[Envelope] = collections.deque()
        self._links: dict[int, None] = {}  # an ordered set: deterministic iteration
        self._monitors: dict[int, int] = {}  # monitor ref -> target pid (held by this process)
        # monitor ref -> (watcher pid, what its DOWN names: the pid, or the name it was taken by)
        self._watchers: dict[int, tuple[int, Any]] = {}
        self._pending_calls: dict[int, int] = {}  # call ref -> caller pid, until replied
        self._ack: tuple[int, int] | None = None  # (starter pid, ref) until init acknowledges
        self._coro: Coroutine[Any, Any, Any] | None = None
        self._alive = True
        self._doomed: Any = NOT_DOOMED
        self._queued = False
        self._waiting = False
        self._match: Callable[[Any], bool] | None = None
        self._resume_value: Any = None
        self._timer: TimerEntry | None = None
        self._suspended = False
        self._wake_pending = False
        self._state: Any = None
        self._has_state = False
        self._recorded_state: Any = None  # the state as of its last STATE event (frozen)
        self._handled = 0
        self._cpu_ns = 0
        self._restarts = 0
        self._registered: str | None = None
        self._budget = RECEIVE_BUDGET
        # (handled, cpu_ns, mailbox_len) and memory as of the last PROFILE sample: what the
        # recorded world shows between samples (docs/world-schema.md)
        self._profile_mark: tuple[int, int, int] | None = None
        self._sampled_memory = 0

    def __repr__(self) -> str:
        return f"<Process {self.name} {self.pid!r}{'' if self._alive else ' dead'}>"

    # ------------------------------------------------------------------ read-only facts

    @property
    def alive(self) -> bool:
        """Whether the process is still running (it has not exited)."""
        return self._alive

    @property
    def status(self) -> str:
        """``"running"`` (has work), ``"waiting"`` (idle in receive / sleep) or ``"suspended"``."""
        if self._suspended:
            return "suspended"
        return "running" if self._queued or self.runtime.current is self else "waiting"

    @property
    def trap_exit(self) -> bool:
        """Whether exit signals arrive as ``("EXIT", pid, reason)`` messages (see the class)."""
        return self._trap_exit

    @trap_exit.setter
    def trap_exit(self, value: bool) -> None:
        # erlang:process_flag(trap_exit, V): recorded as PROCESS_FLAG when it changes, so the
        # recorded world knows it (docs/world-schema.md)
        flag = bool(value)
        if flag is self._trap_exit:
            return
        self._trap_exit = flag
        rec = self._rec
        if rec.active:
            data = {"flag": "trap_exit", "value": flag}
            rec.record(_PROCESS_FLAG, self._n, NO_PEER, NO_REF, data)

    @property
    def registered(self) -> str | None:
        """The name this process is registered under, if any."""
        return self._registered

    @property
    def state(self) -> Any:
        """The GenServer state (``None`` for plain processes); change it with
        :meth:`Runtime.replace_state <recorder.sandbox.Runtime.replace_state>`."""
        return self._state

    @property
    def mailbox_len(self) -> int:
        """How many messages wait in the mailbox."""
        return len(self._mailbox)

    @property
    def parent(self) -> Pid | None:
        """The process that spawned (or started) this one; ``None`` when started from outside."""
        return None if self._parent is None else Pid(self._parent)

    @property
    def supervisor(self) -> Pid | None:
        """The supervisor of this process, if any."""
        return None if self._supervisor is None else Pid(self._supervisor)

    # ------------------------------------------------------------------ messages

    def send(self, to: Pid | str, message: Any) -> None:
        """Send ``message`` to a pid or a registered name. Never blocks.

        Raises:
            BadArg: ``to`` is a name nobody registered (a dead pid is not an error: the message
                is dropped and recorded with reason ``noproc``, as in Erlang).
        """
        self._post.send_from(self._n, to, message)

    async def receive(self, match: Any = None, timeout: float | None = None) -> Any:
        """Take the oldest message that matches ``match`` out of the mailbox, waiting for one.

        Args:
            match: a pattern or predicate (see :mod:`recorder.sandbox.patterns`); ``None`` takes
                the oldest message. Messages that do not match stay queued, in order.
            timeout: milliseconds to wait; ``None`` waits forever, ``0`` only looks.

        Raises:
            ReceiveTimeout: nothing matched in time (recorded as a TIMEOUT event).
        """
        if match is None and self._budget > 0:
            mailbox = self._mailbox
            if mailbox:  # fast path: a message is already there, no need to park
                self._budget -= 1
                envelope = mailbox.popleft()
                self._handled += 1
                rec = self._rec
                if rec.active:
                    rec.record(_RECEIVE, self._n, envelope[1], envelope[0], None)
                return envelope[2]
        envelope = await self._receive_envelope(
            None if match is None else compile_pattern(match), timeout
        )
        return envelope[2]

    async def _receive_envelope(
        self,
        match: Callable[[Any], bool] | None = None,
        timeout: float | None = None,
        call: tuple[int, int] | None = None,
    ) -> Envelope:
        """Like :meth:`receive` with a compiled predicate; returns ``(msg id, sender, message)``.

        ``call`` is ``(server pid, call message id)`` when waiting for a call's reply: a timeout
        is then recorded as a call timeout.
        """
        post = self._post
        at = self._find(match)
        if at >= 0 and self._budget > 0:
            self._budget -= 1
            found = self._mailbox[at]
            del self._mailbox[at]
            return post.received(self, found)
        self._budget = RECEIVE_BUDGET
        if at >= 0:  # out of budget: let others run, then take it (it stays where it is)
            await suspend(YIELD)
            found = self._take(match)
            if found is not NOTHING:
                return post.received(self, found)
        if timeout is not None:
            if timeout <= 0:
                raise post.receive_timed_out(self, timeout, call)
            self._timer = post.arm_receive_timeout(self, timeout)
        self._match = match
        while True:
            self._waiting = True
            woken = await suspend(PARK)
            if woken is TIMED_OUT:
                self._match = None
                raise post.receive_timed_out(self, timeout or 0, call)
            found = self._take(match)
            if found is not NOTHING:
                self._match = None
                if self._timer is not None:
                    post.cancel_entry(self._timer)
                    self._timer = None
                return post.received(self, found)

    def _take(self, match: Callable[[Any], bool] | None) -> Any:
        at = self._find(match)
        if at < 0:
            return NOTHING
        mailbox = self._mailbox
        envelope = mailbox[at]
        del mailbox[at]
        return envelope

    def _find(self, match: Callable[[Any], bool] | None) -> int:
        """The index of the oldest message ``match`` takes (``-1``: none)."""
        mailbox = self._mailbox
        if not mailbox:
            return -1
        if match is None:
            return 0
        for i, envelope in enumerate(mailbox):
            if match(envelope[2]):
                return i
        return -1

    async def sleep(self, ms: float) -> None:
        """Wait ``ms`` milliseconds of runtime time (virtual time in deterministic mode)."""
        self.runtime.scheduler.arm_wakeup(self, ms)
        await suspend(PARK)

    async def yield_now(self) -> None:
        """Let other runnable processes run before continuing."""
        await suspend(YIELD)

    # ------------------------------------------------------------------ processes

    def spawn(
        self, body: ProcessBody, *args: Any, name: str | None = None, link: bool = False
    ) -> Pid:
        """Start a new process running ``body(new_process, *args)``; optionally linked."""
        return self.runtime.spawn(body, *args, name=name, link_to=self.pid if link else None)

    def spawn_link(self, body: ProcessBody, *args: Any, name: str | None = None) -> Pid:
        """:meth:`spawn` with ``link=True`` (atomically: the link exists before it runs)."""
        return self.spawn(body, *args, name=name, link=True)

    async def start(
        self, server: Any, *args: Any, name: str | None = None, link: bool = False
    ) -> Pid:
        """Start a GenServer and wait until its ``init`` finished (``gen_server:start``).

        This process is the server's parent: an ``("EXIT", this pid, reason)`` from it stops a
        server that traps exits. ``link=True`` links the two first (``start_link``).

        Raises:
            StartError: ``init`` returned ``("stop", reason)`` or raised, or ``name`` is taken
                (reason ``("already_started", pid)``).
        """
        return await self.runtime.starter.start_from(self, server, *args, name=name, link=link)

    async def start_link(self, server: Any, *args: Any, name: str | None = None) -> Pid:
        """:meth:`start` with ``link=True``, like ``gen_server:start_link``."""
        return await self.start(server, *args, name=name, link=True)

    def link(self, other: Pid) -> bool:
        """Link to ``other``: when either exits abnormally, the other gets an exit signal.

        Returns ``True``, as Erlang's ``link/1``.

        Raises:
            NoProcError: ``other`` does not exist and this process does not trap exits (one
                that traps gets ``("EXIT", other, "noproc")`` instead).
        """
        self.runtime.signals.link(self._n, other, raising=True)
        return True

    def unlink(self, other: Pid) -> None:
        """Remove the link to ``other`` (if any)."""
        self.runtime.signals.unlink(self._n, other)

    def monitor(self, target: Pid | str) -> Ref:
        """Monitor ``target``: when it exits, ``("DOWN", ref, target, reason)`` arrives.

        ``target`` in the DOWN message is what was monitored: the pid, or the registered name
        (a name nobody holds gives an immediate DOWN with reason ``"noproc"``).
        """
        return self.runtime.signals.monitor(self._n, target)

    def demonitor(self, ref: Ref, *, flush: bool = False, info: bool = False) -> bool:
        """Remove a monitor taken with :meth:`monitor` (``erlang:demonitor/2``).

        Args:
            flush: also remove a ``("DOWN", ref, ...)`` message already in the mailbox.
            info: return whether the monitor was still there (``False``: it had fired).

        Returns:
            ``True``, or with ``info`` whether the monitor was found and removed.
        """
        return self.runtime.signals.demonitor(self._n, ref, flush=flush, info=info)

    def register(self, name: str) -> None:
        """Register this process under ``name`` (see :meth:`Runtime.register`)."""
        self.runtime.registry.register(name, self.pid)

    def exit(self, reason: Any = "normal") -> None:
        """End this process now with ``reason`` (raises :class:`ProcessExit`)."""
        raise ProcessExit(reason)

    def exit_process(self, target: Pid, reason: Any) -> None:
        """Send an exit signal to ``target`` (``erlang:exit/2``; ``"kill"`` cannot be trapped).

        To this process itself, any reason but a trapped one ends it at once, ``"normal"``
        included.
        """
        self.runtime.signals.exit(target, reason, sender=self.pid)

    def send_after(self, ms: float, to: Pid | str, message: Any) -> Ref:
        """Send ``message`` to ``to`` after ``ms`` milliseconds; returns a timer reference."""
        return self._post.send_after(ms, to, message, sender=self.pid)

    def cancel_timer(self, ref: Ref) -> float | None:
        """Cancel a timer; returns the milliseconds it had left, or ``None`` if it had fired."""
        return self._post.cancel_timer(ref)

    # ------------------------------------------------------------------ GenServer client

    async def call(self, target: Pid | str, request: Any, timeout: float | None = 5000) -> Any:
        """Call a GenServer and wait for its reply.

        A reply that comes after ``timeout`` never reaches this mailbox (OTP 24's aliases).

        Raises:
            CallError: reason ``"noproc"`` (no such process), ``"timeout"``,
                ``"calling_self"``, or the server's exit reason if it died before replying.
        """
        return await self._post.call(self, target, request, timeout)

    def cast(self, target: Pid | str, request: Any) -> None:
        """Send an asynchronous request to a GenServer (``handle_cast``); never fails."""
        self._post.cast_from(self._n, target, request)

    def reply(self, to: From, value: Any) -> None:
        """Reply to a call received earlier (``handle_call`` returned ``("noreply", state)``)."""
        self._post.reply_from(self._n, to, value)

    # ------------------------------------------------------------------ observability

    def marker(self, label: str, **data: Any) -> None:
        """Record a MARKER event from this process."""
        self.runtime.marker(label, pid=self.pid, **data)

    def breakpoint(self, name: str) -> None:
        """Record a BREAKPOINT hit in this process (and pause, if a pause handler is set)."""
        self.runtime.breakpoint(name, pid=self.pid)
