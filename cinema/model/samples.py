"""The PROFILE samples of a session, by process: which sample is a process's latest at a
moment, and its figures (``cpu_ns``, ``handled``, ``memory``), decoded once.

The Top table asks, at every position of the playhead, for the latest sample of each of
thousands of live processes, and the one before a window: scanning the kind column up to the
playhead and grouping the samples by pid each time cost ~30 ms on a 10M-event session, and
decoding every sample's payload through the reader ~60 ms. :class:`ProfileSamples` sorts the
samples by ``(pid, seq)`` once (one ``searchsorted`` answers all processes at once) and keeps
each sample's figures in arrays once decoded, so a position decodes only samples never read
before. Part of the session's one index (``Session.index.profiles``).
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from recorder.events import NO_PID, EventKind
from recorder.session.reader import SessionReader

__all__ = ["FIGURES", "Figures", "ProfileSamples"]

IntArray = npt.NDArray[np.int64]
#: The figures of a process sample kept in arrays.
FIGURES = ("cpu_ns", "handled", "memory")
_I64 = 1 << 63
_PID_BITS = 32  # pids are below 2^22 (ReadLimits.max_pid); seqs fit in the other 31 bits


class Figures(NamedTuple):
    """Figures of some samples (0 where there is no sample, or the sample lacks the figure
    or holds one that is not an int64 count)."""

    cpu_ns: IntArray
    handled: IntArray
    memory: IntArray


def _count(d: dict[str, Any], key: str) -> int:
    v = d.get(key)
    return v if type(v) is int and 0 <= v < _I64 else 0


_ZEROS = [0] * len(FIGURES)


class ProfileSamples:
    """The PROFILE events of one session (see the module docstring); grown to the session's
    length whenever asked, safe to ask from several threads."""

    def __init__(self, reader: SessionReader) -> None:
        self.reader = reader
        self._lock = threading.RLock()
        self.n = 0  # events taken in
        self.seqs: IntArray = np.zeros(0, np.int64)  # every process sample, ascending
        self.system: IntArray = np.zeros(0, np.int64)  # every system sample (pid NO_PID)
        self._keys: IntArray = np.zeros(0, np.int64)  # (pid << 32 | seq), sorted
        self._figures = np.zeros((0, len(FIGURES)), np.int64)
        self._known = np.zeros(0, bool)

    def _grow(self) -> None:
        n = self.reader.event_count
        if n == self.n:
            return
        with self._lock:
            if n == self.n:
                return
            sk = self.reader.skeleton()
            new = np.flatnonzero(sk.kind[self.n : n] == EventKind.PROFILE) + self.n
            pids = sk.pid[new].astype(np.int64)
            system = pids == NO_PID
            mine = new[~system]
            self.system = np.concatenate([self.system, new[system]])
            self.seqs = np.concatenate([self.seqs, mine])
            keys = (pids[~system] << _PID_BITS) | mine
            self._keys = np.sort(np.concatenate([self._keys, keys]))
            grow = len(mine)
            self._figures = np.concatenate(
                [self._figures, np.zeros((grow, len(FIGURES)), np.int64)]
            )
            self._known = np.concatenate([self._known, np.zeros(grow, bool)])
            self.n = n

    def latest(self, pids: npt.ArrayLike, seq: int) -> IntArray:
        """For each of ``pids``, the seq of its latest sample at or before event ``seq``
        (``-1``: none)."""
        self._grow()
        want = np.asarray(pids, np.int64)
        out = np.full(len(want), -1, np.int64)
        keys = self._keys
        if not len(keys) or seq < 0:
            return out
        ok = (want >= 0) & (want < 1 << 30)
        q = (want[ok] << _PID_BITS) | min(seq, (1 << _PID_BITS) - 1)
        at = np.searchsorted(keys, q, side="right") - 1
        found = keys[np.maximum(at, 0)]
        hit = (at >= 0) & (found >> _PID_BITS == want[ok])
        got = np.where(hit, found & ((1 << _PID_BITS) - 1), -1)
        out[ok] = got
        return out

    def latest_system(self, seq: int) -> int:
        """The seq of the latest system sample at or before event ``seq`` (``-1``: none)."""
        self._grow()
        i = int(np.searchsorted(self.system, seq, side="right")) - 1
        return int(self.system[i]) if i >= 0 else -1

    def figures(self, sample_seqs: npt.ArrayLike) -> Figures:
        """The figures of the samples ``sample_seqs`` (``-1``: none, all zero); samples never
        read before are decoded now, in seq order, each once."""
        self._grow()
        want = np.asarray(sample_seqs, np.int64)
        at = np.searchsorted(self.seqs, want)
        ok = (want >= 0) & (at < len(self.seqs))
        ok[ok] = self.seqs[at[ok]] == want[ok]
        rows = at[ok]
        missing = np.unique(rows[~self._known[rows]])
        if len(missing):
            with self._lock:
                data = [ev.data for ev in self.reader.events_at(self.seqs[missing])]
                self._figures[missing] = [
                    [_count(d, k) for k in FIGURES] if type(d) is dict else _ZEROS for d in data
                ]
                self._known[missing] = True
        out = np.zeros((len(want), len(FIGURES)), np.int64)
        out[ok] = self._figures[rows]
        return Figures(out[:, 0], out[:, 1], out[:, 2])
