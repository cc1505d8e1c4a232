"""``cinema demo`` in live mode: the scenario runs in a child process, the window attaches.

The child is ``python -m recorder.live`` (paced so a person can follow it, recording the same
file as a recorded demo would, staying inspectable after the scenario ends). It starts paused;
the window connects, sets an in-program breakpoint at the first crash, and lets it run: the
bank stops at its first crash, where the user can edit an account's balance and resume.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import click

from cinema.errors import UserError

__all__ = ["run_live_demo"]


def run_live_demo(scenario: str, seed: int, scale: int, path: str, pace: float) -> int:
    """Run the demo live and attached; returns the window's exit status."""
    from cinema.model.live import LiveSource
    from cinema.ui.live_app import run_live_viewer
    from recorder.live import LiveError

    child = subprocess.Popen(
        [
            sys.executable, "-m", "recorder.live", "--scenario", scenario, "--seed", str(seed),
            "--scale", str(scale), "--record", path, "--pace", str(pace), "--listen", "unix",
            "--paused", "--linger",
        ],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("LISTENING"):
            raise UserError(f"the demo program did not start (it said {line.strip()!r})")
        _, _address, connection_file = line.split()
        source = LiveSource(connection_file, name="cinema demo")
        try:
            source.connect()
            source.add_breakpoint('kind == "crash"', once=True)
            source.resume()
        except LiveError as exc:
            raise UserError(f"cannot attach to the demo: {exc}") from None
        click.echo(
            f"the {scenario} demo runs live (recording {path}); it stops at its first crash: "
            "edit a state (Live > Edit state), then F8 resumes"
        )
        return run_live_viewer(source)
    finally:
        with contextlib.suppress(OSError):
            if child.stdin is not None:
                child.stdin.close()  # a lingering demo ends when its stdin closes
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.terminate()
            child.wait(5)
