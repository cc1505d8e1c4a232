"""The world at one moment of a session: every process, its status, state, mailbox and links.

``session.world_at(seq)`` is the state *after* applying event ``seq`` (so ``world_at(0)`` has
seen the first event; ``world_at(-1)`` is the empty world before any event). A keyframe at
``S`` therefore equals ``world_at(S - 1)``. How each event kind changes the world is the table
in ``docs/world-schema.md``; :mod:`cinema.model._replay` applies it.

A :class:`World` is an immutable snapshot. Internally it shares unchanged process entries with
the world it was derived from (copy-on-write), and keyframe entries stay in their decoded form
until a view asks for them, so deriving a world costs only what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from cinema.model._facts import (
    STATUSES,
    KeyframeFacts,
    StatusTable,
    _as_int,
    _opt_pid,
    status_table,
)
from cinema.model._overlay import EMPTY_OVERLAY, Overlay
from recorder.session.keyframes import ProcessRow

__all__ = [
    "STATUSES",
    "MailboxMessage",
    "ProcessView",
    "StatusTable",
    "SupervisionTree",
    "SupervisorView",
    "World",
]


class MailboxMessage(NamedTuple):
    """One queued message: its id (the SEND's ``ref``), its sender pid and the message."""

    msg_id: int
    sender: int
    message: Any


@dataclass(frozen=True, slots=True)
class ProcessView:
    """One process as it was at a moment. Pids are plain integers; ``None`` means "none"."""

    pid: int
    name: str
    behaviour: str
    status: str
    """One of :data:`STATUSES`."""
    parent: int | None
    supervisor: int | None
    registered: str | None
    state: Any
    """The GenServer state (``None`` for plain processes), a decoded payload value."""
    mailbox: tuple[MailboxMessage, ...]
    """Queued messages, oldest first. After a keyframe that kept only the first 100, the
    messages beyond those are counted in :attr:`mailbox_len` but not listed."""
    mailbox_len: int
    links: tuple[int, ...]
    monitors: tuple[tuple[int, int], ...]
    """``(ref, target pid)`` of each monitor this process holds."""
    restarts: int
    handled: int
    cpu_ns: int
    memory: int
    trap_exit: bool

    @property
    def alive(self) -> bool:
        return self.status not in ("dead", "crashed")


@dataclass(frozen=True, slots=True)
class SupervisorView:
    """A supervisor's configuration and child slots (``children`` rows: id, pid, restart,
    type). ``strategy`` and the intensity are ``None`` when no keyframe told them."""

    pid: int
    strategy: str | None
    max_restarts: int | None
    max_seconds: float | None
    children: tuple[Mapping[str, Any], ...]


class SupervisionTree(NamedTuple):
    """Live processes by supervisor: ``children[sup]`` in pid order, ``roots`` have none."""

    roots: tuple[int, ...]
    children: Mapping[int, tuple[int, ...]]

    def walk(self) -> Iterator[tuple[int, int]]:
        """``(depth, pid)`` in depth-first order from the roots."""
        stack = [(0, r) for r in reversed(self.roots)]
        while stack:
            depth, pid = stack.pop()
            yield depth, pid
            stack.extend((depth + 1, c) for c in reversed(self.children.get(pid, ())))


class KfLazy(NamedTuple):
    """A keyframe value not decoded yet: ``row[key]``, or the message of mailbox row ``item``."""

    row: Mapping[str, Any]
    key: str
    item: int = -1

    def value(self) -> Any:
        v = self.row.get(self.key)
        if self.item < 0:
            return v
        if isinstance(v, (list, tuple)) and self.item < len(v):
            row = v[self.item]
            return row[2] if isinstance(row, (list, tuple)) and len(row) >= 3 else None
        return None


class Proc:
    """The mutable working form of one process, owned by exactly one world while replaying."""

    __slots__ = (
        "behaviour", "cpu_ns", "extra", "handled", "links", "mailbox", "memory", "monitors",
        "name", "parent", "pid", "registered", "restarts", "state", "status", "supervisor",
        "trap_exit",
    )  # fmt: skip

    def __init__(self, pid: int, name: str = "", behaviour: str = "process") -> None:
        self.pid = pid
        self.name = name
        self.behaviour = behaviour
        self.status = "waiting"
        self.parent: int | None = None
        self.supervisor: int | None = None
        self.registered: str | None = None
        self.trap_exit = False
        self.state: Any = None
        self.mailbox: dict[int, tuple[int, Any]] = {}  # msg_id -> (sender, message | Lazy)
        self.extra = 0  # queued messages a keyframe counted but did not list
        self.links: set[int] = set()
        self.monitors: dict[int, int] = {}  # ref -> target
        self.restarts = 0
        self.handled = 0
        self.cpu_ns = 0
        self.memory = 0

    def copy(self) -> Proc:
        # Spelled out: a loop over __slots__ with getattr / setattr costs 3x more, and replay
        # copies a process each time a world derived from another first changes it.
        p = Proc.__new__(Proc)
        p.pid, p.name, p.behaviour, p.status = self.pid, self.name, self.behaviour, self.status
        p.parent, p.supervisor, p.registered = self.parent, self.supervisor, self.registered
        p.trap_exit, p.state, p.extra = self.trap_exit, self.state, self.extra
        p.restarts, p.handled, p.cpu_ns, p.memory = (
            self.restarts, self.handled, self.cpu_ns, self.memory
        )  # fmt: skip
        p.mailbox = dict(self.mailbox)
        p.links = set(self.links)
        p.monitors = dict(self.monitors)
        return p

    @staticmethod
    def from_entry(e: Mapping[str, Any]) -> Proc:
        """Build from a keyframe ``ProcessEntry`` (or a ``dead`` row turned into a map).

        Values of the wrong type (a corrupt or foreign keyframe) fall back to defaults.
        """
        lazy_row = type(e) is ProcessRow
        get = e.plain().get if isinstance(e, ProcessRow) else e.get
        p = Proc.__new__(Proc)
        p.pid = _as_int(get("pid"))
        name, behaviour, status = get("name"), get("behaviour"), get("status")
        p.name = name if type(name) is str else ""
        p.behaviour = behaviour if type(behaviour) is str else "process"
        p.status = status if status in STATUSES else "waiting"
        p.parent = _opt_pid(get("parent"))
        p.supervisor = _opt_pid(get("supervisor"))
        reg = get("registered")
        p.registered = reg if type(reg) is str else None
        p.trap_exit = get("trap_exit") is True
        p.state = KfLazy(e, "state") if lazy_row else get("state")
        p.mailbox = {}
        ids = get("mailbox_ids") if lazy_row else None
        if isinstance(ids, list):
            for i, row in enumerate(ids):
                if isinstance(row, list) and len(row) >= 2:
                    p.mailbox[_as_int(row[0])] = (_as_int(row[1]), KfLazy(e, "mailbox", i))
        elif rows := get("mailbox"):
            for row in rows:
                if isinstance(row, (list, tuple)) and len(row) >= 3:
                    p.mailbox[_as_int(row[0])] = (_as_int(row[1]), row[2])
        mlen = get("mailbox_len")
        p.extra = max(0, mlen - len(p.mailbox)) if type(mlen) is int else 0
        links = get("links")
        p.links = {_as_int(x) for x in links} if links else set()
        p.monitors = {}
        mons = get("monitors")
        if mons:
            for row in mons:
                if isinstance(row, (list, tuple)) and len(row) >= 2:
                    p.monitors[_as_int(row[0])] = _as_int(row[1])
        v = get("restarts")
        p.restarts = v if type(v) is int else 0
        v = get("handled")
        p.handled = v if type(v) is int else 0
        v = get("cpu_ns")
        p.cpu_ns = v if type(v) is int else 0
        v = get("memory")
        p.memory = v if type(v) is int else 0
        return p


Entry = Proc | Mapping[str, Any]  # a Proc, or a keyframe entry not converted yet
Resolver = Callable[[Any], Any]  # turns a Lazy into its value (identity for anything else)
Namer = Callable[[int], str]


class World:
    """The world after event :attr:`seq`. Build it with ``Session.world_at``; never mutate it.

    Attributes:
        seq: the last event applied (``-1``: before any event).
        time_ns: the timestamp of event :attr:`seq` (the keyframe's clock at ``-1``).
    """

    __slots__ = (
        "_base", "_holders", "_names", "_overlay", "_pending_restarts", "_procs", "_registry",
        "_resolve", "_sups", "_table", "_views", "seq", "time_ns",
    )  # fmt: skip

    def __init__(
        self,
        seq: int,
        time_ns: int,
        procs: dict[int, Entry],
        sups: dict[int, Mapping[str, Any]],
        registry: dict[str, int],
        holders: frozenset[int],
        pending_restarts: Mapping[int, int],
        resolve: Resolver,
        names: Namer,
        overlay: Overlay = EMPTY_OVERLAY,
        base: KeyframeFacts | None = None,
    ) -> None:
        self.seq = seq
        self.time_ns = time_ns
        self._procs = procs
        self._sups = sups
        self._registry = registry
        self._holders = holders  # pids holding at least one monitor (EXIT scans only these)
        self._pending_restarts = pending_restarts  # RESTART seen before the new child's SPAWN
        self._resolve = resolve
        self._names = names
        self._overlay = overlay
        self._views: dict[int, ProcessView] = {}
        self._base = base  # the facts of the keyframe whose entries this world still holds
        self._table: StatusTable | None = None

    # ------------------------------------------------------------------ processes

    @property
    def processes(self) -> Mapping[int, ProcessView]:
        """Every process known at this moment, dead ones included (status dead / crashed).

        A read-only mapping pid -> :class:`ProcessView`; views are built when first read.
        """
        return _ProcessMap(self)

    def process(self, pid: int) -> ProcessView | None:
        """The process ``pid``, or ``None`` when it does not exist (yet) at this moment."""
        view = self._views.get(pid)
        if view is not None:
            return view
        e = self._procs.get(pid)
        if e is None:
            return None
        p = e.copy() if isinstance(e, Proc) else Proc.from_entry(e)
        ov = self._overlay
        p.handled += ov.handled_of(pid)
        state = ov.state_of(pid)
        if state is not None:
            p.state = state
        if ov.is_running(pid):
            p.status = "running"
        view = self._view(p)
        self._views[pid] = view
        return view

    def status_table(self) -> StatusTable:
        """Status, mailbox length, restarts and supervisor of every process (dead ones too),
        as pid-ordered arrays: what a view of thousands of processes needs, without building
        their :class:`ProcessView` s or decoding a single state (a few ms for 5,000)."""
        if self._table is None:
            self._table = status_table(self._procs, self._base, self._overlay.running)
        return self._table

    def alive(self) -> list[int]:
        """Pids of the processes alive at this moment, in pid order."""
        t = self.status_table()
        return t.pid[t.alive].tolist()  # type: ignore[no-any-return]

    def _view(self, p: Proc) -> ProcessView:
        r = self._resolve
        return ProcessView(
            pid=p.pid,
            name=p.name or self._names(p.pid),
            behaviour=p.behaviour,
            status=p.status,
            parent=p.parent,
            supervisor=p.supervisor,
            registered=p.registered,
            state=r(p.state),
            mailbox=tuple(MailboxMessage(mid, s, r(m)) for mid, (s, m) in p.mailbox.items()),
            mailbox_len=len(p.mailbox) + p.extra,
            links=tuple(sorted(p.links)),
            monitors=tuple(sorted(p.monitors.items())),
            restarts=p.restarts,
            handled=p.handled,
            cpu_ns=p.cpu_ns,
            memory=p.memory,
            trap_exit=p.trap_exit,
        )

    # ------------------------------------------------------------------ registry & supervision

    @property
    def registry(self) -> Mapping[str, int]:
        """Registered names: name -> pid."""
        return dict(self._registry)

    @property
    def supervisors(self) -> Mapping[int, SupervisorView]:
        """The supervisors whose configuration is known: pid -> :class:`SupervisorView`."""
        out: dict[int, SupervisorView] = {}
        for pid, s in self._sups.items():
            mr, ms = s.get("max_restarts"), s.get("max_seconds")
            out[pid] = SupervisorView(
                pid,
                s.get("strategy") if isinstance(s.get("strategy"), str) else None,
                mr if isinstance(mr, int) else None,
                float(ms) if isinstance(ms, (int, float)) else None,
                tuple(dict(c) for c in s.get("children") or () if isinstance(c, Mapping)),
            )
        return out

    def supervision_tree(self) -> SupervisionTree:
        """Live processes arranged by their supervisor (a process whose supervisor is gone, or
        that has none, is a root)."""
        t = self.status_table()
        live = t.alive
        pid, sup = t.pid[live], t.supervisor[live]
        at = np.searchsorted(pid, sup)
        has = (sup >= 0) & (sup != pid) & (at < len(pid))
        has[has] = pid[at[has]] == sup[has]
        roots = tuple(pid[~has].tolist())
        children: dict[int, tuple[int, ...]] = {}
        kids, parents = pid[has], sup[has]
        if len(kids):  # grouped by supervisor, each group in pid order
            order = np.argsort(parents, kind="stable")
            kids, parents = kids[order], parents[order]
            starts = np.flatnonzero(np.r_[True, parents[1:] != parents[:-1]])
            ends = np.r_[starts[1:], len(kids)].tolist()
            kid_list, firsts = kids.tolist(), starts.tolist()
            for i in np.argsort(kids[starts]).tolist():  # supervisors by their first child
                children[int(parents[firsts[i]])] = tuple(kid_list[firsts[i] : ends[i]])
        return SupervisionTree(roots, children)

    def __repr__(self) -> str:
        return f"<World after event {self.seq}: {len(self._procs)} processes>"


class _ProcessMap(Mapping[int, ProcessView]):
    """Read-only pid -> view mapping over a world, building views on demand."""

    __slots__ = ("_world",)

    def __init__(self, world: World) -> None:
        self._world = world

    def __getitem__(self, pid: int) -> ProcessView:
        view = self._world.process(pid)
        if view is None:
            raise KeyError(pid)
        return view

    def __iter__(self) -> Iterator[int]:
        return iter(sorted(self._world._procs))

    def __len__(self) -> int:
        return len(self._world._procs)

    def __contains__(self, pid: object) -> bool:
        return pid in self._world._procs
