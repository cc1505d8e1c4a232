"""Options shared by the headless time-travel commands (events, state, graph).

Imported when ``cinema`` starts, so it imports only click: the model loads inside commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import click

if TYPE_CHECKING:
    from cinema.model.session import Session

__all__ = ["TIME_HELP", "Range", "range_bounds", "session_argument"]

TIME_HELP = (
    "seconds from the start of the session (1.5s, 250ms, 40us, +3s, or a bare number of "
    "seconds), or an event number (#123)"
)


class Range(NamedTuple):
    """Inclusive bounds from ``--from`` / ``--to``: event numbers and / or timestamps (ns)."""

    seq_from: int | None = None
    seq_to: int | None = None
    t_from: int | None = None
    t_to: int | None = None


def range_bounds(session: Session, t_from: str | None, t_to: str | None) -> Range:
    """``--from`` / ``--to`` as bounds. An event number bounds by event number (``#52`` to
    ``#52`` is that one event, even when its neighbours share its timestamp); a time bounds by
    timestamp (``--to 2ms`` keeps every event at 2 ms).

    Raises:
        ModelError: a bound that is not a moment, or an event number out of range.
    """
    from cinema.model.moments import parse_moment

    out = Range()
    for text, end in ((t_from, False), (t_to, True)):
        if text is None:
            continue
        m = parse_moment(session, text)
        if m.seq is not None:
            seq = session.check_seq(m.seq)
            out = out._replace(**{"seq_to" if end else "seq_from": seq})
        else:
            out = out._replace(**{"t_to" if end else "t_from": m.t_ns})
    return out


session_argument = click.argument("session", type=click.Path(dir_okay=False))
