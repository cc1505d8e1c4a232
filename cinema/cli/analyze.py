"""``cinema analyze``: what is wrong in a session, worst first, with the events that prove it."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from cinema.cli._model_args import session_argument

if TYPE_CHECKING:
    from cinema.model.analysis import Context, Finding

__all__ = ["command"]

_SEVERITIES = ["info", "warning", "error"]


@click.command("analyze")
@session_argument
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON document (docs/json-schema.md, Findings)."
)
@click.option(
    "--fail-on",
    type=click.Choice(_SEVERITIES, case_sensitive=False),
    default=None,
    metavar="SEVERITY",
    help="Exit with status 1 when a finding is at least this severe (info, warning, error): "
    "for CI. Without it the status is 0 whatever is found.",
)
@click.option(
    "--min-severity",
    type=click.Choice(_SEVERITIES, case_sensitive=False),
    default="info",
    show_default=True,
    metavar="SEVERITY",
    help="Show only findings at least this severe.",
)
def command(session: str, as_json: bool, fail_on: str | None, min_severity: str) -> None:
    """Find what is wrong in SESSION: growing mailboxes, restart storms and crash loops,
    supervisors that gave up, deadlocks and call timeouts, hot processes and edges, slow
    handlers, dropped and lost messages, servers without a supervisor, links that let a crash
    take down unrelated work.

    Each finding has a severity (error, warning, info), an explanation, the processes involved
    and the events that prove it (see them with `cinema events SESSION --from '#N'`, or in the
    window's Findings panel). docs/analysis.md describes every detector.

    A file damaged in the middle is analysed on the frames it can read: a warning on stderr
    says which events cannot be read (--json lists them under "unreadable"), no finding rests
    on them, and the exit status is 1.

    Exit status: 0 when the session was analysed (and, with --fail-on, nothing at or above
    that severity was found), 1 when --fail-on found something or some events could not be
    read, 2 for bad input.

    \b
    Examples:
      cinema analyze run.cinema
      cinema analyze run.cinema --min-severity warning
      cinema analyze run.cinema --json --fail-on error   # in CI
    """
    from cinema.cli._damage import DamageReport
    from cinema.model import present
    from cinema.model.analysis import Context, Severity, analyze, severity_from_name
    from cinema.model.session import Session

    floor = severity_from_name(min_severity)
    with Session.open(session) as s:
        cx = Context(s)
        findings = [f for f in analyze(s, context=cx) if f.severity >= floor]
        damage = DamageReport(s, "left out of the analysis")
        for exc, seq in cx.unreadable:
            damage.note(exc, seq)
        counts = {sev.label: sum(f.severity == sev for f in findings) for sev in Severity}
        if as_json:
            rows = [
                present.finding_row(s, f, cx.t(f.seq) if f.seq >= 0 else None) for f in findings
            ]
            doc = {
                "events": s.event_count,
                "counts": counts,
                "findings": rows,
                "unreadable": [
                    {"first": p.first, "last": p.last, "reason": p.reason}
                    for p in damage.damage.problems
                ],
            }
            click.echo(json.dumps(doc, allow_nan=False))
        else:
            _print_text(cx, findings, counts)
    bar = severity_from_name(fail_on) if fail_on is not None else None
    failed = bar is not None and any(f.severity >= bar for f in findings)
    damage.finish()  # exits 1 after its summary when something could not be read
    if failed:
        sys.exit(1)


def _print_text(cx: Context, findings: list[Finding], counts: dict[str, int]) -> None:
    import textwrap

    from cinema.model import present

    if not findings:
        click.echo("No findings: nothing the detectors look for happened in this session.")
        return
    summary = ", ".join(f"{n} {k}" for k, n in reversed(counts.items()) if n)
    click.echo(f"{len(findings)} finding(s): {summary}\n")
    for f in findings:
        sev = f.severity.label.upper()
        color = {"ERROR": "red", "WARNING": "yellow"}.get(sev)
        click.echo(click.style(f"{sev:<8}", fg=color, bold=True) + f"{f.title}  [{f.detector}]")
        for line in textwrap.wrap(f.explanation, 92):
            click.echo(f"        {line}")
        if f.events:
            where = present.seconds_text(cx.session, cx.t(f.seq))
            shown = " ".join(f"#{e}" for e in f.events)
            click.echo(f"        events: {shown}  (first at {where})")
        click.echo()
