"""What every detector reads: the session's columns and the message flow, computed once.

Detectors work on numpy columns (the skeleton, the ``ref`` column, the flow's pairing); they
decode payloads only for the few events they report, through :meth:`Context.data_of`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np

from cinema.model import present
from cinema.model.flow import MessageFlow, message_flow
from cinema.model.session import Session
from recorder.events import NO_PID, EventKind
from recorder.session.reader import Skeleton

__all__ = ["Context"]

_K = EventKind


class Context:
    """One session as the detectors see it. Every property is computed on first use."""

    def __init__(self, session: Session) -> None:
        self.session = session
        #: Results other analyses keep for the session (by name).
        self.memo: dict[str, Any] = {}

    @cached_property
    def sk(self) -> Skeleton:
        return self.session.skeleton

    @cached_property
    def refs(self) -> np.ndarray:
        return self.session.refs

    @cached_property
    def flow(self) -> MessageFlow:
        return message_flow(self.session)

    @cached_property
    def _msg_index(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.flow.msg_id, kind="stable")
        return order, self.flow.msg_id[order]

    def send_row(self, msg_id: int) -> int:
        """The flow row of the (last) SEND of message ``msg_id``, or -1."""
        order, ids = self._msg_index
        if not msg_id or not len(order):
            return -1
        i = int(np.searchsorted(ids, msg_id, side="right")) - 1
        return int(order[i]) if i >= 0 and ids[i] == msg_id else -1

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
        """The decoded data of a few events (one frame decode per frame touched)."""
        arr = np.unique(np.asarray(list(seqs), dtype=np.int64))
        return {ev.seq: ev.data for ev in self.session.reader.events_at(arr)}

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
