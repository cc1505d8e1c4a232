"""The Findings panel: what ``cinema analyze`` finds, worst first; a finding seeks to its first
proving event and the timeline marks all of them (rings on the lanes, by severity).

The analysis runs once per session length, on demand ("Analyze" or opening the panel) for big
sessions and at once for small ones, in a worker (:class:`~cinema.views.analysisjob.
AnalysisJob`: its own reader of the file, in a thread) while the panel shows its progress and a
Cancel button; closing the window cancels it. A live session (no file) is analysed here. The
panel only lists the model's findings, and a damaged file's note above them.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cinema.model import present
from cinema.model.analysis import Context, Finding, Severity, analyze
from cinema.ui._deferred import DeferredRefresh
from cinema.ui._layers import EMPTY, show_points
from cinema.ui.state import ViewState
from cinema.views.analysisjob import AnalysisJob
from recorder.session.format import SessionFormatError

__all__ = [
    "AUTO_ANALYZE_EVENTS",
    "SEVERITY_COLORS",
    "WORKER_ABOVE",
    "FindingMarks",
    "FindingsPanel",
]

#: Sessions up to this many events are analysed as soon as the panel is made.
AUTO_ANALYZE_EVENTS = 300_000
#: Sessions up to this many events are analysed in the window's thread (under 0.1 s; a worker
#: would cost more than it saves), bigger ones by a worker.
WORKER_ABOVE = 100_000
SEVERITY_COLORS = {Severity.ERROR: "#d62728", Severity.WARNING: "#e08a00", Severity.INFO: "#1f77d4"}
_FINDING_ROLE = Qt.ItemDataRole.UserRole
_SEQ_ROLE = Qt.ItemDataRole.UserRole + 1


class FindingMarks:
    """Rings around a finding's proving events on the timeline's lanes."""

    def __init__(self, timeline: Any, state: ViewState) -> None:
        self.timeline, self.state = timeline, state
        self.item = pg.ScatterPlotItem(size=16, symbol="o", brush=None)
        self.item.setZValue(20)
        self.item.setVisible(False)  # shown with a finding (an empty item still costs a paint)
        timeline.plot.addItem(self.item)
        self.finding: Finding | None = None
        state.sigLayout.connect(self.redraw)

    def show(self, finding: Finding | None) -> None:
        self.finding = finding
        self.redraw()

    def redraw(self) -> None:
        f = self.finding
        if f is None or not f.events:
            show_points(self.item, EMPTY, EMPTY)
            return
        st = self.state
        seqs = np.asarray(f.events, dtype=np.int64)
        x = (st.skeleton.ts[seqs] - st.session.t_first) / 1e9
        y = [st.layout.row_of_pid(int(p)) for p in st.skeleton.pid[seqs]]
        color = SEVERITY_COLORS[f.severity]
        show_points(self.item, x, np.asarray(y, np.float64), pen=pg.mkPen(color, width=2.5))


class FindingsPanel(QWidget):
    """The findings of the session, worst first. Selecting one seeks to its first event and
    marks its events on the timeline; selecting an event row seeks to that event."""

    def __init__(self, state: ViewState, marks: FindingMarks | None = None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.state, self.marks = state, marks
        self.findings: list[Finding] = []
        self._analysed_at = -1
        #: the worker analysing the session now (None when idle)
        self.job: AnalysisJob | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.damage_note = QLabel()
        self.damage_note.setWordWrap(True)
        self.damage_note.setStyleSheet("color: #b35c00;")
        self.damage_note.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.run_button = QPushButton("Analyze")
        self.run_button.setToolTip("Run every detector over the session (cinema analyze)")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the analysis")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setVisible(False)
        self._poll = QTimer(self)
        self._poll.setInterval(100)
        self._poll.timeout.connect(self._poll_job)
        head = QHBoxLayout()
        head.addWidget(self.summary, 1)
        head.addWidget(self.progress)
        head.addWidget(self.cancel_button)
        head.addWidget(self.run_button)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Finding", "Detector"])
        self.tree.setColumnWidth(0, 640)
        self.tree.setWordWrap(True)
        self.tree.setUniformRowHeights(False)
        self.tree.currentItemChanged.connect(self._on_current)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(head)
        lay.addWidget(self.damage_note)
        lay.addWidget(self.tree, 1)
        state.sigGrown.connect(lambda _n: self._stale())
        state.sigClosing.connect(self.cancel)
        # A big session is analysed when the panel is first on screen: a background tab gets
        # a Show event with the window (it stays "visible" to Qt), so showEvent would run the
        # detectors (7 s on 10 M events) before the window's first screen.
        self._on_show = DeferredRefresh(self, self._first_shown)
        if state.event_count and state.event_count <= AUTO_ANALYZE_EVENTS:
            self.run()
        else:
            self.summary.setText(
                f"{state.event_count:,} events: press Analyze to run the detectors "
                "(it runs in the background)."
            )
            self._on_show.request()

    def _first_shown(self) -> None:
        if self._analysed_at < 0 and self.job is None and self.state.event_count:
            self.run()

    def _stale(self) -> None:
        if self._analysed_at >= 0 and self._analysed_at != self.state.event_count:
            self.summary.setText(self.summary.text() + "  (the session grew: Analyze again)")

    def run(self) -> None:
        """Analyse the session: in a worker for a file (progress, Cancel), here for a live
        session; the findings are listed when it is done."""
        st = self.state
        self.cancel(quiet=True)
        path = getattr(st.session.reader, "path", None)
        if not st.event_count:
            self._show([], [], st.event_count)
            return
        if path is None or st.event_count <= WORKER_ABOVE:  # live (no file), or quick
            QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                cx = Context(st.session)
                try:
                    found = analyze(st.session, context=cx)
                except SessionFormatError as exc:
                    self._failed(exc)
                    return
                self._show(found, cx.unreadable, st.event_count)
            finally:
                QGuiApplication.restoreOverrideCursor()
            return
        self.job = AnalysisJob(str(path), st.event_count).start()
        self.summary.setText(f"Analysing {st.event_count:,} events…")
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.run_button.setEnabled(False)
        self._poll.start()

    def cancel(self, *_args: Any, quiet: bool = False) -> None:
        """Stop the analysis in progress, if any (closing the window does)."""
        job, self.job = self.job, None
        self._poll.stop()
        self._idle()
        if job is None:
            return
        job.cancel()
        if not quiet:
            self.summary.setText("Analysis cancelled: press Analyze to run the detectors.")

    def _idle(self) -> None:
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.run_button.setEnabled(True)

    def _poll_job(self) -> None:
        job = self.job
        if job is None:
            self._poll.stop()
            return
        if not job.done:
            self.progress.setValue(int(job.progress * 100))
            return
        self.job = None
        self._poll.stop()
        self._idle()
        if job.error is not None:
            if isinstance(job.error, SessionFormatError):
                self._failed(job.error)
            else:
                self.summary.setText(f"Cannot analyse: {job.error}")
            return
        if not job.cancelled:
            self._show(job.findings, job.unreadable, job.n)

    def _failed(self, exc: SessionFormatError) -> None:
        """A damaged part of the file that stops the analysis: say so, in place."""
        self.findings = []
        self._analysed_at = self.state.event_count
        self.tree.clear()
        self.summary.setText(f"Cannot analyse: {self.state.report(exc).text()}")

    def _show(
        self, found: list[Finding], unreadable: list[tuple[SessionFormatError, int | None]], n: int
    ) -> None:
        st = self.state
        self.findings = found
        self._analysed_at = n
        notes = []
        for exc, seq in unreadable:
            p = st.report(exc)
            notes.append(
                f"event #{seq:,} cannot be read ({p.reason})" if seq is not None else p.text()
            )
        self.damage_note.setText(
            "This file is damaged: " + "; ".join(dict.fromkeys(notes)) + ". The findings "
            "leave those events out."
            if notes
            else ""
        )
        self.damage_note.setVisible(bool(notes))
        self._fill()
        if n != st.event_count:
            self._stale()

    def _fill(self) -> None:
        st = self.state
        self.tree.clear()
        counts = {s: sum(f.severity == s for f in self.findings) for s in Severity}
        if not self.findings:
            self.summary.setText("No findings: nothing the detectors look for happened.")
        else:
            parts = [f"{n} {s.label}" for s, n in sorted(counts.items(), reverse=True) if n]
            self.summary.setText(f"{len(self.findings)} findings: {', '.join(parts)}")
        for f in self.findings:
            color = QColor(SEVERITY_COLORS[f.severity])
            item = QTreeWidgetItem([f"{f.severity.label.upper()}  {f.title}", f.detector])
            item.setForeground(0, QBrush(color))
            item.setData(0, _FINDING_ROLE, f)
            item.setToolTip(0, f.explanation)
            why = QTreeWidgetItem([textwrap.fill(f.explanation, 150), ""])
            why.setFlags(why.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            item.addChild(why)
            for seq in f.events:
                ev = st.session.event(seq)
                row = QTreeWidgetItem([present.event_line(st.session, ev, 120), ""])
                row.setData(0, _SEQ_ROLE, seq)
                item.addChild(row)
            self.tree.addTopLevelItem(item)
            why.setFirstColumnSpanned(True)
        first = self.tree.topLevelItem(0)
        if first is not None:
            first.setExpanded(True)

    def select(self, index: int) -> None:
        """Select finding ``index`` (as a click does)."""
        item = self.tree.topLevelItem(index)
        if item is not None:
            self.tree.setCurrentItem(item)

    def _on_current(self, item: QTreeWidgetItem | None, _prev: Any = None) -> None:
        if item is None:
            return
        seq = item.data(0, _SEQ_ROLE)
        finding = item.data(0, _FINDING_ROLE)
        parent = item.parent()
        if finding is None and parent is not None:
            finding = parent.data(0, _FINDING_ROLE)
        if self.marks is not None:
            self.marks.show(finding)
        if seq is None and finding is not None and finding.seq >= 0:
            seq = finding.seq
            item.setExpanded(True)
        if seq is not None:
            self.state.select_event(int(seq))
