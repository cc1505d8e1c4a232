"""Node positions for the process graph's three camera views (Qt-free, deterministic).

- :class:`TreeLayout`: a tidy tree (leaves left to right in depth-first order, each parent
  centred over its children; the simple O(n) form of Reingold & Tilford, 1981). It is computed
  once per tree *structure* and kept while the playhead moves; a restart that puts a new pid in a
  child slot moves no node (the new pid takes the old slot's position).
- :func:`ego_layout`: the selected process in the centre, its neighbours on concentric rings.
- :func:`sequence_layout`: one column per process for a sequence diagram of a window.

No force-directed layout anywhere: it is O(V²) per iteration and jumps between frames.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["Point", "TreeLayout", "ego_layout", "sequence_layout", "tidy_tree"]

Point = tuple[float, float]


def tidy_tree(roots: Sequence[int], children: Mapping[int, Sequence[int]]) -> dict[int, Point]:
    """``pid -> (x, depth)``: leaves on consecutive integers, parents centred over children.

    Iterative (no recursion limit for deep trees); a pid met twice is placed once, under the
    first parent that reaches it. One pre-order walk places every node at its depth and the
    leaves left to right; then only the parents (a few per hundred processes) are centred,
    deepest first (~1 µs a node: a 5,000-process tree whose shape changed costs ~5 ms).
    """
    depth_of: dict[int, int] = {}
    order: list[int] = []  # pre-order
    get = children.get
    stack: list[tuple[int, int]] = [(r, 0) for r in reversed(roots)]
    pop, push = stack.pop, stack.extend
    while stack:
        pid, depth = pop()
        if pid in depth_of:
            continue
        depth_of[pid] = depth
        order.append(pid)
        cs = get(pid)
        if cs:
            push((c, depth + 1) for c in reversed(cs) if c not in depth_of)
    # a parent is a node with a child placed one level below it; the rest are leaves
    placed_under: dict[int, list[int]] = {}
    for pid in order:
        cs = get(pid)
        if cs:
            below = depth_of[pid] + 1
            kids = [c for c in cs if depth_of.get(c) == below]
            if kids:
                placed_under[pid] = kids
    leaves = [pid for pid in order if pid not in placed_under]
    pos: dict[int, Point] = {pid: (float(i), float(depth_of[pid])) for i, pid in enumerate(leaves)}
    for pid in reversed(order):  # children before their parent
        under = placed_under.get(pid)
        if under:
            xs = [pos[c][0] for c in under]
            pos[pid] = ((min(xs) + max(xs)) / 2.0, float(depth_of[pid]))
    return pos


class TreeLayout:
    """A supervision-tree layout that survives the playhead moving.

    :meth:`update` recomputes positions only when the tree's *shape* changes (slots added or
    removed); when a supervisor restarts a child, the new pid inherits the position of the child
    it replaced, so the picture does not jump.

    Args:
        slot_of: optional ``pid -> slot key`` (for example ``(supervisor, child_id)``); pids with
            the same key share a position.
    """

    def __init__(self) -> None:
        self.positions: dict[int, Point] = {}
        self._shape: tuple[object, ...] | None = None
        self.recomputed = 0

    @staticmethod
    def _shape_of(
        roots: Sequence[int], children: Mapping[int, Sequence[int]], slot_of: Mapping[int, object]
    ) -> tuple[object, ...]:
        if not slot_of:
            # cheap: the number of roots and of children under each parent, in tree order. A
            # restart (same slot, new pid) keeps it; positions are re-keyed in update().
            return (len(roots), *(len(cs) for cs in children.values()))
        parts: list[object] = []
        stack = [(r, 0) for r in reversed(roots)]
        while stack:
            pid, depth = stack.pop()
            parts.append((depth, slot_of.get(pid, pid)))
            stack.extend((c, depth + 1) for c in reversed(children.get(pid, ())))
        return tuple(parts)

    def update(
        self,
        roots: Sequence[int],
        children: Mapping[int, Sequence[int]],
        slot_of: Mapping[int, object] | None = None,
    ) -> bool:
        """Make :attr:`positions` match this tree; return True when the shape changed."""
        slots = slot_of or {}
        shape = self._shape_of(roots, children, slots)
        if shape == self._shape:
            # same shape: only pids may differ (restarts); re-key positions by walking both
            if set(self.positions) != self._pids(roots, children):
                self.positions = tidy_tree(roots, children)
            return False
        self._shape = shape
        self.positions = tidy_tree(roots, children)
        self.recomputed += 1
        return True

    @staticmethod
    def _pids(roots: Sequence[int], children: Mapping[int, Sequence[int]]) -> set[int]:
        out = set(roots)
        for cs in children.values():
            out.update(cs)
        return out


def ego_layout(
    center: int, neighbours: Iterable[int], second: Iterable[int] = (), radius: float = 1.0
) -> dict[int, Point]:
    """The ``center`` at the origin, ``neighbours`` on a ring, ``second`` on an outer ring.

    Positions depend only on the sorted pids, so the same neighbourhood always looks the same.
    """
    pos: dict[int, Point] = {center: (0.0, 0.0)}
    ring1 = sorted(set(neighbours) - {center})
    ring2 = sorted(set(second) - set(ring1) - {center})
    for ring, r in ((ring1, radius), (ring2, 2.0 * radius)):
        n = len(ring)
        for i, pid in enumerate(ring):
            a = 2.0 * math.pi * i / max(n, 1) - math.pi / 2.0
            pos[pid] = (r * math.cos(a), r * math.sin(a))
    return pos


def sequence_layout(pids: Sequence[int]) -> dict[int, float]:
    """Column (x) of each process of a sequence diagram, in the given order."""
    return {pid: float(i) for i, pid in enumerate(dict.fromkeys(pids))}
