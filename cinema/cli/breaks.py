"""``cinema breaks FILE --when EXPR``: every event where a breakpoint expression hits."""

from __future__ import annotations

import json
import sys
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
@click.option("--json", "as_json", is_flag=True, help="Print the hits as one JSON document.")
def command(session: str, expression: str, limit: int | None, as_json: bool) -> None:
    """List every event of SESSION where the breakpoint expression EXPR hits.

    Each line: event number, time since the start, process, kind and a short form of the data.
    The expression language is described in docs/expressions.md.
    """
    from cinema.model.condition import Condition
    from cinema.model.expr import ExprError
    from cinema.model.render import render_value, to_jsonable
    from cinema.model.session import Session

    try:
        cond = Condition(expression)
    except ExprError as exc:
        _bad_expression(exc)
        return
    with Session.open(session) as s:
        rows: list[dict[str, Any]] = []
        more = False
        for seq in cond.iter_hits(s):
            if limit is not None and len(rows) >= limit:
                more = True
                break
            ev = s.event(seq)
            rows.append(
                {
                    "seq": seq,
                    "t": (ev.ts - s.t_first) / 1e9,
                    "process": s.process_name(ev.pid),
                    "kind": ev.kind_name,
                    "peer": s.process_name(ev.peer) if ev.peer != 0xFFFFFFFF else None,
                    "data": ev.data,
                }
            )
        if as_json:
            doc = {
                "expression": expression,
                "hits": [{**r, "data": to_jsonable(r["data"], 500)} for r in rows],
                "count": len(rows),
                "truncated": more,
                "evaluation_errors": cond.errors,
            }
            click.echo(json.dumps(doc, indent=2, default=str))
            return
        for r in rows:
            # the peer of a receive is its sender, of a state change the process that caused it
            arrow = "<-" if r["kind"] in ("receive", "state") else "->"
            peer = f" {arrow} {r['peer']}" if r["peer"] else ""
            data = "" if r["data"] is None else "  " + render_value(r["data"], 80)
            click.echo(f"#{r['seq']:<8} +{r['t']:.6f}s  {r['process']}{peer}  {r['kind']}{data}")
        what = f"{len(rows)} hit{'s' if len(rows) != 1 else ''}"
        if more:
            what += f" (stopped at --limit {limit})"
        if cond.errors:
            what += f"; {cond.errors} evaluation error(s) counted as false"
        click.echo(what)
