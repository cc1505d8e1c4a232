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
import sys
import threading
from collections.abc import Callable
from typing import NamedTuple

from cinema.errors import UserError
from cinema.model.breakpoints import BreakpointSet
from cinema.model.errors import ModelError
from cinema.model.session import Session
from cinema.model.sidecar import Bookmark
from cinema.views.lanes import LaneLayout
from cinema.views.timeline_source import SessionTimeline
from cinema.views.viewport import Viewport
from recorder.session.format import SessionFormatError

__all__ = [
    "FIRST_LANES",
    "OPEN_ERRORS",
    "Loaded",
    "Loader",
    "build_viewport",
    "describe",
    "load_parts",
    "load_saved",
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


class Loaded(NamedTuple):
    """What a window opens on, read off the GUI thread."""

    session: Session
    viewport: Viewport
    breakpoints: BreakpointSet | None  # saved beside the file (or in a bundle), if any
    bookmarks: list[Bookmark] | None
    warning: str | None  # why a breakpoint file was ignored


def load_saved(
    session: Session, path: str
) -> tuple[BreakpointSet | None, list[Bookmark] | None, str | None]:
    """The breakpoints and bookmarks saved beside ``path`` (or in a bundle from ``cinema
    export``), with a warning instead when the breakpoint file cannot be used: it never stops
    the session from opening (the warning is printed on stderr too)."""
    from cinema.model.export.imported import bundle_facts
    from cinema.model.sidecar import load_sidecar, sidecar_path

    side = sidecar_path(path)
    try:
        if side.exists():
            bps, marks = load_sidecar(side)
            return bps, marks, None
        facts = bundle_facts(session)  # a bundle brings its own (saving writes the file beside it)
        if facts is not None:
            return facts.breakpoints(), facts.bookmarks, None
    except (ModelError, OSError) as exc:
        text = f"ignoring the breakpoint file: {' '.join(str(exc).split())}"
        print(f"cinema: warning: {text}", file=sys.stderr, flush=True)
        return None, None, text
    return None, None, None


def load(path: str, progress: Callable[[str], None] = lambda _s: None) -> Loaded:
    """:func:`load_parts`, the saved breakpoints and bookmarks, and what the window reads as it
    opens: the world at the first event and the first frame's events (the playhead and the
    event list start there)."""
    session, viewport = load_parts(path, progress)
    bps, marks, warning = load_saved(session, path)
    if session.event_count:
        progress("reading the first events")
        try:
            session.world_at(0)
            session.event(0)
        except OPEN_ERRORS:
            pass  # a damaged start: the window reads it again and shows why, in place
    return Loaded(session, viewport, bps, marks, warning)


def describe(exc: BaseException) -> str:
    """One line for the user about an error of :data:`OPEN_ERRORS`."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{os.fsdecode(exc.filename)}: {exc.strerror or type(exc).__name__}"
    return " ".join(str(exc).split()) or type(exc).__name__


class Loader(threading.Thread):
    """Runs :func:`load` on ``path`` (absolute) in a daemon thread: ``step`` says how
    far it got, then ``result`` or ``error`` (a line for the user) is set."""

    def __init__(self, path: str) -> None:
        super().__init__(name="cinema-open", daemon=True)
        self.path = path
        self.step = "starting"
        self.result: Loaded | None = None
        self.error: str | None = None

    def run(self) -> None:
        try:
            self.result = load(self.path, self._progress)
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
