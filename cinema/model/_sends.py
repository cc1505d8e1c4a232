"""Finding the SEND of a message a keyframe lists, so the world shows it as it was sent.

A keyframe stores each queued message as it was when the snapshot was taken; replay from event
0 shows the SEND's data instead, the bytes captured when it was sent (the program may have
changed the object since). For both paths to agree the reader shows a keyframe's messages
through their SENDs (``docs/world-schema.md``): :class:`SendFinder` finds them by scanning the
``kind`` and ``ref`` columns backwards from the keyframe, for all the messages of one mailbox
at once, in windows that double in size (most queued messages were sent shortly before).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from recorder.events import EventKind
from recorder.session.reader import SessionReader

__all__ = ["SendFinder"]

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
