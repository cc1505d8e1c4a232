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
    assert window.analysis.why_path.dots["back"].isVisible()
    rows = {state.layout.row_of_pid(int(state.skeleton.pid[s.seq])) for s in want.backward}
    assert set(np.asarray(dots[1]).astype(int).tolist()) == rows
    fwd = panel.tree.topLevelItem(1)
    assert fwd.childCount() >= 1
    panel.tree.setCurrentItem(fwd.child(0))
    assert state.seq == fwd.child(0).data(0, Qt.ItemDataRole.UserRole)
    panel.clear()
    assert len(window.analysis.why_path.dots["back"].getData()[0]) == 0
    assert not window.analysis.why_path.dots["back"].isVisible()  # an empty layer is hidden


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


def _purple_pixels(widget) -> int:  # type: ignore[no-untyped-def]
    """Pixels of the why path's causes colour (#8e2bd6) in ``widget`` as drawn."""
    from PySide6.QtGui import QImage

    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    px = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, -1)[:, : w * 4]
    b, g, r = px[:, 0::4].astype(int), px[:, 1::4].astype(int), px[:, 2::4].astype(int)
    return int(((abs(r - 0x8E) < 24) & (abs(g - 0x2B) < 24) & (abs(b - 0xD6) < 24)).sum())


def test_why_path_is_highlighted_in_the_messages_view(qtbot, window, state, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Y draws the chain over the sequence diagram too: every step up to the playhead, its
    messages (however old: more than the diagram's last 30 of the selected process), the
    processes it passes; the forward part appears as the playhead reaches it; Clear removes it."""
    s = state.session
    graph = window.graph
    graph.set_view("messages")
    # a receive whose chain reaches back past the last 30 messages of its process
    for e in s.events():
        if e.kind_name != "receive" or e.seq < 1500:
            continue
        c = why(s, e.seq)
        sends = [st.seq for st in c.backward if s.event(st.seq).kind_name == "send"]
        if len(c.backward) > 6 and len(c.forward) > 2 and sends:
            mine = graph.model.message_centric(state.world(), e.seq, e.pid)
            if len(mine.recent) >= 30:
                break
    drawn = graph.redraws
    state.select_event(e.seq)
    qtbot.waitUntil(lambda: graph.redraws > drawn)
    plain = _purple_pixels(graph)
    window.timeline.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Y)
    assert graph.chain is not None and graph.chain.seq == e.seq
    fr = graph.frame
    assert fr is not None and fr.view == "messages"
    steps = [st for st in c.backward if st.cause >= 0]
    assert len(fr.why_edges["back"]) == len(steps) and len(fr.why_dots["back"]) == len(c.backward)
    # a message taken on the chain is drawn, and the path lies over its arrow
    arrows = {tuple(np.round(row, 6)) for row in fr.recent}
    on_arrows = [tuple(np.round(row, 6)) in arrows for row in fr.why_edges["back"]]
    assert sum(on_arrows) >= len(sends)
    chain_pids = {int(state.skeleton.pid[st.seq]) for st in c.backward}
    assert set(fr.why_pids["back"]) == chain_pids
    assert graph.why.drawn["back_rings"] == len(chain_pids & set(fr.pids)) > 0
    assert "why #" in graph.caption.text()
    # drawn: the causes' colour shows up in the rendered graph
    assert _purple_pixels(graph) > plain + 500
    assert graph.grab().save(str(tmp_path / "why-messages.png"))
    # the effects appear when the playhead reaches them
    assert "forward" not in fr.why_edges or not len(fr.why_edges["forward"])
    last = max(st.seq for st in c.forward)
    drawn = graph.redraws
    state.seek(last)
    qtbot.waitUntil(lambda: graph.redraws > drawn)
    fwd = [st for st in c.forward if st.cause >= 0]
    assert len(graph.frame.why_edges["forward"]) == len(fwd) > 0
    assert graph.why.drawn["forward_edges"] == len(fwd)
    window.analysis.why.clear()
    assert graph.chain is None and graph.frame.why_edges == {}
    assert graph.why.drawn["back_edges"] == graph.why.drawn["forward_edges"] == 0
    assert "why #" not in graph.caption.text()


@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_screenshot_of_the_metrics_view_draws_its_plots(
    qapp, bank_path: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """``cinema screenshot --view metrics``: the metrics dock holds a splitter (the plots, the
    Top and Calls tables); the panel is found inside it and rendered at the size asked."""
    from PySide6.QtGui import QImage

    from cinema.ui.screenshot import render

    out = render(str(bank_path), str(tmp_path / "m.png"), event=2755, view="metrics",
                 size=(900, 420))  # fmt: skip
    img = QImage(str(out))
    assert not img.isNull() and img.width() >= 300 and img.height() >= 200


@pytest.mark.qt_log_ignore("This plugin does not support raise")
def test_screenshot_why_renders_the_chain(qapp, bank_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``cinema screenshot --why`` (render(why=True)): the chain of the event in the PNG."""
    from PySide6.QtGui import QImage

    from cinema.ui.screenshot import render

    out = {}
    for flag in (False, True):
        out[flag] = render(
            str(bank_path), str(tmp_path / f"m{flag}.png"), event=2755, view="messages",
            size=(760, 640), why=flag,
        )  # fmt: skip
    with_why, plain = QImage(str(out[True])), QImage(str(out[False]))
    assert with_why.text("cinema-why") == "2755" and plain.text("cinema-why") == ""

    class _Img:  # _purple_pixels takes a widget; a saved image grabs as itself
        def __init__(self, img: QImage) -> None:
            self.img = img

        def grab(self):  # type: ignore[no-untyped-def]
            from PySide6.QtGui import QPixmap

            return QPixmap.fromImage(self.img)

    assert _purple_pixels(_Img(with_why)) > _purple_pixels(_Img(plain)) + 500


def test_background_tabs_do_no_work_until_shown(qtbot, state, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A big session's Findings and the Top table sit in background tabs when the window
    opens: Qt shows them with the window, but neither runs before the user brings it to the
    front (the Findings panel ran every detector before the first screen: 7 s on 10 M events)."""
    import cinema.ui.findings as findings_mod

    monkeypatch.setattr(findings_mod, "AUTO_ANALYZE_EVENTS", 0)  # as for a big session
    w = MainWindow(state, settings=settings)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    for _ in range(5):
        qtbot.wait(20)
    a = w.analysis
    assert a.findings._analysed_at < 0 and not a.findings.findings
    assert a.top.result is None
    state.seek(state.event_count // 3)
    qtbot.wait(300)  # past the Top table's 150 ms timer
    assert a.top.result is None
    w.show_panel("findings")
    qtbot.waitUntil(lambda: a.findings._analysed_at == state.event_count)
    assert [f.title for f in a.findings.findings] == [f.title for f in analyze(state.session)]
    w.show_panel("metrics")
    qtbot.waitUntil(lambda: a.top.result is not None and a.top.result.seq == state.seq)
