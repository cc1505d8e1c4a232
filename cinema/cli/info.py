"""``cinema info FILE``: what a session file holds, without decoding its payloads."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import click

__all__ = ["command", "cut_lines", "print_info", "summarize"]


def summarize(path: str, *, check: bool = False) -> dict[str, Any]:
    """Facts about a session file, as plain JSON-ready values. With ``check``, every frame's
    checksum is verified too (the whole file is read, nothing is decompressed) and
    ``unreadable`` lists the events of the frames that fail it.

    Raises:
        SessionFormatError: not a readable session (the message names file and byte offset).
    """
    from cinema.model.present import to_json
    from cinema.views.damage import Damage
    from recorder.events import KIND_NAMES
    from recorder.session.format import FrameType
    from recorder.session.reader import SessionReader

    with SessionReader(path) as r:
        frames = r.frame_table()
        counts = r.kind_counts()
        meta = r.meta
        found = meta.get("clock_anchor")
        anchor: dict[str, Any] = found if isinstance(found, dict) else {}
        started = None
        if isinstance(anchor.get("wall_ns"), int) and isinstance(anchor.get("monotonic_ns"), int):
            wall = anchor["wall_ns"] + (r.t_first - anchor["monotonic_ns"] if r.event_count else 0)
            try:  # a crafted anchor can name a year no calendar has
                at = _dt.datetime.fromtimestamp(wall / 1e9, _dt.UTC)
                started = at.isoformat(timespec="seconds")
            except (OverflowError, ValueError, OSError):
                started = None
        n = r.event_count
        damage = Damage()
        for _k, exc in r.bad_event_frames() if check else ():
            damage.note(r, exc)
        unreadable = [
            {"first": p.first, "last": p.last, "reason": p.reason, "offset": p.offset}
            for p in damage.problems
        ]
        return {
            "file": path,
            "format_version": f"{r.version[0]}.{r.version[1]}",
            "events": n,
            "processes": len(r.processes),
            "duration_s": (r.t_last - r.t_first) / 1e9 if n else 0.0,
            "started": started,
            "kinds": {KIND_NAMES.get(k, f"kind{k}"): v for k, v in sorted(counts.items())},
            "frames": int((frames["type"] == FrameType.EVENTS).sum()),
            "keyframes": int((frames["type"] == FrameType.KEYFRAME).sum()),
            "bytes": r.size_bytes,
            "bytes_per_event": r.size_bytes / n if n else None,
            "compression": meta.get("compression", "unknown"),
            "recovered": r.recovered,
            "recovery_note": r.recovery_note,
            "lost_events": r.lost,
            "program": to_json(meta.get("program")),
            "scenario": to_json(meta.get("scenario")),
            "seed": to_json(meta.get("seed")),
            "export": _export_facts(meta),
            "checked": check,
            "unreadable": unreadable,
        }


def _export_facts(meta: Any) -> dict[str, Any] | None:
    """What a bundle says of its cut (``cinema export``): where from, range, processes, note."""
    from cinema.model.present import to_json

    cut = meta.get("export")
    if not isinstance(cut, dict):
        return None
    doc = to_json(cut)
    return doc if isinstance(doc, dict) else None


def cut_lines(cut: dict[str, Any]) -> list[str]:
    """The lines ``cinema info`` (and the window's session info) print for a bundle's cut."""
    rng = cut.get("range") or [None, None]
    t_rng = cut.get("t_range") or [0.0, 0.0]
    lines = [
        f"cut from    {cut.get('cut_from')}: events #{rng[0]}..#{rng[1]} "
        f"(+{t_rng[0]:.6f}s to +{t_rng[1]:.6f}s) of {cut.get('original_events', 0):,}"
    ]
    procs = cut.get("processes")
    who = "all" if not procs else ", ".join(f"{p['name']} <0.{p['pid']}.0>" for p in procs)
    lines.append(f"processes   {who}")
    if cut.get("note"):
        lines.append(f"note        {cut['note']}")
    if cut.get("exported_at"):
        lines.append(f"exported    {cut['exported_at']}")
    return lines


def print_info(path: str, as_json: bool = False, *, check: bool = False) -> bool:
    """Print the summary of a session (the ``cinema info`` output); False when ``check``
    found unreadable frames (said on stderr, in the window's words)."""
    s = summarize(path, check=check)
    if as_json:
        click.echo(json.dumps(s, indent=2, allow_nan=False))
        _warn_unreadable(s["unreadable"])
        return not s["unreadable"]
    lines = [
        f"session     {s['file']}  (format {s['format_version']}, {s['compression']})",
        f"events      {s['events']:,}",
        f"processes   {s['processes']:,}",
        f"duration    {s['duration_s']:.3f} s"
        + (f"  (started {s['started']})" if s["started"] else ""),
        f"frames      {s['frames']:,} event frames, {s['keyframes']:,} keyframes",
        f"size        {s['bytes']:,} bytes"
        + (f"  ({s['bytes_per_event']:.1f} bytes/event)" if s["bytes_per_event"] else ""),
    ]
    if s["program"] or s["scenario"]:
        what = s["scenario"] or s["program"]
        seed = f", seed {s['seed']}" if s["seed"] is not None else ""
        lines.append(f"recorded    {what}{seed}")
    if s["export"]:
        lines.extend(cut_lines(s["export"]))
    lines.append(f"lost        {s['lost_events']:,} events dropped by the recorder")
    if s["recovered"]:
        lines.append(f"recovered   yes: {s['recovery_note']}")
    if s["checked"]:
        lines.append(_checked_line(s["unreadable"], s["frames"]))
    lines.append("kinds")
    width = max((len(k) for k in s["kinds"]), default=0)
    for name, count in sorted(s["kinds"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:<{width}}  {count:>12,}")
    click.echo("\n".join(lines))
    _warn_unreadable(s["unreadable"])
    return not s["unreadable"]


def _warn_unreadable(unreadable: list[dict[str, Any]]) -> None:
    """Say each unreadable stretch on stderr, in the window's words (with --json too)."""
    for u in unreadable:
        from cinema.views.damage import Problem

        text = Problem(u["first"], u["last"], u["reason"], u["offset"]).text()
        click.echo(f"cinema: warning: {text}", err=True)


def _checked_line(unreadable: list[dict[str, Any]], frames: int) -> str:
    if not unreadable:
        return f"checked     every frame's checksum: all {frames:,} event frames read"
    spans = [u["last"] - u["first"] + 1 for u in unreadable if u["first"] >= 0]
    events = f"{sum(spans):,} events" if len(spans) == len(unreadable) else "some events"
    return (
        f"damaged     {len(unreadable):,} of {frames:,} event frames fail their checksum: "
        f"{events} cannot be read (the other frames read; the counts below are the "
        "recorder's, the unreadable events included)"
    )


@click.command("info")
@click.argument("session", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option(
    "--check",
    is_flag=True,
    help="Also verify every frame's checksum (reads the whole file, ~0.3 s per 200 MB) and "
    "say which events a damaged file cannot show; exit status 1 if any.",
)
def command(session: str, as_json: bool, check: bool) -> None:
    """Summarise a session file: events, processes, duration, counts per kind, frames,
    keyframes, bytes per event, whether it was recovered, and events the recorder lost.

    Opening reads only the header and the index, so it is fast on any size of file. A file
    whose recording was killed opens with every complete frame; the summary says so. A file
    damaged in the middle keeps its index: --check reads every frame's bytes to find which
    events it cannot show (the rest of the summary stays as the footer says).
    """
    from cinema.cli._damage import DAMAGED_EXIT

    if not print_info(session, as_json, check=check):
        raise SystemExit(DAMAGED_EXIT)
