"""Per-event name bindings for expressions, backed by a session's columns.

:class:`EventTable` holds what evaluating conditions over a session needs: the skeleton columns
(``ts, kind, pid, peer``), the ``ref`` column (loaded on first use), process names, and the
session's index (:class:`~cinema.model.index.SessionIndex`), which finds a message's SEND (for
``msg``) and the same process's previous state event (for ``prev_state`` and ``changed()``).
:class:`EventScope` binds the names of :data:`cinema.model.expr.NAMES` for one event, decoding
its payload only when a payload name is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from cinema.model.expr_eval import FAILURES, Fn, Scope, equal, message_type
from cinema.model.index import SessionIndex
from recorder.events import KIND_NAMES, NO_PEER, Event, EventKind
from recorder.session.format import FrameType
from recorder.session.reader import SessionReader, Skeleton

__all__ = ["MSG_KINDS", "NAME_KINDS", "EventScope", "EventTable", "reader_of"]

_K = EventKind

#: Kinds whose ``msg`` is the payload of the SEND with the event's ref (SEND: its own data).
MSG_KINDS = frozenset({_K.SEND, _K.RECEIVE, _K.TIMEOUT, _K.INTERCEPT, _K.DELAY, _K.DROP, _K.STATE})
_BEFORE_SEND = frozenset({_K.INTERCEPT, _K.DELAY})
_REASON_KINDS = frozenset({_K.EXIT, _K.CRASH, _K.DROP, _K.RESTART, _K.EXIT_SIGNAL})

#: Payload names that are ``none`` outside these kinds (lets a condition skip other events).
NAME_KINDS: dict[str, frozenset[int]] = {
    "msg": frozenset(int(k) for k in MSG_KINDS),
    "msg_type": frozenset(int(k) for k in MSG_KINDS),
    "state": frozenset({int(_K.STATE)}),
    "prev_state": frozenset({int(_K.STATE)}),
    "trigger": frozenset({int(_K.STATE)}),
    "reason": frozenset(int(k) for k in _REASON_KINDS),
    "changed()": frozenset({int(_K.STATE)}),
}

_UNDEFINED = object()


def reader_of(source: Any) -> SessionReader:
    """The :class:`SessionReader` behind a model ``Session`` (or the reader itself)."""
    reader = getattr(source, "reader", source)
    if not isinstance(reader, SessionReader):
        raise TypeError(f"expected a Session or a SessionReader, got {type(source).__name__}")
    return reader


class EventTable:
    """Columns and indexes of one session for evaluating conditions (grows with live sessions).

    Use :meth:`of` to share one table per reader.
    """

    def __init__(self, reader: SessionReader) -> None:
        self.reader = reader
        self._sk: Skeleton | None = None
        self._ref: np.ndarray | None = None
        self.index = SessionIndex.of(reader)

    @classmethod
    def of(cls, source: Any) -> EventTable:
        """The shared table of a Session or SessionReader."""
        reader = reader_of(source)
        table: EventTable | None = reader.derived.get("event_table")  # goes with the reader
        if table is None:
            table = reader.derived["event_table"] = cls(reader)
        return table

    @property
    def n(self) -> int:
        """Events in the session now (a live session grows)."""
        return self.reader.event_count

    def refresh(self) -> int:
        """The number of events now; columns read later include the events appended since."""
        return self.reader.event_count

    @property
    def t0(self) -> int:
        """The timestamp of the first event (0 for an empty session)."""
        return self.reader.t_first if self.reader.event_count else 0

    def _columns(self) -> Skeleton:
        # Loaded on first use, not when the table is made: the first screen of a big session
        # needs a handful of events, not the columns of all of them.
        n = self.reader.event_count
        sk = self._sk
        if sk is None or len(sk.kind) != n:
            sk = self._sk = self.reader.skeleton()
            self._ref = None
        return sk

    @property
    def ts(self) -> np.ndarray:
        """Timestamps of every event (the whole column, loaded on first use)."""
        return self._columns().ts

    @property
    def kind(self) -> np.ndarray:
        return self._columns().kind

    @property
    def pid(self) -> np.ndarray:
        return self._columns().pid

    @property
    def peer(self) -> np.ndarray:
        return self._columns().peer

    def columns(self, start: int, stop: int) -> Skeleton:
        """``ts, kind, pid, peer`` of events ``start <= seq < stop`` (from the loaded columns,
        or from just the skeletons of the frames that hold them)."""
        return self.index.activity.window(start, stop)

    def time_of(self, seq: int) -> int:
        """The timestamp of event ``seq``, without loading the whole column."""
        return int(self.columns(seq, seq + 1).ts[0])

    def seq_at_or_before(self, t_ns: float) -> int:
        """The last event at or before ``t_ns`` (``-1`` before the first), reading the frame
        index and at most two frames."""
        n = self.reader.event_count
        if n == 0:
            return -1
        if self._sk is not None and len(self._sk.kind) == n:
            return int(np.searchsorted(self._sk.ts, t_ns, side="right")) - 1
        ft = self.reader.frame_table()
        ev = ft["type"] == FrameType.EVENTS
        firsts, counts, t0s = ft["first_seq"][ev], ft["count"][ev], ft["t_first"][ev]
        k = int(np.searchsorted(t0s, t_ns, side="right")) - 1
        if k < 0:
            return -1
        # timestamps may repeat across a frame boundary: this frame and the next
        lo = int(firsts[k])
        hi = int(firsts[k + 1] + counts[k + 1]) if k + 1 < len(firsts) else n
        ts = self.columns(lo, hi).ts
        return lo + int(np.searchsorted(ts, t_ns, side="right")) - 1

    @property
    def ref(self) -> np.ndarray:
        """The ``ref`` column (loaded on first use)."""
        n = self.n
        if self._ref is None or len(self._ref) != n:
            self._ref = self.reader.refs()[:n]
        return self._ref

    # ------------------------------------------------------------------ names of processes

    def process_name(self, pid: int) -> str | None:
        info = self.reader.processes.get(pid)
        return info.name if info is not None else None

    def behaviour(self, pid: int) -> str | None:
        info = self.reader.processes.get(pid)
        return info.behaviour if info is not None else None

    # ------------------------------------------------------------------ indexes

    def event(self, seq: int) -> Event:
        return self.reader.event(seq)

    def send_of(self, ref: int, before: int | None = None) -> int | None:
        """The seq of the SEND of message ``ref`` before event ``before`` (default: any; None
        when it is not recorded): the index's one SEND lookup."""
        return self.index.send_of(ref, before)

    def prev_state_of(self, seq: int, pid: int) -> int | None:
        """The latest STATE event of ``pid`` strictly before ``seq``."""
        return self.index.prev_state(seq, pid)

    def scope(self, seq: int) -> EventScope:
        return EventScope(self, seq)

    def events_at(self, seqs: np.ndarray) -> Iterator[Event]:
        """Events at ascending ``seqs``, payloads decoded, one frame lookup per frame. A corrupt
        payload raises :class:`recorder.session.format.SessionFormatError` (a condition counts
        it as a failed evaluation)."""
        return self.reader.events_at(seqs)


class EventScope(Scope):
    """The names of one event; payload names decode the event on first use."""

    __slots__ = ("_cache", "_event", "errors", "kind_code", "seq", "table")

    def __init__(self, table: EventTable, seq: int, event: Event | None = None) -> None:
        self.table = table
        self.seq = seq
        self.kind_code = int(table.kind[seq]) if event is None else event.kind
        self._event = event
        self._cache: dict[str, Any] = {}
        self.errors = 0

    def note_error(self) -> None:
        self.errors += 1

    @property
    def event(self) -> Event:
        if self._event is None:
            self._event = self.table.event(self.seq)
        return self._event

    def get(self, name: str) -> Any:
        try:
            return self._cache[name]
        except KeyError:
            value = self._cache[name] = getattr(self, "_n_" + name)()
            return value

    def changed(self, fn: Fn) -> bool:
        if self.kind_code != _K.STATE:
            return False
        prev = self.table.prev_state_of(self.seq, int(self.table.pid[self.seq]))
        if prev is None:
            return False
        before, now = _value(fn, EventScope(self.table, prev)), _value(fn, self)
        if before is _UNDEFINED or now is _UNDEFINED:
            return before is not now
        return not equal(before, now)

    # ------------------------------------------------------------------ the names

    def _n_kind(self) -> str:
        return KIND_NAMES.get(self.kind_code, f"kind{self.kind_code}")

    def _n_pid(self) -> int | None:
        v = int(self.table.pid[self.seq])
        return None if v == NO_PEER else v

    def _n_peer(self) -> int | None:
        v = int(self.table.peer[self.seq])
        return None if v == NO_PEER else v

    def _n_process(self) -> str | None:
        return self.table.process_name(int(self.table.pid[self.seq]))

    def _n_peer_process(self) -> str | None:
        return self.table.process_name(int(self.table.peer[self.seq]))

    def _n_behaviour(self) -> str | None:
        return self.table.behaviour(int(self.table.pid[self.seq]))

    def _n_ref(self) -> int:
        return int(self.table.ref[self.seq])

    def _n_seq(self) -> int:
        return self.seq

    def _n_t(self) -> float:
        return (int(self.table.ts[self.seq]) - self.table.t0) / 1e9

    def _n_data(self) -> Any:
        return self.event.data

    def _n_msg(self) -> Any:
        if self.kind_code == _K.SEND:
            return self.event.data
        if self.kind_code not in MSG_KINDS:
            return None
        # an INTERCEPT or DELAY is recorded before the SEND of the message it holds back
        before = None if self.kind_code in _BEFORE_SEND else self.seq
        send = self.table.send_of(int(self.table.ref[self.seq]), before)
        return None if send is None else self.table.event(send).data

    def _n_msg_type(self) -> str | None:
        if self.kind_code not in MSG_KINDS:
            return None
        msg = self.get("msg")
        return None if msg is None else message_type(msg)

    def _data_key(self, key: str) -> Any:
        data = self.event.data
        return data.get(key) if isinstance(data, dict) else None

    def _n_state(self) -> Any:
        return self._data_key("state") if self.kind_code == _K.STATE else None

    def _n_trigger(self) -> Any:
        return self._data_key("trigger") if self.kind_code == _K.STATE else None

    def _n_prev_state(self) -> Any:
        if self.kind_code != _K.STATE:
            return None
        prev = self.table.prev_state_of(self.seq, int(self.table.pid[self.seq]))
        return None if prev is None else EventScope(self.table, prev).get("state")

    def _n_reason(self) -> Any:
        return self._data_key("reason") if self.kind_code in _REASON_KINDS else None


def _value(fn: Fn, scope: Scope) -> Any:
    try:
        return fn(scope)
    except FAILURES:
        return _UNDEFINED
