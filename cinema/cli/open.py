"""``cinema open FILE [--event N]``: the desktop app on a session file."""

from __future__ import annotations

import sys

import click

from cinema.cli._display import NO_DISPLAY_HINT, display_problem
from cinema.errors import UserError

__all__ = ["command"]


@click.command("open")
@click.argument("session", required=False, type=click.Path(dir_okay=False))
@click.option("--event", "-e", type=int, default=None, help="Put the playhead at this event.")
@click.option("--theme", type=click.Choice(["light", "dark"]), default=None, help="Colour theme.")
def command(session: str | None, event: int | None, theme: str | None) -> None:
    """Open SESSION in the Cinema window (no SESSION: an Open dialog and recent files).

    A file that cannot be read is reported in a dialog; the exit status is then 2.
    """
    problem = display_problem()
    if problem is not None:
        raise UserError(f"{problem}; {NO_DISPLAY_HINT}")
    from cinema.ui.loading import preload  # Qt-free

    preload(session)  # the file is read while Qt is imported
    from cinema.ui.app import run_viewer  # Qt loads only here

    sys.exit(run_viewer(session, event=event, theme=theme))
