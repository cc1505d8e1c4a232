"""The supervision tree as the graph panel draws it: collapsible, with crashed children in their
slots, ordered by slot, searchable (Qt-free).

:meth:`World.supervision_tree` holds the live processes only, so a child vanished at the
moment it crashed and the supervisor's other children shifted when its replacement (a new pid,
sorted last) arrived. Here:

- **slots**: a child's place among its siblings is its *slot*: the first pid that had its name
  under its supervisor (a restarted child keeps its name, so the replacement takes the place of
  the process it replaces, and nothing moves). Children are ordered by slot, then pid;
- **crashed children**: a child that crashed in the last ``recent`` events and whose slot no
  live sibling holds yet is kept in the tree (drawn red) until its replacement arrives;
- **collapsing**: a collapsed supervisor stands for its whole subtree (drawn as one node with
  "+N"). A supervisor is opened when first seen if its whole level of the tree still fits in
  ``budget`` shown nodes, so 10,000 processes under 100 supervisors open as 101 readable
  nodes; that decision and the user's own (:meth:`toggle`, :meth:`reveal`,
  :meth:`expand_all`, :meth:`collapse_all`) are kept as the playhead moves;
- **search**: :meth:`find` matches names and pids, :meth:`reveal` opens the way to a match.

Cost per frame: the live tree (numpy, from the world's status table), then work in proportion
to the *shown* nodes and the supervisors; a collapsed subtree's size is counted by its
supervisors, never leaf by leaf.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cinema.model import StatusTable
from cinema.model.world import STATUSES, SupervisionTree, World

__all__ = ["DisplayTree", "SupervisionView", "natural_key", "slot_keys"]

IntArray = npt.NDArray[np.int64]
_CRASHED = STATUSES.index("crashed")
_RESTARTING = STATUSES.index("restarting")


def natural_key(text: str) -> tuple[object, ...]:
    """Sort key that orders ``worker_2`` before ``worker_10``."""
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", text))


def slot_keys(processes: Mapping[int, object]) -> dict[int, int]:
    """``pid -> slot``: the first pid spawned with the same name under the same supervisor.

    Args:
        processes: pid -> anything with ``name`` and ``supervisor`` (a reader's ProcessInfo).
    """
    first: dict[tuple[object, str], int] = {}
    out: dict[int, int] = {}
    for pid in sorted(processes):
        p = processes[pid]
        key = (getattr(p, "supervisor", None), str(getattr(p, "name", "")))
        out[pid] = first.setdefault(key, pid)
    return out


@dataclass(slots=True)
class DisplayTree:
    """What the panel shows: ``children`` of the shown nodes only, in slot order."""

    roots: tuple[int, ...]
    children: dict[int, tuple[int, ...]]
    hidden: dict[int, int] = field(default_factory=dict)
    """Collapsed supervisors: how many processes their subtree holds (below them)."""
    alarm: set[int] = field(default_factory=set)
    """Collapsed supervisors with a crashed or restarting process inside."""
    kept_crashed: set[int] = field(default_factory=set)
    """Crashed children kept in their slot until replaced."""
    all_children: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    """Children of every supervisor, shown or inside a collapsed one, in slot order."""
    _parent: dict[int, int] | None = None

    @property
    def parent(self) -> dict[int, int]:
        """Every process's supervisor in the tree, shown or not (built when first asked)."""
        if self._parent is None:
            self._parent = {c: s for s, cs in self.all_children.items() for c in cs}
        return self._parent

    def shown(self) -> list[int]:
        """The shown pids, depth first."""
        out: list[int] = []
        stack = list(reversed(self.roots))
        while stack:
            pid = stack.pop()
            out.append(pid)
            stack.extend(reversed(self.children.get(pid, ())))
        return out


class _SlotKeys(dict[int, tuple[int, int]]):
    """``pid -> (slot of pid, pid)``, filled on first look-up."""

    def __init__(self, slot_of: Mapping[int, int]) -> None:
        super().__init__()
        self.slot_of = slot_of

    def __missing__(self, pid: int) -> tuple[int, int]:
        key = self[pid] = (self.slot_of.get(pid, pid), pid)
        return key


class SupervisionView:
    """Collapse state and the shown tree of one session's supervision view.

    Args:
        names: pid -> process name (for search and ordering).
        slot_of: pid -> slot key (see :func:`slot_keys`); missing pids are their own slot.
        crash_seq: pid -> event number of its CRASH.
        crashes: ``crashes(lo, hi)`` -> pid -> its CRASH among events ``lo .. hi`` (instead of
            ``crash_seq``: only the recent crashes are ever looked up).
        budget: at most this many nodes are opened automatically.
        recent: a crashed child stays in its slot this many events at most.
    """

    def __init__(
        self,
        names: Mapping[int, str],
        slot_of: Mapping[int, int] | None = None,
        crash_seq: Mapping[int, int] | None = None,
        *,
        crashes: Callable[[int, int], Mapping[int, int]] | None = None,
        budget: int = 250,
        recent: int = 2000,
    ) -> None:
        self.names = names
        self.slot_of = dict(slot_of or {})
        self.crash_seq = dict(crash_seq or {})
        self.crashes = crashes
        self.budget = budget
        self.recent = recent
        self.collapsed: set[int] = set()  # the user's (and the first view's) choices
        self.expanded: set[int] = set()
        self._order_cache: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        # pid -> (slot, pid), made once per pid: a jump changes most supervisors' children,
        # and a key function called per child was ~3 ms a step (6,000 processes)
        self._sort_key = _SlotKeys(self.slot_of)
        # The last live tree and the arrays it was made of; the last shown tree and what it
        # was decided from (playback moves the playhead a few events at a time: the tree's
        # shape rarely changes, its statuses do).
        self._live: tuple[tuple[bytes, bytes, bytes], SupervisionTree] | None = None
        self._shown: tuple[object, tuple[Any, ...]] | None = None

    # ---------------------------------------------------------------- the tree at a moment

    def tree(self, world: World, seq: int) -> DisplayTree:
        """The shown tree of ``world`` (the world after event ``seq``)."""
        table = world.status_table()
        live = self._live_tree(world, table)
        kept = self._kept_crashed(table, seq, live.children)
        key = (live, tuple(kept.items()), self.budget)
        if self._shown is not None and self._shown[0] == (
            *key,
            frozenset(self.expanded),
            frozenset(self.collapsed),
        ):
            # the same tree, the same decisions: the same shown tree (its alarms are new)
            roots, shown_kids, folded, in_order = self._shown[1]
            tree = DisplayTree(roots, shown_kids, folded, set(), set(kept))
            tree.all_children = in_order
            tree.alarm = self._alarms(table, tree, kept)
            return tree
        children: dict[int, tuple[int, ...]] = dict(live.children)
        for pid, sup in kept.items():
            children[sup] = (*children.get(sup, ()), pid)
        ordered = {s: self._in_slot_order(s, cs) for s, cs in children.items()}
        shown_children: dict[int, tuple[int, ...]] = {}
        hidden: dict[int, int] = {}
        # level by level (breadth first): a supervisor seen for the first time is opened if
        # its whole level still fits in the budget, else the level stays collapsed; the
        # decision is kept (and the user's own choices always win)
        shown = len(live.roots)
        level = [p for p in live.roots if p in ordered]
        while level:
            new = [p for p in level if p not in self.expanded and p not in self.collapsed]
            if new:
                room = shown + sum(len(ordered[p]) for p in level if p not in self.collapsed)
                (self.expanded if room <= self.budget else self.collapsed).update(new)
            below: list[int] = []
            for pid in level:
                cs = ordered[pid]
                if pid in self.collapsed:
                    hidden[pid] = self._subtree_size(pid, ordered)
                else:
                    shown_children[pid] = cs
                    shown += len(cs)
                    below.extend(c for c in cs if c in ordered)  # leaves need no visit
            level = below
        tree = DisplayTree(live.roots, shown_children, hidden, set(), set(kept))
        tree.all_children = ordered
        tree.alarm = self._alarms(table, tree, kept)
        self._shown = (
            (*key, frozenset(self.expanded), frozenset(self.collapsed)),
            (live.roots, shown_children, hidden, ordered),
        )
        return tree

    def _live_tree(self, world: World, table: StatusTable) -> SupervisionTree:
        """``world.supervision_tree()``, the last one again when the processes, their
        supervisors and who is alive are the same (compared as bytes: ~20 us for 10,000)."""
        key = (table.pid.tobytes(), table.supervisor.tobytes(), table.alive.tobytes())
        if self._live is not None and self._live[0] == key:
            return self._live[1]
        live = world.supervision_tree()
        self._live = (key, live)
        return live

    def _in_slot_order(self, sup: int, kids: tuple[int, ...]) -> tuple[int, ...]:
        """``kids`` ordered by slot, then pid (cached: the same children come every frame)."""
        hit = self._order_cache.get(sup)
        if hit is not None and hit[0] == kids:
            return hit[1]
        ordered = tuple(sorted(kids, key=self._sort_key.__getitem__))
        self._order_cache[sup] = (kids, ordered)
        return ordered

    def _kept_crashed(
        self, table: StatusTable, seq: int, children: Mapping[int, Sequence[int]]
    ) -> dict[int, int]:
        """Crashed children to keep: ``pid -> supervisor`` (a live one)."""
        rows = np.flatnonzero(table.status == _CRASHED)
        if not len(rows):
            return {}
        sups = table.supervisor[rows]
        sup_rows = table.rows_of(sups)
        sup_alive = (sup_rows >= 0) & table.alive[np.maximum(sup_rows, 0)]
        out: dict[int, int] = {}
        crash_seq = (
            self.crashes(seq - self.recent + 1, seq) if self.crashes is not None else self.crash_seq
        )
        for row, sup, ok in zip(rows.tolist(), sups.tolist(), sup_alive.tolist(), strict=True):
            pid = int(table.pid[row])
            crashed_at = crash_seq.get(pid)
            if not ok or crashed_at is None or not seq - self.recent < crashed_at <= seq:
                continue
            key = self.slot_of.get(pid, pid)
            if any(self.slot_of.get(c, c) == key for c in children.get(sup, ())):
                continue  # its replacement holds the slot
            out[pid] = sup
        return out

    def _subtree_size(self, pid: int, children: Mapping[int, Sequence[int]]) -> int:
        n = 0
        stack = [pid]
        while stack:
            cs = children.get(stack.pop(), ())
            n += len(cs)
            stack.extend(c for c in cs if c in children)  # only supervisors are walked into
        return n

    @staticmethod
    def _alarms(table: StatusTable, tree: DisplayTree, kept: Mapping[int, int]) -> set[int]:
        """Collapsed supervisors with a process inside that is restarting, or crashed recently
        and not replaced yet (the ``kept`` crashed children)."""
        hidden = tree.hidden
        if not hidden:
            return set()
        restarting = table.pid[table.status == _RESTARTING].tolist()
        if not restarting and not kept:
            return set()
        parent = tree.parent
        out: set[int] = set()
        for pid in [*restarting, *kept]:
            p: int | None = parent.get(pid)
            top = None
            for _ in range(64):  # walk up: the outermost collapsed supervisor shows it
                if p is None:
                    break
                if p in hidden:
                    top = p
                p = parent.get(p)
            if top is not None:
                out.add(top)
        return out

    # ---------------------------------------------------------------- collapsing

    def is_collapsed(self, pid: int) -> bool:
        """Whether supervisor ``pid`` is shown collapsed (once it has been seen)."""
        return pid in self.collapsed

    def toggle(self, pid: int, tree: DisplayTree) -> None:
        """Collapse a supervisor open in ``tree``, or open one collapsed there."""
        if pid in tree.hidden:
            self.expand([pid])
        elif pid in tree.children:
            self.collapse([pid])

    def expand(self, pids: Iterable[int]) -> None:
        for pid in pids:
            self.collapsed.discard(pid)
            self.expanded.add(pid)

    def collapse(self, pids: Iterable[int]) -> None:
        for pid in pids:
            self.expanded.discard(pid)
            self.collapsed.add(pid)

    def expand_all(self, tree: DisplayTree) -> None:
        """Open every supervisor of ``tree`` (shown or inside a collapsed one)."""
        self.expand(set(tree.parent.values()))

    def collapse_all(self, tree: DisplayTree) -> None:
        """Collapse every supervisor below the roots."""
        self.collapse(set(tree.parent.values()) - set(tree.roots))

    def reveal(self, pid: int, tree: DisplayTree) -> None:
        """Open the supervisors above ``pid`` so that it is shown."""
        chain: list[int] = []
        p = tree.parent.get(pid)
        while p is not None and len(chain) < 64:
            chain.append(p)
            p = tree.parent.get(p)
        self.expand(chain)

    # ---------------------------------------------------------------- search

    def find(self, text: str, candidates: Iterable[int]) -> list[int]:
        """Pids among ``candidates`` whose name contains ``text`` (case-insensitive), or whose
        pid it is (``12`` or ``<12>``); in name order."""
        t = text.strip().lower()
        if not t:
            return []
        num = t.strip("<>")
        want = int(num) if num.isdigit() else None
        found = [
            p for p in candidates
            if p == want or t in self.names.get(p, "").lower()
        ]  # fmt: skip
        return sorted(found, key=lambda p: (p != want, natural_key(self.names.get(p, "")), p))
