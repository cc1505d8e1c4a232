"""The process graph's *messages* camera: a sequence diagram of the last messages (Qt-free).

One column (lifeline) per process, its name at the top; one arrow per message from the
sender's column at its SEND to the receiver's column at its RECEIVE, with a head at the
receiver and the message's type as its label. Rows follow event order: every SEND and RECEIVE
shown gets its own row, so arrows never lie on top of each other and a message that waited
long crosses the ones delivered meanwhile. A message still in flight at the playhead ends at
the playhead's row in a dot. A message a process sends itself is a small loop beside its
lifeline.

A *why path* (:func:`cinema.model.causality.why`) given to :func:`sequence_frame` is drawn over
the diagram: its messages are shown whatever else is (up to the playhead), its processes get
lifelines first, every event of the chain up to the playhead is a point on its lifeline (its
own row), and each step joins its event to the one it explains, causes and effects apart
(:attr:`~cinema.views.graphview.GraphFrame.why_edges`, ``why_dots``, ``why_nodes``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from cinema.views.layout import Point, sequence_layout

if TYPE_CHECKING:  # the graph model imports this module
    from cinema.model.causality import Why
    from cinema.views.graphview import GraphFrame, GraphModel

__all__ = ["ROW", "WHY_SIDES", "sequence_frame"]

ROW = 1.0  # graph units per event row
_LOOP = 0.2  # width of a self-message's loop, in columns
_STAGGER = 1.2  # rows between the two heights of lifeline heads
#: The two halves of a why path: what led to the event, and what it caused.
WHY_SIDES = ("back", "forward")


def sequence_frame(
    model: GraphModel,
    frame: GraphFrame,
    seq: int,
    pid: int,
    count: int,
    columns: int,
    chain: Why | None = None,
) -> dict[int, Point]:
    """Fill ``frame``'s edges, arrows, dots and labels (and ``chain``'s path, up to ``seq``);
    return the lifeline heads' positions."""
    hi = int(np.searchsorted(model.send_seq, seq, side="right"))
    s_all, r_all = model.send_seq[:hi], model.recv_seq[:hi]
    if pid >= 0:
        mine = (model.pid[s_all] == pid) | (model.pid[r_all] == pid)
        s_all, r_all = s_all[mine], r_all[mine]
    s, r = s_all[-count:], r_all[-count:]
    steps = _chain_steps(chain, seq)
    path = np.unique(np.array([e for st in steps.values() for pair in st for e in pair], np.int64))
    if len(path):  # the chain's messages, however long ago they were sent
        rows = np.searchsorted(model.send_seq[:hi], path)
        rows = rows[rows < hi]
        rows = rows[np.isin(model.send_seq[rows], path) & ~np.isin(model.send_seq[rows], s)]
        s = np.concatenate([s, model.send_seq[rows]])
        r = np.concatenate([r, model.recv_seq[rows]])
        order = np.argsort(s, kind="stable")
        s, r = s[order], r[order]
    senders, receivers = model.pid[s].tolist(), model.pid[r].tolist()
    order_pids: list[int] = [pid] if pid >= 0 else []
    order_pids += model.pid[path].tolist()  # the chain's processes get the first lifelines
    for a, b in zip(senders, receivers, strict=True):
        order_pids.extend((a, b))
    cols = list(sequence_layout(order_pids))[:columns]
    colx = {p: float(i) for i, p in enumerate(cols)}
    # heads of neighbouring lifelines alternate between two heights: their names do not collide
    pos = {p: (colx[p], -_STAGGER * (i % 2)) for i, p in enumerate(cols)}
    if not len(s) and not len(path):
        return pos
    # one row per event shown (and one for the playhead while a message is in flight)
    delivered = r <= seq
    event_rows = np.unique(
        np.concatenate([s, r[delivered], path, [seq] if (~delivered).any() else []])
    )
    rank = {int(e): i for i, e in enumerate(event_rows.tolist())}

    def y_of(event: int) -> float:
        return (rank[event] + 1) * ROW

    edges, recent, heads, dots = [], [], [], []
    texts: list[tuple[float, float, str]] = []
    now = float(model.ts[seq]) if seq >= 0 else 0.0
    for q_s, q_r, a, b, done in zip(
        s.tolist(), r.tolist(), senders, receivers, delivered.tolist(), strict=True
    ):
        if a not in colx or b not in colx:
            continue
        xa, xb, y0 = colx[a], colx[b], y_of(q_s)
        label = model.message_label(q_s) if model.message_label is not None else ""
        if not done:  # in flight: drawn up to the playhead, a dot at its head
            t0, t1 = float(model.ts[q_s]), float(model.ts[q_r])
            f = min(max((now - t0) / (t1 - t0), 0.0), 1.0) if t1 > t0 else 0.5
            y_now = y_of(seq)
            xh = xa + (xb - xa) * f if a != b else xa + _LOOP
            recent.append((xa, y0, xh, y_now))
            dots.append((xh, y_now))
            texts.append(((xa + xh) / 2, (y0 + y_now) / 2, label))
            continue
        y1 = y_of(q_r)
        if a == b:  # a loop beside the lifeline
            xl = xa + _LOOP
            edges += [(xa, y0, xl, y0), (xl, y0, xl, y1), (xl, y1, xa, y1)]
            heads.append((xa, y1, xl, y1))
            texts.append((xl + _LOOP, (y0 + y1) / 2 + 0.35 * ROW, label))  # beside the loop
        else:
            edges.append((xa, y0, xb, y1))
            heads.append((xb, y1, xa, y0))
            texts.append(((xa + xb) / 2, (y0 + y1) / 2, label))
    depth = (len(event_rows) + 1) * ROW
    lifelines = [(x, y, x, depth) for x, y in pos.values()]
    frame.edges = np.array(lifelines, np.float64).reshape(-1, 4)
    frame.recent = np.array(edges + recent, np.float64).reshape(-1, 4)  # the messages
    frame.dots = np.array(dots, np.float64).reshape(-1, 2)
    frame.heads = np.array(heads, np.float64).reshape(-1, 4)
    frame.texts = [t for t in texts if t[2]]
    if steps:
        _draw_chain(model, frame, steps, colx, y_of)
    return pos


def _chain_steps(chain: Why | None, seq: int) -> dict[str, list[tuple[int, ...]]]:
    """Per side, the chain's events up to ``seq`` as ``(event,)`` and its steps as
    ``(earlier, later)`` pairs of events (both up to ``seq``)."""
    if chain is None:
        return {}
    out: dict[str, list[tuple[int, ...]]] = {}
    for side, steps in zip(WHY_SIDES, (chain.backward, chain.forward), strict=True):
        got: list[tuple[int, ...]] = [(st.seq,) for st in steps if 0 <= st.seq <= seq]
        got += [
            (min(st.seq, st.cause), max(st.seq, st.cause))
            for st in steps
            if st.cause >= 0 and max(st.seq, st.cause) <= seq
        ]
        if got:
            out[side] = got
    return out


def _draw_chain(
    model: GraphModel,
    frame: GraphFrame,
    steps: dict[str, list[tuple[int, ...]]],
    colx: dict[int, float],
    y_of: Callable[[int], float],
) -> None:
    """The why path: a point per event on its lifeline, a segment per step (over the message's
    arrow when the step is a message taken), the chain's processes per side."""
    for side, items in steps.items():
        points, segments = [], []
        for item in items:
            xs = [colx.get(int(model.pid[e])) for e in item]
            if any(x is None for x in xs):
                continue  # a process without a lifeline (past the column limit)
            if len(item) == 1:
                points.append((xs[0], y_of(item[0])))
            else:
                segments.append((xs[0], y_of(item[0]), xs[1], y_of(item[1])))
        frame.why_dots[side] = np.array(points, np.float64).reshape(-1, 2)
        frame.why_edges[side] = np.array(segments, np.float64).reshape(-1, 4)
        frame.why_pids[side] = sorted({int(model.pid[e]) for item in items for e in item})
