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
"""

from __future__ import annotations

import abc
import asyncio
import collections
import contextlib
import logging
import random
import time
import traceback
from collections.abc import Callable
from typing import Any

from recorder.events import NO_PEER, NO_REF
from recorder.sandbox.errors import ProcessExit, is_normal_reason
from recorder.sandbox.process import NOT_DOOMED, PARK, YIELD, Process
from recorder.sandbox.timers import TimerHeap

__all__ = ["Emit", "SchedulerBase"]

log = logging.getLogger("recorder.sandbox")
log.addHandler(logging.NullHandler())

Emit = Callable[[int, int, int, int, Any], None]

_perf_counter_ns = time.perf_counter_ns
_HOUSEKEEPING_EVERY = 256  # steps between keyframe / pause checks


class SchedulerBase(abc.ABC):
    """Run queue, clock, timers and the step function. :class:`Runtime` builds on it."""

    emit: Emit | None

    def __init__(self, *, deterministic: bool, seed: int, step_cost_ns: int) -> None:
        self.deterministic = deterministic
        self.seed = seed
        self.step_cost_ns = step_cost_ns
        self.rng = random.Random(seed)
        self.processes: dict[int, Process] = {}
        self.current: Process | None = None
        self.timers = TimerHeap()
        self._runq_list: list[Process] = []
        self._runq_deque: collections.deque[Process] = collections.deque()
        self.runq_append: Callable[[Process], None] = (
            self._runq_list.append if deterministic else self._runq_deque.append
        )
        self._vnow = 0
        self._t0 = time.monotonic_ns()
        self.clock: Callable[[], int] = self._virtual_clock if deterministic else self._real_clock
        self._running = False
        self._stop_requested = False
        self._async_pending = 0
        self._async_wakeup: asyncio.Event | None = None
        self._housekeeping: list[Callable[[], None]] = []
        self.emit = None

    # ------------------------------------------------------------------ clock

    def _virtual_clock(self) -> int:
        return self._vnow

    def _real_clock(self) -> int:
        return time.monotonic_ns() - self._t0

    def now_ms(self) -> float:
        """The runtime clock in milliseconds (virtual in deterministic mode)."""
        return self.clock() / 1e6

    # ------------------------------------------------------------------ run queue

    def enqueue(self, proc: Process) -> None:
        """Make ``proc`` runnable (unless suspended: then it runs once resumed)."""
        if proc.queued:
            return
        if proc.suspended:
            proc.wake_pending = True
            return
        proc.queued = True
        if self.deterministic:
            self._runq_list.append(proc)
        else:
            self._runq_deque.append(proc)

    def wake(self, proc: Process, value: Any = None) -> None:
        """Resume a parked process with ``value`` as the result of its park."""
        proc.waiting = False
        proc.resume_value = value
        self.enqueue(proc)

    def _has_runnable(self) -> bool:
        return bool(self._runq_list) if self.deterministic else bool(self._runq_deque)

    # ------------------------------------------------------------------ stepping

    def _step(self, proc: Process) -> None:
        coro = proc.coro
        assert coro is not None
        value = proc.resume_value
        proc.resume_value = None
        self.current = proc
        deterministic = self.deterministic
        t0 = 0 if deterministic else _perf_counter_ns()
        try:
            op = coro.send(value)
        except StopIteration:
            self._account(proc, deterministic, t0)
            self.finish(proc, "normal")
            return
        except ProcessExit as exc:
            self._account(proc, deterministic, t0)
            self.finish(proc, exc.reason, exc if not is_normal_reason(exc.reason) else None)
            return
        except Exception as exc:
            self._account(proc, deterministic, t0)
            reason = getattr(exc, "exit_reason", None)
            if reason is None:
                reason = ("exception", f"{type(exc).__name__}: {exc}")
            self.finish(proc, reason, exc)
            return
        # _account, inlined: this is the hot path
        self.current = None
        if deterministic:
            proc.cpu_ns += self.step_cost_ns
            self._vnow += self.step_cost_ns
        else:
            proc.cpu_ns += _perf_counter_ns() - t0
        if proc.doomed is not NOT_DOOMED:  # an exit signal reached it during its own step
            with contextlib.suppress(Exception):
                coro.close()
            self.finish(proc, proc.doomed, None)
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
            proc.cpu_ns += self.step_cost_ns
            self._vnow += self.step_cost_ns
        else:
            proc.cpu_ns += _perf_counter_ns() - t0

    def _await_foreign(self, proc: Process, op: Any) -> None:
        # An asyncio future yielded by `await fut` inside a process: park until it is done,
        # as asyncio.Task.__step does (the future's __await__ then returns its result).
        if getattr(op, "_asyncio_future_blocking", None) and self._async_wakeup is not None:
            op._asyncio_future_blocking = False
            self._async_pending += 1
            wakeup = self._async_wakeup

            def done(_fut: Any) -> None:
                self._async_pending -= 1
                if proc.alive:
                    self.enqueue(proc)
                wakeup.set()

            op.add_done_callback(done)
            return
        where = "run_async()" if getattr(op, "_asyncio_future_blocking", None) else "the sandbox"
        error = RuntimeError(
            f"process {proc.name} awaited {op!r}, which {where} cannot drive "
            "(await asyncio objects only under Runtime.run_async())"
        )
        try:
            coro = proc.coro
            assert coro is not None
            coro.throw(error)
        except BaseException as exc:  # it almost surely does not catch it
            self.finish(proc, ("exception", f"RuntimeError: {error}"), exc)
            return
        self.finish(proc, ("exception", f"RuntimeError: {error}"), error)

    @abc.abstractmethod
    def finish(self, proc: Process, reason: Any, exc: BaseException | None = None) -> None:
        """Hook: a process ended (implemented by the runtime)."""
        ...

    @staticmethod
    def crash_data(reason: Any, exc: BaseException | None) -> dict[str, Any]:
        """The CRASH event's data: reason, error text, traceback text."""
        if exc is None:
            return {"reason": reason, "error": f"exit({reason!r})", "traceback": ""}
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return {"reason": reason, "error": f"{type(exc).__name__}: {exc}", "traceback": text}

    # ------------------------------------------------------------------ loops

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current step."""
        self._stop_requested = True

    def run(self, until_ms: float | None = None) -> None:
        """Run until every process waits forever (or exited), or the clock passes ``until_ms``.

        Args:
            until_ms: stop once the runtime clock reaches this many milliseconds.
        """
        if self._running:
            raise RuntimeError("Runtime.run() is already running (it is not reentrant)")
        self._running = True
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
                    return
                self._sleep_until(deadline)
                self.timers.fire_due(self.clock())
        finally:
            self._running = False

    def _sleep_until(self, deadline_ns: int) -> None:
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
                proc.queued = False
                if proc.alive:
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
                proc.queued = False
                if proc.alive:
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
        """Run inside the current asyncio loop (real-time mode only).

        Processes may then ``await`` asyncio awaitables directly. Returns when every process
        waits forever with no timer and no asyncio operation pending, or at ``until_ms``.
        """
        if self.deterministic:
            raise RuntimeError("run_async() needs a real-time runtime (deterministic=False)")
        if self._running:
            raise RuntimeError("Runtime.run() is already running (it is not reentrant)")
        self._running = True
        self._stop_requested = False
        self._async_wakeup = wakeup = asyncio.Event()
        limit = None if until_ms is None else int(until_ms * 1e6)
        try:
            while not self._stop_requested:
                self._run_ready(limit)
                now = self.clock()
                self.timers.fire_due(now)
                if self._has_runnable():
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
            self._running = False
            self._async_wakeup = None

    # ------------------------------------------------------------------ events

    def emit_raw(
        self, kind: int, pid: int, peer: int = NO_PEER, ref: int = NO_REF, data: Any = None
    ) -> None:
        """Record one event if recording (the slow, general path)."""
        emit = self.emit
        if emit is not None:
            try:
                emit(kind, pid, peer, ref, data)
            except Exception:  # a broken sink never stops the runtime (Trio's Instrument rule)
                log.exception("event sink failed; recording disabled")
                self.emit = None
