"""``cinema breaks FILE --when EXPR``: every event where a breakpoint expression hits."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import click

from cinema.cli._errors import USER_ERROR_EXIT

__all__ = ["command"]


def _bad_expression(exc: Any) -> None:
    """Print the parse error with its caret line and exit with the user-error status."""
    click.echo(f"cinema: error: --when: {exc.message}", err=True)
    click.echo(exc.caret, err=True)
    click.echo("  (see docs/expressions.md for names, operators and functions)", err=True)
    sys.exit(USER_ERROR_EXIT)


@click.command("breaks")
@click.argument("session", type=click.Path(dir_okay=False))
@click.option("--when", "expression", required=True, metavar="EXPR",
              help='Breakpoint expression, e.g. \'kind == "crash"\' or '
                   '\'msg_type == "withdraw" and state.balance < 0\'.')  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N",
              help="Stop after N hits.")  # fmt: skip
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the hits as one JSON document (docs/json-schema.md).",
)
def command(session: str, expression: str, limit: int | None, as_json: bool) -> None:
    """List every event of SESSION where the breakpoint expression EXPR hits.

    Each line: event number, time since the start, kind, process (-> or <- its peer) and
    the data, as `cinema events` prints them. The expression language is described in
    docs/expressions.md; --json rows are described in docs/json-schema.md.

    A file damaged in the middle is searched except for the events it cannot read: a warning
    on stderr says which (--json also lists them under "unreadable"), and the exit status is 1.
    """
    from cinema.cli._damage import DamageReport
    from cinema.cli._json import dumps_indented
    from cinema.model import present
    from cinema.model.condition import Condition
    from cinema.model.expr import ExprError
    from cinema.model.session import Session
    from recorder.events import Event

    try:
        cond = Condition(expression)
    except ExprError as exc:
        _bad_expression(exc)
        return
    with Session.open(session) as s:
        damage = DamageReport(s, "not searched")
        hits: list[Event] = []
        more = False
        for seq in _readable_hits(cond, s, damage):
            if limit is not None and len(hits) >= limit:
                more = True
                break
            ev = _hit_event(s, seq, damage)
            if ev is not None:
                hits.append(ev)
        if as_json:
            doc = {
                "expression": expression,
                "hits": [present.event_row(s, ev) for ev in hits],
                "count": len(hits),
                "truncated": more,
                "evaluation_errors": cond.errors,
                "unreadable": [
                    {"first": p.first, "last": p.last, "reason": p.reason}
                    for p in damage.damage.problems
                ],
            }
            click.echo(dumps_indented(doc))
        else:
            for ev in hits:
                click.echo(present.event_line(s, ev))
            what = f"{len(hits)} hit{'s' if len(hits) != 1 else ''}"
            if more:
                what += f" (stopped at --limit {limit})"
            if cond.errors:
                what += f"; {cond.errors} evaluation error(s) counted as false"
            click.echo(what)
    damage.finish()


def _hit_event(session: Any, seq: int, damage: Any) -> Any:
    """Hit ``seq`` with its data, or None (told to ``damage``) when it cannot be read.

    A kind-only expression is decided on the skeleton, so it also hits in a frame whose
    payloads are damaged; the kind index (format 1.2) keeps a copy of a frame's rare events,
    and ``cinema events --kind`` lists them from there: so does this."""
    from cinema.model.filters import EventFilter
    from recorder.session.format import SessionFormatError

    try:
        return session.event(seq)
    except SessionFormatError as exc:
        kind = int(session.skeleton.kind[seq])
        kept = EventFilter(kinds=[kind], seq_from=seq, seq_to=seq).scan(session, on_error=damage)
        ev = next(kept, None)
        if ev is None:
            damage.note(exc)  # said once for the frame, however many of its hits are lost
        return ev


def _readable_hits(cond: Any, session: Any, damage: Any, chunk: int = 1 << 20) -> Iterator[int]:
    """The hits of ``cond`` in order, a chunk at a time, leaving out (and telling ``damage``)
    only what a damaged file cannot give (as the window's hit job does)."""
    from cinema.views.hitjob import readable_hits

    n = session.event_count
    for a in range(0, n, chunk):
        yield from readable_hits(cond, session, a, min(a + chunk, n), damage.note).tolist()
