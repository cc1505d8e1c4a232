"""``cinema calls FILE``: the traced calls of a session, summarised per function."""

from __future__ import annotations

import json

import click

from cinema.cli._model_args import session_argument

__all__ = ["command"]


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3f}"


@click.command("calls")
@session_argument
@click.option(
    "--process",
    "-p",
    "process",
    metavar="P",
    default=None,
    help="List the calls of this process (pid or name) one by one instead.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON: one row per function (or call).")
def command(session: str, process: str | None, as_json: bool) -> None:
    """Summarise the calls traced in SESSION, one line per function, the most time first.

    Calls are traced with `cinema record --trace-calls MODULE:QUALNAME` or
    `Runtime(trace_calls=[...])` (docs/sandbox.md, "Call tracing"). Columns: calls,
    errors (calls that raised), unfinished (no return recorded), the processes that
    called, and the wall time of the finished calls in ms: total, mean, p50, p99, max.
    With --process, each call of that process: when, how long, and what it returned.

    \b
    Examples:
      cinema record --trace-calls bank:Account.handle_call -o run.cinema -- python bank.py
      cinema calls run.cinema
      cinema calls run.cinema --process acct-1 --json
    """
    from cinema.model import present
    from cinema.model.calls import call_spans, call_summary
    from cinema.model.moments import resolve_processes
    from cinema.model.session import Session

    with Session.open(session) as s:
        if process is not None:
            spans = [sp for pid in resolve_processes(s, process) for sp in call_spans(s, pid)]
            spans.sort(key=lambda sp: sp.call_seq)
            for sp in spans:
                if as_json:
                    row = {
                        "function": sp.function, "pid": sp.pid, "call_seq": sp.call_seq,
                        "return_seq": sp.return_seq, "wall_ns": sp.wall_ns, "error": sp.error,
                        "t": (sp.start_ns - s.t_first) / 1e9,
                    }  # fmt: skip
                    click.echo(json.dumps(row, allow_nan=False))
                    continue
                took = "unfinished" if sp.wall_ns is None else f"{_ms(sp.wall_ns)} ms"
                how = f"  raised {sp.error}" if sp.error else ""
                ends = f"-#{sp.return_seq}" if sp.return_seq is not None else ""
                click.echo(
                    f"#{sp.call_seq}{ends:<9} {present.seconds_text(s, sp.start_ns)}  "
                    f"{present.process_label(s, sp.pid)}  {sp.function}  {took}{how}"
                )
            if not spans and not as_json:
                click.echo(f"no traced calls by {process}")
            return
        rows = call_summary(s)
    if as_json:
        click.echo(json.dumps({"functions": [r.as_json() for r in rows]}, allow_nan=False))
        return
    if not rows:
        click.echo(
            "no traced calls in this session (trace some with `cinema record --trace-calls "
            "MODULE:QUALNAME` or Runtime(trace_calls=[...]))"
        )
        return
    width = max(len("function"), *(len(r.function) for r in rows))
    head = (
        f"{'function':<{width}}  {'calls':>7} {'errors':>6} {'unfin.':>6} {'procs':>5}  "
        f"{'total ms':>10} {'mean ms':>9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}"
    )
    click.echo(head)
    for r in rows:
        click.echo(
            f"{r.function:<{width}}  {r.calls:>7,} {r.errors:>6,} {r.unfinished:>6,} "
            f"{r.processes:>5,}  {_ms(r.total_ns):>10} {_ms(r.mean_ns):>9} {_ms(r.p50_ns):>9} "
            f"{_ms(r.p99_ns):>9} {_ms(r.max_ns):>9}"
        )
