"""The process graph with three camera views: process-centric, message-centric, supervision.

A thin view over :class:`cinema.views.graphview.GraphModel`: each playhead move asks the model for
a :class:`~cinema.views.graphview.GraphFrame` and draws its arrays (one scatter layer per status,
all edges as one line item, message dots). Layouts come from the model and are kept between
frames; nothing here lays anything out.

Only what shows is drawn: the nodes and edges inside the view, one node per pixel and one edge
per distinct pair of pixel end points (:mod:`cinema.views.graphpixels`), so a 10,000-process
tree in a small dock costs what its few hundred visible pixels cost. A layer whose picked
arrays did not change is not touched (no repaint of it); zooming or panning only re-picks.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from cinema.model.world import STATUSES
from cinema.ui._deferred import DeferredRefresh
from cinema.ui.state import ViewState
from cinema.ui.theme import HIGHLIGHT, STATUS_COLORS, THEMES, Theme
from cinema.views.graphpixels import STATUS_RANK, PixelView, pick_nodes, pick_segments
from cinema.views.graphview import GraphFrame, GraphModel

__all__ = ["VIEWS", "ProcessGraphWidget"]

VIEWS = {"process": "Process", "messages": "Messages", "supervision": "Supervision"}
LABEL_LIMIT = 150  # beyond this many nodes only the selected and restarted ones are labelled


def graph_model(state: ViewState) -> GraphModel:
    sk = state.skeleton
    names = {pid: p.name for pid, p in state.session.processes.items()}
    vp = state.viewport
    return GraphModel(sk.ts, sk.kind, sk.pid, sk.peer, vp.send_seq, vp.recv_seq, names)


class ProcessGraphWidget(QWidget):
    """Process graph; ``view`` is one of :data:`VIEWS`."""

    def __init__(
        self,
        state: ViewState,
        model: GraphModel | None = None,
        theme: Theme = THEMES["light"],
        view: str = "supervision",
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.state = state
        self.model = model if model is not None else graph_model(state)
        self.theme = theme
        self.view = view
        self.frame: GraphFrame | None = None
        self.redraws = 0  # frames computed (playhead, selection, view changes)
        self.drawn: dict[str, int] = {}  # items per layer after the last pick (for tests)
        self._signatures: dict[int, bytes] = {}  # id(item) -> what it shows now
        self._size = np.zeros(0)
        self._label_shows: dict[int, tuple[str, str, float, float]] = {}

        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        self.buttons = QButtonGroup(self)
        for key, text in VIEWS.items():
            b = QPushButton(text)
            b.setCheckable(True)
            b.setChecked(key == view)
            b.setProperty("view", key)
            self.buttons.addButton(b)
            bar.addWidget(b)
        self.buttons.buttonClicked.connect(lambda b: self.set_view(b.property("view")))
        self.caption = QLabel()
        # a long caption must not widen the dock: it is cut, and the tooltip has it all
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.caption, 1)

        self.plot = pg.PlotWidget()
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.getViewBox().invertY(True)
        self.edges = pg.PlotCurveItem(connect="pairs")
        self.recent = pg.PlotCurveItem(connect="pairs")
        for curve in (self.edges, self.recent):
            curve.setSegmentedLineMode("on")  # drawLines, not one huge QPainterPath
            self.plot.addItem(curve)
        self.rings = pg.ScatterPlotItem(pen=None, brush=None, symbol="o")
        self.plot.addItem(self.rings)
        self.nodes: dict[str, pg.ScatterPlotItem] = {}
        for status, color in STATUS_COLORS.items():
            item = pg.ScatterPlotItem(pen=None, brush=pg.mkBrush(color), symbol="o", hoverable=True)
            item.sigClicked.connect(self._on_clicked)
            self.plot.addItem(item)
            self.nodes[status] = item
        self.dots = pg.ScatterPlotItem(size=7, pen=None, symbol="o")
        self.plot.addItem(self.dots)
        self.labels: list[pg.TextItem] = []
        self._label_font = QFont(self.font())  # the UI's font (QFont("") may pick a serif)
        self._label_font.setPointSizeF(8)
        self._label_px: dict[int, float] = {}  # node index -> its label's width in pixels
        self._auto_fit = True  # refit on resize until the user pans or zooms
        self.plot.getViewBox().sigRangeChangedManually.connect(self._on_manual_range)
        self.legend = QLabel()
        self.legend.setWordWrap(True)  # wraps in a narrow dock instead of widening it
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setText(
            "<small>"
            + " ".join(
                f"<span style='color:{c}'>●</span>&nbsp;{s}" for s, c in STATUS_COLORS.items()
            )
            + " · <span style='color:#ff8c00'>◯</span>&nbsp;restarted · (n) mailbox</small>"
        )

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.legend)

        self._last_view_shape: tuple[str, int, int] | None = None
        # a seek and a selection arrive together: redraw once per event-loop turn, on screen
        self._pending = DeferredRefresh(self, self.refresh)
        state.sigPosition.connect(self._pending.request)
        state.sigProcess.connect(self._pending.request)
        state.sigHighlight.connect(self._pending.request)
        # zoom, pan, resize: the same frame, picked again for the new pixels
        self._repick = DeferredRefresh(self, self.draw)
        self.plot.getViewBox().sigRangeChanged.connect(self._repick.request)
        self.plot.getViewBox().sigResized.connect(self._repick.request)
        state.sigGrown.connect(self._on_grown)
        self.apply_theme(theme)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.plot.setBackground(theme.background)
        grey = QColor(theme.foreground)
        grey.setAlpha(90)
        self.edges.setPen(pg.mkPen(grey, width=1))
        accent = QColor(theme.accent)
        accent.setAlpha(170)
        self.recent.setPen(pg.mkPen(accent, width=1.5))
        self.dots.setBrush(pg.mkBrush(theme.accent))
        self._ring_pen = pg.mkPen("#ff8c00", width=2)
        self._signatures.clear()  # pens and colours changed: draw everything again
        self._label_shows.clear()
        self.refresh()

    def _on_grown(self, _n: int) -> None:
        # a live session grew: the model's columns and message pairs are the old, shorter ones
        self.model = graph_model(self.state)
        self._last_view_shape = None
        self._pending.request()

    def set_view(self, view: str) -> None:
        if view not in VIEWS:
            raise ValueError(f"unknown graph view {view!r} (valid: {', '.join(VIEWS)})")
        self.view = view
        for b in self.buttons.buttons():
            b.setChecked(b.property("view") == view)
        self._last_view_shape = None
        self.refresh()

    # ---------------------------------------------------------------- drawing

    def compute(self) -> GraphFrame:
        st = self.state
        world = st.world()
        if self.view == "supervision":
            return self.model.supervision(world, st.seq)
        if self.view == "process":
            return self.model.process_centric(world, st.seq, st.pid)
        return self.model.message_centric(world, st.seq, st.pid)

    def refresh(self, *_args: Any) -> None:
        """Ask the model for the frame at the playhead and draw it."""
        self._pending.done()
        fr = self.compute()
        self.frame = fr
        self.redraws += 1
        n = len(fr.pids)
        size = (
            np.clip(10 + 3 * np.sqrt(fr.mailbox.astype(np.float64)), 10, 34) if n else np.zeros(0)
        )
        if n > 2000:
            size = size * 0.5
        # whole pixels: pyqtgraph renders each (symbol, size, brush) once into an atlas and
        # rebuilds it when a new one appears; sizes that differ by a fraction made that happen
        # on every move (~15 ms a paint)
        self._size = np.round(size)
        shape = (self.view, n, self.state.pid if self.view != "supervision" else -1)
        if shape != self._last_view_shape:
            self._last_view_shape = shape
            self._auto_fit = True
            self._draw_labels(fr, *self._marked(fr))  # the fit makes room for the labels
            self.fit_view()  # before drawing: what is picked depends on the view
        self.draw()
        names = {"supervision": "supervision tree", "process": "neighbours of the selection",
                 "messages": "last messages (sequence diagram)"}  # fmt: skip
        hl = self.state.highlighted_pids()
        note = (
            f" · <span style='color:{HIGHLIGHT}'>◯</span> highlighted: "
            + html.escape(", ".join(self.state.process_label(p) for p in hl))
            if hl
            else ""
        )
        self.caption.setText(
            f"<small>{names[self.view]} · {n} processes · event #{self.state.seq:,}{note}</small>"
        )
        self.caption.setToolTip(self.caption.text())

    def pixel_view(self) -> PixelView:
        vb = self.plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        return PixelView(x0, x1, y0, y1, max(vb.width(), 1.0), max(vb.height(), 1.0))

    def draw(self, *_args: Any) -> None:
        """Draw the current frame: what is inside the view, at pixel resolution."""
        self._repick.done()
        fr = self.frame
        if fr is None:
            return
        pv = self.pixel_view()
        size = self._size
        code = fr.status_code
        pids = np.asarray(fr.pids, dtype=np.int64)
        shown = pick_nodes(fr.x, fr.y, size, STATUS_RANK[code], pv)
        self.drawn = {"nodes": len(shown)}
        for s, item in self.nodes.items():
            sel = shown[code[shown] == STATUSES.index(s)]
            self._set_points(item, fr.x[sel], fr.y[sel], size[sel], pids[sel])
        ring_sel, is_sel = self._marked(fr)
        is_hl = self.highlighted_mask(fr)
        rx = np.concatenate([fr.x[ring_sel], fr.x[is_sel], fr.x[is_hl]])
        ry = np.concatenate([fr.y[ring_sel], fr.y[is_sel], fr.y[is_hl]])
        rs = np.concatenate([size[ring_sel] + 8, size[is_sel] + 8, size[is_hl] + 14])
        counts = (int(ring_sel.sum()), int(is_sel.sum()), int(is_hl.sum()))
        sig = self._signature(rx, ry, rs, np.array(counts), self.theme.accent)
        if self._changed(self.rings, sig):
            pens = (
                [self._ring_pen] * counts[0]
                + [pg.mkPen(self.theme.accent, width=2)] * counts[1]
                + [pg.mkPen(HIGHLIGHT, width=3)] * counts[2]
            )
            self.rings.setData(x=rx, y=ry, size=rs, pen=pens, brush=None)
        self.drawn["highlighted"] = counts[2]
        edges = fr.edges[pick_segments(fr.edges, pv)]
        self.drawn["edges"] = len(edges)
        self._set_lines(self.edges, edges)
        self._set_lines(self.recent, fr.recent)
        self._set_points(self.dots, fr.dots[:, 0], fr.dots[:, 1])
        self._draw_labels(fr, ring_sel, is_sel)

    def highlighted_mask(self, fr: GraphFrame) -> np.ndarray:
        """Nodes of the processes a "pause and highlight" hit points at."""
        pids = np.asarray(fr.pids, dtype=np.int64)
        return np.isin(pids, np.asarray(self.state.highlighted_pids(), dtype=np.int64))

    def _marked(self, fr: GraphFrame) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the nodes with a ring: restarted recently, and the selected process."""
        restarted = np.array(fr.restarted, bool) if len(fr.pids) else np.zeros(0, bool)
        return restarted, np.asarray(fr.pids, dtype=np.int64) == self.state.pid

    @staticmethod
    def _signature(*parts: Any) -> bytes:
        return b"|".join(
            p.tobytes() if isinstance(p, np.ndarray) else str(p).encode() for p in parts
        )

    def _changed(self, item: Any, sig: bytes) -> bool:
        """Remember what ``item`` shows; False when it already shows exactly that."""
        if self._signatures.get(id(item)) == sig:
            return False
        self._signatures[id(item)] = sig
        return True

    def _set_points(
        self,
        item: pg.ScatterPlotItem,
        x: np.ndarray,
        y: np.ndarray,
        size: np.ndarray | None = None,
        data: np.ndarray | None = None,
    ) -> None:
        parts = [x, y] + [a for a in (size, data) if a is not None]
        if not self._changed(item, self._signature(*parts)):
            return
        kw: dict[str, Any] = {"x": x, "y": y}
        if size is not None:
            kw["size"] = size
        if data is not None:
            kw["data"] = data
        item.setData(**kw)

    def _on_manual_range(self, *_args: Any) -> None:
        self._auto_fit = False

    def resizeEvent(self, ev: Any) -> None:
        super().resizeEvent(ev)
        if self._auto_fit:
            self.fit_view()

    def fit_view(self) -> None:
        """Show every node *and its label*: labels are drawn at a fixed pixel size to the right
        of their node, so the x range is widened until the widest label near the right edge
        fits (an autoRange on the nodes alone would cut "clearing" in a narrow dock)."""
        fr = self.frame
        if fr is None or not len(fr.pids):
            return
        vb = self.plot.getViewBox()
        w, h = max(vb.width(), 80.0), max(vb.height(), 80.0)
        pad, node = 10.0, 36.0  # px: margin, and room for the biggest node and its ring
        xmin = float(fr.x.min())
        ymin, ymax = float(fr.y.min()), float(fr.y.max())
        label_px = np.zeros(len(fr.x))
        for j, px in self._label_px.items():
            if j < len(label_px):
                label_px[j] = px
        # units per pixel so that x_i + label_i (in px) stays inside, for every node
        room = np.maximum(w - 2 * pad - node - label_px, 20.0)
        sx = float(np.max((fr.x - xmin) / room)) or 1.0 / w
        x0 = xmin - (pad + node / 2) * sx
        sy = (ymax - ymin) / max(h - 2 * pad - node, 20.0) or 1.0 / h
        y0 = ymin - (pad + node / 2) * sy
        vb.setRange(xRange=(x0, x0 + w * sx), yRange=(y0, y0 + h * sy), padding=0)

    def _set_lines(self, item: pg.PlotCurveItem, seg: np.ndarray) -> None:
        if not self._changed(item, self._signature(seg)):
            return
        if not len(seg):
            item.setData([], [])
            return
        xs = np.empty(2 * len(seg))
        ys = np.empty(2 * len(seg))
        xs[0::2], xs[1::2] = seg[:, 0], seg[:, 2]
        ys[0::2], ys[1::2] = seg[:, 1], seg[:, 3]
        item.setData(xs, ys)

    def _draw_labels(self, fr: GraphFrame, restarted: np.ndarray, selected: np.ndarray) -> None:
        n = len(fr.pids)
        # no more labels than fit: ~14 px per label row over the view's height
        rows = max(len(np.unique(np.round(fr.y, 3))), 1)
        fits = rows * 14 <= max(self.plot.height(), 1) * 1.2 or self.view != "supervision"
        if n <= LABEL_LIMIT and fits:
            which = list(range(n))
        else:
            which = list(np.flatnonzero(restarted | selected)[:LABEL_LIMIT])
        while len(self.labels) < len(which):
            t = pg.TextItem(anchor=(-0.08, 0.5))
            t.setFont(self._label_font)
            self.plot.addItem(t)
            self.labels.append(t)
        metrics = QFontMetrics(self._label_font)
        self._label_px = {}
        for i, label in enumerate(self.labels):
            if i < len(which):
                j = which[i]
                text = fr.labels[j] + (" ↻" if fr.restarted[j] else "")
                self._label_px[int(j)] = metrics.horizontalAdvance(text) * 1.1 + 4
                shows = (text, self.theme.foreground, float(fr.x[j]), float(fr.y[j]))
                if self._label_shows.get(i) != shows:  # setText repaints even if the same
                    self._label_shows[i] = shows
                    label.setText(text, color=self.theme.foreground)
                    label.setPos(fr.x[j], fr.y[j])
                label.setVisible(True)
            else:
                label.setVisible(False)

    def _on_clicked(self, _item: pg.ScatterPlotItem, points: Any, *_args: Any) -> None:
        if len(points):
            self.state.select_process(int(points[0].data()))
