"""``cinema demo --headless`` and ``cinema record`` as real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from recorder.events import EventKind
from recorder.session.reader import SessionReader

ROOT = Path(__file__).resolve().parents[3]


def cinema(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinema", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_demo_headless_records_and_summarises(tmp_path: Path) -> None:
    path = tmp_path / "bank.cinema"
    result = cinema(
        "demo", "--scenario", "bank", "--seed", "3", "--record", str(path), "--headless"
    )
    assert result.returncode == 0, result.stderr
    assert str(path) in result.stdout and "events" in result.stdout
    with SessionReader(path) as reader:
        assert reader.event_count > 1000
        assert reader.meta.get("scenario", reader.meta.get("metadata", {}).get("scenario")) in (
            "bank",
            None,
        )


def test_demo_unknown_scenario_is_a_user_error() -> None:
    result = cinema("demo", "--scenario", "casino", "--headless")
    assert result.returncode == 2
    assert "unknown scenario 'casino'" in result.stderr and "bank" in result.stderr


PROGRAM = """
from recorder.sandbox import Runtime

async def greeter(proc):
    proc.marker("hello from the program")
    await proc.sleep(5)

rt = Runtime(deterministic=True, seed=1)
rt.spawn(greeter)
rt.run()
raise SystemExit(7)
"""


def test_record_runs_a_program_and_propagates_its_exit_code(tmp_path: Path) -> None:
    script = tmp_path / "prog.py"
    script.write_text(PROGRAM)
    out = tmp_path / "prog.cinema"
    result = cinema("record", "-o", str(out), "--seed", "9", "--", "python", str(script))
    assert result.returncode == 7, result.stderr
    assert f"to {out}" in result.stderr
    with SessionReader(out) as reader:
        kinds = set(reader.skeleton().kind.tolist())
        assert {EventKind.SPAWN, EventKind.MARKER, EventKind.EXIT} <= kinds


def test_record_reports_a_missing_command(tmp_path: Path) -> None:
    result = cinema("record", "-o", str(tmp_path / "x.cinema"), "--", "no-such-command-here")
    assert result.returncode == 2 and "command not found" in result.stderr
