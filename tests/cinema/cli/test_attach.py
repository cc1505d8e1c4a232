"""``cinema attach``: the headless client against a sandbox running in another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.recorder.live.conftest import Program

CINEMA = [sys.executable, "-m", "cinema"]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CINEMA, *args], capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )


def test_headless_prints_the_crashes_as_they_come_with_the_file_numbers(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(tmp_path / "rt"))
    path = tmp_path / "bank.cinema"
    p = Program(["--scenario", "bank", "--pace", "1", "--record", str(path)])
    try:
        got = _run("attach", p.port, "--headless", "--events", "--kind", "crash", "--json")
    finally:
        p.stop()
    assert got.returncode == 0, got.stderr
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert rows and {r["kind"] for r in rows} == {"crash"}
    assert all(r["process"] == "clearing" for r in rows)
    recorded = _run("events", str(path), "--kind", "crash", "--json")
    assert [r["seq"] for r in rows] == [json.loads(x)["seq"] for x in recorded.stdout.splitlines()]


def test_attach_without_a_session_says_so(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CINEMA_RUNTIME_DIR", str(tmp_path / "rt"))
    got = _run("attach", "--headless", "--events")
    assert got.returncode == 2
    assert "no live session of yours" in got.stderr
    got = _run("attach", "1", "--headless", "--events")
    assert got.returncode == 2 and "cannot connect" in got.stderr
    assert "Traceback" not in got.stderr
