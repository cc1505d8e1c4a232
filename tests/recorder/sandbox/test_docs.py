"""The example of docs/sandbox.md runs and records what it says."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from recorder.events import EventKind
from recorder.session.reader import SessionReader

DOC = Path(__file__).resolve().parents[3] / "docs" / "sandbox.md"


def test_guide_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(compile(code.group(1), str(DOC), "exec"), {"__name__": "__doc_example__"})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "withdraw: ('error', 'insufficient_funds')" not in out  # 100 + 50 >= 120
    assert "withdraw: ok" in out and "crashed: exception" in out and "after restart: ok" in out
    with SessionReader(tmp_path / "bank.cinema") as reader:
        kinds = set(reader.skeleton().kind.tolist())
    assert {EventKind.CRASH, EventKind.RESTART, EventKind.STATE} <= kinds
