"""What the timeline shows for a window of time and lanes, at pixel resolution (Qt-free).

The timeline draws one lane per process, grouped by the supervision tree (depth-first order, so a
subtree is a contiguous run of lanes and can be collapsed into one row). For a visible window
``[t0, t1)`` and a range of rows, :meth:`Viewport.frame` returns either individual event glyphs
(when few events are visible) or a density image of ``rows x pixels`` counts, plus the message
arrows inside the window. The cost depends on the number of *visible rows and pixels*, not on the
size of the session: events are sorted once by (lane, time) so that each lane is a sorted run, and
one vectorised ``searchsorted`` over composite keys counts every (row, pixel) bin at once.
(Perfetto's UI draws tracks the same way: only the visible window, at pixel resolution.)

Collapsed groups of more than :data:`EXACT_GROUP_LANES` lanes use a precomputed coarse
(lane x time) prefix-sum grid, linearly interpolated inside a coarse bin: exact at coarse
resolution, approximate below it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from cinema.model.present import pid_text

__all__ = [
    "COARSE_BINS",
    "EXACT_GROUP_LANES",
    "GLYPH_LIMIT",
    "Frame",
    "LaneLayout",
    "LaneRow",
    "ProcessLike",
    "Viewport",
    "lane_order",
]

#: At most this many glyphs are drawn individually; past it the frame is a density image.
GLYPH_LIMIT = 20_000
#: At most this many message arrows are drawn for a window (more would be an unreadable smear).
ARROW_LIMIT = 400
#: Glyphs per pixel column past which a window is drawn as density (glyphs would overlap).
GLYPHS_PER_PIXEL = 3.0
#: Collapsed groups with at most this many lanes are counted exactly.
EXACT_GROUP_LANES = 64
#: Resolution of the coarse grid used for big collapsed groups.
COARSE_BINS = 1024

NO_PID = 0xFFFFFFFF

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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


@dataclass(slots=True)
class Frame:
    """Everything the timeline draws for one window. Coordinates: x in ns, y in rows."""

    t0: int
    t1: int
    row_lo: int
    row_hi: int
    mode: str  # "glyphs" | "density" | "empty"
    visible_events: int
    density: FloatArray | None = None  # (row_hi - row_lo, bins) counts
    glyph_seq: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    glyph_x: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    glyph_row: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    glyph_kind: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, np.uint8))
    arrows: IntArray = field(default_factory=lambda: np.zeros((0, 4), np.int64))  # x0,row0,x1,row1


class Viewport:
    """Selects and aggregates the events of a window of the timeline.

    Args:
        ts, kind, pid: the session skeleton columns (indexed by sequence number).
        layout: the lanes.
        messages: optional ``(send_seq, recv_seq)`` arrays of paired messages, for arrows.
    """

    def __init__(
        self,
        ts: npt.NDArray[np.int64],
        kind: npt.NDArray[np.uint8],
        pid: npt.NDArray[np.uint32],
        layout: LaneLayout,
        messages: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    ) -> None:
        self.ts = ts
        self.kind = kind
        self.pid = pid
        self.layout = layout
        self.t_first = int(ts[0]) if len(ts) else 0
        self.t_last = int(ts[-1]) if len(ts) else 0
        ranks = layout.rank(pid)
        # events sorted by lane, then time (ts is already in time order: a stable sort keeps
        # it); a 16-bit key lets numpy use its radix sort, ~10x faster than on int64
        small = ranks.astype(np.uint16) if layout.lane_count < 0xFFFF else ranks
        self.order: IntArray = np.argsort(small, kind="stable")
        counts = np.bincount(ranks, minlength=layout.lane_count + 1)
        sorted_ranks = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        self._ranks = ranks
        span = self.t_last - self.t_first + 2
        self._shift = 0
        while (layout.lane_count + 2) * (span >> self._shift) >= 2**62:
            self._shift += 1  # absurd durations: quantise time so keys fit in int64
        self._span = (span >> self._shift) + 1
        rel = (ts[self.order] - self.t_first) >> self._shift
        self.keys: IntArray = sorted_ranks * self._span + rel
        self._coarse: npt.NDArray[np.int64] | None = None
        self.send_seq = self.recv_seq = np.zeros(0, np.int64)
        self._max_latency = 0
        self._send_ts = np.zeros(0, np.int64)
        if messages is not None:
            s = np.asarray(messages[0], dtype=np.int64)
            r = np.asarray(messages[1], dtype=np.int64)
            ok = (s >= 0) & (r >= 0) & (s < len(ts)) & (r < len(ts))
            s, r = s[ok], r[ok]
            by_send = np.argsort(s, kind="stable")
            self.send_seq, self.recv_seq = s[by_send], r[by_send]
            self._send_ts = ts[self.send_seq]
            lat = ts[self.recv_seq] - self._send_ts
            self._max_latency = int(lat.max()) if len(lat) else 0

    # ---------------------------------------------------------------- keys & counts

    def _key(self, ranks: IntArray, t: IntArray) -> IntArray:
        rel = np.clip(np.asarray(t, np.int64) - self.t_first, -1, self.t_last - self.t_first + 1)
        rel = np.where(rel < 0, -1, rel >> self._shift)
        return ranks * self._span + rel

    def _lane_counts(self, ranks: IntArray, edges: IntArray) -> IntArray:
        """Counts of events per (lane, bin) for lanes ``ranks`` and bin ``edges`` (ns)."""
        q = self._key(ranks[:, None], edges[None, :])
        # keys are < ranks*span + span, so a query below a lane's start lands at its start
        pos = np.searchsorted(self.keys, q.ravel(), side="left").reshape(q.shape)
        return np.diff(pos, axis=1).astype(np.int64)

    def _coarse_grid(self) -> npt.NDArray[np.int64]:
        """``(lanes + 1, COARSE_BINS + 1)`` prefix sums over lanes and time."""
        if self._coarse is None:
            n = self.layout.lane_count
            dur = max(self.t_last - self.t_first, 1)
            b = np.minimum((self.ts - self.t_first) * COARSE_BINS // dur, COARSE_BINS - 1)
            r = self._ranks
            ok = r < n
            flat = np.bincount(r[ok] * COARSE_BINS + b[ok], minlength=n * COARSE_BINS)
            grid = np.zeros((n + 1, COARSE_BINS + 1), dtype=np.int64)
            grid[1:, 1:] = flat.reshape(n, COARSE_BINS)
            self._coarse = grid.cumsum(axis=0).cumsum(axis=1)
        return self._coarse

    def _group_counts(self, lo: int, hi: int, edges: IntArray) -> FloatArray:
        if hi - lo <= EXACT_GROUP_LANES:
            c = self._lane_counts(np.arange(lo, hi, dtype=np.int64), edges)
            summed: FloatArray = c.sum(axis=0).astype(np.float64)
            return summed
        grid = self._coarse_grid()
        cum = (grid[hi] - grid[lo]).astype(np.float64)  # cumulative over coarse bins
        dur = max(self.t_last - self.t_first, 1)
        grid_t = self.t_first + np.arange(COARSE_BINS + 1) * (dur / COARSE_BINS)
        at = np.interp(edges.astype(np.float64), grid_t, cum)
        return np.diff(at)

    def row_counts(self, row_lo: int, row_hi: int, edges: IntArray) -> FloatArray:
        """Event counts ``(rows, len(edges) - 1)`` for rows ``[row_lo, row_hi)``."""
        rows = self.layout.rows[row_lo:row_hi]
        out = np.zeros((len(rows), max(len(edges) - 1, 0)), dtype=np.float64)
        single = [i for i, r in enumerate(rows) if r.hi - r.lo == 1]
        if single:
            ranks = np.array([rows[i].lo for i in single], dtype=np.int64)
            out[single] = self._lane_counts(ranks, edges)
        for i, r in enumerate(rows):
            if r.hi - r.lo > 1:
                out[i] = self._group_counts(r.lo, r.hi, edges)
        return out

    # ---------------------------------------------------------------- frames

    def frame(
        self,
        t0: float,
        t1: float,
        y0: float,
        y1: float,
        pixels: int,
        glyph_limit: int = GLYPH_LIMIT,
    ) -> Frame:
        """What to draw for times ``[t0, t1]`` (ns), rows ``[y0, y1]`` and ``pixels`` columns."""
        t0i, t1i = int(np.floor(t0)), int(np.ceil(t1))
        if t1i <= t0i:
            t1i = t0i + 1
        row_lo, row_hi = self.layout.visible_rows(y0, y1)
        if row_hi <= row_lo or not len(self.ts):
            return Frame(t0i, t1i, row_lo, row_hi, "empty", 0)
        window = self.row_counts(row_lo, row_hi, np.array([t0i, t1i + 1], dtype=np.int64))
        visible = round(float(window.sum()))
        if visible <= min(glyph_limit, GLYPHS_PER_PIXEL * max(pixels, 1)):
            fr = self._glyphs(t0i, t1i, row_lo, row_hi, visible)
        else:
            edges = np.linspace(t0i, t1i + 1, max(pixels, 1) + 1).astype(np.int64)
            fr = Frame(t0i, t1i, row_lo, row_hi, "density", visible)
            fr.density = self.row_counts(row_lo, row_hi, edges)
        fr.arrows = self.arrows(t0i, t1i, row_lo, row_hi)
        return fr

    def _glyphs(self, t0: int, t1: int, row_lo: int, row_hi: int, visible: int) -> Frame:
        rows = self.layout.rows[row_lo:row_hi]
        lanes = np.concatenate([np.arange(r.lo, r.hi) for r in rows]).astype(np.int64)
        a = np.searchsorted(self.keys, self._key(lanes, np.full(len(lanes), t0)), side="left")
        b = np.searchsorted(self.keys, self._key(lanes, np.full(len(lanes), t1 + 1)), side="left")
        n = b - a
        total = int(n.sum())
        if total == 0:
            return Frame(t0, t1, row_lo, row_hi, "glyphs", 0)
        # gather the runs [a_i, b_i) without a Python loop over lanes
        starts = np.repeat(a - np.concatenate(([0], np.cumsum(n)[:-1])), n)
        idx = starts + np.arange(total)
        seq = np.sort(self.order[idx])
        return Frame(
            t0, t1, row_lo, row_hi, "glyphs", max(visible, total),
            glyph_seq=seq,
            glyph_x=self.ts[seq].astype(np.int64),
            glyph_row=self.layout.row_of_rank[self._ranks[seq]],
            glyph_kind=self.kind[seq],
        )  # fmt: skip

    def arrows(
        self, t0: int, t1: int, row_lo: int, row_hi: int, limit: int = ARROW_LIMIT
    ) -> IntArray:
        """Messages in flight during ``[t0, t1]`` between visible rows: ``(x0, row0, x1, row1)``.

        Empty when more than ``limit`` would be drawn (they would be an unreadable smear).
        """
        if not len(self.send_seq):
            return np.zeros((0, 4), np.int64)
        send_ts = self._send_ts
        a = int(np.searchsorted(send_ts, t0 - self._max_latency, side="left"))
        b = int(np.searchsorted(send_ts, t1, side="right"))
        if b - a > 50 * limit:
            return np.zeros((0, 4), np.int64)
        s, r = self.send_seq[a:b], self.recv_seq[a:b]
        x0, x1 = self.ts[s], self.ts[r]
        keep = x1 >= t0
        row_s = self.layout.row_of_rank[self._ranks[s]]
        row_r = self.layout.row_of_rank[self._ranks[r]]
        keep &= (row_s >= row_lo) & (row_s < row_hi) & (row_r >= row_lo) & (row_r < row_hi)
        keep &= row_s != row_r
        if int(keep.sum()) > limit:
            return np.zeros((0, 4), np.int64)
        return np.stack([x0[keep], row_s[keep], x1[keep], row_r[keep]], axis=1).astype(np.int64)

    # ---------------------------------------------------------------- stepping

    def step_in_lane(self, pid: int, seq: int, direction: int) -> int | None:
        """The next (``direction`` > 0) or previous event of process ``pid`` strictly after /
        before ``seq``; None when there is none. O(log n) on the (lane, time) index."""
        rank = int(self.layout.rank(np.array([pid]))[0])
        if rank >= self.layout.lane_count:
            return None
        a = int(np.searchsorted(self.keys, rank * self._span - 1, side="right"))
        b = int(np.searchsorted(self.keys, (rank + 1) * self._span - 1, side="right"))
        seqs = self.order[a:b]  # ascending: the stable sort kept time (= seq) order in a lane
        if direction > 0:
            i = int(np.searchsorted(seqs, seq, side="right"))
            return int(seqs[i]) if i < len(seqs) else None
        i = int(np.searchsorted(seqs, seq, side="left")) - 1
        return int(seqs[i]) if i >= 0 else None
