"""The world at one moment of a session: every process, its status, state, mailbox and links.

``session.world_at(seq)`` is the state *after* applying event ``seq`` (so ``world_at(0)`` has
seen the first event; ``world_at(-1)`` is the empty world before any event). A keyframe at
``S`` therefore equals ``world_at(S - 1)``. The world is defined in ``docs/world-schema.md``,
field by field, as a function of the events alone; :mod:`cinema.model._replay` applies it, and
every path to a moment (keyframe, replay from event 0, a cached world) gives the same world.

A :class:`World` is an immutable snapshot. Internally it holds the process entries replay made
or changed since its keyframe (copy-on-write: shared with the world it was derived from until
changed), over the keyframe's entries, one dict per keyframe shared by every world replayed
from it. Keyframe entries are row numbers of the keyframe's tables (:class:`KfEntries`) until
something reads one, so deriving a world costs only what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from cinema.model._facts import (
    STATUSES,
    KeyframeFacts,
    StatusTable,
    keyframe_table,
    status_table,
    updated_table,
)
from cinema.model._overlay import EMPTY_OVERLAY, Lazy, Overlay
from cinema.model._proc import ALIVE, ENDED, Proc, mailbox_entry

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
    """One process as it was at a moment (alive, or ended with its last values). Pids are plain
    integers; ``None`` means "none". Every field follows ``docs/world-schema.md``."""

    pid: int
    name: str
    behaviour: str
    status: str
    """One of :data:`STATUSES`: ``running`` (alive, messages queued), ``waiting`` (alive, an
    empty mailbox), ``suspended``, ``dead``, ``crashed``."""
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
    """CPU time in its handlers, as of its latest PROFILE sample."""
    memory: int
    """Estimated bytes it holds, as of its latest PROFILE sample."""
    trap_exit: bool
    exit_reason: Any = None
    """Why it ended (the EXIT / CRASH reason, decoded); ``None`` while alive."""

    @property
    def alive(self) -> bool:
        return self.status not in ENDED


@dataclass(frozen=True, slots=True)
class SupervisorView:
    """A live supervisor's configuration and child slots (``children`` rows: id, pid, restart,
    type; a slot's pid is ``None`` while that child is not alive). ``strategy`` and the
    intensity are ``None`` when the recording never told them (files recorded before the
    CHILD_SPEC ``init`` event)."""

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


Entry = Proc | Mapping[str, Any]  # a Proc, or a keyframe entry not converted yet
Resolver = Callable[[Any], Any]  # turns a Lazy into its value (identity for anything else)
Namer = Callable[[int], str]
#: ``history(pid, anchor_id, kf_seq, seq)``: the mailbox of ``pid`` after event ``seq``, from
#: the events since the SEND of message ``anchor_id`` (the oldest a keyframe at ``kf_seq``
#: listed for it), as ``[(msg_id, sender, message)]``; ``None`` when the file lacks that SEND.
History = Callable[[int, int, int, int], "list[tuple[int, int, Any]] | None"]


class KfEntries(dict[int, Any]):
    """A keyframe's ``pid -> entry``: row ``i`` of its process table (``i >= 0``) or of its
    ``dead`` table (``~i``), or a mapping (older layouts, worlds built by hand). Ints, not
    rows: a seek reads a few hundred of the thousands of rows, and a dict of ints alone is
    none of the garbage collector's business. :meth:`entry` makes the row of a number."""

    __slots__ = ("tables",)

    def __init__(self, tables: tuple[Sequence[Mapping[str, Any]], ...] = ((), ())) -> None:
        super().__init__()
        self.tables = tables  # (processes, dead)

    def entry(self, e: Any) -> Entry:
        """The entry ``e`` stands for (a row made from its number)."""
        if type(e) is int:
            return self.tables[0][e] if e >= 0 else self.tables[1][~e]
        return e  # type: ignore[no-any-return]


_NO_ENTRIES = KfEntries()


class World:
    """The world after event :attr:`seq`. Build it with ``Session.world_at``; never mutate it.

    Attributes:
        seq: the last event applied (``-1``: before any event).
        time_ns: the timestamp of event :attr:`seq` (the keyframe's clock at ``-1``).
    """

    __slots__ = (
        "_base", "_history", "_holders", "_kf_procs", "_kf_seq", "_names", "_overlay",
        "_parent_table",
        "_pending_restarts", "_procs", "_registry", "_resolve", "_sups", "_table", "_views",
        "seq", "time_ns",
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
        history: History | None = None,
        parent_table: tuple[StatusTable | World, frozenset[int]] | None = None,
        kf_procs: KfEntries | None = None,
    ) -> None:
        self.seq = seq
        self.time_ns = time_ns
        # The entries replay made or changed since the keyframe (every entry of a world built
        # without one), over the keyframe's own entries: ``kf_procs``, the one dict of a
        # keyframe that every world replayed from it shares, never changed (a pid in
        # ``procs`` hides its keyframe entry). A cached world holds only what it changed: a
        # dict of thousands of entries per world was most of what the garbage collector
        # walked on a full pass, and copied on every replay window.
        self._procs = procs
        self._kf_procs = kf_procs if kf_procs is not None else _NO_ENTRIES
        self._sups = sups
        self._registry = registry
        self._holders = holders  # pids holding at least one monitor (EXIT scans only these)
        self._pending_restarts = pending_restarts  # RESTART seen before the new child's SPAWN
        self._resolve = resolve
        self._names = names
        self._overlay = overlay
        self._views: dict[int, ProcessView] = {}
        self._base = base  # the facts of the keyframe whose entries this world still holds
        self._kf_seq = base.seq if base is not None else -1
        self._history = history  # completes mailboxes a keyframe listed only the start of
        self._table: StatusTable | None = None
        # the table of the world this one was replayed from and the pids replay changed
        self._parent_table = parent_table

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
        p = self.unresolved(pid)
        if p is None:
            return None
        view = self._view(p)
        self._views[pid] = view
        return view

    def unresolved(self, pid: int) -> Proc | None:
        """The process ``pid`` as a private :class:`~cinema.model._proc.Proc` whose payload
        values are still references (:class:`Lazy`, keyframe values), or ``None``: what an
        export copies as encoded bytes without decoding a state (the caller owns the copy)."""
        e = self._entry(pid)
        if e is None:
            return None
        p = e.copy() if isinstance(e, Proc) else Proc.from_entry(e, self._kf_seq)
        ov = self._overlay
        p.handled += ov.handled_of(pid)
        state = ov.state_of(pid)
        if state is not None:
            p.state = state
        sample = ov.profile_of(pid)
        if sample >= 0:
            p.sample = Lazy(sample)
        return p

    @property
    def keyframe_seq(self) -> int:
        """The keyframe whose decoded entries this world may still hold (``-1``: none): the
        world was made from it, or replayed from one that was."""
        return self._kf_seq

    def pids(self) -> list[int]:
        """Every pid of :attr:`processes` (no view built)."""
        return sorted(self._pid_set())

    def _entry(self, pid: int) -> Entry | None:
        e = self._procs.get(pid)
        if e is None:
            kf = self._kf_procs.get(pid)
            return None if kf is None else self._kf_procs.entry(kf)
        return e

    def _pid_set(self) -> Collection[int]:
        kf = self._kf_procs
        return kf.keys() | self._procs.keys() if kf else self._procs.keys()

    def _entries(self) -> Mapping[int, Any]:
        """``pid -> entry`` of every process, keyframe ones as :class:`KfEntries` holds them
        (a new dict when the world has keyframe entries)."""
        kf = self._kf_procs
        return {**kf, **self._procs} if kf else self._procs

    def process_name(self, pid: int) -> str:
        """The session's name of ``pid`` (what a view shows for a process never named)."""
        return self._names(pid)

    def resolve(self, v: Any) -> Any:
        """A payload reference of :meth:`unresolved` decoded (other values as they are)."""
        return self._resolve(v)

    def status_table(self) -> StatusTable:
        """Status, mailbox length, restarts and supervisor of every process (dead ones too),
        as pid-ordered arrays: what a view of thousands of processes needs, without building
        their :class:`ProcessView` s or decoding a single state (a few ms for 5,000)."""
        if self._table is None:
            parent = self._parent_table
            if parent is not None:
                table = parent[0]
                if not isinstance(table, StatusTable):  # the keyframe's world (see Replayer)
                    table = table.status_table()
                self._table = updated_table(table, self._procs, parent[1])
                self._parent_table = None
            elif not self._procs and self._base is not None and self._kf_procs:
                self._table = keyframe_table(self._base)  # a keyframe's world
            else:
                self._table = status_table(self._entries(), self._base)
        return self._table

    def alive(self) -> list[int]:
        """Pids of the processes alive at this moment, in pid order."""
        t = self.status_table()
        return t.pid[t.alive].tolist()  # type: ignore[no-any-return]

    def _is_alive(self, pid: int) -> bool:
        e = self._entry(pid)
        if e is None:
            return False
        status = e.status if isinstance(e, Proc) else e.get("status")
        return status not in ENDED

    def _view(self, p: Proc) -> ProcessView:
        r = self._resolve
        rows: Any = None
        if p.extra and p.anchor >= 0 and self._history is not None:
            # a keyframe listed only the first messages: the rest come from the events
            rows = self._history(p.pid, p.anchor, self._kf_seq, self.seq)
        if rows is None:
            rows = [(mid, *mailbox_entry(v)) for mid, v in p.mailbox.items()]
            mailbox_len = len(rows) + p.extra
        else:
            mailbox_len = len(rows)
        mailbox = tuple(MailboxMessage(mid, s, r(m)) for mid, s, m in rows)
        status = p.status
        if status == ALIVE and mailbox_len:
            status = "running"
        cpu_ns, memory = p.cpu_ns, p.memory
        if p.sample is not None:  # the latest PROFILE: its figures (0 for one it lacks)
            d = r(p.sample)
            cpu_ns, memory = (
                (_count(d.get("cpu_ns")), _count(d.get("memory")))
                if isinstance(d, dict)
                else (0, 0)
            )
        return ProcessView(
            pid=p.pid,
            name=p.name or self._names(p.pid),
            behaviour=p.behaviour,
            status=status,
            parent=p.parent,
            supervisor=p.supervisor,
            registered=p.registered,
            state=r(p.state),
            mailbox=mailbox,
            mailbox_len=mailbox_len,
            links=tuple(sorted(p.links)),
            monitors=tuple(sorted(p.monitors.items())),
            restarts=p.restarts,
            handled=p.handled,
            cpu_ns=cpu_ns,
            memory=memory,
            trap_exit=p.trap_exit,
            exit_reason=None if p.alive else r(p.reason),
        )

    # ------------------------------------------------------------------ registry & supervision

    @property
    def registry(self) -> Mapping[str, int]:
        """Registered names: name -> pid."""
        return dict(self._registry)

    @property
    def supervisors(self) -> Mapping[int, SupervisorView]:
        """The live supervisors the recording announced: pid -> :class:`SupervisorView`."""
        out: dict[int, SupervisorView] = {}
        alive = self._is_alive
        for pid, s in self._sups.items():
            if not alive(pid):
                continue
            mr, ms = s.get("max_restarts"), s.get("max_seconds")
            children = []
            for c in s.get("children") or ():
                if isinstance(c, Mapping):
                    row = dict(c)
                    child = row.get("pid")
                    if child is not None and not (type(child) is int and alive(child)):
                        row["pid"] = None  # a slot names its child only while it lives
                    children.append(row)
            strategy = s.get("strategy")
            out[pid] = SupervisorView(
                pid,
                strategy if isinstance(strategy, str) else None,
                mr if type(mr) is int else None,
                float(ms) if isinstance(ms, (int, float)) and not isinstance(ms, bool) else None,
                tuple(children),
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
        return f"<World after event {self.seq}: {len(self._pid_set())} processes>"


def _count(v: Any) -> int:
    """A counter read from a PROFILE sample (0 when the sample has no such figure, or one
    that does not fit an int64: a crafted file may say 2^80)."""
    return v if type(v) is int and 0 <= v < 1 << 63 else 0


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
        return iter(self._world.pids())

    def __len__(self) -> int:
        return len(self._world._pid_set())

    def __contains__(self, pid: object) -> bool:
        w = self._world
        return pid in w._procs or pid in w._kf_procs
