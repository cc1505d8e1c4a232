"""The window attached to a sandbox running in another process (real socket, real Qt)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from cinema.model.live import LiveSource
from cinema.model.session import Session
from cinema.ui.live_app import open_live_window
from cinema.ui.live_dialogs import StateEditDialog, parse_literal
from recorder.events import EventKind
from tests.recorder.live.conftest import Program

pytestmark = pytest.mark.qt
SHOTS = os.environ.get("CINEMA_SHOTS")  # a folder: keep the screenshot to look at it


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot):
    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(tmp_path / "rt"))
    p = Program(["--scenario", "bank", "--pace", "3", "--record", str(tmp_path / "b.cinema"),
                 "--linger"])  # fmt: skip
    source = LiveSource(p.address)
    source.connect()
    win, driver = open_live_window(
        source, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    )
    qtbot.addWidget(win)
    win.show()
    yield win, source, p
    driver.close()
    source.discard()
    p.stop()


def test_the_live_window_grows_pauses_at_a_breakpoint_edits_and_saves(live, qtbot, tmp_path):
    win, source, _p = live
    state, panel = win.state, win.live_driver.panel
    qtbot.waitUntil(lambda: state.event_count > 200, timeout=20_000)
    assert len(state.layout.rows) > 5  # lanes follow growth
    panel.bp_text.setText('kind == "crash"')
    panel.btn_bp.click()
    qtbot.waitUntil(lambda: source.paused, timeout=20_000)

    def at_crash() -> bool:
        return state.event_seq >= 0 and state.session.event(state.event_seq).kind == EventKind.CRASH

    qtbot.waitUntil(at_crash, timeout=10_000)
    assert "PAUSED" in panel.status.text()
    assert panel.bp_list.topLevelItem(0).text(1) == "in the program"
    if SHOTS:  # docs/screenshots/live-paused.png
        win.resize(1600, 1000)
        qtbot.wait(300)
        win.grab().save(str(Path(SHOTS) / "live-paused.png"))
    # the state editor: pick the balance of an account, type a value
    info = source.info("acct-0")
    dlg = StateEditDialog(info)
    qtbot.addWidget(dlg)
    dlg.select(["balance"])
    dlg.value.setText("777")
    dlg._accept()
    path, old, new = dlg.result_edit()
    assert path == ["balance"] and new == 777 and old == info["state"]["balance"]
    source.set_state("acct-0", path, new)
    assert source.info("acct-0")["state"]["balance"] == 777
    saved = panel.save(str(tmp_path / "saved.cinema"))
    with Session.open(saved) as s:
        assert s.event_count >= state.event_count  # all received (some not shown yet)
        assert not s.reader.recovered
    panel.toggle_pause()  # resume
    qtbot.waitUntil(lambda: not source.paused, timeout=10_000)


def test_literals_only() -> None:
    assert parse_literal('[1, -2, "x", none]') == [1, -2, "x", None]
    from cinema.model.expr import ExprError

    with pytest.raises(ExprError):
        parse_literal("state.balance + 1")


def test_the_live_demo_stops_the_bank_at_its_first_crash(tmp_path, monkeypatch, qtbot) -> None:
    """``cinema demo``: the scenario runs live in a child, the window attaches, the first crash
    pauses the bank, an account's balance is edited, and it resumes to the end."""
    import time

    import numpy as np

    import cinema.ui.live_app as live_app
    from cinema.cli._live_demo import run_live_demo

    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(tmp_path / "rt"))
    seen: dict[str, object] = {}

    def fake_viewer(source: LiveSource) -> int:
        source.auto_pump = True
        deadline = time.monotonic() + 30
        while not source.paused and time.monotonic() < deadline:
            time.sleep(0.02)
        seen["paused_at"] = dict(source.paused_at or {})
        source.set_state("acct-1", ["balance"], 4242)
        seen["balance"] = source.info("acct-1")["state"]["balance"]
        source.resume()
        while source.connected and time.monotonic() < deadline:
            source.request("ping")
            if source.request("status")["events"] > 3900:
                break
            time.sleep(0.05)
        source.pump()
        seen["events"] = source.session.event_count
        return 0

    monkeypatch.setattr(live_app, "run_live_viewer", fake_viewer)
    path = tmp_path / "demo.cinema"
    assert run_live_demo("bank", 1, 1, str(path), 0.5) == 0
    with Session.open(path) as s:
        crashes = np.flatnonzero(s.skeleton.kind == EventKind.CRASH)
        assert seen["paused_at"]["seq"] == int(crashes[0])  # the first crash, exactly
    assert seen["balance"] == 4242


def test_the_state_editor_picks_what_the_inspector_shows(qtbot) -> None:
    info = {"name": "acct-0", "state": {"owner": "ann", "balance": 10, "history": [("in", 5)]}}
    dlg = StateEditDialog(info)
    qtbot.addWidget(dlg)
    item = dlg.tree.topLevelItem(0)
    labels = [item.child(i).text(0) for i in range(item.childCount())]
    balance = next(label for label in labels if "balance" in label)
    dlg.select_labels([balance])
    assert dlg.value.text() == "10"
    dlg.value.setText("25")
    dlg._accept()
    assert dlg.result_edit() == (["balance"], 10, 25)
