"""The window's transport is the model's PlaybackController: play, steps, runs to breakpoints
and bookmarks go through it, and the breakpoint editor edits the set it stops at."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

from cinema.model.sidecar import load_sidecar, sidecar_path
from cinema.ui.app import load_state
from cinema.ui.breakpoints import BreakpointEditor
from cinema.ui.main_window import MainWindow
from cinema.ui.playback import PlaybackBar
from recorder.events import EventKind


def test_the_editor_edits_the_controllers_breakpoints(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    editor = BreakpointEditor(state, autosave=False)
    qtbot.addWidget(editor)
    assert editor.state.breakpoints is state.controller.breakpoints
    editor.kind.setCurrentIndex(0)  # process event
    editor.pe_events.setText("restart")
    editor.commit()
    restarts = np.flatnonzero(state.skeleton.kind == EventKind.RESTART)
    state.run_to_next_breakpoint()  # F5: the controller runs to the editor's breakpoint
    assert state.seq == int(restarts[0]) == state.controller.position
    assert state.event_seq == state.seq  # the hit is selected
    assert editor.list.topLevelItem(0).text(5) == "1"  # stopped there once
    # disabling it in the editor's list is seen by the controller
    editor.list.topLevelItem(0).setCheckState(0, Qt.CheckState.Unchecked)
    assert not next(iter(state.controller.breakpoints)).enabled
    here = state.seq
    state.run_to_next_breakpoint()
    assert state.seq == here  # no enabled breakpoint: stays, and says so (not to the end)


def test_play_is_ticked_by_a_timer_and_stops_at_a_pausing_hit(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    bar = PlaybackBar(state)
    qtbot.addWidget(bar)
    state.breakpoints.add('kind == "crash"')
    bar.speed.setCurrentIndex(bar.speed.count() - 1)  # 1000x
    state.seek(0)
    with qtbot.waitSignal(state.sigHit, timeout=10_000) as hit:
        qtbot.mouseClick(bar.b_play, Qt.MouseButton.LeftButton)
        assert state.controller.state == "playing"
        assert state.controller.events_per_second == state.BASE_RATE * 1000
    crash = int(np.flatnonzero(state.skeleton.kind == EventKind.CRASH)[0])
    assert hit.args[0] == crash == state.seq
    assert state.controller.state == "paused" and not state.playing
    assert bar.slider.value() == crash
    assert state.pid == int(state.skeleton.pid[crash])
    # playing on from the hit leaves it and goes to the next one
    with qtbot.waitSignal(state.sigHit, timeout=10_000) as hit2:
        state.play()
    assert hit2.args[0] > crash


def test_steps_go_through_the_controller(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []
    state.controller.on_position(seen.append)
    state.seek(200)
    state.step(1)
    state.step(-1)
    pid = int(state.skeleton.pid[200])
    state.select_process(pid)
    state.step(1, within_process=True)
    mine = np.flatnonzero(state.skeleton.pid == pid)
    assert seen == [200, 201, 200, int(mine[mine > 200][0])]
    state.seek(0)
    state.step(-1)  # nothing before the first event: stays
    assert state.seq == 0


def test_ctrl_b_bookmarks_through_the_controller_and_saves_them(
    qtbot, bank_path: Path, tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bank.cinema"
    shutil.copy(bank_path, path)
    state = load_state(str(path))
    win = MainWindow(state, settings=settings)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitActive(win):
        win.activateWindow()  # shortcuts are delivered to the active window
    state.seek(321)
    qtbot.keyClick(win, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert [b.seq for b in state.controller.bookmarks] == [321]
    qtbot.waitUntil(lambda: len(win.timeline.bookmark_marks.data) == 1)
    _bps, marks = load_sidecar(sidecar_path(path))
    assert [b.seq for b in marks] == [321]
    # reopened: the bookmark is back, and the controller jumps to it
    state2 = load_state(str(path))
    assert state2.bookmark_seqs() == [321]
    state2.seek(0)
    assert state2.controller.next_bookmark() is not None and state2.seq == 321
    qtbot.keyClick(win, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)  # toggles it off
    assert state.bookmarks == [] and load_sidecar(sidecar_path(path))[1] == []


def test_a_jump_shows_its_world_at_once_and_lays_step_back_checkpoints_when_idle(
    qtbot,
    state,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    """A seek far away replays one window (no checkpoints: a scrub moves on before anyone
    steps back); once the playhead has rested, the checkpoints are laid, and a step back is
    then a short replay. Small moves lay them as they go, as before."""
    from cinema.model import Session
    from cinema.model import session as session_module

    monkeypatch.setattr(session_module, "_NEAR", 4)
    monkeypatch.setattr(session_module, "_CHECKPOINT", 16)
    s = state.session
    asked: list[tuple[int, bool]] = []
    real = s.world_at

    def spy(seq: int, *, checkpoints: bool = True):  # type: ignore[no-untyped-def]
        asked.append((seq, checkpoints))
        return real(seq, checkpoints=checkpoints)

    monkeypatch.setattr(s, "world_at", spy)
    seq = next(q for q in range(state.event_count - 1, 0, -1) if q - s._interval_origin(q) > 100)
    state.seek(seq)
    state.world()
    assert asked[-1] == (seq, False)
    assert not [k for k in s._worlds if seq - 16 <= k < seq], "no checkpoint yet"
    qtbot.waitUntil(lambda: any(seq - 4 <= k < seq for k in s._worlds), timeout=3000)
    state.step(-1)
    back = state.world()
    assert asked[-1] == (seq - 1, True), "a step is no jump"
    with Session.open(s.reader.path) as fresh:
        assert dict(back.processes) == dict(fresh.world_at(seq - 1).processes)
