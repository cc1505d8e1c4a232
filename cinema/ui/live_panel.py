"""The Live panel: pause / resume / step the running program, breakpoints that stop it,
state edits, interception rules, snapshots, saving, and the connection's health.

Every button is a call into :class:`~cinema.model.live.LiveSource`; a refusal from the program
(a condition it cannot evaluate, a dead process, ...) is shown in the panel's message line.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cinema.model.errors import ModelError
from cinema.model.expr import ExprError
from cinema.model.live import LiveSource
from cinema.ui.live_dialogs import RuleDialog, StateEditDialog, confirm
from cinema.ui.state import ViewState
from recorder.live import LiveError

__all__ = ["LivePanel"]


class LivePanel(QWidget):
    """Controls of a live session (see the module docstring)."""

    def __init__(self, source: LiveSource, state: ViewState, parent: QWidget | None = None):
        super().__init__(parent)
        self.source = source
        self.state = state
        lay = QVBoxLayout(self)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.status)
        row = QHBoxLayout()
        self.btn_pause = QPushButton("Pause")
        self.btn_pause.setToolTip("Pause / resume the running program (F8)")
        self.btn_step = QPushButton("Step")
        self.btn_step.setToolTip("Run one event, then pause again (F10)")
        self.btn_step_proc = QPushButton("Step process")
        self.btn_step_proc.setToolTip(
            "Run until the selected process's next event, then pause (Shift+F10)"
        )
        self.btn_reconnect = QPushButton("Reconnect")
        for b in (self.btn_pause, self.btn_step, self.btn_step_proc, self.btn_reconnect):
            row.addWidget(b)
        lay.addLayout(row)
        self.btn_pause.clicked.connect(self.toggle_pause)
        self.btn_step.clicked.connect(lambda: self._do(self.source.step))
        self.btn_step_proc.clicked.connect(self.step_process)
        self.btn_reconnect.clicked.connect(self.reconnect)

        lay.addWidget(QLabel("<b>Breakpoints</b> — where each is evaluated"))
        brow = QHBoxLayout()
        self.bp_text = QLineEdit()
        self.bp_text.setPlaceholderText('kind == "crash"   ·   state.balance < 0')
        self.bp_text.returnPressed.connect(self.add_breakpoint)
        self.btn_bp = QPushButton("Stop the program when")
        self.btn_bp.setToolTip("A breakpoint evaluated inside the program: a hit pauses it")
        self.btn_bp.clicked.connect(self.add_breakpoint)
        brow.addWidget(self.bp_text, 1)
        brow.addWidget(self.btn_bp)
        lay.addLayout(brow)
        self.bp_list = QTreeWidget()
        self.bp_list.setHeaderLabels(["condition", "evaluated", "hits"])
        self.bp_list.setRootIsDecorated(False)
        self.bp_list.itemDoubleClicked.connect(self._remove_bp)
        lay.addWidget(self.bp_list, 1)

        row2 = QHBoxLayout()
        self.btn_edit = QPushButton("Edit state…")
        self.btn_edit.setToolTip("Change the selected process's state in the running program")
        self.btn_edit.clicked.connect(self.edit_state)
        self.btn_rule = QPushButton("Intercept…")
        self.btn_rule.setToolTip("Delay, drop or rewrite messages in flight")
        self.btn_rule.clicked.connect(self.add_rule)
        row2.addWidget(self.btn_edit)
        row2.addWidget(self.btn_rule)
        lay.addLayout(row2)
        row3 = QHBoxLayout()
        self.btn_snap = QPushButton("Snapshot")
        self.btn_snap.setToolTip("Copy every process's state, mailbox and timers")
        self.btn_snap.clicked.connect(self.snapshot)
        self.snaps = QComboBox()
        self.btn_restore = QPushButton("Restore")
        self.btn_restore.setToolTip("Rewind the program to the chosen snapshot")
        self.btn_restore.clicked.connect(self.restore)
        self.btn_save = QPushButton("Save…")
        self.btn_save.setToolTip("Save everything received so far to a session file (Ctrl+S)")
        self.btn_save.clicked.connect(self.save)
        for w in (self.btn_snap, self.snaps, self.btn_restore, self.btn_save):
            row3.addWidget(w)
        lay.addLayout(row3)
        self.message = QLabel()
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        state.sigBreakpointsChanged.connect(self.refresh_breakpoints)
        self._pending_select: int | None = None
        self.refresh()

    # ---------------------------------------------------------------- wiring

    def install_actions(self, win: QMainWindow) -> None:
        """A Live menu with the shortcuts (F8, F10, Shift+F10, Ctrl+S)."""
        menu = win.menuBar().addMenu("&Live")
        for text, keys, slot in (
            ("&Pause / resume", "F8", self.toggle_pause),
            ("&Step one event", "F10", lambda: self._do(self.source.step)),
            ("Step the selected &process", "Shift+F10", self.step_process),
            ("&Edit state…", None, self.edit_state),
            ("&Intercept messages…", None, self.add_rule),
            ("Take a s&napshot", None, self.snapshot),
            ("&Save live session…", "Ctrl+S", self.save),
            ("&Reconnect", None, self.reconnect),
        ):
            act = menu.addAction(text, slot)
            if keys:
                act.setShortcut(QKeySequence(keys))
                act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.menu = menu

    def on_notice(self, notice: dict[str, Any]) -> None:
        """A notice from the program (GUI thread)."""
        op = notice.get("op")
        if op == "paused":
            if notice.get("breakpoint") is not None:
                self._refresh_server_breakpoints()
            seq = self.source.local_seq(int(notice.get("seq", -1)))
            why = notice.get("reason", "")
            text = notice.get("text")
            self.message.setText(f"paused at #{seq:,}: {why}" + (f" ({text})" if text else ""))
            self._pending_select = seq  # its frame may still be on its way: selected on arrival
        elif op == "gap":
            self.message.setText(f"missed {notice.get('missed', 0):,} events (fell behind)")
        elif op == "disconnected":
            self.message.setText(f"disconnected: {notice.get('reason')}; what was received stays")
        elif op == "breakpoints":
            self.refresh_breakpoints()
        self.refresh()

    # ---------------------------------------------------------------- display

    def refresh(self) -> None:
        src = self.source
        n = self.state.event_count
        pending = self._pending_select
        if pending is not None and 0 <= pending < n:
            self._pending_select = None
            self.state.select_event(pending)
        if not src.connected:
            self.status.setText(
                f"<span style='color:#888'>● disconnected</span> — {src.closed_reason or ''}"
                f"<br>{n:,} events received (saved on Save…)"
            )
        elif src.paused:
            self.status.setText(f"<b style='color:#d08000'>❚❚ PAUSED</b> — {n:,} events")
        else:
            self.status.setText(f"<b style='color:#e0302b'>● LIVE</b> — running, {n:,} events")
        connected = src.connected
        self.btn_pause.setText("Resume" if src.paused else "Pause")
        for b in (self.btn_pause, self.btn_bp, self.btn_edit, self.btn_rule, self.btn_snap):
            b.setEnabled(connected)
        for b in (self.btn_step, self.btn_step_proc):
            b.setEnabled(connected and src.paused)
        self.btn_restore.setEnabled(connected and self.snaps.count() > 0)
        self.btn_reconnect.setVisible(not connected)

    def _refresh_server_breakpoints(self) -> None:
        try:
            self.source.breakpoints = list(self.source.request("status")["breakpoints"])
        except ModelError:
            return
        self.refresh_breakpoints()

    def refresh_breakpoints(self) -> None:
        self.bp_list.clear()
        for bp in self.source.breakpoints:
            item = QTreeWidgetItem([bp["text"], "in the program", str(bp.get("hits", 0))])
            item.setData(0, Qt.ItemDataRole.UserRole, bp["id"])
            item.setToolTip(0, "double-click to remove")
            self.bp_list.addTopLevelItem(item)
        for viewer_bp in self.state.breakpoints:  # the editor's: they stop replay, not the program
            item = QTreeWidgetItem(
                [viewer_bp.expression, "in the viewer (replay)", str(viewer_bp.hit_count)]
            )
            item.setToolTip(0, "edit it in the Breakpoints panel")
            self.bp_list.addTopLevelItem(item)

    # ---------------------------------------------------------------- commands

    def _do(self, fn: Any, *args: Any) -> Any:
        try:
            result = fn(*args)
        except (ModelError, LiveError, ExprError) as exc:
            self.message.setText(str(exc).splitlines()[0])
            return None
        self.refresh()
        return result

    def toggle_pause(self) -> None:
        self._do(self.source.resume if self.source.paused else self.source.pause)

    def step_process(self) -> None:
        pid = self.state.pid
        if pid < 0:
            self.message.setText("select a process first")
            return
        self._do(lambda: self.source.step(pid=pid))

    def add_breakpoint(self) -> None:
        text = self.bp_text.text().strip()
        if not text:
            return
        bp = self._do(self.source.add_breakpoint, text)
        if bp is not None:
            self.bp_text.clear()
            self.message.setText(f"breakpoint {bp['id']}: the program stops when {text}")
            self.source.breakpoints = [*self.source.breakpoints, bp]
            self.refresh_breakpoints()

    def _remove_bp(self, item: QTreeWidgetItem) -> None:
        bp_id = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(bp_id, int):
            self._do(self.source.remove_breakpoint, bp_id)

    def watch_inspector(self, tree: QTreeWidget) -> None:
        """Right-click a value of the inspector's state: edit it in the running program."""
        tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

        def menu(pos: Any) -> None:
            from PySide6.QtWidgets import QMenu

            item = tree.itemAt(pos)
            labels: list[str] = []
            while item is not None and (parent := item.parent()) is not None:
                if item.text(0) == "state" and parent.text(0) == "State":
                    m = QMenu(tree)
                    act = m.addAction("Edit in the running program…")
                    act.triggered.connect(lambda: self.edit_state(list(reversed(labels))))
                    m.exec(tree.viewport().mapToGlobal(pos))
                    return
                labels.append(item.text(0))
                item = parent

        tree.customContextMenuRequested.connect(menu)

    def edit_state(self, labels: list[str] | None = None) -> None:
        pid = self.state.pid
        if pid < 0:
            self.message.setText("select a process first")
            return
        info = self._do(self.source.info, pid)
        if info is None:
            return
        dlg = StateEditDialog(info, self)
        if labels:
            dlg.select_labels(labels)
        if not dlg.exec():
            return
        path, old, new = dlg.result_edit()
        where = ".".join(str(p) for p in path) or "the state"
        question = f"Set {where} of {info['name']} from {old!r} to {new!r} in the running program?"
        if not confirm(self, question):
            return
        reply = self._do(self.source.set_state, pid, path, new)
        if reply is not None:
            self.message.setText(reply.get("warning") or f"{info['name']}: {where} = {new!r}")

    def add_rule(self) -> None:
        dlg = RuleDialog(self)
        if not dlg.exec():
            return
        action, where, fields = dlg.rule()
        rule = self._do(lambda: self.source.add_rule(action, where=where, **fields))
        if rule is not None:
            self.message.setText(f"rule {rule['id']}: {action} {rule.get('message', '')}")

    def snapshot(self) -> None:
        snap = self._do(self.source.snapshot, f"at #{self.state.event_count - 1:,}")
        if snap is not None:
            self.snaps.addItem(f"{snap['id']}: {snap['label']}", snap["id"])
            self.snaps.setCurrentIndex(self.snaps.count() - 1)
            self.message.setText(
                f"snapshot {snap['id']}: {snap['processes']} processes, "
                f"{snap['messages']} queued messages, {snap['timers']} timers"
            )
            self.refresh()

    def restore(self) -> None:
        snap_id = self.snaps.currentData()
        if snap_id is None or not confirm(self, "Rewind the running program to this snapshot?"):
            return
        result = self._do(self.source.restore, snap_id)
        if result is not None:
            self.message.setText(
                f"restored {len(result.get('restored', []))} processes"
                + (f"; skipped {', '.join(result['skipped'])}" if result.get("skipped") else "")
            )

    def save(self, path: str | None = None) -> str | None:
        if not path:
            from cinema.ui.live_app import default_save_path

            path, _ = QFileDialog.getSaveFileName(
                self, "Save the live session", default_save_path(), "Cinema sessions (*.cinema)"
            )
        if not path:
            return None
        saved = self._do(self.source.save, path)
        if saved is not None:
            self.message.setText(f"saved {self.state.event_count:,} events to {saved}")
        return str(saved)

    def reconnect(self) -> None:
        result = self._do(self.source.connect)
        if result is not None:
            self.message.setText("reconnected")
        self.refresh()
