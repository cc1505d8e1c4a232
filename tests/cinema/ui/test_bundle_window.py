"""A bundle from `cinema export` opens in the window like a session: it says what it was cut
from (and the exporter's note), and its breakpoints and bookmarks come back."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from cinema.cli import main
from cinema.model.breakpoints import BreakpointSet
from cinema.model.sidecar import Bookmark, save_sidecar, sidecar_path
from cinema.ui.app import load_state
from cinema.ui.main_window import MainWindow

SHOTS = os.environ.get("CINEMA_SHOTS")  # a folder: keep the screenshots to look at them


def _bundle(bank_path: Path, tmp_path: Path) -> Path:
    src = tmp_path / "bank.cinema"
    src.write_bytes(bank_path.read_bytes())
    bps = BreakpointSet()
    bps.add('kind == "crash"', id="crashes", label="every crash")
    save_sidecar(sidecar_path(src), bps, [Bookmark(1500, "overdraft starts here")])
    out = tmp_path / "cut.cinema"
    r = CliRunner().invoke(main, ["export", str(src), "-o", str(out), "--from", "#1200",
                                  "--to", "#2600", "--note", "acct-3 goes negative"])  # fmt: skip
    assert r.exit_code == 0, r.output
    return out


def test_the_window_shows_a_bundle_as_a_cut(qtbot, bank_path, tmp_path, settings) -> None:  # type: ignore[no-untyped-def]
    out = _bundle(bank_path, tmp_path)
    st = load_state(str(out))
    st.autosave = False
    win = MainWindow(st, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert win.cut_banner.isVisible()
    text = win.cut_banner.text()
    assert "Cut from bank.cinema: events #1200..#2600" in text
    assert "Note: acct-3 goes negative" in text
    assert "(cut from bank.cinema)" in win.windowTitle()
    assert [b.id for b in st.breakpoints] == ["crashes"]
    assert [(m.seq, m.note) for m in st.controller.bookmarks] == [(300, "overdraft starts here")]
    st.seek(300)
    qtbot.wait(50)
    if SHOTS:
        win.grab().save(str(Path(SHOTS) / "bundle-window.png"))


def test_a_recording_has_no_cut_banner(qtbot, bank_path, settings) -> None:  # type: ignore[no-untyped-def]
    st = load_state(str(bank_path))
    st.autosave = False
    win = MainWindow(st, settings=settings)
    qtbot.addWidget(win)
    win.show()
    assert not win.cut_banner.isVisible()
    assert win.bundle is None
