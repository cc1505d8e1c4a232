"""``cinema demo``: run a demo scenario in the sandbox, record it, and open (or summarise) it."""

from __future__ import annotations

import os
import sys
import time

import click

from cinema.cli._display import display_problem
from cinema.errors import UserError

__all__ = ["command", "default_record_path"]


def default_record_path(scenario: str) -> str:
    """Where a demo records when no ``--record`` is given (the user cache dir, created)."""
    import platformdirs

    folder = platformdirs.user_cache_dir("cinema", appauthor=False)
    os.makedirs(folder, exist_ok=True)
    stem = os.path.join(folder, f"demo-{scenario}-{time.strftime('%Y%m%d-%H%M%S')}")
    path, n = f"{stem}.cinema", 1
    while os.path.lexists(path):  # two demos in one second: never record over the first
        n += 1
        path = f"{stem}-{n}.cinema"
    return path


@click.command("demo")
@click.option(
    "--scenario",
    "-s",
    default="bank",
    show_default=True,
    help="Which demo: bank, chat or pipeline.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Seed of the deterministic scheduler: the same seed gives the same run.",
)
@click.option(
    "--record",
    "record_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Session file to write (default: a new file in the user cache dir).",
)
@click.option(
    "--force",
    "-f",
    is_flag=True,
    help="Replace the --record file if it exists (once the new recording has events on disk).",
)
@click.option(
    "--headless", is_flag=True, help="Do not open the viewer; print the session summary instead."
)
@click.option(
    "--scale",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Multiply the scenario's size (processes, messages).",
)
@click.option(
    "--live/--recorded",
    default=True,
    show_default=True,
    help="With a window: run the scenario live and attached (pause it, edit states, resume), "
    "or record it first and open the file.",
)
@click.option(
    "--pace",
    type=click.FloatRange(0, 1000),
    default=4.0,
    show_default=True,
    help="Live: wall seconds per second of the scenario's virtual time (0: full speed).",
)
@click.option(
    "--listen",
    metavar="ADDRESS",
    default=None,
    help="Headless: also run a live server (PORT, HOST:PORT, unix or tcp) to attach to.",
)
@click.option(
    "--trace-calls",
    "trace_calls",
    multiple=True,
    metavar="MODULE:QUALNAME",
    help="Record each call of this function made inside a process (see `cinema calls`), e.g. "
    "recorder.sandbox.scenarios.bank:Account.handle_call. Repeatable.",
)
def command(
    scenario: str, seed: int, record_path: str | None, force: bool, headless: bool, scale: int,
    live: bool, pace: float, listen: str | None, trace_calls: tuple[str, ...],
) -> None:  # fmt: skip
    """Run a demo actor system in the sandbox, record every event, and open the recording.

    \b
    Scenarios:
      bank      accounts as GenServers, transfers via calls, a flaky worker that
                crashes until its supervisor gives up
      chat      a pub-sub room with many clients joining, talking and leaving
      pipeline  stages with back-pressure; the slow stage's mailbox grows

    The run is deterministic (virtual clock, seeded scheduling): the same --seed
    records the same events. Without --headless the scenario runs live, paced by
    --pace, and the window attaches to it: it stops at the first crash (an in-program
    breakpoint), the Live panel edits states and F8 resumes. --recorded records first
    and opens the file. --headless --listen tcp runs it with a live server for
    `cinema attach` from another terminal.
    """
    from recorder.sandbox import Runtime
    from recorder.sandbox.scenarios import SCENARIOS

    if scenario not in SCENARIOS:
        raise UserError(f"unknown scenario {scenario!r} (scenarios: {', '.join(SCENARIOS)})")
    if record_path is not None:
        from cinema.cli.record import refuse_to_overwrite

        refuse_to_overwrite(record_path, force)
    path = record_path or default_record_path(scenario)
    from cinema.cli._paths import check_output
    from recorder.sandbox.scenarios import scenario_rerun

    check_output(path, "session")
    metadata = {
        "scenario": scenario,
        "program": f"cinema demo --scenario {scenario}",
        "scale": scale,
        "rerun": scenario_rerun(scenario, scale=scale),  # what `cinema verify` re-runs
    }
    if trace_calls:
        from recorder.sandbox.calltrace import ENV_TRACE_CALLS, CallTraceError, resolve_target

        for target in trace_calls:  # a mistake is said now, not from inside the scenario
            try:
                resolve_target(target)
            except CallTraceError as exc:
                raise UserError(str(exc)) from None
        os.environ[ENV_TRACE_CALLS] = ",".join(trace_calls)  # the live demo's child too
    if not headless and live and display_problem() is None:
        from cinema.cli._live_demo import run_live_demo

        sys.exit(run_live_demo(scenario, seed, scale, path, pace))
    live_options = {"pace": pace, "announce": True} if listen is not None else None
    started = time.perf_counter()
    with Runtime(
        deterministic=True, seed=seed, record=path, metadata=metadata, listen=listen,
        live_options=live_options,
    ) as runtime:  # fmt: skip
        sink = getattr(runtime.recording, "sink", None)
        SCENARIOS[scenario](runtime, scale=scale)
    elapsed = time.perf_counter() - started
    if getattr(sink, "failed", False):  # the recorder warned already; say what it means here
        error = getattr(sink, "error", None)
        raise UserError(f"recording the {scenario} demo to {path} failed: {error}")
    click.echo(f"recorded the {scenario} demo (seed {seed}) to {path} in {elapsed:.2f} s")
    from cinema.cli.info import print_info

    if headless:
        print_info(path)
        return
    problem = display_problem()
    if problem is not None:
        # Still show something: the summary, and the window rendered offscreen to a PNG.
        print_info(path)
        from cinema.ui.screenshot import render

        first_crash = _first_crash(path)  # the moment the window opens at, too
        png = render(path, os.path.splitext(path)[0] + ".png", view="all", event=first_crash)
        at = f" at the first crash (event #{first_crash})" if first_crash is not None else ""
        click.echo(f"{problem}: rendered the window{at} to {png} instead")
        click.echo(f"open the session on a desktop with `cinema open {path}`")
        return
    try:
        from cinema.ui.app import run_viewer
    except ImportError as exc:
        print_info(path)
        click.echo(
            f"(the viewer is not available here: {exc}; open the file later with "
            f"`cinema open {path}`)"
        )
        return
    first_crash = _first_crash(path)
    if first_crash is not None:
        click.echo(f"opening at the first crash (event #{first_crash}); space plays, F5 runs on")
    sys.exit(run_viewer(path, event=first_crash))


def _first_crash(path: str) -> int | None:
    """Where the demo opens: the first crash, the moment worth looking at."""
    import numpy as np

    from recorder.events import EventKind
    from recorder.session.reader import SessionReader

    with SessionReader(path) as reader:
        crashes = np.flatnonzero(reader.skeleton().kind == EventKind.CRASH)
    return int(crashes[0]) if len(crashes) else None
