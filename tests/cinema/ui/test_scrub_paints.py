"""A scrub step paints the window once: every panel's redraw, the timeline's lanes and the
graphics scenes' item changes included, lands in the same paint (no stale frame, no second
paint of the same view)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject

from cinema.ui.main_window import MainWindow


class _Paints(QObject):
    """Counts the paint events of some widgets."""

    def __init__(self, widgets: dict[str, Any]) -> None:
        super().__init__()
        self.names = {id(w): name for name, w in widgets.items()}
        self.count = dict.fromkeys(widgets, 0)
        self.widgets = list(widgets.values())
        for w in self.widgets:
            w.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and id(watched) in self.names:
            self.count[self.names[id(watched)]] += 1
        return False

    def remove(self) -> None:
        for w in self.widgets:
            w.removeEventFilter(self)


def test_a_jump_of_the_playhead_paints_each_view_once(qtbot, state, settings) -> None:  # type: ignore[no-untyped-def]
    win = MainWindow(state, settings=settings)
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    qtbot.waitExposed(win)
    tl = win.timeline
    (x0, x1), _ = tl.vb.viewRange()
    tl.vb.setXRange(x0, x0 + (x1 - x0) / 20, padding=0)  # zoomed in: a jump pans the lanes
    qtbot.wait(50)
    views = {"lanes": tl.glw.viewport(), "graph": win.graph.plot.viewport()}
    pids = sorted(state.session.processes)
    for step, seq in enumerate((state.event_count - 5, 10, state.event_count // 2)):
        state.select_process(pids[(step + 1) % len(pids)])
        qtbot.wait(20)
        paints = _Paints(views)
        frames = tl.redraws
        state.select_event(seq)  # far away: the timeline follows the playhead
        for _ in range(5):  # the event-loop turns the move takes, and a few more
            QCoreApplication.processEvents()
        paints.remove()
        assert tl.redraws == frames + 1  # the lanes were queried once, for the new range
        assert tl.last_frame is not None and tl.last_frame.t0 <= state.time_ns() <= tl.last_frame.t1
        assert paints.count == {"lanes": 1, "graph": 1}, (seq, paints.count)
