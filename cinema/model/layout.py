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

    Iterative (no recursion limit for deep trees); a pid met twice is placed once.
    """
    pos: dict[int, Point] = {}
    next_leaf = 0.0
    # post-order walk: (pid, depth, children_done)
    stack: list[tuple[int, int, bool]] = [(r, 0, False) for r in reversed(roots)]
    seen: set[int] = set()
    while stack:
        pid, depth, done = stack.pop()
        if done:
            xs = [pos[c][0] for c in children.get(pid, ()) if c in pos and pos[c][1] == depth + 1]
            if xs:
                pos[pid] = ((min(xs) + max(xs)) / 2.0, float(depth))
            else:
                pos[pid] = (next_leaf, float(depth))
                next_leaf += 1.0
            continue
        if pid in seen:
            continue
        seen.add(pid)
        stack.append((pid, depth, True))
        stack.extend(
            (c, depth + 1, False) for c in reversed(children.get(pid, ())) if c not in seen
        )
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
