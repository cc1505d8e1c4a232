"""Starting the desktop app: open a session (with progress and cancel), windows, recent files.

:func:`run_viewer` is the entry point of ``cinema open``, bare ``cinema`` and ``cinema demo``.
A session is opened in a worker thread (:mod:`cinema.ui.loading`: its index, process table and
per-frame activity, what the first screen needs; the events are read as panels show them) while
a progress dialog with a Cancel button runs; ``cinema open`` starts that thread before Qt is
imported. A file that cannot be read shows one clear message box, never a traceback. Tests
replace :data:`error_box` to see the message.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cinema.ui import _binding, loading  # noqa: F401  (_binding: first, see there)
from cinema.ui.loading import load_parts
from cinema.ui.main_window import SETTINGS_APP, SETTINGS_ORG, MainWindow
from cinema.ui.state import ViewState
from cinema.ui.theme import THEMES, apply_theme

__all__ = ["Opener", "error_box", "load_state", "run_viewer"]

MAX_RECENT = 10
#: A read that takes longer than this gets a progress dialog with a Cancel button (seconds).
QUICK_OPEN_S = 0.3
FILE_FILTER = "Cinema sessions (*.cinema *.cin);;All files (*)"


def _default_error_box(parent: QWidget | None, title: str, text: str) -> None:
    if QGuiApplication.platformName() in _UNSEEN_PLATFORMS:
        # a modal box nobody can see would never close: say it on stderr instead
        print(f"cinema: error: {' '.join(text.split())}", file=sys.stderr, flush=True)
        return
    QMessageBox.critical(parent, title, text)


#: Qt platforms that show nothing to a person (``QT_QPA_PLATFORM=offscreen``).
_UNSEEN_PLATFORMS = frozenset({"offscreen", "minimal"})


#: Shows an error to the user: ``error_box(parent, title, text)``. Tests swap it.
error_box: Callable[[QWidget | None, str, str], None] = _default_error_box


def load_state(path: str, progress: Callable[[str], None] = lambda _s: None) -> ViewState:
    """Open ``path`` and build everything the panels share (in the calling thread)."""
    session, viewport = load_parts(path, progress)
    bps, marks, _warning = loading.load_saved(session, path)
    return ViewState(session, viewport, breakpoints=bps, bookmarks=marks)


class Opener(QObject):
    """Opens sessions into main windows; keeps recent files; owns the welcome window."""

    def __init__(self, theme: str = "light", settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings if settings is not None else QSettings(SETTINGS_ORG, SETTINGS_APP)
        self.theme = theme
        self.windows: list[QMainWindow] = []
        self.welcome: WelcomeWindow | None = None
        self.warnings: list[str] = []  # of the last session loaded

    # ---------------------------------------------------------------- recent files

    def recent(self) -> list[str]:
        v: Any = self.settings.value("recent", [])
        items = [v] if isinstance(v, str) else list(v or [])
        # entries stored relative by older versions cannot be reopened reliably: dropped
        return [str(p) for p in items if p and os.path.isabs(str(p))]

    def _remember(self, path: str) -> None:
        items = [p for p in self.recent() if p != path]
        self.settings.setValue("recent", [path, *items][:MAX_RECENT])

    # ---------------------------------------------------------------- opening

    def load(self, path: str, parent: QWidget | None = None) -> ViewState | None:
        """Load with a progress dialog; None when cancelled or failed (after telling why)."""
        # absolute: a recent file must reopen from any working directory
        path = os.path.abspath(os.fspath(path))
        if not Path(path).exists():
            error_box(parent, "Cannot open session", f"{path}: no such file")
            return None
        # `cinema open` started reading the file before Qt was imported: usually done by now
        loader = loading.take(path)
        if loader is None:
            loader = loading.Loader(path)
            loader.start()
        # the progress dialog would show after 0.3 s: until then, wait without the event
        # loop's 20-ms polls (a read that ends while the imports do is taken at once)
        loader.join(QUICK_OPEN_S)
        if loader.is_alive() and not _wait(loader, parent):
            # numpy work cannot be interrupted: the daemon thread finishes and is dropped
            return None
        loader.join()
        if loader.error is not None or loader.result is None:
            error_box(
                parent, "Cannot open session", loader.error or "the session could not be read"
            )
            return None
        got = loader.result
        self.warnings = [got.warning] if got.warning else []
        state = ViewState(got.session, got.viewport, breakpoints=got.breakpoints,
                          bookmarks=got.bookmarks)  # fmt: skip
        self._remember(path)
        return state

    def open(
        self, path: str, *, event: int | None = None, parent: QWidget | None = None
    ) -> MainWindow | None:
        state = self.load(path, parent)
        if state is None:
            return None
        if event is not None:
            if not 0 <= event < state.event_count:
                error_box(
                    parent,
                    "No such event",
                    f"event #{event} is out of range (0 to {state.event_count - 1})",
                )
            else:
                state.select_event(event)
        elif state.event_count:
            state.seek(0)
        win = MainWindow(state, theme=self.theme, settings=self.settings)
        if self.warnings:
            win.statusBar().showMessage(self.warnings[-1], 20000)
        win.act_open.triggered.connect(lambda: self.open_dialog(win))
        self._fill_recent(win)
        win.setAcceptDrops(True)
        win.dragEnterEvent = _accept_files  # type: ignore[method-assign]
        win.dropEvent = lambda ev: self._drop(ev, win)  # type: ignore[method-assign]
        self.windows.append(win)
        win.show()
        if self.welcome is not None:
            self.welcome.close()
            self.welcome = None
        return win

    def open_dialog(self, parent: QWidget | None = None) -> MainWindow | None:
        start = str(Path(self.recent()[0]).parent) if self.recent() else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(parent, "Open a Cinema session", start, FILE_FILTER)
        return self.open(path, parent=parent) if path else None

    def _fill_recent(self, win: MainWindow) -> None:
        win.recent_menu.clear()
        for p in self.recent():
            win.recent_menu.addAction(p, functools.partial(self.open, p, parent=win))

    def _drop(self, ev: QDropEvent, parent: QWidget | None) -> None:
        for url in ev.mimeData().urls():
            if url.isLocalFile():
                self.open(url.toLocalFile(), parent=parent)
        ev.acceptProposedAction()

    def show_welcome(self) -> WelcomeWindow:
        self.welcome = WelcomeWindow(self)
        self.welcome.show()
        return self.welcome


def _wait(loader: loading.Loader, parent: QWidget | None) -> bool:
    """Run the event loop until ``loader`` is done, with a progress dialog and its Cancel
    button (the caller waited :data:`QUICK_OPEN_S` already); False when cancelled."""
    name = Path(loader.path).name
    dlg = QProgressDialog(f"Opening {name}…", "Cancel", 0, 0, parent)
    dlg.setWindowTitle("Cinema")
    dlg.setMinimumDuration(0)  # after the QUICK_OPEN_S spent in Opener.load
    dlg.setWindowModality(Qt.WindowModality.WindowModal)
    loop = QEventLoop()
    cancelled = []
    poll = QTimer()
    poll.setInterval(20)

    def check() -> None:
        dlg.setLabelText(f"Opening {name}: {loader.step}…")
        if not loader.is_alive():
            loop.quit()

    def cancel() -> None:
        cancelled.append(True)
        loop.quit()

    poll.timeout.connect(check)
    dlg.canceled.connect(cancel)
    poll.start()
    loop.exec()
    poll.stop()
    dlg.canceled.disconnect(cancel)  # closing a progress dialog emits canceled
    dlg.close()
    dlg.deleteLater()
    return not cancelled


def _accept_files(ev: QDragEnterEvent) -> None:
    if ev.mimeData().hasUrls():
        ev.acceptProposedAction()


class WelcomeWindow(QMainWindow):
    """Shown by bare ``cinema``: Open button, recent files, drop target."""

    def __init__(self, opener: Opener) -> None:
        super().__init__()
        self.opener = opener
        self.setWindowTitle("Cinema")
        self.setAcceptDrops(True)
        w = QWidget()
        lay = QVBoxLayout(w)
        title = QLabel(
            "<h2>Cinema</h2><p>A time-travel debugger for actor systems.</p>"
            "<p>Open a session file, pick a recent one, or drop a file here.</p>"
        )
        lay.addWidget(title)
        b = QPushButton("Open a session…")
        b.clicked.connect(lambda: opener.open_dialog(self))
        lay.addWidget(b)
        lay.addWidget(QLabel("Recent sessions:"))
        self.recent = QListWidget()
        self.recent.addItems(opener.recent())
        self.recent.itemActivated.connect(lambda it: opener.open(it.text(), parent=self))
        lay.addWidget(self.recent, 1)
        self.setCentralWidget(w)
        self.resize(560, 420)

    def dragEnterEvent(self, ev: QDragEnterEvent) -> None:
        _accept_files(ev)

    def dropEvent(self, ev: QDropEvent) -> None:
        self.opener._drop(ev, self)


def ensure_app(theme: str = "light") -> QApplication:
    """The QApplication (created on first use), themed."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
        app.setOrganizationName(SETTINGS_ORG)
        app.setApplicationName(SETTINGS_APP)
    apply_theme(app, THEMES[theme])
    return app


def run_viewer(
    path: str | None = None, *, event: int | None = None, theme: str | None = None
) -> int:
    """Open the window (on ``path``, or a welcome window with an Open dialog) and run Qt.

    Returns the exit status: 0, or 2 when the given file could not be opened.
    """
    settings = QSettings(SETTINGS_ORG, SETTINGS_APP)
    name = theme or str(settings.value("theme", "light"))
    app = ensure_app(name if name in THEMES else "light")
    opener = Opener(name if name in THEMES else "light", settings)
    if path is None:
        opener.show_welcome()
    elif opener.open(path, event=event) is None:
        return 2
    return int(app.exec())
