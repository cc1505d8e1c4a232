"""``cinema record``: run a sandbox program with recording on, without changing its code."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from cinema.errors import UserError

__all__ = ["command", "refuse_to_overwrite"]


def refuse_to_overwrite(path: str, force: bool) -> None:
    """Refuse (a :class:`UserError`) to record over an existing file unless ``force``; refuse a
    folder that does not exist or cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UserError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {path}: folder {folder} is not writable")
    if os.path.isdir(path):
        raise UserError(f"cannot write {path}: it is a folder")
    if os.path.lexists(path) and not force:
        raise UserError(
            f"{path} already exists; pass --force to replace it (it is replaced only once the "
            "new recording has events on disk)"
        )


@click.command(
    "record", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Session file to write."
)
@click.option(
    "--force",
    "-f",
    is_flag=True,
    help="Replace the output file if it exists (once the new recording has events on disk).",
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Seed for the program's deterministic runtimes (replaces their own).",
)
@click.option(
    "--listen",
    metavar="ADDRESS",
    default=None,
    help="Also start a live server in the program, for `cinema attach`: PORT, HOST:PORT, "
    "unix[:PATH] or tcp (any free loopback port).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Let --listen bind a non-loopback address (anyone who reaches it and holds the token "
    "can pause and change the program).",
)
@click.option(
    "--trace-calls",
    "trace_calls",
    multiple=True,
    metavar="MODULE:QUALNAME",
    help="Record each call of this function (or method: module:Class.method) made inside a "
    "process: arguments, result or exception, duration (docs/sandbox.md). Repeatable; "
    "see them with `cinema calls`.",
)
@click.option(
    "--trace-max-calls",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Trace at most N calls in all (default 100,000).",
)
@click.option(
    "--trace-for",
    "trace_for_ms",
    type=click.FloatRange(min=0),
    default=None,
    metavar="MS",
    help="Stop tracing once the runtime clock passes MS milliseconds.",
)
@click.argument("program", nargs=-1, required=True, type=click.UNPROCESSED)
def command(
    output: str,
    force: bool,
    seed: int | None,
    listen: str | None,
    allow_remote: bool,
    trace_calls: tuple[str, ...],
    trace_max_calls: int | None,
    trace_for_ms: float | None,
    program: tuple[str, ...],
) -> None:
    """Record a sandbox program: cinema record -o run.cinema -- python script.py ARGS

    The program runs as a child process with CINEMA_RECORD set to the output file:
    the first recorder.sandbox.Runtime it creates records there (later ones to
    FILE-2.cinema, ...), with no change to its code. The exit status of the program
    is passed on.

    An existing output file is kept unless --force is given; even then it is
    replaced only when the new recording's first events are on disk, so a program
    that never records leaves it as it was. If recording fails (disk full, ...),
    the program still runs to its end and the file keeps what was written.

    With --listen the program also runs a live server (CINEMA_LISTEN): attach to it
    while it runs with `cinema attach` (the address is printed on stderr).

    With --trace-calls MODULE:QUALNAME (CINEMA_TRACE_CALLS) each call of that function
    made inside a process is recorded (CALL and RETURN events); `cinema calls` sums
    them up per function. A target that cannot be traced is reported and skipped.
    """
    import subprocess  # here, not at the top: `cinema --help` imports every command module
    import tempfile

    from recorder.sandbox.recording import ENV_RECORD, ENV_SEED
    from recorder.session.writer import ENV_STATUS

    output = os.path.abspath(output)
    live_env = _listen_env(listen, allow_remote)
    refuse_to_overwrite(output, force)
    before = _identity(output)
    args = list(program)
    if args and args[0] == "python":
        args[0] = sys.executable  # the interpreter cinema runs in, with recorder importable
    with tempfile.TemporaryDirectory(prefix="cinema-record-") as tmp:
        status_file = os.path.join(tmp, "status.jsonl")
        env = dict(os.environ)
        env[ENV_RECORD] = output
        env[ENV_STATUS] = status_file
        if seed is not None:
            env[ENV_SEED] = str(seed)
        env.update(_trace_env(trace_calls, trace_max_calls, trace_for_ms))
        env.update(live_env)
        try:
            status = subprocess.call(args, env=env)
        except FileNotFoundError:
            raise UserError(f"cannot run {program[0]!r}: command not found") from None
        except PermissionError:
            raise UserError(f"cannot run {program[0]!r}: permission denied") from None
        reports = _read_reports(status_file)
    _summarise(output, before, reports, program[0])
    sys.exit(status)


def _trace_env(
    targets: tuple[str, ...], max_calls: int | None, for_ms: float | None
) -> dict[str, str]:
    """The environment that makes the program's runtimes trace calls (``--trace-calls``)."""
    if not targets:
        return {}
    from recorder.sandbox.calltrace import ENV_TRACE_CALLS, ENV_TRACE_FOR_MS, ENV_TRACE_MAX_CALLS

    for target in targets:
        module, sep, name = target.partition(":")
        if not sep or not module or not name or "," in target:
            raise UserError(
                f"--trace-calls {target!r}: write MODULE:QUALNAME, e.g. bank:Account.deposit"
            )
    env = {ENV_TRACE_CALLS: ",".join(targets)}
    if max_calls is not None:
        env[ENV_TRACE_MAX_CALLS] = str(max_calls)
    if for_ms is not None:
        env[ENV_TRACE_FOR_MS] = repr(for_ms)
    return env


def _listen_env(listen: str | None, allow_remote: bool) -> dict[str, str]:
    """The environment that makes the program's first runtime listen (``--listen``)."""
    if listen is None:
        return {}
    from recorder.live import ENV_LISTEN, ENV_LISTEN_OPTIONS, parse_address

    try:
        address = parse_address(listen)
    except ValueError as exc:
        raise UserError(f"--listen: {exc}") from None
    if not address.loopback and not allow_remote:
        raise UserError(
            f"--listen {listen}: not a loopback address; anyone who reaches it could steer "
            "the program. Add --allow-remote if you mean it"
        )
    env = {ENV_LISTEN: listen}
    if allow_remote:
        env[ENV_LISTEN_OPTIONS] = "allow_remote=1"
    return env


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _read_reports(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    reports = []
    for line in lines:
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict) and isinstance(report.get("path"), str):
            reports.append(report)
    return reports


def _summarise(
    output: str, before: tuple[int, int] | None, reports: list[dict[str, Any]], program: str
) -> None:
    """Say what was recorded where, and whether a recording failed."""
    mine = [r for r in reports if os.path.abspath(r["path"]) == output]
    for report in reports:
        path = report["path"]
        if report.get("error"):
            click.echo(
                f"recording to {path} failed: {report['error']}; it holds the "
                f"{int(report.get('events') or 0):,} events written before",
                err=True,
            )
        elif path != output:
            events = int(report.get("events") or 0)
            click.echo(f"also recorded {events:,} events to {path}", err=True)
    if mine and mine[0].get("error"):
        return
    if _identity(output) in (None, before):
        kept = " (the existing file was left as it was)" if before is not None else ""
        if reports:  # it made runtimes, and they passed record= themselves
            click.echo(
                f"nothing was recorded to {output}: the program's runtimes name their own "
                f"files{kept}",
                err=True,
            )
            return
        click.echo(f"{program} created no sandbox Runtime: nothing was recorded{kept}", err=True)
        return
    from recorder.session.reader import SessionReader

    try:
        with SessionReader(output) as reader:
            count, recovered = reader.event_count, reader.recovered
    except Exception as exc:  # a torn file: say so, the exit status stays the program's
        click.echo(f"recorded to {output}, but it cannot be read: {exc}", err=True)
        return
    how = " (the program ended before the recording was closed)" if recovered else ""
    click.echo(f"recorded {count:,} events to {output}{how}", err=True)
