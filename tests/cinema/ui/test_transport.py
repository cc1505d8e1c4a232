"""Rewind and fast-forward: play backwards and faster, from the bar and the keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt

from cinema.ui.main_window import MainWindow
from cinema.ui.playback import PlaybackBar


def test_rewind_plays_backwards_and_fast_forward_faster(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    bar = PlaybackBar(state)
    qtbot.addWidget(bar)
    state.seek(2000)
    with qtbot.waitSignal(state.sigPlaying):
        bar.b_rewind.click()
    assert state.controller.state == "rewinding"
    qtbot.waitUntil(lambda: state.seq < 1990, timeout=5000)
    assert "◀◀" in bar.position.text()
    state.pause()
    here = state.seq
    bar.b_ff.click()
    assert state.controller.state == "fast_forward"
    rate = state.controller.events_per_second
    assert rate is not None and rate > state.BASE_RATE * state.speed
    qtbot.waitUntil(lambda: state.seq > here + 20, timeout=5000)
    bar.b_ff.click()  # again: faster still
    assert state.controller.events_per_second == 2 * rate
    bar.b_play.click()  # the play button pauses whatever is moving
    assert not state.playing


def test_j_and_l_keys(qtbot, state, settings) -> None:  # type: ignore[no-untyped-def]
    win = MainWindow(state, settings=settings)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitActive(win):
        win.activateWindow()
    state.seek(1500)
    qtbot.keyClick(win, Qt.Key.Key_J)
    assert state.controller.state == "rewinding"
    qtbot.keyClick(win, Qt.Key.Key_K)
    assert not state.playing
    qtbot.keyClick(win, Qt.Key.Key_L)
    assert state.controller.state == "fast_forward"
    qtbot.keyClick(win, Qt.Key.Key_K)
    state.seek(0)
    qtbot.keyClick(win, Qt.Key.Key_J)  # nothing before the first event
    assert not state.playing
