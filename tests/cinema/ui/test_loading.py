"""``cinema open`` starts reading the file before Qt is imported (cinema.ui.loading); the window
takes that read instead of starting its own, and a read of another file is not used."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import cinema.ui.app as app_mod
from cinema.ui import loading
from cinema.ui.app import Opener


def test_the_window_takes_the_preloaded_read(qtbot, bank_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    loading.preload(bank_path)
    loader = loading._preloaded
    assert loader is not None and loader.path == str(bank_path.resolve())
    win = Opener(settings=settings).open(str(bank_path))
    assert win is not None
    qtbot.addWidget(win)
    assert loader.result is not None and win.state.session is loader.result[0]
    assert win.state.viewport is loader.result[1]
    assert loading.take(str(bank_path)) is None  # taken once


def test_a_read_of_another_file_is_dropped(bank_path: Path, tmp_path: Path) -> None:
    loading.preload(bank_path)
    assert loading.take(str(tmp_path / "other.cinema")) is None
    assert loading.take(str(bank_path.resolve())) is None  # dropped, not kept for later


def test_nothing_is_preloaded_for_a_missing_file_or_no_file(tmp_path: Path) -> None:
    loading.preload(tmp_path / "missing.cinema")
    loading.preload(None)
    assert loading._preloaded is None


def test_a_preloaded_unreadable_file_shows_one_clear_message(
    qtbot, tmp_path: Path, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "broken.cinema"
    bad.write_bytes(b"this is not a session file at all" * 10)
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(app_mod, "error_box", lambda _p, title, text: shown.append((title, text)))
    loading.preload(bad)
    assert Opener(settings=settings).open(str(bad)) is None
    assert len(shown) == 1 and "broken.cinema" in shown[0][1] and "Traceback" not in shown[0][1]


def test_loading_imports_no_qt() -> None:
    code = "import sys, cinema.ui.loading; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_an_unusable_breakpoint_file_is_ignored_with_a_warning(
    qtbot, bank_path: Path, tmp_path: Path, settings, capsys
) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "bank.cinema"
    copy.write_bytes(bank_path.read_bytes())
    (tmp_path / "bank.cinema.cinema-bp.json").write_text("{not json")
    loading.preload(copy)
    opener = Opener(settings=settings)
    win = opener.open(str(copy))
    assert win is not None
    qtbot.addWidget(win)
    assert len(opener.warnings) == 1 and "ignoring the breakpoint file" in opener.warnings[0]
    assert win.statusBar().currentMessage() == opener.warnings[0]
    assert "cinema: warning: ignoring the breakpoint file" in capsys.readouterr().err
    assert list(win.state.breakpoints) == []


def test_the_loader_reads_what_the_window_opens_on(bank_path: Path) -> None:
    got = loading.load(str(bank_path))
    assert got.warning is None and got.breakpoints is None and got.bookmarks is None
    assert got.viewport.layout.processes is got.session.processes
    assert 0 in got.session._worlds  # the playhead's first world, ready


def test_a_read_still_running_waits_in_the_progress_dialog(
    qtbot, bank_path: Path, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app_mod, "QUICK_OPEN_S", 0.0)  # the dialog's event loop at once
    waited: list[bool] = []
    in_dialog = threading.Event()
    wait = app_mod._wait

    def waiting(*a):  # type: ignore[no-untyped-def]
        waited.append(True)
        in_dialog.set()
        return wait(*a)

    monkeypatch.setattr(app_mod, "_wait", waiting)
    # the read holds until the dialog waits (the bank reads in a few ms: without the hold it
    # could end before the loader's join(0.0) asks whether it is still running)
    read = loading.load
    monkeypatch.setattr(loading, "load", lambda *a: (in_dialog.wait(10), read(*a))[1])
    win = Opener(settings=settings).open(str(bank_path))
    assert win is not None
    qtbot.addWidget(win)
    assert waited == [True] and win.state.event_count > 0
