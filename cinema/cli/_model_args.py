"""Options shared by the headless time-travel commands (events, state, graph)."""

from __future__ import annotations

import click

from cinema.model.moments import parse_moment
from cinema.model.session import Session

TIME_HELP = (
    "seconds from the start of the session (1.5s, 250ms, 40us, +3s, or a bare number of "
    "seconds), or an event number (#123)"
)


def time_bound(session: Session, text: str | None, *, end: bool) -> int | None:
    """A ``--from`` / ``--to`` value as absolute ns (an event number means its timestamp)."""
    if text is None:
        return None
    m = parse_moment(session, text)
    if m.seq is not None:
        return session.time_of(m.to_seq(session))
    return m.t_ns


session_argument = click.argument("session", type=click.Path(dir_okay=False))
