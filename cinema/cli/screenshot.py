"""``cinema screenshot FILE -o OUT.png``: render the window (or one panel) offscreen."""

from __future__ import annotations

import contextlib

import click

__all__ = ["command"]


def _size(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter("expected WIDTHxHEIGHT, like 1600x1000") from None
    if not (200 <= w <= 8000 and 150 <= h <= 8000):
        raise click.BadParameter("width 200-8000 and height 150-8000 pixels")
    return w, h


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> float | None:
    if value is None:
        return None
    units = {"ns": 1.0, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9}
    ns: float | None = None
    for suffix in sorted(units, key=len, reverse=True):
        if value.endswith(suffix):
            with contextlib.suppress(ValueError):
                ns = float(value[: -len(suffix)]) * units[suffix]
            break
    if ns is None:
        try:
            ns = float(value) * 1e9
        except ValueError:
            raise click.BadParameter("expected a time like 1.5s, 200ms or 30us") from None
    if not abs(ns) <= 2.0**62:  # also refuses nan and infinities (1e999s)
        raise click.BadParameter("that time is beyond any session (at most 146 years)")
    return ns


@click.command("screenshot")
@click.argument("session", type=click.Path(dir_okay=False))
@click.option("--event", "-e", type=int, default=None, help="Put the playhead at this event.")
@click.option(
    "--at", "at_ns", callback=_duration, default=None, help="...or at this time (1.5s, 200ms)."
)
@click.option(
    "--view",
    type=click.Choice(
        [
            "all",
            "timeline",
            "graph",
            "supervision",
            "messages",
            "inspector",
            "events",
            "breakpoints",
            "log",
            "metrics",
        ]
    ),
    default="all",
    show_default=True,
    help="What to render.",
)
@click.option(
    "--size", callback=_size, default="1600x1000", show_default=True, help="WIDTHxHEIGHT."
)
@click.option("--theme", type=click.Choice(["light", "dark"]), default="light", show_default=True)
@click.option(
    "--why",
    "explain",
    is_flag=True,
    help="Explain the playhead's event first (the Why panel): its causal chain is drawn on "
    "the timeline and in the messages view.",
)
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="PNG to write."
)
def command(
    session: str,
    event: int | None,
    at_ns: float | None,
    view: str,
    size: tuple[int, int],
    theme: str,
    explain: bool,
    output: str,
) -> None:
    """Render the Cinema window on SESSION offscreen and save it as a PNG.

    The playhead goes to --event N or --at TIME (default: the last event) and that event's
    process is selected; with --why, that event is explained in the Why panel. No display is
    needed (Qt's offscreen platform is used when none is set).
    """
    if event is not None and at_ns is not None:
        raise click.UsageError("give --event or --at, not both")
    from cinema.cli._paths import check_output

    check_output(output, "PNG")
    from cinema.ui.screenshot import render  # Qt loads only here

    out = render(session, output, event=event, at_ns=at_ns, view=view, size=size, theme=theme,
                 why=explain)  # fmt: skip
    click.echo(str(out))
