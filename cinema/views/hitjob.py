"""Breakpoint hits computed off the window's thread, in chunks, with progress and cancel
(Qt-free).

A condition that reads payloads (``msg_type == "withdraw"``, ``state.balance < 0``) decodes
every candidate event: on a session of 800,000 events that is seconds of work, and done in the
window's thread it froze the window. A :class:`HitJob` does the same work (the model's
:class:`~cinema.model.condition.Condition`, so the hits are the same) on its own reader of the
file, ``chunk`` events at a time: between chunks it reports how far it got and stops when
cancelled. A chunk that meets a damaged frame is done again frame by frame, so the readable
frames still give their hits and the damaged ones are reported (``errors``).

The job runs in a plain thread (:meth:`start`) and is polled (:attr:`done`, :attr:`progress`):
it emits nothing, so it needs no event loop and no locks beyond its own fields.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from cinema.model.condition import Condition
from recorder.session.format import FrameType, SessionFormatError
from recorder.session.reader import SessionReader

__all__ = ["CHUNK", "HitJob"]

IntArray = npt.NDArray[np.int64]

#: Events per chunk: small enough to report progress and stop within ~0.1 s.
CHUNK = 16_384


class HitJob:
    """The hits of ``expression`` over events ``0 .. n-1`` of the session file at ``path``.

    Args:
        path: the session file (read with a reader of the job's own).
        expression: the breakpoint's expression.
        n: how many events (the window's session length when the job started).
        key: what the result is for (the caller's; the job only carries it).
        chunk: events per step.
    """

    def __init__(
        self, path: str, expression: str, n: int, key: object = None, *, chunk: int = CHUNK
    ) -> None:
        self.path, self.expression, self.n, self.key = path, expression, int(n), key
        self.chunk = max(int(chunk), 1)
        self.progress = 0.0  # 0 .. 1
        self.done = False
        self.cancelled = False
        self.result: IntArray | None = None
        self.errors: list[SessionFormatError] = []
        self.failure: str | None = None  # the job could not run at all (the file went away)
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> HitJob:
        self._thread = threading.Thread(target=self.run, name="cinema-hits", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop at the end of the current chunk (:attr:`result` stays None)."""
        self._cancel.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self, on_chunk: Callable[[float], None] | None = None) -> None:
        """Compute (in the calling thread); :meth:`start` runs this in a thread."""
        try:
            with SessionReader(self.path) as reader:
                cond = Condition(self.expression)
                parts: list[IntArray] = []
                for a in range(0, self.n, self.chunk):
                    if self._cancel.is_set():
                        self.cancelled = True
                        return
                    b = min(a + self.chunk, self.n)
                    parts.append(self._chunk(cond, reader, a, b))
                    self.progress = b / self.n if self.n else 1.0
                    if on_chunk is not None:
                        on_chunk(self.progress)
                self.result = (
                    np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)
                )
                self.progress = 1.0
        except (OSError, SessionFormatError) as exc:
            self.failure = str(exc)
        finally:
            self.done = True

    def _chunk(self, cond: Condition, reader: SessionReader, a: int, b: int) -> IntArray:
        try:
            return cond.hits(reader, a, b)
        except SessionFormatError:
            pass
        # a damaged frame in this chunk: frame by frame, keeping what reads
        out: list[IntArray] = []
        for lo, hi in _frames_between(reader, a, b):
            try:
                out.append(cond.hits(reader, lo, hi))
            except SessionFormatError as exc:
                self.errors.append(exc)
        return np.concatenate(out) if out else np.zeros(0, np.int64)


def _frames_between(reader: SessionReader, a: int, b: int) -> list[tuple[int, int]]:
    """The event ranges of the frames that overlap ``[a, b)``, clipped to it."""
    t = reader.frame_table()
    ev = t["type"] == FrameType.EVENTS
    firsts, counts = t["first_seq"][ev], t["count"][ev]
    out = []
    for f, c in zip(firsts.tolist(), counts.tolist(), strict=True):
        lo, hi = max(f, a), min(f + c, b)
        if lo < hi:
            out.append((lo, hi))
    return out
