"""``cinema top``: the busiest processes at a moment, from the PROFILE samples."""

from __future__ import annotations

import json

import click

from cinema.cli._model_args import TIME_HELP, session_argument

__all__ = ["command"]


@click.command("top")
@session_argument
@click.option(
    "--at",
    "at",
    metavar="T",
    default=None,
    help=f"The moment (default: the end, or the last profile sample when nothing is alive at "
    f"the end): {TIME_HELP}.",
)
@click.option(
    "--by", type=click.Choice(["cpu", "memory", "mailbox", "handled", "cpu_total"]),
    default="cpu", show_default=True,
    help="Sort by CPU time in handlers over the window before the moment, memory estimate, "
    "mailbox length, messages handled, or CPU time since the process started.",
)  # fmt: skip
@click.option(
    "--window", default="1s", show_default=True, metavar="D",
    help="The CPU window before the moment (1s, 250ms, ...).",
)  # fmt: skip
@click.option(
    "--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True,
    help="Show at most N processes.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON document (docs/json-schema.md).")
def command(session: str, at: str | None, by: str, window: str, limit: int, as_json: bool) -> None:
    """The live processes of SESSION at a moment, busiest first.

    CPU time in handlers, messages handled and memory estimates come from the profile samples
    the sandbox records (every 100 ms by default: Runtime(profile_interval_ms=...)), as of the
    latest sample at or before the moment; status and mailbox length are exact. The system
    line is the latest system-wide sample.

    \b
    Examples:
      cinema top run.cinema
      cinema top run.cinema --at 2.5s --by mailbox
      cinema top run.cinema --at '#2107' --by memory --json
    """
    import numpy as np

    from cinema.model import present
    from cinema.model.errors import ModelError
    from cinema.model.moments import parse_moment
    from cinema.model.session import Session
    from cinema.model.top import top
    from recorder.events import EventKind

    with Session.open(session) as s:
        if s.event_count == 0:
            raise ModelError("the session has no events")
        seq = s.event_count - 1 if at is None else s.check_seq(parse_moment(s, at).to_seq(s))
        w = parse_moment(s, window)
        if w.seq is not None or w.t_ns is None:
            raise ModelError(f"--window needs a duration such as 1s or 250ms, not {window!r}")
        window_ns = max(w.t_ns - s.t_first, 1)
        t = top(s, seq, by=by, limit=limit, window_ns=window_ns)
        if at is None and t.alive == 0:
            # nothing lives at the end of a run that shut down: its last profile sample is the
            # last moment with something to show
            samples = np.flatnonzero(s.skeleton.kind == EventKind.PROFILE)
            if len(samples):
                seq = int(samples[-1])
                t = top(s, seq, by=by, limit=limit, window_ns=window_ns)
        if as_json:
            doc = {
                "seq": seq, "ts": t.ts, "t": (t.ts - s.t_first) / 1e9, "by": by,
                "window_ns": t.window_ns, "alive": t.alive,
                "system": present.to_json(t.system), "processes": [r._asdict() for r in t.rows],
            }  # fmt: skip
            click.echo(json.dumps(doc, allow_nan=False))
            return
        click.echo(
            f"after #{seq} at {present.seconds_text(s, t.ts)}: {t.alive} processes alive; "
            f"CPU over the last {t.window_ns / 1e6:g} ms; sorted by {by}"
        )
        if t.system:
            figures = ", ".join(f"{k}={present.brief(v)}" for k, v in t.system.items())
            click.echo(f"system (#{t.system_seq}): {figures}")
        head = f"{'PID':>10}  {'NAME':<24} {'STATUS':<9} {'CPU%':>6} {'CPU(win)':>10} "
        click.echo(head + f"{'CPU(total)':>11} {'HANDLED':>8} {'MAILBOX':>8} {'MEMORY':>9}")
        for r in t.rows:
            click.echo(
                f"{present.pid_text(r.pid):>10}  {r.name[:24]:<24} {r.status:<9} "
                f"{100 * r.cpu_share:>5.1f}% {_ns(r.cpu_recent_ns):>10} {_ns(r.cpu_ns):>11} "
                f"{r.handled:>8} {r.mailbox_len:>8} {_bytes(r.memory):>9}"
            )


def _ns(ns: int) -> str:
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.2f}s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.1f}ms"
    return f"{ns / 1e3:.0f}µs"


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024:
            return f"{n}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f}GB"
