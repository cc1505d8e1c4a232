"""The :class:`Runtime`: spawn processes, pass messages, run them, record everything.

Quick start::

    from recorder.sandbox import Runtime

    async def echo(proc):
        while True:
            sender, text = await proc.receive()
            proc.send(sender, text.upper())

    with Runtime(deterministic=True, seed=1, record="echo.cinema") as rt:
        pid = rt.spawn(echo, name="echo")
        rt.send(pid, (pid, "hi"))
        rt.run()
"""

from __future__ import annotations

import collections
import inspect
from collections.abc import Callable
from types import NoneType
from typing import Any

from recorder.events import NO_PEER, NO_PID, NO_REF, EventKind, Trigger
from recorder.payload import Pid, Ref, to_structural
from recorder.sandbox.errors import BadArg, is_normal_reason
from recorder.sandbox.interception import Interceptor
from recorder.sandbox.messaging import MessagingMixin
from recorder.sandbox.observability import ObservabilityMixin
from recorder.sandbox.process import TIMED_OUT, Envelope, Process, ProcessBody
from recorder.sandbox.recording import RecordTarget, attach_recording
from recorder.sandbox.signals import SignalsMixin
from recorder.sandbox.timers import TimerEntry

__all__ = ["Runtime"]

_SPAWN = int(EventKind.SPAWN)
_EXIT = int(EventKind.EXIT)
_CRASH = int(EventKind.CRASH)
_SEND = int(EventKind.SEND)
_RECEIVE = int(EventKind.RECEIVE)
_TIMEOUT = int(EventKind.TIMEOUT)
_DROP = int(EventKind.DROP)
_STATE = int(EventKind.STATE)
_NOPROC_DROP = {"reason": "noproc"}  # shared, never mutated
_IMMUTABLE_STATE = frozenset({int, float, str, bytes, bool, NoneType, Pid, Ref})


class Runtime(MessagingMixin, SignalsMixin, ObservabilityMixin):
    """An OTP-style actor runtime whose every event can be recorded.

    Args:
        deterministic: seeded run order and a virtual clock (see :mod:`.scheduler`).
        seed: the seed of the run order, of interception drops and of ``runtime.rng``.
        record: a session file path, a :class:`~recorder.Recorder`, any object with an
            ``emit(kind, pid, peer, ref, data)`` method, or ``None``. When ``None``, the
            ``CINEMA_RECORD`` environment variable (set by ``cinema record``) names the file,
            and inside :func:`recorder.testing.capture_events` events go to the capture.
        metadata: extra session header metadata (``scenario``, ...).
        profile_interval_ms: runtime-clock milliseconds between PROFILE samples while
            recording; ``None`` for none.
        keyframe_min_events: keyframes are taken every ``max(keyframe_min_events,
            8 * live processes)`` events, so keyframe bytes stay a small fraction of a file
            however many processes there are.
        step_cost_ns: virtual time one process step costs in deterministic mode.
        recorder_options: extra keyword arguments for the :class:`~recorder.Recorder` created
            when ``record`` is a path (``flush_interval``, ``compress``, ``wall_clock``, ...).
    """

    def __init__(
        self,
        *,
        deterministic: bool = False,
        seed: int = 0,
        record: RecordTarget = None,
        metadata: dict[str, Any] | None = None,
        profile_interval_ms: float | None = 100.0,
        keyframe_min_events: int = 4096,
        step_cost_ns: int = 1000,
        recorder_options: dict[str, Any] | None = None,
    ) -> None:
        from recorder.sandbox.recording import env_seed

        if deterministic:
            seed = env_seed(seed)
        super().__init__(deterministic=deterministic, seed=seed, step_cost_ns=step_cost_ns)
        self.registry: dict[str, int] = {}
        self.dead: dict[int, str] = {}
        self._kill_queue = collections.deque()
        self._killing = False
        self._next_pid = 0
        self._next_id = 0
        self._send_after_timers: dict[int, TimerEntry] = {}
        self.interceptor = Interceptor(self)
        self._init_observability(profile_interval_ms)
        self.recording = attach_recording(
            self,
            record,
            metadata=metadata or {},
            keyframe_min_events=keyframe_min_events,
            recorder_options=recorder_options or {},
        )

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop recording (closes a Recorder this runtime opened). Processes stay as they are."""
        if self.recording is not None:
            self.recording.close()
            self.recording = None
        self.emit = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ ids

    def make_ref(self) -> Ref:
        """A new unique reference (shares its counter with message ids)."""
        self._next_id += 1
        return Ref(self._next_id)

    # ------------------------------------------------------------------ spawning

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
        """Start a process running ``await body(process, *args)``.

        Args:
            body: an ``async def`` function; its first argument is the :class:`Process`.
            name: display name (default: the function's name, or ``register``).
            link_to: link the new process to this one before it runs.
            behaviour: label shown by the debugger (``"gen_server"``, ...).
            supervisor: the supervising process, if any.
            trap_exit: start with exits trapped.
            register: register the new process under this name before it runs.
        """
        if not callable(body):
            raise TypeError(f"spawn needs an async function, got {body!r}")
        n = self._next_pid
        self._next_pid += 1
        parent = self.current.n if self.current is not None else None
        label: str = name or register or str(getattr(body, "__name__", "process"))
        proc = Process(
            self, n, label, behaviour, parent, None if supervisor is None else supervisor.n
        )
        proc.trap_exit = trap_exit
        coro = body(proc, *args)
        if not inspect.iscoroutine(coro):
            raise TypeError(
                f"spawn needs an async function (async def), but {label} returned {coro!r}"
            )
        proc.coro = coro
        self.processes[n] = proc
        emit = self.emit
        if emit is not None:
            info = {
                "name": label,
                "behaviour": behaviour,
                "parent": parent,  # None when spawned from outside any process
                "supervisor": None if supervisor is None else supervisor.n,
                "node": "local",
            }
            emit(_SPAWN, n, NO_PEER if parent is None else parent, NO_REF, info)
        if register is not None:
            self.register(register, proc.pid)
        if link_to is not None:
            self.link(n, link_to)
        self.enqueue(proc)
        return proc.pid

    def start(
        self,
        server: Any,
        *args: Any,
        name: str | None = None,
        link_to: Pid | None = None,
        supervisor: Pid | None = None,
        label: str | None = None,
    ) -> Pid:
        """Start a GenServer (a :class:`~recorder.sandbox.GenServer` subclass or instance).

        ``init(*args)`` runs in the new process when the scheduler first runs it; ``name``
        registers the server under that name.
        """
        from recorder.sandbox.genserver import start_gen_server

        return start_gen_server(
            self, server, *args, name=name, link_to=link_to, supervisor=supervisor, label=label
        )

    def process(self, pid: Pid | str) -> Process:
        """The live :class:`Process` at ``pid`` (or registered name).

        Raises:
            BadArg: no such live process (reason ``noproc``).
        """
        proc = self.resolve(pid)
        if proc is None:
            raise BadArg(f"no live process at {pid!r} (noproc)")
        return proc

    # ------------------------------------------------------------------ messages

    def send(self, to: Pid | str, message: Any) -> None:
        """Send ``message`` from outside any process (the sender is recorded as NO_PID)."""
        self.send_from(NO_PID, to, message)

    def send_from(self, sender_n: int, to: Pid | str, message: Any) -> int:
        """Send as process ``sender_n``; returns the message id."""
        if type(to) is Pid:
            n = to.n
        else:
            proc = self._process_or_badarg(to, "send to")
            n = proc.n if proc is not None else NO_PEER
        self._next_id += 1
        msg_id = self._next_id
        if self.interceptor.active:
            self.interceptor.intercept(sender_n, n, msg_id, message)
        else:
            self.deliver(sender_n, n, msg_id, message)
        return msg_id

    def system_send(self, sender_n: int, target_n: int, message: Any) -> None:
        """Send a runtime message (EXIT, DOWN) without interception."""
        self._next_id += 1
        self.deliver(sender_n, target_n, self._next_id, message)

    def deliver(self, sender_n: int, target_n: int, msg_id: int, message: Any) -> None:
        """Put a message in its receiver's mailbox now (records SEND, or SEND + DROP)."""
        emit = self.emit
        if emit is not None:
            emit(_SEND, sender_n, target_n, msg_id, message)
        proc = self.processes.get(target_n)
        if proc is None:
            if emit is not None:
                emit(_DROP, sender_n, target_n, msg_id, _NOPROC_DROP)
            return
        proc.mailbox.append((msg_id, sender_n, message))
        if proc.waiting:
            match = proc.match
            if match is not None:
                try:
                    if not match(message):
                        return
                except Exception:
                    pass  # the receiver evaluates it again and crashes in its own context
            proc.waiting = False
            if proc.queued or proc.suspended:
                self.enqueue(proc)
            else:  # enqueue(), inlined: the common case of the hot path
                proc.queued = True
                self.runq_append(proc)

    def on_received(self, proc: Process, envelope: Envelope) -> Envelope:
        """Record that ``proc`` took ``envelope`` from its mailbox."""
        proc.handled += 1
        emit = self.emit
        if emit is not None:
            emit(_RECEIVE, proc.n, envelope[1], envelope[0], None)
        return envelope

    def arm_receive_timeout(self, proc: Process, ms: float) -> TimerEntry:
        return self.timers.add(self.clock() + int(ms * 1e6), self._on_receive_timer, proc)

    def _on_receive_timer(self, proc: Process) -> None:
        proc.timer = None
        if proc.alive and proc.waiting:
            self.wake(proc, TIMED_OUT)

    def on_receive_timeout(
        self, proc: Process, ms: float, call: tuple[int, int] | None
    ) -> BaseException:
        """Record a receive / call timeout of ``proc``; returns the exception to raise."""
        from recorder.sandbox.errors import ReceiveTimeout

        if call is None:
            self.emit_raw(_TIMEOUT, proc.n, NO_PEER, NO_REF, {"op": "receive", "after_ms": ms})
        else:
            self.emit_raw(_TIMEOUT, proc.n, call[0], call[1], {"op": "call", "after_ms": ms})
        return ReceiveTimeout(ms)

    def arm_wakeup(self, proc: Process, ms: float) -> None:
        proc.timer = self.timers.add(self.clock() + int(ms * 1e6), self._on_wakeup, proc)

    def _on_wakeup(self, proc: Process) -> None:
        proc.timer = None
        if proc.alive:
            self.wake(proc)

    # ------------------------------------------------------------------ ending

    def finish(self, proc: Process, reason: Any, exc: BaseException | None = None) -> None:
        """A process ended with ``reason``: record it, notify links, monitors and callers."""
        if not proc.alive:
            return
        proc.alive = False
        proc.waiting = False
        n = proc.n
        del self.processes[n]
        if proc.timer is not None:
            self.timers.cancel(proc.timer)
            proc.timer = None
        if proc.registered is not None:
            self.unregister(proc.registered)
        normal = is_normal_reason(reason)
        if self.emit is not None:
            if normal:
                self.emit_raw(_EXIT, n, NO_PEER, NO_REF, {"reason": reason})
            else:
                self.emit_raw(_CRASH, n, NO_PEER, NO_REF, self.crash_data(reason, exc))
        self.dead[n] = "dead" if normal else "crashed"
        proc.mailbox.clear()
        for ref_n, target_n in proc.monitors.items():
            target = self.processes.get(target_n)
            if target is not None:
                target.watchers.pop(ref_n, None)
        for ref_n, caller_n in proc.pending_calls.items():
            self.system_send(n, caller_n, ("DOWN", Ref(ref_n), proc.pid, reason))
        for ref_n, watcher_n in proc.watchers.items():
            watcher = self.processes.get(watcher_n)
            if watcher is not None:
                watcher.monitors.pop(ref_n, None)
                self.system_send(n, watcher_n, ("DOWN", Ref(ref_n), proc.pid, reason))
        for other_n in proc.links:
            other = self.processes.get(other_n)
            if other is not None:
                other.links.pop(n, None)
                self.exit_signal(other, n, reason, linked=True)
        proc.links.clear()
        proc.watchers.clear()
        proc.pending_calls.clear()

    # ------------------------------------------------------------------ state

    def record_state(
        self, proc: Process, trigger: str, peer: int = NO_PEER, ref: int = NO_REF
    ) -> None:
        """Record ``proc.state`` as a STATE event with ``trigger`` (call, cast, info, ...)."""
        emit = self.emit
        if emit is not None:
            state = proc.state
            if type(state) not in _IMMUTABLE_STATE:
                state = to_structural(state)  # frozen now: the process may mutate it later
            proc.recorded_state = state
            emit(_STATE, proc.n, peer, ref, {"trigger": trigger, "state": state})

    def get_state(self, pid: Pid | str) -> Any:
        """The current state of a GenServer.

        Raises:
            BadArg: no such live process, or it is not a GenServer.
        """
        proc = self.process(pid)
        if not proc.has_state:
            raise BadArg(f"{proc.name} {proc.pid!r} is a plain process; it has no GenServer state")
        return proc.state

    def replace_state(self, pid: Pid | str, state: Any) -> None:
        """Replace a GenServer's state from outside (recorded as STATE, trigger ``replace``)."""
        proc = self.process(pid)
        if not proc.has_state:
            raise BadArg(f"{proc.name} {proc.pid!r} is a plain process; it has no GenServer state")
        proc.state = state
        self.record_state(proc, Trigger.REPLACE)

    def on_housekeeping(self, task: Callable[[], None]) -> None:
        """Run ``task()`` every few hundred scheduler steps and whenever the runtime idles."""
        self._housekeeping.append(task)
