"""The inspector: the selected process at the playhead, and the selected event in full.

State is an expandable tree; what changed since the process's previous state is highlighted
(the paths come from ``cinema.model.history.diff``). Mailbox, links, monitors, supervisor,
restarts, messages handled, CPU and memory are read off the world at the playhead.
"""

from __future__ import annotations

import contextlib
import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from cinema.model.present import brief
from cinema.model.world import ProcessView
from cinema.ui._deferred import DeferredRefresh
from cinema.ui.state import ViewState
from cinema.ui.theme import STATUS_COLORS, THEMES, Theme
from cinema.ui.valuetree import add_value
from cinema.views.timefmt import format_duration, format_offset
from recorder.events import KIND_NAMES, NO_PEER
from recorder.session.format import SessionFormatError

__all__ = ["InspectorWidget", "state_change_paths"]


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
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(self.tree, 1)
        self._expanded: set[str] = {
            "Process", "State", "Mailbox", "Selected event", "data", "Unreadable",
        }  # fmt: skip
        self.sections: dict[str, QTreeWidgetItem] = {}
        self.problem = ""  # why the world cannot be shown here (a damaged file), or ""
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
            label = st.process_label(st.pid) if st.pid >= 0 else ""
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
        self.title.setText(
            f"{p.name} &lt;0.{p.pid}.0&gt; <span style='color:{color}'>● {p.status}</span>"
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
        paths, changed_at = state_change_paths(st, p.pid)
        summary = f"changed at #{changed_at:,}" if changed_at is not None else ""
        ssec = self._section("State", summary)
        add_value(
            ssec, "state", p.state, changed=paths, highlight=QColor(self.theme.highlight)
        ).setExpanded(True)
        msec = self._section("Mailbox", f"{p.mailbox_len} message(s)")
        for m in p.mailbox[:200]:
            add_value(msec, f"#{m.msg_id} from {st.process_label(m.sender)}", m.message)
        if p.mailbox_len > len(p.mailbox[:200]):
            QTreeWidgetItem(msec, ["…", f"{p.mailbox_len - len(p.mailbox[:200])} more"])

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


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)
