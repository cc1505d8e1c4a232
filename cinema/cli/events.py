"""``cinema events``: list the events of a session, filtered."""

from __future__ import annotations

import json

import click

from cinema.cli._lines import LineWriter
from cinema.cli._model_args import TIME_HELP, range_bounds, session_argument

__all__ = ["command"]


@click.command("events")
@session_argument
@click.option(
    "--process",
    "-p",
    "processes",
    multiple=True,
    metavar="P",
    help="Only events of this process (pid or name; as actor or peer). Repeatable.",
)
@click.option(
    "--kind",
    "-k",
    "kinds",
    multiple=True,
    metavar="K",
    help="Only events of this kind (send, receive, crash, ...). Repeatable.",
)
@click.option("--from", "t_from", metavar="T", help=f"Start at T: {TIME_HELP}.")
@click.option("--to", "t_to", metavar="T", help=f"End at T (inclusive): {TIME_HELP}.")
@click.option(
    "--match",
    metavar="PATTERN",
    help="Only events whose data contains PATTERN (case-insensitive, in the text the listing "
    "and the event list show, in full); /REGEX/ for a regular expression.",
)
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Show at most N events.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON row per line (docs/json-schema.md)."
)
def command(
    session: str, processes: tuple[str, ...], kinds: tuple[str, ...], t_from: str | None,
    t_to: str | None, match: str | None, limit: int | None, as_json: bool,
) -> None:  # fmt: skip
    """List the events of SESSION, oldest first.

    Each line: event number, time since the start, kind, process (-> or <- its peer) and
    the event's data as every panel shows it. A range given by event numbers is exactly those
    events (--from '#52' --to '#52' is event 52); a time keeps every event at that time.
    --json prints one row per line, described in docs/json-schema.md.

    A file damaged in the middle is listed except for the events it cannot read: a warning
    on stderr says which, and the exit status is 1.

    \b
    Examples:
      cinema events run.cinema --kind crash --kind restart
      cinema events run.cinema --process db --from 1.5s --to 2s
      cinema events run.cinema --from '#100' --to '#200' --match '/timeout|retry/' --json
    """
    from cinema.cli._damage import DamageReport
    from cinema.model import present
    from cinema.model.errors import ModelError
    from cinema.model.filters import EventFilter
    from cinema.model.moments import resolve_processes
    from cinema.model.session import Session
    from recorder.events import kind_from_name
    from recorder.session.format import SessionFormatError

    with Session.open(session) as s:
        pids = sorted({p for text in processes for p in resolve_processes(s, text)}) or None
        try:
            codes = [int(kind_from_name(k)) for k in kinds] or None
        except ValueError as exc:
            raise ModelError(str(exc)) from None
        bounds = range_bounds(s, t_from, t_to)
        flt = EventFilter(processes=pids, kinds=codes, match=match, **bounds._asdict())
        damage = DamageReport(s, "not listed")
        with LineWriter() as out:

            def on_error(exc: SessionFormatError, seq: int | None) -> None:
                out.flush()  # the warning comes after the lines before the damage
                damage(exc, seq)

            for shown, ev in enumerate(flt.scan(s, on_error=on_error)):
                if limit is not None and shown >= limit:
                    break
                if as_json:
                    out.add(json.dumps(present.event_row(s, ev), allow_nan=False))
                else:
                    out.add(present.event_line(s, ev))
    damage.finish()
