"""Metrics: mailbox length, memory and message rate of the selected processes over time.

The series come from a :class:`cinema.views.metrics.MetricsCache` (computed once per process
and session length); a playhead move only moves the playhead lines, and a selection only hands
cached arrays to curves made once. While the panel is not on screen (a background tab) it does
nothing until shown. Up to :data:`MAX_PROCESSES` processes are plotted: the ones selected most
recently.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from cinema.ui._deferred import DeferredRefresh
from cinema.ui.state import ViewState
from cinema.ui.theme import THEMES, Theme
from cinema.views import metrics

__all__ = ["MAX_PROCESSES", "MetricsWidget"]

MAX_PROCESSES = 4
_COLORS = ("#1f77d4", "#e0302b", "#2ca02c", "#ff8c00")


class MetricsWidget(QWidget):
    def __init__(
        self, state: ViewState, theme: Theme = THEMES["light"], parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.state = state
        self.pids: list[int] = []
        self.glw = pg.GraphicsLayoutWidget()
        self.plots: dict[str, pg.PlotItem] = {}
        self.playheads: list[pg.InfiniteLine] = []
        for row, (key, title) in enumerate(
            (("mailbox", "mailbox length"), ("memory", "memory (bytes)"), ("rate", "messages / s"))
        ):
            p = self.glw.addPlot(row=row, col=0)
            p.setLabel("left", title)
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setClipToView(True)
            p.setDownsampling(auto=True, mode="peak")
            p.hideButtons()
            if row:
                p.setXLink(self.plots["mailbox"])
            line = pg.InfiniteLine(angle=90, movable=False)
            p.addItem(line)
            self.playheads.append(line)
            self.plots[key] = p
        self.plots["rate"].setLabel("bottom", "time since the first event (s)")
        self.legend = self.plots["mailbox"].addLegend(offset=(-4, 4), labelTextSize="8pt")
        # one curve per (process slot, plot), made once; a selection only sets their data
        self.curves: list[dict[str, pg.PlotDataItem]] = []
        for color in _COLORS[:MAX_PROCESSES]:
            pen = pg.mkPen(color, width=1)
            slot: dict[str, pg.PlotDataItem] = {}
            for key in self.plots:
                slot[key] = pg.PlotDataItem(pen=pen)  # in its plot only while the slot is used
            self.curves.append(slot)
        self.cache = self._new_cache()
        self._pending = DeferredRefresh(self, self.redraw)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.glw)
        state.sigProcess.connect(self._on_process)
        state.sigPosition.connect(self._on_position)
        state.sigGrown.connect(self._on_grown)
        self.apply_theme(theme)
        if state.pid >= 0:
            self._on_process(state.pid)

    def apply_theme(self, theme: Theme) -> None:
        self.glw.setBackground(theme.background)
        for line in self.playheads:
            line.setPen(pg.mkPen(theme.playhead, width=1))
        for p in self.plots.values():
            for axis in ("left", "bottom"):
                p.getAxis(axis).setPen(theme.foreground)
                p.getAxis(axis).setTextPen(theme.foreground)

    def _on_process(self, pid: int) -> None:
        if pid < 0:
            return
        if pid in self.pids:
            self.pids.remove(pid)
        self.pids.insert(0, pid)
        del self.pids[MAX_PROCESSES:]
        self._pending.request(now=True)

    def _on_grown(self, _n: int) -> None:
        self.cache = self._new_cache()
        self._pending.request()

    def _new_cache(self) -> metrics.MetricsCache:
        st = self.state
        t0, t1 = (st.session.t_first, st.session.t_last) if st.event_count else (0, 1)
        return metrics.MetricsCache(st.skeleton, st.session, t0, t1, bins=200)

    def redraw(self) -> None:
        """Put the cached series of :attr:`pids` into the curves (one per plot and slot)."""
        self._pending.done()
        st = self.state
        t0 = st.session.t_first if st.event_count else 0
        self.legend.clear()
        for slot, curves in enumerate(self.curves):
            pid = self.pids[slot] if slot < len(self.pids) else None
            series = self.cache.series(pid) if pid is not None else None
            for i, (key, c) in enumerate(curves.items()):
                s = series[i] if series is not None else None
                shown = s is not None and len(s.t) > 0
                plot = self.plots[key]
                if shown and s is not None:
                    c.setData((s.t - t0) / 1e9, s.value, stepMode="left")  # holds from x[i]
                if shown and c.getViewBox() is None:
                    plot.addItem(c)
                elif not shown and c.getViewBox() is not None:
                    plot.removeItem(c)
            if pid is None:
                continue
            self.legend.addItem(curves["mailbox"], st.process_label(pid))
        self._on_position(st.seq)

    def _on_position(self, seq: int) -> None:
        # the only per-move work: the series stay, the playhead lines move
        x = self.state.rel_seconds(seq) if seq >= 0 else 0.0
        for line in self.playheads:
            line.setValue(x)
