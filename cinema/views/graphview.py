"""What the process graph shows at the playhead, for its three camera views (Qt-free).

- *supervision*: the supervision tree of the world at the playhead as
  :class:`~cinema.views.supervision.SupervisionView` shows it (collapsible, crashed children
  kept in their slots, ordered by slot), laid out by a :class:`TreeLayout` kept between
  frames, with elbow edges (a trunk per supervisor, a stub per child: 2,400 children make a
  comb, not a black fan), restarted children marked;
- *process*: the selected process, its direct neighbours (links, monitors, supervisor, children,
  message peers in the recent past) and their neighbours;
- *messages*: a sequence diagram of the last messages (:mod:`cinema.views.sequence`).

Edges carry the messages of the last ``recent`` events before the playhead; a message in flight
at the playhead is a dot on its edge, placed by how far its delivery has progressed in time, so
the picture animates as the playhead moves. Everything is numpy arrays ready to draw.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cinema.model.present import pid_text
from cinema.model.world import STATUSES, World
from cinema.views.layout import Point, TreeLayout, ego_layout
from cinema.views.sequence import sequence_frame
from cinema.views.supervision import DisplayTree, SupervisionView
from cinema.views.timeline_source import TimelineSource
from recorder.events import NO_PID, EventKind

if TYPE_CHECKING:
    from cinema.model.causality import Why

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
    heads: FloatArray = field(default_factory=lambda: np.zeros((0, 4)))
    """Arrow heads: ``x, y`` of a tip and ``x, y`` of a point behind it on its line."""
    hidden: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Per node: processes folded inside it (a collapsed supervisor), 0 for none."""
    alarm: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    """Per node: a collapsed supervisor with a crashed or restarting process inside."""
    pid_array: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    """``pids`` as an array (made once per frame; views test membership with it)."""
    stubs_from: int = -1
    """Edges from this row on are the stubs from a trunk to each child (supervision view): a
    view may leave them out where leaves are too close together to tell them apart."""
    why_edges: dict[str, FloatArray] = field(default_factory=dict)
    """The why path's steps as segments, per side (``"back"``, ``"forward"``): messages view."""
    why_dots: dict[str, FloatArray] = field(default_factory=dict)
    """The why path's events as points on their lifelines, per side."""
    why_pids: dict[str, list[int]] = field(default_factory=dict)
    """The processes the why path passes through, per side."""


class _Labels(Sequence[str]):
    """Node labels made on demand (a 10,000-node view shows only a few of them)."""

    def __init__(
        self, model: GraphModel, pids: list[int], mailbox: IntArray, hidden: IntArray | None = None
    ) -> None:
        self._model, self._pids, self._mailbox = model, pids, mailbox
        self._hidden = hidden

    def __len__(self) -> int:
        return len(self._pids)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        label = self._model._label(self._pids[i], int(self._mailbox[i]))
        if self._hidden is not None and self._hidden[i]:
            label += f" ▸ +{int(self._hidden[i]):,}"
        return label


class GraphModel:
    """Computes :class:`GraphFrame` s for a session.

    Args:
        source: the events (:class:`~cinema.views.timeline_source.SessionTimeline` for a
            session): windows of columns near the playhead, and the paired messages and the
            whole columns the message views read (on first use).
        names: pid -> process name.
        slot_of: pid -> slot key of the supervision view (see
            :func:`~cinema.views.supervision.slot_keys`).
        message_label: send event number -> the label of its message (its type), for the
            sequence diagram; without it messages are not labelled.
    """

    def __init__(
        self,
        source: TimelineSource,
        names: Mapping[int, str],
        *,
        slot_of: Mapping[int, int] | None = None,
        message_label: Callable[[int], str] | None = None,
    ) -> None:
        self.source = source
        self.names = names
        self.message_label = message_label
        self.sup_view = SupervisionView(names, slot_of, crashes=self._crashes_between)
        self.display: DisplayTree | None = None  # the supervision view's last tree
        self.tree = TreeLayout()
        self._drawn_from: Mapping[int, Point] | None = None
        self._pos: dict[int, Point] = {}
        self._xy: tuple[list[int], FloatArray, FloatArray] | None = None
        self._pid_array: IntArray | None = None
        self._laid_out: tuple[object, object] | None = None  # the tree self.tree was given
        self._edges_for: Mapping[int, Point] | None = None
        self._edges: FloatArray = np.zeros((0, 4))
        self._stubs_from = -1
        self._pairs: tuple[IntArray, IntArray] | None = None

    # ---------------------------------------------------------------- columns (on first use)

    @property
    def ts(self) -> npt.NDArray[np.int64]:
        return self.source.skeleton().ts

    @property
    def kind(self) -> npt.NDArray[np.uint8]:
        return self.source.skeleton().kind

    @property
    def pid(self) -> npt.NDArray[np.uint32]:
        return self.source.skeleton().pid

    @property
    def peer(self) -> npt.NDArray[np.uint32]:
        return self.source.skeleton().peer

    @property
    def send_seq(self) -> IntArray:
        """SENDs of the paired messages, ascending (paired on first use)."""
        return self._paired()[0]

    @property
    def recv_seq(self) -> IntArray:
        return self._paired()[1]

    def _paired(self) -> tuple[IntArray, IntArray]:
        if self._pairs is None:
            sends, recvs = self.source.messages()
            s, r = np.asarray(sends, np.int64), np.asarray(recvs, np.int64)
            if len(s) > 1 and not bool((s[1:] >= s[:-1]).all()):  # a session's are in order
                order = np.argsort(s, kind="stable")
                s, r = s[order], r[order]
            self._pairs = (s, r)
        return self._pairs

    def _crashes_between(self, lo: int, hi: int) -> dict[int, int]:
        """pid -> its CRASH among events ``lo .. hi``."""
        cols = self.source.window(lo, hi + 1)
        at = np.flatnonzero(cols.kind == EventKind.CRASH)
        return dict(zip(cols.pid[at].tolist(), (at + max(lo, 0)).tolist(), strict=True))

    # ---------------------------------------------------------------- helpers

    def _messages(self, seq: int, recent: int) -> tuple[IntArray, IntArray]:
        """Indices (into send/recv arrays) of messages sent in the last ``recent`` events and of
        those in flight at ``seq``."""
        near = self.source.window(seq - recent + 1, seq + 1)
        if not (near.kind == EventKind.SEND).any():  # nothing sent lately: no pairing needed
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        hi = int(np.searchsorted(self.send_seq, seq, side="right"))
        lo = int(np.searchsorted(self.send_seq, seq - recent, side="right"))
        idx = np.arange(lo, hi, dtype=np.int64)
        in_flight = idx[self.recv_seq[idx] > seq]
        return idx, in_flight

    def _label(self, pid: int, mailbox: int) -> str:
        name = self.names.get(pid) or pid_text(pid)
        return f"{name} ({mailbox})" if mailbox else name

    def _nodes(
        self,
        frame: GraphFrame,
        world: World,
        pos: Mapping[int, Point],
        seq: int,
        arrays: tuple[list[int], FloatArray, FloatArray] | None = None,
        pid_array: np.ndarray | None = None,
    ) -> None:
        """Node arrays of ``pos`` (``arrays``: the same as pids, x, y, already built;
        ``pid_array``: those pids as an array, never written to)."""
        if arrays is not None:
            frame.pids, frame.x, frame.y = list(arrays[0]), arrays[1], arrays[2]
        else:
            frame.pids = list(pos)
            xy = np.array(list(pos.values()), np.float64).reshape(-1, 2)
            frame.x, frame.y = xy[:, 0].copy(), xy[:, 1].copy()
        if pid_array is None or len(pid_array) != len(frame.pids):
            pid_array = np.fromiter(frame.pids, np.int64, len(frame.pids))
        frame.pid_array = pid_array
        # one bulk query for every node (no process views: ~1 ms for 5,000 nodes)
        table = world.status_table()
        rows = table.rows_of(frame.pid_array)
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
        frame.restarted = np.isin(frame.pid_array, restarted).tolist()

    def _recently_restarted(self, seq: int, window: int = 2000) -> set[int]:
        """New pids of children restarted in the last ``window`` events."""
        cols = self.source.window(seq - window + 1, seq + 1)
        peers = cols.peer[cols.kind == EventKind.RESTART]
        return {int(p) for p in peers.tolist() if p != NO_PID}

    def _message_edges(
        self, frame: GraphFrame, pos: Mapping[int, Point], seq: int, recent: int
    ) -> None:
        idx, flying = self._messages(seq, recent)
        if not len(idx):
            frame.recent = np.zeros((0, 4), np.float64)
            frame.dots = np.zeros((0, 2), np.float64)
            return
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
        """The supervision tree at ``seq`` (x: depth, y: leaf order), as the
        :attr:`sup_view` shows it (collapsed subtrees are one node each)."""
        tree = self.display = self.sup_view.tree(world, seq)
        if (tree.roots, tree.children) != self._laid_out:  # the view hands back the same
            self.tree.update(tree.roots, tree.children)  # objects while the tree is unchanged
            self._laid_out = (tree.roots, tree.children)
        frame = GraphFrame("supervision")
        # drawn left to right (depth across, leaves down): long sibling lists stay readable
        positions = self.tree.positions
        if self._drawn_from is not positions:  # laid out again (or re-keyed): new node order
            self._drawn_from = positions
            self._pos = {p: (d * 4.0, x) for p, (x, d) in positions.items()}
            xy = np.array(list(self._pos.values()), np.float64).reshape(-1, 2)
            drawn = list(self._pos)
            self._xy = (drawn, xy[:, 0].copy(), xy[:, 1].copy())
            self._pid_array = np.fromiter(drawn, np.int64, len(drawn))
        pos = self._pos
        self._nodes(frame, world, pos, seq, self._xy, self._pid_array)
        pids = frame.pid_array
        frame.hidden = np.zeros(len(pids), np.int64)
        if tree.hidden:
            folded = np.fromiter(tree.hidden, np.int64, len(tree.hidden))
            counts = np.fromiter(tree.hidden.values(), np.int64, len(tree.hidden))
            order = np.argsort(folded)
            at = np.minimum(np.searchsorted(folded[order], pids), len(folded) - 1)
            hit = folded[order][at] == pids
            frame.hidden[hit] = counts[order][at[hit]]
        frame.alarm = np.isin(pids, np.fromiter(tree.alarm, np.int64, len(tree.alarm)))
        frame.labels = _Labels(self, frame.pids, frame.mailbox, frame.hidden)
        if self._edges_for is not positions:  # the same layout has the same edges
            self._edges_for = positions
            self._edges = self._tree_edges(frame, tree.children)
            n_kids = sum(len(cs) for cs in tree.children.values())
            self._stubs_from = max(len(self._edges) - n_kids, 0)
        frame.edges, frame.stubs_from = self._edges, self._stubs_from
        self._message_edges(frame, pos, seq, recent)
        return frame

    @staticmethod
    def _tree_edges(frame: GraphFrame, children: Mapping[int, Sequence[int]]) -> FloatArray:
        """Elbow edges supervisor -> children: an arm from the supervisor to a trunk halfway to
        its children, the trunk along them, a stub to each child (numpy, no per-edge tuples)."""
        if not children or not frame.pids:
            return np.zeros((0, 4))
        sup = np.fromiter(children, np.int64, len(children))
        counts = np.fromiter((len(cs) for cs in children.values()), np.int64, len(children))
        kid = np.fromiter((c for cs in children.values() for c in cs), np.int64, int(counts.sum()))
        par = np.repeat(sup, counts)
        pids = frame.pid_array
        order = np.argsort(pids)
        sorted_pids = pids[order]

        def index(q: IntArray) -> IntArray:
            at = np.minimum(np.searchsorted(sorted_pids, q), len(pids) - 1)
            return np.where(sorted_pids[at] == q, order[at], -1)

        a, b = index(par), index(kid)
        ok = (a >= 0) & (b >= 0)
        a, b = a[ok], b[ok]
        if not len(a):
            return np.zeros((0, 4))
        x, y = frame.x, frame.y
        xm = (x[a] + x[b]) / 2.0  # the trunk, halfway to the children
        stubs = np.column_stack([xm, y[b], x[b], y[b]])
        # one arm and one trunk per supervisor (edges are grouped by supervisor)
        starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]])
        p = a[starts]
        tm = xm[starts]
        lo = np.minimum(np.minimum.reduceat(y[b], starts), y[p])
        hi = np.maximum(np.maximum.reduceat(y[b], starts), y[p])
        arms = np.column_stack([x[p], y[p], tm, y[p]])
        trunks = np.column_stack([tm, lo, tm, hi])
        return np.vstack([arms, trunks, stubs])

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
        self,
        world: World,
        seq: int,
        pid: int = -1,
        count: int = 30,
        columns: int = 12,
        chain: Why | None = None,
    ) -> GraphFrame:
        """A sequence diagram of the last ``count`` messages up to ``seq`` (those of ``pid``
        when one is selected), with ``chain``'s why path over it: see
        :func:`cinema.views.sequence.sequence_frame`."""
        frame = GraphFrame("messages")
        pos = sequence_frame(self, frame, seq, pid, count, columns, chain)
        self._nodes(frame, world, pos, seq)
        return frame

    def names_for(self, pids: Sequence[int]) -> list[str]:
        return [self.names.get(p) or pid_text(p) for p in pids]
