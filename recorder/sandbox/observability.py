"""Observability operations of the runtime: suspend / resume, markers, breakpoints, profiling.

A mixin of :class:`~recorder.sandbox.Runtime`; see :mod:`.introspection` for the read side.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder.events import NO_PEER, NO_PID, NO_REF, EventKind
from recorder.payload import Pid
from recorder.sandbox.introspection import process_memory
from recorder.sandbox.process import Process
from recorder.sandbox.scheduler import SchedulerBase

__all__ = ["BreakpointHit", "ObservabilityMixin", "PauseHandler"]

_SUSPEND = int(EventKind.SUSPEND)
_RESUME = int(EventKind.RESUME)
_MARKER = int(EventKind.MARKER)
_BREAKPOINT = int(EventKind.BREAKPOINT)
_PROFILE = int(EventKind.PROFILE)


@dataclass(frozen=True, slots=True)
class BreakpointHit:
    """What a pause handler is told when a programmatic breakpoint is hit."""

    name: str
    breakpoint_id: int
    pid: Pid | None
    at_seq: int


#: Called synchronously on the scheduler's thread: the scheduler is paused until it returns.
PauseHandler = Callable[[BreakpointHit], None]


class ObservabilityMixin(SchedulerBase):
    """Suspend / resume, markers, breakpoints and periodic PROFILE samples."""

    pause_handler: PauseHandler | None
    _breakpoint_ids: dict[str, int]
    _events_counter: Callable[[], int] | None

    @abc.abstractmethod
    def process(self, pid: Pid | str) -> Process: ...

    def _init_observability(self, profile_interval_ms: float | None) -> None:
        self.pause_handler = None
        self._breakpoint_ids = {}
        self._events_counter = None
        self.profile_interval_ms = profile_interval_ms
        self._profile_armed = False

    # ------------------------------------------------------------------ suspend / resume

    def suspend(self, pid: Pid | str) -> None:
        """Stop scheduling a process: its messages queue up until :meth:`resume`."""
        proc = self.process(pid)
        if proc.suspended:
            return
        proc.suspended = True
        if proc.queued:
            proc.queued = False
            proc.wake_pending = True
            queue: Any = self._runq_list if self.deterministic else self._runq_deque
            queue.remove(proc)
        self.emit_raw(_SUSPEND, proc.n)

    def resume(self, pid: Pid | str) -> None:
        """Schedule a suspended process again."""
        proc = self.process(pid)
        if not proc.suspended:
            return
        proc.suspended = False
        self.emit_raw(_RESUME, proc.n)
        if proc.wake_pending:
            proc.wake_pending = False
            self.enqueue(proc)

    # ------------------------------------------------------------------ markers, breakpoints

    def marker(self, label: str, *, pid: Pid | None = None, **data: Any) -> None:
        """Record a MARKER: a labelled point in the timeline, with optional data."""
        self.emit_raw(
            _MARKER, NO_PID if pid is None else pid.n, NO_PEER, NO_REF, {"label": label, **data}
        )

    def breakpoint(self, name: str, *, pid: Pid | None = None) -> None:
        """A programmatic breakpoint: recorded as BREAKPOINT; calls the pause handler, if any.

        Breakpoint ids are stable per name within a runtime (1, 2, ... in order of first hit).
        """
        if pid is None and self.current is not None:
            pid = self.current.pid
        bp_id = self._breakpoint_ids.setdefault(name, len(self._breakpoint_ids) + 1)
        at_seq = self._events_counter() if self._events_counter is not None else -1
        self.emit_raw(
            _BREAKPOINT,
            NO_PID if pid is None else pid.n,
            NO_PEER,
            bp_id,
            {"breakpoint": name, "at_seq": at_seq},
        )
        handler = self.pause_handler
        if handler is not None:
            handler(BreakpointHit(name, bp_id, pid, at_seq))

    def set_pause_handler(self, handler: PauseHandler | None) -> None:
        """Install (or remove) the function a breakpoint calls to pause the scheduler."""
        self.pause_handler = handler

    # ------------------------------------------------------------------ profiling

    def start_profiling(self) -> None:
        """Arm the periodic PROFILE sampler (done automatically when recording)."""
        if self._profile_armed or not self.profile_interval_ms:
            return
        self._profile_armed = True
        self._arm_profile()

    def _arm_profile(self) -> None:
        assert self.profile_interval_ms
        deadline = self.clock() + int(self.profile_interval_ms * 1e6)
        self.timers.add(deadline, self._profile_tick, None, counts=False)

    def _profile_tick(self, _arg: Any) -> None:
        self.profile_sample()
        if self.emit is not None:
            self._arm_profile()
        else:
            self._profile_armed = False

    def profile_sample(self) -> None:
        """Record PROFILE samples now: each process whose figures changed, then the system."""
        if self.emit is None:
            return
        queued = 0
        memory = 0
        for proc in list(self.processes.values()):
            mailbox_len = len(proc.mailbox)
            queued += mailbox_len
            mark = (proc.handled, proc.cpu_ns, mailbox_len)
            if mark == proc.profile_mark:
                continue
            proc.profile_mark = mark
            proc_memory = process_memory(proc)
            memory += proc_memory
            self.emit_raw(
                _PROFILE,
                proc.n,
                NO_PEER,
                NO_REF,
                {
                    "cpu_ns": proc.cpu_ns,
                    "handled": proc.handled,
                    "mailbox_len": mailbox_len,
                    "memory": proc_memory,
                },
            )
        self.emit_raw(
            _PROFILE,
            NO_PID,
            NO_PEER,
            NO_REF,
            {
                "processes": len(self.processes),
                "messages_queued": queued,
                "memory_sampled": memory,
                "timers": len(self.timers),
            },
        )
