"""The writing side of a :class:`~recorder.Recorder`: queue items in, frames on disk out.

The program thread hands captured events, frozen keyframes and flush / stop requests over in
a queue (:mod:`recorder.session.pipe`). A :class:`Drain` takes them out, has the
:class:`~recorder.session.assembler.FrameAssembler` cut frames, and writes each round of
frames with one system call to the session file and once to each live output. Whoever holds
:attr:`Drain.lock` runs it: the writer thread, or the program thread when the writer thread is
starved.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from recorder.payload import EventBatch
from recorder.session.assembler import FrameAssembler, Round
from recorder.session.target import SessionFile

__all__ = ["EVENTS", "FLUSH", "KEYFRAME", "STOP", "Drain", "Output"]

log = logging.getLogger("recorder")

#: Something that takes the encoded bytes of a session as they are produced (file, live server).
Output = Callable[[bytes], None]

EVENTS, KEYFRAME, FLUSH, STOP = range(4)
_ROUND_FRAMES = 32  # frames per write: a backlog goes out in pieces, the first ones quickly


class Drain:
    """Turns queue items into frames on disk (see the module docstring).

    Args:
        asm: cuts frames and keeps the index.
        file: the session file (or ``None``).
        stream: a binary file object target (or ``None``).
        outputs: live outputs; one that raises is removed.
    """

    def __init__(
        self,
        asm: FrameAssembler,
        file: SessionFile | None,
        stream: IO[bytes] | None,
        outputs: list[Output],
    ) -> None:
        self.asm = asm
        self.file = file
        self.stream = stream
        self.outputs = outputs
        self.lock = threading.Lock()
        self.consumed = 0
        """Events taken out of the queue so far."""
        self.flushed = 0
        """The last flush request written."""
        self.written_at = time.monotonic()
        """Every event emitted before this monotonic time is on disk."""

    def work(
        self,
        queue: collections.deque[tuple[Any, ...]],
        *,
        cut: float | None,
        allow_stop: bool,
    ) -> int | None:
        """One pass (the caller holds :attr:`lock`): everything queued, written. ``cut`` is the
        monotonic time at which the caller handed over everything buffered: every event
        emitted before it is on disk after the pass.
        When a STOP is reached, returns the lost-event count it carries (the caller then calls
        :meth:`finish`), else ``None``; without ``allow_stop`` a STOP stays queued.

        Raises:
            OSError: and whatever else a target raises (the caller stops the recording).
        """
        asm = self.asm
        stop: int | None = None
        flushed = 0
        while queue:
            item = queue.popleft()
            tag = item[0]
            if tag == EVENTS:
                self._add(item[1])
            elif tag == KEYFRAME:
                asm.keyframe(item[1], item[2])
            elif tag == FLUSH:
                flushed = item[1]
            elif allow_stop:
                stop = item[1]
                break
            else:
                queue.appendleft(item)
                break
        self.write_round(asm.drain())
        if cut is not None:
            self.written_at = cut
        if flushed:
            self.flushed = flushed
        return stop

    def _add(self, batch: EventBatch) -> None:
        # A big backlog goes out a round at a time, so its first frames reach the OS quickly.
        asm = self.asm
        asm.add(batch)
        self.consumed += batch.count
        if asm.frames_waiting >= _ROUND_FRAMES:
            self.write_round(asm.drain())

    def write_round(self, chunk: Round | None) -> None:
        """Write ``chunk`` (the file first; it takes its name with its first events)."""
        if chunk is None:
            return
        f = self.file
        if f is not None:
            try:
                f.write_frames(chunk.datas)
            except BaseException:
                done = f.frames_written  # the frames before the torn one are on disk
                self.asm.written(chunk, done)
                if not f.committed and chunk.has_events(done):
                    f.commit()
                raise
            if not f.committed and chunk.has_events():
                f.commit()
        elif self.stream is not None:
            self.stream.write(b"".join(chunk.datas))
        self.asm.written(chunk)
        if self.outputs:
            data = b"".join(chunk.datas)
            for out in list(self.outputs):
                self.send(out, data)

    def send(self, out: Output, data: bytes) -> None:
        """Give ``data`` to one output; one that raises is removed and logged."""
        try:
            out(data)
        except Exception:  # a broken live client never stops the recording
            log.exception("recorder output failed; removed")
            if out in self.outputs:
                self.outputs.remove(out)

    def sync(self) -> None:
        """``fsync`` the file (or flush a stream target)."""
        if self.file is not None:
            self.file.sync()
        elif self.stream is not None:
            self.stream.flush()

    def finish(self, lost: int, fsync: bool) -> None:
        """Footer and trailer; then the file takes its name and is closed."""
        footer = self.asm.footer(lost)
        f = self.file
        if f is not None:
            f.write(footer)
            f.mark_good()
            if fsync:
                f.sync()
            f.commit()
            f.close_fd()
        elif self.stream is not None:
            self.stream.write(footer)
            self.stream.flush()
        for out in list(self.outputs):
            self.send(out, footer)

    def salvage(self, lost: int) -> None:
        """After a failed write: cut the torn frame, end with a footer if it fits, close. An
        uncommitted file is deleted (the file already at its path stays as it was)."""
        f = self.file
        if f is None or f.closed:
            return
        if not f.committed:
            f.discard()
            return
        f.truncate_to_good()
        try:
            f.write(self.asm.footer(lost))
            f.mark_good()
        except Exception:  # the disk is still full: the reader recovers by scanning
            f.truncate_to_good()
        f.close_fd()
