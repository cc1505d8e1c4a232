"""Filters and search over events: by process, kind, event-number and time range, and a pattern
over payloads.

The process, kind and range conditions are evaluated on the skeleton columns with numpy; the
pattern only on the events that pass them, decoding just those payloads.
:meth:`EventFilter.scan` walks the session a frame at a time (what ``cinema events`` does: it
never loads the whole skeleton, and decodes only the payloads it needs);
:meth:`EventFilter.seqs` and :meth:`EventFilter.iter_seqs` answer from the session's loaded
skeleton (what a window that has it anyway does).

Patterns: text is matched case-insensitively as a substring of the event's data as shown (the
one rendering of :mod:`cinema.model.present`: the event list's "details" column, the text of
``cinema events``, e.g. ``("work", 3)`` or ``{count: 5}``), in full, not cut to the column. A
pattern written between slashes, ``/work.*3/``, is a case-insensitive regular expression (RE2
syntax, matched in linear time: :mod:`cinema.model.pattern`) searched in the same text.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from cinema.model.activity import kind_mask_of as _mask_of
from cinema.model.pattern import Pattern, compile_regex, compile_text
from cinema.model.present import data_text
from cinema.model.session import Session
from recorder.events import Event
from recorder.payload import PayloadError, decode_payload
from recorder.session.format import FrameType, SessionFormatError
from recorder.session.reader import Skeleton
from recorder.session.scan import FrameScan

__all__ = ["EventFilter", "compile_pattern"]


def compile_pattern(pattern: str) -> Pattern:
    """Compile a search pattern (see the module docs): RE2, so no pattern can take more than
    time linear in the text it searches (``cinema.model.pattern``).

    Raises:
        PatternError: a ``/regex/`` that does not compile, or uses what RE2 does not support
            (backreferences, lookaround): the message says which.
    """
    if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
        return compile_regex(pattern[1:-1], ignore_case=True)
    return compile_text(pattern, ignore_case=True)


class _Columns(Protocol):
    """The skeleton columns of some events: a :class:`Skeleton` slice or a frame scan."""

    @property
    def ts(self) -> np.ndarray: ...
    @property
    def kind(self) -> np.ndarray: ...
    @property
    def pid(self) -> np.ndarray: ...
    @property
    def peer(self) -> np.ndarray: ...


@dataclass(frozen=True)
class EventFilter:
    """Which events to keep. Every condition left as ``None`` keeps everything.

    Attributes:
        processes: pids; an event matches when its process *or its peer* is one of them.
        kinds: event kind codes (``recorder.EventKind``).
        t_from, t_to: inclusive bounds on timestamps (ns, the session's clock).
        match: a payload pattern (module docs).
        seq_from, seq_to: inclusive bounds on event numbers.
    """

    processes: Iterable[int] | None = None
    kinds: Iterable[int] | None = None
    t_from: int | None = None
    t_to: int | None = None
    match: str | None = None
    seq_from: int | None = None
    seq_to: int | None = None

    def _seq_range(self, session: Session, start: int, stop: int | None) -> tuple[int, int]:
        """The event numbers ``lo <= seq < hi`` the event-number bounds leave."""
        lo = max(start, 0, self.seq_from if self.seq_from is not None else 0)
        hi = session.event_count if stop is None else min(stop, session.event_count)
        if self.seq_to is not None:
            hi = min(hi, self.seq_to + 1)
        return lo, hi

    def _mask(self, cols: _Columns) -> np.ndarray:
        """Which of these events pass the column conditions (columns are read only when a
        condition needs them)."""
        mask = np.ones(len(cols.kind), dtype=bool) if self.kinds is None else None
        if self.kinds is not None:
            wanted = np.zeros(256, dtype=bool)  # a lookup table: np.isin sorts, per chunk
            wanted[np.fromiter(self.kinds, dtype=np.uint8)] = True
            mask = wanted[cols.kind]
        assert mask is not None
        if self.t_from is not None:
            mask &= cols.ts >= self.t_from
        if self.t_to is not None:
            mask &= cols.ts <= self.t_to
        if self.processes is not None:
            pids = np.fromiter(self.processes, dtype=np.int64)
            if len(pids):
                mask &= np.isin(cols.pid, pids, kind="table") | np.isin(
                    cols.peer, pids, kind="table"
                )
            else:
                mask[:] = False
        return mask

    def candidates(self, session: Session, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Event numbers in ``start .. stop - 1`` passing the column conditions (from the
        session's loaded skeleton)."""
        sk = session.skeleton
        lo, hi = self._seq_range(session, start, stop)
        if self.t_from is not None:
            lo = max(lo, int(np.searchsorted(sk.ts, self.t_from, side="left")))
        if self.t_to is not None:
            hi = min(hi, int(np.searchsorted(sk.ts, self.t_to, side="right")))
        if hi <= lo:
            return np.empty(0, dtype=np.int64)
        mask = self._mask(Skeleton(sk.ts[lo:hi], sk.kind[lo:hi], sk.pid[lo:hi], sk.peer[lo:hi]))
        return (np.flatnonzero(mask) + lo).astype(np.int64)

    def iter_seqs(self, session: Session, *, chunk: int = 1 << 20) -> Iterator[int]:
        """Matching event numbers in order, produced lazily chunk by chunk."""
        pat = compile_pattern(self.match) if self.match else None
        n = session.event_count
        for start in range(0, n, chunk):
            cand = self.candidates(session, start, start + chunk)
            if pat is None:
                yield from cand.tolist()
                continue
            for seq in cand.tolist():
                if pat.search(data_text(session.event(seq).data)):
                    yield seq

    def seqs(self, session: Session, limit: int | None = None) -> np.ndarray:
        """All matching event numbers (int64), or the first ``limit``."""
        if self.match is None:
            out = self.candidates(session)
            return out if limit is None else out[:limit]
        got: list[int] = []
        for seq in self.iter_seqs(session):
            got.append(seq)
            if limit is not None and len(got) >= limit:
                break
        return np.array(got, dtype=np.int64)

    def scan(
        self,
        session: Session,
        on_error: Callable[[SessionFormatError, int | None], None] | None = None,
    ) -> Iterator[Event]:
        """The matching events in order, payloads decoded, read a frame at a time.

        Only the skeleton of the frames in range is read, plus the payloads of the events that
        pass the column conditions (all of them when there is a pattern; else only those
        yielded). Memory stays bounded whatever the session's size.

        A damaged file raises :class:`SessionFormatError` where the scan meets the damage;
        with ``on_error(exc, seq)`` the scan tells it instead and goes on: ``seq`` is the one
        event whose data cannot be decoded, or None for a whole frame that cannot be read.
        """
        pat = compile_pattern(self.match) if self.match else None
        lo, hi = self._time_range(session, *self._seq_range(session, 0, None))
        if hi <= lo:
            return
        frames, listed = self._kind_plan(session, lo, hi)
        scanned = self._scan_frames(session, lo, hi, frames, pat, on_error)
        if listed is None:
            yield from scanned
            return
        yield from heapq.merge(scanned, listed(pat, on_error), key=lambda ev: ev.seq)

    def _scan_frames(
        self, session: Session, lo: int, hi: int, frames: list[int] | None,
        pat: Pattern | None, on_error: Callable[[SessionFormatError, int | None], None] | None,
    ) -> Iterator[Event]:  # fmt: skip
        if frames is not None and not frames:
            return

        def where(fs: FrameScan) -> np.ndarray:
            return np.flatnonzero(self._mask(fs))

        on_frame = None if on_error is None else (lambda exc: on_error(exc, None))
        for fs in session.reader.scan(lo, hi, where=where, frames=frames, on_error=on_frame):
            assert fs.rows is not None
            for j in fs.rows.tolist():
                try:
                    if pat is not None and not pat.search(data_text(fs.data(j))):
                        continue
                    ev = fs.event(j)
                except SessionFormatError as exc:
                    if on_error is None:
                        raise
                    on_error(exc, fs.first_seq + j)
                    continue
                yield ev

    def _kind_plan(
        self, session: Session, lo: int, hi: int
    ) -> tuple[list[int] | None, Callable[..., Iterator[Event]] | None]:
        """Which EVENTS frames a kind filter must scan, and the events it takes from the kind
        index instead (format 1.2: a frame whose wanted kinds are all *listed* is never read;
        ``recorder.session.kindex``). Without an index (or with one that does not check
        out: the frames themselves are the truth), the frame summaries' kind masks decide."""
        if self.kinds is None:
            return None, None
        try:
            kx = session.reader.kind_index()
        except SessionFormatError:
            kx = None
        if kx is None or not len(kx.first_seq):
            return self._kind_frames(session), None
        codes = sorted({int(k) for k in self.kinds})
        want = np.uint64(_mask_of(codes))
        table = session.reader.frame_table()
        ev_first = table["first_seq"][table["type"] == FrameType.EVENTS]
        pos = np.searchsorted(ev_first, kx.first_seq)  # the index's frames (checked to exist)
        holds = (kx.kinds & want) != 0
        scan = holds & ((kx.kinds & want & ~kx.listed) != 0)
        todo = set(pos[scan].tolist())
        if len(pos) < len(ev_first):  # frames the index does not cover: their summaries
            covered = np.zeros(len(ev_first), bool)
            covered[pos] = True
            todo.update(k for k in self._all_kind_frames(session) if not covered[k])
        served = pos[holds & ~scan]
        row = np.searchsorted(kx.first_seq, kx.seq, side="right") - 1
        pick = np.isin(pos[row], served) & (kx.seq >= lo) & (kx.seq < hi)
        pick &= np.isin(kx.kind, np.asarray([c for c in codes if 0 <= c < 63], np.uint8))
        rows = np.flatnonzero(pick)
        rows = rows[self._mask(Skeleton(kx.ts[rows], kx.kind[rows], kx.pid[rows], kx.peer[rows]))]

        def listed(
            pat: Pattern | None, on_error: Callable[[SessionFormatError, int | None], None] | None
        ) -> Iterator[Event]:
            for j in rows.tolist():
                seq = int(kx.seq[j])
                try:
                    data = decode_payload(kx.payload(j))
                except PayloadError as exc:
                    err = SessionFormatError(f"event {seq} (in the kind index): {exc}", 0)
                    if on_error is None:
                        raise err from None
                    on_error(err, seq)
                    continue
                if pat is not None and not pat.search(data_text(data)):
                    continue
                yield Event(seq, int(kx.ts[j]), int(kx.kind[j]), int(kx.pid[j]),
                            int(kx.peer[j]), int(kx.ref[j]), data)  # fmt: skip

        return sorted(todo), listed

    def _all_kind_frames(self, session: Session) -> list[int]:
        frames = self._kind_frames(session)
        n = session.index.activity.spans().frames
        return list(range(n)) if frames is None else frames

    def _kind_frames(self, session: Session) -> list[int] | None:
        """The EVENTS frames that may hold one of :attr:`kinds` (``None``: all of them): the
        file's frame summaries tell which cannot, and those are never decompressed."""
        if self.kinds is None:
            return None
        activity = session.index.activity
        frames = activity.frames_with(list(self.kinds), stored_only=True)
        if len(frames) == activity.spans().frames:
            return None
        return frames.tolist()  # type: ignore[no-any-return]

    def _time_range(self, session: Session, lo: int, hi: int) -> tuple[int, int]:
        """Narrow ``lo .. hi - 1`` to the frames whose time span meets the time bounds (read
        from the frame index: frames outside are never decompressed)."""
        if self.t_from is None and self.t_to is None:
            return lo, hi
        table = session.reader.frame_table()
        ev = table["type"] == FrameType.EVENTS
        first, count = table["first_seq"][ev], table["count"][ev]
        t0, t1 = table["t_first"][ev], table["t_last"][ev]
        if self.t_from is not None:
            k = int(np.searchsorted(t1, self.t_from, side="left"))
            lo = max(lo, int(first[k]) if k < len(first) else hi)
        if self.t_to is not None:
            k = int(np.searchsorted(t0, self.t_to, side="right"))
            hi = min(hi, int(first[k - 1] + count[k - 1]) if k > 0 else lo)
        return lo, hi
