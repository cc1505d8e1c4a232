"""The why path over the process graph's messages view: the causal chain the Why panel shows
(:func:`cinema.model.causality.why`), in its colours (causes purple, effects teal), drawn from
the frame's ``why_edges``, ``why_dots`` and ``why_pids`` (:mod:`cinema.views.sequence`): a
thick line over each step (over the message's arrow when the step is a message taken), a dot
on every event of the chain, a ring around the lifeline head of every process it passes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from cinema.ui._layers import EMPTY, show_curve, show_points
from cinema.ui.why_path import BACK_COLOR, FORWARD_COLOR
from cinema.views.graphview import GraphFrame
from cinema.views.sequence import WHY_SIDES

__all__ = ["WhyOverlay"]

_COLORS = {"back": BACK_COLOR, "forward": FORWARD_COLOR}


class WhyOverlay:
    """The pyqtgraph items of the why path in one graph plot (above edges, below labels)."""

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.lines: dict[str, pg.PlotCurveItem] = {}
        self.dots: dict[str, pg.ScatterPlotItem] = {}
        self.rings: dict[str, pg.ScatterPlotItem] = {}
        for side in WHY_SIDES:
            color = _COLORS[side]
            line = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(color, width=3.5))
            line.setSegmentedLineMode("on")
            dot = pg.ScatterPlotItem(
                size=9, symbol="o", pen=pg.mkPen("w", width=1), brush=pg.mkBrush(color)
            )
            ring = pg.ScatterPlotItem(symbol="o", pen=pg.mkPen(color, width=3), brush=None)
            for z, item in ((3, line), (4, dot), (2, ring)):
                item.setZValue(z)
                item.setVisible(False)  # shown with a why path
                plot.addItem(item)
            self.lines[side], self.dots[side], self.rings[side] = line, dot, ring
        #: Items drawn per layer by the last :meth:`draw` (for tests).
        self.drawn: dict[str, int] = {}
        # the items that show nothing now: emptying them again costs a setData each (~0.1 ms
        # a scatter; six per frame of a view without a why path, on every playback step)
        self._empty: set[int] = set()

    def _blank(self, item: pg.PlotCurveItem | pg.ScatterPlotItem) -> None:
        """Show nothing in ``item`` (no call when it already shows nothing)."""
        if id(item) not in self._empty:
            self._empty.add(id(item))
            if isinstance(item, pg.PlotCurveItem):
                show_curve(item, EMPTY, EMPTY)
            else:
                show_points(item, EMPTY, EMPTY)

    def draw(self, frame: GraphFrame, sizes: np.ndarray) -> None:
        """Draw ``frame``'s why path (nothing when it has none); ``sizes`` are the node sizes
        in pixels as drawn."""
        for side in WHY_SIDES:
            seg = frame.why_edges.get(side, np.zeros((0, 4)))
            line, dot, ring = self.lines[side], self.dots[side], self.rings[side]
            if len(seg):
                xs = np.empty(2 * len(seg))
                ys = np.empty(2 * len(seg))
                xs[0::2], xs[1::2] = seg[:, 0], seg[:, 2]
                ys[0::2], ys[1::2] = seg[:, 1], seg[:, 3]
                self._empty.discard(id(line))
                show_curve(line, xs, ys)
            else:
                self._blank(line)
            pts = frame.why_dots.get(side, np.zeros((0, 2)))
            if len(pts):
                self._empty.discard(id(dot))
                show_points(dot, pts[:, 0], pts[:, 1])
            else:
                self._blank(dot)
            on = np.isin(frame.pid_array, np.asarray(frame.why_pids.get(side, []), np.int64))
            if side == "forward":  # a process on both sides keeps the causes' ring
                on &= ~np.isin(
                    frame.pid_array, np.asarray(frame.why_pids.get("back", []), np.int64)
                )
            if on.any():
                size = (sizes[on] if len(sizes) == len(on) else np.full(int(on.sum()), 10.0)) + 10
                self._empty.discard(id(ring))
                show_points(ring, frame.x[on], frame.y[on], size=size)
            else:
                self._blank(ring)
            self.drawn[f"{side}_edges"] = len(seg)
            self.drawn[f"{side}_dots"] = len(pts)
            self.drawn[f"{side}_rings"] = int(on.sum())
