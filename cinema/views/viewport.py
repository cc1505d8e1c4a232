"""What the timeline shows for a window of time and lanes, at pixel resolution (Qt-free).

The timeline draws one lane per process, grouped by the supervision tree
(:mod:`cinema.views.lanes`). For a visible window ``[t0, t1]`` and a range of rows,
:meth:`Viewport.frame` returns either individual event glyphs (when few events are visible) or
a density image of ``rows x pixels`` counts, plus the message arrows inside the window. Nothing
is computed for the whole session up front: the cost of a frame depends on what is visible
(Perfetto's UI draws tracks the same way).

- A window of at most :data:`EXACT_EVENTS` events is read event by event (a window of the
  session's columns, :meth:`TimelineSource.window`), and counted exactly.
- A wider one is drawn from the per-frame activity of each process (how many events each
  process acts in each frame of ~4,000 events, :class:`~cinema.model.activity.FrameLanes`,
  which the writer stores in the file), each frame's count spread evenly over its time span:
  exact at frame resolution, approximate below it -- and such a window holds over 40 frames
  per 100 pixels anyway. When few events of it are visible, their glyphs come from the events
  of each visible process (the session's index).

  The activity comes ordered by frame, so a window's entries are one slice of it, counted in
  one pass (a few ms per million entries: the first screen of a 10M-event session reads
  2.5 M). Once :meth:`Viewport.prepare` has sorted the entries by lane (a stable sort of all
  of them, ~0.1-0.2 s on that session: the window does it off the GUI thread after its first
  screen), a wide window reads only its visible lanes' entries.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from cinema.views.lanes import NO_PID, LaneLayout, LaneRow, ProcessLike, lane_order
from cinema.views.timeline_source import ArrayTimeline, TimelineSource

__all__ = [
    "ARROW_LIMIT",
    "EXACT_EVENTS",
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
#: Windows of at most this many events are counted event by event; wider ones from the
#: per-frame activity.
EXACT_EVENTS = 200_000
#: A window of more events than this draws no arrows (without pairing a single message).
ARROW_WINDOW_EVENTS = 50 * ARROW_LIMIT * 8
#: Rows covering more lanes than this find their glyphs in the window's events, not per lane.
LANE_GLYPH_LANES = 64
#: Few visible events of a wide window spread over at most this many frames are found by
#: reading those frames; over more, in the session's index of events by process.
LANE_GLYPH_FRAMES = 256

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


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


class _LaneTable:
    """The per-frame activity ordered by lane: entries of lane ``r`` are
    ``[starts[r], starts[r + 1])``, by frame."""

    __slots__ = ("count", "entries", "frame", "starts")

    def __init__(self, source: TimelineSource, layout: LaneLayout) -> None:
        lanes = source.lanes()
        ranks = layout.rank(lanes.pid)
        # entries come in frame order: a stable sort by lane keeps it inside each lane (a
        # 16-bit key sorts by radix)
        key = ranks.astype(np.uint16) if layout.lane_count < 0xFFFF else ranks
        order = np.argsort(key, kind="stable")
        self.frame = lanes.frame[order]
        self.count = lanes.events.astype(np.float64)[order]
        # lane r's entries start after those of the lanes before it (a count, not a search)
        self.starts = np.zeros(layout.lane_count + 2, np.int64)
        np.cumsum(np.bincount(ranks, minlength=layout.lane_count + 1)[: layout.lane_count + 1],
                  out=self.starts[1:])  # fmt: skip
        self.entries = len(lanes.frame)


class Viewport:
    """Selects and aggregates the events of a window of the timeline.

    Args:
        source: the events (:class:`~cinema.views.timeline_source.SessionTimeline` for a
            session).
        layout: the lanes.
        exact_events: windows of at most this many events are counted event by event.
    """

    def __init__(
        self, source: TimelineSource, layout: LaneLayout, *, exact_events: int = EXACT_EVENTS
    ) -> None:
        self.source = source
        self.layout = layout
        self.exact_events = exact_events
        self.t_first = source.t_first
        self.t_last = source.t_last
        self._table: _LaneTable | None = None
        self._table_lock = threading.Lock()
        self._messages: tuple[IntArray, IntArray, IntArray, IntArray, int] | None = None
        # (rows, activity entries, first row, grid of its rows x every frame): see warm()
        self._warm: tuple[list[LaneRow], int, int, FloatArray] | None = None

    @classmethod
    def from_arrays(
        cls,
        ts: npt.ArrayLike,
        kind: npt.ArrayLike,
        pid: npt.ArrayLike,
        layout: LaneLayout,
        messages: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        **options: int,
    ) -> Viewport:
        """A viewport over events held in arrays (``frame_events`` cuts them into frames)."""
        frame_events = options.pop("frame_events", 4096)
        return cls(ArrayTimeline(ts, kind, pid, messages, frame_events=frame_events), layout,
                   **options)  # fmt: skip

    # ---------------------------------------------------------------- messages

    @property
    def send_seq(self) -> IntArray:
        """SENDs of the paired messages, ascending (paired on first use)."""
        return self._paired()[0]

    @property
    def recv_seq(self) -> IntArray:
        """The outcome event of each message of :attr:`send_seq`."""
        return self._paired()[1]

    def _paired(self) -> tuple[IntArray, IntArray, IntArray, IntArray, int]:
        if self._messages is None:
            s, r = self.source.messages()
            n = self.source.event_count
            s, r = np.asarray(s, np.int64), np.asarray(r, np.int64)
            ok = (s >= 0) & (r >= 0) & (s < n) & (r < n)
            s, r = s[ok], r[ok]
            by_send = np.argsort(s, kind="stable")
            s, r = s[by_send], r[by_send]
            send_ts, recv_ts = self.source.at(s).ts, self.source.at(r).ts
            lat = recv_ts - send_ts
            self._messages = (s, r, send_ts, recv_ts, int(lat.max()) if len(lat) else 0)
        return self._messages

    # ---------------------------------------------------------------- the window

    def _frames(self, t0: int, t1: int) -> tuple[int, int]:
        """Frames ``[ka, kb)`` whose time spans meet ``[t0, t1]``."""
        spans = self.source.spans()
        ka = int(np.searchsorted(spans.t1, t0, side="left"))
        kb = int(np.searchsorted(spans.t0, t1, side="right"))
        return ka, max(ka, kb)

    def _events_between(self, ka: int, kb: int) -> int:
        spans = self.source.spans()
        if kb <= ka:
            return 0
        return int(spans.first[kb - 1] + spans.count[kb - 1] - spans.first[ka])

    def _window(self, ka: int, kb: int, t0: int, t1: int) -> tuple[int, IntArray, np.ndarray,
                                                                   np.ndarray]:  # fmt: skip
        """Events of frames ``[ka, kb)`` with ``t0 <= ts <= t1``: (first seq, ts, kind, pid)."""
        spans = self.source.spans()
        start = int(spans.first[ka])
        cols = self.source.window(start, int(spans.first[kb - 1] + spans.count[kb - 1]))
        a = int(np.searchsorted(cols.ts, t0, side="left"))
        b = int(np.searchsorted(cols.ts, t1, side="right"))
        return start + a, cols.ts[a:b], cols.kind[a:b], cols.pid[a:b]

    def _frames_of_lanes(self, lanes: IntArray, ka: int, kb: int) -> IntArray:
        """The frames in ``[ka, kb)`` where one of ``lanes`` acts (from the activity)."""
        tab = self._current_table()
        if tab is None:  # the window's slice of the activity, in frame order
            act = self.source.lanes()
            lo, hi = self._entry_slice(ka, kb)
            want = np.zeros(self.layout.lane_count + 1, bool)
            want[lanes] = True
            of_pid = want[self.layout.rank_of_pid]  # its last entry: unknown pids, not wanted
            f: IntArray = act.frame[lo:hi][np.take(of_pid, act.pid[lo:hi], mode="clip")]
            return f[np.r_[True, f[1:] != f[:-1]]] if len(f) else f
        got = [tab.frame[int(tab.starts[r]) : int(tab.starts[r + 1])] for r in lanes.tolist()]
        if not got:
            return np.zeros(0, np.int64)
        f = np.unique(np.concatenate(got))
        return f[(f >= ka) & (f < kb)]

    def prepare(self) -> None:
        """Sort the per-frame activity by lane, so that wide windows read only the entries of
        their visible lanes (until then, and after a live session grew past the sort, they
        read the slice of their frames: the same counts). Safe to call from another thread
        while the viewport draws; a second call with nothing new does nothing."""
        with self._table_lock:
            if self._current_table() is None:
                self._table = _LaneTable(self.source, self.layout)

    @property
    def prepared(self) -> bool:
        """Whether wide windows read the lane-sorted activity (see :meth:`prepare`)."""
        return self._current_table() is not None

    def _current_table(self) -> _LaneTable | None:
        tab = self._table
        if tab is None or tab.entries != len(self.source.lanes().frame):
            return None
        return tab

    def _entry_slice(self, ka: int, kb: int) -> tuple[int, int]:
        """The activity entries of frames ``[ka, kb)`` (they come ordered by frame)."""
        frame = self.source.lanes().frame
        return int(np.searchsorted(frame, ka)), int(np.searchsorted(frame, kb))

    def _lanes_of_rows(self, rows: list[LaneRow]) -> IntArray:
        if not rows:
            return np.zeros(0, np.int64)
        return np.concatenate([np.arange(r.lo, r.hi) for r in rows]).astype(np.int64)

    # ---------------------------------------------------------------- counts

    def row_counts(self, row_lo: int, row_hi: int, edges: IntArray) -> FloatArray:
        """Event counts ``(rows, len(edges) - 1)`` for rows ``[row_lo, row_hi)``: event ``e``
        counts in bin ``i`` when ``edges[i] <= ts[e] < edges[i + 1]``."""
        edges = np.asarray(edges, np.int64)
        nrows = max(min(row_hi, len(self.layout.rows)) - row_lo, 0)
        out = np.zeros((nrows, max(len(edges) - 1, 0)), np.float64)
        if not nrows or len(edges) < 2 or not self.source.event_count:
            return out
        t0, t1 = int(edges[0]), int(edges[-1]) - 1
        ka, kb = self._frames(t0, t1)
        if kb <= ka:
            return out
        if self._events_between(ka, kb) <= self.exact_events:
            _, ts, _, pid = self._window(ka, kb, t0, t1)
            return self._exact_counts(ts, pid, row_lo, nrows, edges)
        return self._summary_counts(row_lo, nrows, edges, ka, kb)

    def _exact_counts(
        self, ts: IntArray, pid: np.ndarray, row_lo: int, nrows: int, edges: IntArray
    ) -> FloatArray:
        row = self.layout.row_of_rank[self.layout.rank(pid)] - row_lo
        b = np.searchsorted(edges, ts, side="right") - 1
        ok = (row >= 0) & (row < nrows) & (b >= 0) & (b < len(edges) - 1)
        bins = len(edges) - 1
        flat = np.bincount(row[ok] * bins + b[ok], minlength=nrows * bins)
        return flat.reshape(nrows, bins).astype(np.float64)

    def _summary_counts(
        self, row_lo: int, nrows: int, edges: IntArray, ka: int, kb: int
    ) -> FloatArray:
        """Counts from the per-frame activity, each frame's events spread evenly over its span
        ``[t0, t1 + 1)``."""
        spans = self.source.spans()
        nf = kb - ka
        grid = self._grid(row_lo, nrows, ka, kb)  # events per (row, frame of the window)
        cum = np.zeros((nrows, nf + 1), np.float64)
        np.cumsum(grid, axis=1, out=cum[:, 1:])
        # the events before each edge: whole frames ending before it, plus the covered share
        # of the frame it falls in
        f0 = spans.t0[ka:kb].astype(np.float64)
        f1 = spans.t1[ka:kb].astype(np.float64) + 1.0
        e = edges.astype(np.float64)
        j = np.searchsorted(f1, e, side="right")  # frames wholly before the edge
        jj = np.minimum(j, nf - 1)
        inside = (j < nf) & (f0[jj] < e)
        frac = np.where(inside, (e - f0[jj]) / (f1[jj] - f0[jj]), 0.0)
        at = cum[:, j] + grid[:, jj] * frac[None, :]
        return np.diff(at, axis=1)

    def warm(self, rows: int) -> None:
        """Count the events of the first ``rows`` rows in every frame, for the next wide
        frames of those rows: a first screen of the whole session draws them (one pass over
        all the activity, ~20-60 ms on 10M events; the window's loader thread calls this
        while Qt is imported). Kept until the rows or the activity change."""
        nrows = min(rows, len(self.layout.rows))
        entries = len(self.source.lanes().frame)
        grid = self._count_grid(0, nrows, 0, self.source.spans().frames)
        self._warm = (self.layout.rows, entries, 0, grid)

    def _grid(self, row_lo: int, nrows: int, ka: int, kb: int) -> FloatArray:
        """Events per (row, frame) for rows ``[row_lo, row_lo + nrows)`` and frames
        ``[ka, kb)``: a slice of the rows :meth:`warm` counted, else counted now."""
        w = self._warm
        if w is not None and w[0] is self.layout.rows and w[1] == len(self.source.lanes().frame):
            at = row_lo - w[2]
            if at >= 0 and at + nrows <= len(w[3]) and kb <= w[3].shape[1]:
                return w[3][at : at + nrows, ka:kb].copy()
        return self._count_grid(row_lo, nrows, ka, kb)

    def _count_grid(self, row_lo: int, nrows: int, ka: int, kb: int) -> FloatArray:
        """:meth:`_grid`, counted: from the lane-sorted activity when :meth:`prepare` made
        it, else in one pass over the window's slice of the frame-ordered activity."""
        nf = kb - ka
        tab = self._current_table()
        if tab is None:
            act = self.source.lanes()
            lo, hi = self._entry_slice(ka, kb)
            # pid -> its row in the window, nrows when not shown (a table of a few thousand
            # entries: the millions of entries are looked up once, into 16 bits)
            shown = self.layout.row_of_pid_table() - row_lo
            shown[(shown < 0) | (shown >= nrows)] = nrows
            row = np.take(shown.astype(np.int16 if nrows < 0x7FFF else np.int32),
                          act.pid[lo:hi], mode="clip")  # fmt: skip
            sel = np.flatnonzero(row < nrows)
            key = row[sel].astype(np.int64) * nf + (act.frame[lo:hi][sel] - ka)
            flat = np.bincount(key, weights=act.events[lo:hi][sel], minlength=nrows * nf)
            return flat.astype(np.float64, copy=False).reshape(nrows, nf)
        rows = self.layout.rows[row_lo : row_lo + nrows]
        grid = np.zeros((nrows, nf), np.float64)
        for i, r in enumerate(rows):
            lo, hi = int(tab.starts[r.lo]), int(tab.starts[r.hi])
            if hi <= lo:
                continue
            f, c = tab.frame[lo:hi], tab.count[lo:hi]
            if r.hi - r.lo == 1:  # one lane: its entries are by frame
                a, b = np.searchsorted(f, ka), np.searchsorted(f, kb)
                f, c = f[a:b], c[a:b]
            else:
                keep = (f >= ka) & (f < kb)
                f, c = f[keep], c[keep]
            grid[i] = np.bincount(f - ka, weights=c, minlength=nf)
        return grid

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
        if row_hi <= row_lo or not self.source.event_count:
            return Frame(t0i, t1i, row_lo, row_hi, "empty", 0)
        ka, kb = self._frames(t0i, t1i)
        if kb <= ka:
            return Frame(t0i, t1i, row_lo, row_hi, "empty", 0)
        window_events = self._events_between(ka, kb)
        edges = np.linspace(t0i, t1i + 1, max(pixels, 1) + 1).astype(np.int64)
        glyphs_at_most = min(glyph_limit, GLYPHS_PER_PIXEL * max(pixels, 1))
        nrows = row_hi - row_lo
        if window_events <= self.exact_events:
            first, ts, kind, pid = self._window(ka, kb, t0i, t1i)
            row = self.layout.row_of_rank[self.layout.rank(pid)]
            shown = (row >= row_lo) & (row < row_hi)
            visible = int(shown.sum())
            if visible <= glyphs_at_most:
                sel = np.flatnonzero(shown)
                fr = Frame(t0i, t1i, row_lo, row_hi, "glyphs", visible, glyph_seq=sel + first,
                           glyph_x=ts[sel].astype(np.int64), glyph_row=row[sel],
                           glyph_kind=kind[sel])  # fmt: skip
            else:
                fr = Frame(t0i, t1i, row_lo, row_hi, "density", visible)
                fr.density = self._exact_counts(ts, pid, row_lo, nrows, edges)
        else:
            density = self._summary_counts(row_lo, nrows, edges, ka, kb)
            visible = round(float(density.sum()))
            if visible <= glyphs_at_most:
                fr = self._lane_glyphs(t0i, t1i, row_lo, row_hi, ka, kb)
            else:
                fr = Frame(t0i, t1i, row_lo, row_hi, "density", visible, density=density)
        fr.arrows = self.arrows(t0i, t1i, row_lo, row_hi)
        return fr

    def _lane_glyphs(self, t0: int, t1: int, row_lo: int, row_hi: int, ka: int, kb: int) -> Frame:
        """Glyphs of a wide window with few visible events: each visible process's events."""
        rows = self.layout.rows[row_lo:row_hi]
        if any(r.hi - r.lo > LANE_GLYPH_LANES for r in rows):
            first, ts, kind, pid = self._window(ka, kb, t0, t1)
            row = self.layout.row_of_rank[self.layout.rank(pid)]
            sel = np.flatnonzero((row >= row_lo) & (row < row_hi))
            return Frame(t0, t1, row_lo, row_hi, "glyphs", len(sel), glyph_seq=sel + first,
                         glyph_x=ts[sel].astype(np.int64), glyph_row=row[sel],
                         glyph_kind=kind[sel])  # fmt: skip
        lanes = self._lanes_of_rows(rows)
        frames = self._frames_of_lanes(lanes, ka, kb)
        if len(frames) <= LANE_GLYPH_FRAMES:
            # the few frames those processes act in: read just them
            want = np.zeros(self.layout.lane_count + 1, bool)
            want[lanes] = True
            parts = []
            cuts = np.flatnonzero(np.diff(frames) != 1) + 1
            spans = self.source.spans()
            for run in np.split(frames, cuts) if len(frames) else []:
                a = int(spans.first[run[0]])
                cols = self.source.window(a, int(spans.first[run[-1]] + spans.count[run[-1]]))
                parts.append(np.flatnonzero(want[self.layout.rank(cols.pid)]) + a)
        else:  # spread over many frames: the session's index of events by process
            spans = self.source.spans()
            lo = int(spans.first[ka])
            hi = int(spans.first[kb - 1] + spans.count[kb - 1])
            order = self.layout.order
            parts = []
            for rank in lanes.tolist():
                seqs = self.source.lane_events(order[rank])
                parts.append(seqs[np.searchsorted(seqs, lo) : np.searchsorted(seqs, hi)])
        seq = np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        cols = self.source.at(seq)
        keep = (cols.ts >= t0) & (cols.ts <= t1)
        seq = seq[keep]
        return Frame(
            t0, t1, row_lo, row_hi, "glyphs", len(seq), glyph_seq=seq,
            glyph_x=cols.ts[keep].astype(np.int64),
            glyph_row=self.layout.row_of_rank[self.layout.rank(cols.pid[keep])],
            glyph_kind=cols.kind[keep],
        )  # fmt: skip

    def arrows(
        self, t0: int, t1: int, row_lo: int, row_hi: int, limit: int = ARROW_LIMIT
    ) -> IntArray:
        """Messages in flight during ``[t0, t1]`` between visible rows: ``(x0, row0, x1, row1)``.

        Empty when more than ``limit`` would be drawn (they would be an unreadable smear), and
        for windows of more than :data:`ARROW_WINDOW_EVENTS` events (without pairing any).
        """
        none = np.zeros((0, 4), np.int64)
        ka, kb = self._frames(t0, t1)
        if kb <= ka or self._events_between(ka, kb) > ARROW_WINDOW_EVENTS:
            return none
        send_seq, recv_seq, send_ts, recv_ts, max_latency = self._paired()
        if not len(send_seq):
            return none
        a = int(np.searchsorted(send_ts, t0 - max_latency, side="left"))
        b = int(np.searchsorted(send_ts, t1, side="right"))
        if b - a > 50 * limit:
            return none
        s, r = send_seq[a:b], recv_seq[a:b]
        x0, x1 = send_ts[a:b], recv_ts[a:b]
        keep = x1 >= t0
        s_cols, r_cols = self.source.at(s), self.source.at(r)
        row_s = self.layout.row_of_rank[self.layout.rank(s_cols.pid)]
        row_r = self.layout.row_of_rank[self.layout.rank(r_cols.pid)]
        keep &= (row_s >= row_lo) & (row_s < row_hi) & (row_r >= row_lo) & (row_r < row_hi)
        keep &= row_s != row_r
        if int(keep.sum()) > limit:
            return none
        return np.stack([x0[keep], row_s[keep], x1[keep], row_r[keep]], axis=1).astype(np.int64)

    # ---------------------------------------------------------------- stepping

    def step_in_lane(self, pid: int, seq: int, direction: int) -> int | None:
        """The next (``direction`` > 0) or previous event of process ``pid`` strictly after /
        before ``seq``; None when there is none (the session's index of events by process)."""
        if pid == NO_PID:
            return None
        seqs = self.source.lane_events(pid)
        if direction > 0:
            i = int(np.searchsorted(seqs, seq, side="right"))
            return int(seqs[i]) if i < len(seqs) else None
        i = int(np.searchsorted(seqs, seq, side="left")) - 1
        return int(seqs[i]) if i >= 0 else None
