"""``cinema verify FILE``: re-run a deterministic sandbox recording and compare, event by event."""

from __future__ import annotations

import json
import sys

import click

from cinema.cli._model_args import session_argument

__all__ = ["command"]


@click.command("verify")
@session_argument
@click.option(
    "--keep",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    default=None,
    help="Keep the new run's recording in FILE (to open or compare it).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds a re-run program may take.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object.")
def command(session: str, keep: str | None, timeout: float, as_json: bool) -> None:
    """Re-run the deterministic sandbox recording SESSION and check that it does the same.

    The header says what to run: the `cinema demo` scenario, or the program (script,
    arguments, working directory) `cinema record` ran, with the same seed. The new run
    is recorded and compared with SESSION event by event (kind, process, peer, message
    id, data; timestamps and crash traceback text aside). Prints "matches", or the first
    event where the runs part, with both runs' events side by side after the last few
    they share. Exit status: 0 the runs match, 1 they differ, 2 the recording cannot be
    re-run (a real-time recording, a program that is gone, ...).

    \b
    Examples:
      cinema demo --headless --scenario bank --seed 5 --record bank.cinema
      cinema verify bank.cinema
      cinema record -o run.cinema -- python my_program.py
      cinema verify run.cinema --keep rerun.cinema
    """
    import shutil  # here, not at the top: `cinema --help` imports every command module
    import tempfile

    from cinema.cli.record import refuse_to_overwrite
    from cinema.model.present import event_row
    from cinema.model.session import Session
    from cinema.reuse.verify import verify_recording

    if keep is not None:
        refuse_to_overwrite(keep, force=False)
    with tempfile.TemporaryDirectory(prefix="cinema-verify-") as tmp:
        result = verify_recording(session, tmp, timeout=timeout)
        if keep is not None:
            shutil.move(result.rerun_path, keep)
        if as_json:
            out: dict[str, object] = {
                "file": session,
                "rerun_of": result.plan.description,
                "matches": result.matches,
                "recorded_events": result.recorded_events,
                "rerun_events": result.rerun_events,
                "source_changed": result.source_changed,
                "divergence": None,
            }
            div = result.divergence
            if div is not None:
                with Session.open(session) as rec, Session.open(keep or result.rerun_path) as new:
                    out["divergence"] = {
                        "seq": div.seq,
                        "fields": list(div.fields),
                        "recorded": None if div.recorded is None else event_row(rec, div.recorded),
                        "rerun": None if div.rerun is None else event_row(new, div.rerun),
                    }
            click.echo(json.dumps(out, allow_nan=False))
        else:
            click.echo(f"re-ran {result.plan.description}")
            if result.source_changed:
                click.echo(f"note: {result.plan.script} changed since it was recorded")
            if result.matches:
                click.echo(
                    f"matches: all {result.recorded_events:,} events are the same "
                    "(timestamps aside)"
                )
            else:
                click.echo(f"DIFFERS: {result.report}")
            if keep is not None:
                click.echo(f"the new run is in {keep}")
    sys.exit(0 if result.matches else 1)
