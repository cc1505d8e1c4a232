"""The Top table: the busiest live processes at the playhead (``cinema top``), beside the
metrics plots; a row selects its process. It follows the playhead while it is on screen,
recomputed at most every 150 ms."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QTableWidgetItem,
    QWidget,
)

from cinema.model import present
from cinema.model.errors import ModelError
from cinema.model.top import SORT_KEYS, Top, top
from cinema.ui._deferred import DeferredRefresh
from cinema.ui._tables import panel_layout, row_table
from cinema.ui.state import ViewState
from recorder.session.format import SessionFormatError

__all__ = ["COLUMNS", "TopTable"]

COLUMNS = ("Process", "Status", "CPU %", "CPU (1 s)", "Handled", "Mailbox", "Memory")


_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def _ns(ns: int) -> str:
    return f"{ns / 1e6:.2f} ms" if ns >= 10_000 else f"{ns / 1e3:.1f} µs"


class TopTable(QWidget):
    """Top processes at the playhead, sorted by the chosen figure."""

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.result: Top | None = None
        self.by = QComboBox()
        for key in ("cpu", "memory", "mailbox", "handled"):
            self.by.addItem(f"by {key}", key)
        self.by.currentIndexChanged.connect(lambda _i: self.refresh())
        self.caption = QLabel()
        self.table = row_table(COLUMNS, self._on_click)
        panel_layout(self, "Top", [self.by, self.caption], self.table)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(150)
        # only while on screen: a background tab is "visible" to Qt, and a refresh reads the
        # PROFILE samples of the whole session up to the playhead
        self._pending = DeferredRefresh(self, self.refresh)
        self._timer.timeout.connect(self._pending.request)
        state.sigPosition.connect(lambda _s: self._schedule())
        self._pending.request()

    def set_by(self, key: str) -> None:
        if key not in SORT_KEYS:
            raise ValueError(key)
        self.by.setCurrentIndex(self.by.findData(key))

    def _schedule(self) -> None:
        self._pending.dirty = True  # shown later: refreshed then
        if self._pending.on_screen():
            self._timer.start()

    def refresh(self) -> None:
        """Recompute the table for the playhead now."""
        st = self.state
        seq = st.seq
        if seq < 0 or not st.event_count:
            self.table.setRowCount(0)
            self.caption.setText("before the first event")
            return
        try:
            self.result = t = top(st.session, seq, by=str(self.by.currentData()), limit=50)
        except (ModelError, ValueError) as exc:
            self.caption.setText(str(exc))
            return
        except SessionFormatError as exc:  # a damaged part of the file: say so, in place
            self.table.setRowCount(0)
            self.caption.setText(st.report(exc).text())
            return
        self.caption.setText(f"after #{seq} · {t.alive} alive · from the latest PROFILE samples")
        self.table.setRowCount(len(t.rows))
        for i, r in enumerate(t.rows):
            cells = (
                present.process_label(st.session, r.pid), r.status, f"{100 * r.cpu_share:.1f}",
                _ns(r.cpu_recent_ns), str(r.handled), str(r.mailbox_len), f"{r.memory:,} B",
            )  # fmt: skip
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j >= 2:
                    item.setTextAlignment(_RIGHT)
                item.setData(Qt.ItemDataRole.UserRole, r.pid)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()

    def _on_click(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None:
            self.state.select_process(int(item.data(Qt.ItemDataRole.UserRole)))
