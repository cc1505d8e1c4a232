"""Commands that open a window behave well on a machine without a display."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cinema.cli._display import display_problem


def _headless_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    return env


def _cinema(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinema", *args],
        env=_headless_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_display_problem_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("display detection applies to Linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert "DISPLAY" in (display_problem() or "")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert display_problem() is None
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":99")
    assert display_problem() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux display detection")
def test_open_without_a_display_is_a_clear_error(tmp_path: Path) -> None:
    proc = _cinema("open", str(tmp_path / "any.cinema"))
    assert proc.returncode == 2
    assert proc.stderr.startswith("cinema: error: no display")
    assert "cinema screenshot" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux display detection")
def test_demo_without_a_display_renders_the_window_to_a_png(tmp_path: Path) -> None:
    session = tmp_path / "bank.cinema"
    proc = _cinema("demo", "--record", str(session))
    assert proc.returncode == 0, proc.stderr
    png = tmp_path / "bank.png"
    from recorder.events import EventKind
    from recorder.session.reader import SessionReader

    with SessionReader(session) as r:
        crash = int((r.skeleton().kind == EventKind.CRASH).nonzero()[0][0])
    # the picture shows the first crash, as the window opens at it (not the last event)
    assert f"rendered the window at the first crash (event #{crash}) to {png}" in proc.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"cinema-event\x00{crash}".encode() in png.read_bytes()  # the PNG's tEXt chunk
    assert "events" in proc.stdout and "propagateSizeHints" not in proc.stderr
