"""The process graph's *messages* camera: a sequence diagram of the last messages (Qt-free).

One column (lifeline) per process, its name at the top; one arrow per message from the
sender's column at its SEND to the receiver's column at its RECEIVE, with a head at the
receiver and the message's type as its label. Rows follow event order: every SEND and RECEIVE
shown gets its own row, so arrows never lie on top of each other and a message that waited
long crosses the ones delivered meanwhile. A message still in flight at the playhead ends at
the playhead's row in a dot. A message a process sends itself is a small loop beside its
lifeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cinema.views.layout import Point, sequence_layout

if TYPE_CHECKING:  # the graph model imports this module
    from cinema.views.graphview import GraphFrame, GraphModel

__all__ = ["ROW", "sequence_frame"]

ROW = 1.0  # graph units per event row
_LOOP = 0.2  # width of a self-message's loop, in columns
_STAGGER = 1.2  # rows between the two heights of lifeline heads


def sequence_frame(
    model: GraphModel, frame: GraphFrame, seq: int, pid: int, count: int, columns: int
) -> dict[int, Point]:
    """Fill ``frame``'s edges, arrows, dots and labels; return the lifeline heads' positions."""
    hi = int(np.searchsorted(model.send_seq, seq, side="right"))
    s_all, r_all = model.send_seq[:hi], model.recv_seq[:hi]
    if pid >= 0:
        mine = (model.pid[s_all] == pid) | (model.pid[r_all] == pid)
        s_all, r_all = s_all[mine], r_all[mine]
    s, r = s_all[-count:], r_all[-count:]
    senders, receivers = model.pid[s].tolist(), model.pid[r].tolist()
    order: list[int] = [pid] if pid >= 0 else []
    for a, b in zip(senders, receivers, strict=True):
        order.extend((a, b))
    cols = list(sequence_layout(order))[:columns]
    colx = {p: float(i) for i, p in enumerate(cols)}
    # heads of neighbouring lifelines alternate between two heights: their names do not collide
    pos = {p: (colx[p], -_STAGGER * (i % 2)) for i, p in enumerate(cols)}
    if not len(s):
        return pos
    # one row per event shown (and one for the playhead while a message is in flight)
    delivered = r <= seq
    rows = np.unique(np.concatenate([s, r[delivered], [seq] if (~delivered).any() else []]))
    rank = {int(e): i for i, e in enumerate(rows.tolist())}

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
    depth = (len(rows) + 1) * ROW
    lifelines = [(x, y, x, depth) for x, y in pos.values()]
    frame.edges = np.array(lifelines, np.float64).reshape(-1, 4)
    frame.recent = np.array(edges + recent, np.float64).reshape(-1, 4)  # the messages
    frame.dots = np.array(dots, np.float64).reshape(-1, 2)
    frame.heads = np.array(heads, np.float64).reshape(-1, 4)
    frame.texts = [t for t in texts if t[2]]
    return pos
