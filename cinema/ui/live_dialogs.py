"""Small dialogs of the Live panel: edit a state value, add an interception rule, confirm.

Values are typed as literals of the expression language (``12``, ``"text"``, ``true``,
``none``, ``[1, 2]``) and parsed with its safe parser: nothing typed is ever evaluated.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cinema.model.expr import ExprError, ListLit, Lit, Node, Unary, parse
from cinema.model.present import brief
from recorder.payload import Record

__all__ = ["RuleDialog", "StateEditDialog", "confirm", "parse_literal"]


def confirm(parent: QWidget, question: str) -> bool:
    """Ask before changing the running program."""
    answer = QMessageBox.question(
        parent,
        "Change the running program",
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def _value(node: Node) -> Any:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, ListLit):
        return [_value(i) for i in node.items]
    if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Lit):
        v = node.operand.value
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v
    raise ExprError(
        "", node.pos, 'type a value: a number, a "string", true, false, none or [a list]'
    )


def parse_literal(text: str) -> Any:
    """The value a literal stands for. Raises ExprError for anything but a literal."""
    return _value(parse(text))


def _children(value: Any) -> list[tuple[str, Any, Any]]:
    """``(label, key, child)`` of a container."""
    if isinstance(value, dict):
        return [(brief(k, 60), k, v) for k, v in value.items()]
    if isinstance(value, Record):
        return [(str(k), k, v) for k, v in value.fields]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", i, v) for i, v in enumerate(value)]
    return []


class StateEditDialog(QDialog):
    """Pick a value inside a process's live state and type its new value."""

    def __init__(self, info: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit the state of {info.get('name')}")
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("The state <b>now</b>, in the running program. Pick what to change:"))
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["field", "value"])
        root = QTreeWidgetItem(self.tree, ["state", brief(info.get("state"))])
        root.setData(0, Qt.ItemDataRole.UserRole, ([], info.get("state")))
        self._fill(root, info.get("state"), [])
        root.setExpanded(True)
        self.tree.setCurrentItem(root)
        lay.addWidget(self.tree, 1)
        form = QFormLayout()
        self.value = QLineEdit()
        self.value.setPlaceholderText('12345   ·   "text"   ·   true   ·   [1, 2]')
        form.addRow("new value", self.value)
        lay.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c03030")
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.tree.currentItemChanged.connect(self._picked)
        self._result: tuple[list[Any], Any, Any] = ([], None, None)
        self.resize(520, 420)

    def _fill(self, item: QTreeWidgetItem, value: Any, path: list[Any], depth: int = 0) -> None:
        if depth > 8:
            return
        for label, key, child in _children(value)[:500]:
            sub = QTreeWidgetItem(item, [label, brief(child)])
            sub.setData(0, Qt.ItemDataRole.UserRole, ([*path, key], child))
            self._fill(sub, child, [*path, key], depth + 1)

    def select(self, path: list[Any]) -> None:
        """Pick the item at ``path`` (what the inspector had selected)."""
        item = self.tree.topLevelItem(0)
        if item is None:
            return
        for key in path:
            found = None
            for i in range(item.childCount()):
                child = item.child(i)
                if child is None:
                    continue
                data = child.data(0, Qt.ItemDataRole.UserRole)
                if data and data[0] and data[0][-1] == key:
                    found = child
                    break
            if found is None:
                break
            item = found
        self.tree.setCurrentItem(item)

    def select_labels(self, labels: list[str]) -> None:
        """Pick the item reached through these row labels (as the inspector shows them)."""
        item = self.tree.topLevelItem(0)
        for label in labels:
            if item is None:
                return
            found = None
            for i in range(item.childCount()):
                child = item.child(i)
                if child is not None and child.text(0) == label:
                    found = child
                    break
            if found is None:
                break
            item = found
        if item is not None:
            self.tree.setCurrentItem(item)

    def _picked(self, item: QTreeWidgetItem | None) -> None:
        if item is None:
            return
        _path, value = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(value, (int, float, str, bool)) or value is None:
            from cinema.model.expr import literal

            try:
                self.value.setText(literal(value))
            except ExprError:
                self.value.clear()

    def _accept(self) -> None:
        item = self.tree.currentItem()
        if item is None:
            return
        path, old = item.data(0, Qt.ItemDataRole.UserRole)
        try:
            new = parse_literal(self.value.text())
        except ExprError as exc:
            self.error.setText(exc.message if hasattr(exc, "message") else str(exc))
            return
        self._result = (list(path), old, new)
        self.accept()

    def result_edit(self) -> tuple[list[Any], Any, Any]:
        """``(path, old value, new value)`` once accepted."""
        return self._result


class RuleDialog(QDialog):
    """An interception rule: delay, drop or rewrite the messages a condition picks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Intercept messages")
        form = QFormLayout(self)
        self.action = QComboBox()
        self.action.addItems(["delay", "drop", "transform"])
        form.addRow("action", self.action)
        self.sender_edit = QLineEdit()
        self.sender_edit.setPlaceholderText("any (or a pid number / registered name)")
        form.addRow("from", self.sender_edit)
        self.receiver = QLineEdit()
        self.receiver.setPlaceholderText("any (or a pid number / registered name)")
        form.addRow("to", self.receiver)
        self.where = QLineEdit()
        self.where.setPlaceholderText('msg_type == "deposit"   (empty: every message)')
        form.addRow("when", self.where)
        self.delay = QDoubleSpinBox()
        self.delay.setRange(0.1, 600_000)
        self.delay.setValue(100)
        self.delay.setSuffix(" ms")
        form.addRow("delay", self.delay)
        self.prob = QDoubleSpinBox()
        self.prob.setRange(0.0, 1.0)
        self.prob.setSingleStep(0.1)
        self.prob.setValue(1.0)
        form.addRow("probability", self.prob)
        self.set_fields = QLineEdit()
        self.set_fields.setPlaceholderText(
            'transform: field = value, e.g.  amount = 0  or  1 = "x"'
        )
        form.addRow("set", self.set_fields)
        self.error = QLabel()
        self.error.setStyleSheet("color: #c03030")
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._rule: tuple[str, str | None, dict[str, Any]] = ("delay", None, {})

    @staticmethod
    def _who(text: str) -> Any:
        text = text.strip()
        if not text:
            return None
        return int(text) if text.isdigit() else text

    def _accept(self) -> None:
        action = self.action.currentText()
        fields: dict[str, Any] = {"probability": self.prob.value()}
        for key, edit in (("sender", self.sender_edit), ("receiver", self.receiver)):
            who = self._who(edit.text())
            if who is not None:
                fields[key] = who
        if action == "delay":
            fields["delay_ms"] = self.delay.value()
        if action == "transform":
            text = self.set_fields.text().strip()
            if "=" not in text:
                self.error.setText("a transform needs  field = value")
                return
            key_text, _, value_text = text.partition("=")
            key_text = key_text.strip()
            try:
                value = parse_literal(value_text.strip())
            except ExprError as exc:
                self.error.setText(str(exc).splitlines()[0])
                return
            field: Any = int(key_text) if key_text.lstrip("-").isdigit() else key_text
            fields["set"] = {field: value}
        where = self.where.text().strip() or None
        if where is not None:
            try:
                parse(where)
            except ExprError as exc:
                self.error.setText(str(exc).splitlines()[0])
                return
        self._rule = (action, where, fields)
        self.accept()

    def rule(self) -> tuple[str, str | None, dict[str, Any]]:
        """``(action, condition text or None, fields)`` once accepted."""
        return self._rule
