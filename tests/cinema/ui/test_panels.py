"""Each panel over a real (bank demo) session."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from cinema.ui.breakpoints import BreakpointEditor
from cinema.ui.eventlist import EventListWidget
from cinema.ui.graph import ProcessGraphWidget
from cinema.ui.inspector import InspectorWidget
from cinema.ui.metrics import MetricsWidget
from cinema.ui.timeline import TimelineWidget
from recorder.events import EventKind


def _first(state, kind: EventKind) -> int:  # type: ignore[no-untyped-def]
    return int(np.flatnonzero(state.skeleton.kind == kind)[0])


def test_timeline_draws_density_then_glyphs_and_follows_the_playhead(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = TimelineWidget(state)
    qtbot.addWidget(w)
    w.resize(1000, 500)
    w.show()
    w.fit_all()
    assert w.last_frame is not None and w.last_frame.visible_events > 0
    seq = state.event_count // 2
    x = state.rel_seconds(seq)
    assert w.last_frame.mode == "density"
    # a layer with nothing to draw is hidden (it would cost a paint call each frame)
    assert not any(g.isVisible() for g in w.glyphs) and not w.arrow_heads.isVisible()
    w.show_window(x - 1e-4, x + 1e-4)
    assert w.last_frame.mode == "glyphs"
    shown = [len(g.getData()[0]) > 0 for g in w.glyphs]
    assert any(shown) and [g.isVisible() for g in w.glyphs] == shown
    state.seek(seq)
    assert abs(w.playhead.value() - x) < 1e-12
    # dragging the playhead seeks
    w.playhead.setValue(state.rel_seconds(10))
    w._on_playhead_dragged(w.playhead)
    assert state.time_ns() == int(state.skeleton.ts[10])  # the last event at that instant


def test_timeline_sorts_its_lanes_after_showing_and_draws_the_same(
    qtbot, state, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The first screen is counted from the frame-ordered activity; a while after the window
    shows, a worker sorts it by lane (Viewport.prepare), and a window draws the same."""
    from cinema.ui import timeline

    monkeypatch.setattr(timeline, "PREPARE_AFTER_MS", 0)
    vp = state.viewport
    vp.exact_events = 0  # every window counts from the activity
    w = TimelineWidget(state)
    qtbot.addWidget(w)
    assert w.last_frame is not None and w.last_frame.mode == "density"
    assert not vp.prepared
    window = (vp.t_first, vp.t_last, -0.5, 29.5, 640)
    before = vp.frame(*window)
    w.show()
    qtbot.waitUntil(lambda: vp.prepared, timeout=10_000)
    assert w.prepare_viewport() is None  # nothing left to do
    index = state.session.index  # the same worker pairs the messages for the first scrub
    n = state.session.event_count
    qtbot.waitUntil(lambda: index._messages.n == n and index._states is not None, timeout=10_000)
    after = vp.frame(*window)
    assert before.density is not None and after.density is not None
    np.testing.assert_array_equal(after.density, before.density)


def test_timeline_collapse_and_keys(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = TimelineWidget(state)
    qtbot.addWidget(w)
    w.show()
    n = len(state.layout.rows)
    sup = state.supervisors()[0]
    state.toggle_group(sup)
    assert len(state.layout.rows) < n
    state.toggle_group(sup)
    assert len(state.layout.rows) == n
    (x0, x1), _ = w.vb.viewRange()
    w.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_W)
    (y0, y1), _ = w.vb.viewRange()
    assert (y1 - y0) < (x1 - x0)


def test_timeline_click_selects_a_process(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = TimelineWidget(state)
    qtbot.addWidget(w)
    w.resize(1000, 500)
    w.show()
    qtbot.waitExposed(w)
    row = 3
    pos = w.vb.mapViewToScene(QPointF(0.0001, row))
    view_pos = w.glw.mapFromScene(pos)
    qtbot.mouseClick(w.glw.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert state.pid == state.layout.rows[row].pid


def test_inspector_shows_process_state_with_the_change_highlighted(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = InspectorWidget(state)
    qtbot.addWidget(w)
    states = np.flatnonzero(state.skeleton.kind == EventKind.STATE)
    seq = int(states[len(states) // 2])
    state.select_event(seq)
    qtbot.waitUntil(lambda: "State" in w.sections)
    assert str(state.pid) in w.title.text().replace("&lt;", "<")
    sec = w.sections["State"]
    assert sec.text(1).startswith("changed at #")
    assert "Mailbox" in w.sections and "Selected event" in w.sections
    ev = w.sections["Selected event"]
    assert "state" in ev.text(1)


def test_event_list_filters_and_selecting_a_row_seeks(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = EventListWidget(state)
    qtbot.addWidget(w)
    assert w.model.rowCount() == state.event_count
    w.filter.setText("crash")
    w.apply_filter()
    crashes = np.flatnonzero(state.skeleton.kind == EventKind.CRASH)
    assert w.model.rowCount() == len(crashes) > 0
    w.view.selectRow(1)
    assert state.seq == int(crashes[1])
    w.filter.setText("kind:nonsense")
    w.apply_filter()
    assert "unknown event kind" in w.status.text()


def test_event_list_cells_come_from_the_row_cache_as_cell_answers_them(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    """``data`` answers from a per-row cache: the same values as :meth:`cell`, for every
    role Qt asks, before and after the row was cached, and after a filter."""
    from cinema.ui.eventlist import COLUMNS

    w = EventListWidget(state)
    qtbot.addWidget(w)
    m = w.model
    roles = [Qt.ItemDataRole(r) for r in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13)]
    kinds = state.skeleton.kind
    rows = [0, 1, int(np.flatnonzero(kinds == EventKind.SEND)[0]), state.event_count - 1]

    def check() -> None:
        for row in rows:
            seq = m.seq_at(row)
            for col, name in enumerate(COLUMNS):
                for role in roles:
                    got, want = m.data(m.index(row, col), role), m.cell(seq, name, role)
                    if isinstance(want, QColor):
                        assert isinstance(got, QColor) and got.name() == want.name()
                    else:
                        assert got == want, (row, name, role)

    check()  # fills the cache
    assert set(m._cells) >= {m.seq_at(r) for r in rows}
    check()  # answered from it
    w.filter.setText("send")
    w.apply_filter()
    assert not m._cells  # a new row set starts empty
    rows = [0, 1, m.rowCount() - 1]
    check()


def test_graph_three_views(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = ProcessGraphWidget(state)
    qtbot.addWidget(w)
    state.seek(state.event_count // 2)
    w.refresh()
    assert w.frame is not None and w.frame.view == "supervision" and len(w.frame.pids) > 5
    assert len(w.frame.edges)
    sends = np.flatnonzero(state.skeleton.kind == EventKind.SEND)
    state.select_event(int(sends[len(sends) // 2]))
    w.set_view("process")
    assert w.frame.view == "process" and state.pid in w.frame.pids and len(w.frame.pids) > 1
    w.set_view("messages")
    assert w.frame.view == "messages" and len(w.frame.edges) > 0
    redraws = w.redraws
    state.select_event(state.seq + 1)  # a seek and a selection: one redraw
    qtbot.waitUntil(lambda: w.redraws > redraws)
    qtbot.wait(20)
    assert w.redraws == redraws + 1


def test_metrics_plot_series_of_the_selected_process(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = MetricsWidget(state)
    qtbot.addWidget(w)
    sends = np.flatnonzero(state.skeleton.kind == EventKind.SEND)
    state.select_event(int(sends[10]))
    assert w.pids == [state.pid]
    assert len(w.plots["mailbox"].listDataItems()) == 1
    assert len(w.plots["rate"].listDataItems()) == 1
    state.seek(100)
    assert w.playheads[0].value() == state.rel_seconds(100)


def test_breakpoint_editor_validates_as_you_type_and_jumps_to_hits(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = BreakpointEditor(state, autosave=False)
    qtbot.addWidget(w)
    w.kind.setCurrentIndex(4)  # expression
    qtbot.keyClicks(w.expr, 'kind == "cra')
    assert not w.b_add.isEnabled()
    assert "column" in w.preview.text()
    qtbot.keyClicks(w.expr, 'sh"')
    assert w.b_add.isEnabled() and w.preview.text().startswith("✓"), (
        w.expr.text(),
        w.preview.text(),
    )
    w.commit()
    assert len(state.breakpoints) == 1
    item = w.list.topLevelItem(0)
    assert int(item.text(4).replace(",", "")) == int(np.sum(state.skeleton.kind == EventKind.CRASH))
    w.jump_to_next_hit(item.text(1))
    assert state.skeleton.kind[state.seq] == EventKind.CRASH
    # a form per condition kind: a process-event breakpoint on restarts
    w.new()
    w.kind.setCurrentIndex(0)
    w.pe_events.setText("restart")
    assert w.validate()
    w.commit()
    assert len(state.breakpoints) == 2
    w.pe_events.setText("explode")
    assert not w.validate() and "unknown process event" in w.preview.text()


def test_panels_in_a_background_tab_do_no_work_until_shown(qtbot, state, settings) -> None:  # type: ignore[no-untyped-def]
    from cinema.ui.main_window import MainWindow

    win = MainWindow(state, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.docks["events"].raise_()  # metrics is a tab behind the event list
    qtbot.waitUntil(lambda: win.metrics.visibleRegion().isEmpty())
    sends = np.flatnonzero(state.skeleton.kind == EventKind.SEND)
    state.select_event(int(sends[5]))
    assert win.metrics.pids == [state.pid]
    assert win.metrics.cache.computed == 0  # nothing computed while hidden
    assert not win.metrics._built  # nor its plots made
    win.docks["metrics"].raise_()
    qtbot.waitUntil(lambda: win.metrics.cache.computed == 1)
    assert win.metrics._built
    assert len(win.metrics.plots["mailbox"].listDataItems()) == 1
    # moving the playhead only moves the lines: no series recomputed, same curve items
    items = win.metrics.plots["mailbox"].listDataItems()
    for seq in (10, 500, 1500):
        state.seek(seq)
    qtbot.waitUntil(lambda: win.metrics.playheads[0].value() == state.rel_seconds(1500))
    assert win.metrics.cache.computed == 1
    assert win.metrics.plots["mailbox"].listDataItems() == items
    # selecting the same process again reuses its cached series
    state.select_process(int(state.skeleton.pid[int(sends[6])]))
    state.select_process(int(state.skeleton.pid[int(sends[5])]))
    assert win.metrics.cache.computed <= 2


def test_a_hidden_graph_redraws_when_shown(qtbot, qapp, state, settings) -> None:  # type: ignore[no-untyped-def]
    from cinema.ui.main_window import MainWindow

    win = MainWindow(state, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.docks["graph"].hide()
    redraws = win.graph.redraws
    for seq in (100, 200, 300):
        state.seek(seq)
    qapp.processEvents()  # a 0-ms timer would fire here, if one were (wrongly) started
    assert win.graph.redraws == redraws
    win.docks["graph"].show()
    qtbot.waitUntil(lambda: win.graph.redraws == redraws + 1)
    assert "event #300" in win.graph.caption.text()


def test_event_details_and_inspector_use_the_brief_form(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt as _Qt

    from cinema.model.present import data_text

    w = EventListWidget(state)
    qtbot.addWidget(w)
    restart = _first(state, EventKind.RESTART)
    text = w.model.data(w.model.index(restart, 5), _Qt.ItemDataRole.DisplayRole)
    assert text == data_text(state.session.event(restart).data, 160)
    assert text.startswith("{child_id: ") and "'" not in text.split('"')[0]
    recv = _first(state, EventKind.RECEIVE)
    if state.session.event(recv).data is None:
        assert w.model.data(w.model.index(recv, 5), _Qt.ItemDataRole.DisplayRole) == ""
    insp = InspectorWidget(state)
    qtbot.addWidget(insp)
    state.select_event(restart)
    qtbot.waitUntil(lambda: "State" in insp.sections)
    value = insp.sections["State"].child(0).text(1)
    assert "recorder." not in value and "='" not in value, value


def test_graph_labels_stay_inside_a_narrow_view(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = ProcessGraphWidget(state, view="supervision")
    qtbot.addWidget(w)
    w.resize(420, 300)
    w.show()
    qtbot.waitExposed(w)
    restart = _first(state, EventKind.RESTART)
    state.select_event(restart)
    qtbot.waitUntil(lambda: w.frame is not None and any(w.frame.restarted))
    w.fit_view()
    view = w.plot.getViewBox().sceneBoundingRect()
    shown = w.labels.scene_rects()
    assert shown
    for r, text in zip(shown, w.labels.texts(), strict=True):
        assert view.left() - 1 <= r.left() and r.right() <= view.right() + 1, text


def test_transport_icons_follow_the_theme(qtbot, state) -> None:  # type: ignore[no-untyped-def]

    from cinema.ui.playback import PlaybackBar
    from cinema.ui.theme import THEMES

    bar = PlaybackBar(state, THEMES["dark"])
    qtbot.addWidget(bar)

    def ink(theme_name: str) -> QColor:
        img = bar.b_play.icon().pixmap(16, 16).toImage()
        opaque = [
            img.pixelColor(x, y)
            for x in range(16)
            for y in range(16)
            if img.pixelColor(x, y).alpha() > 200
        ]
        assert opaque, theme_name
        return opaque[len(opaque) // 2]

    assert ink("dark").lightness() > 160  # light ink on the dark background
    bar.apply_theme(THEMES["light"])
    assert ink("light").lightness() < 90
