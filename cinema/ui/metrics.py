"""Metrics: mailbox length, memory and message rate of the selected processes over time.

The series come from a :class:`cinema.views.metrics.MetricsCache` (computed once per process and
session length); a playhead move only moves the playhead lines, and a selection only hands
cached arrays to curves made once. While the panel is not on screen (a background tab) it does
nothing until shown: its plots are made when it first shows (or is first asked for them), so a
window whose Metrics tab is behind another does not build them for its first screen. Up to
:data:`MAX_PROCESSES` processes are plotted: the ones selected most recently. The legend is a
plain label above the plots (names as text, never as HTML), and each plot's title sits inside
its top-left corner, so neither is clipped in a short dock.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cinema.ui._axes import BytesAxis, TimeAxis
from cinema.ui._deferred import DeferredRefresh
from cinema.ui.state import ViewState
from cinema.ui.theme import THEMES, Theme
from cinema.views import metrics
from recorder.session.format import SessionFormatError

__all__ = ["MAX_PROCESSES", "PLOTS", "MetricsWidget"]

MAX_PROCESSES = 4
_COLORS = ("#1f77d4", "#e0302b", "#2ca02c", "#ff8c00")
#: (key, title) of the plots, top to bottom.
PLOTS = (("mailbox", "mailbox length"), ("memory", "memory"), ("rate", "messages / s"))
AXIS_WIDTH = 62  # px: the left axes line up, and "1.5 KiB" fits


class MetricsWidget(QWidget):
    def __init__(
        self, state: ViewState, theme: Theme = THEMES["light"], parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.state = state
        self.theme = theme
        self.pids: list[int] = []
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setContentsMargins(6, 2, 6, 0)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.ci.setSpacing(2)
        self._plots: dict[str, pg.PlotItem] = {}
        self._titles: dict[str, pg.TextItem] = {}
        self._playheads: list[pg.InfiniteLine] = []
        self._curves: list[dict[str, pg.PlotDataItem]] = []
        self._built = False
        self.cache = self._new_cache()
        self._pending = DeferredRefresh(self, self.redraw)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.legend)
        lay.addWidget(self.glw, 1)
        state.sigProcess.connect(self._on_process)
        state.sigPosition.connect(self._on_position)
        state.sigGrown.connect(self._on_grown)
        self.apply_theme(theme)
        self._show_legend()
        self._pending.dirty = True  # the plots are made and drawn when the panel shows
        if state.pid >= 0:
            self._on_process(state.pid)

    # ---------------------------------------------------------------- the plots

    @property
    def plots(self) -> dict[str, pg.PlotItem]:
        """The plots by key (made on first use)."""
        self._build()
        return self._plots

    @property
    def titles(self) -> dict[str, pg.TextItem]:
        self._build()
        return self._titles

    @property
    def playheads(self) -> list[pg.InfiniteLine]:
        self._build()
        return self._playheads

    @property
    def curves(self) -> list[dict[str, pg.PlotDataItem]]:
        """One curve per (process slot, plot), made once; a selection only sets their data."""
        self._build()
        return self._curves

    def _build(self) -> None:
        if self._built:
            return
        self._built = True
        for row, (key, title) in enumerate(PLOTS):
            axes = {"bottom": TimeAxis("bottom")}
            if key == "memory":
                axes["left"] = BytesAxis("left")
            p = self.glw.addPlot(row=row, col=0, axisItems=axes, enableMenu=False)
            p.getAxis("left").setWidth(AXIS_WIDTH)
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
            p.hideButtons()
            p.setMenuEnabled(False)
            p.enableAutoRange(y=False)
            if row:
                p.setXLink(self._plots[PLOTS[0][0]])
            if row < len(PLOTS) - 1:
                p.getAxis("bottom").setStyle(showValues=False)  # one time scale, at the bottom
            label = pg.TextItem(title, anchor=(0, 0))
            label.setParentItem(p.getViewBox())  # fixed in the corner while the plot pans
            label.setPos(2, 0)
            self._titles[key] = label
            line = pg.InfiniteLine(angle=90, movable=False)
            p.addItem(line)
            self._playheads.append(line)
            self._plots[key] = p
        for color in _COLORS[:MAX_PROCESSES]:
            pen = pg.mkPen(color, width=1)
            slot: dict[str, pg.PlotDataItem] = {}
            for key in self._plots:
                slot[key] = pg.PlotDataItem(pen=pen)  # in its plot only while the slot is used
            self._curves.append(slot)
        self._style_plots()
        self._fit_time()
        self._on_position(self.state.seq)

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.glw.setBackground(theme.background)
        self._style_plots()
        self._show_legend()

    def _style_plots(self) -> None:
        theme = self.theme
        for line in self._playheads:
            line.setPen(pg.mkPen(theme.playhead, width=1))
        for key, p in self._plots.items():
            for axis in ("left", "bottom"):
                p.getAxis(axis).setPen(theme.foreground)
                p.getAxis(axis).setTextPen(theme.foreground)
            self._titles[key].setColor(theme.text_dim)
            fill = QColor(theme.background)
            fill.setAlpha(210)  # readable over the curves it covers
            self._titles[key].fill = pg.mkBrush(fill)
            self._titles[key].update()

    def _fit_time(self) -> None:
        if not self._built:
            return  # the build fits them
        dur = max(self.state.session.duration_ns / 1e9, 1e-6) if self.state.event_count else 1.0
        self._plots[PLOTS[0][0]].setXRange(0, dur, padding=0.01)

    def _on_process(self, pid: int) -> None:
        if pid < 0:
            return
        if pid in self.pids:
            self.pids.remove(pid)
        self.pids.insert(0, pid)
        del self.pids[MAX_PROCESSES:]
        self._show_legend()
        self._pending.request(now=True)

    def _on_grown(self, _n: int) -> None:
        self.cache = self._new_cache()
        self._fit_time()
        self._pending.request()

    def _new_cache(self) -> metrics.MetricsCache:
        st = self.state
        t0, t1 = (st.session.t_first, st.session.t_last) if st.event_count else (0, 1)
        return metrics.MetricsCache(
            lambda: st.skeleton, st.session, st.session.index, t0, t1, bins=200
        )

    def legend_text(self) -> str:
        """The legend as plain text: one ``name <pid>`` per plotted process."""
        return "   ".join(self.state.process_label(pid) for pid in self.pids)

    def _show_legend(self) -> None:
        if not self.pids:
            self.legend.setText(
                f"<small style='color:{self.theme.text_dim}'>select a process to plot it</small>"
            )
            return
        parts = [
            f"<span style='color:{_COLORS[i]}'>━━</span>&nbsp;"
            f"{html.escape(self.state.process_label(pid))}"
            for i, pid in enumerate(self.pids)
        ]
        self.legend.setText("<small>" + " &nbsp; ".join(parts) + "</small>")

    def redraw(self) -> None:
        """Put the cached series of :attr:`pids` into the curves (one per plot and slot)."""
        self._pending.done()
        st = self.state
        t0 = st.session.t_first if st.event_count else 0
        peaks = dict.fromkeys(self.plots, 0.0)
        for slot, curves in enumerate(self.curves):
            pid = self.pids[slot] if slot < len(self.pids) else None
            try:
                series = self.cache.series(pid) if pid is not None else None
            except SessionFormatError as exc:  # a damaged frame: this process is left out
                series = None
                self.legend.setToolTip(st.report(exc).text())
            for i, (key, c) in enumerate(curves.items()):
                s = series[i] if series is not None else None
                shown = s is not None and len(s.t) > 0
                plot = self.plots[key]
                if shown and s is not None:
                    c.setData((s.t - t0) / 1e9, s.value, stepMode="left")  # holds from x[i]
                    peaks[key] = max(peaks[key], float(np.max(s.value)))
                if shown and c.getViewBox() is None:
                    plot.addItem(c)
                elif not shown and c.getViewBox() is not None:
                    plot.removeItem(c)
        for key, peak in peaks.items():
            # from zero, with headroom: a constant series is a visible line, not ±0.4 ticks
            self.plots[key].setYRange(0, peak * 1.15 if peak > 0 else 1.0, padding=0)
        self._on_position(st.seq)

    def _on_position(self, seq: int) -> None:
        # the only per-move work: the series stay, the playhead lines move
        x = self.state.rel_seconds(seq) if seq >= 0 else 0.0
        for line in self._playheads:  # (none before the plots are made: the build sets them)
            line.setValue(x)
