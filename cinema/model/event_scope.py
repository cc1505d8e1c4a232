"""Per-event name bindings for expressions, backed by a session's columns.

:class:`EventTable` holds what evaluating conditions over a session needs: the skeleton columns
(``ts, kind, pid, peer``), the ``ref`` column (loaded on first use), process names, the index
from a message id to its SEND event (for ``msg``) and from a state event to the same process's
previous state event (for ``prev_state`` and ``changed()``). :class:`EventScope` binds the names
of :data:`cinema.model.expr.NAMES` for one event, decoding its payload only when a payload name
is read.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np

from cinema.model.expr_eval import FAILURES, Fn, Scope, equal, message_type
from recorder.events import KIND_NAMES, NO_PEER, Event, EventKind
from recorder.session.reader import SessionReader

__all__ = ["MSG_KINDS", "NAME_KINDS", "EventScope", "EventTable", "reader_of"]

_K = EventKind

#: Kinds whose ``msg`` is the payload of the SEND with the event's ref (SEND: its own data).
MSG_KINDS = frozenset({_K.SEND, _K.RECEIVE, _K.TIMEOUT, _K.INTERCEPT, _K.DELAY, _K.DROP, _K.STATE})
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


_TABLES: weakref.WeakKeyDictionary[SessionReader, EventTable] = weakref.WeakKeyDictionary()


class EventTable:
    """Columns and indexes of one session for evaluating conditions (grows with live sessions).

    Use :meth:`of` to share one table per reader.
    """

    def __init__(self, reader: SessionReader) -> None:
        self.reader = reader
        self.n = 0
        empty = np.empty(0, dtype=np.int64)
        self.ts: np.ndarray = empty
        self.kind: np.ndarray = empty.astype(np.uint8)
        self.pid: np.ndarray = empty.astype(np.uint32)
        self.peer: np.ndarray = empty.astype(np.uint32)
        self.t0 = 0
        self._ref: np.ndarray | None = None
        self._sends: tuple[int, np.ndarray, np.ndarray] | None = None  # (n, sorted refs, seqs)
        self._states: tuple[int, dict[int, np.ndarray]] | None = None  # (n, pid -> seqs)
        self.refresh()

    @classmethod
    def of(cls, source: Any) -> EventTable:
        """The shared table of a Session or SessionReader, refreshed to its current length."""
        reader = reader_of(source)
        table = _TABLES.get(reader)
        if table is None:
            table = _TABLES[reader] = cls(reader)
        else:
            table.refresh()
        return table

    def refresh(self) -> int:
        """Pick up events appended since the last call (live sessions); return the count."""
        if self.reader.event_count != self.n or self.n == 0:
            sk = self.reader.skeleton()
            self.ts, self.kind, self.pid, self.peer = sk.ts, sk.kind, sk.pid, sk.peer
            self.n = len(self.kind)
            self.t0 = int(self.ts[0]) if self.n else 0
            self._ref = None
        return self.n

    @property
    def ref(self) -> np.ndarray:
        """The ``ref`` column (loaded on first use)."""
        if self._ref is None or len(self._ref) < self.n:
            self._ref = self.reader.refs()[: self.n]
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

    def send_of(self, ref: int) -> int | None:
        """The seq of the SEND event of message ``ref`` (None when it is not recorded)."""
        if ref == 0:
            return None
        if self._sends is None or self._sends[0] != self.n:
            seqs = np.flatnonzero(self.kind == _K.SEND)
            refs = self.ref[seqs]
            order = np.argsort(refs, kind="stable")
            self._sends = (self.n, refs[order], seqs[order])
        _, refs, seqs = self._sends
        i = int(np.searchsorted(refs, ref))
        if i < len(refs) and int(refs[i]) == ref:
            return int(seqs[i])
        return None

    def prev_state_of(self, seq: int, pid: int) -> int | None:
        """The latest STATE event of ``pid`` strictly before ``seq``."""
        if self._states is None or self._states[0] != self.n:
            seqs = np.flatnonzero(self.kind == _K.STATE)
            pids = self.pid[seqs]
            order = np.argsort(pids, kind="stable")  # stable: seqs stay ascending per pid
            pids, seqs = pids[order], seqs[order]
            cuts = np.flatnonzero(np.diff(pids)) + 1
            groups = {
                int(g[0]): s
                for g, s in zip(np.split(pids, cuts), np.split(seqs, cuts), strict=True)
                if len(g)
            }
            self._states = (self.n, groups)
        group = self._states[1].get(pid)
        if group is None:
            return None
        i = int(np.searchsorted(group, seq)) - 1
        return int(group[i]) if i >= 0 else None

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
        send = self.table.send_of(int(self.table.ref[self.seq]))
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
