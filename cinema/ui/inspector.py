"""The inspector: the selected process at the playhead, and the selected event in full.

State is an expandable tree; what changed in the process's last state change is highlighted
there and listed under *Last change* as ``old → new`` (``cinema.model.history``). Mailbox,
links, monitors, supervisor, restarts, messages handled, CPU and memory are read off the world
at the playhead. A crash lists its error and its traceback line by line. Below the tree, the
whole text of the row in hand (a traceback with its lines, a long value), selectable, with
*Copy*; Ctrl+C on a row copies that row.
"""

from __future__ import annotations

import contextlib
import html
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cinema.model.present import brief, full
from cinema.model.world import ProcessView
from cinema.ui import valuetree
from cinema.ui._deferred import DeferredRefresh
from cinema.ui.state import ViewState
from cinema.ui.theme import STATUS_COLORS, THEMES, Theme
from cinema.ui.valuetree import add_value
from cinema.views.timefmt import format_duration, format_offset
from recorder.events import KIND_NAMES, NO_PEER, EventKind
from recorder.session.format import SessionFormatError

__all__ = ["InspectorWidget", "full_text", "last_state_change", "path_text", "state_change_paths"]

#: Item data role holding a row's whole text (what the text below the tree and Ctrl+C show).
FULL_TEXT = Qt.ItemDataRole.UserRole + 31
MAX_CHANGES = 200  # fields listed under "Last change"
MAX_TRACE_LINES = 400  # traceback lines listed (the text below has them all)


def state_change_paths(state: ViewState, pid: int) -> tuple[list[tuple[Any, ...]], int | None]:
    """Paths in ``pid``'s state that its last change at or before the playhead touched, and
    the event number of that change (None when the state never changed)."""
    from cinema.model import history

    changes, at = history.last_change(state.session, pid, state.seq)
    return [tuple(c.path) for c in changes], at


class InspectorWidget(QWidget):
    """Selected process (at the playhead) and selected event, as one tree."""

    def __init__(
        self, state: ViewState, theme: Theme = THEMES["light"], parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.state = state
        self.theme = theme
        self.title = QLabel("No process selected")
        f = QFont(self.title.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.15)
        self.title.setFont(f)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Field", "Value"])
        self.tree.setColumnWidth(0, 170)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        valuetree.install(self.tree)  # value items fill in as they are expanded
        # the whole text of the row in hand: several lines (a traceback), selectable, copyable
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.text.setFont(mono)
        self.text.setPlaceholderText("Select a row: its whole value shows here (copyable)")
        self.b_copy = QPushButton("Copy")
        self.b_copy.setToolTip("Copy the text below (Ctrl+C on a row copies that row)")
        self.b_copy.clicked.connect(
            lambda: QApplication.clipboard().setText(self.text.toPlainText())
        )
        text_box = QWidget()
        tl = QVBoxLayout(text_box)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(2)
        head = QHBoxLayout()
        self.text_title = QLabel("<small>value</small>")
        head.addWidget(self.text_title, 1)
        head.addWidget(self.b_copy)
        tl.addLayout(head)
        tl.addWidget(self.text, 1)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.tree)
        self.split.addWidget(text_box)
        self.split.setStretchFactor(0, 4)
        self.split.setStretchFactor(1, 1)
        self.split.setChildrenCollapsible(True)
        self.text.setMinimumHeight(0)
        self.tree.setMinimumHeight(40)
        self.tree.currentItemChanged.connect(lambda item, _prev: self.show_text(item))
        self.tree.installEventFilter(self)  # Ctrl+C copies a row's field and whole value
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.split, 1)
        self._expanded: set[str] = {
            "Process", "State", "Last change", "Mailbox", "Selected event", "data", "Unreadable",
        "Crash",
        }  # fmt: skip
        self.sections: dict[str, QTreeWidgetItem] = {}
        self.problem = ""  # why the world cannot be shown here (a damaged file), or ""
        self.crash_text = ""  # the selected crash's traceback
        self._pending = DeferredRefresh(self, self.refresh)
        for sig in (state.sigPosition, state.sigProcess, state.sigEvent):
            sig.connect(self._pending.request)  # several arrive per click: rebuild once
        self.refresh()

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.refresh()

    def _section(self, name: str, summary: str = "") -> QTreeWidgetItem:
        item = QTreeWidgetItem(self.tree, [name, summary])
        f = QFont(item.font(0))
        f.setBold(True)
        item.setFont(0, f)
        self.sections[name] = item
        return item

    def _remember_expansion(self) -> None:
        for name, item in self.sections.items():
            if item.isExpanded():
                self._expanded.add(name)
            else:
                self._expanded.discard(name)

    def refresh(self, *_args: Any) -> None:
        self._pending.done()
        st = self.state
        self._remember_expansion()
        self.tree.setUpdatesEnabled(False)
        self.tree.clear()
        self.sections = {}
        try:
            proc = st.world().process(st.pid) if st.pid >= 0 else None
        except SessionFormatError as exc:  # its state comes from a damaged frame
            proc = None
            self.problem = st.world_problem(exc)
            self._show_status_only(st.pid)
        else:
            self.problem = ""
        if self.problem:
            pass  # said above
        elif proc is None:
            label = html.escape(st.process_label(st.pid)) if st.pid >= 0 else ""
            self.title.setText(
                f"{label} — not alive at this point" if label else "No process selected"
            )
        else:
            self._show_process(proc)
        if st.event_seq >= 0:
            try:
                self._show_event(st.event_seq)
            except SessionFormatError as exc:
                problem = st.report(exc)
                sec = self._section("Selected event", f"#{st.event_seq:,} cannot be read")
                QTreeWidgetItem(sec, ["", problem.text()]).setToolTip(1, problem.text())
        for name, item in self.sections.items():
            item.setExpanded(name in self._expanded)
        self.tree.setUpdatesEnabled(True)

    def _show_status_only(self, pid: int) -> None:
        """What the skeleton still tells about ``pid`` when its state cannot be read."""
        st = self.state
        status = None
        with contextlib.suppress(SessionFormatError):  # the skeleton alone gives the status
            status = st.world().status_table().status_of(pid) if pid >= 0 else None
        label = html.escape(st.process_label(pid)) if pid >= 0 else "No process selected"
        color = STATUS_COLORS.get(status or "", self.theme.foreground)
        dot = f" <span style='color:{color}'>● {status}</span>" if status else ""
        self.title.setText(f"{label}{dot} <small>at event #{st.seq:,}</small>")
        sec = self._section("Unreadable", "the file is damaged here")
        item = QTreeWidgetItem(sec, ["state", self.problem])
        item.setToolTip(1, self.problem)

    def _show_process(self, p: ProcessView) -> None:
        st = self.state
        color = STATUS_COLORS.get(p.status, self.theme.foreground)
        self.title.setText(  # a title in rich text: the name is the program's, escaped
            f"{html.escape(p.name)} &lt;0.{p.pid}.0&gt; "
            f"<span style='color:{color}'>● {p.status}</span>"
            f" <small>at event #{st.seq:,}</small>"
        )
        sec = self._section("Process", p.behaviour)
        sup = st.process_label(p.supervisor) if p.supervisor is not None else "-"
        rows = [
            ("pid", f"<0.{p.pid}.0> ({p.pid})"),
            ("behaviour", p.behaviour),
            ("status", p.status),
            ("supervisor", sup),
            ("parent", st.process_label(p.parent) if p.parent is not None else "-"),
            ("registered", p.registered or "-"),
            ("restarts", str(p.restarts)),
            ("messages handled", f"{p.handled:,}"),
            ("CPU", format_duration(p.cpu_ns)),
            ("memory", _fmt_bytes(p.memory)),
            ("trap_exit", str(p.trap_exit)),
            ("links", ", ".join(st.process_label(x) for x in p.links) or "-"),
            (
                "monitors",
                ", ".join(f"{st.process_label(t)} (#Ref<{r}>)" for r, t in p.monitors) or "-",
            ),
        ]
        for k, v in rows:
            QTreeWidgetItem(sec, [k, v])
        if not p.alive:  # why it ended: the EXIT / CRASH reason, whole on selection and copy
            item = QTreeWidgetItem(sec, ["exit reason", brief(p.exit_reason, 120)])
            item.setData(1, FULL_TEXT, full_text(p.exit_reason))
            item.setToolTip(1, full_text(p.exit_reason)[:2000])
        changes, changed_at = last_state_change(st, p.pid)
        paths = [tuple(c.path) for c in changes]
        summary = f"changed at #{changed_at:,}" if changed_at is not None else ""
        ssec = self._section("State", summary)
        add_value(
            ssec, "state", p.state, changed=paths, highlight=QColor(self.theme.highlight)
        ).setExpanded(True)
        if changed_at is not None:
            self._show_changes(changes, changed_at)
        msec = self._section("Mailbox", f"{p.mailbox_len} message(s)")
        for m in p.mailbox[:200]:
            add_value(msec, f"#{m.msg_id} from {st.process_label(m.sender)}", m.message)
        if p.mailbox_len > len(p.mailbox[:200]):
            QTreeWidgetItem(msec, ["…", f"{p.mailbox_len - len(p.mailbox[:200])} more"])

    def _show_changes(self, changes: list[Any], at: int) -> None:
        """The last state change, field by field: ``old → new``."""
        sec = self._section("Last change", f"#{at:,}: {len(changes)} field(s)")
        hl = QBrush(QColor(self.theme.highlight))
        for c in changes[:MAX_CHANGES]:
            label = path_text(c.path)
            if c.op == "added":
                value, full = f"+ {brief(c.new, 120)}", f"added: {full_text(c.new)}"
            elif c.op == "removed":
                value, full = f"− {brief(c.old, 120)}", f"removed: {full_text(c.old)}"
            else:
                value = f"{brief(c.old, 60)} → {brief(c.new, 60)}"
                full = f"was: {full_text(c.old)}\nnow: {full_text(c.new)}"
            item = QTreeWidgetItem(sec, [label, value])
            item.setData(1, FULL_TEXT, full)
            item.setToolTip(1, full[:2000])
            item.setBackground(1, hl)
        if len(changes) > MAX_CHANGES:
            QTreeWidgetItem(sec, ["…", f"{len(changes) - MAX_CHANGES:,} more"])

    def _show_crash(self, data: Any) -> None:
        """A crash's error and its traceback, line by line (the text below has it whole)."""
        d = data if isinstance(data, dict) else {}
        error, tb = d.get("error"), d.get("traceback")
        sec = self._section("Crash", str(error) if error else "")
        if error:
            QTreeWidgetItem(sec, ["error", str(error)]).setData(1, FULL_TEXT, str(error))
        lines = str(tb).rstrip("\n").splitlines() if tb else []
        for line in lines[:MAX_TRACE_LINES]:
            row = QTreeWidgetItem(sec, ["", line])
            row.setData(1, FULL_TEXT, str(tb))
        self.crash_text = str(tb) if tb else str(error or "")

    def show_text(self, item: QTreeWidgetItem | None) -> None:
        """Show the whole text of ``item``'s value below the tree."""
        if item is None:
            return
        full = item.data(1, FULL_TEXT)
        self.text.setPlainText(str(full) if full else (item.toolTip(1) or item.text(1)))
        self.text_title.setText(f"<small>{html.escape(item.text(0) or 'value')}</small>")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # the view's own Ctrl+C copies only the cell's visible text
        if (
            watched is self.tree
            and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Copy)
        ):
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                self.copy_row()
            return True
        return False

    def copy_row(self) -> None:
        """Ctrl+C on a row: its field and whole value to the clipboard."""
        item = self.tree.currentItem()
        if item is None:
            return
        full = item.data(1, FULL_TEXT) or item.toolTip(1) or item.text(1)
        QApplication.clipboard().setText(f"{item.text(0)}: {full}" if item.text(0) else str(full))

    def _show_event(self, seq: int) -> None:
        st = self.state
        ev = st.session.event(seq)
        sec = self._section("Selected event", f"#{seq:,} {KIND_NAMES.get(ev.kind, ev.kind)}")
        rows = [
            ("seq", f"{seq:,}"),
            ("time", format_offset(ev.ts - st.session.t_first, sign=True)),
            ("kind", KIND_NAMES.get(ev.kind, str(ev.kind))),
            ("process", st.process_label(ev.pid)),
            ("peer", st.process_label(ev.peer) if ev.peer != NO_PEER else "-"),
            ("ref", str(ev.ref) if ev.ref else "-"),
        ]
        for k, v in rows:
            QTreeWidgetItem(sec, [k, v])
        add_value(sec, "data", ev.data).setExpanded(True)
        sec.setToolTip(1, brief(ev.data, 2000))
        self.crash_text = ""
        if ev.kind == EventKind.CRASH:
            self._show_crash(ev.data)
            self.text.setPlainText(self.crash_text)  # the traceback, ready to read and copy
            self.text_title.setText("<small>traceback</small>")


def last_state_change(state: ViewState, pid: int) -> tuple[list[Any], int | None]:
    """What ``pid``'s last state change at or before the playhead changed (old and new
    values), and its event number (None when the state never changed)."""
    from cinema.model import history

    changes, at = history.last_change(state.session, pid, state.seq)
    return list(changes), at


def path_text(path: tuple[Any, ...]) -> str:
    """``balance``, ``history[2]``, ``accounts["acct-3"].owner``: a path into a value."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(p, str) and p.isidentifier():
            out += f".{p}" if out else p
        else:
            out += f"[{brief(p, 40)}]"
    return out or "(the whole state)"


def full_text(value: Any) -> str:
    """A value's whole text; a string as itself (its newlines are lines)."""
    return value if isinstance(value, str) else full(value)


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)
