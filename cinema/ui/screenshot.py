"""Offscreen rendering of the main window or one panel to a PNG (``cinema screenshot``)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMessageLogContext, QSettings, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QWidget

from cinema.errors import UserError
from cinema.ui import _binding  # noqa: F401  (before the UI's other modules: see there)
from cinema.ui.app import ensure_app, load_state
from cinema.ui.main_window import MainWindow

__all__ = ["VIEWS", "render"]

VIEWS = ("all", "timeline", "graph", "supervision", "messages", "inspector", "events",
         "breakpoints", "log", "metrics")  # fmt: skip
_PANELS = ("graph", "supervision", "messages", "inspector", "events", "breakpoints", "log",
           "metrics")  # fmt: skip


def _pick_event(state, event: int | None, at_ns: float | None) -> int:
    if event is not None:
        if not 0 <= event < state.event_count:
            raise UserError(f"event #{event} is out of range (0 to {state.event_count - 1})")
        return event
    if at_ns is not None:
        seq = state.seq_at_time(state.session.t_first + at_ns)
        return max(seq, 0)
    return max(state.event_count - 1, 0)


def render(
    path: str,
    out: str,
    *,
    event: int | None = None,
    at_ns: float | None = None,
    view: str = "all",
    size: tuple[int, int] = (1600, 1000),
    theme: str = "light",
    why: bool = False,
) -> Path:
    """Open ``path``, put the playhead at ``event`` (or ``at_ns`` after the first event, or the
    last event), select that event's process (with ``why``, explain it in the Why panel: its
    chain on the timeline and in the messages view), and save ``view`` as a PNG at ``out``."""
    with _quiet_size_hint_warnings():
        if view not in VIEWS:
            raise UserError(f"unknown view {view!r} (views: {', '.join(VIEWS)})")
        if "DISPLAY" not in os.environ and "WAYLAND_DISPLAY" not in os.environ:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

        app = ensure_app(theme)
        state = load_state(path)
        seq = _pick_event(state, event, at_ns)
        state.select_event(seq)
        with tempfile.TemporaryDirectory() as tmp:
            # throwaway settings: a screenshot must not depend on (or change) the user's layout
            settings = QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
            win = MainWindow(state, theme=theme, settings=settings)
            win.resize(*size)
            if view == "supervision":
                win.graph.set_view("supervision")
            elif view == "graph":
                win.graph.set_view("process")
            elif view == "messages":
                win.graph.set_view("messages")
            win.show()
            for _ in range(3):
                app.processEvents()
            if why and state.event_count:
                win.analysis.why.explain(seq)
                app.processEvents()
            widget: QWidget = {
                "all": win,
                "timeline": win.timeline,
                "graph": win.graph,
                "supervision": win.graph,
                "messages": win.graph,
                "inspector": win.inspector,
                "events": win.events,
                "breakpoints": win.breakpoint_editor,
                "log": win.log_panel,
                "metrics": win.metrics,
            }[view]
            if view in _PANELS:
                # a panel on its own, at the requested size
                # (the metrics dock holds a splitter: the plots beside the Top and Calls tables)
                dock = next(
                    d for d in win.docks.values()
                    if d.widget() is widget or d.widget().isAncestorOf(widget)
                )  # fmt: skip
                dock.setFloating(True)
                dock.resize(*size)
                for _ in range(3):
                    app.processEvents()
                if view in ("graph", "supervision", "messages"):
                    win.graph.refresh()
                    win.graph.fit_view()
                    app.processEvents()
            if view in ("all", "timeline") and state.event_count and not why:
                # zoom to the ~300 events around the playhead: glyphs and message arrows show
                ts = state.skeleton.ts
                lo, hi = max(seq - 150, 0), min(seq + 150, state.event_count - 1)
                t0 = (int(ts[lo]) - state.session.t_first) / 1e9
                t1 = (int(ts[hi]) - state.session.t_first) / 1e9
                win.timeline.show_window(t0, max(t1, t0 + 1e-6))
                app.processEvents()
            target = Path(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            image = widget.grab().toImage()
            # which moment the picture shows, readable back from the PNG (tEXt chunks)
            image.setText("cinema-event", str(seq))
            image.setText("cinema-view", view)
            if why:
                image.setText("cinema-why", str(seq))
            if not image.save(str(target)):
                raise UserError(f"{target}: could not write the PNG")
            win.close()
            QApplication.processEvents()
        return target


@contextlib.contextmanager
def _quiet_size_hint_warnings() -> Iterator[None]:
    """Drop the offscreen platform's "does not support propagateSizeHints()" warning (noise
    in a screenshot); pass every other Qt message on to the handler that was installed."""
    previous: Any = None

    def handler(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)
