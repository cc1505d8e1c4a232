"""``cinema state``: the world, or one process, at a moment of a session."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from cinema.cli._model_args import TIME_HELP, session_argument

if TYPE_CHECKING:
    from cinema.model.session import Session

__all__ = ["command"]


@click.command("state")
@session_argument
@click.option("--event", "-e", "event", type=int, metavar="N", help="After event number N.")
@click.option("--at", "at", metavar="T", help=f"At time T: {TIME_HELP}.")
@click.option("--process", "-p", "process", metavar="P", help="Only this process (pid or name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (docs/json-schema.md).")
def command(session: str, event: int | None, at: str | None, process: str | None,
            as_json: bool) -> None:  # fmt: skip
    """Show the world of SESSION after an event (--event N) or at a time (--at T): every
    process with its status, state, mailbox, links, monitors, supervisor and restarts.

    With --process, only that process (a name that several incarnations shared means the
    latest one alive, else the latest one).

    In a file damaged in the middle, the world after an event is shown when the events it
    depends on can be read; otherwise the error says which events cannot be read and from
    which event on the world can be shown again."""
    from cinema.errors import UserError
    from cinema.model.moments import parse_moment
    from cinema.model.session import Session
    from recorder.session.format import SessionFormatError

    if (event is None) == (at is None):
        raise UserError("give exactly one of --event N or --at T")
    with Session.open(session) as s:
        seq = s.check_seq(event) if event is not None else parse_moment(s, str(at)).to_seq(s)
        try:
            text = _render(s, seq, process, as_json)
        except SessionFormatError as exc:
            raise UserError(_unreadable_world(s, seq, exc)) from None
    click.echo(text)


def _unreadable_world(s: Session, seq: int, exc: Any) -> str:
    """Why the world after ``seq`` cannot be shown, and where it can."""
    from cinema.views.damage import Damage

    problem = Damage().note(s, exc)
    text = f"the world after event #{seq:,} cannot be shown: {problem.text()}"
    if problem.first < 0:
        return text
    where = []
    if problem.first > 0:
        where.append(f"up to event #{problem.first - 1:,}")
    later = [k for k in s.reader.keyframe_seqs if k > problem.last]
    if later:  # a keyframe after the damage: the world is whole again from there
        where.append(f"from event #{later[0]:,} on")
    if where:
        text += f"; it can be shown {' and '.join(where)}"
    return text


def _render(s: Session, seq: int, process: str | None, as_json: bool) -> str:
    """The whole output, built before any of it is printed (a damaged file fails whole)."""
    from cinema.errors import UserError
    from cinema.model import present
    from cinema.model.moments import resolve_processes

    world = s.world_at(seq)
    if process is not None:
        pids = [p for p in resolve_processes(s, process) if p in world.processes]
        if not pids:
            raise UserError(f"process {process!r} does not exist yet after event #{seq}")
        alive = [p for p in pids if world.processes[p].alive]
        pids = [(alive or pids)[-1]]
    else:
        pids = list(world.processes)
    views = [world.processes[p] for p in pids]
    if as_json:
        out: dict[str, Any] = {
            "seq": seq, "ts": world.time_ns, "t": (world.time_ns - s.t_first) / 1e9,
        }  # fmt: skip
        if process is not None:
            out["process"] = present.process_row(views[0])
        else:
            out["processes"] = [present.process_row(v) for v in views]
            out["registry"] = present.registry_json(world.registry)
        return json.dumps(out, indent=1, allow_nan=False)
    lines = [
        f"after event #{seq} at {present.seconds_text(s, world.time_ns)}: "
        f"{len(world.alive())} processes alive, {len(world.processes)} known"
    ]
    for v in views:
        lines.extend(present.process_lines(s, v))
    return "\n".join(lines)
