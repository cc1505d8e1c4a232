"""The log panel: what "log and continue" breakpoints recorded while playing or running.

A breakpoint whose action is *log* does not stop playback: each hit met on the way is an
entry of the playback controller's log (:attr:`cinema.model.playback.PlaybackController.log`).
This panel lists them in the order they were met (event, time, breakpoint, kind, processes,
details, rendered like the event list); clicking an entry selects that event and moves the
playhead there. Rows are rendered on demand, so a long log costs only what is on screen.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cinema.ui.eventlist import EventTableModel
from cinema.ui.state import ViewState

__all__ = ["LOG_COLUMNS", "LogPanel", "LogTableModel"]

LOG_COLUMNS = ("#", "time", "breakpoint", "kind", "process", "peer", "details")
_Index = QModelIndex | QPersistentModelIndex


class LogTableModel(QAbstractTableModel):
    """Rows are the log's entries; event cells render as in the event list."""

    def __init__(self, state: ViewState) -> None:
        super().__init__()
        self.state = state
        self._events = EventTableModel(state)  # renders the event columns
        self._rows = 0

    def sync(self) -> None:
        """Take in entries added (or a cleared log) since the last call."""
        n = len(self.state.log)
        if n < self._rows:
            self.beginResetModel()
            self._rows = n
            self.endResetModel()
        elif n > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, n - 1)
            self._rows = n
            self.endInsertRows()

    def seq_at(self, row: int) -> int:
        return int(self.state.log[row].seq)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(LOG_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return LOG_COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = 0) -> Any:
        if not index.isValid() or index.row() >= len(self.state.log):
            return None
        entry = self.state.log[index.row()]
        column = LOG_COLUMNS[index.column()]
        if column == "breakpoint":
            return entry.breakpoint if role == Qt.ItemDataRole.DisplayRole else None
        return self._events.cell(int(entry.seq), column, role)


class LogPanel(QWidget):
    """The log as a table; a click seeks to the entry's event."""

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.model = LogTableModel(state)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.setWordWrap(False)
        hdr = self.view.horizontalHeader()
        for i, w in enumerate((70, 110, 80, 80, 140, 140)):
            hdr.resizeSection(i, w)
        hdr.setSectionResizeMode(len(LOG_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.status = QLabel()
        self.b_clear = QPushButton("Clear")
        self.b_clear.setToolTip("Forget the entries logged so far")
        self.b_clear.clicked.connect(state.clear_log)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.b_clear)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.view, 1)
        lay.addLayout(bottom)
        self.view.clicked.connect(self._on_clicked)
        self.view.activated.connect(self._on_clicked)
        state.sigLog.connect(self._on_log)
        self._on_log(len(state.log))

    def _on_log(self, n: int) -> None:
        self.model.sync()
        dropped = self.state.controller.log_dropped
        if n:
            text = f"{n:,} entries logged by log breakpoints"
            if dropped:
                text += f" ({dropped:,} more not kept)"
            self.view.scrollToBottom()
        else:
            text = (
                "Nothing logged yet: a breakpoint whose action is 'Log and continue' "
                "records its hits here while you play or run (F5)."
            )
        self.status.setText(text)

    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.state.select_event(self.model.seq_at(index.row()))
