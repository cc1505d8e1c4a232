"""The scheduler: drives process coroutines with ``coro.send()`` and keeps the clock.

Processes are plain coroutines that yield the scheduler's own tokens (park, yield), the way
Trio and Curio drive theirs: no asyncio task per process, so a message costs a few hundred ns.

Two modes:

- **deterministic** (``deterministic=True, seed=N``): the next process to run is a seeded random
  choice among the runnable ones; the clock is virtual: every step costs ``step_cost_ns`` and
  when every process waits the clock jumps to the next timer. CPU time is virtual as well. The
  same program and seed give the same event sequence, timestamps included.
- **real time**: FIFO run order, the monotonic clock, timers in real time. Run it with
  :meth:`SchedulerBase.run_async` inside an asyncio loop and processes may ``await`` asyncio
  awaitables (sockets, ``asyncio.sleep``, ...) directly: the process parks until the future is
  done, the others keep running.

The scheduler knows nothing of links, names or recording: when a process ends it calls the
``end(process, reason, exc)`` function it was given (the runtime's).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import time
from collections.abc import Callable
from typing import Any

from recorder.payload import MonotonicClock
from recorder.sandbox.errors import ProcessExit, exit_reason_of, is_normal_reason
from recorder.sandbox.process import NOT_DOOMED, PARK, TIMED_OUT, YIELD, Process
from recorder.sandbox.timers import TimerEntry, TimerHeap

__all__ = ["EndProcess", "Scheduler"]

#: ``end(process, reason, exception or None)``: what the scheduler calls when a process ends.
EndProcess = Callable[[Process, Any, "BaseException | None"], None]

_perf_counter_ns = time.perf_counter_ns
_HOUSEKEEPING_EVERY = 256  # steps between keyframe / pause checks


_perf_counter_ns = time.perf_counter_ns
_HOUSEKEEPING_EVERY = 256  # steps between keyframe / pause checks


class Scheduler:
    """The run queue, the clock, the timers and the step function.

    Args:
        deterministic: seeded run order and a virtual clock (see the module docstring).
        rng: the seeded random source of the run order.
        step_cost_ns: virtual time one step costs in deterministic mode.
        end: called as ``end(process, reason, exc)`` when a process's coroutine ends.
    """

    def __init__(
        self, *, deterministic: bool, rng: random.Random, step_cost_ns: int, end: EndProcess
    ) -> None:
        self.deterministic = deterministic
        self.rng = rng
        self.step_cost_ns = step_cost_ns
        self.timers = TimerHeap()
        #: The process whose step is running, if any.
        self.current: Process | None = None
        #: Whether :meth:`run` (or :meth:`run_async`) is running.
        self.running = False
        self._end = end
        self._runq_list: list[Process] = []
        self._runq_deque: collections.deque[Process] = collections.deque()
        #: Appends to the run queue without the checks of :meth:`enqueue` (the hot path).
        self.runq_append: Callable[[Process], None] = (
            self._runq_list.append if deterministic else self._runq_deque.append
        )
        self._vnow = 0
        self._t0 = time.monotonic_ns()
        #: The runtime clock in ns (virtual in deterministic mode).
        # Real time: a MonotonicClock, which the native event buffer reads without a Python
        # call per recorded event.
        self.clock: Callable[[], int] = (
            self._virtual_clock if deterministic else MonotonicClock(self._t0)
        )
        self._stop_requested = False
        self._async_pending = 0
        self._async_wakeup: asyncio.Event | None = None
        self._housekeeping: list[Callable[[], None]] = []
        #: Called with a deadline (ns, runtime clock) whenever :meth:`run` idles until a timer:
        #: instead of sleeping in real time, before the jump in deterministic mode. It may
        #: return early (new work) or late (paused); a live debugger waits for commands here.
        self.idle_wait: Callable[[int], None] | None = None

    # ------------------------------------------------------------------ clock

    def _virtual_clock(self) -> int:
        return self._vnow

    def now_ms(self) -> float:
        """The runtime clock in milliseconds (virtual in deterministic mode)."""
        return self.clock() / 1e6

    def deadline(self, ms: float) -> int:
        """The clock value ``ms`` milliseconds from now."""
        return self.clock() + int(ms * 1e6)

    # ------------------------------------------------------------------ run queue

    def enqueue(self, proc: Process) -> None:
        """Make ``proc`` runnable (unless suspended: then it runs once resumed)."""
        if proc._queued:
            return
        if proc._suspended:
            proc._wake_pending = True
            return
        proc._queued = True
        self.runq_append(proc)

    def unqueue(self, proc: Process) -> None:
        """Take a queued ``proc`` off the run queue (it is being suspended)."""
        if proc._queued:
            proc._queued = False
            queue: Any = self._runq_list if self.deterministic else self._runq_deque
            queue.remove(proc)

    def wake(self, proc: Process, value: Any = None) -> None:
        """Resume a parked process with ``value`` as the result of its park."""
        proc._waiting = False
        proc._resume_value = value
        self.enqueue(proc)

    def has_runnable(self) -> bool:
        """Whether a process waits in the run queue."""
        return bool(self._runq_list) if self.deterministic else bool(self._runq_deque)

    # ------------------------------------------------------------------ process timers

    def arm_wakeup(self, proc: Process, ms: float) -> None:
        """Wake ``proc`` after ``ms`` (``sleep``)."""
        proc._timer = self.timers.add(self.deadline(ms), self._on_wakeup, proc)

    def _on_wakeup(self, proc: Process) -> None:
        proc._timer = None
        if proc._alive:
            self.wake(proc)

    def arm_receive_timeout(self, proc: Process, ms: float) -> TimerEntry:
        """Wake ``proc`` with :data:`~recorder.sandbox.process.TIMED_OUT` after ``ms`` unless
        a message it waits for arrives first."""
        return self.timers.add(self.deadline(ms), self._on_receive_timer, proc)

    def _on_receive_timer(self, proc: Process) -> None:
        proc._timer = None
        if proc._alive and proc._waiting:
            self.wake(proc, TIMED_OUT)

    # ------------------------------------------------------------------ stepping

    def _step(self, proc: Process) -> None:
        coro = proc._coro
        assert coro is not None
        value = proc._resume_value
        proc._resume_value = None
        self.current = proc
        deterministic = self.deterministic
        t0 = 0 if deterministic else _perf_counter_ns()
        try:
            op = coro.send(value)
        except StopIteration:
            self._account(proc, deterministic, t0)
            self._end(proc, "normal", None)
            return
        except ProcessExit as exc:
            self._account(proc, deterministic, t0)
            self._end(proc, exc.reason, exc if not is_normal_reason(exc.reason) else None)
            return
        except Exception as exc:
            self._account(proc, deterministic, t0)
            self._end(proc, exit_reason_of(exc), exc)
            return
        # _account, inlined: this is the hot path
        self.current = None
        if deterministic:
            proc._cpu_ns += self.step_cost_ns
            self._vnow += self.step_cost_ns
        else:
            proc._cpu_ns += _perf_counter_ns() - t0
        if proc._doomed is not NOT_DOOMED:  # an exit signal reached it during its own step
            with contextlib.suppress(Exception):
                coro.close()
            self._end(proc, proc._doomed, None)
            return
        if op is PARK:
            return
        if op is YIELD:
            self.enqueue(proc)
            return
        self._await_foreign(proc, op)

    def _account(self, proc: Process, deterministic: bool, t0: int) -> None:
        self.current = None
        if deterministic:
            proc._cpu_ns += self.step_cost_ns
            self._vnow += self.step_cost_ns
        else:
            proc._cpu_ns += _perf_counter_ns() - t0

    def _await_foreign(self, proc: Process, op: Any) -> None:
        # An asyncio future yielded by `await fut` inside a process: park until it is done,
        # as asyncio.Task.__step does (the future's __await__ then returns its result).
        if getattr(op, "_asyncio_future_blocking", None) and self._async_wakeup is not None:
            op._asyncio_future_blocking = False
            self._async_pending += 1
            wakeup = self._async_wakeup

            def done(_fut: Any) -> None:
                self._async_pending -= 1
                if proc._alive:
                    self.enqueue(proc)
                wakeup.set()

            op.add_done_callback(done)
            return
        where = "run_async()" if getattr(op, "_asyncio_future_blocking", None) else "the sandbox"
        error = RuntimeError(
            f"process {proc.name} awaited {op!r}, which {where} cannot drive "
            "(await asyncio objects only under Runtime.run_async())"
        )
        reason = ("exception", f"RuntimeError: {error}")
        try:
            coro = proc._coro
            assert coro is not None
            coro.throw(error)
        except BaseException as exc:  # it almost surely does not catch it
            self._end(proc, reason, exc)
            return
        self._end(proc, reason, error)

    # ------------------------------------------------------------------ loops

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current step."""
        self._stop_requested = True

    def on_housekeeping(self, task: Callable[[], None]) -> None:
        """Run ``task()`` every few hundred steps and whenever the run queue empties."""
        self._housekeeping.append(task)

    def run(self, until_ms: float | None = None) -> None:
        """Run until every process waits forever (or exited), the clock passes ``until_ms``, or
        :meth:`stop` is called."""
        if self.running:
            raise RuntimeError("Runtime.run() is already running (it is not reentrant)")
        self.running = True
        self._stop_requested = False
        try:
            limit = None if until_ms is None else int(until_ms * 1e6)
            while True:
                self._run_ready(limit)
                if self._stop_requested:
                    return
                deadline = self.timers.next_deadline()
                if deadline is None or not self.timers.has_work:
                    return
                if limit is not None and deadline > limit:
                    self._sleep_until(limit)
                    if self.has_runnable() and self.clock() < limit:
                        continue  # an idle_wait hook made work (a debugger's command)
                    return
                self._sleep_until(deadline)
                self.timers.fire_due(self.clock())
        finally:
            self.running = False

    def _sleep_until(self, deadline_ns: int) -> None:
        hook = self.idle_wait
        if hook is not None:
            hook(deadline_ns)
            if self.deterministic and not self.has_runnable():
                self._vnow = max(self._vnow, deadline_ns)
            return
        if self.deterministic:
            self._vnow = max(self._vnow, deadline_ns)
        else:
            delay = (deadline_ns - self.clock()) / 1e9
            if delay > 0:
                time.sleep(delay)

    def _run_ready(self, limit: int | None) -> None:
        timers = self.timers
        step = self._step
        steps = 0
        if self.deterministic:
            runq = self._runq_list
            rand = self.rng.random
            while runq and not self._stop_requested:
                i = int(rand() * len(runq))
                proc = runq[i]
                runq[i] = runq[-1]
                runq.pop()
                proc._queued = False
                if proc._alive:
                    step(proc)
                if timers.due(self._vnow):
                    timers.fire_due(self._vnow)
                steps += 1
                if steps % _HOUSEKEEPING_EVERY == 0:
                    self._do_housekeeping()
                    if limit is not None and self._vnow >= limit:
                        return
        else:
            dq = self._runq_deque
            popleft = dq.popleft
            while dq and not self._stop_requested:
                proc = popleft()
                proc._queued = False
                if proc._alive:
                    step(proc)
                steps += 1
                if steps % 64 == 0:
                    now = self.clock()
                    if timers.due(now):
                        timers.fire_due(now)
                    if steps % _HOUSEKEEPING_EVERY == 0:
                        self._do_housekeeping()
                        if limit is not None and now >= limit:
                            return
        self._do_housekeeping()

    def _do_housekeeping(self) -> None:
        for task in self._housekeeping:
            task()

    async def run_async(self, until_ms: float | None = None) -> None:
        """Run inside the current asyncio loop (real-time mode only); see :meth:`run`."""
        if self.deterministic:
            raise RuntimeError("run_async() needs a real-time runtime (deterministic=False)")
        if self.running:
            raise RuntimeError("Runtime.run() is already running (it is not reentrant)")
        self.running = True
        self._stop_requested = False
        self._async_wakeup = wakeup = asyncio.Event()
        limit = None if until_ms is None else int(until_ms * 1e6)
        try:
            while not self._stop_requested:
                self._run_ready(limit)
                now = self.clock()
                self.timers.fire_due(now)
                if self.has_runnable():
                    await asyncio.sleep(0)  # let the loop breathe between bursts
                    continue
                deadline = self.timers.next_deadline()
                if (deadline is None or not self.timers.has_work) and not self._async_pending:
                    return
                if limit is not None and now >= limit:
                    return
                wait = None if deadline is None else max(0.0, (deadline - now) / 1e9)
                if limit is not None:
                    wait = min(wait if wait is not None else 1e9, max(0.0, (limit - now) / 1e9))
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), wait)
                self.timers.fire_due(self.clock())
        finally:
            self.running = False
            self._async_wakeup = None
