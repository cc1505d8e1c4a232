"""Why? The causal chain of the selected event (``cinema why``) as a highlighted path on the
timeline (causes in one colour, effects in another, joined event to event) and as a list in
the Why panel, where a row seeks to its event. ``Y`` explains the selected event."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cinema.model import present
from cinema.model.causality import Why, why
from cinema.ui._layers import EMPTY, show_curve, show_points
from cinema.ui.state import ViewState
from recorder.session.format import SessionFormatError

__all__ = ["BACK_COLOR", "FORWARD_COLOR", "WhyPanel", "WhyPath"]

BACK_COLOR = "#8e2bd6"  # what led to the event
FORWARD_COLOR = "#14a085"  # what it caused
_SEQ_ROLE = Qt.ItemDataRole.UserRole


class WhyPath:
    """The chain drawn over the timeline's lanes: a line from each step to the event it
    explains (or follows from), and a dot on every event of the chain."""

    def __init__(self, timeline: Any, state: ViewState) -> None:
        self.timeline, self.state = timeline, state
        self.lines = {
            key: pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(color, width=3))
            for key, color in (("back", BACK_COLOR), ("forward", FORWARD_COLOR))
        }
        self.dots = {
            key: pg.ScatterPlotItem(
                size=11, symbol="o", pen=pg.mkPen("w", width=1), brush=pg.mkBrush(color)
            )
            for key, color in (("back", BACK_COLOR), ("forward", FORWARD_COLOR))
        }
        for item in (*self.lines.values(), *self.dots.values()):
            item.setZValue(30)
            timeline.plot.addItem(item)
        self.chain: Why | None = None
        state.sigLayout.connect(self.redraw)

    def show(self, chain: Why | None, *, zoom: bool = True) -> None:
        """Draw ``chain`` (``None``: nothing); with ``zoom``, fit the timeline to its span."""
        self.chain = chain
        self.redraw()
        if chain is not None and zoom:
            seqs = [st.seq for st in (*chain.backward, *chain.forward)]
            x, _ = self._xy(seqs)
            x0, x1 = float(x.min()), float(x.max())
            pad = max((x1 - x0) * 0.08, 1e-4)
            self.timeline.show_window(x0 - pad, x1 + pad)

    def _xy(self, seqs: list[int]) -> tuple[np.ndarray, np.ndarray]:
        st = self.state
        s = np.asarray(seqs, dtype=np.int64)
        x = (st.skeleton.ts[s] - st.session.t_first) / 1e9
        y = np.array([st.layout.row_of_pid(int(p)) for p in st.skeleton.pid[s]], np.float64)
        return x, y

    def redraw(self) -> None:
        c = self.chain
        for key in ("back", "forward"):
            steps = [] if c is None else (c.backward if key == "back" else c.forward)
            pairs = [(st.seq, st.cause) for st in steps if st.cause >= 0]
            if not steps:
                show_curve(self.lines[key], EMPTY, EMPTY)
                show_points(self.dots[key], EMPTY, EMPTY)
                continue
            x, y = self._xy([st.seq for st in steps])
            show_points(self.dots[key], x, y)
            if pairs:
                flat = [s for pair in pairs for s in pair]
                px, py = self._xy(flat)
                show_curve(self.lines[key], px, py)
            else:
                show_curve(self.lines[key], EMPTY, EMPTY)


class WhyPanel(QWidget):
    """The chain of one event: causes (newest first), then effects as a tree.

    Signals:
        sigChain(object): the chain shown changed (a :class:`~cinema.model.causality.Why`,
            or ``None`` when cleared); the process graph's messages view draws it.
    """

    sigChain = Signal(object)

    def __init__(self, state: ViewState, path: WhyPath | None = None,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.state, self.path = state, path
        self.chain: Why | None = None
        self.title = QLabel("Select an event and press Y (or Explain) to see why it happened.")
        self.title.setWordWrap(True)
        self.hops = QSpinBox()
        self.hops.setRange(1, 200)
        self.hops.setValue(20)
        self.hops.setPrefix("hops ")
        self.explain_button = QPushButton("Explain")
        self.explain_button.setToolTip(
            "Why did the selected event happen, and what did it cause? (Y)"
        )
        self.explain_button.clicked.connect(self.explain_selected)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.hops)
        head.addWidget(self.explain_button)
        head.addWidget(self.clear_button)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Event", "How"])
        self.tree.setColumnWidth(0, 620)
        self.tree.currentItemChanged.connect(self._on_current)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(head)
        lay.addWidget(self.tree, 1)

    def explain_selected(self) -> None:
        st = self.state
        seq = st.event_seq if st.event_seq >= 0 else st.seq
        if seq >= 0:
            self.explain(seq)

    def explain(self, seq: int) -> None:
        """Compute and show the chain of event ``seq``."""
        st = self.state
        try:
            self.chain = c = why(st.session, seq, max_hops=self.hops.value())
        except SessionFormatError as exc:  # a damaged part of the file: say so, in place
            self.clear()
            self.title.setText(f"Cannot explain #{seq}: {st.report(exc).text()}")
            return
        s = st.session
        self.title.setText(f"<b>Why</b> {present.event_line(s, s.event(seq), 100)}")
        self.tree.clear()
        back = QTreeWidgetItem([f"What led to it ({len(c.backward) - 1} steps)", c.cut_backward])
        back.setForeground(0, QBrush(QColor(BACK_COLOR)))
        for stp in c.backward[1:]:
            back.addChild(self._row(stp.seq, stp.relation))
        fwd = QTreeWidgetItem([f"What it caused ({len(c.forward) - 1} events)", c.cut_forward])
        fwd.setForeground(0, QBrush(QColor(FORWARD_COLOR)))
        items = {seq: fwd}
        for stp in c.forward[1:]:
            item = self._row(stp.seq, stp.relation)
            items.get(stp.cause, fwd).addChild(item)
            items[stp.seq] = item
        self.tree.addTopLevelItem(back)
        self.tree.addTopLevelItem(fwd)
        back.setExpanded(True)
        fwd.setExpanded(True)
        for item in items.values():
            item.setExpanded(True)
        if self.path is not None:
            self.path.show(c)
        self.sigChain.emit(c)

    def _row(self, seq: int, relation: str) -> QTreeWidgetItem:
        s = self.state.session
        item = QTreeWidgetItem([present.event_line(s, s.event(seq), 110), relation])
        item.setData(0, _SEQ_ROLE, seq)
        return item

    def clear(self) -> None:
        self.chain = None
        self.tree.clear()
        if self.path is not None:
            self.path.show(None)
        self.sigChain.emit(None)

    def _on_current(self, item: QTreeWidgetItem | None, _prev: Any = None) -> None:
        if item is None:
            return
        seq = item.data(0, _SEQ_ROLE)
        if seq is not None:
            self.state.select_event(int(seq))
