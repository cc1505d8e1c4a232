"""Reading what a window's first screen needs, in a worker thread, without Qt.

A window opens on a session's index, process table, lanes and per-frame activity; the events
themselves are read as the panels show them. ``cinema open FILE`` calls :func:`preload` before
it imports Qt, so the file is read while PySide6 and pyqtgraph load (~0.35 s of imports, most
of it holding the GIL, against ~0.2 s of reading, much of it in numpy and zstd, which release
it); the window then takes that loader with :func:`take` instead of starting its own.

Qt-free like :mod:`cinema.ui`'s ``__init__``: the loader emits no Qt signal (emitting signals
from a worker thread corrupts refcounts in PySide6 6.12); the GUI thread polls it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from cinema.errors import UserError
from cinema.model.errors import ModelError
from cinema.model.session import Session
from cinema.views.lanes import LaneLayout
from cinema.views.timeline_source import SessionTimeline
from cinema.views.viewport import Viewport
from recorder.session.format import SessionFormatError

__all__ = [
    "FIRST_LANES",
    "OPEN_ERRORS",
    "Loader",
    "build_viewport",
    "describe",
    "load_parts",
    "preload",
    "take",
]

#: Lanes the timeline's first screen shows (at most; fewer in a compact window).
FIRST_LANES = 30

#: Errors whose message is for the user (anything else is a bug and keeps its traceback).
OPEN_ERRORS = (SessionFormatError, ModelError, UserError, OSError, ValueError)


def build_viewport(session: Session) -> Viewport:
    """The lanes of a session and the viewport that draws them (it reads nothing yet)."""
    return Viewport(SessionTimeline(session), LaneLayout(session.processes))


def load_parts(
    path: str, progress: Callable[[str], None] = lambda _s: None
) -> tuple[Session, Viewport]:
    """Open ``path``, lay out its lanes and count what the timeline's first screen shows.
    Only the index, the process table and the per-frame activity are read."""
    progress("reading the index")
    session = Session.open(path)
    _ = session.processes
    progress(f"summarising {session.event_count:,} events")
    viewport = build_viewport(session)
    session.index.activity.lanes()  # what the first screen of the timeline is drawn from
    viewport.warm(FIRST_LANES)  # its counts: the first lanes over the whole session
    return session, viewport


def describe(exc: BaseException) -> str:
    """One line for the user about an error of :data:`OPEN_ERRORS`."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{os.fsdecode(exc.filename)}: {exc.strerror or type(exc).__name__}"
    return " ".join(str(exc).split()) or type(exc).__name__


class Loader(threading.Thread):
    """Runs :func:`load_parts` on ``path`` (absolute) in a daemon thread: ``step`` says how
    far it got, then ``result`` or ``error`` (a line for the user) is set."""

    def __init__(self, path: str) -> None:
        super().__init__(name="cinema-open", daemon=True)
        self.path = path
        self.step = "starting"
        self.result: tuple[Session, Viewport] | None = None
        self.error: str | None = None

    def run(self) -> None:
        try:
            self.result = load_parts(self.path, self._progress)
        except OPEN_ERRORS as exc:
            self.error = describe(exc)

    def _progress(self, text: str) -> None:
        self.step = text


_preloaded: Loader | None = None
_preload_lock = threading.Lock()


def preload(path: str | os.PathLike[str] | None) -> None:
    """Start reading ``path`` for the window that will open it (nothing for no path, or one
    that is not a regular file: the window says why it cannot open it)."""
    global _preloaded
    if path is None:
        return
    full = os.path.abspath(os.fspath(path))
    if not os.path.isfile(full):
        return
    loader = Loader(full)
    with _preload_lock:
        _preloaded = loader
    loader.start()


def take(path: str) -> Loader | None:
    """The loader :func:`preload` started on ``path`` (absolute), once; None if there is none."""
    global _preloaded
    with _preload_lock:
        loader, _preloaded = _preloaded, None
    if loader is not None and loader.path != path:
        return None  # another file was opened first: that read is dropped (a daemon thread)
    return loader
