"""The Calls table: traced function calls summarised per function (``cinema calls``: calls,
total, mean, p99, p50, max of the wall time; errors, unfinished, processes), beside the Top
table. *Selected process only* narrows it to the selected process's calls; a row seeks to the
function's first call, whose CALL and RETURN glyphs are on the calling process's lane. The
summary is computed when the table is first shown (and again as a live session grows)."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QTableWidgetItem,
    QWidget,
)

from cinema.model.calls import FunctionCalls, call_summary
from cinema.ui._tables import panel_layout, row_table
from cinema.ui.state import ViewState
from recorder.events import EventKind
from recorder.session.format import SessionFormatError

__all__ = ["COLUMNS", "CallsTable", "has_calls"]

COLUMNS = ("Function", "Calls", "Total", "Mean", "p99", "p50", "Max", "Errors", "Unfinished",
           "Processes")  # fmt: skip
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_SEQ_ROLE = Qt.ItemDataRole.UserRole


def has_calls(state: ViewState) -> bool:
    """Whether the session holds traced calls (CALL events), from the frames' kinds masks (the
    file's frame summaries: loading the kind column of 10 M events took 1 s and 170 MB of
    the window's first screen)."""
    masks = state.session.index.activity.kinds()
    return bool(np.any(masks & np.uint64(1 << int(EventKind.CALL))))


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3f} ms"


class CallsTable(QWidget):
    """Traced calls per function, the most time first."""

    def __init__(self, state: ViewState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.rows: list[FunctionCalls] = []
        self._computed_for: tuple[int, int] | None = None  # (events, pid) of :attr:`rows`
        self.only_selected = QCheckBox("selected process only")
        self.only_selected.toggled.connect(lambda _on: self.refresh())
        self.caption = QLabel()
        self.table = row_table(COLUMNS, self._on_click)
        panel_layout(self, "Calls", [self.only_selected, self.caption], self.table)
        self._timer = QTimer(self)  # a live session grows in bursts: once per 500 ms at most
        self._timer.setSingleShot(True)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.refresh)
        state.sigGrown.connect(lambda _n: self._schedule())
        state.sigProcess.connect(
            lambda _p: self._schedule() if self.only_selected.isChecked() else None
        )

    def _schedule(self) -> None:
        if self.isVisible():
            self._timer.start()

    def showEvent(self, ev: Any) -> None:
        super().showEvent(ev)
        self.refresh()

    def refresh(self) -> None:
        """Summarise the calls again if the session or the process filter changed."""
        st = self.state
        pid = st.pid if self.only_selected.isChecked() else -1
        key = (st.event_count, pid)
        if key == self._computed_for:
            return
        if self.only_selected.isChecked() and pid < 0:
            self._show([], "select a process to see its calls")
            self._computed_for = key
            return
        try:
            rows = call_summary(st.session, pid if pid >= 0 else None)
        except SessionFormatError as exc:  # a damaged part of the file: say so, in place
            self._show([], st.report(exc).text())
            return
        self._computed_for = key
        if not rows:
            text = (
                f"no traced calls by {st.process_label(pid)}"
                if pid >= 0
                else "no traced calls (record with --trace-calls MODULE:QUALNAME)"
            )
        else:
            calls = sum(r.calls for r in rows)
            text = f"{calls:,} calls of {len(rows)} function{'s' if len(rows) != 1 else ''}"
            if pid >= 0:
                text += f" by {st.process_label(pid)}"
            text += " · wall time of the finished calls"
        self._show(rows, text)

    def _show(self, rows: list[FunctionCalls], caption: str) -> None:
        self.rows = rows
        self.caption.setText(caption)
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            # the qualname (the module is in the tooltip): the figures stay in view
            cells = (
                r.function.rpartition(":")[2] or r.function, f"{r.calls:,}", _ms(r.total_ns),
                _ms(r.mean_ns), _ms(r.p99_ns), _ms(r.p50_ns), _ms(r.max_ns), f"{r.errors:,}",
                f"{r.unfinished:,}", str(r.processes),
            )  # fmt: skip
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j >= 1:
                    item.setTextAlignment(_RIGHT)
                item.setData(_SEQ_ROLE, r.first_call_seq)
                item.setToolTip(
                    f"{r.function}: click to go to its first call (#{r.first_call_seq})"
                )
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()

    def _on_click(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if item is not None and int(item.data(_SEQ_ROLE)) >= 0:
            self.state.select_event(int(item.data(_SEQ_ROLE)))
