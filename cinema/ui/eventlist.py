"""The event list: a virtual table over every event of the session, with a filter box.

The table model holds only an index array (all events, or the matches of the filter); Qt asks
for the rows on screen and only those payloads are decoded and rendered. Selecting a row moves
the playhead there.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cinema.model.condition import Condition
from cinema.model.expr import ExprError
from cinema.model.present import BRIEF_LEN, data_text
from cinema.ui.state import ViewState
from cinema.ui.theme import CATEGORIES, KIND_CATEGORY
from cinema.views.eventquery import QueryError, parse_query
from cinema.views.hitjob import HitJob
from cinema.views.timefmt import format_offset
from recorder.events import KIND_NAMES, NO_PEER
from recorder.session.format import SessionFormatError

__all__ = ["EventListWidget", "EventTableModel"]

COLUMNS = ("#", "time", "kind", "process", "peer", "details")
#: The details of an event in a damaged frame (the window's banner says which and why).
UNREADABLE = "⚠ unreadable (damaged file)"
_Index = QModelIndex | QPersistentModelIndex
_DISPLAY = Qt.ItemDataRole.DisplayRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


class EventTableModel(QAbstractTableModel):
    """Rows are events (all, or a filtered index array); cells render on demand."""

    def __init__(self, state: ViewState) -> None:
        super().__init__()
        self.state = state
        self.rows: np.ndarray | None = None  # None: every event
        self._shown = state.event_count  # rows announced to the view (a live session grows)
        self._details: OrderedDict[int, str] = OrderedDict()
        # seq -> (the six cells' DisplayRole, their ForegroundRole): Qt asks each visible cell
        # for ~7 roles on every paint, and a scrub step repaints every row
        self._cells: OrderedDict[int, tuple[tuple[Any, ...], tuple[Any, ...]]] = OrderedDict()

    def set_rows(self, rows: np.ndarray | None) -> None:
        self.beginResetModel()
        self._cells.clear()
        self.rows = rows
        self._shown = self.state.event_count
        self.endResetModel()

    def grow_to(self, n: int) -> None:
        """Rows ``[shown, n)`` were appended to the session (all-events mode only)."""
        first = self._shown
        if n > first:
            self._cells.clear()  # names and damage may have been learnt from the new events
            self.beginInsertRows(QModelIndex(), first, n - 1)
            self._shown = n
            self.endInsertRows()

    def seq_at(self, row: int) -> int:
        return int(self.rows[row]) if self.rows is not None else row

    def row_of(self, seq: int) -> int:
        """The row showing event ``seq``, or the nearest row before it (-1: none)."""
        if self.rows is None:
            return seq
        return int(np.searchsorted(self.rows, seq, side="right")) - 1

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return len(self.rows) if self.rows is not None else self._shown

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def _unreadable(self, seq: int) -> bool:
        return self.state.damage.covering(seq) is not None

    def _detail(self, seq: int) -> str:
        text = self._details.get(seq)
        if text is None:
            try:
                data = self.state.session.event(seq).data
            except SessionFormatError as exc:  # a damaged frame: said once, above the table
                self.state.report(exc)
                return UNREADABLE
            text = data_text(data, BRIEF_LEN)
            self._details[seq] = text
            if len(self._details) > 2000:
                self._details.popitem(last=False)
        return text

    def data(self, index: _Index, role: int = 0) -> Any:
        if role == _DISPLAY:
            which = 0
        elif role == _FOREGROUND:
            which = 1
        elif role == _ALIGNMENT:
            return _RIGHT if index.isValid() and index.column() < 2 else None
        else:
            return None  # the roles :meth:`cell` never answers
        if not index.isValid():
            return None
        seq = self.seq_at(index.row())
        cells = self._cells.get(seq)
        if cells is None:
            cells = self._row_cells(seq)
        return cells[which][index.column()]

    def _row_cells(self, seq: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """What :meth:`cell` answers for the DisplayRole and ForegroundRole of ``seq``'s row
        (in that order: the details' colour depends on whether they could be decoded)."""
        cells = (
            tuple(self.cell(seq, c, _DISPLAY) for c in COLUMNS),
            tuple(self.cell(seq, c, _FOREGROUND) for c in COLUMNS),
        )
        self._cells[seq] = cells
        if len(self._cells) > 512:
            self._cells.popitem(last=False)
        return cells

    def cell(self, seq: int, column: str, role: int) -> Any:
        """What column ``column`` (one of :data:`COLUMNS`) shows for event ``seq``."""
        ts, kind, pid, peer = self.state.columns_at(seq)
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "#":
                return f"{seq:,}"
            if column == "time":
                return format_offset(ts - self.state.session.t_first)
            if column == "kind":
                return KIND_NAMES.get(kind, str(kind))
            if column == "process":
                return self.state.process_label(pid)
            if column == "peer":
                return self.state.process_label(peer) if peer != NO_PEER else ""
            return self._detail(seq)
        if role == Qt.ItemDataRole.ForegroundRole and column == "details":
            return (
                QColor("#e0302b")
                if self._details.get(seq) is None and self._unreadable(seq)
                else None
            )
        if role == Qt.ItemDataRole.ForegroundRole and column == "kind":
            cat = KIND_CATEGORY.get(kind)
            return QColor(CATEGORIES[cat][0]) if cat else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("#", "time"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class EventListWidget(QWidget):
    """Filter box + virtual table. Selecting a row selects the event and seeks to it."""

    def __init__(self, state: ViewState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(
            "Filter: crash  kind:send,receive  proc:worker  pid:3  #100-200  1s-2s  "
            "type:withdraw  text:overdraft"
        )
        self.filter.setToolTip(
            "Terms that must all hold: kind:K,K  proc:NAME  pid:N  #A-B  1s-2s (or t:250ms-)\n"
            'type:T (message type)  msg:TEXT (message text)  text:TEXT or "quoted text" '
            "(the details); a bare word is a kind, a process name, else text"
        )
        self.filter.setClearButtonEnabled(True)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.b_cancel = QPushButton("Cancel")
        self.b_cancel.setToolTip("Stop searching the events' data")
        self.b_cancel.setVisible(False)
        self.b_cancel.clicked.connect(self.cancel_search)
        self._job: HitJob | None = None
        self._rows_for_job: np.ndarray | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(40)
        self._poll.timeout.connect(self._poll_search)
        self.model = EventTableModel(state)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(20)
        self.view.setWordWrap(False)
        hdr = self.view.horizontalHeader()
        for i, w in enumerate((70, 110, 80, 150, 150)):
            hdr.resizeSection(i, w)
        hdr.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.filter)
        lay.addWidget(self.view, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.b_cancel)
        lay.addLayout(bottom)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(self.apply_filter)
        self.filter.textChanged.connect(lambda _t: self._debounce.start())
        self.filter.returnPressed.connect(self.apply_filter)
        self.view.selectionModel().currentRowChanged.connect(self._on_row)
        state.sigPosition.connect(self._on_position)
        state.sigGrown.connect(self._on_grown)
        self._syncing = False
        self.apply_filter()

    def _on_grown(self, n: int) -> None:
        """A live session grew: new rows are appended (or the filter runs again)."""
        if self.model.rows is not None:
            self.apply_filter()
            return
        self.model.grow_to(n)
        self.status.setText(f"{n:,} events")

    def apply_filter(self) -> None:
        """Run the filter box's query: column terms at once, payload terms by a worker."""
        self._debounce.stop()
        self.cancel_search(quiet=True)
        st = self.state
        try:
            query = parse_query(
                lambda: st.skeleton, st.session.processes, self.filter.text(),
                st.session.t_first if st.event_count else None,
            )  # fmt: skip
            if query.expression is not None:
                Condition(query.expression)  # a term the language cannot take: said here
        except (QueryError, ExprError) as exc:
            self.status.setText(
                f"<span style='color:#e0302b'>{html.escape(str(exc), quote=False)}</span>"
            )
            return
        if query.expression is not None:
            self._search(query.expression, query.rows)
            return
        self._show_rows(query.rows)

    def _search(self, expression: str, rows: np.ndarray | None) -> None:
        st = self.state
        path = getattr(st.session.reader, "path", None)
        if path is None:  # a live session: its own reader, here
            try:
                found = Condition(expression).hits(st.session)
            except SessionFormatError as exc:
                self.status.setText(html.escape(st.report(exc).text()))
                return
            self._show_rows(_both(rows, found))
            return
        self._rows_for_job = rows
        self._job = HitJob(path, expression, st.event_count).start()
        self.b_cancel.setVisible(True)
        self.status.setText("searching the events' data… 0%")
        self._poll.start()

    def _poll_search(self) -> None:
        job = self._job
        if job is None:
            self._poll.stop()
            return
        if not job.done:
            self.status.setText(f"searching the events' data… {job.progress:.0%}")
            return
        self._poll.stop()
        self._job = None
        self.b_cancel.setVisible(False)
        for exc in job.errors:
            self.state.report(exc)
        if job.failure is not None or job.result is None:
            self.status.setText(html.escape(job.failure or "the search was stopped"))
            return
        self._show_rows(_both(self._rows_for_job, job.result))

    def cancel_search(self, *, quiet: bool = False) -> None:
        """Stop a running search of the events' data (the table keeps what it showed)."""
        if self._job is not None:
            self._job.cancel()
            self._job = None
            self._poll.stop()
            self.b_cancel.setVisible(False)
            if not quiet:
                self.status.setText("search stopped")

    def searching(self) -> bool:
        return self._job is not None

    def _show_rows(self, rows: np.ndarray | None) -> None:
        self.model.set_rows(rows)
        n = self.model.rowCount()
        total = self.state.event_count
        self.status.setText(
            f"{n:,} of {total:,} events" if rows is not None else f"{total:,} events"
        )
        self._on_position(self.state.seq)

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing or not current.isValid():
            return
        self.state.select_event(self.model.seq_at(current.row()))

    def _on_position(self, seq: int) -> None:
        row = self.model.row_of(seq)
        if row < 0 or row >= self.model.rowCount():
            return
        self._syncing = True
        try:
            idx = self.model.index(row, 0)
            self.view.selectionModel().setCurrentIndex(
                idx,
                self.view.selectionModel().SelectionFlag.ClearAndSelect
                | self.view.selectionModel().SelectionFlag.Rows,
            )
            self.view.scrollTo(idx, QTableView.ScrollHint.EnsureVisible)
        finally:
            self._syncing = False


def _both(rows: np.ndarray | None, found: np.ndarray) -> np.ndarray:
    """Events in both (``rows`` None: all events)."""
    found = np.asarray(found, dtype=np.int64)
    return found if rows is None else np.intersect1d(rows, found).astype(np.int64)
