"""Per-process time series for the metrics plots: mailbox length, memory, message rate (Qt-free).

Mailbox length and message rate come from the event skeleton alone (no payload is decoded):
a SEND to ``pid`` queues one message, a RECEIVE or DROP by / to it takes one out, an EXIT or
CRASH empties the mailbox. Memory comes from the process's PROFILE samples (decoded, but
there are few of them), as a step function.

:class:`MetricsCache` is what a view uses: the session's index of events by process
(:meth:`cinema.model.index.SessionIndex.actor_events`, built once) makes one process's series
cost O(its events), and the series of a process are computed once per session length, however
often the playhead moves.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from recorder.events import EventKind
from recorder.session.columns import Skeleton

__all__ = [
    "MetricsCache",
    "ProcessSeries",
    "Series",
    "mailbox_series",
    "memory_series",
    "message_rate",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class _EventSource(Protocol):
    def event(self, seq: int) -> Any: ...


class _ProcessEvents(Protocol):
    def actor_events(self, pid: int) -> IntArray: ...
    def peer_events(self, pid: int) -> IntArray: ...


class Series(NamedTuple):
    """A step series: ``value[i]`` holds from ``t[i]`` (ns) until ``t[i + 1]``."""

    t: npt.NDArray[np.int64]
    value: FloatArray


def mailbox_series(sk: Skeleton, pid: int) -> Series:
    """Mailbox length of ``pid`` after each event that changes it."""
    return _mailbox(sk, pid, np.flatnonzero(sk.pid == pid), np.flatnonzero(sk.peer == pid))


def _mailbox(sk: Skeleton, pid: int, actor: IntArray, peer: IntArray) -> Series:
    """:func:`mailbox_series` over the events where ``pid`` acts (``actor``) or is the peer."""
    cand = np.union1d(actor, peer)
    k, is_actor, is_peer = sk.kind[cand], sk.pid[cand] == pid, sk.peer[cand] == pid
    into = is_peer & (k == EventKind.SEND)
    out = (is_actor & (k == EventKind.RECEIVE)) | (is_peer & (k == EventKind.DROP))
    reset = is_actor & ((k == EventKind.EXIT) | (k == EventKind.CRASH))
    sel = into | out | reset
    idx = cand[sel]
    if not len(idx):
        return Series(np.zeros(0, np.int64), np.zeros(0, np.float64))
    into, out, is_reset = into[sel], out[sel], reset[sel]
    delta = into.astype(np.int64) - out.astype(np.int64)
    if not is_reset.any():
        level = np.maximum(np.cumsum(delta), 0)
    else:
        # cumulative sum restarting at every reset (a crash empties the mailbox)
        level = np.empty(len(idx), np.int64)
        acc = 0
        for i, (d, r) in enumerate(zip(delta.tolist(), is_reset.tolist(), strict=True)):
            acc = 0 if r else max(acc + d, 0)
            level[i] = acc
    return Series(sk.ts[idx].astype(np.int64), level.astype(np.float64))


def memory_series(sk: Skeleton, source: _EventSource, pid: int, limit: int = 5000) -> Series:
    """``memory`` figures of ``pid``'s PROFILE samples (at most ``limit``, evenly thinned)."""
    return _memory(sk, source, np.flatnonzero(sk.pid == pid), limit)


def _memory(sk: Skeleton, source: _EventSource, actor: IntArray, limit: int = 5000) -> Series:
    idx = actor[sk.kind[actor] == EventKind.PROFILE]
    if len(idx) > limit:
        idx = idx[np.linspace(0, len(idx) - 1, limit).astype(np.int64)]
    ts: list[int] = []
    vals: list[float] = []
    for seq in idx.tolist():
        data = source.event(seq).data
        if isinstance(data, dict) and isinstance(data.get("memory"), (int, float)):
            ts.append(int(sk.ts[seq]))
            vals.append(float(data["memory"]))
    return Series(np.asarray(ts, np.int64), np.asarray(vals, np.float64))


def message_rate(sk: Skeleton, pid: int, t0: int, t1: int, bins: int = 200) -> Series:
    """Messages sent plus received by ``pid`` per second, in ``bins`` bins over ``[t0, t1]``."""
    return _rate(sk, np.flatnonzero(sk.pid == pid), t0, t1, bins)


def _rate(sk: Skeleton, actor: IntArray, t0: int, t1: int, bins: int = 200) -> Series:
    bins = max(int(bins), 1)
    t1 = max(t1, t0 + 1)
    k = sk.kind[actor]
    t = sk.ts[actor[(k == EventKind.SEND) | (k == EventKind.RECEIVE)]]
    edges = np.linspace(t0, t1, bins + 1)
    counts, _ = np.histogram(t, bins=edges)
    width_s = (t1 - t0) / bins / 1e9
    return Series(edges[:-1].astype(np.int64), counts.astype(np.float64) / width_s)


class ProcessSeries(NamedTuple):
    """The three metrics of one process."""

    mailbox: Series
    memory: Series
    rate: Series


class MetricsCache:
    """Series per process for one session length, computed once per process (LRU).

    Args:
        sk: the event skeleton, or a callable returning it (called on the first series).
        source: decodes events (PROFILE samples) -- a Session.
        index: each process's events (the session's index, ``Session.index``).
        t0, t1: the time span of the message-rate bins (ns).
        bins: message-rate bins.
        size: processes kept.

    A grown live session needs a new cache (the skeleton is a different length).
    """

    def __init__(
        self, sk: Skeleton | Callable[[], Skeleton], source: _EventSource, index: _ProcessEvents,
        t0: int, t1: int, *, bins: int = 200, size: int = 64,
    ) -> None:  # fmt: skip
        self._sk = sk
        self.source, self.t0, self.t1, self.bins = source, t0, t1, bins
        self.index = index
        self.size = max(int(size), 1)
        self._series: OrderedDict[int, ProcessSeries] = OrderedDict()
        self.computed = 0  # how many processes' series were computed (for tests)

    @property
    def sk(self) -> Skeleton:
        """The skeleton (a callable given instead is called on first use)."""
        if not isinstance(self._sk, Skeleton):
            self._sk = self._sk()
        return self._sk

    def series(self, pid: int) -> ProcessSeries:
        """Mailbox, memory and message rate of ``pid`` (computed once, then cached)."""
        hit = self._series.get(pid)
        if hit is not None:
            self._series.move_to_end(pid)
            return hit
        n = len(self.sk.kind)
        actor, peer = self.index.actor_events(pid), self.index.peer_events(pid)
        actor, peer = actor[actor < n], peer[peer < n]  # the index may have grown past sk
        out = ProcessSeries(
            _mailbox(self.sk, pid, actor, peer),
            _memory(self.sk, self.source, actor),
            _rate(self.sk, actor, self.t0, self.t1, self.bins),
        )
        self.computed += 1
        self._series[pid] = out
        if len(self._series) > self.size:
            self._series.popitem(last=False)
        return out
