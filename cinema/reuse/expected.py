"""Recorded behaviour as test expectations: event rows and process states, in JSON.

An event's *row* is what a generated test compares: its kind, process, peer, reference and
data (in the typed JSON of ``docs/json-schema.md``, a CRASH without its traceback text), plus
its number and timestamp, which are shown but never compared. A process's *expectation* at a
moment is its status, its state (when it has one) and its mailbox length.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from cinema.model import present
from cinema.model.session import Session
from cinema.model.world import ProcessView, World
from cinema.reuse.divergence import Divergence, comparable_data
from recorder.events import KIND_NAMES, NO_PID, Event, EventKind, kind_from_name

__all__ = [
    "COMPARED",
    "RowNames",
    "event_from_row",
    "event_row",
    "first_row_divergence",
    "process_expectations",
    "process_key",
    "read_rows",
    "write_rows",
]

#: The fields of a row that are compared.
COMPARED = ("kind", "pid", "peer", "ref", "data")
_SPAWN = int(EventKind.SPAWN)
_MAX_ROW = 1 << 24  # a line of an expectations file longer than this is not ours


def event_row(ev: Event) -> dict[str, Any]:
    """An event as an expectation row."""
    return {
        "seq": ev.seq,
        "ts": ev.ts,
        "kind": KIND_NAMES.get(ev.kind, f"kind{ev.kind}"),
        "pid": present.pid_or_none(ev.pid),
        "peer": present.pid_or_none(ev.peer),
        "ref": ev.ref or None,
        "data": present.to_json(comparable_data(ev.kind, ev.data)),
    }


def event_from_row(row: Mapping[str, Any]) -> Event:
    """The event a row stands for (for showing it the way ``cinema events`` does)."""
    name = str(row.get("kind"))
    try:
        kind = int(kind_from_name(name))
    except ValueError:
        kind = int(name[4:]) if name.startswith("kind") and name[4:].isdigit() else 255
    pid, peer = row.get("pid"), row.get("peer")
    return Event(
        int(row.get("seq") or 0),
        int(row.get("ts") or 0),
        kind,
        NO_PID if pid is None else int(pid),
        NO_PID if peer is None else int(peer),
        int(row.get("ref") or 0),
        present.from_json(row.get("data")),
    )


def write_rows(path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write rows as JSON Lines (one event a line, so that a change reads well in a diff);
    returns how many."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, allow_nan=False, ensure_ascii=False, sort_keys=False))
            f.write("\n")
            n += 1
    return n


def read_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read the rows :func:`write_rows` wrote.

    Raises:
        ValueError: a line is not a JSON object (the message names the file and line).
    """
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if len(line) > _MAX_ROW:
                raise ValueError(f"{path}:{number}: line too long for an expectation row")
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not a JSON row ({exc})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: not a JSON object")
            rows.append(row)
    return rows


class RowNames:
    """Process names and the first timestamp of a list of rows (what presenting them needs)."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.t_first = int(rows[0].get("ts") or 0) if rows else 0
        self._names: dict[int, str] = {}
        for row in rows:
            data = row.get("data")
            spawn = row.get("kind") == "spawn" and isinstance(row.get("pid"), int)
            if spawn and isinstance(data, dict) and isinstance(data.get("name"), str):
                self._names[row["pid"]] = data["name"]

    def process_name(self, pid: int) -> str:
        if pid == NO_PID:
            return "-"
        return self._names.get(pid, f"<0.{pid}.0>")


def first_row_divergence(
    expected: Sequence[Mapping[str, Any]], events: Iterator[Event], count: int
) -> Divergence | None:
    """The first event of a new run (``events``, ``count`` of them) that differs from the
    ``expected`` rows, or ``None`` when all are the same."""
    n = min(len(expected), count)
    for i in range(n):
        ev = next(events)
        row = event_row(ev)
        want = expected[i]
        fields = tuple(f for f in COMPARED if row[f] != want.get(f))
        if fields:
            return Divergence(i, event_from_row(want), ev, fields)
    if len(expected) == count:
        return None
    if len(expected) > count:
        return Divergence(n, event_from_row(expected[n]), None, ("end",))
    return Divergence(n, None, next(events), ("end",))


def process_key(names: present.Names, pid: int) -> str:
    """How an expectation names a process: ``name <0.N.0>``."""
    return present.process_label(names, pid)


def process_expectations(session: Session, world: World) -> dict[str, dict[str, Any]]:
    """Every process of ``world`` (alive or ended) as ``{label: {status, state, mailbox_len}}``."""
    out: dict[str, dict[str, Any]] = {}
    for pid in sorted(world.processes):
        view = world.processes[pid]
        out[process_key(session, pid)] = expectation(view)
    return out


def expectation(view: ProcessView) -> dict[str, Any]:
    """One process's expectation: status, state (when it has one) and mailbox length."""
    item: dict[str, Any] = {"status": view.status}
    if view.state is not None:
        item["state"] = present.to_json(view.state)
    item["mailbox_len"] = view.mailbox_len
    return item
