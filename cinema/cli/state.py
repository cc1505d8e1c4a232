"""``cinema state``: the world, or one process, at a moment of a session."""

from __future__ import annotations

import json
from typing import Any

import click

from cinema.cli._model_args import TIME_HELP, session_argument


@click.command("state")
@session_argument
@click.option("--event", "-e", "event", type=int, metavar="N", help="After event number N.")
@click.option("--at", "at", metavar="T", help=f"At time T: {TIME_HELP}.")
@click.option("--process", "-p", "process", metavar="P", help="Only this process (pid or name).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(session: str, event: int | None, at: str | None, process: str | None,
            as_json: bool) -> None:  # fmt: skip
    """Show the world of SESSION after an event (--event N) or at a time (--at T): every
    process with its status, state, mailbox, links, monitors, supervisor and restarts."""
    from cinema.errors import UserError
    from cinema.model.moments import parse_moment, resolve_processes
    from cinema.model.session import Session

    if (event is None) == (at is None):
        raise UserError("give exactly one of --event N or --at T")
    s = Session.open(session)
    seq = s.check_seq(event) if event is not None else parse_moment(s, str(at)).to_seq(s)
    world = s.world_at(seq)
    if process is not None:
        pids = [p for p in resolve_processes(s, process) if p in world.processes]
        if not pids:
            raise UserError(f"process {process!r} does not exist yet after event #{seq}")
        alive = [p for p in pids if world.processes[p].alive]
        pids = [(alive or pids)[-1]]
    else:
        pids = list(world.processes)
    rows = [_process(s, world.processes[p]) for p in pids]
    if as_json:
        out: dict[str, Any] = {"seq": seq, "ts": world.time_ns,
                               "t": (world.time_ns - s.t_first) / 1e9}  # fmt: skip
        if process is not None:
            out["process"] = rows[0]
        else:
            out["processes"] = rows
            out["registry"] = dict(world.registry)
        click.echo(json.dumps(out, indent=1))
        return
    click.echo(f"after event #{seq} at {(world.time_ns - s.t_first) / 1e9:.6f}s: "
               f"{len(world.alive())} processes alive, {len(world.processes)} known")  # fmt: skip
    for row in rows:
        _print(row)


def _process(s: Any, p: Any) -> dict[str, Any]:
    from cinema.model.render import to_jsonable

    return {
        "pid": p.pid, "name": p.name, "behaviour": p.behaviour, "status": p.status,
        "parent": p.parent, "supervisor": p.supervisor, "registered": p.registered,
        "trap_exit": p.trap_exit, "state": to_jsonable(p.state),
        "mailbox_len": p.mailbox_len,
        "mailbox": [{"msg_id": m.msg_id, "sender": m.sender, "message": to_jsonable(m.message)}
                    for m in p.mailbox],
        "links": list(p.links), "monitors": [list(m) for m in p.monitors],
        "restarts": p.restarts, "handled": p.handled, "cpu_ns": p.cpu_ns, "memory": p.memory,
        "_raw_state": p.state, "_raw_mailbox": p.mailbox,
    }  # fmt: skip


def _print(row: dict[str, Any]) -> None:
    from cinema.model.render import render_value

    raw_state, raw_mailbox = row.pop("_raw_state"), row.pop("_raw_mailbox")
    sup = f" supervisor={row['supervisor']}" if row["supervisor"] is not None else ""
    reg = f" registered={row['registered']}" if row["registered"] else ""
    click.echo(f"<0.{row['pid']}.0> {row['name']} ({row['behaviour']}) {row['status']}{sup}{reg}"
               f" restarts={row['restarts']} handled={row['handled']}")  # fmt: skip
    if raw_state is not None:
        click.echo(f"    state: {render_value(raw_state, 300)}")
    if row["mailbox_len"]:
        click.echo(f"    mailbox: {row['mailbox_len']} message(s)")
        for m in raw_mailbox[:10]:
            click.echo(f"      #{m.msg_id} from <0.{m.sender}.0>: {render_value(m.message, 200)}")
    if row["links"]:
        click.echo(f"    links: {', '.join(f'<0.{x}.0>' for x in row['links'])}")
    if row["monitors"]:
        click.echo(f"    monitors: {', '.join(f'<0.{t}.0>' for _, t in row['monitors'])}")
