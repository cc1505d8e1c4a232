"""The window in live mode: a main window over a :class:`~cinema.model.live.LiveSource`.

The connection's reader thread never touches Qt or the session: it queues bytes and notices;
a 50 ms timer on the GUI thread feeds the bytes into the session (the window then grows in one
batch, never per event) and handles the notices (paused at a breakpoint, gaps, disconnects).
"""

from __future__ import annotations

import collections
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, QTimer

from cinema.model.live import LiveSource
from cinema.ui import _binding  # noqa: F401  (before the UI's other modules: see there)
from cinema.ui.live_panel import LivePanel
from cinema.ui.main_window import MainWindow
from cinema.ui.state import ViewState

__all__ = ["LiveWindow", "open_live_window", "run_live_viewer"]


class LiveWindow(QObject):
    """Drives one live main window: pumps the source, relays its notices to the panel."""

    PUMP_MS = 50

    def __init__(self, source: LiveSource, win: MainWindow, panel: LivePanel) -> None:
        super().__init__(win)
        self.source = source
        self.win = win
        self.panel = panel
        self._notices: collections.deque[dict[str, Any]] = collections.deque()
        self._unsubscribe = source.subscribe(self._notices.append)  # any thread: one append
        self.timer = QTimer(self)
        self.timer.setInterval(self.PUMP_MS)
        self.timer.timeout.connect(self.pump)
        self.timer.start()

    def pump(self) -> None:
        """Feed what arrived, grow the window, handle notices (the GUI thread)."""
        grew = self.source.pump()
        state = self.win.state
        state.poll_growth()
        while self._notices:
            self.panel.on_notice(self._notices.popleft())
        if grew:
            self.panel.refresh()
            if state.follow_live and state.event_count:
                # following: the timeline shows the whole session as it grows (turn Follow
                # live off to zoom in and stay put)
                self.win.timeline.show_window(
                    0.0, max(state.rel_seconds(state.event_count - 1), 1e-6)
                )

    def close(self) -> None:
        self.timer.stop()
        self._unsubscribe()


def open_live_window(
    source: LiveSource, *, theme: str = "light", settings: QSettings | None = None
) -> tuple[MainWindow, LiveWindow]:
    """A main window over ``source`` (connected), with the Live panel docked."""
    source.pump()
    state = ViewState(source.session)
    state.autosave = False
    win = MainWindow(state, theme=theme, settings=settings)
    where = source.client.where if source.client is not None else "live"
    program = source.welcome.get("program") or "program"
    win.setWindowTitle(f"Cinema — live: {program} ({where})")
    panel = LivePanel(source, state, win)
    win._dock("live", "Live", panel, Qt.DockWidgetArea.RightDockWidgetArea)
    win.tabifyDockWidget(win.docks["inspector"], win.docks["live"])
    win.docks["live"].raise_()
    panel.install_actions(win)
    panel.watch_inspector(win.inspector.tree)
    driver = LiveWindow(source, win, panel)
    win.live_driver = driver  # type: ignore[attr-defined]
    original_close = win.closeEvent

    def close_event(ev: Any) -> None:
        driver.close()
        source.close()
        original_close(ev)

    win.closeEvent = close_event  # type: ignore[method-assign]
    return win, driver


def run_live_viewer(source: LiveSource, *, theme: str | None = None) -> int:
    """Open the live window on a connected ``source`` and run Qt until it closes."""
    from cinema.ui.app import ensure_app
    from cinema.ui.main_window import SETTINGS_APP, SETTINGS_ORG
    from cinema.ui.theme import THEMES

    settings = QSettings(SETTINGS_ORG, SETTINGS_APP)
    name = theme or str(settings.value("theme", "light"))
    app = ensure_app(name if name in THEMES else "light")
    win, _driver = open_live_window(
        source, theme=name if name in THEMES else "light", settings=settings
    )
    win.show()
    status = int(app.exec())
    source.close()
    return status


def default_save_path() -> str:
    """Where "Save live session" proposes to write."""
    return str(Path(tempfile.gettempdir()) / "live-session.cinema")
