"""Keyframe mailboxes read from the events: each message as its SEND recorded it, all of them.

A keyframe stores each queued message as it was when the snapshot was taken, and only the first
100 of a mailbox; replay from event 0 shows the SEND's data (the bytes captured when it was
sent) and every queued message. For both paths to agree (``docs/world-schema.md``) the reader
shows a keyframe's messages through their SENDs, and completes a mailbox the keyframe cut short
from the events since the SEND of its oldest listed message (:meth:`SendFinder.mailbox`).
:class:`SendFinder` finds SENDs by scanning the ``kind`` and ``ref`` columns backwards from the
keyframe, for all the messages of one mailbox at once, in windows that double in size (most
queued messages were sent shortly before).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cinema.model._overlay import Lazy
from recorder.events import EventKind
from recorder.session.reader import SessionReader

__all__ = ["SendFinder"]

_K = EventKind
_FIRST_WINDOW = 4096
_LARGEST_WINDOW = 1 << 20
_CACHE = 1 << 16  # remembered (keyframe, message id) answers


class SendFinder:
    """The seq of the latest SEND of a message id before a keyframe, with a bounded cache."""

    def __init__(self, reader: SessionReader) -> None:
        self._reader = reader
        self._found: dict[tuple[int, int], int] = {}

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
        wanted = {msg_id, *(m for m in siblings if (before, m) not in self._found)}
        self._scan(before, wanted)
        return self._found[key]

    def _scan(self, before: int, wanted: set[int]) -> None:
        found = self._found
        left = np.fromiter(wanted, dtype=np.int64, count=len(wanted))
        hi = min(before, self._reader.event_count)
        size = _FIRST_WINDOW
        while len(left) and hi > 0:
            lo = max(0, hi - size)
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
