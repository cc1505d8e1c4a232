"""The timeline scrubber: one lane per process, event glyphs or density, arrows, playhead.

A thin view over :class:`cinema.views.viewport.Viewport`: on every (rate-limited) range change it
asks the viewport for a :class:`~cinema.views.viewport.Frame` of the visible window at pixel
resolution and hands the arrays to pyqtgraph items. x is seconds since the first event; y is
the row index (row 0 at the top).

The strip above the lanes has three rows of marks: bookmarks (diamonds, top), stops of pausing
breakpoints (triangles; "pause and highlight" in the highlight colour) and hits of "log"
breakpoints (thin ticks, bottom, one per pixel column), so a log breakpoint that hits
everywhere never hides where playback will stop.

Mouse: wheel zooms time around the cursor (shift+wheel scrolls lanes), drag pans, click selects
a process or the event whose glyph is under the pointer (the top-most one, as drawn),
double-click on a group row collapses / expands it, drag the red playhead.
Keys (when focused): W/S zoom in/out, A/D pan, 0 fits the whole session.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import QGraphicsItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cinema.ui._axes import TimeAxis
from cinema.ui._deferred import DeferredRefresh
from cinema.ui._layers import EMPTY, show_curve, show_points
from cinema.ui.loading import FIRST_LANES
from cinema.ui.state import ViewState
from cinema.ui.theme import CATEGORIES, HIGHLIGHT, KIND_CATEGORY, THEMES, Theme
from cinema.views.picking import one_per_pixel, pick_glyph
from cinema.views.viewport import Frame
from recorder.session.format import SessionFormatError

__all__ = ["TimelineWidget"]

_CAT_INDEX = {cat: i for i, cat in enumerate(CATEGORIES)}
_LIFE = ("crash", "restart", "spawn", "exit")
_ARROW_ALPHA = 110  # of 255: see set_theme
_KIND_TO_CAT = np.full(256, len(CATEGORIES) - 1, dtype=np.int64)
for _k, _c in KIND_CATEGORY.items():
    _KIND_TO_CAT[_k] = _CAT_INDEX[_c]

LANE_AXIS, LANE_AXIS_COMPACT = 190, 130  # px for the lane names (a small window: fewer)
ROWS_MAX = 120  # at most this many lanes on screen: lanes stay readable, frames stay cheap
#: Heights of the marker strip's rows (in the strip's 0..1 coordinates).
Y_BOOKMARK, Y_STOP, Y_LOG = 0.8, 0.5, 0.17
#: This long after the lanes are first painted (ms), the viewport sorts the session's activity
#: by lane in a worker thread (Viewport.prepare): the first screen does not wait for the sort,
#: and later wide windows read only their visible lanes.
PREPARE_AFTER_MS = 1000


class _LaneAxis(pg.AxisItem):
    """Left axis: the process name of each visible row, indented by supervision depth."""

    def __init__(self, state: ViewState) -> None:
        super().__init__("left")
        self._state = state
        self.setWidth(LANE_AXIS)
        self.setStyle(tickLength=0, autoExpandTextSpace=False, hideOverlappingLabels=False)
        # Dozens of process names: replaying their text costs ~3 ms a paint, and panning in
        # time repaints the scene without changing them. Kept as a pixmap until they change
        # (a new picture calls update(), which drops the pixmap).
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def tickValues(
        self, minVal: float, maxVal: float, size: float
    ) -> list[tuple[float, list[float]]]:
        rows = self._state.layout.rows
        minVal, maxVal = sorted((minVal, maxVal))  # the lane view is inverted
        lo, hi = max(0, int(np.ceil(minVal))), min(len(rows) - 1, int(np.floor(maxVal)))
        step = max(1, int(np.ceil((hi - lo + 1) * 12 / max(size, 1.0))))  # >= 12 px per label
        return [(1.0, [float(v) for v in range(lo, hi + 1, step)])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        rows = self._state.layout.rows
        out = []
        for v in values:
            i = round(v)
            if not 0 <= i < len(rows):
                out.append("")
                continue
            r = rows[i]
            mark = ("▸ " if r.collapsed else "▾ ") if r.has_children else "  "
            extra = f" (+{r.hi - r.lo - 1})" if r.collapsed else ""
            text = f"{'  ' * min(r.depth, 6)}{mark}{r.label}{extra}"
            out.append(text if len(text) <= 30 else text[:29] + "…")
        return out


class _LaneViewBox(pg.ViewBox):
    """Wheel zooms time only (shift: scrolls lanes); keys W/A/S/D like Perfetto."""

    def __init__(self) -> None:
        super().__init__(invertY=True, enableMenu=False)
        self.setMouseEnabled(x=True, y=True)

    def wheelEvent(self, ev: Any, axis: Any = None) -> None:
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            (_x0, _x1), (y0, y1) = self.viewRange()
            shift = -np.sign(delta) * max(1.0, (y1 - y0) / 10)
            self.translateBy(y=shift)
        else:
            factor = 0.85 ** (delta / 120.0)
            center = self.mapToView(ev.pos())
            self.scaleBy(x=factor, center=center)
        ev.accept()

    def zoom(self, factor: float) -> None:
        (x0, x1), _ = self.viewRange()
        self.scaleBy(x=factor, center=QPointF((x0 + x1) / 2, 0))

    def pan(self, fraction: float) -> None:
        (x0, x1), _ = self.viewRange()
        self.translateBy(x=(x1 - x0) * fraction)


class TimelineWidget(QWidget):
    """The timeline scrubber over a :class:`ViewState`."""

    def __init__(
        self, state: ViewState, theme: Theme = THEMES["light"], parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.state = state
        self.theme = theme
        self.last_frame: Frame | None = None
        self.redraws = 0  # visible windows queried and drawn
        self._building = True  # theme, limits and range are set up before one first draw
        self._prepare_scheduled = False  # see eventFilter
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.glw = pg.GraphicsLayoutWidget()
        self.glw.ci.setSpacing(0)
        # no context menus (each would be built, ~5 ms, then switched off)
        self.markers = self.glw.addPlot(row=0, col=0, enableMenu=False)
        self.vb = _LaneViewBox()
        self.plot = self.glw.addPlot(
            row=1, col=0, viewBox=self.vb,
            axisItems={"left": _LaneAxis(state), "bottom": TimeAxis("bottom")},
        )  # fmt: skip
        self.glw.ci.layout.setRowFixedHeight(0, 34)
        self._setup_markers()
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        # The grid is drawn by the time axis across the whole plot: its finest tick level
        # (unlabelled, ~9 ms a frame while panning a 1400 x 700 view) is left out.
        self.plot.getAxis("bottom").setStyle(maxTickLevel=1)

        self.density = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.density)
        self.arrows = pg.PlotCurveItem(connect="pairs")
        self.arrows.setSegmentedLineMode("on")
        self.plot.addItem(self.arrows)
        self.arrow_heads = pg.ScatterPlotItem(size=5, pen=None, symbol="o")
        self.plot.addItem(self.arrow_heads)
        self.glyphs: list[pg.ScatterPlotItem] = []
        layers = []
        for i, (_cat, (_color, _kinds)) in enumerate(CATEGORIES.items()):
            item = pg.ScatterPlotItem(size=8, pen=None, symbol="s")
            z = 5 if _cat in _LIFE else 0  # life events stay visible over a burst of messages
            item.setZValue(z)
            self.plot.addItem(item)
            self.glyphs.append(item)
            layers.append(z * len(CATEGORIES) + i)  # drawn over: higher z, then added later
        #: drawing layer of each kind code (what a click picks when glyphs overlap)
        self.layer_of_kind = np.asarray(layers, np.int64)[_KIND_TO_CAT]
        self.highlight_bands: list[pg.LinearRegionItem] = []  # one per highlighted lane
        self.selection_band = pg.LinearRegionItem(orientation="horizontal", movable=False)
        self.plot.addItem(self.selection_band)
        self.selection_band.setVisible(False)
        self.playhead = pg.InfiniteLine(angle=90, movable=True)
        self.plot.addItem(self.playhead)
        self.playhead.sigDragged.connect(self._on_playhead_dragged)

        legend = QHBoxLayout()
        legend.setContentsMargins(6, 2, 6, 2)
        self.legend_label = QLabel()
        self.legend_label.setWordWrap(True)  # wraps in a narrow window instead of widening it
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        legend.addWidget(self.legend_label, 1)
        self.info_label = QLabel()
        legend.addWidget(self.info_label)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.glw, 1)
        lay.addLayout(legend)
        self.glw.viewport().installEventFilter(self)

        # a range change (a pan, a zoom, the playhead followed) redraws the lanes once, just
        # before the window's next paint: after a timer (a SignalProxy), the window was
        # painted first with the old lanes at the new range, then again after the redraw
        self._redraw = DeferredRefresh(self, self._on_range)
        self.vb.sigRangeChanged.connect(self._redraw.request)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        state.sigPosition.connect(self._on_position)
        state.sigLayout.connect(self._on_layout)
        state.sigProcess.connect(self._on_process)
        state.sigBreakpointsChanged.connect(self.refresh_markers)
        state.sigHighlight.connect(self._on_highlight)
        self.apply_theme(theme)
        self._apply_limits()
        self.fit_all()
        self._building = False
        self._drawn: tuple[object, ...] | None = None  # what the last refresh drew
        if parent is None:  # free-standing (a test, a script): drawn now
            self.refresh()
        # else drawn when first shown, at its laid-out width (see showEvent)
        self._on_position(state.seq)
        self.refresh_markers()  # breakpoints and bookmarks saved with the session

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Paint
            and not self._prepare_scheduled
            and watched is self.glw.viewport()
        ):  # the lanes' first paint: the sort waits a while more, off the GUI thread
            self._prepare_scheduled = True
            watched.removeEventFilter(self)
            QTimer.singleShot(PREPARE_AFTER_MS, self, self.prepare_viewport)
        return False

    def prepare_viewport(self) -> threading.Thread | None:
        """Sort the activity by lane, then build the session index's whole-session parts
        (:meth:`SessionIndex.warm`), in a worker thread (a file session only: a live one grows
        past them at once). Returns the thread, or None when there is nothing to do."""
        vp = self.state.viewport
        if self.state.live or vp.prepared:
            return None

        session = self.state.session
        index = session.index

        def run() -> None:
            try:
                with contextlib.suppress(SessionFormatError):  # wide windows keep the slice path
                    vp.prepare()
                with contextlib.suppress(SessionFormatError):  # else built when first asked for
                    index.warm()  # what the first scrub's panels would build on the GUI thread
            except ValueError:
                if not session.reader.closed:
                    raise
                # the window was closed meanwhile: nothing is waiting for the work

        worker = threading.Thread(target=run, name="cinema-lanes", daemon=True)
        worker.start()
        return worker

    # ---------------------------------------------------------------- setup

    def _setup_markers(self) -> None:
        m = self.markers
        m.hideAxis("bottom")
        m.getAxis("left").setWidth(LANE_AXIS)
        m.getAxis("left").setStyle(showValues=False, tickLength=0)
        m.setMouseEnabled(x=False, y=False)
        m.hideButtons()
        m.setMenuEnabled(False)
        m.setYRange(0, 1, padding=0)
        m.setXLink(self.plot)
        self.hit_marks = pg.ScatterPlotItem(size=9, symbol="t", pen=None)  # pause
        self.highlight_marks = pg.ScatterPlotItem(size=9, symbol="t", pen=None)
        self.log_marks = pg.ScatterPlotItem(size=7, symbol="|")
        self.bookmark_marks = pg.ScatterPlotItem(size=9, symbol="d", pen=None)
        self.log_marks.setZValue(-1)  # under the stops and bookmarks, in their own row anyway
        for item in (self.log_marks, self.hit_marks, self.highlight_marks, self.bookmark_marks):
            m.addItem(item)
        self._log_x = np.zeros(0)  # x of every log hit; drawn thinned to the visible pixels
        self.marker_playhead = pg.InfiniteLine(angle=90, movable=False)
        m.addItem(self.marker_playhead)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.glw.setBackground(theme.background)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setPen(theme.foreground)
            self.plot.getAxis(axis).setTextPen(theme.foreground)
        self.markers.getAxis("left").setTextPen(theme.text_dim)
        self.markers.getAxis("left").setPen(theme.grid)
        pen = pg.mkPen(theme.playhead, width=1)
        self.playhead.setPen(pen)
        self.playhead.setHoverPen(pg.mkPen(theme.playhead, width=3))
        self.marker_playhead.setPen(pen)
        # Arrows translucent: one message reads clearly, a bundle of messages in flight
        # (a receiver far behind its sender) shades by how many overlap instead of one
        # black band that hides the glyphs under it.
        arrow = QColor(theme.foreground)
        arrow.setAlpha(_ARROW_ALPHA)
        self.arrows.setPen(pg.mkPen(arrow, width=1))
        self.arrow_heads.setBrush(pg.mkBrush(theme.foreground))
        for item, (_cat, (color, _k)) in zip(self.glyphs, CATEGORIES.items(), strict=True):
            item.setBrush(pg.mkBrush(color))
        self.hit_marks.setBrush(pg.mkBrush(theme.playhead))
        self.highlight_marks.setBrush(pg.mkBrush(HIGHLIGHT))
        self.log_marks.setPen(pg.mkPen(theme.text_dim, width=1))
        self.bookmark_marks.setBrush(pg.mkBrush(theme.accent))
        accent = QColor(theme.accent)
        accent.setAlpha(40)
        self.selection_band.setBrush(pg.mkBrush(accent))
        for line in self.selection_band.lines:
            line.setPen(pg.mkPen(None))
        base = QColor(theme.background)
        lut = np.zeros((256, 4), dtype=np.ubyte)
        top = QColor(theme.accent)
        for i in range(256):
            a = i / 255.0
            lut[i] = (
                int(base.red() + (top.red() - base.red()) * a),
                int(base.green() + (top.green() - base.green()) * a),
                int(base.blue() + (top.blue() - base.blue()) * a),
                255 if i else 0,
            )
        self.density.setLookupTable(lut)
        swatches = " ".join(
            f"<span style='color:{color}'>■</span>&nbsp;{cat}"
            for cat, (color, _k) in CATEGORIES.items()
        )
        marks = (
            f"<span style='color:{theme.accent}'>◆</span>&nbsp;bookmark "
            f"<span style='color:{theme.playhead}'>▼</span>&nbsp;stop "
            f"<span style='color:{HIGHLIGHT}'>▼</span>&nbsp;stop+highlight "
            f"<span style='color:{theme.text_dim}'>|</span>&nbsp;log"
        )
        self._legend_html = f"<small>{swatches} &nbsp;·&nbsp; {marks}</small>"
        self.legend_label.setToolTip(self._legend_html)
        self._show_legend()
        self.refresh()

    def set_compact(self, compact: bool) -> None:
        """A small window: the legend becomes one short line (its tooltip has it all)."""
        self.compact = compact
        self._show_legend()
        width = LANE_AXIS_COMPACT if compact else LANE_AXIS
        self.plot.getAxis("left").setWidth(width)
        self.markers.getAxis("left").setWidth(width)
        _, (y0, _y1) = self.vb.viewRange()
        rows = len(self.state.layout.rows)
        top = max(min(y0, rows - 0.5), -0.5)
        self.vb.setYRange(top, top + min(rows, self._lanes_that_fit()), padding=0)

    def _show_legend(self) -> None:
        if getattr(self, "compact", False):
            self.legend_label.setText("<small>legend: hover here</small>")
        else:
            self.legend_label.setText(self._legend_html)

    def _apply_limits(self) -> None:
        dur = max(self.state.session.duration_ns / 1e9, 1e-6)
        rows = max(len(self.state.layout.rows), 1)
        self.vb.setLimits(
            xMin=-0.02 * dur, xMax=dur * 1.02, minXRange=1e-7,
            yMin=-0.5, yMax=rows - 0.5, maxYRange=min(rows, ROWS_MAX),
        )  # fmt: skip

    # ---------------------------------------------------------------- view commands

    def fit_all(self) -> None:
        """Show the whole session and the first lanes."""
        dur = max(self.state.session.duration_ns / 1e9, 1e-6)
        rows = len(self.state.layout.rows)
        self.vb.setRange(
            xRange=(0, dur),
            yRange=(-0.5, min(rows, self._lanes_that_fit()) - 0.5),
            padding=0,
            update=False,
        )
        self.refresh()

    def _lanes_that_fit(self) -> int:
        """Lanes shown at first: 30 (what the loader counts, FIRST_LANES), fewer in a compact
        window (each keeps ~16 px)."""
        if not getattr(self, "compact", False):
            return FIRST_LANES
        height = self.vb.height() if self.vb.height() > 50 else 240.0
        return max(min(int(height / 16), FIRST_LANES), 6)

    def show_window(self, x0: float, x1: float) -> None:
        """Show seconds ``[x0, x1]`` (relative to the first event)."""
        self.vb.setXRange(x0, x1, padding=0, update=False)
        self.refresh()

    def ensure_row_visible(self, row: int) -> None:
        _, (y0, y1) = self.vb.viewRange()
        if row < 0 or y0 <= row <= y1:
            return
        h = y1 - y0
        self.vb.setYRange(row - h / 2, row + h / 2, padding=0)

    # ---------------------------------------------------------------- drawing

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.last_frame is None:  # in a window: its first frame, at the laid-out width
            self.refresh()

    def _on_range(self, *_args: Any) -> None:
        # a window's first layout reports a range change after its first frame has drawn
        # that very range (a frame of the whole of a 10M-event session: ~20 ms)
        if self._drawn != self._view_key():
            self.refresh()

    def _view_key(self) -> tuple[object, ...]:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        st = self.state
        return (x0, x1, y0, y1, max(int(self.vb.width()), 50), st.viewport, st.event_count)

    def refresh(self) -> None:
        """Ask the viewport for the visible window and draw it."""
        self._redraw.done()  # a range change waiting for the next paint is drawn now
        st = self.state
        if not st.event_count or self._building:
            return
        self.redraws += 1
        (x0, x1), (y0, y1) = self.vb.viewRange()
        t_first = st.session.t_first
        pixels = max(int(self.vb.width()), 50)
        fr = st.viewport.frame(t_first + x0 * 1e9, t_first + x1 * 1e9, y0, y1, pixels)
        self.last_frame = fr
        self._drawn = self._view_key()
        if fr.mode == "density" and fr.density is not None:
            # log scale, and one lone event is already clearly visible (35 % of the colour)
            img = np.log1p(fr.density)
            peak = float(img.max()) or 1.0
            img = np.where(fr.density > 0, 0.35 + 0.65 * img / peak, 0.0)
            self.density.setImage(img, levels=(0, 1), autoLevels=False)
            self.density.setRect(
                QRectF(
                    (fr.t0 - t_first) / 1e9,
                    fr.row_lo - 0.5,
                    (fr.t1 - fr.t0) / 1e9,
                    fr.row_hi - fr.row_lo,
                )
            )
            self.density.setVisible(True)
            for item in self.glyphs:
                show_points(item, EMPTY, EMPTY)
        else:
            self.density.setVisible(False)
            cats = _KIND_TO_CAT[fr.glyph_kind]
            x = (fr.glyph_x - t_first) / 1e9
            y = fr.glyph_row.astype(np.float64)
            for i, item in enumerate(self.glyphs):
                sel = cats == i
                show_points(item, x[sel], y[sel])
        if len(fr.arrows):
            a = fr.arrows
            xs = np.empty(2 * len(a))
            ys = np.empty(2 * len(a))
            xs[0::2] = (a[:, 0] - t_first) / 1e9
            xs[1::2] = (a[:, 2] - t_first) / 1e9
            ys[0::2] = a[:, 1]
            ys[1::2] = a[:, 3]
            show_curve(self.arrows, xs, ys)
            show_points(self.arrow_heads, xs[1::2], ys[1::2])
        else:
            show_curve(self.arrows, EMPTY, EMPTY)
            show_points(self.arrow_heads, EMPTY, EMPTY)
        self._draw_log_marks()
        self.info_label.setText(
            f"<small>{fr.visible_events:,} events · {fr.mode} · "
            f"lanes {fr.row_lo}–{max(fr.row_hi - 1, fr.row_lo)}/{len(st.layout.rows)}</small>"
        )

    def refresh_markers(self) -> None:
        """Bookmarks, stops (by action) and log hits on the marker strip, each in its row."""
        st = self.state
        rows = (
            (self.hit_marks, st.hit_seqs(("pause",)), Y_STOP),
            (self.highlight_marks, st.hit_seqs(("pause_highlight",)), Y_STOP),
            (self.bookmark_marks, st.bookmark_seqs(), Y_BOOKMARK),
        )
        for item, seqs, y in rows:
            x = self._seconds_of(seqs)
            show_points(item, x, np.full(len(x), y))
        self._log_x = self._seconds_of(st.hit_seqs(("log",)))
        self._draw_log_marks()

    def _seconds_of(self, seqs: Any) -> np.ndarray:
        st = self.state
        s = np.asarray(seqs, dtype=np.int64).ravel()
        s = s[(s >= 0) & (s < st.event_count)]
        if not len(s):  # (np.unique would import numpy.ma, ~20 ms of a first screen)
            return np.zeros(0)
        return (st.skeleton.ts[np.unique(s)] - st.session.t_first) / 1e9

    def _draw_log_marks(self) -> None:
        """The log hits in view, one per pixel column (100,000 hits cost what a strip shows)."""
        (x0, x1), _ = self.vb.viewRange()
        keep = one_per_pixel(self._log_x, x0, x1, max(int(self.vb.width()), 1))
        show_points(self.log_marks, self._log_x[keep], np.full(len(keep), Y_LOG))

    # ---------------------------------------------------------------- state → view

    def _on_position(self, seq: int) -> None:
        x = self.state.rel_seconds(seq) if seq >= 0 else 0.0
        self.playhead.blockSignals(True)
        self.playhead.setValue(x)
        self.playhead.blockSignals(False)
        self.marker_playhead.setValue(x)
        (x0, x1), _ = self.vb.viewRange()
        if not x0 <= x <= x1:  # follow the playhead
            w = x1 - x0
            self.vb.setXRange(x - w / 2, x + w / 2, padding=0)

    def _on_process(self, pid: int) -> None:
        row = self.state.layout.row_of_pid(pid) if pid >= 0 else -1
        self.selection_band.setVisible(row >= 0)
        if row >= 0:
            self.selection_band.setRegion((row - 0.5, row + 0.5))
            self.ensure_row_visible(row)

    def _on_highlight(self, *_args: Any) -> None:
        """The lanes of a "pause and highlight" hit's processes get a band (until a move)."""
        layout = self.state.layout
        rows = sorted({layout.row_of_pid(p) for p in self.state.highlighted_pids()} - {-1})
        while len(self.highlight_bands) < len(rows):
            band = pg.LinearRegionItem(orientation="horizontal", movable=False)
            color = QColor(HIGHLIGHT)
            color.setAlpha(60)
            band.setBrush(pg.mkBrush(color))
            for line in band.lines:
                line.setPen(pg.mkPen(None))
            self.plot.addItem(band)
            self.highlight_bands.append(band)
        for i, band in enumerate(self.highlight_bands):
            band.setVisible(i < len(rows))
            if i < len(rows):
                band.setRegion((rows[i] - 0.5, rows[i] + 0.5))

    def _on_layout(self) -> None:
        self._apply_limits()
        self._on_process(self.state.pid)
        self._on_highlight()
        self.plot.getAxis("left").picture = None
        self.plot.getAxis("left").update()
        self.refresh()

    # ---------------------------------------------------------------- view → state

    def _on_playhead_dragged(self, line: pg.InfiniteLine) -> None:
        st = self.state
        st.seek_time(st.session.t_first + float(line.value()) * 1e9)

    def _on_click(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        pos = ev.scenePos()
        if not self.vb.sceneBoundingRect().contains(pos) and not self.plot.getAxis(
            "left"
        ).sceneBoundingRect().contains(pos):
            return
        p = self.vb.mapSceneToView(pos)
        row = round(p.y())
        rows = self.state.layout.rows
        if not 0 <= row < len(rows):
            return
        r = rows[row]
        if ev.double() and r.has_children:
            self.state.toggle_group(r.pid)
            return
        self.state.select_process(r.pid)
        fr = self.last_frame
        if fr is not None:
            (x0, x1), _ = self.vb.viewRange()
            ns_per_px = (x1 - x0) * 1e9 / max(self.vb.width(), 1)
            t = self.state.session.t_first + p.x() * 1e9
            seq = pick_glyph(fr, row, t, ns_per_px, self.layer_of_kind)
            if seq is not None:
                self.state.select_event(seq)

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        key = ev.key()
        if key == Qt.Key.Key_W:
            self.vb.zoom(0.7)
        elif key == Qt.Key.Key_S:
            self.vb.zoom(1 / 0.7)
        elif key == Qt.Key.Key_A:
            self.vb.pan(-0.2)
        elif key == Qt.Key.Key_D:
            self.vb.pan(0.2)
        elif key == Qt.Key.Key_0:
            self.fit_all()
        else:
            super().keyPressEvent(ev)
