"""What the process graph shows at the playhead, for its three camera views (Qt-free).

- *supervision*: the supervision tree of the world at the playhead (:class:`TreeLayout`, kept
  between frames), restarted children marked;
- *process*: the selected process, its direct neighbours (links, monitors, supervisor, children,
  message peers in the recent past) and their neighbours;
- *messages*: a sequence diagram of the messages of a window of events.

Edges carry the messages of the last ``recent`` events before the playhead; a message in flight
at the playhead is a dot on its edge, placed by how far its delivery has progressed in time, so
the picture animates as the playhead moves. Everything is numpy arrays ready to draw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cinema.model.world import STATUSES, World
from cinema.views.layout import Point, TreeLayout, ego_layout, sequence_layout
from recorder.events import NO_PID, EventKind

__all__ = ["GraphFrame", "GraphModel"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class GraphFrame:
    """Nodes, edges and message dots of one view at one playhead position."""

    view: str
    pids: list[int] = field(default_factory=list)
    x: FloatArray = field(default_factory=lambda: np.zeros(0))
    y: FloatArray = field(default_factory=lambda: np.zeros(0))
    status: list[str] = field(default_factory=list)
    status_code: npt.NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, np.uint8))
    """``status`` as indexes into :data:`~cinema.model.world.STATUSES`."""
    mailbox: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    labels: Sequence[str] = field(default_factory=list)
    restarted: list[bool] = field(default_factory=list)
    edges: FloatArray = field(default_factory=lambda: np.zeros((0, 4)))  # x0, y0, x1, y1
    recent: FloatArray = field(default_factory=lambda: np.zeros((0, 4)))  # recent message edges
    dots: FloatArray = field(default_factory=lambda: np.zeros((0, 2)))  # messages in flight
    texts: list[tuple[float, float, str]] = field(default_factory=list)  # extra labels


class _Labels(Sequence[str]):
    """Node labels made on demand (a 10,000-node view shows only a few of them)."""

    def __init__(self, model: GraphModel, pids: list[int], mailbox: IntArray) -> None:
        self._model, self._pids, self._mailbox = model, pids, mailbox

    def __len__(self) -> int:
        return len(self._pids)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self._model._label(self._pids[i], int(self._mailbox[i]))


class GraphModel:
    """Computes :class:`GraphFrame` s for a session.

    Args:
        ts, kind, pid, peer: skeleton columns.
        send_seq, recv_seq: paired messages (sorted by send), as the timeline's viewport has them.
        names: pid -> process name.
    """

    def __init__(
        self,
        ts: npt.NDArray[np.int64],
        kind: npt.NDArray[np.uint8],
        pid: npt.NDArray[np.uint32],
        peer: npt.NDArray[np.uint32],
        send_seq: IntArray,
        recv_seq: IntArray,
        names: Mapping[int, str],
    ) -> None:
        self.ts, self.kind, self.pid, self.peer = ts, kind, pid, peer
        self.send_seq, self.recv_seq = send_seq, recv_seq
        self.names = names
        self.tree = TreeLayout()
        self._drawn_from: Mapping[int, Point] | None = None
        self._pos: dict[int, Point] = {}
        self._restart_seqs = np.flatnonzero(kind == EventKind.RESTART)

    # ---------------------------------------------------------------- helpers

    def _messages(self, seq: int, recent: int) -> tuple[IntArray, IntArray]:
        """Indices (into send/recv arrays) of messages sent in the last ``recent`` events and of
        those in flight at ``seq``."""
        hi = int(np.searchsorted(self.send_seq, seq, side="right"))
        lo = int(np.searchsorted(self.send_seq, seq - recent, side="right"))
        idx = np.arange(lo, hi, dtype=np.int64)
        in_flight = idx[self.recv_seq[idx] > seq]
        return idx, in_flight

    def _label(self, pid: int, mailbox: int) -> str:
        name = self.names.get(pid, f"<{pid}>")
        return f"{name} ({mailbox})" if mailbox else name

    def _nodes(self, frame: GraphFrame, world: World, pos: Mapping[int, Point], seq: int) -> None:
        frame.pids = list(pos)
        xy = np.array(list(pos.values()), np.float64).reshape(-1, 2)
        frame.x, frame.y = xy[:, 0].copy(), xy[:, 1].copy()
        # one bulk query for every node (no process views: ~1 ms for 5,000 nodes)
        table = world.status_table()
        rows = table.rows_of(frame.pids)
        known = rows >= 0
        code = np.full(len(rows), STATUSES.index("dead"), np.uint8)
        code[known] = table.status[rows[known]]
        mailbox = np.zeros(len(rows), np.int64)
        mailbox[known] = table.mailbox_len[rows[known]]
        frame.status_code = code
        frame.status = np.array(STATUSES, dtype=object)[code].tolist()
        frame.mailbox = mailbox
        frame.labels = _Labels(self, frame.pids, frame.mailbox)
        restarted = np.fromiter(self._recently_restarted(seq), np.int64)
        frame.restarted = np.isin(np.asarray(frame.pids, np.int64), restarted).tolist()

    def _recently_restarted(self, seq: int, window: int = 2000) -> set[int]:
        """New pids of children restarted in the last ``window`` events."""
        r = self._restart_seqs
        sel = r[(r <= seq) & (r > seq - window)]
        return {int(self.peer[s]) for s in sel if self.peer[s] != NO_PID}

    def _message_edges(
        self, frame: GraphFrame, pos: Mapping[int, Point], seq: int, recent: int
    ) -> None:
        idx, flying = self._messages(seq, recent)
        s_pid = self.pid[self.send_seq[idx]]
        r_pid = self.pid[self.recv_seq[idx]]
        rows = [
            (*pos[a], *pos[b])
            for a, b in zip(s_pid.tolist(), r_pid.tolist(), strict=True)
            if a in pos and b in pos and a != b
        ]
        frame.recent = np.array(rows, np.float64).reshape(-1, 4)
        dots = []
        now = float(self.ts[seq]) if seq >= 0 else 0.0
        for i in flying.tolist():
            a, b = int(self.pid[self.send_seq[i]]), int(self.pid[self.recv_seq[i]])
            if a in pos and b in pos and a != b:
                t0, t1 = float(self.ts[self.send_seq[i]]), float(self.ts[self.recv_seq[i]])
                f = min(max((now - t0) / (t1 - t0), 0.0), 1.0) if t1 > t0 else 0.5
                (x0, y0), (x1, y1) = pos[a], pos[b]
                dots.append((x0 + (x1 - x0) * f, y0 + (y1 - y0) * f))
        frame.dots = np.array(dots, np.float64).reshape(-1, 2)

    # ---------------------------------------------------------------- views

    def supervision(self, world: World, seq: int, recent: int = 40) -> GraphFrame:
        """The supervision tree at ``seq`` (x: leaf order, y: depth)."""
        tree = world.supervision_tree()
        self.tree.update(tree.roots, tree.children)
        frame = GraphFrame("supervision")
        # drawn left to right (depth across, leaves down): long sibling lists stay readable
        positions = self.tree.positions
        if self._drawn_from is not positions:  # laid out again (or re-keyed): new node order
            self._drawn_from = positions
            self._pos = {p: (d * 4.0, x) for p, (x, d) in positions.items()}
        pos = self._pos
        self._nodes(frame, world, pos, seq)
        frame.edges = self._tree_edges(frame, tree.children)
        self._message_edges(frame, pos, seq, recent)
        return frame

    @staticmethod
    def _tree_edges(frame: GraphFrame, children: Mapping[int, Sequence[int]]) -> FloatArray:
        """Supervisor -> child segments, from the frame's node arrays (no per-edge tuples)."""
        if not children or not frame.pids:
            return np.zeros((0, 4))
        sup = np.fromiter(children, np.int64, len(children))
        counts = np.fromiter((len(cs) for cs in children.values()), np.int64, len(children))
        kid = np.fromiter((c for cs in children.values() for c in cs), np.int64, int(counts.sum()))
        par = np.repeat(sup, counts)
        pids = np.asarray(frame.pids, np.int64)
        order = np.argsort(pids)
        sorted_pids = pids[order]

        def index(q: IntArray) -> IntArray:
            at = np.minimum(np.searchsorted(sorted_pids, q), len(pids) - 1)
            return np.where(sorted_pids[at] == q, order[at], -1)

        a, b = index(par), index(kid)
        ok = (a >= 0) & (b >= 0)
        a, b = a[ok], b[ok]
        return np.column_stack([frame.x[a], frame.y[a], frame.x[b], frame.y[b]])

    def neighbours(self, world: World, pid: int, seq: int, recent: int = 2000) -> set[int]:
        """Processes related to ``pid`` at ``seq``: links, monitors, supervisor, children, and
        message peers in the last ``recent`` events."""
        out: set[int] = set()
        p = world.process(pid)
        if p is not None:
            out.update(p.links)
            out.update(t for _r, t in p.monitors)
            if p.supervisor is not None:
                out.add(p.supervisor)
        out.update(world.supervision_tree().children.get(pid, ()))
        idx, _ = self._messages(seq, recent)
        s = self.pid[self.send_seq[idx]]
        r = self.pid[self.recv_seq[idx]]
        out.update(int(x) for x in r[s == pid])
        out.update(int(x) for x in s[r == pid])
        out.discard(pid)
        return {x for x in out if x in world.processes}

    def process_centric(
        self, world: World, seq: int, pid: int, recent: int = 2000, shown: int = 60
    ) -> GraphFrame:
        """``pid`` in the centre, neighbours around it, their neighbours on an outer ring."""
        frame = GraphFrame("process")
        if pid < 0 or world.process(pid) is None:
            return frame
        first = self.neighbours(world, pid, seq, recent)
        second: set[int] = set()
        if len(first) <= 12:
            for n in sorted(first):
                second |= self.neighbours(world, n, seq, recent)
                if len(second) > 24:
                    break
        ring2 = sorted(second - first - {pid})[:24]
        pos = ego_layout(pid, first, ring2)
        self._nodes(frame, world, pos, seq)
        edges = [(*pos[pid], *pos[n]) for n in first]
        frame.edges = np.array(edges, np.float64).reshape(-1, 4)
        self._message_edges(frame, pos, seq, shown)
        return frame

    def message_centric(
        self, world: World, seq: int, pid: int = -1, count: int = 30, columns: int = 12
    ) -> GraphFrame:
        """A sequence diagram of the last ``count`` messages up to ``seq`` (those of ``pid``
        when one is selected): x is the process column, y the time order (0 at the top)."""
        frame = GraphFrame("messages")
        hi = int(np.searchsorted(self.send_seq, seq, side="right"))
        s_all, r_all = self.send_seq[:hi], self.recv_seq[:hi]
        if pid >= 0:
            mine = (self.pid[s_all] == pid) | (self.pid[r_all] == pid)
            s_all, r_all = s_all[mine], r_all[mine]
        s, r = s_all[-count:], r_all[-count:]
        senders, receivers = self.pid[s].tolist(), self.pid[r].tolist()
        order: list[int] = [pid] if pid >= 0 else []
        for a, b in zip(senders, receivers, strict=True):
            order.extend((a, b))
        cols = list(sequence_layout(order))[:columns]
        colx = {p: float(i) for i, p in enumerate(cols)}
        if not len(s):
            return frame
        t_lo = float(self.ts[s[0]])
        span = max(
            float(max(self.ts[s[-1]], self.ts[min(int(r.max()), len(self.ts) - 1)])) - t_lo, 1.0
        )
        depth = 20.0  # diagram height in rows

        def y_of(q: int) -> float:
            return (float(self.ts[q]) - t_lo) / span * depth + 1.0

        rows, recent_rows, dots = [], [], []
        for q_s, q_r, a, b in zip(s.tolist(), r.tolist(), senders, receivers, strict=True):
            if a not in colx or b not in colx:
                continue
            y0 = y_of(q_s)
            if q_r <= seq:
                rows.append((colx[a], y0, colx[b], y_of(q_r)))
            else:  # in flight: draw up to the playhead, dot at its head
                now = min(max(y_of(seq), y0), y_of(q_r))
                f = (now - y0) / max(y_of(q_r) - y0, 1e-9)
                xh = colx[a] + (colx[b] - colx[a]) * f
                recent_rows.append((colx[a], y0, xh, now))
                dots.append((xh, now))
        frame.edges = np.array(rows, np.float64).reshape(-1, 4)
        frame.recent = np.array(recent_rows, np.float64).reshape(-1, 4)
        frame.dots = np.array(dots, np.float64).reshape(-1, 2)
        # lifelines: one node at the top of each column
        pos = {p: (colx[p], 0.0) for p in cols}
        self._nodes(frame, world, pos, seq)
        lifelines = [(x, 0.0, x, depth + 1.5) for x in colx.values()]
        frame.edges = np.vstack([np.array(lifelines, np.float64).reshape(-1, 4), frame.edges])
        return frame

    def names_for(self, pids: Sequence[int]) -> list[str]:
        return [self.names.get(p, f"<{p}>") for p in pids]
