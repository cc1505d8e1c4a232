"""The Calls table beside the Top table: traced calls per function (``cinema calls``), a row
seeks to the function's first call, whose CALL and RETURN glyphs are on the calling process's
lane; "selected process only" narrows it; hidden in a session without traced calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cinema.model.calls import call_spans, call_summary
from cinema.ui.main_window import MainWindow
from cinema.ui.theme import CATEGORIES
from recorder.events import EventKind

TRACED = "recorder.sandbox.scenarios.bank:Account.handle_call"


@pytest.fixture(scope="module")
def traced_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from recorder.sandbox.runtime import Runtime
    from recorder.sandbox.scenarios import run_scenario

    path = tmp_path_factory.mktemp("calls") / "bank-calls.cinema"
    rt = Runtime(deterministic=True, seed=5, record=str(path), trace_calls=[TRACED],
                 recorder_options={"flush_interval": None})  # fmt: skip
    run_scenario("bank", rt)
    rt.close()
    return path


def _window(qtbot, path: Path, settings):  # type: ignore[no-untyped-def]
    from cinema.ui.app import load_state

    st = load_state(str(path))
    st.autosave = False
    w = MainWindow(st, settings=settings)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    return st, w


def test_calls_table_summarises_and_seeks_to_the_lane(
    qtbot, traced_path, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    st, w = _window(qtbot, traced_path, settings)
    table = w.analysis.calls
    w.show_panel("metrics")
    assert table.isVisible() and table.parent() is w.analysis.metrics_split
    want = call_summary(st.session)
    assert [r.function for r in want] == [TRACED] and want[0].calls > 100
    qtbot.waitUntil(lambda: table.table.rowCount() == len(want))
    cells = [table.table.item(0, j).text() for j in range(table.table.columnCount())]
    assert cells[0] == "Account.handle_call" and cells[1] == f"{want[0].calls:,}"
    assert TRACED in table.table.item(0, 0).toolTip()
    assert cells[4] == f"{want[0].p99_ns / 1e6:.3f} ms"  # p99 of the wall time
    assert cells[2] == f"{want[0].total_ns / 1e6:.3f} ms"
    assert "calls of 1 function" in table.caption.text()
    # a row seeks to the first call: a CALL, drawn on its process's lane
    table.table.cellClicked.emit(0, 0)
    first = want[0].first_call_seq
    assert st.seq == first and int(st.skeleton.kind[first]) == EventKind.CALL
    span = next(sp for sp in call_spans(st.session) if sp.call_seq == first)
    assert st.pid == span.pid
    t0 = (span.start_ns - st.session.t_first) / 1e9
    w.timeline.show_window(t0 - 0.002, t0 + 0.002)
    w.timeline.refresh()
    glyph = w.timeline.glyphs[list(CATEGORIES).index("call")]
    x, y = glyph.getData()
    row = st.layout.row_of_pid(span.pid)
    on_lane = np.isclose(x, t0, atol=1e-9) & (y == row)
    assert on_lane.any(), "the CALL glyph is on the calling process's lane"
    t1 = (span.end_ns - st.session.t_first) / 1e9
    assert (np.isclose(x, t1, atol=1e-9) & (y == row)).any(), "and so is its RETURN"
    assert w.grab().save(str(tmp_path / "calls.png"))
    # the selected process only
    table.only_selected.setChecked(True)
    mine = call_summary(st.session, span.pid)
    assert [r.calls for r in table.rows] == [r.calls for r in mine]
    assert (
        mine[0].calls < want[0].calls and f"by {st.process_label(span.pid)}" in table.caption.text()
    )
    other = next(p for p in st.session.processes if not call_spans(st.session, p))
    st.select_process(other)
    qtbot.waitUntil(lambda: table.table.rowCount() == 0)
    assert "no traced calls by" in table.caption.text()


def test_no_calls_table_without_traced_calls(qtbot, window_plain) -> None:  # type: ignore[no-untyped-def]
    w = window_plain
    w.show_panel("metrics")
    assert not w.analysis.calls.isVisibleTo(w.analysis.metrics_split)
    assert w.analysis.top.isVisible()


@pytest.fixture
def window_plain(qtbot, state, settings):  # type: ignore[no-untyped-def]
    w = MainWindow(state, settings=settings)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    return w


def test_has_calls_reads_the_kinds_masks_not_the_kind_column(
    traced_path: Path, bank_path: Path, qapp, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The window asks at open whether to show the table: loading the whole kind column cost
    the first screen of 10 M events 1 s and 170 MB."""
    from cinema.ui.app import load_state
    from cinema.ui.calls_table import has_calls

    for path, want in ((traced_path, True), (bank_path, False)):
        st = load_state(str(path))
        st.autosave = False
        monkeypatch.setattr(st.session.reader, "skeleton", lambda: pytest.fail("skeleton read"))
        assert has_calls(st) is want
        monkeypatch.undo()
        assert bool(np.any(st.skeleton.kind == EventKind.CALL)) is want
