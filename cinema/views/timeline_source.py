"""Where the timeline's viewport gets its events: a session, or plain arrays (Qt-free).

:class:`~cinema.views.viewport.Viewport` asks a :class:`TimelineSource` for frame spans, the
per-frame activity of each process (the pyramid the zoomed-out view is drawn from), windows
of event columns (for the zoomed-in view), the events of one process and the paired messages.
:class:`SessionTimeline` answers from a session's index (nothing is read before it is asked
for); :class:`ArrayTimeline` from arrays in memory (tests, small generated sessions), cut into
frames of ``frame_events`` events.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from cinema.model.activity import FrameLanes, FrameSpans
from recorder.session.reader import Skeleton

__all__ = ["ArrayTimeline", "SessionTimeline", "TimelineSource"]

IntArray = npt.NDArray[np.int64]


class TimelineSource(Protocol):
    """What a :class:`~cinema.views.viewport.Viewport` reads."""

    @property
    def event_count(self) -> int: ...
    @property
    def t_first(self) -> int: ...
    @property
    def t_last(self) -> int: ...
    def spans(self) -> FrameSpans: ...
    def lanes(self) -> FrameLanes: ...
    def window(self, start: int, stop: int) -> Skeleton: ...
    def at(self, seqs: IntArray) -> Skeleton: ...
    def lane_events(self, pid: int) -> IntArray: ...
    def messages(self) -> tuple[IntArray, IntArray]: ...
    def skeleton(self) -> Skeleton: ...


class SessionTimeline:
    """A session as a :class:`TimelineSource`: its index's activity, windows and messages."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.index = session.index
        self.activity = self.index.activity

    @property
    def event_count(self) -> int:
        return int(self.session.event_count)

    @property
    def t_first(self) -> int:
        return int(self.session.t_first)

    @property
    def t_last(self) -> int:
        return int(self.session.t_last)

    def spans(self) -> FrameSpans:
        return self.activity.spans()  # type: ignore[no-any-return]

    def lanes(self) -> FrameLanes:
        return self.activity.lanes()  # type: ignore[no-any-return]

    def window(self, start: int, stop: int) -> Skeleton:
        return self.activity.window(start, stop)  # type: ignore[no-any-return]

    def skeleton(self) -> Skeleton:
        return self.session.skeleton  # type: ignore[no-any-return]

    def at(self, seqs: IntArray) -> Skeleton:
        return self.activity.at(seqs)  # type: ignore[no-any-return]

    def lane_events(self, pid: int) -> IntArray:
        out: IntArray = self.index.actor_events(pid)
        return out

    def messages(self) -> tuple[IntArray, IntArray]:
        return self.index.messages().paired()  # type: ignore[no-any-return]


class ArrayTimeline:
    """Events held in arrays as a :class:`TimelineSource` (cut into frames of
    ``frame_events``)."""

    def __init__(
        self,
        ts: npt.ArrayLike,
        kind: npt.ArrayLike,
        pid: npt.ArrayLike,
        messages: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        *,
        peer: npt.ArrayLike | None = None,
        frame_events: int = 4096,
    ) -> None:
        self.ts = np.asarray(ts, np.int64)
        self.kind = np.asarray(kind, np.uint8)
        self.pid = np.asarray(pid, np.uint32)
        self.peer = (
            np.full(len(self.ts), 0xFFFFFFFF, np.uint32)
            if peer is None
            else np.asarray(peer, np.uint32)
        )
        n = len(self.ts)
        first = np.arange(0, n, max(int(frame_events), 1), dtype=np.int64)
        count = np.minimum(first + frame_events, n) - first
        last = first + count - 1
        self._spans = FrameSpans(first, count, self.ts[first], self.ts[last])
        frame = np.repeat(np.arange(len(first), dtype=np.int64), count)
        keys = frame * (1 << 32) + self.pid.astype(np.int64)
        uniq, counts = np.unique(keys, return_counts=True)
        self._lanes = FrameLanes(
            uniq >> 32, (uniq & 0xFFFFFFFF).astype(np.uint32), counts.astype(np.int64)
        )
        if messages is None:
            self._messages = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        else:
            s = np.asarray(messages[0], np.int64)
            r = np.asarray(messages[1], np.int64)
            self._messages = (s, r)

    @property
    def event_count(self) -> int:
        return len(self.ts)

    @property
    def t_first(self) -> int:
        return int(self.ts[0]) if len(self.ts) else 0

    @property
    def t_last(self) -> int:
        return int(self.ts[-1]) if len(self.ts) else 0

    def spans(self) -> FrameSpans:
        return self._spans

    def lanes(self) -> FrameLanes:
        return self._lanes

    def window(self, start: int, stop: int) -> Skeleton:
        a, b = max(start, 0), min(stop, len(self.ts))
        b = max(a, b)
        return Skeleton(self.ts[a:b], self.kind[a:b], self.pid[a:b], self.peer[a:b])

    def at(self, seqs: IntArray) -> Skeleton:
        return Skeleton(self.ts[seqs], self.kind[seqs], self.pid[seqs], self.peer[seqs])

    def skeleton(self) -> Skeleton:
        return Skeleton(self.ts, self.kind, self.pid, self.peer)

    def lane_events(self, pid: int) -> IntArray:
        return np.flatnonzero(self.pid == pid).astype(np.int64)

    def messages(self) -> tuple[IntArray, IntArray]:
        return self._messages
