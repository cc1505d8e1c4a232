"""Observing a running runtime: suspend / resume, markers, breakpoints, profile samples.

See :mod:`.introspection` for the read side (process info, keyframe worlds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_PID, NO_REF, EventKind
from recorder.payload import Pid
from recorder.sandbox.errors import BadArg
from recorder.sandbox.memory import process_memory

if TYPE_CHECKING:
    from recorder.sandbox.process import Process
    from recorder.sandbox.recording import Recording
    from recorder.sandbox.registry import Registry
    from recorder.sandbox.scheduler import Scheduler

__all__ = ["BreakpointHit", "Observability", "PauseHandler"]

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


class Observability:
    """Suspend / resume, markers, breakpoints and periodic PROFILE samples of one runtime.

    Args:
        processes: the live processes by pid number (shared).
        registry: resolves names.
        recording: where the events go.
        scheduler: run queue and timers.
        profile_interval_ms: runtime ms between PROFILE samples while recording, or ``None``.
    """

    def __init__(
        self,
        *,
        processes: dict[int, Process],
        registry: Registry,
        recording: Recording,
        scheduler: Scheduler,
        profile_interval_ms: float | None,
    ) -> None:
        self._processes = processes
        self._registry = registry
        self._rec = recording
        self._scheduler = scheduler
        self.profile_interval_ms = profile_interval_ms
        self.pause_handler: PauseHandler | None = None
        self._breakpoint_ids: dict[str, int] = {}
        self._profile_armed = False

    def _process(self, pid: Pid | str) -> Process:
        proc = self._registry.resolve(pid)
        if proc is None:
            raise BadArg(f"no live process at {pid!r} (noproc)")
        return proc

    # ------------------------------------------------------------------ suspend / resume

    def suspend(self, pid: Pid | str) -> None:
        """Stop scheduling a process: its messages queue up until :meth:`resume`."""
        proc = self._process(pid)
        if proc._suspended:
            return
        proc._suspended = True
        if proc._queued:
            self._scheduler.unqueue(proc)
            proc._wake_pending = True
        rec = self._rec
        if rec.active:
            rec.record(_SUSPEND, proc._n, NO_PEER, NO_REF, None)

    def resume(self, pid: Pid | str) -> None:
        """Schedule a suspended process again."""
        proc = self._process(pid)
        if not proc._suspended:
            return
        proc._suspended = False
        rec = self._rec
        if rec.active:
            rec.record(_RESUME, proc._n, NO_PEER, NO_REF, None)
        if proc._wake_pending:
            proc._wake_pending = False
            self._scheduler.enqueue(proc)

    # ------------------------------------------------------------------ markers, breakpoints

    def marker(self, label: str, *, pid: Pid | None = None, **data: Any) -> None:
        """Record a MARKER: a labelled point in the timeline, with optional data."""
        rec = self._rec
        if rec.active:
            rec.record(
                _MARKER, NO_PID if pid is None else pid.n, NO_PEER, NO_REF, {"label": label, **data}
            )

    def breakpoint(self, name: str, *, pid: Pid | None = None) -> None:
        """A programmatic breakpoint: recorded as BREAKPOINT; calls the pause handler, if any.

        Breakpoint ids are stable per name within a runtime (1, 2, ... in order of first hit).
        """
        current = self._scheduler.current
        if pid is None and current is not None:
            pid = current.pid
        bp_id = self._breakpoint_ids.setdefault(name, len(self._breakpoint_ids) + 1)
        rec = self._rec
        at_seq = rec.events_emitted() if rec.active else -1
        if rec.active:
            rec.record(
                _BREAKPOINT,
                NO_PID if pid is None else pid.n,
                NO_PEER,
                bp_id,
                {"breakpoint": name, "at_seq": at_seq},
            )
        handler = self.pause_handler
        if handler is not None:
            handler(BreakpointHit(name, bp_id, pid, at_seq))

    # ------------------------------------------------------------------ profiling

    def start_profiling(self) -> None:
        """Arm the periodic PROFILE sampler (done automatically when recording)."""
        if self._profile_armed or not self.profile_interval_ms:
            return
        self._profile_armed = True
        self._arm_profile()

    def _arm_profile(self) -> None:
        assert self.profile_interval_ms
        scheduler = self._scheduler
        scheduler.timers.add(
            scheduler.deadline(self.profile_interval_ms), self._profile_tick, None, counts=False
        )

    def _profile_tick(self, _arg: Any) -> None:
        self.profile_sample()
        if self._rec.active:
            self._arm_profile()
        else:
            self._profile_armed = False

    def profile_sample(self) -> None:
        """Record PROFILE samples now: each process whose figures changed, then the system."""
        rec = self._rec
        if not rec.active:
            return
        queued = 0
        memory = 0  # of the processes sampled now
        total_memory = 0  # of every live process, as of its latest sample
        cpu = 0
        handled = 0
        for proc in list(self._processes.values()):
            mailbox_len = len(proc._mailbox)
            queued += mailbox_len
            cpu += proc._cpu_ns
            handled += proc._handled
            mark = (proc._handled, proc._cpu_ns, mailbox_len)
            if mark == proc._profile_mark:
                total_memory += proc._sampled_memory
                continue
            proc._profile_mark = mark
            proc_memory = process_memory(proc)
            proc._sampled_memory = proc_memory  # what keyframes show until the next sample
            memory += proc_memory
            total_memory += proc_memory
            rec.record(
                _PROFILE,
                proc._n,
                NO_PEER,
                NO_REF,
                {
                    "cpu_ns": proc._cpu_ns,
                    "handled": proc._handled,
                    "mailbox_len": mailbox_len,
                    "memory": proc_memory,
                },
            )
        rec.record(
            _PROFILE,
            NO_PID,
            NO_PEER,
            NO_REF,
            {
                "processes": len(self._processes),
                "messages_queued": queued,
                "memory_sampled": memory,
                "memory": total_memory,
                "cpu_ns": cpu,
                "handled": handled,
                "timers": len(self._scheduler.timers),
            },
        )
