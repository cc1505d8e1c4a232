"""The breakpoint editor: a form per condition kind, actions, hit counts, jump to hits.

Conditions and their validation are :mod:`cinema.model.breakpoints`; the form is parsed on
every keystroke and shows the compiled expression or the :class:`~cinema.model.expr.ExprError`
message (with its column). The set edited is the playback controller's (``state.breakpoints``),
so playback and F5 / F6 stop at exactly these. Breakpoints and bookmarks are saved beside the
session (``<file>.cinema-bp.json``) after every change.

The form has two modes. *New* (the button reads "Add"): every Add adds one more breakpoint and
leaves the form as it is, ready for the next. *Editing* (selecting a breakpoint in the list;
the button reads "Update"): the form shows that breakpoint's own condition kind and fields,
its ``where`` clause and action, and Update replaces exactly those. "New" clears the form.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cinema.model import breakpoints as bpm
from cinema.model.errors import ModelError
from cinema.model.expr import ExprError, literal
from cinema.ui.state import ViewState
from recorder.session.format import SessionFormatError

__all__ = ["ACTION_LABELS", "KINDS", "BreakpointEditor"]

KINDS = {
    "process_event": "Process event",
    "message": "Message",
    "state": "State",
    "message_result": "Message result",
    "expression": "Expression",
}
#: How each action reads in the form and the list.
ACTION_LABELS = {
    "pause": "Pause",
    "pause_highlight": "Pause and highlight",
    "log": "Log and continue",
}
_KIND_OF = {
    bpm.ProcessEventCondition: "process_event",
    bpm.MessageCondition: "message",
    bpm.StateCondition: "state",
    bpm.MessageResultCondition: "message_result",
    bpm.ExpressionCondition: "expression",
}


def _opt(text: str) -> str | int | None:
    t = text.strip()
    if not t:
        return None
    return int(t) if t.isdigit() else t


def _value(text: str) -> Any:
    t = text.strip()
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    if t in ("true", "false"):
        return t == "true"
    return t.strip("\"'")


def _value_text(value: Any) -> str:
    """The text that :func:`_value` reads back as ``value``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return literal(value)


def _process_text(process: str | int | None) -> str:
    return "" if process is None else str(process)


class BreakpointEditor(QWidget):
    """Edits ``state.breakpoints``; saves them with the session's bookmarks."""

    def __init__(self, state: ViewState, parent: QWidget | None = None, *, autosave: bool = True):
        super().__init__(parent)
        self.state = state
        self.autosave = autosave
        self.editing: str | None = None

        self.kind = QComboBox()
        for key, text in KINDS.items():
            self.kind.addItem(text, key)
        self.stack = QStackedWidget()
        f_pe, f_msg, f_state, f_res, f_expr = (QWidget() for _ in range(5))
        # process event
        self.pe_events = self._line(f_pe, "events", "crash, restart")
        self.pe_process = self._line(f_pe, "process", "any (name or pid)")
        # message
        self.msg_type = self._line(f_msg, "message type", "withdraw")
        self.msg_pattern = self._line(f_msg, "or pattern", "regular expression")
        self.msg_on = QComboBox()
        self.msg_on.addItems(["receive", "send", "any"])
        f_msg.layout().addRow("on", self.msg_on)  # type: ignore[union-attr]
        self.msg_process = self._line(f_msg, "process", "any")
        # state
        self.st_field = self._line(f_state, "field", "balance")
        self.st_op = QComboBox()
        self.st_op.addItems(["changed", "==", "!=", "<", "<=", ">", ">="])
        f_state.layout().addRow("operator", self.st_op)  # type: ignore[union-attr]
        self.st_value = self._line(f_state, "value", "0")
        self.st_process = self._line(f_state, "process", "any")
        # message result
        self.res_results = self._line(f_res, "results", "timeout, dropped")
        self.res_process = self._line(f_res, "process", "any")
        # expression
        self.expr = self._line(f_expr, "expression", 'kind == "crash"')
        self.pages = (f_pe, f_msg, f_state, f_res, f_expr)
        for w in self.pages:
            self.stack.addWidget(w)
        self.where = QLineEdit()
        self.where.setPlaceholderText("and also (optional expression), e.g. t > 1.5")
        self.where.textChanged.connect(self.validate)
        self.kind.currentIndexChanged.connect(self._on_kind)
        for page in self.pages:
            for w in page.findChildren(QLineEdit):
                w.textChanged.connect(self.validate)
        for c in (self.msg_on, self.st_op):
            c.currentIndexChanged.connect(self.validate)

        self.action = QComboBox()
        for key in bpm.ACTIONS:
            self.action.addItem(ACTION_LABELS.get(key, key), key)
        self.preview = QLabel()
        self.preview.setWordWrap(True)
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        self.b_add = QPushButton("Add")
        self.b_add.clicked.connect(self.commit)
        self.b_new = QPushButton("New")
        self.b_new.setToolTip("Clear the form to write a new breakpoint")
        self.b_new.clicked.connect(self.new)

        self.list = QTreeWidget()
        self.list.setHeaderLabels(["on", "id", "condition", "action", "hits", "stopped"])
        self.list.setRootIsDecorated(False)
        for i, width in enumerate((34, 44, 260, 120, 60)):
            self.list.setColumnWidth(i, width)
        self.list.itemChanged.connect(self._on_item_changed)
        self.list.itemDoubleClicked.connect(lambda it, _c: self.jump_to_next_hit(it.data(1, 0)))
        self.list.currentItemChanged.connect(self._on_current)
        self.b_remove = QPushButton("Remove")
        self.b_remove.clicked.connect(self.remove_selected)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFormat("computing hits… %p%")
        self.progress.setVisible(False)
        self.b_cancel = QPushButton("Cancel")
        self.b_cancel.setToolTip("Stop computing the hits (the breakpoint is disabled)")
        self.b_cancel.setVisible(False)
        self.b_cancel.clicked.connect(lambda: state.hits.cancel())
        self.b_jump = QPushButton("Next hit")
        self.b_jump.clicked.connect(lambda: self.jump_to_next_hit(self._selected_id()))

        form = QFormLayout()
        form.addRow("condition", self.kind)
        top = QVBoxLayout(self)
        top.setContentsMargins(4, 4, 4, 4)
        top.addLayout(form)
        top.addWidget(self.stack)
        where_form = QFormLayout()
        where_form.addRow("where", self.where)
        top.addLayout(where_form)
        row = QHBoxLayout()
        row.addWidget(QLabel("action"))
        row.addWidget(self.action)
        row.addStretch(1)
        row.addWidget(self.b_new)
        row.addWidget(self.b_add)
        top.addLayout(row)
        top.addWidget(self.preview)
        top.addWidget(self.list, 1)
        busy = QHBoxLayout()
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.b_cancel)
        top.addLayout(busy)
        row2 = QHBoxLayout()
        row2.addWidget(self.b_jump)
        row2.addStretch(1)
        row2.addWidget(self.b_remove)
        top.addLayout(row2)
        state.sigBreakpointsChanged.connect(self.refresh)
        state.hits.sigProgress.connect(self._on_progress)
        self.validate()
        self.refresh()

    @staticmethod
    def _line(page: QWidget, label: str, placeholder: str) -> QLineEdit:
        if page.layout() is None:
            QFormLayout(page).setContentsMargins(0, 0, 0, 0)
        e = QLineEdit()
        e.setPlaceholderText(placeholder)
        page.layout().addRow(label, e)  # type: ignore[union-attr]
        return e

    def _on_kind(self, i: int) -> None:
        self.stack.setCurrentIndex(i)
        self.validate()

    def set_kind(self, key: str) -> None:
        """Show the form of condition kind ``key`` (one of :data:`KINDS`)."""
        self.kind.setCurrentIndex(list(KINDS).index(key))

    def action_key(self) -> str:
        return str(self.action.currentData())

    def set_action(self, key: str) -> None:
        self.action.setCurrentIndex(max(self.action.findData(key), 0))

    # ---------------------------------------------------------------- form ↔ condition

    def condition(self) -> bpm.BreakpointCondition:
        """The condition the form describes. Raises ModelError / ExprError when invalid."""
        kind = self.kind.currentData()
        if kind == "process_event":
            events = tuple(
                e.strip() for e in (self.pe_events.text() or "crash").split(",") if e.strip()
            )
            return bpm.ProcessEventCondition(events, _opt(self.pe_process.text()))
        if kind == "message":
            return bpm.MessageCondition(
                self.msg_type.text().strip() or None, self.msg_pattern.text().strip() or None,
                self.msg_on.currentText(), _opt(self.msg_process.text()),  # type: ignore[arg-type]
            )  # fmt: skip
        if kind == "state":
            op = self.st_op.currentText()
            value = _value(self.st_value.text()) if op != "changed" else None
            return bpm.StateCondition(
                self.st_field.text().strip(), op, value, _opt(self.st_process.text())
            )
        if kind == "message_result":
            res = tuple(
                r.strip()
                for r in (self.res_results.text() or "timeout, dropped").split(",")
                if r.strip()
            )
            return bpm.MessageResultCondition(res, _opt(self.res_process.text()))
        return bpm.ExpressionCondition(self.expr.text())

    def where_clause(self) -> str | None:
        return self.where.text().strip() or None

    def show_condition(self, cond: bpm.BreakpointCondition) -> None:
        """Fill the form with ``cond``, in its own kind's form."""
        self.set_kind(_KIND_OF[type(cond)])
        if isinstance(cond, bpm.ProcessEventCondition):
            self.pe_events.setText(", ".join(cond.events))
            self.pe_process.setText(_process_text(cond.process))
        elif isinstance(cond, bpm.MessageCondition):
            self.msg_type.setText(cond.message_type or "")
            self.msg_pattern.setText(cond.pattern or "")
            self.msg_on.setCurrentText(cond.on)
            self.msg_process.setText(_process_text(cond.process))
        elif isinstance(cond, bpm.StateCondition):
            self.st_field.setText(cond.field)
            self.st_op.setCurrentText("==" if cond.op == "equals" else cond.op)
            self.st_value.setText(_value_text(cond.value))
            self.st_process.setText(_process_text(cond.process))
        elif isinstance(cond, bpm.MessageResultCondition):
            self.res_results.setText(
                ", ".join("dropped" if r == "drop" else r for r in cond.results)
            )
            self.res_process.setText(_process_text(cond.process))
        else:
            self.expr.setText(cond.text)

    def clear_form(self) -> None:
        """Empty every field; back to the first condition kind and the "pause" action."""
        for page in self.pages:
            for w in page.findChildren(QLineEdit):
                w.clear()
        self.where.clear()
        for c in (self.msg_on, self.st_op):
            c.setCurrentIndex(0)
        self.set_kind(next(iter(KINDS)))
        self.set_action("pause")

    def validate(self, *_args: Any) -> bool:
        """Show the compiled expression, or why the form is invalid; enable Add accordingly."""
        try:
            cond = self.condition()
            text = cond.expression()
            where = self.where_clause()
            if where is not None:
                bpm.ExpressionCondition(where)  # parses it (raises with the column)
                text = f"({text}) and ({where})"
        except ExprError as exc:
            self._show_error(f"✗ column {exc.column}: {exc.message}")
            return False
        except (ModelError, ValueError) as exc:
            self._show_error(f"✗ {exc}")
            return False
        self.preview.setStyleSheet("color: #2ca02c")
        self.preview.setText(f"✓ {text}")
        self.b_add.setEnabled(True)
        return True

    def _show_error(self, text: str) -> None:
        self.preview.setStyleSheet("color: #e0302b")
        self.preview.setText(text)
        self.b_add.setEnabled(False)

    # ---------------------------------------------------------------- commands

    def commit(self) -> None:
        """Add the form's breakpoint (new mode), or update the one being edited."""
        if not self.validate():
            return
        cond, where, action = self.condition(), self.where_clause(), self.action_key()
        bps = self.state.breakpoints
        if self.editing is not None and self.editing in bps:
            bps.edit(self.editing, condition=cond, where=where, action=action)
        else:
            self.editing = None
            bps.add(cond, action=action, where=where)
        self.save()

    def new(self) -> None:
        """Leave editing: an empty form whose button adds a new breakpoint."""
        self.editing = None
        self.b_add.setText("Add")
        self.list.blockSignals(True)
        self.list.setCurrentIndex(self.list.rootIndex())  # no current item
        self.list.clearSelection()
        self.list.blockSignals(False)
        self.clear_form()

    def remove_selected(self) -> None:
        bp_id = self._selected_id()
        if bp_id is not None:
            self.state.breakpoints.remove(bp_id)
            self.new()
            self.save()

    def jump_to_next_hit(self, bp_id: str | None) -> None:
        if bp_id is None or self.state._waiting_for_hits():
            return
        if not self._quick(self.state.breakpoints.get(bp_id)):
            self.state.sigMessage.emit(f"Enable {bp_id} first: its hits are computed then")
            return
        try:
            hits = self.state.breakpoints.hits_of(self.state.session, bp_id)
        except SessionFormatError as exc:
            self.state.sigMessage.emit(f"Cannot find its hits: {self.state.report(exc).text()}")
            return
        i = int(np.searchsorted(hits, self.state.seq, side="right"))
        if len(hits):
            self.state.select_event(int(hits[i if i < len(hits) else 0]))

    def save(self) -> None:
        if self.autosave:
            self.state.save_sidecar()

    # ---------------------------------------------------------------- list

    def _selected_id(self) -> str | None:
        it = self.list.currentItem()
        return it.data(1, 0) if it is not None else None

    def refresh(self) -> None:
        st = self.state
        self.list.blockSignals(True)
        current = self.editing
        self.list.clear()
        for bp in st.breakpoints:
            why = ""
            pending = st.hits.pending(bp.id)
            try:
                if pending is not None:
                    hits = f"… {pending:.0%}"
                elif not self._quick(bp):
                    hits, why = "—", "not computed while disabled (enable it to compute)"
                else:
                    hits = f"{len(st.breakpoints.hits_of(st.session, bp.id)):,}"
                    missed = st.hits.partial.get(bp.id)
                    if missed:  # counted over the readable events only
                        hits += " ⚠"
                        why = "hits in the readable events only: " + "; ".join(missed)
            except (ModelError, ExprError) as exc:
                hits, why = "error", str(exc)
            except SessionFormatError as exc:  # its evaluation met a damaged frame
                hits, why = "unreadable", st.report(exc).text()
            it = QTreeWidgetItem(
                self.list,
                [
                    "",
                    bp.id,
                    bp.expression,
                    ACTION_LABELS.get(bp.action, bp.action),
                    hits,
                    str(bp.hit_count),
                ],
            )
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(0, Qt.CheckState.Checked if bp.enabled else Qt.CheckState.Unchecked)
            it.setToolTip(2, bp.expression)
            if why:
                it.setToolTip(4, why)
            if bp.id == current:
                self.list.setCurrentItem(it)
        self.list.blockSignals(False)
        self._show_busy()

    def _quick(self, bp: bpm.Breakpoint) -> bool:
        """Whether the hits of ``bp`` can be had here and now: known already, read from the
        columns alone, or of a live session (which computes them as it grows)."""
        st = self.state
        return (
            bp.compiled.columnar
            or st.breakpoints.cached_hits(st.session, bp.id) is not None
            or getattr(st.session.reader, "path", None) is None
        )

    def _on_progress(self, bp_id: str, fraction: float) -> None:
        for i in range(self.list.topLevelItemCount()):
            it = self.list.topLevelItem(i)
            if it is not None and it.data(1, 0) == bp_id:
                it.setText(4, f"… {fraction:.0%}")
        self._show_busy()

    def _show_busy(self) -> None:
        """The progress bar and Cancel, while a worker computes hits."""
        hits = self.state.hits
        busy = hits.busy()
        self.progress.setVisible(busy)
        self.b_cancel.setVisible(busy)
        if busy:
            done = [hits.pending(b) or 0.0 for b in list(hits.jobs)]
            self.progress.setValue(round(100 * min(done)))
            self.progress.setFormat(f"{hits.describe()}: %p%")

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self.state.breakpoints.enable(
                item.data(1, 0), item.checkState(0) == Qt.CheckState.Checked
            )
            self.save()

    def _on_current(self, item: QTreeWidgetItem | None, _prev: Any) -> None:
        if item is None:
            return
        self.edit(item.data(1, 0))

    def edit(self, bp_id: str) -> None:
        """Show breakpoint ``bp_id`` in the form, in its own kind; the button updates it."""
        bp = self.state.breakpoints.get(bp_id)
        self.editing = bp.id
        self.b_add.setText("Update")
        self.show_condition(bp.condition)
        self.where.setText(bp.where or "")
        self.set_action(bp.action)
        self.validate()
