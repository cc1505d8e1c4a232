"""The read-only, row-selecting tables of the analysis panels (Calls, Top)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QHBoxLayout, QLabel, QTableWidget, QVBoxLayout, QWidget

__all__ = ["panel_layout", "row_table"]


def row_table(columns: Sequence[str], on_click: Callable[[int, int], None]) -> QTableWidget:
    """An empty table with ``columns``: not editable, whole rows selected, compact rows, the
    last column stretched; ``on_click(row, column)`` on a click."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(22)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.horizontalHeader().setStretchLastSection(True)
    table.cellClicked.connect(on_click)
    return table


def panel_layout(panel: QWidget, title: str, controls: Sequence[QWidget], table: QWidget) -> None:
    """``panel``'s layout: a head line (the bold title, ``controls``, the last one stretched)
    over ``table``."""
    head = QHBoxLayout()
    head.addWidget(QLabel(f"<b>{title}</b>"))
    for i, w in enumerate(controls):
        head.addWidget(w, 1 if i == len(controls) - 1 else 0)
    lay = QVBoxLayout(panel)
    lay.setContentsMargins(4, 4, 4, 4)
    lay.addLayout(head)
    lay.addWidget(table, 1)
