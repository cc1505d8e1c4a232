"""The columns of a damaged session's readable frames, as the detectors see them.

A frame that fails its checksum (or whose header is bad) is unreadable as a whole, the
skeleton it would give included (the skeleton is read without the checksum, for speed, so a
corrupt block 0 could hold wrong kinds or processes). Its rows keep their sequence numbers
but get kind :data:`UNREADABLE_KIND` (which no detector selects), no process, no peer, no ref
and the frame's first timestamp: every detector then analyses the readable frames only, and
no finding rests on bytes the damage may have changed. The message flow over these columns is
paired by the session's one pairing code (a :class:`~cinema.model.index.SessionIndex` over
them), so a message sent in a readable frame whose RECEIVE was in an unreadable one shows as
not taken (see :meth:`ReadableColumns.unknown_after`).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

from cinema.model.index import SessionIndex
from cinema.model.session import Session
from recorder.events import NO_PEER, NO_PID
from recorder.session.format import FrameType, SessionFormatError
from recorder.session.reader import SessionReader, Skeleton

__all__ = ["UNREADABLE_KIND", "ReadableColumns"]

#: The kind of the rows of unreadable frames (no event kind has it).
UNREADABLE_KIND = 255


class ReadableColumns:
    """Skeleton, refs and index of ``session`` with the rows of the ``bad`` frames blanked.

    Args:
        session: the damaged session.
        bad: ``(k, error)`` per unreadable EVENTS frame (:meth:`SessionReader.bad_event_frames`).

    Attributes:
        spans: ``(first, stop, error)`` per unreadable frame, ascending (events
            ``first <= seq < stop``), including frames found unreadable while loading.
        sk, refs: the columns.
        index: the session index over them (messages paired as everywhere else).
    """

    def __init__(self, session: Session, bad: list[tuple[int, SessionFormatError]]) -> None:
        reader = session.reader
        table = reader.frame_table()
        ev = table["type"] == FrameType.EVENTS
        firsts = table["first_seq"][ev].astype(np.int64)
        counts = table["count"][ev].astype(np.int64)
        t0s = table["t_first"][ev].astype(np.int64)
        n = int(reader.event_count)
        errors = dict(bad)
        try:
            sk, refs = reader.skeleton(), reader.refs()
            ts, kind, pid, peer = (np.array(c) for c in sk)  # copies: the reader's stay whole
            ref = np.array(refs)
        except SessionFormatError:  # a block 0 or 1 that does not even decompress
            ts, kind = np.zeros(n, np.int64), np.zeros(n, np.uint8)
            pid, peer = np.zeros(n, np.uint32), np.zeros(n, np.uint32)
            ref = np.zeros(n, np.int64)
            for k in range(len(firsts)):
                a, b = int(firsts[k]), int(firsts[k] + counts[k])
                if k in errors or b <= a:
                    continue
                try:  # a whole decode: checksum, blocks, columns checked
                    cols = reader.columns(a, b)
                except SessionFormatError as exc:
                    errors[k] = exc
                    continue
                ts[a:b], kind[a:b], pid[a:b], peer[a:b], ref[a:b] = cols[1:]
        self.spans: list[tuple[int, int, SessionFormatError]] = []
        for k in sorted(errors):
            a, b = int(firsts[k]), min(int(firsts[k] + counts[k]), n)
            kind[a:b], pid[a:b], peer[a:b], ref[a:b] = UNREADABLE_KIND, NO_PID, NO_PEER, 0
            ts[a:b] = t0s[k]
            self.spans.append((a, b, errors[k]))
        self.sk = Skeleton(ts, kind, pid, peer)
        self.refs = ref
        self.index = SessionIndex(cast(SessionReader, _Columns(reader, self.sk, ref)))
        self._firsts = np.asarray([a for a, _, _ in self.spans], np.int64)

    def covers(self, seq: int) -> bool:
        """Whether event ``seq`` is in an unreadable frame."""
        i = int(np.searchsorted(self._firsts, seq, side="right")) - 1
        return i >= 0 and seq < self.spans[i][1]

    def unknown_after(self, seq: int) -> bool:
        """Whether an unreadable frame lies after event ``seq`` (what became of a message
        sent at ``seq`` may be in it)."""
        return bool(self.spans) and self.spans[-1][1] > seq + 1


class _Columns:
    """A reader whose skeleton and refs are the readable columns (for a SessionIndex)."""

    def __init__(self, reader: SessionReader, sk: Skeleton, refs: np.ndarray) -> None:
        self._reader, self._sk, self._refs = reader, sk, refs

    @property
    def event_count(self) -> int:
        return len(self._sk.ts)

    def skeleton(self) -> Skeleton:
        return self._sk

    def refs(self) -> np.ndarray:
        return self._refs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)
