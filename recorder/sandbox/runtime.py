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

A runtime is a composition of small parts, each with its own state: the :class:`Scheduler`
(run queue, clock, timers), the :class:`Lifecycle` (spawning and ending processes), the
:class:`Registry` (names), the :class:`PostOffice` (messages,
calls, ``send_after``), :class:`Signals` (links, monitors, exit signals), the
:class:`Starter` (synchronous GenServer starts), the :class:`Interceptor`,
:class:`Observability` (suspend, markers, breakpoints, profiling) and one :class:`Recording`,
the only way an event leaves the runtime. The runtime wires them together and offers their
operations as one API.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from typing import Any

from recorder.events import NO_PEER, NO_PID, NO_REF, EventKind, Trigger
from recorder.payload import Pid, Ref
from recorder.sandbox.calltrace import DEFAULT_MAX_CALLS, CallTracer, env_tracing
from recorder.sandbox.errors import BadArg
from recorder.sandbox.interception import Interceptor
from recorder.sandbox.introspection import world
from recorder.sandbox.lifecycle import Lifecycle
from recorder.sandbox.messaging import PostOffice
from recorder.sandbox.observability import Observability, PauseHandler
from recorder.sandbox.process import Process, ProcessBody
from recorder.sandbox.recording import Recording, RecordTarget, env_seed, open_sink
from recorder.sandbox.registry import Registry
from recorder.sandbox.scheduler import Scheduler
from recorder.sandbox.signals import Signals
from recorder.sandbox.starting import Starter
from recorder.sandbox.timers import TimerHeap

__all__ = ["Runtime"]

_SPAWN = int(EventKind.SPAWN)
_EXIT = int(EventKind.EXIT)
_CRASH = int(EventKind.CRASH)


class Runtime:
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
            8 * (live processes + queued messages the last keyframe showed))`` events, so
            keyframes stay a small fraction of a file and of the recording's cost however many
            processes and messages there are (and after every 512 spawns, so that a seek into
            a big tree's boot replays a bounded stretch).
        step_cost_ns: virtual time one process step costs in deterministic mode.
        recorder_options: extra keyword arguments for the :class:`~recorder.Recorder` created
            when ``record`` is a path (``flush_interval``, ``compress``, ``wall_clock``, ...).
        listen: start a live attach server (``docs/live.md``): a port, ``"HOST:PORT"``,
            ``"unix"`` / ``"unix:PATH"`` or ``"tcp"`` (any free loopback port). When ``None``,
            the ``CINEMA_LISTEN`` environment variable (``cinema record --listen``) names it.
            The server is :attr:`live`; it records in memory when nothing else records.
        live_options: keyword arguments of :class:`~recorder.live.LiveServer` (``pace``,
            ``allow_remote``, ``ring_events``, ...).
        trace_calls: functions (``module:qualname``) whose calls inside processes are
            recorded as CALL / RETURN events while recording (:mod:`.calltrace`). When
            ``None``, ``CINEMA_TRACE_CALLS`` (``cinema record --trace-calls``) names them.
        trace_max_calls: calls traced at most (all functions together).
        trace_for_ms: stop tracing once the runtime clock passes this many ms.

    Raises:
        CallTraceError: a ``trace_calls`` target cannot be traced.
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
        listen: Any = None,
        live_options: dict[str, Any] | None = None,
        trace_calls: Sequence[str] | None = None,
        trace_max_calls: int = DEFAULT_MAX_CALLS,
        trace_for_ms: float | None = None,
    ) -> None:
        if deterministic:
            seed = env_seed(seed)
        self.deterministic = deterministic
        self.seed = seed
        #: The seeded random source of the run order, also yours to use in deterministic runs.
        self.rng = random.Random(seed)
        #: Live processes by pid number.
        self.processes: dict[int, Process] = {}
        #: Ended processes: pid number -> ``"dead"`` or ``"crashed"``.
        self.dead: dict[int, str] = {}
        #: Keyframe entries of the processes that ended while recording, in the order they
        #: ended (see :func:`~recorder.sandbox.introspection.ended_entry`).
        self.ended: list[dict[str, Any]] = []
        self.scheduler = Scheduler(
            deterministic=deterministic, rng=self.rng, step_cost_ns=step_cost_ns, end=self._end
        )
        #: The runtime clock in ns (virtual in deterministic mode).
        self.clock: Callable[[], int] = self.scheduler.clock
        self.recording = Recording(
            clock=self.clock,
            world=lambda: world(self),
            recorder_world=lambda limits: world(self, limits),
            live_processes=self.processes.__len__,
            keyframe_min_events=keyframe_min_events,
            spawned=lambda: self.lifecycle.spawned,
        )
        self.registry = Registry(self.processes, self.recording)
        self.post = PostOffice(
            processes=self.processes,
            registry=self.registry,
            recording=self.recording,
            scheduler=self.scheduler,
        )
        self.lifecycle = Lifecycle(
            runtime=self,
            processes=self.processes,
            dead=self.dead,
            ended=self.ended,
            scheduler=self.scheduler,
            recording=self.recording,
            registry=self.registry,
            post=self.post,
        )
        self.signals = Signals(
            processes=self.processes,
            registry=self.registry,
            recording=self.recording,
            scheduler=self.scheduler,
            post=self.post,
            end=self._end,
        )
        self.lifecycle.signals = self.signals
        self.starter = Starter(
            processes=self.processes,
            registry=self.registry,
            post=self.post,
            scheduler=self.scheduler,
            signals=self.signals,
            spawn=self.spawn,
        )
        self.interceptor = Interceptor(
            post=self.post,
            registry=self.registry,
            recording=self.recording,
            scheduler=self.scheduler,
            rng=random.Random(seed * 7919 + 17) if deterministic else random.Random(),
        )
        self.observability = Observability(
            processes=self.processes,
            registry=self.registry,
            recording=self.recording,
            scheduler=self.scheduler,
            profile_interval_ms=profile_interval_ms,
        )
        live: Any = None
        pace = 0.0
        from_env = False
        if listen is None and os.environ.get("CINEMA_LISTEN"):
            from recorder.live import listen_target  # the first runtime listens there

            listen = listen_target(None)
            from_env = listen is not None
        if listen is not None:
            from recorder.live import prepare

            live, pace, recorder_options = prepare(
                listen, recorder_options or {}, live_options, from_env
            )
        tracing: tuple[list[str], int, float | None] | None = None
        trace_from_env = False
        if trace_calls is not None:
            tracing = (list(trace_calls), trace_max_calls, trace_for_ms)
        else:
            tracing = env_tracing()
            trace_from_env = tracing is not None
        replay: dict[str, Any] = {
            "profile_interval_ms": profile_interval_ms,
            "step_cost_ns": step_cost_ns,
        }
        if tracing is not None:  # a re-run traces the same calls (they are events too)
            replay.update(
                trace_calls=tracing[0], trace_max_calls=tracing[1], trace_for_ms=tracing[2],
                trace_from_env=trace_from_env,
            )  # fmt: skip
        opened = open_sink(
            record,
            clock=self.clock,
            seed=seed,
            deterministic=deterministic,
            metadata=metadata or {},
            recorder_options=recorder_options or {},
            need_recorder=live is not None,
            replay_options=replay,
        )
        if opened is not None:
            self.recording.attach(opened[0], owned=opened[1])
            self.scheduler.on_housekeeping(self.recording.maybe_keyframe)
            self.observability.start_profiling()
        #: The call tracer (:class:`~recorder.sandbox.calltrace.CallTracer`), when tracing.
        self.calltracer: CallTracer | None = None
        if tracing is not None and self.recording.active:
            self.calltracer = CallTracer(
                tracing[0], recording=self.recording, scheduler=self.scheduler,
                max_calls=tracing[1], duration_ms=tracing[2], strict=not trace_from_env,
            )  # fmt: skip
        #: The live attach server (:class:`recorder.live.LiveServer`), when listening.
        self.live = live.attach(self, pace=pace) if live is not None else None

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop recording (closes a Recorder this runtime opened) and the live server, if any.
        Processes stay as they are; traced functions are themselves again."""
        if self.calltracer is not None:
            self.calltracer.close()
        self.recording.close()
        if self.live is not None:
            self.live.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def current(self) -> Process | None:
        """The process whose step is running, if any."""
        return self.scheduler.current

    @property
    def timers(self) -> TimerHeap:
        """The timer heap (receive timeouts, ``send_after``, delays)."""
        return self.scheduler.timers

    def make_ref(self) -> Ref:
        """A new unique reference (shares its counter with message ids)."""
        return self.post.make_ref()

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

        Raises:
            TypeError: ``body`` is not an async function.
            BadArg: ``register`` is taken or not a valid name (no process is made).
        """
        return self.lifecycle.spawn(
            body,
            *args,
            name=name,
            link_to=link_to,
            behaviour=behaviour,
            supervisor=supervisor,
            trap_exit=trap_exit,
            register=register,
        )

    def start(
        self,
        server: Any,
        *args: Any,
        name: str | None = None,
        link_to: Pid | None = None,
        supervisor: Pid | None = None,
        label: str | None = None,
    ) -> Pid:
        """Start a GenServer (a :class:`~recorder.sandbox.GenServer` subclass or instance) from
        outside any process, and return once its ``init(*args)`` finished.

        Runs the scheduler until the new server acknowledges its init (other runnable
        processes run meanwhile). ``name`` registers the server under that name. Inside a
        process, use ``await proc.start(...)``.

        Raises:
            StartError: ``init`` returned ``("stop", reason)`` or raised (``reason``), ``name``
                is taken (``("already_started", pid)``), or ``init`` waits for something that
                never comes (``"timeout"``).
            RuntimeError: called from inside a process.
        """
        return self.starter.start_outside(
            server, *args, name=name, link_to=link_to, supervisor=supervisor, label=label
        )

    def process(self, pid: Pid | str) -> Process:
        """The live :class:`Process` at ``pid`` (or registered name).

        Raises:
            BadArg: no such live process (reason ``noproc``).
        """
        proc = self.registry.resolve(pid)
        if proc is None:
            raise BadArg(f"no live process at {pid!r} (noproc)")
        return proc

    def resolve(self, target: Pid | str) -> Process | None:
        """The live process at a pid or registered name, or ``None``."""
        return self.registry.resolve(target)

    def _end(self, proc: Process, reason: Any, exc: BaseException | None = None) -> None:
        self.lifecycle.end(proc, reason, exc)

    # ------------------------------------------------------------------ messages

    def send(self, to: Pid | str, message: Any) -> None:
        """Send ``message`` from outside any process (the sender is recorded as NO_PID)."""
        self.post.send_from(NO_PID, to, message)

    def cast(self, target: Pid | str, request: Any) -> None:
        """Cast to a GenServer from outside any process."""
        self.post.cast_from(NO_PID, target, request)

    def call(self, target: Pid | str, request: Any, timeout: float | None = 5000) -> Any:
        """Call a GenServer from outside the scheduler: runs it until the reply arrives.

        Inside a process use ``await proc.call(...)`` instead.

        Raises:
            CallError: ``noproc``, ``timeout``, or the server's exit reason.
        """
        from recorder.sandbox.errors import CallError

        if self.scheduler.running:
            raise RuntimeError("Runtime.call() from inside a process: use `await proc.call()`")
        outcome: list[Any] = []

        async def caller(proc: Process) -> None:
            try:
                outcome.append(("ok", await proc.call(target, request, timeout)))
            except CallError as exc:
                outcome.append(("error", exc))
            self.scheduler.stop()

        self.spawn(caller, name="$caller")
        self.scheduler.run()
        if not outcome:
            raise CallError("timeout", target, request)
        status, value = outcome[0]
        if status == "error":
            raise value
        return value

    def send_after(
        self, ms: float, to: Pid | str, message: Any, *, sender: Pid | None = None
    ) -> Ref:
        """Send ``message`` to ``to`` after ``ms`` ms; returns a ref for :meth:`cancel_timer`."""
        return self.post.send_after(ms, to, message, sender=sender)

    def cancel_timer(self, ref: Ref) -> float | None:
        """Cancel a :meth:`send_after` timer; the ms it had left, or ``None`` if already fired."""
        return self.post.cancel_timer(ref)

    # ------------------------------------------------------------------ names, signals

    def register(self, name: str, pid: Pid) -> None:
        """Register ``pid`` under ``name`` (recorded as REGISTER); see :class:`Registry`."""
        self.registry.register(name, pid)

    def unregister(self, name: str) -> None:
        """Remove a registered name (recorded as UNREGISTER)."""
        self.registry.unregister(name)

    def whereis(self, name: str) -> Pid | None:
        """The pid registered under ``name``, or ``None``."""
        return self.registry.whereis(name)

    def exit(self, target: Pid, reason: Any, sender: Pid | None = None) -> None:
        """Send an exit signal with ``reason`` to ``target`` (Erlang's ``exit/2``); from outside
        any process unless ``sender`` is given. ``"kill"`` cannot be trapped."""
        self.signals.exit(target, reason, sender)

    # ------------------------------------------------------------------ state

    def get_state(self, pid: Pid | str) -> Any:
        """The current state of a GenServer.

        Raises:
            BadArg: no such live process, or it is not a GenServer.
        """
        proc = self.process(pid)
        if not proc._has_state:
            raise BadArg(f"{proc.name} {proc.pid!r} is a plain process; it has no GenServer state")
        return proc._state

    def replace_state(self, pid: Pid | str, state: Any) -> None:
        """Replace a GenServer's state from outside (recorded as STATE, trigger ``replace``)."""
        proc = self.process(pid)
        if not proc._has_state:
            raise BadArg(f"{proc.name} {proc.pid!r} is a plain process; it has no GenServer state")
        proc._state = state
        self.recording.state(proc, Trigger.REPLACE, NO_PEER, NO_REF)

    # ------------------------------------------------------------------ observing

    def suspend(self, pid: Pid | str) -> None:
        """Stop scheduling a process: its messages queue up until :meth:`resume`."""
        self.observability.suspend(pid)

    def resume(self, pid: Pid | str) -> None:
        """Schedule a suspended process again."""
        self.observability.resume(pid)

    def marker(self, label: str, *, pid: Pid | None = None, **data: Any) -> None:
        """Record a MARKER: a labelled point in the timeline, with optional data."""
        self.observability.marker(label, pid=pid, **data)

    def breakpoint(self, name: str, *, pid: Pid | None = None) -> None:
        """A programmatic breakpoint: recorded as BREAKPOINT; calls the pause handler, if any."""
        self.observability.breakpoint(name, pid=pid)

    def set_pause_handler(self, handler: PauseHandler | None) -> None:
        """Install (or remove) the function a breakpoint calls to pause the scheduler."""
        self.observability.pause_handler = handler

    def start_profiling(self) -> None:
        """Arm the periodic PROFILE sampler (done automatically when recording)."""
        self.observability.start_profiling()

    def profile_sample(self) -> None:
        """Record PROFILE samples now."""
        self.observability.profile_sample()

    # ------------------------------------------------------------------ running

    def run(self, until_ms: float | None = None) -> None:
        """Run until every process waits forever (or exited), or the clock passes ``until_ms``.

        Args:
            until_ms: stop once the runtime clock reaches this many milliseconds.
        """
        self.scheduler.run(until_ms)

    async def run_async(self, until_ms: float | None = None) -> None:
        """Run inside the current asyncio loop (real-time mode only).

        Processes may then ``await`` asyncio awaitables directly. Returns when every process
        waits forever with no timer and no asyncio operation pending, or at ``until_ms``.
        """
        await self.scheduler.run_async(until_ms)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current step."""
        self.scheduler.stop()

    def now_ms(self) -> float:
        """The runtime clock in milliseconds (virtual in deterministic mode)."""
        return self.scheduler.now_ms()

    def on_housekeeping(self, task: Callable[[], None]) -> None:
        """Run ``task()`` every few hundred scheduler steps and whenever the runtime idles."""
        self.scheduler.on_housekeeping(task)
