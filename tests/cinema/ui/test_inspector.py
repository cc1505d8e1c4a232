"""The inspector shows a state change as old -> new values, and a crash's traceback on
several lines, copyable."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication

from cinema.model import history
from cinema.model.present import brief
from cinema.ui.inspector import InspectorWidget
from recorder.events import EventKind


def _rows(section) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [
        (section.child(i).text(0), section.child(i).text(1)) for i in range(section.childCount())
    ]


def test_a_state_change_reads_old_to_new(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = InspectorWidget(state)
    qtbot.addWidget(w)
    sk = state.skeleton
    # a state change of an account whose balance moved
    for seq in np.flatnonzero(sk.kind == EventKind.STATE).tolist():
        pid = int(sk.pid[seq])
        changes, at = history.last_change(state.session, pid, seq)
        moved = [c for c in changes if c.op == "changed" and c.path and c.path[-1] == "balance"]
        if at == seq and moved:
            break
    else:
        raise AssertionError("no balance change in the bank demo")
    state.select_event(seq)
    w.refresh()
    rows = dict(_rows(w.sections["Last change"]))
    c = moved[0]
    assert rows["balance"] == f"{c.old} → {c.new}"
    assert w.sections["Last change"].text(1).startswith(f"#{seq:,}")


def test_a_crash_shows_its_traceback_on_lines_and_copies_it(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    w = InspectorWidget(state)
    qtbot.addWidget(w)
    w.show()
    crash = int(np.flatnonzero(state.skeleton.kind == EventKind.CRASH)[0])
    tb = state.session.event(crash).data["traceback"]
    assert tb.count("\n") >= 2
    state.select_event(crash)
    w.refresh()
    sec = w.sections["Crash"]
    lines = [t for _k, t in _rows(sec)]
    assert lines[0].startswith("RuntimeError")  # the error, then the traceback's lines
    assert tb.splitlines()[0] in lines and len(lines) >= 3
    assert w.text.toPlainText() == tb and w.text.toPlainText().count("\n") >= 2
    w.b_copy.click()
    assert QApplication.clipboard().text() == tb
    # Ctrl+C on a row copies that row
    w.tree.setCurrentItem(sec.child(0))
    w.tree.setFocus()
    qtbot.keyClick(w.tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text().startswith("error: RuntimeError")


def test_a_dead_process_says_why_it_ended(qtbot, state) -> None:  # type: ignore[no-untyped-def]
    """The world holds each ended process's EXIT / CRASH reason: the inspector shows it."""
    w = InspectorWidget(state)
    qtbot.addWidget(w)
    sk = state.skeleton
    crash = int(np.flatnonzero(sk.kind == EventKind.CRASH)[0])
    state.select_event(crash)
    w.refresh()
    proc = state.world().process(int(sk.pid[crash]))
    assert proc is not None and not proc.alive and proc.exit_reason is not None
    rows = dict(_rows(w.sections["Process"]))
    assert rows["exit reason"] == brief(proc.exit_reason, 120)
    assert "RuntimeError" in rows["exit reason"]
    # alive processes have no such row
    state.select_event(0)
    w.refresh()
    assert "exit reason" not in dict(_rows(w.sections["Process"]))


def test_the_title_shows_a_process_name_as_text_not_markup(qtbot, qapp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The title is rich text (the coloured status): a name is the program's and is escaped."""
    from cinema.ui.app import load_state
    from recorder.sandbox.runtime import Runtime

    async def idle(proc):  # type: ignore[no-untyped-def]
        return None

    name = "<b>bold</b> & <i>co</i>"
    path = tmp_path / "names.cinema"
    rt = Runtime(deterministic=True, seed=1, record=str(path), profile_interval_ms=None)
    rt.spawn(idle, name=name)
    rt.run()
    rt.close()
    st = load_state(str(path))
    st.autosave = False
    w = InspectorWidget(st)
    qtbot.addWidget(w)
    st.select_event(0)
    w.refresh()
    doc = QTextDocument()
    doc.setHtml(w.title.text())
    assert doc.toPlainText().startswith(f"{name} <0.0.0>")
    st.seek(st.event_count - 1)  # ended: the "not alive" title escapes it too
    st.select_process(-1)
    st.select_process(0)
    w.refresh()
    doc.setHtml(w.title.text())
    assert name in doc.toPlainText()
