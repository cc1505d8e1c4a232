"""Status bar, recent files, F5 without breakpoints, markers of a reopened session, metrics."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from cinema.ui.app import Opener, load_state
from cinema.ui.main_window import MainWindow
from recorder.events import EventKind


@pytest.fixture
def window(qtbot, state, settings):  # type: ignore[no-untyped-def]
    w = MainWindow(state, settings=settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_status_bar_follows_the_selection(window, state) -> None:  # type: ignore[no-untyped-def]
    pids = sorted(state.session.processes)
    state.select_process(pids[3])
    assert f"selected: {state.process_label(pids[3])}" in window.status_pos.text()
    state.select_process(pids[5])  # without a move of the playhead
    assert f"selected: {state.process_label(pids[5])}" in window.status_pos.text()


def test_recent_files_are_absolute(
    qtbot, bank_path: Path, tmp_path: Path, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    shutil.copy(bank_path, tmp_path / "here.cinema")
    monkeypatch.chdir(tmp_path)
    opener = Opener(settings=settings)
    win = opener.open("here.cinema")
    assert win is not None
    qtbot.addWidget(win)
    assert opener.recent()[0] == str(tmp_path / "here.cinema")
    monkeypatch.chdir(os.sep)  # reopening from elsewhere works
    again = opener.open(opener.recent()[0])
    assert again is not None
    qtbot.addWidget(again)


def test_f5_without_breakpoints_says_so_and_stays(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    state.seek(100)
    with qtbot.waitSignal(state.sigMessage) as msg:
        state.run_to_next_breakpoint()
    assert state.seq == 100 and "No breakpoint" in msg.args[0]
    assert "No breakpoint" in window.statusBar().currentMessage()
    bp = state.breakpoints.add('kind == "crash"')
    last = int(np.flatnonzero(state.skeleton.kind == EventKind.CRASH)[-1])
    state.seek(last)
    with qtbot.waitSignal(state.sigMessage) as msg:
        state.run_to_next_breakpoint()
    assert state.seq == last and f"after event #{last:,}" in msg.args[0]
    state.breakpoints.edit(bp.id, action="log")
    with qtbot.waitSignal(state.sigMessage) as msg:
        state.run_to_prev_breakpoint()
    assert "log" in msg.args[0] and state.seq == last


def test_saved_breakpoints_and_bookmarks_are_drawn_when_reopened(
    qtbot, bank_path: Path, tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bank.cinema"
    shutil.copy(bank_path, path)
    first = load_state(str(path))
    first.breakpoints.add('kind == "crash"')
    first.controller.add_bookmark("here", seq=321)
    first.save_sidecar()
    again = load_state(str(path))
    win = MainWindow(again, settings=settings)
    qtbot.addWidget(win)
    crashes = int(np.sum(again.skeleton.kind == EventKind.CRASH))
    assert len(win.timeline.hit_marks.data) == crashes > 0
    assert len(win.timeline.bookmark_marks.data) == 1


def test_metrics_refresh_on_selection_while_in_front(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    window.docks["metrics"].raise_()
    qtbot.waitUntil(lambda: window.metrics._pending.on_screen())
    sends = np.flatnonzero(state.skeleton.kind == EventKind.SEND)
    state.select_event(int(sends[5]))
    qtbot.waitUntil(lambda: window.metrics.cache.computed == 1)
    a = state.pid
    other = next(int(p) for p in state.skeleton.pid[sends] if int(p) != a)
    state.select_process(other)
    qtbot.waitUntil(lambda: window.metrics.cache.computed == 2)
    assert len(window.metrics.plots["mailbox"].listDataItems()) == 2


def test_metrics_legend_keeps_the_pid_and_titles_fit(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    window.docks["metrics"].raise_()
    sends = np.flatnonzero(state.skeleton.kind == EventKind.SEND)
    state.select_event(int(sends[5]))
    m = window.metrics
    label = state.process_label(state.pid)
    assert f"<0.{state.pid}.0>" in label  # the one pid form (cinema.model.present)
    qtbot.waitUntil(lambda: m.legend.isVisible())
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(m.legend.text())
    assert label in doc.toPlainText()  # rendered text, not swallowed as an HTML tag
    for key, title in m.titles.items():
        box = title.mapRectToScene(title.boundingRect())
        plot = m.plots[key].getViewBox().sceneBoundingRect()
        assert plot.contains(box.topLeft()) and box.right() <= plot.right() + 1, key


def test_times_use_adaptive_units_everywhere(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    from cinema.views.timefmt import format_offset

    last = state.event_count - 1
    state.seek(last)
    rel = state.rel_ns(last)
    assert rel > 1_000_000_000  # the bank demo lasts seconds
    text = format_offset(rel, sign=True)
    assert text.endswith(" s") and text in window.status_pos.text()
    assert text in window.playback.position.text()
    model = window.events.model
    cell = model.data(model.index(last, 1), Qt.ItemDataRole.DisplayRole)
    assert cell == format_offset(rel)
    assert "ms" not in cell
    # the timeline zoomed to a microsecond around the end: seconds with six decimals
    x = rel / 1e9
    window.timeline.show_window(x - 2e-6, x + 2e-6)
    axis = window.timeline.plot.getAxis("bottom")
    labels = axis.tickStrings([x - 1e-6, x, x + 1e-6], 1.0, 1e-6)
    assert all(lab.endswith(" s") and len(lab) < 14 for lab in labels), labels


def test_a_small_window_stops_at_its_minimum_and_degrades(qtbot, state, settings) -> None:  # type: ignore[no-untyped-def]
    """Below ~900x600 the slider collapsed and labels overlapped: the window has a minimum
    size, and below COMPACT_BELOW it turns compact (graph and inspector share a dock) with the
    slider still usable."""
    from cinema.ui.main_window import COMPACT_BELOW, MIN_SIZE

    win = MainWindow(state, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.resize(300, 200)  # smaller than anyone can use
    qtbot.waitUntil(lambda: win.compact)
    assert win.width() >= MIN_SIZE[0]
    assert win.height() >= MIN_SIZE[1]
    assert win.playback.slider.isVisible() and win.playback.slider.width() >= 120
    win.resize(COMPACT_BELOW[0] + 200, COMPACT_BELOW[1] + 200)
    qtbot.waitUntil(lambda: not win.compact)
