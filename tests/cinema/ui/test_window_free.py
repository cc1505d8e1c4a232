"""A closed main window is freed: the window, its state, its panels and its session."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent

from cinema.ui.app import Opener, load_state
from cinema.ui.main_window import MainWindow
from recorder.events import EventKind


def _settle(qtbot) -> None:  # type: ignore[no-untyped-def]
    """Event-loop turns (the window's deferred deletion among them), then a full collection."""
    qtbot.wait(20)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def test_a_closed_window_is_freed_with_its_state_and_session(
    qtbot, bank_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    st = load_state(str(bank_path))
    st.autosave = False
    win = MainWindow(st, settings=settings, owns_state=True)
    win.show()
    qtbot.waitExposed(win)
    st.select_event(st.event_count // 2)  # every panel shows something
    qtbot.wait(50)
    reader = st.session.reader
    refs = {
        "window": weakref.ref(win),
        "state": weakref.ref(st),
        "session": weakref.ref(st.session),
        "timeline": weakref.ref(win.timeline),
        "events": weakref.ref(win.events),
        "event model": weakref.ref(win.events.model),
        "log": weakref.ref(win.log_panel),
        "hits": weakref.ref(st.hits),
    }
    win.close()
    del win, st
    _settle(qtbot)
    assert [name for name, ref in refs.items() if ref() is not None] == []
    assert reader.closed  # the window owned the state: its file is closed


def test_open_and_close_rounds_do_not_grow_the_live_objects(
    qtbot, bank_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    opener = Opener(settings=settings)

    def round_trip() -> None:
        win = opener.open(str(bank_path))
        assert win is not None
        win.state.autosave = False
        qtbot.waitExposed(win)
        win.state.select_event(win.state.event_count // 2)
        qtbot.wait(50)
        win.close()
        del win
        _settle(qtbot)

    round_trip()  # the first window imports and caches what every window shares
    round_trip()
    before = len(gc.get_objects())
    for _ in range(3):
        round_trip()
    grown = len(gc.get_objects()) - before
    # a window and its session are ~10,000 objects on the bank session: none of them stays
    assert grown < 600, grown
    assert opener.windows == []


def test_the_opener_forgets_a_closed_window(qtbot, bank_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    opener = Opener(settings=settings)
    first, second = opener.open(str(bank_path)), opener.open(str(bank_path))
    assert first is not None and second is not None
    assert opener.windows == [first, second]
    reader = first.state.session.reader
    first.close()
    del first
    _settle(qtbot)
    assert opener.windows == [second] and reader.closed
    assert not second.state.session.reader.closed  # the other window's own session
    second.close()
    _settle(qtbot)
    assert opener.windows == [] and not shiboken6.isValid(second)


def test_the_welcome_window_is_freed_once_a_session_opens(qtbot, bank_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    opener = Opener(settings=settings)
    welcome = weakref.ref(opener.show_welcome())
    win = opener.open(str(bank_path))
    assert win is not None and opener.welcome is None
    _settle(qtbot)
    assert welcome() is None
    win.close()


def test_a_closed_windows_state_calls_no_deleted_widget(qtbot, state, settings, capfd) -> None:  # type: ignore[no-untyped-def]
    # a state the window does not own (as in these tests) lives on after the window: its
    # signals must not reach the window's deleted panels, and its session stays open
    win = MainWindow(state, settings=settings)
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(20)
    ref = weakref.ref(win)
    win.close()
    del win
    _settle(qtbot)
    assert ref() is None
    capfd.readouterr()
    with qtbot.captureExceptions() as exceptions:
        crash = int(np.flatnonzero(state.skeleton.kind == EventKind.CRASH)[0])
        state.select_event(crash)  # sigEvent, sigProcess, sigPosition
        state.step(1)
        state.set_collapsed(state.supervisors())  # sigLayout
        state.toggle_bookmark()  # sigBreakpointsChanged
        state.breakpoints.add('kind == "crash"')
        state.run_to_prev_breakpoint()  # sigHit, sigHighlight
        state.run_to_next_breakpoint()
        state.sigGrown.emit(state.event_count)
        state.sigMessage.emit("anyone there?")
        state.sigDamage.emit()
        state.hits.sigProgress.emit("bp1", 0.5)
        state.hits.sigDone.emit("bp1")
        state.sigLog.emit(0)
        qtbot.wait(50)
    assert exceptions == []
    assert capfd.readouterr().err == ""
    assert not state.session.reader.closed
