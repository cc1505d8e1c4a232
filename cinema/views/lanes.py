"""The timeline's lanes: one per process, depth-first by the supervision tree (Qt-free).

A subtree is a contiguous run of lanes, so it can be collapsed into one row. :class:`LaneLayout`
maps pids to lane ranks and ranks to the rows shown (a collapsed subtree is one row).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from cinema.model.present import pid_text

__all__ = ["NO_PID", "LaneLayout", "LaneRow", "ProcessLike", "lane_order"]

NO_PID = 0xFFFFFFFF

IntArray = npt.NDArray[np.int64]


class ProcessLike(Protocol):
    """What the lane layout needs of a process (``recorder.session.reader.ProcessInfo``)."""

    @property
    def pid(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def behaviour(self) -> str: ...
    @property
    def parent(self) -> int: ...
    @property
    def supervisor(self) -> int: ...


def _tree_parent(p: ProcessLike, known: Mapping[int, ProcessLike]) -> int | None:
    for candidate in (p.supervisor, p.parent):
        if (
            candidate is not None
            and candidate != NO_PID
            and candidate in known
            and candidate != p.pid
        ):
            return int(candidate)
    return None


def lane_order(processes: Mapping[int, ProcessLike]) -> tuple[list[int], list[int], dict[int, int]]:
    """Depth-first order of the supervision tree (supervisor, else parent; roots by pid).

    Returns ``(pids in order, depth of each, subtree end rank of each pid)``: the subtree of the
    process at rank ``r`` is the ranks ``r .. end[pid] - 1``.
    """
    children: dict[int | None, list[int]] = {}
    for pid in sorted(processes):
        children.setdefault(_tree_parent(processes[pid], processes), []).append(pid)
    order: list[int] = []
    depth: list[int] = []
    end: dict[int, int] = {}
    seen: set[int] = set()
    # iterative DFS: a 10,000-process tree must not hit the recursion limit
    stack: list[tuple[int, int, bool]] = [
        (pid, 0, False) for pid in reversed(children.get(None, []))
    ]
    while stack:
        pid, d, done = stack.pop()
        if done:
            end[pid] = len(order)
            continue
        if pid in seen:  # a cycle in corrupt data: show the process once
            continue
        seen.add(pid)
        order.append(pid)
        depth.append(d)
        stack.append((pid, d, True))
        stack.extend((c, d + 1, False) for c in reversed(children.get(pid, [])))
    for pid in sorted(set(processes) - seen):  # unreachable (cycles): append flat
        order.append(pid)
        depth.append(0)
        end[pid] = len(order)
    return order, depth, end


@dataclass(frozen=True, slots=True)
class LaneRow:
    """One row of the timeline: a process lane, or a collapsed subtree drawn as one row."""

    pid: int
    label: str
    depth: int
    lo: int  # first lane rank covered
    hi: int  # one past the last lane rank covered
    has_children: bool
    collapsed: bool


class LaneLayout:
    """Lanes (one per process, depth-first by supervision tree) and the rows shown for them.

    Args:
        processes: pid -> process info (anything with pid, name, behaviour, parent, supervisor).
        collapsed: pids of processes whose subtree is shown as one row.
    """

    def __init__(self, processes: Mapping[int, ProcessLike], collapsed: Iterable[int] = ()) -> None:
        self.processes = processes
        self.order, self.depth, self._end = lane_order(processes)
        max_pid = max(processes, default=-1)
        self.rank_of_pid = np.full(max_pid + 2, len(self.order), dtype=np.int64)
        for r, pid in enumerate(self.order):
            self.rank_of_pid[pid] = r
        self.lane_count = len(self.order)
        self.collapsed: set[int] = set()
        self.rows: list[LaneRow] = []
        self.row_of_rank = np.zeros(self.lane_count + 1, dtype=np.int64)
        self.set_collapsed(collapsed)

    def rank(self, pids: npt.ArrayLike) -> IntArray:
        """Lane rank of each pid (``lane_count`` for an unknown pid)."""
        p = np.asarray(pids)
        if p.dtype.kind not in "u":  # negative pids are unknown too
            p = np.where(p < 0, len(self.rank_of_pid) - 1, p)
        # the table's last entry is lane_count: any pid past it (NO_PID included) is unknown
        out: IntArray = self.rank_of_pid[np.minimum(p, len(self.rank_of_pid) - 1)]
        return out

    def set_collapsed(self, collapsed: Iterable[int]) -> None:
        """Show the subtree of each given pid as one row (and the others expanded)."""
        self.collapsed = {int(p) for p in collapsed if int(p) in self._end}
        rows: list[LaneRow] = []
        r = 0
        n = self.lane_count
        row_of_rank = np.full(n + 1, -1, dtype=np.int64)
        while r < n:
            pid = self.order[r]
            end = self._end[pid]
            has_children = end > r + 1
            folded = has_children and pid in self.collapsed
            p = self.processes[pid]
            label = f"{p.name} {pid_text(pid)}"
            hi = end if folded else r + 1
            row_of_rank[r:hi] = len(rows)
            rows.append(LaneRow(pid, label, self.depth[r], r, hi, has_children, folded))
            r = hi
        self.rows = rows
        self.row_of_rank = row_of_rank
        self._row_of_pid: IntArray | None = None

    def row_of_pid_table(self) -> IntArray:
        """The row of each pid, by pid (``-1`` in the last entry: any pid past it is unknown);
        index it with ``np.minimum(pids, len(table) - 1)``."""
        if self._row_of_pid is None:
            self._row_of_pid = self.row_of_rank[self.rank_of_pid]
        return self._row_of_pid

    def toggle(self, pid: int) -> None:
        """Collapse an expanded group or expand a collapsed one."""
        self.set_collapsed(self.collapsed ^ {pid})

    def row_of_pid(self, pid: int) -> int:
        """The row showing ``pid`` (its group's row when collapsed); -1 when unknown."""
        if not 0 <= pid < len(self.rank_of_pid) - 1:
            return -1
        return int(self.row_of_rank[self.rank_of_pid[pid]])

    def visible_rows(self, y0: float, y1: float) -> tuple[int, int]:
        """Rows ``[lo, hi)`` intersecting ``[y0, y1]`` (row ``i`` spans ``i - 0.5 .. i + 0.5``)."""
        lo = max(0, int(np.floor(y0 + 0.5)))
        hi = min(len(self.rows), int(np.ceil(y1 + 0.5)))
        return lo, max(lo, hi)
