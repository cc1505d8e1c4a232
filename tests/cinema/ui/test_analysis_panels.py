"""The analysis panels in the window: Findings (seek, marks), Why (the path on the timeline,
the Y shortcut) and the Top table beside the metrics; screenshots of each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cinema.model.analysis import analyze
from cinema.model.causality import why
from cinema.model.top import top
from cinema.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, state, settings):  # type: ignore[no-untyped-def]
    w = MainWindow(state, settings=settings)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_findings_panel_lists_the_model_findings_and_seeks(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    panel = window.analysis.findings
    window.show_panel("findings")
    want = analyze(state.session)
    assert [f.title for f in panel.findings] == [f.title for f in want] and want
    assert panel.tree.topLevelItemCount() == len(want)
    for i, f in enumerate(want[:3]):
        panel.select(i)
        assert state.seq == f.seq and state.event_seq == f.seq
        marks = window.analysis.finding_marks.item.getData()
        assert len(marks[0]) == len(f.events)
        x = (state.skeleton.ts[list(f.events)] - state.session.t_first) / 1e9
        assert np.allclose(np.sort(marks[0]), np.sort(x))
    # an event row under a finding seeks to that event
    item = panel.tree.topLevelItem(0)
    last = item.child(item.childCount() - 1)
    panel.tree.setCurrentItem(last)
    assert state.seq == want[0].events[-1]


def test_why_shortcut_draws_the_path(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    crash = next(e.seq for e in state.session.events() if e.kind_name == "crash")
    state.select_event(crash)
    window.timeline.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Y)
    panel = window.analysis.why
    assert panel.chain is not None and panel.chain.seq == crash
    want = why(state.session, crash)
    assert [s.seq for s in panel.chain.backward] == [s.seq for s in want.backward]
    dots = window.analysis.why_path.dots["back"].getData()
    assert len(dots[0]) == len(want.backward)
    rows = {state.layout.row_of_pid(int(state.skeleton.pid[s.seq])) for s in want.backward}
    assert set(np.asarray(dots[1]).astype(int).tolist()) == rows
    fwd = panel.tree.topLevelItem(1)
    assert fwd.childCount() >= 1
    panel.tree.setCurrentItem(fwd.child(0))
    assert state.seq == fwd.child(0).data(0, Qt.ItemDataRole.UserRole)
    panel.clear()
    assert len(window.analysis.why_path.dots["back"].getData()[0]) == 0


def test_top_table_follows_the_playhead(qtbot, window, state) -> None:  # type: ignore[no-untyped-def]
    window.show_panel("metrics")
    table = window.analysis.top
    assert window.docks["metrics"].widget() is window.analysis.metrics_split
    state.seek(state.event_count // 2)
    qtbot.waitUntil(lambda: table.result is not None and table.result.seq == state.seq)
    want = top(state.session, state.seq, by="cpu", limit=50)
    assert table.table.rowCount() == len(want.rows)
    assert table.table.item(0, 0).data(Qt.ItemDataRole.UserRole) == want.rows[0].pid
    table.set_by("mailbox")
    assert table.result is not None and table.result.by == "mailbox"
    table.table.cellClicked.emit(0, 0)
    assert state.pid == table.result.rows[0].pid


def test_screenshots(qtbot, window, state, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The three panels render (docs/screenshots/make_screenshots.py makes the docs' ones)."""
    out = tmp_path
    a = window.analysis
    window.show_panel("findings")
    gave_up = next(
        i for i, f in enumerate(a.findings.findings) if f.detector == "supervisor_gave_up"
    )
    a.findings.select(gave_up)
    window.timeline.refresh()
    assert window.grab().save(str(out / "findings.png"))
    crash = next(e.seq for e in state.session.events() if e.kind_name == "receive" and e.seq > 2500)
    state.select_event(crash)
    a.explain()
    window.timeline.refresh()
    assert window.grab().save(str(out / "why.png"))
    window.show_panel("metrics")
    state.seek(2000)
    a.top.refresh()
    assert window.grab().save(str(out / "top.png"))
    for name in ("findings", "why", "top"):
        assert (out / f"{name}.png").stat().st_size > 20_000
