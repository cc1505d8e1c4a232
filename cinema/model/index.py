"""The one index of a session: messages, sends by ref, states and events by process, activity.

Flow analysis, conditions, state history, playback, metrics, the timeline and the graph all
ask the same questions of a session: which SEND does this RECEIVE consume, what became of this
message, which STATE of this process came before, which events did this process take part in.
:class:`SessionIndex` answers them from the event columns (no payload is decoded), computing
each part on first use and growing it with a live session: a part built for ``n`` events takes
in only the events after ``n`` when asked again. One index is shared per reader
(:meth:`SessionIndex.of`; ``Session.index``), so nothing pairs messages twice.

Pairing rule (``docs/world-schema.md``): a message is the SEND whose ``ref`` is its id; its
*consume* is the first RECEIVE or DROP with that id after the SEND, its *timeout* the first
TIMEOUT naming it after the SEND. :func:`first_after` is the one implementation of "the first
event with the same id after this one", used for the whole session here and for a replay
window by :mod:`cinema.model._window`.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from cinema.model._sends import SendFinder
from cinema.model.activity import Activity
from cinema.model.samples import ProfileSamples
from recorder.events import EventKind
from recorder.session.reader import SessionReader

__all__ = [
    "DROPPED",
    "LOST",
    "OUTCOMES",
    "QUEUED",
    "RECEIVED",
    "TIMED_OUT",
    "Messages",
    "SessionIndex",
    "first_after",
]

IntArray = npt.NDArray[np.int64]
_K = EventKind
RECEIVED, DROPPED, TIMED_OUT, QUEUED, LOST = 0, 1, 2, 3, 4
#: Outcome names by code.
OUTCOMES = ("received", "dropped", "timed_out", "queued", "lost")
_EMPTY = np.zeros(0, np.int64)


def first_after(
    seqs: npt.ArrayLike, ids: npt.ArrayLike, later_seqs: npt.ArrayLike, later_ids: npt.ArrayLike
) -> IntArray:
    """For each event ``seqs[i]`` with id ``ids[i]``, the first of ``later_seqs`` with the same
    id strictly after it (``-1``: none). Id ``0`` never matches (it means "no id").

    Vectorised: the later events are sorted by (id, seq) once, and every query is one
    ``searchsorted`` on a composite key (ids are ranked first when the key would overflow).
    """
    s = np.asarray(seqs, np.int64)
    r = np.asarray(ids, np.int64)
    ls = np.asarray(later_seqs, np.int64)
    lr = np.asarray(later_ids, np.int64)
    out = np.full(len(s), -1, np.int64)
    keep = lr != 0
    ls, lr = ls[keep], lr[keep]
    if not len(s) or not len(ls):
        return out
    span = int(max(int(s.max(initial=0)), int(ls.max())) + 2)
    lo = min(int(r.min()), int(lr.min()))
    hi = max(int(r.max()), int(lr.max()))
    if lo < 0 or (hi + 1) * span >= 2**62:  # hostile or huge ids: rank them first
        uniq = np.unique(lr)
        at = np.minimum(np.searchsorted(uniq, r), len(uniq) - 1)
        found = uniq[at] == r
        r = np.where(found, at, -1)
        lr = np.searchsorted(uniq, lr)
    else:
        found = np.ones(len(s), bool)
    keys = np.sort(lr * span + ls)
    q = r * span + s
    pos = np.searchsorted(keys, q, side="right")
    ok = found & (pos < len(keys))  # id 0 was left out of the later events: it never matches
    cand = keys[np.minimum(pos, len(keys) - 1)]
    ok &= cand // span == r
    out[ok] = cand[ok] % span
    return out


class Messages:
    """Every SEND of a session and what became of it, as parallel arrays in send order.

    Attributes:
        send_seq: the SEND events.
        consume_seq: the first RECEIVE or DROP of its id after it (``-1``: none).
        timeout_seq: the first TIMEOUT naming it after it (``-1``: none).

    Derived (computed on first read, from the event columns): :attr:`recv_seq` (the outcome
    event: the consume, else the timeout), :attr:`outcome`, :attr:`sender`,
    :attr:`receiver`, :attr:`msg_id`.
    """

    def __init__(self, index: SessionIndex) -> None:
        self._index = index
        self.n = 0  # events taken in
        self.send_seq: IntArray = _EMPTY
        self.consume_seq: IntArray = _EMPTY
        self.timeout_seq: IntArray = _EMPTY
        self._derived: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.send_seq)

    def _grow(self, kind: np.ndarray, refs: np.ndarray, n: int) -> None:
        """Take in events ``self.n .. n - 1``."""
        a = self.n
        k = kind[a:n]
        new_send = np.flatnonzero(k == _K.SEND) + a
        cons = np.flatnonzero((k == _K.RECEIVE) | (k == _K.DROP)) + a
        outs = np.flatnonzero(k == _K.TIMEOUT) + a
        # Sends still waiting for a consume (or a timeout) can only find it among the new
        # events: the first one after them there is the first one after them at all.
        send = np.concatenate([self.send_seq, new_send])
        consume = np.concatenate([self.consume_seq, np.full(len(new_send), -1, np.int64)])
        timeout = np.concatenate([self.timeout_seq, np.full(len(new_send), -1, np.int64)])
        for target, later in ((consume, cons), (timeout, outs)):
            if not len(later):
                continue
            rows = np.flatnonzero(target < 0)
            if len(rows):
                s = send[rows]
                target[rows] = first_after(s, refs[s], later, refs[later])
        self.send_seq, self.consume_seq, self.timeout_seq = send, consume, timeout
        self.n = n
        self._derived.clear()

    def _get(self, name: str) -> np.ndarray:
        got = self._derived.get(name)
        if got is None:
            got = self._derived[name] = self._derive(name)
        return got

    def _derive(self, name: str) -> np.ndarray:
        ix = self._index
        if name == "recv_seq":
            return np.where(self.consume_seq >= 0, self.consume_seq, self.timeout_seq)
        if name == "msg_id":
            return ix.refs()[self.send_seq].astype(np.int64)
        sk = ix.reader.skeleton()
        if name == "sender":
            return sk.pid[self.send_seq].astype(np.int64)
        if name == "receiver":
            return sk.peer[self.send_seq].astype(np.int64)
        assert name == "outcome"
        out = np.full(len(self), QUEUED, np.int8)
        out[self.timeout_seq >= 0] = TIMED_OUT
        has = self.consume_seq >= 0
        dropped = sk.kind[self.consume_seq[has]] == _K.DROP
        out[has] = np.where(dropped, DROPPED, RECEIVED)
        pending = (self.consume_seq < 0) & (self.timeout_seq < 0)
        ended = ix.ended_pids()
        if len(ended) and pending.any():
            # unanswered messages to a process that ended were lost; the rest are queued
            out[pending & np.isin(self._get("receiver"), ended)] = LOST
        return out

    @property
    def recv_seq(self) -> IntArray:
        """The outcome event of each message (consume, else timeout; ``-1``: none)."""
        return self._get("recv_seq")

    @property
    def outcome(self) -> npt.NDArray[np.int8]:
        """One of :data:`RECEIVED` ... :data:`LOST` per message (names in :data:`OUTCOMES`)."""
        return self._get("outcome")

    @property
    def sender(self) -> IntArray:
        return self._get("sender")

    @property
    def receiver(self) -> IntArray:
        return self._get("receiver")

    @property
    def msg_id(self) -> IntArray:
        return self._get("msg_id")

    def paired(self) -> tuple[IntArray, IntArray]:
        """``(send_seq, recv_seq)`` of the messages with an outcome event, in send order
        (made once per growth: two gathers over every message, ~20 ms on 4 M)."""
        got = self._derived.get("paired_send")
        if got is None:
            ok = self.recv_seq >= 0
            self._derived["paired_recv"] = self.recv_seq[ok]
            got = self._derived["paired_send"] = self.send_seq[ok]
        return got, self._derived["paired_recv"]

    def row_of_send(self, seq: int) -> int:
        """The row of SEND event ``seq``, or -1."""
        i = int(np.searchsorted(self.send_seq, seq))
        return i if i < len(self) and int(self.send_seq[i]) == seq else -1

    def row_of_outcome(self, seq: int) -> int:
        """The row of the message whose outcome event is ``seq`` (its first), or -1."""
        hits = np.flatnonzero(self.recv_seq == seq)
        return int(hits[0]) if len(hits) else -1


class _Grouped:
    """Row numbers of a column grouped by value, for one stretch of events: ``rows(v)`` are
    the events with value ``v``, ascending."""

    __slots__ = ("order", "start", "stop", "values", "wide")

    def __init__(self, column: np.ndarray, start: int, stop: int) -> None:
        col = column[start:stop]
        # values that fit 16 bits (NO_PID / NO_PEER folded into 0xFFFF) sort by radix, ~10x
        # faster than a comparison sort on millions of rows
        real = col[col != 0xFFFFFFFF]
        key: np.ndarray
        if not len(real) or int(real.max()) < 0xFFFF:
            key = np.minimum(col, 0xFFFF).astype(np.uint16)
            self.wide = False
        else:
            key = col
            self.wide = True
        order = np.argsort(key, kind="stable")
        self.order = (order + start).astype(np.int64 if stop >= 2**31 else np.int32)
        self.values = key[order]
        self.start, self.stop = start, stop

    def rows(self, value: int) -> np.ndarray:
        if not self.wide and value >= 0xFFFF:
            return self.order[:0]
        lo = int(np.searchsorted(self.values, value, side="left"))
        hi = int(np.searchsorted(self.values, value, side="right"))
        return self.order[lo:hi]


class _ByValue:
    """A growable :class:`_Grouped` index: one group per stretch of events taken in, merged
    into one when they become many (a live session grows in small batches)."""

    _MAX_PARTS = 8

    def __init__(self) -> None:
        self.parts: list[_Grouped] = []
        self.n = 0

    def grow(self, column: np.ndarray, n: int) -> None:
        if n <= self.n:
            return
        if len(self.parts) >= self._MAX_PARTS:
            self.parts = [_Grouped(column, 0, n)]
        else:
            self.parts.append(_Grouped(column, self.n, n))
        self.n = n

    def rows(self, value: int) -> IntArray:
        got = [p.rows(value) for p in self.parts]
        got = [g for g in got if len(g)]
        if not got:
            return _EMPTY
        return np.concatenate(got).astype(np.int64, copy=False)


class SessionIndex:
    """The index of one session (see the module docstring). Every part is built on first
    use and grown to the session's current length each time it is asked for.

    Use :meth:`of` (or ``Session.index``) to share one index per reader. Parts may be asked
    for from several threads: each is built under a lock.
    """

    def __init__(self, reader: SessionReader) -> None:
        self.reader = reader
        self._lock = threading.RLock()
        self._messages = Messages(self)
        #: The SEND of a message id before an event (keyframe mailboxes, conditions' ``msg``).
        self.sends = SendFinder(reader)
        self._states: tuple[int, IntArray, IntArray] | None = None  # (n, pids, seqs) by pid
        self._actor = _ByValue()
        self._peer = _ByValue()
        self._ended: tuple[int, IntArray] | None = None
        #: Per-frame kinds and process activity, and cached windows of event columns.
        self.activity = Activity(reader)
        #: The PROFILE samples by process, their figures decoded once.
        self.profiles = ProfileSamples(reader)

    @classmethod
    def of(cls, source: Any) -> SessionIndex:
        """The shared index of a Session or a SessionReader."""
        reader = getattr(source, "reader", source)
        if not isinstance(reader, SessionReader):
            raise TypeError(f"expected a Session or a SessionReader, got {type(source).__name__}")
        with _LOCK:
            ix: SessionIndex | None = reader.derived.get("index")  # goes with the reader
            if ix is None:
                ix = reader.derived["index"] = cls(reader)
        return ix

    @property
    def event_count(self) -> int:
        return self.reader.event_count

    def refs(self) -> np.ndarray:
        """The ``ref`` column of every event."""
        return self.reader.refs()

    def warm(self) -> None:
        """Build the whole-session parts a first seek's panels ask for (every message paired,
        the STATE events by process) ahead of it: the window calls this from a worker thread a
        while after its first screen, so that the first scrub does not (about 2 s on 10 M
        events)."""
        self.messages().paired()
        self._state_groups()

    # ------------------------------------------------------------------ messages

    def messages(self) -> Messages:
        """Every SEND paired with its consume and timeout (grown to the current length)."""
        m = self._messages
        n = self.event_count
        if m.n != n:
            with self._lock:
                if m.n != n:
                    m._grow(self.reader.skeleton().kind, self.refs(), n)
        return m

    def send_of(self, ref: int, before: int | None = None) -> int | None:
        """The seq of the latest SEND of message ``ref`` before event ``before`` (default: the
        session's end; ``None``: not recorded, or ``ref`` 0). The session's one SEND lookup
        (:class:`~cinema.model._sends.SendFinder`, :attr:`sends`): it scans the kind and ref
        columns backwards from ``before`` in growing windows, so it never loads whole columns."""
        if ref == 0:
            return None
        got = self.sends.seq_of(ref, self.event_count if before is None else before)
        return got if got >= 0 else None

    # ------------------------------------------------------------------ states

    def states_of(self, pid: int) -> IntArray:
        """The STATE events of ``pid``, ascending."""
        pids, seqs = self._state_groups()
        lo = int(np.searchsorted(pids, pid, side="left"))
        hi = int(np.searchsorted(pids, pid, side="right"))
        return seqs[lo:hi]

    def prev_state(self, seq: int, pid: int) -> int | None:
        """The latest STATE event of ``pid`` strictly before ``seq``."""
        group = self.states_of(pid)
        i = int(np.searchsorted(group, seq)) - 1
        return int(group[i]) if i >= 0 else None

    def _state_groups(self) -> tuple[IntArray, IntArray]:
        n = self.event_count
        got = self._states
        if got is None or got[0] != n:
            with self._lock:
                got = self._states
                if got is None or got[0] != n:
                    sk = self.reader.skeleton()
                    start = got[0] if got is not None else 0
                    new = np.flatnonzero(sk.kind[start:n] == _K.STATE) + start
                    pids = sk.pid[new].astype(np.int64)
                    if got is not None:
                        pids, new = np.concatenate([got[1], pids]), np.concatenate([got[2], new])
                    order = np.argsort(pids, kind="stable")  # stable: seqs ascend per pid
                    got = self._states = (n, pids[order], new[order].astype(np.int64))
        return got[1], got[2]

    # ------------------------------------------------------------------ events by process

    def actor_events(self, pid: int) -> IntArray:
        """The events ``pid`` performed, ascending."""
        self._grown(self._actor, "pid")
        return self._actor.rows(pid)

    def peer_events(self, pid: int) -> IntArray:
        """The events whose peer is ``pid`` (messages sent to it, links to it, ...),
        ascending."""
        self._grown(self._peer, "peer")
        return self._peer.rows(pid)

    def events_of(self, pid: int, *, as_peer: bool = True) -> IntArray:
        """The events of ``pid``: those it performed and, with ``as_peer``, those naming it as
        the peer; ascending, each once."""
        own = self.actor_events(pid)
        if not as_peer:
            return own
        return np.union1d(own, self.peer_events(pid)).astype(np.int64)

    def _grown(self, part: _ByValue, column: str) -> None:
        n = self.event_count
        if part.n != n:
            with self._lock:
                if part.n != n:
                    part.grow(getattr(self.reader.skeleton(), column), n)

    def ended_pids(self) -> IntArray:
        """Pids with an EXIT or CRASH event, ascending."""
        n = self.event_count
        got = self._ended
        if got is None or got[0] != n:
            with self._lock:
                got = self._ended
                sk = self.reader.skeleton()
                start = got[0] if got is not None else 0
                k = sk.kind[start:n]
                new = sk.pid[start:n][(k == _K.EXIT) | (k == _K.CRASH)].astype(np.int64)
                prev = got[1] if got is not None else _EMPTY
                got = self._ended = (n, np.union1d(prev, new).astype(np.int64))
        return got[1]


_LOCK = threading.Lock()
