"""``cinema why``: the causal chain of an event, backwards (what led to it) and forwards (what
it caused)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from cinema.cli._model_args import session_argument

if TYPE_CHECKING:
    from cinema.model.causality import Step
    from cinema.model.session import Session

__all__ = ["command"]


@click.command("why")
@session_argument
@click.option(
    "--event", "-e", "event", required=True, metavar="N",
    help="The event to explain: its number (N or #N), or a time (1.5s: the last event then).",
)  # fmt: skip
@click.option(
    "--hops", type=click.IntRange(min=0), default=20, show_default=True,
    help="Steps followed backwards, and levels forwards.",
)  # fmt: skip
@click.option(
    "--processes", "max_processes", type=click.IntRange(min=1), default=10, show_default=True,
    help="Distinct processes a chain may visit.",
)  # fmt: skip
@click.option(
    "--limit", "-n", type=click.IntRange(min=1), default=200, show_default=True,
    help="Events listed forwards.",
)  # fmt: skip
@click.option("--backward-only", is_flag=True, help="Only what led to the event.")
@click.option("--forward-only", is_flag=True, help="Only what the event caused.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (docs/json-schema.md).")
def command(
    session: str, event: str, hops: int, max_processes: int, limit: int, backward_only: bool,
    forward_only: bool, as_json: bool,
) -> None:  # fmt: skip
    """Why did event N happen, and what did it cause?

    Backwards, each line is the event that caused the one above it: a receive was caused by
    the send of its message; a state change by the receive of the message that changed it;
    anything else a process did by the message it was handling (or its start); an exit signal
    by the linked process's exit; a restart by the child's exit. Forwards, the tree of what the
    event caused: the message's receipt, what its receiver did while handling it, and so on.

    \b
    Examples:
      cinema why run.cinema --event 2107
      cinema why run.cinema --event '#2107' --hops 5 --backward-only
      cinema why run.cinema --event 1.5s --json
    """
    from cinema.model import present
    from cinema.model.causality import why
    from cinema.model.moments import parse_moment
    from cinema.model.session import Session

    with Session.open(session) as s:
        text = event if event.startswith("#") or not event.isdigit() else f"#{event}"
        seq = s.check_seq(parse_moment(s, text).to_seq(s))
        w = why(s, seq, max_hops=hops, max_processes=max_processes, max_events=limit)
        back = [] if forward_only else w.backward
        fwd = [] if backward_only else w.forward
        if as_json:
            doc = {
                "event": present.event_row(s, s.event(seq)),
                "backward": [_step_row(s, x) for x in back],
                "forward": [_step_row(s, x) for x in fwd],
                "cut_backward": w.cut_backward or None,
                "cut_forward": w.cut_forward or None,
            }
            click.echo(json.dumps(doc, allow_nan=False))
            return
        click.echo(f"Why {present.event_line(s, s.event(seq), 120)}")
        if back:
            click.echo("\nWhat led to it (each line caused the one above):")
            for st in back[1:]:
                click.echo(f"  <- {present.event_line(s, s.event(st.seq), 100)}")
                click.echo(f"       {st.relation}")
            if len(back) == 1:
                click.echo("  nothing recorded: it is where its chain starts")
            if w.cut_backward:
                click.echo(f"  … {w.cut_backward} (--hops, --processes)")
        if fwd:
            click.echo("\nWhat it caused:")
            if len(fwd) == 1:
                click.echo("  nothing recorded")
            for depth, st in _tree_order(fwd):
                line = present.event_line(s, s.event(st.seq), 100)
                click.echo(f"  {'  ' * depth}-> {line}   [{st.relation}]")
            if w.cut_forward:
                click.echo(f"  … {w.cut_forward} (--hops, --processes, --limit)")


def _step_row(s: Session, st: Step) -> dict[str, Any]:
    from cinema.model import present

    return {
        "seq": st.seq, "depth": st.depth, "cause": None if st.cause < 0 else st.cause,
        "relation": st.relation, "event": present.event_row(s, s.event(st.seq)),
    }  # fmt: skip


def _tree_order(steps: list[Step]) -> list[tuple[int, Step]]:
    """The forward steps depth first (each under the event that caused it), with indents."""
    children: dict[int, list[Step]] = {}
    for st in steps[1:]:
        children.setdefault(st.cause, []).append(st)
    out: list[tuple[int, Step]] = []
    todo = [(0, st) for st in sorted(children.get(steps[0].seq, []), reverse=True)]
    while todo:
        depth, st = todo.pop()
        out.append((depth, st))
        todo.extend((depth + 1, c) for c in sorted(children.get(st.seq, []), reverse=True))
    return out
