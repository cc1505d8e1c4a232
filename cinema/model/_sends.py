"""Keyframe mailboxes read from the events: each message as its SEND recorded it, all of them.

A keyframe stores each queued message as it was when the snapshot was taken, and only the first
100 of a mailbox; replay from event 0 shows the SEND's data (the bytes captured when it was
sent) and every queued message. For both paths to agree (``docs/world-schema.md``) the reader
shows a keyframe's messages through their SENDs, and completes a mailbox the keyframe cut short
from the events since the SEND of its oldest listed message (:meth:`SendFinder.mailbox`).
:class:`SendFinder` finds SENDs by scanning the ``kind`` and ``ref`` columns backwards from the
keyframe, for all the messages of one mailbox at once, in windows that double in size (most
queued messages were sent shortly before). A caller that asks for many SENDs (a breakpoint on
``msg`` over a whole session asks once per RECEIVE) gets a table of every SEND sorted by
message id instead, built once: a lookup is then two binary searches, not a window scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cinema.model._overlay import Lazy
from recorder.events import EventKind
from recorder.session.format import SessionFormatError
from recorder.session.reader import SessionReader

__all__ = ["SendFinder"]

_K = EventKind
_FIRST_WINDOW = 4096
_LARGEST_WINDOW = 1 << 20
_CACHE = 1 << 16  # remembered (keyframe, message id) answers
#: Window scans after which the SENDs table is built even though the whole kind and ref columns
#: are not loaded yet: by then the scans cost about what loading them does (a scan 0.1-0.7 ms;
#: the table from cold 2 s on the 10M-event benchmark session, 0.13 s with the columns loaded),
#: and a seek's few lookups never pay for it.
_SCANS_BEFORE_TABLE = 4096


class SendFinder:
    """The seq of the latest SEND of a message id before a keyframe, with a bounded cache.

    Args:
        reader: the session.
        table_after: window scans after which the table of every SEND is built (at once if the
            reader has loaded the kind and ref columns already); ``None``: never.
    """

    def __init__(
        self, reader: SessionReader, *, table_after: int | None = _SCANS_BEFORE_TABLE
    ) -> None:
        self._reader = reader
        self._table_after = table_after
        self._found: dict[tuple[int, int], int] = {}
        self._scans = 0
        # every SEND of events 0 .. _table_n-1, sorted by (message id, seq); None: not built
        self._table: tuple[np.ndarray, np.ndarray] | None = None
        self._table_n = 0
        self._table_failed = False

    def seq_of(self, msg_id: int, before: int, siblings: Iterable[int] = ()) -> int:
        """The seq of the last SEND of ``msg_id`` before event ``before`` (``-1``: none).

        ``siblings`` are other message ids likely to be asked next (the rest of the same
        mailbox): they are looked for in the same scan.
        """
        key = (before, msg_id)
        got = self._found.get(key)
        if got is not None:
            return got
        if len(self._found) > _CACHE:
            self._found.clear()
        if self._table is None and self._table_after is not None and not self._table_failed:
            self._scans += 1
            if self._scans > self._table_after or self._reader.refs_loaded:
                self._build_table()
        if self._table is not None:
            return self._lookup(msg_id, before)
        wanted = {msg_id, *(m for m in siblings if (before, m) not in self._found)}
        self._scan(before, wanted)
        return self._found[key]

    def _build_table(self) -> None:
        reader = self._reader
        try:
            n = reader.event_count
            kind = reader.skeleton().kind[:n]
            refs = reader.refs()[:n]
        except SessionFormatError:  # a damaged file: window scans, which skip nothing silently
            self._table_failed = True
            return
        sends = np.flatnonzero(kind == EventKind.SEND).astype(np.int64)
        ids = refs[sends].astype(np.int64)
        order = np.lexsort((sends, ids))
        self._table, self._table_n = (ids[order], sends[order]), n

    def _lookup(self, msg_id: int, before: int) -> int:
        """:meth:`seq_of` from the table, and from a window scan of the events a growing live
        session added since the table was built (rebuilt once they are as many again)."""
        if not self._table_failed and self._reader.event_count >= 2 * self._table_n + 1024:
            self._build_table()
        if before <= self._table_n:
            return self._in_table(msg_id, before)
        self._scan(before, {msg_id}, floor=self._table_n)
        key = (before, msg_id)
        if self._found[key] < 0:  # not sent since the table: the latest SEND in the table
            self._found[key] = self._in_table(msg_id, self._table_n)
        return self._found[key]

    def _in_table(self, msg_id: int, before: int) -> int:
        assert self._table is not None
        ids, seqs = self._table
        lo = int(np.searchsorted(ids, msg_id, side="left"))
        if lo == len(ids) or ids[lo] != msg_id:
            return -1
        hi = int(np.searchsorted(ids, msg_id, side="right"))
        if hi - lo == 1:  # the usual case: an id sent once
            return int(seqs[lo]) if seqs[lo] < before else -1
        i = lo + int(np.searchsorted(seqs[lo:hi], before, side="left")) - 1
        return int(seqs[i]) if i >= lo else -1

    def _scan(self, before: int, wanted: set[int], floor: int = 0) -> None:
        found = self._found
        left = np.fromiter(wanted, dtype=np.int64, count=len(wanted))
        hi = min(before, self._reader.event_count)
        size = _FIRST_WINDOW
        while len(left) and hi > floor:
            lo = max(floor, hi - size)
            cols = self._reader.columns(lo, hi)
            sends = np.flatnonzero(cols.kind == EventKind.SEND)
            refs = cols.ref[sends].astype(np.int64)
            hit = np.isin(refs, left)
            if hit.any():
                # the latest SEND of each id in this window (a later window was empty of it)
                seqs = sends[hit][::-1] + lo
                ids, first = np.unique(refs[hit][::-1], return_index=True)
                for m, i in zip(ids.tolist(), first.tolist(), strict=True):
                    found[(before, m)] = int(seqs[i])
                left = left[~np.isin(left, ids)]
            hi = lo
            size = min(size * 2, _LARGEST_WINDOW)
        for m in left.tolist():
            found[(before, m)] = -1

    def mailbox(
        self, pid: int, anchor: int, kf_seq: int, seq: int
    ) -> list[tuple[int, int, Any]] | None:
        """The mailbox of ``pid`` after event ``seq``, replayed from the SEND of message
        ``anchor`` (the oldest queued message a keyframe at ``kf_seq`` listed for it): every
        message queued then or since was sent at or after that SEND. ``[(msg_id, sender,
        Lazy(send seq))]`` oldest first, by the rules of replay; ``None`` when the file does not
        hold that SEND (a recording that starts mid-run)."""
        first = self.seq_of(anchor, kf_seq)
        if first < 0:
            return None
        cols = self._reader.columns(first, seq + 1)
        kind, p, q, ref = cols.kind, cols.pid, cols.peer, cols.ref
        to_it = (q == pid) & ((kind == _K.SEND) | (kind == _K.DROP))
        by_it = (p == pid) & np.isin(kind, _OWN_KINDS)
        box: dict[int, tuple[int, Any]] = {}
        alive = True
        for i in np.flatnonzero(to_it | by_it).tolist():
            k, r = int(kind[i]), int(ref[i])
            if k == _K.SEND:
                if alive:
                    box[r] = (int(p[i]), Lazy(first + i))
            elif k == _K.RECEIVE or k == _K.DROP:
                box.pop(r, None)
            else:  # SPAWN starts a process afresh, EXIT / CRASH empty its mailbox
                box.clear()
                alive = k == _K.SPAWN
        return [(m, s, v) for m, (s, v) in box.items()]


_OWN_KINDS = np.array([_K.RECEIVE, _K.SPAWN, _K.EXIT, _K.CRASH], dtype=np.uint8)
