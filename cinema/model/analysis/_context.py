"""What every detector reads: the session's columns and the message flow, computed once.

Detectors work on numpy columns (the skeleton, the ``ref`` column, the flow's pairing); they
decode payloads only for the few events they report, through :meth:`Context.data_of`.

A damaged file is analysed on its readable frames (:mod:`._readable`): the frames that fail
their checksum are blanked out of the columns, and what could not be read is listed in
:attr:`Context.unreadable` for the caller to say.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np

from cinema.model import present
from cinema.model.analysis._readable import ReadableColumns
from cinema.model.flow import MessageFlow, message_flow
from cinema.model.session import Session
from recorder.events import NO_PID, EventKind
from recorder.session.format import SessionFormatError
from recorder.session.reader import Skeleton

__all__ = ["Context"]

_K = EventKind


class Context:
    """One session as the detectors see it. Every property is computed on first use."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: Results other analyses keep for the session (by name).
        self.memo: dict[str, Any] = {}
        #: What could not be read, in the order met: ``(error, None)`` for a whole frame
        #: (left out of every detector), ``(error, seq)`` for one event's data.
        self.unreadable: list[tuple[SessionFormatError, int | None]] = []

    @cached_property
    def damage(self) -> ReadableColumns | None:
        """The readable frames' columns when some frames are unreadable, else ``None``
        (checked once: every frame's checksum, about 0.2 s per 200 MB)."""
        bad = self.session.reader.bad_event_frames()
        if not bad:
            return None
        rc = ReadableColumns(self.session, bad)
        self.unreadable.extend((exc, None) for _, _, exc in rc.spans)
        return rc

    @cached_property
    def sk(self) -> Skeleton:
        rc = self.damage
        return rc.sk if rc is not None else self.session.skeleton

    @cached_property
    def refs(self) -> np.ndarray:
        rc = self.damage
        return rc.refs if rc is not None else self.session.refs

    @cached_property
    def flow(self) -> MessageFlow:
        rc = self.damage
        return message_flow(self.session, rc.index if rc is not None else None)

    def outcome_unknown(self, send_seqs: np.ndarray, until: np.ndarray | None = None) -> np.ndarray:
        """Which of these messages, not taken in the readable frames, may have been taken in
        an unreadable one: one lies after the SEND (and before ``until``, the receiver's end,
        when given). All False for a sound file."""
        rc = self.damage
        out = np.zeros(len(send_seqs), dtype=bool)
        if rc is None:
            return out
        for a, b, _ in rc.spans:
            hit = b > send_seqs + 1
            if until is not None:
                hit &= a < until
            out |= hit
        return out

    @cached_property
    def _msg_index(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.flow.msg_id, kind="stable")  # stable: sends of one id ascend
        return order, self.flow.msg_id[order]

    def send_row(self, msg_id: int, before: int | None = None) -> int:
        """The flow row of the last SEND of message ``msg_id`` before event ``before``
        (default: anywhere), or -1: an event's own SEND, even where an id was sent twice."""
        order, ids = self._msg_index
        if not msg_id or not len(order):
            return -1
        lo = int(np.searchsorted(ids, msg_id, side="left"))
        hi = int(np.searchsorted(ids, msg_id, side="right"))
        rows = order[lo:hi]
        if before is not None:
            rows = rows[self.flow.send_seq[rows] < before]
        return int(rows[-1]) if len(rows) else -1

    @property
    def n(self) -> int:
        return len(self.sk.ts)

    def seqs_of(self, *kinds: int) -> np.ndarray:
        """The events of these kinds, ascending (int64)."""
        kind = self.sk.kind
        mask = kind == kinds[0]
        for k in kinds[1:]:
            mask |= kind == k
        return np.flatnonzero(mask).astype(np.int64)

    @cached_property
    def death_seq(self) -> dict[int, int]:
        """pid -> its first EXIT or CRASH event."""
        ends = self.seqs_of(_K.EXIT, _K.CRASH)
        pids = self.sk.pid[ends].astype(np.int64)
        uniq, first = np.unique(pids, return_index=True)
        return dict(zip(uniq.tolist(), ends[first].tolist(), strict=True))

    @cached_property
    def spawn_seq(self) -> dict[int, int]:
        """pid -> its SPAWN event."""
        spawns = self.seqs_of(_K.SPAWN)
        pids = self.sk.pid[spawns].astype(np.int64)
        uniq, first = np.unique(pids, return_index=True)
        return dict(zip(uniq.tolist(), spawns[first].tolist(), strict=True))

    @cached_property
    def _received(self) -> np.ndarray:
        pids = self.sk.pid[self.seqs_of(_K.RECEIVE)].astype(np.int64)
        return np.bincount(pids[pids != NO_PID])

    def received_by(self, pid: int) -> int:
        """How many messages ``pid`` took from its mailbox."""
        r = self._received
        return int(r[pid]) if 0 <= pid < len(r) else 0

    def data_of(self, seqs: Iterable[int]) -> dict[int, Any]:
        """The decoded data of a few events (one frame decode per frame touched). Events
        whose data cannot be read are left out (and listed in :attr:`unreadable`)."""
        arr = np.unique(np.asarray(list(seqs), dtype=np.int64))
        rc = self.damage
        if rc is not None and len(arr):
            arr = arr[[not rc.covers(s) for s in arr.tolist()]]
        reader = self.session.reader
        out: dict[int, Any] = {}
        try:
            for ev in reader.events_at(arr):
                out[ev.seq] = ev.data
            return out
        except SessionFormatError:
            pass  # one event's data is bad: the others one by one (damaged files only)
        skip_to = -1
        for s in arr.tolist():
            if s in out or s < skip_to:
                continue
            try:
                out[s] = reader.event(s).data
            except SessionFormatError as exc:
                if exc.reason.startswith("event "):  # this event's payload only
                    self.unreadable.append((exc, s))
                else:  # its whole frame
                    self.unreadable.append((exc, None))
                    skip_to = reader.frame_bounds(s)[1]
        return out

    def last_of(self, pid: int, at: int, kinds: tuple[int, ...] = ()) -> int:
        """The last event of ``pid`` at or before ``at`` (of one of ``kinds``, if given), or -1.

        Scans backwards in windows that double in size: the event sought is usually close."""
        pids, kind = self.sk.pid, self.sk.kind
        hi, size = min(at + 1, self.n), 1024
        while hi > 0:
            lo = max(0, hi - size)
            mask = pids[lo:hi] == pid
            if kinds:
                mask &= np.isin(kind[lo:hi], kinds)
            hits = np.flatnonzero(mask)
            if len(hits):
                return lo + int(hits[-1])
            hi, size = lo, min(size * 2, 1 << 22)
        return -1

    def next_of(self, pid: int, after: int, kinds: tuple[int, ...] = ()) -> int:
        """The first event of ``pid`` after ``after`` (of one of ``kinds``, if given), or -1."""
        pids, kind = self.sk.pid, self.sk.kind
        lo, size, n = max(after + 1, 0), 1024, self.n
        while lo < n:
            hi = min(n, lo + size)
            mask = pids[lo:hi] == pid
            if kinds:
                mask &= np.isin(kind[lo:hi], kinds)
            hits = np.flatnonzero(mask)
            if len(hits):
                return lo + int(hits[0])
            lo, size = hi, min(size * 2, 1 << 22)
        return -1

    def label(self, pid: int) -> str:
        """``name <0.N.0>``."""
        return present.process_label(self.session, pid)

    def seconds(self, ns: int | float) -> str:
        """A duration for explanations: ``1.5 s``, ``12 ms``, ``40 µs``."""
        return duration_text(ns)

    def t(self, seq: int) -> int:
        return int(self.sk.ts[seq])

    @property
    def no_pid(self) -> int:
        return NO_PID


def duration_text(ns: int | float) -> str:
    """A duration for people: ``1.5 s``, ``12 ms``, ``40 µs``, ``800 ns``."""
    ns = float(ns)
    if ns >= 1e9:
        return f"{ns / 1e9:.3g} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.3g} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3g} µs"
    return f"{ns:.0f} ns"
