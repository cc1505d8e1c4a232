"""The main window: dockable panels around the timeline, status bar, menus, shortcuts, themes."""

from __future__ import annotations

import functools
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from cinema.ui import _binding  # noqa: F401  (before the UI's other modules: see there)
from cinema.ui.breakpoints import BreakpointEditor
from cinema.ui.eventlist import EventListWidget
from cinema.ui.graph import ProcessGraphWidget
from cinema.ui.inspector import InspectorWidget
from cinema.ui.logpanel import LogPanel
from cinema.ui.metrics import MetricsWidget
from cinema.ui.playback import PlaybackBar
from cinema.ui.state import ViewState
from cinema.ui.theme import THEMES, Theme, apply_theme
from cinema.ui.timeline import TimelineWidget
from cinema.views.damage import recovery_text
from cinema.views.timefmt import format_offset

__all__ = ["COMPACT_BELOW", "MIN_SIZE", "SHORTCUTS", "MainWindow"]

#: (keys, what they do): the Help > Shortcuts dialog lists exactly these.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Space", "Play / pause"),
    ("J / K / L", "Rewind (again: faster) / pause / fast-forward (again: faster)"),
    ("Left / Right", "Step one event back / forward"),
    ("Shift+Left / Shift+Right", "Step within the selected process"),
    ("Home / End", "Jump to the first / last event"),
    ("F5 / F6", "Run to the next / previous breakpoint"),
    ("Ctrl+L", "Show the log of log breakpoints"),
    ("Ctrl+F", "Search events (filter box)"),
    ("Ctrl+B", "Toggle a bookmark at the playhead"),
    ("Ctrl+O", "Open a session"),
    ("Ctrl+E", "Export the session, or a cut of it, redacted (File › Export…)"),
    ("W / S, A / D, 0", "Timeline: zoom in / out, pan, fit all"),
    ("Double-click a lane", "Collapse / expand a supervisor's subtree"),
    ("Y", "Why? Explain the selected event (causes and effects, on the timeline)"),
    ("Ctrl+Shift+A", "Show the findings (cinema analyze)"),
)

SETTINGS_ORG, SETTINGS_APP = "Cinema", "cinema"
#: The smallest window (px): the transport bar, a usable slider and the docks still fit.
MIN_SIZE = (720, 460)
#: Below this size (px) the window is compact (see :meth:`MainWindow.set_compact`).
COMPACT_BELOW = (1100, 700)


def _bundle_facts(state: ViewState) -> Any:
    """The facts of a bundle (``cinema export``), or None (a recording, a live session)."""
    from cinema.model.export.imported import bundle_facts

    if getattr(state.session.reader, "path", None) is None:
        return None
    try:
        return bundle_facts(state.session)
    except Exception:  # a damaged META frame never stops the window
        return None


class MainWindow(QMainWindow):
    """One session: timeline (centre), playback bar, dock panels."""

    def __init__(
        self, state: ViewState, *, theme: str = "light", settings: QSettings | None = None
    ):
        super().__init__()
        self.state = state
        self.settings = settings if settings is not None else QSettings(SETTINGS_ORG, SETTINGS_APP)
        self.theme: Theme = THEMES[theme]
        title = getattr(state.session.reader, "path", None) or "live session"
        self.setObjectName("CinemaMainWindow")
        self.setDockNestingEnabled(True)
        self.compact = False

        centre = QWidget()
        # with a parent, the timeline draws its first frame when shown (at its final width)
        self.timeline = TimelineWidget(state, self.theme, parent=centre)
        self.playback = PlaybackBar(state, self.theme)
        lay = QVBoxLayout(centre)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        # what the file cannot show (unfinished recording, damaged frames): said once, here
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet(
            "background: #fff4ce; color: #5a4300; border-bottom: 1px solid #e0c060;"
            " padding: 4px 8px"
        )
        self.banner.setVisible(False)
        lay.addWidget(self.banner)
        # a bundle from `cinema export` says what it was cut from, and the exporter's note
        self.cut_banner = QLabel()
        self.cut_banner.setObjectName("cut_banner")
        self.cut_banner.setWordWrap(True)
        self.cut_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cut_banner.setStyleSheet(
            "background: #e3effc; color: #12385e; border-bottom: 1px solid #9cc2ea;"
            " padding: 4px 8px"
        )
        self.bundle = _bundle_facts(state)
        if self.bundle is not None:
            text = "✂ " + self.bundle.summary()
            if self.bundle.note:
                text += f"  Note: {self.bundle.note}"
            self.cut_banner.setText(text)
            title = f"{title} (cut from {self.bundle.cut.get('cut_from')})"
        self.cut_banner.setVisible(self.bundle is not None)
        lay.addWidget(self.cut_banner)
        self.setWindowTitle(f"Cinema — {title}")
        lay.addWidget(self.timeline, 1)
        self.setCentralWidget(centre)
        # the transport spans the whole window (above the docks): the slider keeps its width
        self.transport = QToolBar("Playback", self)
        self.transport.setObjectName("toolbar_playback")
        self.transport.setMovable(False)
        self.transport.setFloatable(False)
        self.transport.addWidget(self.playback)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.transport)

        self.graph = ProcessGraphWidget(state, theme=self.theme)
        self.inspector = InspectorWidget(state, self.theme)
        self.events = EventListWidget(state)
        self.breakpoint_editor = BreakpointEditor(state)
        self.metrics = MetricsWidget(state, self.theme)
        self.log_panel = LogPanel(state)
        self.docks: dict[str, QDockWidget] = {}
        right, bottom = (
            Qt.DockWidgetArea.RightDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        self._dock("graph", "Process graph", self.graph, right)
        self._dock("inspector", "Inspector", self.inspector, right)
        self.splitDockWidget(self.docks["graph"], self.docks["inspector"], Qt.Orientation.Vertical)
        # the bottom panels share one tab bar, in this order
        for key, title, widget in (
            ("events", "Events", self.events),
            ("breakpoints", "Breakpoints", self.breakpoint_editor),
            ("log", "Log", self.log_panel),
            ("metrics", "Metrics", self.metrics),
        ):
            self.add_panel(key, title, widget, bottom)
        from cinema.ui.analysis_panels import install

        self.analysis = install(self)  # Findings, Why, the Top table beside the metrics
        self.docks["events"].raise_()

        self.status_pos = QLabel()
        self.status_live = QLabel()
        self.status_work = QLabel()  # breakpoint hits being computed by the worker
        self.statusBar().addWidget(self.status_pos, 1)
        self.statusBar().addPermanentWidget(self.status_work)
        self.statusBar().addPermanentWidget(self.status_live)
        self._menus()
        self._shortcuts()
        state.sigPosition.connect(self._update_status)
        state.sigGrown.connect(lambda _n: self._update_status(state.seq))
        state.sigHit.connect(self._on_hit)
        state.sigProcess.connect(lambda _pid: self._update_status(state.seq))
        state.sigDamage.connect(self._update_banner)
        state.hits.sigProgress.connect(lambda *_a: self.status_work.setText(state.hits.describe()))
        state.hits.sigDone.connect(lambda _id: self.status_work.setText(state.hits.describe()))
        state.sigMessage.connect(lambda text: self.statusBar().showMessage(text, 6000))
        self._update_status(state.seq)
        self._update_banner()
        self.resize(1500, 950)
        # below this the transport and the panels no longer fit; docks can still be closed
        self.setMinimumSize(MIN_SIZE[0], MIN_SIZE[1])
        self.resizeDocks([self.docks["graph"]], [560], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["events"]], [260], Qt.Orientation.Vertical)
        self.resizeDocks(
            [self.docks["graph"], self.docks["inspector"]], [380, 420], Qt.Orientation.Vertical
        )
        self.restore_layout()

    # ---------------------------------------------------------------- construction

    def _dock(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        d = QDockWidget(title, self)
        d.setObjectName(f"dock_{key}")
        d.setWidget(widget)
        self.addDockWidget(area, d)
        self.docks[key] = d

    def add_panel(
        self,
        key: str,
        title: str,
        widget: QWidget,
        area: Qt.DockWidgetArea = Qt.DockWidgetArea.BottomDockWidgetArea,
    ) -> QDockWidget:
        """Dock ``widget`` as panel ``key``: a tab beside the last panel in ``area`` (its own
        dock when it is the first there). *View* lists it once the menus are built."""
        last = next((d for d in reversed(self.docks.values()) if self.dockWidgetArea(d) == area),
                    None)  # fmt: skip
        self._dock(key, title, widget, area)
        if last is not None:
            self.tabifyDockWidget(last, self.docks[key])
        return self.docks[key]

    def _menus(self) -> None:
        mb = self.menuBar()
        m_file = mb.addMenu("&File")
        self.act_open = m_file.addAction("&Open…")
        self.act_open.setShortcut(QKeySequence.StandardKey.Open)
        self.recent_menu = m_file.addMenu("Open &recent")
        self.act_export = m_file.addAction("&Export…", self.show_export)
        self.act_export.setShortcut(QKeySequence("Ctrl+E"))
        self.act_export.setEnabled(not self.state.live)
        m_file.addSeparator()
        m_file.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)
        m_view = mb.addMenu("&View")
        for key, dock in self.docks.items():
            a = dock.toggleViewAction()
            a.setText(dock.windowTitle())
            m_view.addAction(a)
            del key
        m_view.addSeparator()
        for name in THEMES:
            m_view.addAction(f"{name.title()} theme", functools.partial(self.set_theme, name))
        m_view.addAction(
            "Collapse all supervisors", lambda: self.state.set_collapsed(self.state.supervisors())
        )
        m_view.addAction("Expand all", lambda: self.state.set_collapsed(()))
        m_view.addSeparator()
        self.act_follow = m_view.addAction("&Follow live")
        self.act_follow.setCheckable(True)
        self.act_follow.setChecked(self.state.follow_live)
        self.act_follow.setEnabled(self.state.live)
        self.act_follow.setToolTip("Keep the playhead on the newest event of a live session")
        self.act_follow.toggled.connect(self.state.set_follow_live)
        m_help = mb.addMenu("&Help")
        m_help.addAction("&Shortcuts", self.show_shortcuts)

    def _shortcuts(self) -> None:
        st = self.state
        bindings: list[tuple[Any, Any]] = [
            (Qt.Key.Key_Space, st.toggle_play),
            (Qt.Key.Key_J, st.rewind),
            (Qt.Key.Key_K, st.pause),
            (Qt.Key.Key_L, st.fast_forward),
            (Qt.Key.Key_Right, lambda: st.step(1)),
            (Qt.Key.Key_Left, lambda: st.step(-1)),
            (QKeySequence("Shift+Right"), lambda: st.step(1, within_process=True)),
            (QKeySequence("Shift+Left"), lambda: st.step(-1, within_process=True)),
            (Qt.Key.Key_Home, lambda: st.seek(0)),
            (Qt.Key.Key_End, lambda: st.seek(st.event_count - 1)),
            (Qt.Key.Key_F5, st.run_to_next_breakpoint),
            (Qt.Key.Key_F6, st.run_to_prev_breakpoint),
            (QKeySequence.StandardKey.Find, self.focus_search),
            (QKeySequence("Ctrl+B"), st.toggle_bookmark),
            (QKeySequence("Ctrl+L"), lambda: self.show_panel("log")),
        ]
        self.shortcuts: list[QShortcut] = []
        for key, slot in bindings:
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(slot)
            self.shortcuts.append(sc)

    # ---------------------------------------------------------------- commands

    def show_panel(self, key: str) -> None:
        """Bring panel ``key`` to the front (showing it if it was closed)."""
        self.docks[key].show()
        self.docks[key].raise_()

    def focus_search(self) -> None:
        self.docks["events"].show()
        self.docks["events"].raise_()
        self.events.filter.setFocus()
        self.events.filter.selectAll()

    def set_theme(self, name: str) -> None:
        self.theme = THEMES[name]
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.theme)
        for w in (self.timeline, self.playback, self.graph, self.inspector, self.metrics):
            w.apply_theme(self.theme)
        self.settings.setValue("theme", name)

    def show_export(self) -> QDialog:
        """File › Export…: a cut of this session, redacted, in one of the export formats."""
        from cinema.ui.export_dialog import ExportDialog

        dlg = ExportDialog(self.state, self)
        dlg.setModal(True)
        dlg.show()
        return dlg

    def show_shortcuts(self) -> QDialog:
        dlg = QDialog(self)
        dlg.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(SHORTCUTS), 2)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        table.verticalHeader().setVisible(False)
        for i, (keys, what) in enumerate(SHORTCUTS):
            table.setItem(i, 0, QTableWidgetItem(keys))
            table.setItem(i, 1, QTableWidgetItem(what))
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        lay = QVBoxLayout(dlg)
        lay.addWidget(table)
        dlg.resize(520, 380)
        dlg.setModal(False)
        dlg.show()
        self.shortcuts_dialog = dlg
        return dlg

    def _update_status(self, seq: int) -> None:
        st = self.state
        self.status_pos.setText(
            f"event #{seq:,} of {st.event_count:,}   ·   {format_offset(st.rel_ns(), sign=True)}"
            f"   ·   selected: {st.process_label(st.pid) if st.pid >= 0 else 'none'}"
        )
        self.status_live.setText("● LIVE" if st.live else "recorded")
        self.status_live.setStyleSheet("color: #e0302b; font-weight: bold" if st.live else "")

    def _update_banner(self) -> None:
        """The recovery note and the damaged parts met so far, in one line at the top."""
        st = self.state
        parts = [t for t in (recovery_text(st.session), st.damage.summary()) if t]
        if not st.event_count and not parts:
            parts.append("This session has no events.")
        self.banner.setText("⚠ " + "  ".join(parts) if parts else "")
        self.banner.setVisible(bool(parts))

    def _on_hit(self, seq: int, ids: str) -> None:
        hl = self.state.highlighted_pids()
        extra = "; highlighted: " + ", ".join(self.state.process_label(p) for p in hl) if hl else ""
        self.statusBar().showMessage(f"breakpoint {ids} hit at event #{seq:,}{extra}", 8000)

    # ---------------------------------------------------------------- layout persistence

    def restore_layout(self) -> None:
        geo = self.settings.value("window/geometry")
        layout = self.settings.value("window/state")
        if geo is not None:
            self.restoreGeometry(geo)
        if layout is not None:
            self.restoreState(layout)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())

    def resizeEvent(self, ev: Any) -> None:
        super().resizeEvent(ev)
        size = ev.size()
        self.set_compact(size.width() < COMPACT_BELOW[0] or size.height() < COMPACT_BELOW[1])

    def set_compact(self, compact: bool) -> None:
        """Below :data:`COMPACT_BELOW` the window degrades: the graph and the inspector share
        one tab bar, and legends and the position text shorten, so the timeline, the slider
        and each panel keep room enough to be used."""
        if compact == self.compact:
            return
        self.compact = compact
        graph, insp = self.docks["graph"], self.docks["inspector"]
        side = Qt.DockWidgetArea.RightDockWidgetArea
        docked = not graph.isFloating() and not insp.isFloating()
        if docked and self.dockWidgetArea(graph) == side == self.dockWidgetArea(insp):
            if compact:
                self.tabifyDockWidget(graph, insp)
                graph.raise_()
            else:
                self.splitDockWidget(graph, insp, Qt.Orientation.Vertical)
        for w in (self.timeline, self.graph, self.playback):
            w.set_compact(compact)
        if compact:  # the timeline needs the room more than the table and the graph
            self.resizeDocks([self.docks["events"]], [max(self.height() // 3, 140)],
                             Qt.Orientation.Vertical)  # fmt: skip
            self.resizeDocks([graph], [max(int(self.width() * 0.38), 260)],
                             Qt.Orientation.Horizontal)  # fmt: skip

    def closeEvent(self, ev: Any) -> None:
        self.state.close()
        self.save_layout()
        super().closeEvent(ev)
