"""Per-process time series for the metrics plots: mailbox length, memory, message rate (Qt-free).

Mailbox length and message rate come from the event skeleton alone (no payload is decoded):
a SEND to ``pid`` queues one message, a RECEIVE or DROP by / to it takes one out, an EXIT or
CRASH empties the mailbox. Memory comes from the process's PROFILE samples (decoded, but
there are few of them), as a step function.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from recorder.events import EventKind

__all__ = ["Series", "mailbox_series", "memory_series", "message_rate"]

FloatArray = npt.NDArray[np.float64]


class _Skeleton(Protocol):
    @property
    def ts(self) -> npt.NDArray[np.int64]: ...
    @property
    def kind(self) -> npt.NDArray[np.uint8]: ...
    @property
    def pid(self) -> npt.NDArray[np.uint32]: ...
    @property
    def peer(self) -> npt.NDArray[np.uint32]: ...


class _EventSource(Protocol):
    def event(self, seq: int) -> Any: ...


class Series(NamedTuple):
    """A step series: ``value[i]`` holds from ``t[i]`` (ns) until ``t[i + 1]``."""

    t: npt.NDArray[np.int64]
    value: FloatArray


def mailbox_series(sk: _Skeleton, pid: int) -> Series:
    """Mailbox length of ``pid`` after each event that changes it."""
    k = sk.kind
    into = (sk.peer == pid) & (k == EventKind.SEND)
    out = ((sk.pid == pid) & (k == EventKind.RECEIVE)) | ((sk.peer == pid) & (k == EventKind.DROP))
    reset = (sk.pid == pid) & ((k == EventKind.EXIT) | (k == EventKind.CRASH))
    idx = np.flatnonzero(into | out | reset)
    if not len(idx):
        return Series(np.zeros(0, np.int64), np.zeros(0, np.float64))
    delta = into[idx].astype(np.int64) - out[idx].astype(np.int64)
    is_reset = reset[idx]
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


def memory_series(sk: _Skeleton, source: _EventSource, pid: int, limit: int = 5000) -> Series:
    """``memory`` figures of ``pid``'s PROFILE samples (at most ``limit``, evenly thinned)."""
    idx = np.flatnonzero((sk.pid == pid) & (sk.kind == EventKind.PROFILE))
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


def message_rate(sk: _Skeleton, pid: int, t0: int, t1: int, bins: int = 200) -> Series:
    """Messages sent plus received by ``pid`` per second, in ``bins`` bins over ``[t0, t1]``."""
    bins = max(int(bins), 1)
    t1 = max(t1, t0 + 1)
    k = sk.kind
    mine = (sk.pid == pid) & ((k == EventKind.SEND) | (k == EventKind.RECEIVE))
    t = sk.ts[mine]
    edges = np.linspace(t0, t1, bins + 1)
    counts, _ = np.histogram(t, bins=edges)
    width_s = (t1 - t0) / bins / 1e9
    return Series(edges[:-1].astype(np.int64), counts.astype(np.float64) / width_s)
