"""The session writer: a hot path that only appends, and a background thread that encodes.

The observed program calls :meth:`Recorder.emit` (one tuple appended to a deque, ~0.3-0.5 µs).
Every ``check_every`` events a slow path takes a keyframe when one is due, enforces the buffer
bound (``overflow="block"`` waits for the writer, ``"drop"`` discards and counts, and the count
is itself recorded as a :attr:`~recorder.events.EventKind.LOST` event) and wakes the writer.
The writer thread drains the deque, encodes frames, writes them, and flushes to the OS at least
every ``flush_interval`` seconds, so a killed process loses at most that much.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import platform
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import IO, Any, Literal

import msgpack

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import DEFAULT_LIMITS, Limits, to_structural
from recorder.session.format import TRAILER, TRAILER_MAGIC, FrameType, pack_file_header
from recorder.session.frames import Compressor, EventRow, encode_events, encode_map_frame
from recorder.session.keyframes import pack_world

__all__ = ["Output", "Recorder", "RecorderClosed"]

log = logging.getLogger("recorder")
log.addHandler(logging.NullHandler())

RECORDER_VERSION = "0.1.0"
_KEYFRAME_KIND = -1  # marker rows in the deque: (ts, -1, seq_hint, 0, 0, encoded_world)

#: Something that takes the encoded bytes of a session as they are produced (file, live server).
Output = Callable[[bytes], None]


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
    """Records events into a session file (and any extra outputs).

    Args:
        target: a path, a binary file object, or ``None`` (outputs only).
        metadata: extra header metadata (scenario, seed, ...), merged over the defaults.
        clock: monotonic nanosecond clock; inject a fake one for deterministic files.
        wall_clock: wall-clock nanoseconds, used once for the header's anchor.
        frame_events: events per frame (the unit of compression and random access).
        keyframe_every: take a keyframe (via ``snapshot``) after at least this many events.
        snapshot: returns the whole world (see the session format's keyframe schema).
        compress: zstd level, or ``None`` for no compression.
        buffer_events: bound of the in-memory buffer between hot path and writer.
        overflow: ``"block"`` (the hot path waits) or ``"drop"`` (discard and count).
        flush_interval: seconds between flushes of partial frames, or ``None`` (only full
            frames and keyframes cut a frame: makes files byte-identical for equal input).
        limits: payload encoding limits.
        outputs: extra byte sinks (the live server); they see exactly the file's bytes.
        fsync: also ``os.fsync`` on each flush (survives power loss, costs more).
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
    ) -> None:
        if overflow not in ("block", "drop"):
            raise ValueError(f"overflow must be 'block' or 'drop', not {overflow!r}")
        if frame_events < 1 or keyframe_every < 1 or buffer_events < 2:
            raise ValueError("frame_events, keyframe_every and buffer_events must be positive")
        self.path: str | None = None
        self._own_file = False
        self._file: IO[bytes] | None
        if target is None:
            self._file = None
        elif isinstance(target, (str, os.PathLike)):
            self.path = os.fspath(target)
            self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
            self._own_file = True
        else:
            self._file = target
        self._outputs: list[Output] = list(outputs)
        self._clock = clock
        self._frame_events = frame_events
        self._keyframe_every = keyframe_every
        self._snapshot = snapshot
        self._limits = limits
        self._overflow = overflow
        self._capacity = buffer_events
        self._flush_interval = flush_interval
        self._fsync = fsync
        self._comp = Compressor(compress)

        # hot path state
        self._dq: collections.deque[EventRow] = collections.deque()
        self._append = self._dq.append
        self._n = 0
        self._check_every = min(1024, keyframe_every, buffer_events // 2)
        self._check_at = self._check_every
        self._last_keyframe_n = 0
        self._lost = 0
        self._lost_pending = 0
        self._dropping = False
        self._kf_pushed = 0
        self._closed = False
        self._flush_requested = 0

        # writer state (touched by the writer thread only, after start)
        self._kf_done = 0
        self._flush_done = 0
        self._seq = 0
        self._offset = 0
        self._pending: list[EventRow] = []
        self._index: list[tuple[int, int, int, int, int, int]] = []
        self._kind_counts: collections.Counter[int] = collections.Counter()
        self._processes: dict[int, list[Any]] = {}
        self._t_first: int | None = None
        self._t_last = 0
        self.error: BaseException | None = None

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
        self._write(pack_file_header(msgpack.packb(to_structural(meta), use_bin_type=True)))

        self._wake = threading.Event()
        self._drained = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="cinema-recorder", daemon=True)
        self._thread.start()
        _open_recorders.add(self)

    # ------------------------------------------------------------------ hot path

    def emit(
        self, kind: int, pid: int, peer: int = NO_PEER, ref: int = NO_REF, data: Any = None
    ) -> None:
        """Record one event. Never blocks on I/O; never raises for any ``data``."""
        self._append((self._clock(), kind, pid, peer, ref, data))
        self._n += 1
        if self._n >= self._check_at:
            self._slow_path()

    def _slow_path(self) -> None:
        self._check_at = self._n + self._check_every
        if self._closed:
            raise RecorderClosed("emit() on a closed Recorder")
        if self._snapshot is not None and self._n - self._last_keyframe_n >= self._keyframe_every:
            self.keyframe()
        backlog = len(self._dq)
        if backlog >= self._capacity:
            if self._overflow == "block" and self.error is None:
                self._wake.set()
                with self._drained:
                    self._drained.wait_for(
                        lambda: len(self._dq) < self._capacity // 2 or self.error is not None,
                        timeout=30.0,
                    )
            elif not self._dropping:
                self._dropping = True
                self._append = self._discard
        elif self._dropping and backlog < self._capacity // 2:
            self._dropping = False
            self._append = self._dq.append
            lost, self._lost_pending = self._lost_pending, 0
            self._append((self._clock(), EventKind.LOST, NO_PEER, NO_PEER, NO_REF, {"count": lost}))
        self._wake.set()

    def _discard(self, _row: EventRow) -> None:
        self._lost += 1
        self._lost_pending += 1

    # ------------------------------------------------------------------ public API

    @property
    def events_emitted(self) -> int:
        return self._n

    @property
    def lost(self) -> int:
        """Events discarded because the buffer was full (``overflow="drop"``)."""
        return self._lost

    def keyframe(self) -> None:
        """Take a keyframe now (normally automatic every ``keyframe_every`` events)."""
        if self._snapshot is None:
            return
        self._last_keyframe_n = self._n
        try:
            world = self._snapshot()
            # Freeze the world now, in the observed thread: states may be mutated later.
            frozen = pack_world(world, self._limits)
        except Exception:  # a broken snapshot source is disabled, never fatal (Trio-style)
            log.exception("snapshot source failed; keyframes disabled for this recording")
            self._snapshot = None
            return
        self._dq.append((self._clock(), _KEYFRAME_KIND, 0, 0, 0, frozen))
        self._kf_pushed += 1

    def add_output(self, output: Output) -> None:
        """Send every later byte to ``output`` as well (used by the live server)."""
        self._outputs.append(output)

    def flush(self, timeout: float = 10.0) -> None:
        """Write everything emitted so far (as a partial frame if need be) and flush it to the
        OS, so that it survives the process being killed. Waits at most ``timeout`` seconds."""
        self._flush_requested += 1
        wanted = self._flush_requested
        self._wake.set()
        with self._drained:
            self._drained.wait_for(
                lambda: self._flush_done >= wanted or self.error is not None, timeout=timeout
            )

    def close(self) -> None:
        """Write everything still buffered, then the footer and trailer; close the file."""
        if self._closed:
            return
        if self._dropping:
            self._dropping = False
            self._append = self._dq.append
            lost, self._lost_pending = self._lost_pending, 0
            if lost:
                self._append(
                    (self._clock(), EventKind.LOST, NO_PEER, NO_PEER, NO_REF, {"count": lost})
                )
        self._closed = True
        self._stop = True
        self._wake.set()
        self._thread.join()
        _open_recorders.discard(self)
        if self.error is None:
            try:
                self._write_footer()
            except OSError as exc:
                self.error = exc
        if self._file is not None:
            try:
                self._file.flush()
            finally:
                if self._own_file:
                    self._file.close()
        if self.error is not None:
            raise OSError(
                f"recording to {self.path or 'output'} failed: {self.error}"
            ) from self.error

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        interval = self._flush_interval
        last_flush = time.monotonic()
        try:
            while True:
                self._wake.wait(interval if interval is not None else 0.5)
                self._wake.clear()
                stopping = self._stop
                flush_wanted = self._flush_requested
                self._drain()
                now = time.monotonic()
                timer_due = interval is not None and now - last_flush >= interval
                if stopping or timer_due or flush_wanted > self._flush_done:
                    self._flush_pending()
                    self._flush_file()
                    last_flush = now
                    self._flush_done = flush_wanted
                with self._drained:
                    self._drained.notify_all()
                if stopping and not self._dq:
                    break
        except BaseException as exc:  # disk full, broken output: stop recording, keep the program
            self.error = exc
            log.exception("recorder writer failed; recording stopped")
            self._append = self._discard
            with self._drained:
                self._drained.notify_all()

    def _drain(self) -> None:
        dq = self._dq
        popleft = dq.popleft
        pending = self._pending
        while dq:
            items = [popleft() for _ in range(len(dq))]
            if self._kf_done == self._kf_pushed:
                pending.extend(items)
            else:
                for row in items:
                    if row[1] == _KEYFRAME_KIND:
                        # Full frames first, then the rest as a partial frame: the frames a
                        # keyframe closes must not depend on how much the last drain took.
                        self._write_full_frames()
                        self._flush_pending()
                        self._kf_done += 1
                        self._emit_frame(
                            encode_map_frame(
                                FrameType.KEYFRAME,
                                {"seq": self._seq, "world": row[5]},
                                self._comp,
                                self._seq,
                                row[0],
                                structural=False,
                            ),
                            FrameType.KEYFRAME,
                            self._seq,
                            0,
                            row[0],
                            row[0],
                        )
                        pending = self._pending
                    else:
                        pending.append(row)
            self._write_full_frames()
            with self._drained:
                self._drained.notify_all()

    def _write_full_frames(self) -> None:
        pending = self._pending
        frame_events = self._frame_events
        while len(pending) >= frame_events:
            chunk = pending[:frame_events]
            del pending[:frame_events]
            self._write_events(chunk)

    def _flush_pending(self) -> None:
        if self._pending:
            chunk = self._pending
            self._pending = []
            self._write_events(chunk)

    def _write_events(self, rows: list[EventRow]) -> None:
        seq = self._seq
        data, kinds = encode_events(rows, seq, self._comp, self._limits)
        self._kind_counts.update(kinds)
        if EventKind.SPAWN in kinds:
            for r in rows:
                if r[1] == EventKind.SPAWN:
                    self._note_spawn(r)
        t0, t1 = rows[0][0], rows[-1][0]
        if self._t_first is None:
            self._t_first = t0
        self._t_last = t1
        self._emit_frame(data, FrameType.EVENTS, self._seq, len(rows), t0, t1)
        self._seq += len(rows)

    def _note_spawn(self, row: EventRow) -> None:
        d = row[5] if isinstance(row[5], dict) else {}
        self._processes[row[2]] = [
            row[2],
            str(d.get("name", f"<{row[2]}>")),
            str(d.get("behaviour", "process")),
            _as_pid(d.get("parent", row[3])),
            _as_pid(d.get("supervisor")),
            str(d.get("node", "local")),
        ]

    def _emit_frame(self, data: bytes, ftype: int, seq: int, count: int, t0: int, t1: int) -> None:
        self._index.append((self._offset, int(ftype), seq, count, t0, t1))
        self._write(data)

    def _write(self, data: bytes) -> None:
        if self._file is not None:
            self._file.write(data)
        self._offset += len(data)
        for out in list(self._outputs):
            try:
                out(data)
            except Exception:  # a broken live client never stops the recording
                log.exception("recorder output failed; removed")
                self._outputs.remove(out)

    def _flush_file(self) -> None:
        if self._file is not None:
            self._file.flush()
            if self._fsync:
                os.fsync(self._file.fileno())

    def _write_footer(self) -> None:
        from array import array

        idx = self._index
        cols: list[tuple[int, ...]] = list(zip(*idx, strict=True)) if idx else [()] * 6
        footer = {
            "events": self._seq,
            "lost": self._lost,
            "t_first": self._t_first if self._t_first is not None else 0,
            "t_last": self._t_last,
            "kinds": {int(k): int(v) for k, v in sorted(self._kind_counts.items())},
            # Packed on its own: a reader decodes the process table only when asked for it.
            "processes": msgpack.packb(
                [self._processes[p] for p in sorted(self._processes)], use_bin_type=True
            ),
            "frames": {
                "offset": array("q", cols[0]).tobytes(),
                "type": bytes(cols[1]),
                "first_seq": array("q", cols[2]).tobytes(),
                "count": array("q", cols[3]).tobytes(),
                "t_first": array("q", cols[4]).tobytes(),
                "t_last": array("q", cols[5]).tobytes(),
            },
        }
        offset = self._offset
        self._write(
            encode_map_frame(
                FrameType.FOOTER, footer, self._comp, self._seq, self._t_last, structural=False
            )
        )
        self._write(TRAILER.pack(offset, TRAILER_MAGIC))


def _as_pid(v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    n = getattr(v, "n", None)
    return n if isinstance(n, int) else NO_PEER


_open_recorders: weakref.WeakSet[Recorder] = weakref.WeakSet()


@atexit.register
def _close_open_recorders() -> None:
    # A program that forgets close() (or dies of an unhandled exception) still gets a footer.
    for rec in list(_open_recorders):
        try:
            rec.close()
        except Exception:
            log.exception("closing recorder at exit failed")
