"""Where breakpoints show: "pause and highlight" rings and bands, the log panel, the marker
strip's rows, and clicks that select the glyph the user sees."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from cinema.ui.main_window import MainWindow
from cinema.ui.timeline import Y_BOOKMARK, Y_LOG, Y_STOP, TimelineWidget
from recorder.events import EventKind


@pytest.fixture
def window(qtbot, state, settings):  # type: ignore[no-untyped-def]
    w = MainWindow(state, settings=settings)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_pause_and_highlight_marks_the_hit_processes(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    state.breakpoints.add('kind == "exit_signal"', action="pause_highlight")
    state.run_to_next_breakpoint()
    seq = state.seq
    assert state.skeleton.kind[seq] == EventKind.EXIT_SIGNAL
    pids = state.highlighted_pids()
    assert int(state.skeleton.pid[seq]) in pids and int(state.skeleton.peer[seq]) in pids
    graph = window.graph
    qtbot.waitUntil(lambda: graph.drawn.get("highlighted", 0) >= 1)
    assert "highlighted" in graph.caption.text()
    # the timeline bands the highlighted lanes
    bands = [b for b in window.timeline.highlight_bands if b.isVisible()]
    rows = {state.layout.row_of_pid(p) for p in pids} - {-1}
    assert len(bands) == len(rows) >= 1
    assert "highlighted" in window.statusBar().currentMessage()
    # a move ends it
    state.step(1)
    qtbot.waitUntil(lambda: graph.drawn.get("highlighted", 0) == 0)
    assert not any(b.isVisible() for b in window.timeline.highlight_bands)


def test_a_plain_pause_highlights_nothing(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    state.breakpoints.add('kind == "exit_signal"', action="pause")
    state.run_to_next_breakpoint()
    assert state.highlighted_pids() == []


def test_log_breakpoints_fill_the_log_panel_and_a_click_seeks(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    state.breakpoints.add('kind == "restart"', action="log")
    state.breakpoints.add('kind == "crash"')  # stops at the first crash
    crashes = np.flatnonzero(state.skeleton.kind == EventKind.CRASH)
    restarts = np.flatnonzero(state.skeleton.kind == EventKind.RESTART)
    state.seek(int(crashes[0]))
    state.run_to_next_breakpoint()  # passes the restarts between the first two crashes
    passed = restarts[(restarts > crashes[0]) & (restarts <= crashes[1])]
    assert state.seq == int(crashes[1]) and len(passed) >= 1
    panel = window.log_panel
    assert panel.model.rowCount() == len(state.log) == len(passed)
    assert [panel.model.seq_at(r) for r in range(len(passed))] == passed.tolist()
    window.show_panel("log")
    qtbot.waitUntil(lambda: panel.isVisible())
    assert panel.model.data(panel.model.index(0, 2), Qt.ItemDataRole.DisplayRole) == "bp1"
    assert panel.model.data(panel.model.index(0, 3), Qt.ItemDataRole.DisplayRole) == "restart"
    idx = panel.model.index(0, 0)
    rect = panel.view.visualRect(idx)
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert state.seq == int(passed[0]) == state.event_seq
    panel.b_clear.click()
    assert panel.model.rowCount() == 0 and "Nothing logged" in panel.status.text()


def test_the_marker_strip_keeps_log_hits_apart_and_thinned(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = TimelineWidget(state)
    qtbot.addWidget(w)
    w.resize(800, 400)
    w.show()
    qtbot.waitExposed(w)
    state.breakpoints.add('kind in ["send", "receive"]', action="log")  # hits nearly everywhere
    state.breakpoints.add('kind == "crash"')
    state.controller.add_bookmark("x", seq=100)
    w.fit_all()
    n_log = int(np.isin(state.skeleton.kind, [EventKind.SEND, EventKind.RECEIVE]).sum())
    crashes = int(np.sum(state.skeleton.kind == EventKind.CRASH))
    shown_log = len(w.log_marks.data)
    assert 0 < shown_log <= w.vb.width() + 1 < n_log  # one per pixel column, not 2,000
    assert len(w.hit_marks.data) == crashes
    ys = {
        "log": set(w.log_marks.data["y"].tolist()),
        "stop": set(w.hit_marks.data["y"].tolist()),
        "bookmark": set(w.bookmark_marks.data["y"].tolist()),
    }
    assert ys == {"log": {Y_LOG}, "stop": {Y_STOP}, "bookmark": {Y_BOOKMARK}}
    # zooming in shows the log hits of the window, still one per pixel at most
    x = state.rel_seconds(state.event_count // 2)
    w.show_window(x - 0.01, x + 0.01)
    assert 0 < len(w.log_marks.data) <= w.vb.width() + 1


def test_a_click_selects_the_glyph_on_top_not_the_one_nearest_in_time(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    sk = state.skeleton
    crash = int(np.flatnonzero(sk.kind == EventKind.CRASH)[0])
    pid = int(sk.pid[crash])
    mine = np.flatnonzero(sk.pid == pid)
    before = int(mine[np.searchsorted(mine, crash) - 1])  # the event just before, same lane
    w = TimelineWidget(state)
    qtbot.addWidget(w)
    w.resize(1000, 500)
    w.show()
    qtbot.waitExposed(w)
    t_crash, t_before = state.rel_seconds(crash), state.rel_seconds(before)
    gap = t_crash - t_before
    # a zoom where the two glyphs (8 px wide) are 2.5 px apart: they overlap
    per_px = max(gap, 1e-9) / 2.5
    width = per_px * w.vb.width()
    w.show_window(t_crash - width / 2, t_crash + width / 2)
    row = state.layout.row_of_pid(pid)
    w.ensure_row_visible(row)
    w.refresh()
    assert w.last_frame is not None and w.last_frame.mode == "glyphs"
    # click 1.5 px left of the crash's centre: inside the crash glyph (drawn on top), but
    # nearer in time to the event before it
    x_click = t_crash - 1.5 * per_px
    assert abs(x_click - t_before) < abs(x_click - t_crash)
    scene = w.vb.mapViewToScene(QPointF(x_click, row))
    qtbot.mouseClick(w.glw.viewport(), Qt.MouseButton.LeftButton, pos=w.glw.mapFromScene(scene))
    assert state.event_seq == crash
