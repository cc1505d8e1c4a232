"""The README's examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_python_example_records_a_session(tmp_path: Path) -> None:
    blocks = _python_blocks()
    assert blocks, "the README has no Python example"
    for code in blocks:
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
    recorded = list(tmp_path.glob("*.cinema"))
    assert recorded, "the example recorded nothing"
    info = subprocess.run(
        [sys.executable, "-m", "cinema", "info", "--json", str(recorded[0])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert info.returncode == 0 and '"events"' in info.stdout


def test_every_command_the_readme_names_exists() -> None:
    import click

    from cinema.cli import main

    named = set(re.findall(r"^cinema ([a-z-]+)", README.read_text(), flags=re.M))
    commands = set(main.list_commands(click.Context(main)))
    assert named and named <= commands, named - commands
