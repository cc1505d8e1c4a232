"""One presentation of events, processes and values, for every command and panel.

Text: :func:`brief` (one line cut to a table cell) and :func:`full` (the whole text, which
``cinema events --match``, the event list's search and the expression language's ``~`` search)
are the one rendering of :mod:`recorder.payload.render`. Pids print as ``<0.N.0>``, a process as
``name <0.N.0>``, "no process" as ``-`` in text and ``null`` in JSON.

JSON: :func:`to_json` gives the typed JSON form of a decoded value, and :func:`event_row` /
:func:`process_row` the rows every ``--json`` output (and exports) use. The schema is
``docs/json-schema.md``; the machine-readable JSON Schema files are in ``docs/schema/``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from recorder.events import KIND_NAMES, NO_PID, NO_REF, Event
from recorder.payload import EnumValue, Opaque, Pid, Record, Ref, Truncated
from recorder.payload.render import render_value, sorted_members

if TYPE_CHECKING:
    from cinema.model.analysis.findings import Finding
    from cinema.model.world import ProcessView

__all__ = [
    "BRIEF_LEN",
    "JSON_MAX_DEPTH",
    "NO_PROCESS",
    "Names",
    "brief",
    "data_text",
    "event_line",
    "event_row",
    "finding_row",
    "from_json",
    "full",
    "peer_arrow",
    "pid_or_none",
    "pid_text",
    "process_label",
    "process_lines",
    "process_row",
    "registry_json",
    "seconds_text",
    "to_json",
]

#: The length of a brief text: one table cell, one line of a listing.
BRIEF_LEN = 160
#: "No process" in text (JSON says ``null``).
NO_PROCESS = "-"
#: Values nested deeper than this become a ``{"$truncated": "depth"}`` marker in JSON.
JSON_MAX_DEPTH = 100


class Names(Protocol):
    """What rows need of a session: process names and the first timestamp."""

    @property
    def t_first(self) -> int: ...

    def process_name(self, pid: int) -> str: ...


# --------------------------------------------------------------------------- text


def brief(value: Any, max_len: int = BRIEF_LEN) -> str:
    """A value as one line of at most ``max_len`` characters (longer text ends in ``…``)."""
    return render_value(value, max_len)


def full(value: Any) -> str:
    """The whole text of a value, on one line: what searches match against."""
    return render_value(value, 0)


def data_text(data: Any, max_len: int = 0) -> str:
    """The text of an event's data: ``""`` when it has none, else :func:`brief` (``max_len``
    > 0) or :func:`full`. The event list shows it; ``--match`` searches it."""
    if data is None:
        return ""
    return render_value(data, max_len)


def pid_or_none(pid: int | None) -> int | None:
    """A pid as JSON has it: the number, or ``None`` for "no process" (``NO_PID``, negative)."""
    if pid is None or pid < 0 or pid == NO_PID:
        return None
    return int(pid)


def pid_text(pid: int | None) -> str:
    """``<0.N.0>``, or ``-`` for no process."""
    p = pid_or_none(pid)
    return NO_PROCESS if p is None else f"<0.{p}.0>"


def process_label(names: Names, pid: int | None) -> str:
    """``name <0.N.0>`` (just ``<0.N.0>`` for a process never named), or ``-``."""
    p = pid_or_none(pid)
    if p is None:
        return NO_PROCESS
    name, text = names.process_name(p), f"<0.{p}.0>"
    return text if name == text else f"{name} {text}"


def seconds_text(names: Names, ts: int) -> str:
    """A timestamp as seconds since the session's first event: ``+1.250000s``."""
    return f"+{(ts - names.t_first) / 1e9:.6f}s"


def peer_arrow(kind: int) -> str:
    """``<-`` when the peer acted on the process (the sender of a receive, the trigger of a
    state change, the parent of a spawn, the origin of an exit signal), else ``->``."""
    return "<-" if KIND_NAMES.get(kind) in _PEER_ACTS else "->"


_PEER_ACTS = frozenset({"receive", "state", "spawn", "exit_signal"})


def event_line(names: Names, ev: Event, max_len: int = BRIEF_LEN) -> str:
    """One event as a line of text: number, time, kind, process (-> or <- peer), data."""
    who = process_label(names, ev.pid)
    if pid_or_none(ev.peer) is not None:
        who += f" {peer_arrow(ev.kind)} {process_label(names, ev.peer)}"
    line = f"#{ev.seq:<8} {seconds_text(names, ev.ts)}  {ev.kind_name:<11} {who}"
    data = data_text(ev.data, max_len)
    return f"{line}  {data}" if data else line


def process_lines(names: Names, p: ProcessView, *, mailbox_limit: int = 10) -> list[str]:
    """A process as a few lines of text (what ``cinema state`` prints)."""
    head = f"{process_label(names, p.pid)} ({p.behaviour}) {p.status}"
    if p.supervisor is not None:
        head += f" supervisor={process_label(names, p.supervisor)}"
    if p.registered:
        head += f" registered={brief(p.registered)}"
    lines = [f"{head} restarts={p.restarts} handled={p.handled}"]
    if not p.alive:
        lines.append(f"    exit reason: {brief(p.exit_reason, 300)}")
    if p.state is not None:
        lines.append(f"    state: {brief(p.state, 300)}")
    if p.mailbox_len:
        lines.append(f"    mailbox: {p.mailbox_len} message(s)")
        for m in p.mailbox[:mailbox_limit]:
            sender = process_label(names, m.sender)
            lines.append(f"      #{m.msg_id} from {sender}: {brief(m.message, 200)}")
        if p.mailbox_len > mailbox_limit:
            lines.append(f"      … {p.mailbox_len - min(mailbox_limit, len(p.mailbox))} more")
    if p.links:
        lines.append(f"    links: {', '.join(process_label(names, x) for x in p.links)}")
    if p.monitors:
        mons = ", ".join(f"{process_label(names, t)} (#Ref<{r}>)" for r, t in p.monitors)
        lines.append(f"    monitors: {mons}")
    return lines


# --------------------------------------------------------------------------- JSON


def to_json(value: Any) -> Any:
    """The typed JSON form of a decoded value (``docs/json-schema.md``, "Values").

    ``None``, booleans, strings, finite numbers and lists stay as they are; a map whose keys
    are all strings not starting with ``$`` is a JSON object. Everything else is an object
    whose first key starts with ``$`` and names its type: ``{"$tuple": [...]}``,
    ``{"$set": [...]}``, ``{"$frozenset": [...]}``, ``{"$map": [[k, v], ...]}``,
    ``{"$bytes": base64}``, ``{"$pid": n}`` (``null``: no process), ``{"$ref": n}``,
    ``{"$float": "nan"}``,
    ``{"$type": name, ...fields}`` (a record), ``{"$enum": type, "name": ..., "value": ...}``,
    ``{"$opaque": type, "repr": text}``, ``{"$truncated": what, "size": n, "preview": ...}``.
    """
    return _json(value, 0)


def _json(v: Any, depth: int) -> Any:
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else {"$float": repr(v)}  # nan, inf, -inf
    if depth >= JSON_MAX_DEPTH:
        return {"$truncated": "depth", "size": 0, "preview": None}
    d = depth + 1
    if isinstance(v, list):
        return [_json(x, d) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [_json(x, d) for x in v]}
    if isinstance(v, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in v):
            return {k: _json(x, d) for k, x in v.items()}
        return {"$map": [[_json(k, d), _json(x, d)] for k, x in v.items()]}
    if isinstance(v, (set, frozenset)):
        tag = "$set" if isinstance(v, set) else "$frozenset"
        return {tag: [_json(x, d) for x in sorted_members(v)]}
    if isinstance(v, Pid):
        return {"$pid": pid_or_none(v.n)}
    if isinstance(v, Ref):
        return {"$ref": v.n}
    if isinstance(v, Record):
        names = [k for k, _ in v.fields]
        if all(isinstance(k, str) and not k.startswith("$") for k in names) and len(
            set(names)
        ) == len(names):
            return {"$type": v.type_name, **{k: _json(x, d) for k, x in v.fields}}
        return {"$type": v.type_name, "$fields": [[_json(k, d), _json(x, d)] for k, x in v.fields]}
    if isinstance(v, EnumValue):
        return {"$enum": v.type_name, "name": v.name, "value": _json(v.value, d)}
    if isinstance(v, Opaque):
        return {"$opaque": v.type_name, "repr": v.text}
    if isinstance(v, Truncated):
        return {"$truncated": v.what, "size": v.size, "preview": _json(v.preview, d)}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(v)).decode("ascii")}
    # Not a decoded payload type (a caller handed in a live object): its text, typed opaque.
    return {"$opaque": type(v).__name__, "repr": render_value(v, 200)}


def from_json(value: Any) -> Any:
    """The decoded value a :func:`to_json` form stands for (its inverse: for every decoded
    payload value ``v``, ``from_json(to_json(v)) == v``, NaN aside). For readers of ``--json``
    output and JSON Lines exports.

    Raises:
        ValueError: an object with an unknown ``$`` type, or a malformed one.
    """
    if not isinstance(value, (list, dict)):
        return value
    if isinstance(value, list):
        return [from_json(x) for x in value]
    tag = next((k for k in value if k.startswith("$")), None)
    if tag is None:
        return {k: from_json(x) for k, x in value.items()}
    try:
        return _FROM_TAG[tag](value)
    except KeyError:
        raise ValueError(f"unknown or malformed typed value {tag!r}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"malformed {tag} value: {exc}") from None


def _record(v: dict[str, Any]) -> Record:
    if "$fields" in v:
        return Record(v["$type"], tuple((from_json(k), from_json(x)) for k, x in v["$fields"]))
    return Record(v["$type"], tuple((k, from_json(x)) for k, x in v.items() if k != "$type"))


_FROM_TAG: dict[str, Any] = {
    "$tuple": lambda v: tuple(from_json(x) for x in v["$tuple"]),
    "$set": lambda v: {from_json(x) for x in v["$set"]},
    "$frozenset": lambda v: frozenset(from_json(x) for x in v["$frozenset"]),
    "$map": lambda v: {from_json(k): from_json(x) for k, x in v["$map"]},
    "$bytes": lambda v: base64.b64decode(v["$bytes"], validate=True),
    "$pid": lambda v: Pid(NO_PID if v["$pid"] is None else int(v["$pid"])),
    "$ref": lambda v: Ref(int(v["$ref"])),
    "$float": lambda v: float(v["$float"]),
    "$type": _record,
    "$enum": lambda v: EnumValue(v["$enum"], v["name"], from_json(v["value"])),
    "$opaque": lambda v: Opaque(v["$opaque"], v["repr"]),
    "$truncated": lambda v: Truncated(v["$truncated"], int(v["size"]), from_json(v["preview"])),
}


def event_row(names: Names, ev: Event) -> dict[str, Any]:
    """An event as the JSON row of every command (``docs/schema/event-row.json``)."""
    pid, peer = pid_or_none(ev.pid), pid_or_none(ev.peer)
    return {
        "seq": ev.seq,
        "ts": ev.ts,
        "t": (ev.ts - names.t_first) / 1e9,
        "kind": ev.kind_name,
        "pid": pid,
        "process": None if pid is None else names.process_name(pid),
        "peer": peer,
        "peer_process": None if peer is None else names.process_name(peer),
        "ref": None if ev.ref == NO_REF else ev.ref,
        "data": to_json(ev.data),
    }


def process_row(p: ProcessView) -> dict[str, Any]:
    """A process at a moment as the JSON row of every command (``docs/schema/process-row.json``)."""
    return {
        "pid": p.pid,
        "name": p.name,
        "behaviour": p.behaviour,
        "status": p.status,
        "parent": pid_or_none(p.parent),
        "supervisor": pid_or_none(p.supervisor),
        "registered": p.registered,
        "trap_exit": p.trap_exit,
        "state": to_json(p.state),
        "mailbox_len": p.mailbox_len,
        "mailbox": [
            {"msg_id": m.msg_id, "sender": pid_or_none(m.sender), "message": to_json(m.message)}
            for m in p.mailbox
        ],
        "links": list(p.links),
        "monitors": [{"ref": r, "pid": t} for r, t in p.monitors],
        "restarts": p.restarts,
        "handled": p.handled,
        "cpu_ns": p.cpu_ns,
        "memory": p.memory,
        "exit_reason": to_json(p.exit_reason),
    }


def finding_row(names: Names, finding: Finding, ts: int | None) -> dict[str, Any]:
    """A finding of ``cinema analyze`` as its JSON row (``docs/schema/finding-row.json``);
    ``ts`` is the timestamp of its first event (``None`` without one)."""
    return {
        "detector": finding.detector,
        "severity": finding.severity.label,
        "title": finding.title,
        "explanation": finding.explanation,
        "pids": [int(p) for p in finding.pids],
        "processes": [names.process_name(int(p)) for p in finding.pids],
        "seq": None if finding.seq < 0 else finding.seq,
        "t": None if ts is None else (ts - names.t_first) / 1e9,
        "events": [int(s) for s in finding.events],
        "figures": to_json(finding.figures),
    }


def registry_json(registry: Mapping[str, int]) -> dict[str, int]:
    """Registered names -> pids, as JSON."""
    return {str(k): int(v) for k, v in registry.items()}
