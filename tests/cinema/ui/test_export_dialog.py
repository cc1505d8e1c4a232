"""File › Export…: a real dialog, offscreen: range, processes, rules with a preview, format;
Export writes the file in a worker thread and the bundle opens with the window's breakpoints
and bookmarks."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
from PySide6.QtCore import Qt

from cinema.model.session import Session
from cinema.ui.app import load_state
from cinema.ui.main_window import MainWindow

SHOTS = os.environ.get("CINEMA_SHOTS")


def _window(qtbot, bank_path, settings):  # type: ignore[no-untyped-def]
    st = load_state(str(bank_path))
    st.autosave = False
    win = MainWindow(st, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return st, win


def test_export_dialog_writes_a_redacted_bundle(qtbot, bank_path, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    st, win = _window(qtbot, bank_path, settings)
    st.breakpoints.add('kind == "crash"', id="crashes")
    st.seek(1500)
    st.toggle_bookmark()
    assert win.act_export.isEnabled() and win.act_export.shortcut().toString() == "Ctrl+E"
    dlg = win.show_export()
    qtbot.addWidget(dlg)
    qtbot.waitExposed(dlg)
    dlg.t_from.setText("#1000")
    dlg.t_to.setText("#2500")
    dlg.rules.setPlainText("re:customer [0-9]+")
    dlg.run_preview()
    assert "In the first" in dlg.preview_text.text()
    assert "re:customer [0-9]+" in dlg.preview_text.text()
    dlg.note.setText("from the dialog")
    out = tmp_path / "cut.cinema"
    dlg.output.setText(str(out))
    if SHOTS:
        dlg.grab().save(str(Path(SHOTS) / "export-dialog.png"))
    qtbot.mouseClick(dlg.export_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.outcome is not None or dlg.error is not None, timeout=60_000)
    assert dlg.error is None
    assert dlg.outcome is not None and dlg.outcome.events == 1501
    with Session.open(out) as cut:
        assert cut.meta["export"]["range"] == [1000, 2500]
        assert cut.meta["export"]["note"] == "from the dialog"
        (extra,) = cut.reader.meta_frames()
        assert [b["id"] for b in extra["breakpoints"]] == ["crashes"]
        assert extra["bookmarks"] == [{"seq": 500, "note": ""}]
        assert extra["redaction"]["by_rule"]["re:customer [0-9]+"] > 0
        for ev in cut.events():
            assert "customer 1" not in repr(ev.data)


def test_export_dialog_parquet_of_two_processes(qtbot, bank_path, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    _st, win = _window(qtbot, bank_path, settings)
    dlg = win.show_export()
    qtbot.addWidget(dlg)
    dlg.format.setCurrentIndex(dlg.format.findData("parquet"))
    assert dlg.output.text().endswith(".parquet")
    dlg.all_processes.setChecked(False)
    assert dlg.processes.isEnabled()
    picked = []
    for i in range(dlg.processes.count()):
        item = dlg.processes.item(i)
        if item.text().startswith(("acct-1 ", "ledger ")):
            item.setCheckState(Qt.CheckState.Checked)
            picked.append(item.data(Qt.ItemDataRole.UserRole))
    out = tmp_path / "two.parquet"
    dlg.output.setText(str(out))
    dlg.start()
    qtbot.waitUntil(lambda: dlg.outcome is not None or dlg.error is not None, timeout=60_000)
    assert dlg.error is None
    table = pq.read_table(out).to_pydict()
    assert table["seq"] and all(
        p in picked or q in picked for p, q in zip(table["pid"], table["peer"], strict=True)
    )


def test_export_dialog_says_what_is_wrong(qtbot, bank_path, settings) -> None:  # type: ignore[no-untyped-def]
    _st, win = _window(qtbot, bank_path, settings)
    dlg = win.show_export()
    qtbot.addWidget(dlg)
    dlg.t_from.setText("#3000")
    dlg.t_to.setText("#10")
    dlg.start()
    assert "no event between" in dlg.status.text()
    dlg.t_to.setText("#3500")
    dlg.rules.setPlainText("path:nowhere.x")
    dlg.run_preview()
    assert "roots are" in dlg.preview_text.text()
    dlg.rules.setPlainText("")
    dlg.all_processes.setChecked(False)
    dlg.start()
    assert "choose at least one process" in dlg.status.text()
    assert dlg.outcome is None
