"""The session writer: events captured on the program thread, frames written beside it.

:meth:`Recorder.emit` captures an event *now*: the :class:`~recorder.payload.EventBuffer`
reads the clock and encodes the data on the caller's thread, so nothing the program does later
to a value can change what was recorded. Every ``check_every`` events a slow path hands what is
buffered over to the writer thread (:mod:`recorder.session.pipe`: a frame's worth, or whatever
waited half the flush interval; it writes a pass itself if that thread is starved), takes a
keyframe when one is due (``snapshot=`` sources), and enforces the buffer bound:
``overflow="block"`` waits for the writer, ``"drop"`` discards and counts (the count is itself
recorded as a :attr:`~recorder.events.EventKind.LOST` event).

The writer thread only assembles columns into frames, compresses and writes them
(:mod:`recorder.session.drain`). A recording that fails (disk full, read-only, a target that
raises) stops, keeps what it wrote readable, warns once, and never raises into the program:
see :attr:`Recorder.error` and :attr:`Recorder.failed`. A session file is written beside its
path and renamed into place when its first events are on disk (:mod:`recorder.session.target`).
The guarantees are listed in ``docs/session-format.md`` ("How the reference writer behaves").
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import platform
import socket
import sys
import time
import weakref
from collections.abc import Callable, Iterable
from typing import IO, Any, Literal

import msgpack

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import DEFAULT_LIMITS, EventBuffer, Limits, to_structural
from recorder.session.assembler import FRAME_BYTES, FrameAssembler
from recorder.session.drain import FLUSH, KEYFRAME, Drain, Output
from recorder.session.format import pack_file_header
from recorder.session.frames import Compressor
from recorder.session.keyframes import pack_world
from recorder.session.pipe import Pipe
from recorder.session.target import SessionFile

__all__ = ["ENV_STATUS", "Output", "Recorder", "RecorderClosed"]  # Output: see .drain

log = logging.getLogger("recorder")
log.addHandler(logging.NullHandler())

RECORDER_VERSION = "0.1.0"
#: When set (by ``cinema record``), every Recorder appends one JSON line to this file at close:
#: ``{"path", "events", "lost", "error"}``, so the command can report on its child's recording.
ENV_STATUS = "CINEMA_RECORD_STATUS"

_NO_WORLD: Any = object()
#: Readers refuse frames of more than 2^20 events; a batch may pass frame_events a little.
_MAX_FRAME_EVENTS = 1 << 19


class RecorderClosed(RuntimeError):
    """emit() after close()."""


def default_metadata(clock_ns: int, wall_ns: int) -> dict[str, Any]:
    return {
        "clock_anchor": {"wall_ns": wall_ns, "monotonic_ns": clock_ns},
        "host": socket.gethostname(),
        "program": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python",
        "argv": list(sys.argv),
        "python": platform.python_version(),
        "recorder_version": RECORDER_VERSION,
        "pid": os.getpid(),
    }


class Recorder:
    """Records events into a session file (and any extra outputs); a sink of
    :mod:`recorder.sink`.

    Args:
        target: a path, a binary file object, or ``None`` (outputs only).
        metadata: extra header metadata (scenario, seed, ...), merged over the defaults.
        clock: monotonic nanosecond clock; inject a fake one for deterministic files.
        wall_clock: wall-clock nanoseconds, used once for the header's anchor.
        frame_events: events per frame (the unit of compression and random access).
        keyframe_every: with ``snapshot``, take a keyframe after at least this many events.
        snapshot: returns the whole world (the older protocol; event sources now push
            worlds with :meth:`keyframe`).
        compress: zstd level, or ``None`` for no compression.
        buffer_events: bound of the events held in memory between program and disk.
        overflow: ``"block"`` (the program waits for the writer) or ``"drop"`` (discard and
            count).
        flush_interval: at most this many seconds pass between an event and its frame
            reaching the OS (a killed process loses about that much), or ``None``: only full
            frames and keyframes cut a frame, which makes files byte-identical for equal input.
        limits: payload encoding limits.
        outputs: extra byte sinks (the live server); they get exactly the file's bytes.
        fsync: also ``os.fsync`` on each flush (survives power loss, costs more).
        check_every: events between two runs of the slow path.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[bytes] | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        clock: Callable[[], int] = time.monotonic_ns,
        wall_clock: Callable[[], int] = time.time_ns,
        frame_events: int = 4096,
        keyframe_every: int = 4096,
        snapshot: Callable[[], Any] | None = None,
        compress: int | None = 1,
        buffer_events: int = 1 << 20,
        overflow: Literal["block", "drop"] = "block",
        flush_interval: float | None = 0.2,
        limits: Limits = DEFAULT_LIMITS,
        outputs: Iterable[Output] = (),
        fsync: bool = False,
        check_every: int = 512,
    ) -> None:
        if overflow not in ("block", "drop"):
            raise ValueError(f"overflow must be 'block' or 'drop', not {overflow!r}")
        if frame_events < 1 or keyframe_every < 1 or buffer_events < 2 or check_every < 1:
            raise ValueError(
                "frame_events, keyframe_every, buffer_events and check_every must be positive"
            )
        if frame_events > _MAX_FRAME_EVENTS:
            raise ValueError(f"frame_events must be at most {_MAX_FRAME_EVENTS}")
        if flush_interval is not None and not flush_interval > 0:
            raise ValueError(f"flush_interval must be positive or None, not {flush_interval!r}")
        self.path: str | None = None
        self.error: BaseException | None = None
        """Why the recording stopped early (``None`` while it is fine)."""
        self._outputs: list[Output] = list(outputs)
        self._clock = clock
        self._limits = limits
        self._frame_events = frame_events
        self._keyframe_every = keyframe_every
        self._snapshot = snapshot
        self._overflow = overflow
        self._capacity = buffer_events
        self._flush_interval = flush_interval
        self._fsync = fsync

        # program-thread state: emit is the buffer's own (native) emit, which calls the slow
        # path back when the buffer reaches its threshold
        self._buffer = _with_threshold(EventBuffer(clock, limits))
        self._buf_emit: Callable[[int, int, int, int, Any], None] = self._buffer.emit
        self.emit = self._buf_emit  # type: ignore[method-assign]
        self._check_every = max(1, min(check_every, buffer_events // 4 or 1))
        # Batches are handed over at frame boundaries: each becomes one frame.
        self._handoff_events = max(1, min(frame_events, buffer_events // 4))
        self._half_interval = flush_interval / 2 if flush_interval is not None else 0.0
        self._last_keyframe_n = 0
        self._lost = 0
        self._lost_pending = 0
        self._dropping = False
        self._discarded = 0
        self._closed = False
        self._flush_ids = itertools.count(1)
        self._close_listeners: list[Callable[[], object]] = []

        self._warned = False

        wall = wall_clock()
        meta = default_metadata(clock(), wall)
        meta.update(
            {
                "frame_events": frame_events,
                "keyframe_every": keyframe_every,
                "compression": "zstd" if compress is not None else "none",
            }
        )
        meta.update(metadata or {})
        self.metadata = meta
        self.header = pack_file_header(msgpack.packb(to_structural(meta), use_bin_type=True))
        """The file header's bytes (what a live output that joins late must see first)."""
        asm = FrameAssembler(Compressor(compress), len(self.header))
        self._drain = Drain(asm, None, None, self._outputs)
        self._pipe = Pipe(self._buffer, self._drain, flush_interval, fsync, self._fail)
        self._schedule_check()
        self._buffer.on_threshold = self._slow_path
        try:
            self._open(target)
        except Exception as exc:  # read-only, no such folder, ...: the program goes on
            self._pipe.fail(exc)
            return
        self._pipe.start()
        _open_recorders.add(self)

    def _open(self, target: str | os.PathLike[str] | IO[bytes] | None) -> None:
        drain = self._drain
        if isinstance(target, (str, os.PathLike)):
            self.path = os.fspath(target)
            drain.file = SessionFile(self.path)
            drain.file.write(self.header)
            drain.file.mark_good()
        elif target is not None:
            drain.stream = target
            target.write(self.header)
        for out in list(self._outputs):
            drain.send(out, self.header)

    # ------------------------------------------------------------------ hot path

    def emit(
        self, kind: int, pid: int, peer: int = NO_PEER, ref: int = NO_REF, data: Any = None
    ) -> None:
        """Record one event: capture it now. Never blocks on I/O; never raises for any ``data``.

        (Each Recorder replaces this method by its buffer's native ``emit``, one C call, which
        calls the slow path back every ``check_every`` events.)

        Raises:
            RecorderClosed: after :meth:`close`.
        """
        self._buf_emit(kind, pid, peer, ref, data)

    def _slow_path(self) -> None:
        if self._closed:
            self._buffer.threshold = 0  # every later emit comes here, and is refused
            raise RecorderClosed("emit() on a closed Recorder")
        buf, pipe = self._buffer, self._pipe
        if pipe.failed:  # recording stopped: keep memory bounded, let the program run
            self._discarded += buf.take().count
            pipe.queue.clear()
            self._schedule_check()
            return
        if (
            self._snapshot is not None
            and self.events_emitted - self._last_keyframe_n >= self._keyframe_every
        ):
            self.keyframe()
        backlog = pipe.backlog
        if backlog + len(buf) >= self._capacity:
            if self._overflow == "block":
                pipe.handoff()
                low = self._capacity // 2
                pipe.wait(lambda: pipe.backlog < low, timeout=30.0)
            else:  # the writer is behind: what is buffered goes, and is counted
                dropped = buf.take().count
                self._dropping = True
                self._lost += dropped
                self._lost_pending += dropped
        else:
            if self._dropping and backlog < self._capacity // 2:
                self._record_lost()
            self._maybe_handoff()
        self._schedule_check()

    def _maybe_handoff(self) -> None:
        buf, pipe = self._buffer, self._pipe
        full = len(buf) >= self._handoff_events or buf.nbytes >= FRAME_BYTES
        if self._flush_interval is None:
            if full:
                pipe.handoff(wake=None)
            return
        now = time.monotonic()
        if pipe.overdue(now) and pipe.write_pass():
            return  # the writer thread is starved: written from here
        # (A write pass that could not start means the writer thread is in one: it takes this
        # batch too. Keeping it here would make every later emit take the slow path.)
        if full or now - pipe.handoff_at >= self._half_interval:
            pipe.handoff(wake=None)  # frames wait for the writer's next pass, a few at a time

    def _schedule_check(self) -> None:
        # The next check comes when the buffer holds a frame's worth, exactly (so frames do not
        # depend on timing), or when a keyframe is due, or after check_every events.
        held = len(self._buffer)
        step = min(self._check_every, max(1, self._handoff_events - held))
        if self._snapshot is not None:
            due = self._last_keyframe_n + self._keyframe_every - self.events_emitted
            step = min(step, max(1, due))
        self._buffer.threshold = held + step

    def _record_lost(self) -> None:
        self._dropping = False
        lost, self._lost_pending = self._lost_pending, 0
        if lost:
            self._buf_emit(EventKind.LOST, NO_PEER, NO_PEER, NO_REF, {"count": lost})
            self._pipe.handoff()  # into the queue at once: a later drop must not take it

    # ------------------------------------------------------------------ public API

    @property
    def events_emitted(self) -> int:
        """Events taken so far, in file order (dropped ones excluded, LOST events included):
        the sequence number the next event will have."""
        return self._pipe.enqueued + len(self._buffer)

    @property
    def limits(self) -> Limits:
        """The payload encoding limits of this recording."""
        return self._limits

    @property
    def lost(self) -> int:
        """Events discarded because the buffer was full (``overflow="drop"``)."""
        return self._lost

    @property
    def failed(self) -> bool:
        """Whether the recording stopped early; :attr:`error` says why."""
        return self.error is not None

    def keyframe(self, world: Any = _NO_WORLD) -> None:
        """Record ``world`` (the whole system after the events emitted so far; see
        ``docs/world-schema.md``) as a keyframe, captured now, on the calling thread.

        Without ``world``, the ``snapshot`` callback given to the constructor is asked for it
        (a callback that raises is disabled and logged). Never raises.
        """
        if self._closed or self.failed:
            return
        if world is _NO_WORLD:
            if self._snapshot is None:
                return
            try:
                world = self._snapshot()
            except Exception:  # a broken snapshot source is disabled, never fatal (Trio-style)
                log.exception("snapshot source failed; keyframes disabled for this recording")
                self._snapshot = None
                return
        self._last_keyframe_n = self.events_emitted
        try:
            frozen = pack_world(world, self._limits)
        except Exception:  # the encoder never raises; a world that is not a world might
            log.exception("keyframe world could not be encoded; keyframe skipped")
            return
        self._pipe.handoff((KEYFRAME, self._clock(), frozen), wake=None)

    def add_output(self, output: Output, *, header: bool = False) -> None:
        """Send every later byte to ``output`` as well (the live server). With ``header``,
        first the file header, so a stream decoder can start there.

        ``output`` runs on the writer thread: it must return quickly (hand the bytes to its
        own queue). One that raises is removed and logged; the recording goes on.
        """
        if header:
            self._drain.send(output, self.header)
        self._outputs.append(output)

    def add_close_listener(self, listener: Callable[[], object]) -> None:
        """Call ``listener()`` when :meth:`close` starts (on the closing thread): an event
        source that calls :meth:`emit` directly stops before its next event would raise
        :class:`RecorderClosed`. A listener that raises is logged and ignored."""
        self._close_listeners.append(listener)

    def remove_close_listener(self, listener: Callable[[], object]) -> None:
        """Undo :meth:`add_close_listener`."""
        if listener in self._close_listeners:
            self._close_listeners.remove(listener)

    def remove_output(self, output: Output) -> None:
        """Stop sending bytes to ``output``."""
        if output in self._outputs:
            self._outputs.remove(output)

    def flush(self, timeout: float = 10.0) -> None:
        """Write everything emitted so far (as a partial frame if need be) to the OS, so that
        it survives the process being killed. Waits at most ``timeout`` seconds. Never raises.
        """
        if self._closed or not self._pipe.writing:
            return
        token = next(self._flush_ids)
        self._pipe.handoff((FLUSH, token))
        self._pipe.wait(lambda: self._drain.flushed >= token, timeout=timeout)

    def close(self) -> None:
        """Write everything still buffered, then the footer; the file takes its name.

        Never raises: a recording that failed says so in :attr:`error` (and warned once).
        """
        if self._closed:
            return
        for listener in list(self._close_listeners):  # first: before emit starts refusing
            try:
                listener()
            except Exception:  # a listener's bug never stops the footer
                log.exception("recorder close listener failed")
        self._close_listeners.clear()
        if self._dropping:
            self._record_lost()
        self._closed = True
        self._buffer.threshold = 0  # the next emit takes the slow path, which refuses it
        if not self._pipe.stop(self._lost) and not self._pipe.failed:
            self._pipe.failed = True  # the stuck writer may wake up later: it will stop then
            self._fail(TimeoutError("the writer made no progress for 30 s"), salvage=False)
        _open_recorders.discard(self)
        self._report_status()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ failure

    def _fail(self, exc: BaseException, *, salvage: bool = True) -> None:
        """The recording stopped (the pipe calls this): keep what was written readable, warn
        once."""
        if self.error is None:
            self.error = exc
        if salvage:
            self._drain.salvage(self._lost)
        if self._warned:
            return
        self._warned = True
        where = self.path or "the recording's output"
        f = self._drain.file
        if f is not None and not f.committed:
            kept = "no events were written; a file already there is untouched"
        else:
            kept = f"the {self._drain.asm.seq:,} events written before are kept"
        line = (
            f"cinema: recording to {where} stopped: {_describe(exc)}; {kept}. The program goes on."
        )
        log.error("%s", line, exc_info=not isinstance(exc, OSError))
        try:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
        except Exception:  # no stderr (a pythonw program): the log has it
            pass

    def _report_status(self) -> None:
        status = os.environ.get(ENV_STATUS, "")
        if not status or self.path is None:
            return
        line = {
            "path": os.path.abspath(self.path),
            "events": self._drain.asm.seq,
            "lost": self._lost,
            "error": None if self.error is None else _describe(self.error),
        }
        try:
            with open(status, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
        except OSError:
            pass


class _Thresholded:
    """An event buffer without a native threshold hook (a stale build), given one in Python."""

    def __init__(self, buffer: Any) -> None:
        self._buffer = buffer
        self.take = buffer.take
        self.threshold = 1 << 62
        self.on_threshold: Callable[[], object] | None = None
        self._busy = False

    def emit(
        self, kind: int, pid: int, peer: int = NO_PEER, ref: int = NO_REF, data: Any = None
    ) -> None:
        self._buffer.emit(kind, pid, peer, ref, data)
        if len(self._buffer) >= self.threshold and self.on_threshold and not self._busy:
            self._busy = True
            try:
                self.on_threshold()
            finally:
                self._busy = False

    def __len__(self) -> int:
        return len(self._buffer)

    @property
    def nbytes(self) -> int:
        return int(self._buffer.nbytes)


def _with_threshold(buffer: Any) -> Any:
    try:
        buffer.threshold = 1 << 62
        buffer.on_threshold = None
    except AttributeError:
        return _Thresholded(buffer)
    return buffer


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f" ({exc.filename})" if exc.filename else "")
    return f"{type(exc).__name__}: {exc}"


_open_recorders: weakref.WeakSet[Recorder] = weakref.WeakSet()


@atexit.register
def _close_open_recorders() -> None:
    # A program that forgets close() (or dies of an unhandled exception) still gets a footer.
    for rec in list(_open_recorders):
        try:
            rec.close()
        except Exception:
            log.exception("closing recorder at exit failed")
