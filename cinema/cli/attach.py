"""``cinema attach``: watch (and steer) a sandbox that is running right now."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import click

from cinema.errors import UserError

__all__ = ["command"]


@click.command("attach")
@click.argument("target", required=False, metavar="[HOST:]PORT")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="The server's connection file, or a file holding only its token (default: found "
    "among your own local sessions).",
)
@click.option("--list", "list_sessions", is_flag=True, help="List your local live sessions.")
@click.option("--headless", is_flag=True, help="No window: print what happens (see --events).")
@click.option("--events", "print_events", is_flag=True, help="Print events as they come.")
@click.option("--kind", "-k", "kinds", multiple=True, metavar="K", help="Only events of kind K.")
@click.option(
    "--process", "-p", "processes", multiple=True, metavar="P",
    help="Only events of process P (number or registered name) and, with --hops, of the "
    "processes it talks to.",
)  # fmt: skip
@click.option("--hops", type=click.IntRange(0, 100), default=0, help="With --process: how far.")
@click.option("--where", metavar="COND", help="Only events for which COND holds (expressions).")
@click.option("--sample", type=click.FloatRange(0, 1, min_open=True), default=1.0)
@click.option(
    "--history",
    type=click.Choice(["all", "recent", "none"]),
    default="all",
    show_default=True,
    help="What came before: the whole session file (when the program writes one), the flight "
    "recorder's recent events, or nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON row per line.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Stop after N events.")
@click.option("--timeout", type=float, default=None, help="Stop after this many seconds.")
def command(
    target: str | None, token_file: str | None, list_sessions: bool, headless: bool,
    print_events: bool, kinds: tuple[str, ...], processes: tuple[str, ...], hops: int,
    where: str | None, sample: float, history: str, as_json: bool, count: int | None,
    timeout: float | None,
) -> None:  # fmt: skip
    """Attach to a live sandbox: cinema attach 43567

    Opens the window in live mode: the timeline grows as events arrive, View > Follow live
    keeps the playhead on the newest one, and you can scrub back through everything received
    (the whole session file when the program records one, else the flight recorder's recent
    history). The Live panel pauses, steps and resumes the program, sets breakpoints that
    stop it, edits states, bends messages and takes snapshots to rewind to.

    TARGET is PORT, HOST:PORT, unix:PATH or a connection file; without it, your newest local
    session. The token of your own local sessions is found by itself (their connection files
    are in your runtime directory, readable by you only).

    \b
    Without a window:
      cinema attach 43567 --headless --events --kind crash        print crashes as they happen
      cinema attach --headless --events --json --count 100         100 JSON rows, then stop
      cinema attach --list                                         your local live sessions
    """
    from recorder.live import LiveError
    from recorder.live import list_sessions as local_sessions

    if list_sessions:
        found = local_sessions()
        if not found:
            click.echo("no live sessions of yours are running on this machine")
        for info in found:
            started = time.strftime("%H:%M:%S", time.localtime(info.started_ns / 1e9))
            click.echo(f"{info.address:<28} pid {info.pid:<8} since {started}  {info.program}")
        return
    if not headless:
        if print_events or as_json or kinds or where:
            raise UserError("--events, --kind, --where and --json are for --headless")
        _open_window(target, token_file, history)
        return
    try:
        _print_events(
            target, token_file, kinds, processes, hops, where, sample, history, as_json,
            count, timeout, print_events,
        )  # fmt: skip
    except LiveError as exc:
        raise UserError(str(exc)) from None


def _open_window(target: str | None, token_file: str | None, history: str) -> None:
    from cinema.cli._display import display_problem
    from cinema.model.live import LiveSource
    from recorder.live import LiveError

    problem = display_problem()
    if problem is not None:
        raise UserError(f"{problem}; use --headless --events to watch it in the terminal")
    source = LiveSource(target, token_file=token_file, history=history)
    try:
        welcome = source.connect()
    except LiveError as exc:
        source.discard()
        raise UserError(str(exc)) from None
    click.echo(f"attached to {source.client.where if source.client else target}: "
               f"{welcome.get('program', '')} (pid {welcome.get('pid')})")  # fmt: skip
    from cinema.ui.live_app import run_live_viewer

    sys.exit(run_live_viewer(source))


class _Names:
    """Process names and the first timestamp, from the reader being fed."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader

    @property
    def t_first(self) -> int:
        return int(self.reader.t_first)

    def process_name(self, pid: int) -> str:
        info = self.reader.processes.get(pid)
        return info.name if info is not None else f"<0.{pid}.0>"


def _print_events(
    target: str | None, token_file: str | None, kinds: tuple[str, ...], processes: tuple[str, ...],
    hops: int, where: str | None, sample: float, history: str, as_json: bool, count: int | None,
    timeout: float | None, print_events: bool,
) -> None:  # fmt: skip
    import bisect

    import numpy as np

    from cinema.model import present
    from cinema.model.live import condition_tree
    from cinema.model.moments import pid_number
    from recorder.events import kind_from_name
    from recorder.live import LiveClient, LiveError
    from recorder.live.protocol import int_field
    from recorder.session.reader import SessionReader

    try:
        kind_names = [kind_from_name(k).name.lower() for k in kinds]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    sub: dict[str, Any] = {"history": history, "sample": sample}
    if kind_names:
        sub["kinds"] = kind_names
    if where:
        from cinema.model.expr import ExprError

        try:
            sub["where"] = condition_tree(where)
        except ExprError as exc:
            raise UserError(f"--where: {exc}") from None
    client = LiveClient(target, token_file=token_file, name="cinema attach --headless")
    welcome = client.connect()
    if processes:
        pids = []
        for p in processes:
            number = pid_number(p)
            if number is not None:
                pids.append(number)
                continue
            if len(p) > 256 or any(c.isdigit() for c in p.strip()[:1]):
                raise UserError(f"--process {p[:40]!r}: not a process number or a name")
            try:
                info = client.request("info", pid=p, expect={"info": dict})["info"]
            except LiveError as exc:
                raise UserError(f"--process {p!r}: {exc}") from None
            number = getattr(info.get("pid"), "n", info.get("pid"))
            if not isinstance(number, int) or isinstance(number, bool) or not 0 <= number < 1 << 32:
                raise UserError(f"--process {p!r}: the server's answer names no process")
            pids.append(number)
        sub["pids"], sub["hops"] = pids, hops
    reader = SessionReader(None)
    names = _Names(reader)
    lock = threading.Condition()
    state: dict[str, Any] = {"closed": None, "firsts": [], "sources": [], "offset": 0}

    def on_data(data: bytes) -> None:
        with lock:
            reader.feed(data)
            lock.notify_all()

    def on_notice(msg: dict[str, Any]) -> None:
        with lock:
            if msg.get("op") == "seqs":
                first, source = msg.get("first"), msg.get("source")
                if not isinstance(first, int) or not isinstance(source, bytes) or len(source) % 8:
                    client.fail("the server sent a malformed 'seqs' notice")
                    return
                state["firsts"].append(first)
                state["sources"].append(np.frombuffer(source, "<i8"))
            elif msg.get("op") == "gap":
                state["offset"] = int_field(msg, "seq_offset", state["offset"])
                click.echo(f"# missed {msg.get('missed')} events (too slow to read)", err=True)
            elif msg.get("op") == "paused" and not as_json:
                click.echo(f"# paused at #{msg.get('seq')}: {msg.get('reason')}", err=True)

    def on_close(reason: str) -> None:
        with lock:
            state["closed"] = reason
            lock.notify_all()

    client.on_data, client.on_notice, client.on_close = on_data, on_notice, on_close
    reply = client.subscribe(**sub)
    state["offset"] = int_field(reply, "seq_offset", 0)
    if not as_json:
        click.echo(f"# attached to {client.where}: {welcome.get('program', '')} "
                   f"({welcome.get('events', 0):,} events so far)", err=True)  # fmt: skip
    wanted = set(kind_names)
    shown = 0
    done = 0
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            with lock:
                while reader.event_count == done and state["closed"] is None:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return
                    lock.wait(0.2 if left is None else min(left, 0.2))
                events = list(reader.events(done, reader.event_count))
                done = reader.event_count
                firsts, sources = list(state["firsts"]), list(state["sources"])
                offset = state["offset"]
                closed = state["closed"]
            for ev in events:
                if wanted and ev.kind_name not in wanted:
                    continue  # a SPAWN that names a process of the filtered events
                seq = ev.seq + offset
                if firsts:
                    i = bisect.bisect_right(firsts, ev.seq) - 1
                    if i >= 0 and ev.seq - firsts[i] < len(sources[i]):
                        seq = int(sources[i][ev.seq - firsts[i]])
                ev = ev._replace(seq=seq)
                if not print_events:
                    continue  # without --events: only the notices (paused, gaps) and the end
                if as_json:
                    click.echo(json.dumps(present.event_row(names, ev), allow_nan=False))
                else:
                    click.echo(present.event_line(names, ev))
                shown += 1
                if count is not None and shown >= count:
                    return
            if closed is not None and not events:
                if not as_json:
                    click.echo(f"# {closed}", err=True)
                return
    except KeyboardInterrupt:
        return
    finally:
        client.close()
