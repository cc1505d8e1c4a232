"""The channel between the observed program's thread and the writer thread.

The program thread *hands over* what its :class:`~recorder.session.buffer.EventBuffer` holds,
followed by keyframes and flush / stop requests, into one queue (:meth:`Pipe.handoff`, under a
lock, so the order is the order of the calls). The writer thread wakes every half
``flush_interval`` and whenever it is woken, hands over whatever is buffered itself (the program
may be idle), and has the :class:`~recorder.session.drain.Drain` write it all.

When that thread is starved (a busy program holds the GIL, the machine is loaded) and events
have waited :data:`TAKEOVER` of the interval, the program thread runs the pass itself
(:meth:`Pipe.write_pass`, from the recorder's slow path), so an event reaches the OS within
``flush_interval`` either way.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from recorder.payload import EventBatch
from recorder.session.drain import EVENTS, STOP, Drain

__all__ = ["TAKEOVER", "EventSource", "Pipe"]

#: Events that waited this fraction of ``flush_interval`` mean the writer thread is starved.
TAKEOVER = 0.6
#: A lazy hand-over (:meth:`Pipe.handoff` with ``wake=None``) wakes the writer thread only once
#: this many batches wait, or a quarter of ``flush_interval`` passed since it was last woken:
#: each wake-up costs the program a hand-over of the GIL and back (a context switch each way,
#: milliseconds on a loaded machine), and one pass writes many frames as cheaply as one.
WAKE_BATCHES = 8


class EventSource(Protocol):
    """What the pipe needs of an :class:`~recorder.payload.EventBuffer` (native or not)."""

    def take(self) -> EventBatch: ...

    def __len__(self) -> int: ...


class Pipe:
    """The queue, its lock and the writer thread (see the module docstring).

    Args:
        buffer: the program thread's event buffer.
        drain: writes queued items.
        flush_interval: seconds, or ``None`` (write only full frames and on request).
        fsync: ``fsync`` after each timed write.
        on_fail: called with the exception when writing fails (from either thread).
    """

    def __init__(
        self,
        buffer: EventSource,
        drain: Drain,
        flush_interval: float | None,
        fsync: bool,
        on_fail: Callable[[BaseException], None],
    ) -> None:
        self.buffer = buffer
        self.drain = drain
        self.queue: collections.deque[tuple[Any, ...]] = collections.deque()
        self.enqueued = 0
        """Events handed over so far."""
        self.handoff_at = time.monotonic()
        self.failed = False
        self._interval = flush_interval
        self._fsync = fsync
        self._on_fail = on_fail
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._woken_at = 0.0
        self._wake_gap = flush_interval / 4 if flush_interval is not None else 0.25
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None

    @property
    def backlog(self) -> int:
        """Events handed over and not yet taken by the drain."""
        return self.enqueued - self.drain.consumed

    @property
    def writing(self) -> bool:
        """Whether the writer thread runs and nothing failed."""
        return self._thread is not None and self._thread.is_alive() and not self.failed

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cinema-recorder", daemon=True)
        self._thread.start()

    def handoff(self, *items: tuple[Any, ...], wake: bool | None = True) -> float:
        """Move the buffered events (then ``items``) into the queue, in order; wake the writer
        (``wake=None``: only if :data:`WAKE_BATCHES` items wait or it was last woken a quarter
        of the flush interval ago; it wakes on its own every half interval anyway).
        Returns the monotonic time of the handover."""
        with self._lock:
            buf = self.buffer
            if len(buf):
                batch = buf.take()
                if batch.count:
                    self.queue.append((EVENTS, batch))
                    self.enqueued += batch.count
            self.queue.extend(items)
            self.handoff_at = now = time.monotonic()
            if wake is None:
                wake = len(self.queue) >= WAKE_BATCHES or now - self._woken_at >= self._wake_gap
            if wake:
                self._woken_at = now
        if wake:
            self._wake.set()
        return now

    def overdue(self, now: float) -> bool:
        """Whether events have waited long enough that the writer thread must be starved."""
        interval = self._interval
        return interval is not None and now - self.drain.written_at >= TAKEOVER * interval

    def write_pass(self) -> bool:
        """Hand over and write everything now, on the calling (program) thread, unless the
        writer thread is at it already. Returns whether the pass ran. Never raises."""
        drain = self.drain
        if not drain.lock.acquire(blocking=False):
            return False
        try:
            if self.failed:
                return False
            drain.work(self.queue, cut=self.handoff(wake=False), allow_stop=False)
        except BaseException as exc:  # stop recording; never raise into the program
            self.fail(exc)
        finally:
            drain.lock.release()
        return True

    def wait(self, done: Callable[[], bool], timeout: float) -> None:
        """Wait until ``done()`` (checked after each writer pass), the writer stops, or
        ``timeout`` seconds pass."""
        with self._progress:
            self._progress.wait_for(lambda: done() or not self.writing, timeout=timeout)

    def stop(self, lost: int) -> bool:
        """Hand over the rest and a STOP; wait for the footer. A writer that makes no progress
        for 30 s (a hung network disk) is given up on. Returns whether it finished."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return True
        if not self.failed:
            self.handoff((STOP, lost))
        else:  # it is stopping on its own (and may still be warning): let it finish
            self._wake.set()
        last, idle = -1, 0.0
        while thread.is_alive() and idle < 30.0:
            thread.join(1.0)
            done = self.drain.consumed
            idle = 0.0 if done != last else idle + 1.0
            last = done
        return not thread.is_alive()

    def fail(self, exc: BaseException) -> None:
        """Stop writing: nothing more is queued or written; every waiter wakes."""
        self.failed = True
        self.queue.clear()
        self._on_fail(exc)
        with self._progress:
            self._progress.notify_all()

    def _run(self) -> None:
        interval = self._interval
        period = interval / 2 if interval is not None else 1.0
        drain = self.drain
        try:
            while True:
                self._wake.wait(period)
                self._wake.clear()
                flushed = drain.flushed
                with drain.lock:
                    if self.failed:
                        return
                    cut = None
                    if interval is not None and time.monotonic() - drain.written_at >= period:
                        cut = self.handoff(wake=False)  # the program may be idle
                    stop = drain.work(self.queue, cut=cut, allow_stop=True)
                    if self._fsync and (cut is not None or drain.flushed != flushed):
                        drain.sync()
                    if stop is not None:
                        drain.finish(stop, self._fsync)
                with self._progress:
                    self._progress.notify_all()
                if stop is not None:
                    return
        except BaseException as exc:  # disk full, read-only, a target that raises
            self.fail(exc)
