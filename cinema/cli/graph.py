"""``cinema graph``: who sent messages to whom, with counts, bytes and latencies."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from cinema.cli._model_args import TIME_HELP, range_bounds, session_argument

__all__ = ["command", "dot_quote", "dot_text"]

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


def dot_text(nodes: list[tuple[int, str]], edges: list[tuple[int, int, dict[str, Any]]]) -> str:
    """The graph in the DOT language (one node per process, one edge per sender -> receiver)."""
    lines = ["digraph cinema {", '  charset="UTF-8";']
    for pid, name in nodes:
        lines.append(f"  p{pid} [label={dot_quote(f'{name} <0.{pid}.0>')}];")
    for a, b, d in edges:
        label = dot_quote(f"{d['count']} msgs, {d['bytes']} B")
        if d["latency_p50"] is not None:
            label = label[:-1] + f"\\np50 {d['latency_p50'] / 1e3:.1f} µs" + '"'
        lines.append(f"  p{a} -> p{b} [label={label}, weight={d['count']}];")
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
    sent in the range and received."""
    from cinema.model.flow import communication_graph
    from cinema.model.session import Session

    with Session.open(session) as s:
        r = range_bounds(s, t_from, t_to)
        g = communication_graph(s, r.t_from, r.t_to, seq_from=r.seq_from, seq_to=r.seq_to)
        nodes = [(int(n), str(d["name"])) for n, d in g.nodes(data=True)]
        edges = [(int(a), int(b), dict(d)) for a, b, d in g.edges(data=True)]
    if fmt == "json":
        doc = {
            "nodes": [{"pid": pid, "name": name} for pid, name in nodes],
            "edges": [{"from": a, "to": b, **d} for a, b, d in edges],
        }
        click.echo(json.dumps(doc, indent=1, allow_nan=False))
        return
    click.echo(dot_text(nodes, edges))
