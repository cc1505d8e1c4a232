"""``cinema record``: run a sandbox program with recording on, without changing its code."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from cinema.errors import UserError

__all__ = ["command"]


@click.command(
    "record", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Session file to write."
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed for the program's deterministic runtimes (replaces their own).",
)
@click.argument("program", nargs=-1, required=True, type=click.UNPROCESSED)
def command(output: str, seed: int | None, program: tuple[str, ...]) -> None:
    """Record a sandbox program: cinema record -o run.cinema -- python script.py ARGS

    The program runs as a child process with CINEMA_RECORD set to the output file:
    the first recorder.sandbox.Runtime it creates records there (later ones to
    FILE-2.cinema, ...), with no change to its code. The exit status of the program
    is passed on.
    """
    from recorder.sandbox.recording import ENV_RECORD, ENV_SEED

    output = os.path.abspath(output)
    folder = os.path.dirname(output)
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {output}: folder {folder} does not exist")
    env = dict(os.environ)
    env[ENV_RECORD] = output
    if seed is not None:
        env[ENV_SEED] = str(seed)
    if os.path.exists(output):
        os.remove(output)
    args = list(program)
    if args and args[0] == "python":
        args[0] = sys.executable  # the interpreter cinema runs in, with recorder importable
    try:
        status = subprocess.call(args, env=env)
    except FileNotFoundError:
        raise UserError(f"cannot run {program[0]!r}: command not found") from None
    if os.path.exists(output):
        from recorder.session.reader import SessionReader

        with SessionReader(output) as reader:
            count = reader.event_count
        click.echo(f"recorded {count:,} events to {output}", err=True)
    else:
        click.echo(f"{program[0]} created no sandbox Runtime: nothing was recorded", err=True)
    sys.exit(status)
