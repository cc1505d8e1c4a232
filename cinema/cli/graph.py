"""``cinema graph``: who sent messages to whom, with counts, bytes and latencies."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from cinema.cli._model_args import TIME_HELP, range_bounds, session_argument

__all__ = ["OUTSIDE_NODE", "command", "dot_quote", "dot_text"]

# Characters a DOT label cannot hold as they are: C0 controls and DEL (a newline is written as
# Graphviz's centred line break, the rest become spaces).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def dot_quote(text: str) -> str:
    """``text`` as a DOT double-quoted string whose label shows exactly ``text``.

    The DOT language escapes only ``"`` inside quotes (``\\"``); Graphviz then reads label
    escapes (``\\n``, ``\\l``, ``\\N``, ...), so a backslash is doubled to stay a backslash and
    a newline becomes ``\\n``. Non-ASCII text stays as it is: the output is UTF-8, which is
    DOT's default charset.
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _CONTROL.sub(lambda m: "\\n" if m.group() == "\n" else " ", escaped) + '"'


#: The sandbox's sender "outside any process" (the pid of no process) as a DOT node.
OUTSIDE_NODE = "outside"


def _node_id(pid: int | None) -> str:
    return OUTSIDE_NODE if pid is None else f"p{pid}"


def dot_text(
    nodes: list[tuple[int | None, str]], edges: list[tuple[int | None, int | None, dict[str, Any]]]
) -> str:
    """The graph in the DOT language (one node per process, one edge per sender -> receiver;
    pid None is no process: the sandbox's sender outside any process)."""
    lines = ["digraph cinema {", '  charset="UTF-8";']
    for pid, name in nodes:
        label = "(no process)" if pid is None else f"{name} <0.{pid}.0>"
        lines.append(f"  {_node_id(pid)} [label={dot_quote(label)}];")
    for a, b, d in edges:
        label = dot_quote(f"{d['count']} msgs, {d['bytes']} B")
        if d["latency_p50"] is not None:
            label = label[:-1] + f"\\np50 {d['latency_p50'] / 1e3:.1f} µs" + '"'
        lines.append(f"  {_node_id(a)} -> {_node_id(b)} [label={label}, weight={d['count']}];")
    lines.append("}")
    return "\n".join(lines)


@click.command("graph")
@session_argument
@click.option("--from", "t_from", metavar="T", help=f"Messages sent from T: {TIME_HELP}.")
@click.option("--to", "t_to", metavar="T", help=f"Messages sent until T (inclusive): {TIME_HELP}.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "json"]),
    default="dot",
    show_default=True,
    help="Graphviz DOT (render with `dot -Tsvg`), or JSON nodes and edges (docs/json-schema.md).",
)
def command(session: str, t_from: str | None, t_to: str | None, fmt: str) -> None:
    """Print the communication graph of SESSION: one edge per sender -> receiver with the
    message count, bytes, drops, losses and latency (mean, p50, p95, max; ns) of the messages
    sent in the range and received. Messages sent from outside any process (the sandbox's
    runtime) come from the node of no process (pid null in JSON).

    In a file damaged in the middle, the messages whose sizes cannot be read count 0 bytes: a
    warning on stderr says which events (--json lists them under "unreadable"), and the exit
    status is 1."""
    from cinema.cli._damage import DamageReport
    from cinema.model.flow import communication_graph, message_flow
    from cinema.model.present import pid_or_none
    from cinema.model.session import Session

    with Session.open(session) as s:
        r = range_bounds(s, t_from, t_to)
        flow = message_flow(s)
        g = communication_graph(
            s, r.t_from, r.t_to, flow, seq_from=r.seq_from, seq_to=r.seq_to
        )  # fmt: skip
        nodes = [(pid_or_none(int(n)), str(d["name"])) for n, d in g.nodes(data=True)]
        edges = [
            (pid_or_none(int(a)), pid_or_none(int(b)), dict(d)) for a, b, d in g.edges(data=True)
        ]
        damage = DamageReport(s, "their message sizes count 0 bytes")
        for exc in flow.unreadable:
            damage.note(exc)
    if fmt == "json":
        doc = {
            "nodes": [{"pid": pid, "name": "-" if pid is None else name} for pid, name in nodes],
            "edges": [{"from": a, "to": b, **d} for a, b, d in edges],
            "unreadable": [
                {"first": p.first, "last": p.last, "reason": p.reason}
                for p in damage.damage.problems
            ],
        }
        click.echo(json.dumps(doc, indent=1, allow_nan=False))
    else:
        click.echo(dot_text(nodes, edges))
    damage.finish()
