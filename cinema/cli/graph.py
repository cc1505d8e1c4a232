"""``cinema graph``: who sent messages to whom, with counts, bytes and latencies."""

from __future__ import annotations

import json

import click

from cinema.cli._model_args import TIME_HELP, session_argument, time_bound


@click.command("graph")
@session_argument
@click.option("--from", "t_from", metavar="T", help=f"Messages sent from T: {TIME_HELP}.")
@click.option("--to", "t_to", metavar="T", help=f"Messages sent until T: {TIME_HELP}.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["dot", "json"]),
    default="dot",
    show_default=True,
    help="Graphviz dot, or JSON (nodes and edges).",
)
def command(session: str, t_from: str | None, t_to: str | None, fmt: str) -> None:
    """Print the communication graph of SESSION: one edge per sender -> receiver with the
    message count, bytes and latency (mean, p50, p95, max; ns) of received messages."""
    from cinema.model.flow import communication_graph
    from cinema.model.session import Session

    s = Session.open(session)
    g = communication_graph(s, time_bound(s, t_from, end=False), time_bound(s, t_to, end=True))
    if fmt == "json":
        click.echo(json.dumps({
            "nodes": [{"pid": n, "name": d["name"]} for n, d in g.nodes(data=True)],
            "edges": [{"from": a, "to": b, **d} for a, b, d in g.edges(data=True)],
        }, indent=1))  # fmt: skip
        return
    click.echo("digraph cinema {")
    for n, d in g.nodes(data=True):
        click.echo(f"  p{n} [label={json.dumps(d['name'] + f' <0.{n}.0>')}];")
    for a, b, d in g.edges(data=True):
        lat = f"\\np50 {d['latency_p50'] / 1e3:.1f}us" if d["latency_p50"] is not None else ""
        label = json.dumps(f"{d['count']} msgs, {d['bytes']} B")[:-1] + lat + '"'
        click.echo(f"  p{a} -> p{b} [label={label}, weight={d['count']}];")
    click.echo("}")
