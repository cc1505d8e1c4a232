"""The analysis panels of the window: Findings, Why (with its path on the timeline and in the
graph's messages view), and the Top and Calls tables beside the metrics plots (Calls only when
the session has traced calls). :func:`install` adds them to a :class:`MainWindow`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QSplitter

from cinema.ui.calls_table import CallsTable, has_calls
from cinema.ui.findings import FindingMarks, FindingsPanel
from cinema.ui.top_table import TopTable
from cinema.ui.why_path import WhyPanel, WhyPath

if TYPE_CHECKING:
    from cinema.ui.main_window import MainWindow

__all__ = ["AnalysisPanels", "install"]


class AnalysisPanels:
    """What :func:`install` made: ``findings``, ``why``, ``top``, ``calls`` and their timeline
    marks."""

    def __init__(self, window: MainWindow) -> None:
        st = window.state
        self.finding_marks = FindingMarks(window.timeline, st)
        self.why_path = WhyPath(window.timeline, st)
        self.findings = FindingsPanel(st, self.finding_marks)
        self.why = WhyPanel(st, self.why_path)
        self.why.sigChain.connect(window.graph.show_why)  # the path in the messages view too
        self.top = TopTable(st)
        self.calls = CallsTable(st)
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        window.add_panel("findings", "Findings", self.findings, bottom)
        window.add_panel("why", "Why", self.why, bottom)
        # the Top and Calls tables beside the metrics plots, in the Metrics panel
        dock = window.docks["metrics"]
        self.metrics_split = QSplitter(Qt.Orientation.Horizontal)
        self.metrics_split.addWidget(window.metrics)
        self.metrics_split.addWidget(self.top)
        self.metrics_split.addWidget(self.calls)
        self.metrics_split.setSizes([600, 420, 480])
        self.calls.setVisible(has_calls(st))
        st.sigGrown.connect(self._on_grown)
        dock.setWidget(self.metrics_split)
        self.shortcuts = []
        for key, slot in (
            (Qt.Key.Key_Y, self.explain),
            (QKeySequence("Ctrl+Shift+A"), lambda: window.show_panel("findings")),
        ):
            sc = QShortcut(QKeySequence(key), window)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self.shortcuts.append(sc)
        self._window = window

    def _on_grown(self, _n: int) -> None:
        if not self.calls.isVisibleTo(self.metrics_split) and has_calls(self._window.state):
            self.calls.setVisible(True)  # a live program's first traced call

    def explain(self) -> None:
        """Explain the selected event in the Why panel (and bring it to the front)."""
        self._window.show_panel("why")
        self.why.explain_selected()


def install(window: MainWindow) -> AnalysisPanels:
    """Add the analysis panels to ``window`` (before its menus are built, so View lists them)."""
    return AnalysisPanels(window)
