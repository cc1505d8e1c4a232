"""The ``cinema`` command.

Each subcommand lives in its own module ``cinema/cli/<name>.py`` that defines one click command
bound to the module-level name ``command``::

    # cinema/cli/info.py
    @click.command("info")
    @click.argument("session", type=click.Path(dir_okay=False))
    def command(session: str) -> None:
        \"\"\"Summarise a session file.\"\"\"

and is registered by adding its module name to :data:`COMMAND_MODULES` below (a module
``gen_test`` defines the command ``gen-test``). A command's module is imported when that command
runs (or ``cinema --help`` lists them all), so ``cinema events`` never loads the modules of the
eighteen others, nor what they import. Command modules keep their imports light too: anything
that needs Qt (or another heavy dependency) imports it inside the command function, so
``cinema --help`` and the headless commands never load Qt. Once its options are parsed, a
command runs with numpy loaded without OpenBLAS's thread pool (:mod:`cinema.cli._blas`).

Errors the user can fix (:class:`cinema.errors.UserError`, a bad session file, a missing path)
become ``cinema: error: <message>`` on stderr with exit status 2 in every command; see
:mod:`cinema.cli._errors`.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import click

from cinema import __version__
from cinema.cli._blas import import_numpy, numpy_first
from cinema.cli._errors import user_errors
from cinema.errors import UserError

__all__ = ["COMMAND_MODULES", "CinemaGroup", "main"]

#: Modules under ``cinema.cli`` that each define one subcommand as ``command``.
COMMAND_MODULES: tuple[str, ...] = (
    "info", "breaks", "events", "state", "graph", "demo", "record", "open", "screenshot", "attach",
    "analyze", "verify", "gen_test", "calls", "why", "top", "sql", "export",
)  # fmt: skip


class CinemaGroup(click.Group):
    """A click group whose every command reports user errors in one line (exit status 2).

    Args:
        command_modules: command name -> module defining it as ``command``, imported the first
            time the group is asked for that command (click's lazy-group pattern).
    """

    def __init__(
        self, *args: Any, command_modules: Mapping[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._command_modules = dict(command_modules or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._command_modules})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self._command_modules:
            self.add_command(_load_command(self._command_modules[cmd_name], cmd_name))
        return self.commands.get(cmd_name)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            with user_errors():
                return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        except BrokenPipeError:
            # `cinema events ... | head`: the reader left; stop quietly, like other Unix tools.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)


@click.group(
    cls=CinemaGroup,
    command_modules={name.replace("_", "-"): f"{__name__}.{name}" for name in COMMAND_MODULES},
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="cinema")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Cinema: a time-travel debugger for actor systems.

    A recorder captures every event of an actor system (spawn, exit, crash, send, receive,
    state change, supervisor restart, ...) into a session file or a live stream. Cinema replays
    it: seek to any event, step forwards and backwards, inspect each process's state and
    mailbox, follow messages, set breakpoints -- in a window, or headless from this command.
    """
    if ctx.invoked_subcommand is None:  # bare `cinema`: the window, with an Open dialog
        from cinema.cli._display import display_problem

        problem = display_problem()
        if problem is not None:
            raise UserError(f"{problem}; see `cinema --help` for the headless commands")
        import_numpy()
        from cinema.ui.app import run_viewer

        sys.exit(run_viewer(None))


def _load_command(module_name: str, cmd_name: str) -> click.Command:
    module = importlib.import_module(module_name)
    command = getattr(module, "command", None)
    if not isinstance(command, click.Command) or command.name != cmd_name:
        raise TypeError(f"{module_name} must define a click command {cmd_name!r} as `command`")
    if command.callback is not None and not getattr(command.callback, "numpy_first", False):
        command.callback = numpy_first(command.callback)
    return command
