"""Replay: build a world from a keyframe, then apply events to it (``docs/world-schema.md``).

Replay is column-driven: kinds, pids, peers and refs come from the event columns, and only the
kinds whose effect depends on their data (SPAWN, RESTART, CHILD_SPEC, REGISTER, UNREGISTER,
PROCESS_FLAG) decode a payload. A SEND's message, a STATE's state, a PROFILE's figures and an
exit reason are kept as :class:`Lazy` references and decoded only when a view shows them, so
replaying past thousands of messages and samples costs no decoding at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeGuard

import numpy as np

from cinema.model._facts import StatusTable, _as_int, _opt_pid
from cinema.model._overlay import Lazy
from cinema.model._proc import ENDED, Proc, sent
from cinema.model._window import Counts, counters, transient_messages
from cinema.model.world import Entry, World
from recorder.events import NO_PID, EventKind

__all__ = ["Replayer"]

_K = EventKind
#: Kinds that create or end processes: RECEIVE counts, the latest STATE and the latest PROFILE
#: of a process are gathered between its own events of these kinds (the overlay), and a
#: message queued and consumed inside a window skips the mailbox unless one of them acts on
#: its receiver in between. Unknown kinds change nothing.
_BREAK = np.zeros(256, dtype=bool)
_BREAK[[_K.SPAWN, _K.EXIT, _K.CRASH]] = True
#: Kinds applied one at a time that touch nothing the overlay gathers: suspension, flags,
#: links, monitors, the registry and supervisors.
_SIDE = np.zeros(256, dtype=bool)
_SIDE[[_K.LINK, _K.UNLINK, _K.MONITOR, _K.DEMONITOR, _K.REGISTER, _K.UNREGISTER, _K.RESTART,
       _K.CHILD_SPEC, _K.SUSPEND, _K.RESUME, _K.PROCESS_FLAG]] = True  # fmt: skip
#: Kinds with a mailbox effect.
_MAILBOX = np.zeros(256, dtype=bool)
_MAILBOX[[_K.SEND, _K.RECEIVE, _K.DROP]] = True
DataFn = Callable[[int], Any]  # seq -> decoded data of that event
#: Windows up to this many events are applied one event at a time (the same rules).
_SMALL_WINDOW = 16


class Replayer:
    """Applies events to a copy of a world; untouched entries stay shared with the original."""

    def __init__(self, base: World, data: DataFn) -> None:
        self.seq = base.seq
        self.time_ns = base.time_ns
        # the entries changed since the keyframe (copied: this replay's own), over the
        # keyframe's, shared and never written (see World)
        self.procs: dict[int, Entry] = dict(base._procs)
        self.kf_procs = base._kf_procs
        self.owned: set[int] = set()
        self.sups: dict[int, Mapping[str, Any]] = dict(base._sups)
        self.sups_owned: set[int] = set()
        self.registry = dict(base._registry)
        self.holders = set(base._holders)
        self.pending_restarts = dict(base._pending_restarts)
        self.overlay = base._overlay.copy()
        self._resolve = base._resolve
        self._names = base._names
        self._data = data
        self._base = base._base
        self._kf_seq = base._kf_seq
        self._history = base._history
        # A table this world's can be updated from, and the pids changed since it: the base's
        # own, else the one the base would be updated from (a checkpoint whose table nobody
        # asked for), else, for a keyframe's world, that world (its table is computed once
        # per keyframe, on first use). None: the table is read whole.
        self._parent_table: StatusTable | World | None = base._table
        self._changed: frozenset[int] = frozenset()
        if self._parent_table is None:
            if base._parent_table is not None:
                self._parent_table, self._changed = base._parent_table
            elif not base._procs and base._base is not None:
                self._parent_table = base

    def world(self) -> World:
        """The world after the events applied so far (the replayer must not be used again)."""
        return World(
            self.seq, self.time_ns, self.procs, self.sups, self.registry,
            frozenset(self.holders), self.pending_restarts, self._resolve, self._names,
            self.overlay, self._base, self._history,
            None
            if self._parent_table is None
            else (self._parent_table, self._changed.union(self.owned)),
            self.kf_procs,
        )  # fmt: skip

    def _entry(self, pid: int) -> Entry | None:
        e = self.procs.get(pid)
        if e is None:
            kf = self.kf_procs.get(pid)
            return None if kf is None else self.kf_procs.entry(kf)
        return e

    def _own(self, pid: int) -> Proc | None:
        e = self.procs.get(pid)
        if e is None:
            kf = self.kf_procs.get(pid)
            if kf is None:
                return None
            e = self.kf_procs.entry(kf)
        if pid in self.owned:
            assert isinstance(e, Proc)
            self.overlay.fold(e)
            return e
        p = e.copy() if isinstance(e, Proc) else Proc.from_entry(e, self._kf_seq)
        self.overlay.fold(p)
        self.procs[pid] = p
        self.owned.add(pid)
        return p

    def _alive(self, pid: int) -> Proc | None:
        p = self._own(pid)
        return p if p is not None and p.status not in ENDED else None

    def _is_alive(self, pid: int) -> bool:
        e = self._entry(pid)
        if e is None:
            return False
        status = e.status if isinstance(e, Proc) else e.get("status")
        return status not in ENDED

    def _sup(self, pid: int) -> dict[str, Any]:
        s = self.sups.get(pid)
        if pid in self.sups_owned:
            assert isinstance(s, dict)
            return s
        new: dict[str, Any] = dict(s) if s is not None else {"pid": pid}
        new["children"] = [dict(c) for c in new.get("children") or () if isinstance(c, dict)]
        self.sups[pid] = new
        self.sups_owned.add(pid)
        return new

    # ------------------------------------------------------------------ applying events

    def apply_columns(
        self, start: int, ts: np.ndarray, kind: np.ndarray, pid: np.ndarray,
        peer: np.ndarray, ref: np.ndarray,
    ) -> None:  # fmt: skip
        """Apply events ``start, start + 1, ...`` given as columns.

        The window is applied as a whole: messages queued and consumed inside it skip the
        mailboxes (:func:`~cinema.model._window.transient_messages`); RECEIVE counts and the
        last STATE of each process are summed with numpy between that process's own
        structural events (:func:`~cinema.model._window.counters`); what is left -- the
        mailbox effects of messages that cross the window's edges and every other kind with an
        effect -- is applied one event at a time, in order. Only the processes those touch
        become :class:`Proc` copies.
        """
        n = len(kind)
        if n == 0:
            return
        if n <= _SMALL_WINDOW:  # a step or two: one event at a time beats a dozen numpy calls
            each = zip(kind.tolist(), pid.tolist(), peer.tolist(), ref.tolist(), strict=True)
            for i, (k, p, q, r) in enumerate(each):
                self.apply(start + i, k, p, q, r)
            self.time_ns = int(ts[n - 1])
            return
        breaks = np.flatnonzero(_BREAK[kind])
        transient = transient_messages(kind, pid, peer, ref, breaks)
        due = counters(kind, pid, breaks)
        ordered = np.flatnonzero((_MAILBOX[kind] & ~transient) | _BREAK[kind] | _SIDE[kind])
        rows = zip(
            ordered.tolist(), kind[ordered].tolist(), pid[ordered].tolist(),
            peer[ordered].tolist(), ref[ordered].tolist(), strict=True,
        )  # fmt: skip
        for i, k, p, q, r in rows:
            counts = due.pop(i, None)
            if counts is not None:
                self._count(start, counts)
            if k == _K.RECEIVE:  # its count and status are in ``due``; here only its mailbox
                self._consume(p, r)
            else:
                self.apply(start + i, k, p, q, r)
        counts = due.pop(n, None)
        if counts is not None:
            self._count(start, counts)
        self.seq = start + n - 1
        self.time_ns = int(ts[n - 1])

    def _count(self, start: int, counts: Counts) -> None:
        """Add RECEIVE counts and latest STATEs and PROFILEs (window indices) of distinct
        pids."""
        pids, received, last_state, last_profile = counts
        procs, kf = self.procs, self.kf_procs
        known = np.fromiter(
            (q in procs or q in kf for q in pids.tolist()), dtype=bool, count=len(pids)
        )
        if not known.all():
            pids, received = pids[known], received[known]
            last_state, last_profile = last_state[known], last_profile[known]
        self.overlay.add(
            pids, received, np.where(last_state >= 0, last_state + start, -1),
            np.where(last_profile >= 0, last_profile + start, -1),
        )  # fmt: skip

    def _consume(self, pid: int, ref: int) -> None:
        """The mailbox effect of a RECEIVE (its count and status go through the overlay)."""
        p = self._own(pid)
        if p is not None:
            if ref in p.mailbox:
                del p.own_mailbox()[ref]
            elif p.extra > 0:
                p.extra -= 1

    def apply(self, seq: int, kind: int, pid: int, peer: int, ref: int) -> None:
        """Apply one event (the rules of ``docs/world-schema.md``)."""
        self.seq = seq
        if kind == _K.SEND:
            if self._is_alive(peer):
                p = self._own(peer)
                assert p is not None
                p.own_mailbox()[ref] = sent(seq, pid)
        elif kind == _K.RECEIVE:
            p = self._own(pid)
            if p is not None:
                if ref in p.mailbox:
                    del p.own_mailbox()[ref]
                elif p.extra > 0:
                    p.extra -= 1
                p.handled += 1
        elif kind == _K.STATE:
            p = self._own(pid)
            if p is not None:
                p.state = Lazy(seq, "state")
        elif kind == _K.PROFILE:  # applied with the window's counters by apply_columns
            p = self._own(pid) if pid != NO_PID else None
            if p is not None:
                p.sample = Lazy(seq)
        elif kind == _K.DROP:
            p = self._own(peer)
            if p is not None and ref in p.mailbox:
                del p.own_mailbox()[ref]
        elif kind == _K.SPAWN:
            self._spawn(seq, pid, peer)
        elif kind == _K.EXIT or kind == _K.CRASH:
            self._exit(seq, pid, "dead" if kind == _K.EXIT else "crashed")
        elif kind == _K.LINK or kind == _K.UNLINK:
            a, b = self._own(pid), self._own(peer)
            if kind == _K.LINK:
                if a is not None and b is not None:
                    a.own_links().add(peer)
                    b.own_links().add(pid)
            else:
                if a is not None and peer in a.links:
                    a.own_links().discard(peer)
                if b is not None and pid in b.links:
                    b.own_links().discard(pid)
        elif kind == _K.MONITOR:
            p = self._own(pid)
            if p is not None:
                p.own_monitors()[ref] = peer
                self.holders.add(pid)
        elif kind == _K.DEMONITOR:
            p = self._own(pid)
            if p is not None and ref in p.monitors:
                del p.own_monitors()[ref]
        elif kind == _K.SUSPEND or kind == _K.RESUME:
            p = self._alive(pid)
            if p is not None:
                p.status = "suspended" if kind == _K.SUSPEND else "waiting"
        elif kind == _K.RESTART:
            self._restart(seq, pid, peer)
        elif kind == _K.CHILD_SPEC:
            self._child_spec(seq, pid, peer)
        elif kind == _K.REGISTER or kind == _K.UNREGISTER:
            self._register(seq, pid, kind == _K.REGISTER)
        elif kind == _K.PROCESS_FLAG:
            self._flag(seq, pid)
        # DELAY, INTERCEPT, EXIT_SIGNAL, TIMEOUT, BREAKPOINT, MARKER, LOST: no change.

    def _map(self, seq: int) -> Mapping[str, Any]:
        d = self._data(seq)
        return d if isinstance(d, Mapping) else {}

    def _spawn(self, seq: int, pid: int, peer: int) -> None:
        d = self._map(seq)
        p = Proc(pid, str(d.get("name") or self._names(pid)), str(d.get("behaviour") or "process"))
        p.parent = None if peer == NO_PID else peer
        p.supervisor = _opt_pid(d.get("supervisor"))
        p.restarts = self.pending_restarts.pop(pid, 0)
        p.trap_exit = d.get("trap_exit") is True
        self.overlay.clear(pid)
        self.procs[pid] = p
        self.owned.add(pid)

    def _exit(self, seq: int, pid: int, status: str) -> None:
        p = self._own(pid)
        if p is None:
            return
        p.status = status
        p.reason = Lazy(seq, "reason")
        p.own_mailbox().clear()
        p.extra = 0
        name = p.registered
        if name is not None:
            if self.registry.get(name) == pid:
                del self.registry[name]
            p.registered = None
        for other in p.links:
            q = self._own(other)
            if q is not None and pid in q.links:
                q.own_links().discard(pid)
        p.own_links().clear()
        for holder in list(self.holders):
            e = self._entry(holder)
            if e is None:
                continue
            mons = e.monitors if isinstance(e, Proc) else dict(_pairs(e.get("monitors")))
            if pid in mons.values():
                q = self._own(holder)
                assert q is not None
                mine = q.own_monitors()
                for r in [r for r, t in mine.items() if t == pid]:
                    del mine[r]
        p.own_monitors().clear()

    def _restart(self, seq: int, pid: int, peer: int) -> None:
        d = self._map(seq)
        child_id = d.get("child_id")
        new_pid = None if peer == NO_PID else peer
        sup = self._sup(pid)
        for c in sup["children"]:
            if c.get("id") == child_id:
                c["pid"] = new_pid
                break
        restarts = d.get("restarts")
        if new_pid is not None and _fits_count(restarts):
            p = self._own(new_pid)
            if p is not None:
                p.restarts = restarts
            else:
                self.pending_restarts[new_pid] = restarts

    def _child_spec(self, seq: int, pid: int, peer: int) -> None:
        d = self._map(seq)
        op, child_id = d.get("op"), d.get("child_id")
        spec = d.get("spec") if isinstance(d.get("spec"), Mapping) else {}
        assert isinstance(spec, Mapping)
        sup = self._sup(pid)
        if op == "init":  # the supervisor announces itself: its flags, no slot yet
            for key in ("strategy", "max_restarts", "max_seconds"):
                if key in d:
                    sup[key] = d[key]
            return
        children: list[dict[str, Any]] = sup["children"]
        idx = next((i for i, c in enumerate(children) if c.get("id") == child_id), None)
        if op == "remove":
            if idx is not None:
                del children[idx]
            return
        default = {"id": child_id, "pid": None, "restart": "permanent", "type": "worker"}
        row = children[idx] if idx is not None else default
        for key in ("restart", "type"):
            if key in spec:
                row[key] = spec[key]
        if peer != NO_PID:
            row["pid"] = peer
        if idx is None:
            children.append(row)

    def _register(self, seq: int, pid: int, register: bool) -> None:
        name = self._map(seq).get("name")
        if not isinstance(name, str):
            return
        p = self._own(pid)
        if register:
            self.registry[name] = pid
            if p is not None:
                p.registered = name
        else:
            if self.registry.get(name) == pid:
                del self.registry[name]
            if p is not None and p.registered == name:
                p.registered = None

    def _flag(self, seq: int, pid: int) -> None:
        d = self._map(seq)
        if d.get("flag") == "trap_exit":
            p = self._own(pid)
            if p is not None:
                p.trap_exit = d.get("value") is True


def _fits_count(v: Any) -> TypeGuard[int]:
    """A count from event data: an int that fits the int64 columns views build (a crafted
    file may say 2^80)."""
    return type(v) is int and 0 <= v < 1 << 63


def _pairs(rows: Any) -> list[tuple[int, int]]:
    out = []
    for row in rows or ():
        if isinstance(row, (list, tuple)) and len(row) >= 2:
            out.append((_as_int(row[0]), _as_int(row[1])))
    return out
