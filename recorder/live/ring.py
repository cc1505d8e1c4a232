"""The flight recorder: the most recent frames of the session, bounded in events and bytes.

The server keeps every frame the recorder writes in this ring, once, whatever the number of
clients; each client only holds a *cursor* (the number of the next frame it gets). The ring
always begins at a keyframe, so a client that attaches late starts from a world it can replay:
whole segments (a keyframe and the event frames after it) are dropped from the front while the
ring is over budget and a newer keyframe exists. When the newest segment alone grows past half
the budget, :attr:`FlightRecorder.want_keyframe` asks the runtime for a fresh keyframe; past
twice the budget, frames are dropped even without one (memory stays bounded whatever happens).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from recorder.session.format import FrameHeader, FrameType

__all__ = ["FlightRecorder", "RingFrame"]


@dataclass(frozen=True, slots=True)
class RingFrame:
    """One frame as written: its number in the stream, where it sits in the file, its bytes."""

    number: int
    header: FrameHeader
    data: bytes  # the whole frame: 64-byte header + body
    offset: int  # stream (= file) offset of the frame

    @property
    def is_keyframe(self) -> bool:
        return self.header.type == FrameType.KEYFRAME

    @property
    def events(self) -> int:
        return self.header.count if self.header.type == FrameType.EVENTS else 0


class FlightRecorder:
    """The ring (thread-safe: the recorder's thread adds, the server's thread reads).

    Args:
        max_events: events kept (about; whole segments go).
        max_bytes: bytes kept (about).
    """

    def __init__(self, max_events: int = 500_000, max_bytes: int = 64 << 20) -> None:
        if max_events < 1 or max_bytes < 1:
            raise ValueError("the flight recorder needs a positive size")
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self._frames: list[RingFrame] = []
        self._head = 0  # index in _frames of the oldest kept frame
        self.next_number = 0  # number the next frame will get
        self.events = 0  # events in the ring
        self.bytes = 0  # bytes in the ring
        self.peak_bytes = 0
        self.event_count = 0  # events written since the recording began (the next seq)
        self.want_keyframe = False
        self.dropped_frames = 0
        #: The footer frame and trailer, once the recording finished (a complete file's end).
        self.tail: bytes | None = None

    # ------------------------------------------------------------------ writing

    def add(self, header: FrameHeader, data: bytes, offset: int) -> RingFrame:
        """Append a frame (the recorder's thread)."""
        with self.lock:
            fr = RingFrame(self.next_number, header, data, offset)
            self.next_number += 1
            self._frames.append(fr)
            self.events += fr.events
            self.bytes += len(data)
            if header.type == FrameType.EVENTS:
                self.event_count = header.first_seq + header.count
            if fr.is_keyframe:
                self.want_keyframe = False
            self._trim()
            self.peak_bytes = max(self.peak_bytes, self.bytes)
            return fr

    def _over(self, factor: float = 1.0) -> bool:
        return self.events > self.max_events * factor or self.bytes > self.max_bytes * factor

    def _trim(self) -> None:
        frames = self._frames
        while self._over():
            # drop the oldest whole segment, if a later keyframe exists to start from
            nxt = next(
                (i for i in range(self._head + 1, len(frames)) if frames[i].is_keyframe), None
            )
            if nxt is None:
                break
            self._drop_until(nxt)
        if self._over(0.5) and not any(f.is_keyframe for f in frames[self._head + 1 :]):
            self.want_keyframe = True
        while self._over(2.0) and len(frames) - self._head > 1:
            self._drop_until(self._head + 1)
        if self._head > 1024 and self._head > len(frames) // 2:
            del frames[: self._head]
            self._head = 0

    def _drop_until(self, index: int) -> None:
        for fr in self._frames[self._head : index]:
            self.events -= fr.events
            self.bytes -= len(fr.data)
            self.dropped_frames += 1
        self._head = index

    # ------------------------------------------------------------------ reading

    @property
    def first_number(self) -> int:
        """The number of the oldest frame kept."""
        with self.lock:
            return self.next_number - (len(self._frames) - self._head)

    def frames_from(self, number: int, limit: int = 64) -> list[RingFrame]:
        """Up to ``limit`` frames from frame ``number`` on (empty when none is newer; frames
        older than the ring's start are gone: check :meth:`first_number` first)."""
        with self.lock:
            first = self.next_number - (len(self._frames) - self._head)
            start = self._head + max(0, number - first)
            return self._frames[start : start + limit]

    def start_keyframe(self, at_least: int = 0) -> RingFrame | None:
        """The oldest keyframe kept whose number is at least ``at_least``."""
        with self.lock:
            for fr in self._frames[self._head :]:
                if fr.is_keyframe and fr.number >= at_least:
                    return fr
            return None

    def oldest(self) -> RingFrame | None:
        with self.lock:
            return self._frames[self._head] if self._head < len(self._frames) else None

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {
                "frames": len(self._frames) - self._head,
                "events": self.events,
                "bytes": self.bytes,
                "peak_bytes": self.peak_bytes,
                "max_events": self.max_events,
                "max_bytes": self.max_bytes,
                "dropped_frames": self.dropped_frames,
            }
