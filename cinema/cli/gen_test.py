"""``cinema gen-test FILE -o test_x.py``: turn a deterministic recording into a pytest test."""

from __future__ import annotations

import os
import shlex

import click

from cinema.cli._model_args import session_argument

__all__ = ["command"]


@click.command("gen-test")
@session_argument
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="The pytest file to write (name it test_*.py so that pytest finds it).",
)
@click.option(
    "--at",
    "moments",
    multiple=True,
    metavar="EVENTS",
    help="Check every process's status, state and mailbox after these events: #N or N, "
    "or a time (1.5s); comma-separated or repeated (default: the first crash and the end).",
)
@click.option("--force", "-f", is_flag=True, help="Replace the output file (and its data files).")
def command(session: str, output: str, moments: tuple[str, ...], force: bool) -> None:
    """Write a pytest regression test from the deterministic recording SESSION.

    The test runs the recorded program again (the `cinema demo` scenario, or the
    program `cinema record` ran, with the recorded seed) and asserts what SESSION
    holds: the same events in order (kind, process, peer, message id, data;
    timestamps and crash traceback text aside), kept beside the test in
    OUTPUT-stem.events.jsonl, and at each --at moment every process's status, state
    and mailbox length, one named test per moment. It passes on the code that made
    the recording and fails, showing the first difference, when the behaviour changes.

    \b
    Examples:
      cinema gen-test run.cinema -o tests/test_transfer_bug.py
      cinema gen-test bank.cinema -o test_bank.py --at '#2107' --at 1.5s
      pytest tests/test_transfer_bug.py
    """
    from cinema.cli.record import refuse_to_overwrite
    from cinema.errors import UserError
    from cinema.model.moments import parse_moment
    from cinema.model.session import Session
    from cinema.reuse.gentest import generate_test

    if not output.endswith(".py"):
        raise UserError(f"{output}: the test file must be a .py file (test_*.py for pytest)")
    stem = os.path.splitext(output)[0]
    for path in (output, f"{stem}.events.jsonl"):
        refuse_to_overwrite(path, force)
    texts = [t.strip() for item in moments for t in item.split(",") if t.strip()]
    with Session.open(session) as s:
        seqs = [parse_moment(s, t).to_seq(s) for t in texts]
    if texts and not seqs:
        raise UserError("--at names no event")
    made = generate_test(
        session,
        output,
        moments=seqs or None,
        command=shlex.join(["cinema", "gen-test", session, "-o", output, "--force"]),
    )
    at = ", ".join(f"#{m}" for m in made.moments) or "no moment"
    click.echo(f"wrote {made.test_path}: {made.events:,} events in order, the processes after {at}")
    click.echo(
        f"  expectations in {made.events_path}"
        + (f" and {made.states_path}" if made.states_path else "")
    )
    if not os.path.basename(output).startswith("test_"):
        click.echo("  note: pytest collects test_*.py files; run it by name", err=True)
    click.echo(f"run it with: pytest {output}")
