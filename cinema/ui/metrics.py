"""Metrics: mailbox length, memory and message rate of the selected processes over time.

The series come from :mod:`cinema.model.metrics`; this widget plots them with the playhead.
Up to :data:`MAX_PROCESSES` processes are plotted: the ones selected most recently.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from cinema.model import metrics
from cinema.ui.state import ViewState
from cinema.ui.theme import THEMES, Theme

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
            p.addLegend(offset=(-4, 4), labelTextSize="8pt") if row == 0 else None
            if row:
                p.setXLink(self.plots["mailbox"])
            line = pg.InfiniteLine(angle=90, movable=False)
            p.addItem(line)
            self.playheads.append(line)
            self.plots[key] = p
        self.plots["rate"].setLabel("bottom", "time since the first event (s)")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.glw)
        state.sigProcess.connect(self._on_process)
        state.sigPosition.connect(self._on_position)
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
        self.redraw()

    def redraw(self) -> None:
        st = self.state
        sk = st.skeleton
        t0 = st.session.t_first
        for p in self.plots.values():
            for item in [i for i in p.listDataItems()]:
                p.removeItem(item)
        for color, pid in zip(_COLORS, self.pids, strict=False):
            pen = pg.mkPen(color, width=1)
            name = st.process_label(pid)
            mb = metrics.mailbox_series(sk, pid)
            self._step(self.plots["mailbox"], mb, t0, pen, name)
            mem = metrics.memory_series(sk, st.session, pid)
            self._step(self.plots["memory"], mem, t0, pen, None)
            rate = metrics.message_rate(sk, pid, st.session.t_first, st.session.t_last, bins=200)
            self._step(self.plots["rate"], rate, t0, pen, None)
        self._on_position(st.seq)

    @staticmethod
    def _step(plot: pg.PlotItem, s: Any, t0: int, pen: Any, name: str | None) -> None:
        if not len(s.t):
            return
        x = (s.t - t0) / 1e9
        plot.plot(x, s.value, stepMode="left", pen=pen, name=name)  # value holds from x[i]

    def _on_position(self, seq: int) -> None:
        x = self.state.rel_seconds(seq) if seq >= 0 else 0.0
        for line in self.playheads:
            line.setValue(x)
