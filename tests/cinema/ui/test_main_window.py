"""Main window: shortcuts, themes, layout memory, the open path and its error dialog, and the
end-to-end story: play a bank session until a crash breakpoint stops it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

import cinema.ui.app as app_mod
from cinema.ui.app import Opener
from cinema.ui.main_window import SHORTCUTS, MainWindow
from recorder.events import NO_PID, EventKind


@pytest.fixture
def window(qtbot, state, settings):  # type: ignore[no-untyped-def]
    w = MainWindow(state, settings=settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_shortcuts_drive_the_playhead(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    window.timeline.setFocus()
    state.seek(100)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert state.seq == 101
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert state.seq == 100
    pid = int(next(p for p in state.skeleton.pid[100:] if p != NO_PID))  # a real process
    state.select_process(pid)
    qtbot.keyClick(window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    mine = np.flatnonzero(state.skeleton.pid == pid)
    assert state.seq == int(mine[mine > 100][0])
    qtbot.keyClick(window, Qt.Key.Key_End)
    assert state.seq == state.event_count - 1
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert state.seq == 0
    with qtbot.waitSignal(state.sigPlaying):
        qtbot.keyClick(window, Qt.Key.Key_Space)
    assert state.playing
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not state.playing
    state.breakpoints.add('kind == "crash"')
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert state.skeleton.kind[state.seq] == EventKind.CRASH
    first = state.seq
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert state.seq > first
    qtbot.keyClick(window, Qt.Key.Key_F6)
    assert state.seq == first
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.events.filter.hasFocus()


def test_help_lists_the_shortcuts(window) -> None:  # type: ignore[no-untyped-def]
    dlg = window.show_shortcuts()
    table = dlg.findChild(type(dlg.children()[-1]))
    assert table is not None and table.rowCount() == len(SHORTCUTS)
    dlg.close()


def test_theme_switch_and_layout_memory(qtbot, state, settings) -> None:  # type: ignore[no-untyped-def]
    w = MainWindow(state, settings=settings)
    qtbot.addWidget(w)
    w.show()
    w.set_theme("dark")
    assert w.timeline.theme.name == "dark" and settings.value("theme") == "dark"
    assert w.timeline.glw.backgroundBrush().color().name() == "#1b1d21"
    w.docks["metrics"].hide()
    w.close()
    w2 = MainWindow(state, settings=settings)
    qtbot.addWidget(w2)
    w2.show()
    assert not w2.docks["metrics"].isVisible()
    w2.set_theme("light")


def test_a_corrupt_file_shows_one_clear_message(
    qtbot, tmp_path: Path, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.cinema"
    bad.write_bytes(b"this is not a session file at all" * 10)
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(app_mod, "error_box", lambda _p, title, text: shown.append((title, text)))
    opener = Opener(settings=settings)
    assert opener.open(str(bad)) is None
    assert len(shown) == 1
    title, text = shown[0]
    assert title == "Cannot open session" and "broken.cinema" in text and "Traceback" not in text
    assert opener.open(str(tmp_path / "missing.cinema")) is None
    assert "no such file" in shown[-1][1]


def test_open_remembers_recent_files(qtbot, bank_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    opener = Opener(settings=settings)
    win = opener.open(str(bank_path), event=5)
    assert win is not None
    qtbot.addWidget(win)
    assert win.state.seq == 5
    assert opener.recent()[0] == str(bank_path)


def test_end_to_end_play_until_a_crash_breakpoint(qtbot, bank_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    opener = Opener(settings=settings)
    win = opener.open(str(bank_path))
    assert win is not None
    qtbot.addWidget(win)
    st = win.state
    st.breakpoints.add('kind == "crash"')
    st.set_speed(1000.0)
    with qtbot.waitSignal(st.sigHit, timeout=20_000):
        st.play()
    assert not st.playing
    crash = st.seq
    assert st.skeleton.kind[crash] == EventKind.CRASH
    crashed = int(st.skeleton.pid[crash])
    # the crashed process is selected, and the inspector shows it crashed
    assert st.pid == crashed
    win.inspector.refresh()
    assert "crashed" in win.inspector.title.text()
    assert win.inspector.sections["Selected event"].text(1).endswith("crash")
    # its supervisor restarts it: the supervision view marks the new process as restarted
    win.graph.set_view("supervision")
    restarts = np.flatnonzero(st.skeleton.kind == EventKind.RESTART)
    after = restarts[restarts > crash]
    assert len(after)
    st.step(1, within_process=False)
    while st.skeleton.kind[st.seq] != EventKind.RESTART:
        st.step(1)
    new_pid = int(st.skeleton.peer[st.seq])
    qtbot.waitUntil(lambda: win.graph.frame is not None and new_pid in win.graph.frame.pids)
    frame = win.graph.frame
    assert frame is not None and new_pid in frame.pids
    assert frame.restarted[frame.pids.index(new_pid)]
