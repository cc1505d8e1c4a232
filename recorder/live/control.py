"""Steering a running sandbox from the live server: pause, resume, step, breakpoints, pacing.

Everything that touches the runtime runs on the runtime's own thread. The server's thread only
queues *jobs* (:meth:`LiveControl.submit`); the runtime takes them at its safe points:

- every few hundred scheduler steps (the scheduler's housekeeping), between two steps;
- while it idles until a timer (the scheduler's ``idle_wait`` hook), instead of sleeping;
- while it is paused, in the *hold* loop, which serves jobs until resume or step.

A pause takes effect at the first of: the next recorded event (a *gate* wraps the recording's
choke point, :meth:`~recorder.sandbox.recording.Recording.wrap`, only while a pause, a step or
a breakpoint needs it), the next housekeeping, or the idle wait. A breakpoint is evaluated in
the gate after its event is recorded; a hit holds the whole system right there (mid-step, the
way a debugger stops a thread) and every client is told. Before a hold the recorder is flushed,
so clients have every event up to the one it stopped at (right after the notice).

Pacing (``pace`` wall seconds per virtual second, deterministic runtimes only) lets a person
watch a demo that would otherwise finish in a blink.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recorder.events import KIND_NAMES, EventKind
from recorder.live.conditions import ConditionError, compile_tree, kinds_of, names_of
from recorder.live.scope import EventContext, LiveScope

if TYPE_CHECKING:
    from recorder.sandbox.observability import BreakpointHit
    from recorder.sandbox.recording import Record
    from recorder.sandbox.runtime import Runtime

__all__ = ["Job", "LiveBreakpoint", "LiveControl"]

log = logging.getLogger("recorder.live")
log.addHandler(logging.NullHandler())

#: A job runs on the runtime thread; it sends its own reply.
Job = Callable[[], None]
#: Broadcast a notice to every client.
Announce = Callable[[dict[str, Any]], None]

_KIND_CODES = {name: code for code, name in KIND_NAMES.items()}
_MSG_NAMES = frozenset({"msg", "msg_type"})
_STATE_NAMES = frozenset({"prev_state", "changed()"})
_BREAKPOINT = int(EventKind.BREAKPOINT)


@dataclass(slots=True)
class LiveBreakpoint:
    """A breakpoint evaluated inside the sandbox."""

    id: int
    text: str
    tree: Any
    test: Callable[[LiveScope], bool]
    kinds: frozenset[int] | None
    names: frozenset[str]
    once: bool = False
    by: str = ""
    hits: int = 0
    enabled: bool = True

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "hits": self.hits,
            "once": self.once,
            "enabled": self.enabled,
            "by": self.by,
            "where": "sandbox",
        }


@dataclass(slots=True)
class _Steps:
    events: int = 0  # hold after this many more events (0: not stepping by events)
    pid: int | None = None  # hold at the next event of this process
    reason: str = "step"


@dataclass(slots=True)
class _Pacing:
    pace: float = 0.0
    wall0: float = field(default_factory=time.monotonic)
    virt0: int = 0


class LiveControl:
    """The runtime side of the live server (see the module docstring).

    Args:
        runtime: the observed runtime.
        announce: sends a notice to every client (thread-safe).
        pace: wall seconds per virtual second for a deterministic runtime (``0``: full speed).
    """

    def __init__(self, runtime: Runtime, announce: Announce, *, pace: float = 0.0) -> None:
        self.runtime = runtime
        self._announce = announce
        self._jobs: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self.paused = False
        self.closed = False
        self.pause_on_program_breakpoints = False
        self._pause_requested: str | None = None
        self._steps = _Steps()
        self.breakpoints: tuple[LiveBreakpoint, ...] = ()
        self._next_bp = 0
        self._unwrap: Callable[[], None] | None = None
        self._gate_lock = threading.Lock()
        self._in_hold = False
        self.ctx = EventContext(runtime, self.current_seq, runtime.clock())
        self._pacing = _Pacing(pace=pace if runtime.deterministic else 0.0)
        self._pacing.virt0 = runtime.clock()
        self.hold_started = 0.0
        runtime.scheduler.on_housekeeping(self._housekeeping)
        runtime.scheduler.idle_wait = self._idle_wait
        runtime.observability.pause_handler = self._on_program_breakpoint

    # ------------------------------------------------------------------ any thread

    def submit(self, job: Job) -> None:
        """Queue ``job`` for the runtime thread; wakes a held or idle runtime."""
        with self._cond:
            self._jobs.append(job)
            self._cond.notify_all()

    def request_pause(self, reason: str = "request") -> None:
        """Hold the system at its next event or safe point."""
        self._pause_requested = reason
        self._update_gate()
        with self._cond:
            self._cond.notify_all()

    def cancel_pause_request(self) -> None:
        """Forget a pause not yet taken (a resume sent right after a pause)."""
        self._pause_requested = None
        self._update_gate()

    def set_pace(self, pace: float) -> None:
        """Wall seconds per virtual second (deterministic runtimes); ``0`` runs at full speed."""
        if self.runtime.deterministic:
            self._pacing = _Pacing(pace=max(0.0, pace), virt0=self.runtime.clock())

    def add_breakpoint(
        self, text: str, tree: Any, *, once: bool = False, by: str = ""
    ) -> LiveBreakpoint:
        """Add an in-sandbox breakpoint from a parsed condition tree.

        Raises:
            ConditionError: the tree is invalid or not evaluable in the sandbox.
        """
        test = compile_tree(tree)
        names = names_of(tree)
        with self._gate_lock:
            self._next_bp += 1
            bp = LiveBreakpoint(
                self._next_bp, text, tree, test, kinds_of(tree, _KIND_CODES), names, once, by
            )
            self.breakpoints = (*self.breakpoints, bp)
        self.ctx.start(
            messages=bool(names & _MSG_NAMES) or self.ctx.track_messages,
            states=bool(names & _STATE_NAMES) or self.ctx.track_states,
        )
        self._update_gate()
        return bp

    def remove_breakpoint(self, bp_id: int) -> bool:
        with self._gate_lock:
            before = len(self.breakpoints)
            self.breakpoints = tuple(b for b in self.breakpoints if b.id != bp_id)
            removed = len(self.breakpoints) != before
        self._update_gate()
        return removed

    def close(self) -> None:
        """Stop steering: release a hold, remove the hooks (the program runs on)."""
        self.closed = True
        self.paused = False
        self._pause_requested = None
        self.breakpoints = ()
        self._steps = _Steps()
        self._update_gate()
        sched = self.runtime.scheduler
        if sched.idle_wait == self._idle_wait:
            sched.idle_wait = None
        if self.runtime.observability.pause_handler == self._on_program_breakpoint:
            self.runtime.observability.pause_handler = None
        with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ the gate

    def current_seq(self) -> int:
        """The sequence number of the last event recorded (``-1`` before the first)."""
        return self.runtime.recording.events_emitted() - 1

    def _update_gate(self) -> None:
        with self._gate_lock:
            needed = not self.closed and bool(
                self._pause_requested
                or self._steps.events
                or self._steps.pid is not None
                or any(b.enabled for b in self.breakpoints)
            )
            if needed and self._unwrap is None:
                self._unwrap = self.runtime.recording.wrap(self._make_gate)
            elif not needed and self._unwrap is not None:
                self._unwrap()
                self._unwrap = None

    def _make_gate(self, forward: Record) -> Record:
        check = self._check

        def gate(kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
            forward(kind, pid, peer, ref, data)
            try:
                check(kind, pid, peer, ref, data)
            except Exception:  # the gate never hurts the program it observes
                log.exception("live gate failed")

        return gate

    def _check(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
        if self._in_hold or self.closed:
            return
        ctx = self.ctx
        hit: LiveBreakpoint | None = None
        for bp in self.breakpoints:
            if not bp.enabled or (bp.kinds is not None and kind not in bp.kinds):
                continue
            if bp.test(LiveScope(ctx, kind, pid, peer, ref, data)):
                hit = bp
                break
        ctx.observe(kind, pid, peer, ref, data)
        steps = self._steps
        notice: dict[str, Any] | None = None
        if hit is not None:
            hit.hits += 1
            if hit.once:
                hit.enabled = False
            notice = {"reason": "breakpoint", "breakpoint": hit.id, "text": hit.text}
        elif self._pause_requested:
            notice = {"reason": self._pause_requested}
        elif steps.events:
            steps.events -= 1
            if steps.events == 0:
                notice = {"reason": steps.reason}
        elif steps.pid is not None and pid == steps.pid:
            notice = {"reason": steps.reason}
        if notice is not None:
            notice.update(pid=None if pid == 0xFFFFFFFF else pid, kind=KIND_NAMES.get(kind, "?"))
            self._hold(notice)

    # ------------------------------------------------------------------ safe points

    def _housekeeping(self) -> None:
        self._run_jobs()
        if self._pause_requested and not self._in_hold:
            self._hold({"reason": self._pause_requested})
        pacing = self._pacing
        if pacing.pace > 0:
            target = pacing.wall0 + (self.runtime.clock() - pacing.virt0) / 1e9 * pacing.pace
            self._wait_until(target)

    def _idle_wait(self, deadline_ns: int) -> None:
        rt = self.runtime
        if self._pause_requested and not self._in_hold:
            self._hold({"reason": self._pause_requested})
        if rt.deterministic:
            pacing = self._pacing
            if pacing.pace <= 0:
                self._run_jobs()
                return
            target = pacing.wall0 + (deadline_ns - pacing.virt0) / 1e9 * pacing.pace
            self._wait_until(target, until_work=True)
            return
        else:
            target = time.monotonic() + max(0.0, (deadline_ns - rt.clock()) / 1e9)
        self._wait_until(target, until_work=True)

    def _wait_until(self, target: float, *, until_work: bool = False) -> None:
        """Serve jobs until the wall clock reaches ``target`` (or, with ``until_work``, until a
        job made a process runnable: an idle runtime then goes and runs it)."""
        sched = self.runtime.scheduler
        while not self.closed:
            self._run_jobs()
            if self._pause_requested and not self._in_hold:
                self._hold({"reason": self._pause_requested})
                self._repace()
                return
            left = target - time.monotonic()
            if left <= 0 or (until_work and sched.has_runnable()):
                return
            with self._cond:
                if not self._jobs and not self._pause_requested:
                    self._cond.wait(min(left, 0.05))

    def _repace(self) -> None:
        if self._pacing.pace > 0:
            self._pacing = _Pacing(pace=self._pacing.pace, virt0=self.runtime.clock())

    def _run_jobs(self) -> None:
        jobs = self._jobs
        while jobs:
            try:
                job = jobs.popleft()
            except IndexError:
                return
            try:
                job()
            except Exception:  # a job's own error handling failed: log, never stop the runtime
                log.exception("live job failed")

    def serve_idle(self, stop: Callable[[], bool]) -> None:
        """Serve jobs (and run the scheduler when they make work) until ``stop()`` or close:
        what a program that finished its run calls to stay inspectable."""
        rt = self.runtime
        while not self.closed and not stop():
            self._run_jobs()
            if self._pause_requested and not self._in_hold:
                self._hold({"reason": self._pause_requested})
            if rt.scheduler.has_runnable() or rt.timers.has_work:
                rt.run()
                continue
            with self._cond:
                if not self._jobs and not self._pause_requested:
                    self._cond.wait(0.1)

    # ------------------------------------------------------------------ holding

    def _hold(self, notice: dict[str, Any]) -> None:
        """Hold the runtime thread here, serving jobs, until resume, step or close."""
        self._in_hold = True
        self.paused = True
        self._pause_requested = None
        self._steps = _Steps()
        self._update_gate()
        self.hold_started = time.monotonic()
        try:
            # Say so first (the system stands still now), then push the last events out: a
            # client gets them a few ms later and knows which event it stopped at meanwhile.
            notice = {"op": "paused", "seq": self.current_seq(), **notice}
            self._announce(notice)
            flush = getattr(self.runtime.recording.sink, "flush", None)
            if callable(flush):
                try:
                    flush(2.0)
                except Exception:
                    log.exception("flushing the recorder after a pause failed")
            while self.paused and not self.closed:
                self._run_jobs()
                with self._cond:
                    if self.paused and not self._jobs and not self.closed:
                        self._cond.wait(0.25)
        finally:
            self._in_hold = False
            self._update_gate()
            self._repace()
        self._announce({"op": "resumed", "seq": self.current_seq(), "step": self._stepping()})

    def _stepping(self) -> bool:
        return bool(self._steps.events or self._steps.pid is not None)

    def resume(self) -> None:
        """(Runtime thread.) Leave the hold and run on."""
        self._steps = _Steps()
        self.paused = False
        self._update_gate()

    def step(self, events: int = 1, pid: int | None = None) -> None:
        """(Runtime thread.) Run ``events`` more events, or until ``pid``'s next event, then
        hold again."""
        self._steps = _Steps(events=0 if pid is not None else max(1, events), pid=pid)
        self.paused = False
        self._update_gate()

    def _on_program_breakpoint(self, hit: BreakpointHit) -> None:
        # proc.breakpoint("name") in the program: hold there when a client asked for it
        if self.pause_on_program_breakpoints and not self._in_hold and not self.closed:
            self._hold(
                {
                    "reason": "program breakpoint",
                    "text": hit.name,
                    "pid": None if hit.pid is None else hit.pid.n,
                    "kind": KIND_NAMES[_BREAKPOINT],
                }
            )


def describe_error(exc: BaseException) -> str:
    """A one-line reason for a failed job (sent to the client)."""
    if isinstance(exc, ConditionError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
