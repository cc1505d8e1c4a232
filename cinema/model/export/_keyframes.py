"""Keyframes of a bundle: the world at the cut's start built from the model, and the original's
keyframes copied, each redacted (states, queued messages, exit reasons, names).

Both produce the raw msgpack body of a KEYFRAME frame, ``{"seq": S, "world": {...}}``, with the
process lists as the column tables of ``recorder/session/keyframes.py`` (``state``, ``mailbox``
and ``reason`` as separately encoded payloads) and the schema of ``docs/world-schema.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import msgpack
import numpy as np

from cinema.model._overlay import Lazy
from cinema.model._proc import KfLazy, Proc
from cinema.model.export._repack import pack, repack
from cinema.model.export.redact import Redactor
from cinema.model.world import World
from recorder.session.keyframes import ProcessRow

__all__ = ["copied_keyframe", "world_keyframe"]

_KEYS = ("pid", "name", "behaviour", "status", "parent", "supervisor", "registered", "trap_exit",
         "state", "mailbox", "mailbox_len", "links", "monitors", "restarts", "handled", "cpu_ns",
         "memory", "reason", "mailbox_ids")  # fmt: skip
_LAZY = ["state", "mailbox", "reason"]
_ROOTS = {"state": [("state",)], "reason": [("reason",)]}


def _packb(v: Any) -> bytes:
    return msgpack.packb(v, use_bin_type=True)  # type: ignore[no-any-return]


def _texts(v: Any, redactor: Redactor, where: str) -> Any:
    """Every string in a plain structure (names, registry, supervisor slots) through the regex
    rules."""
    if isinstance(v, str):
        return redactor.text(v, where)
    if isinstance(v, list):
        return [_texts(x, redactor, where) for x in v]
    if isinstance(v, dict):
        return {_texts(k, redactor, where): _texts(x, redactor, where) for k, x in v.items()}
    return v


def _mailbox(raw: bytes, redactor: Redactor) -> bytes:
    """A keyframe's encoded mailbox (``[[msg_id, sender, message], ...]``), each message
    redacted as a message."""
    if not raw or not redactor.active or not redactor.may_touch(raw):
        return raw
    try:
        rows = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except Exception:
        return redactor.payload(raw, [("data",)], "keyframe mailbox")  # replaced whole
    if not isinstance(rows, list):
        return redactor.payload(raw, [("data",)], "keyframe mailbox")
    changed = False
    for row in rows:
        if isinstance(row, list) and len(row) >= 3:
            before = _packb(row[2])
            after = redactor.payload(before, [("message",)], "keyframe mailbox")
            if after is not before:
                row[2] = msgpack.unpackb(after, raw=False, strict_map_key=False)
                changed = True
    return _packb(rows) if changed else raw


def _lazy(key: str, raw: Any, redactor: Redactor) -> Any:
    if not isinstance(raw, bytes) or not redactor.active or not redactor.may_touch(raw):
        return raw
    if key == "mailbox":
        return _mailbox(raw, redactor)
    return redactor.payload(raw, _ROOTS.get(key, [("data",)]), f"keyframe {key}")


def world_keyframe(
    world: World, seq: int, redactor: Redactor, processes: Collection[int] | None = None,
    raw_payload: Callable[[int], bytes] | None = None,
) -> bytes:  # fmt: skip
    """The keyframe body at ``seq`` of the bundle holding ``world`` (restricted to
    ``processes``), redacted. Mailboxes are listed whole (the SENDs before the cut are not in
    the bundle to complete them).

    With ``raw_payload`` (seq -> the encoded payload of that event), states and exit reasons
    still held as references are copied as the bytes they were recorded as, never decoded
    and re-encoded (the same values; a cut of a 10M-event session has ~6,000 states to copy),
    and the redaction prefilter looks at all of them in one pass.
    """
    keep = None if processes is None else set(processes)
    rows: list[tuple[bool, list[Any]]] = []
    for pid in world.pids():
        if keep is not None and pid not in keep:
            continue
        p = world.unresolved(pid)
        assert p is not None
        if raw_payload is None or p.mailbox or p.extra:
            rows.append(_view_row(world, pid))
        else:
            rows.append(_raw_row(world, p, raw_payload))
    _redact_rows(rows, redactor)
    alive = [values for ok, values in rows if ok]
    dead = [values for ok, values in rows if not ok]
    sups = []
    for pid, s in world.supervisors.items():
        if keep is not None and pid not in keep:
            continue
        sups.append(_texts({
            "pid": pid, "strategy": s.strategy, "max_restarts": s.max_restarts,
            "max_seconds": s.max_seconds, "children": [dict(c) for c in s.children],
        }, redactor, "supervisor"))  # fmt: skip
    registry = {
        redactor.text(str(k), "registered name"): v
        for k, v in world.registry.items()
        if keep is None or v in keep
    }
    body = {
        "seq": seq,
        "world": {
            "time_ns": world.time_ns,
            "processes": _table(alive),
            "dead": _table(dead),
            "supervisors": sups,
            "registry": registry,
        },
    }
    return _packb(body)


def _view_row(world: World, pid: int) -> tuple[bool, list[Any]]:
    """A process's keyframe row from its view (values decoded, then encoded again)."""
    p = world.processes[pid]
    mailbox = [[m.msg_id, m.sender, repack(m.message)] for m in p.mailbox]
    row = {
        "pid": pid, "name": p.name, "behaviour": p.behaviour, "status": p.status,
        "parent": p.parent, "supervisor": p.supervisor, "registered": p.registered,
        "trap_exit": p.trap_exit, "state": pack(p.state),
        "mailbox": _packb(mailbox) if mailbox else b"", "mailbox_len": len(mailbox),
        "links": list(p.links), "monitors": [[r, t] for r, t in p.monitors],
        "restarts": p.restarts, "handled": p.handled, "cpu_ns": p.cpu_ns,
        "memory": p.memory, "reason": pack(p.exit_reason),
        "mailbox_ids": [[m.msg_id, m.sender] for m in p.mailbox],
    }  # fmt: skip
    return p.alive, [row[k] for k in _KEYS]


def _raw_row(world: World, p: Proc, raw_payload: Callable[[int], bytes]) -> tuple[bool, list[Any]]:
    """A process with an empty mailbox as a keyframe row, its state and exit reason as the
    encoded bytes they were recorded as (what :meth:`World.process` would decode)."""
    cpu_ns, memory = p.cpu_ns, p.memory
    if p.sample is not None:  # the latest PROFILE's figures (0 for one it lacks), as the view
        d = world.resolve(p.sample)
        cpu_ns, memory = (
            (_count(d.get("cpu_ns")), _count(d.get("memory"))) if isinstance(d, dict) else (0, 0)
        )
    alive = p.alive
    row = {
        "pid": p.pid, "name": p.name or world.process_name(p.pid), "behaviour": p.behaviour,
        "status": p.status, "parent": p.parent, "supervisor": p.supervisor,
        "registered": p.registered, "trap_exit": p.trap_exit,
        "state": _encoded(world, p.state, raw_payload), "mailbox": b"", "mailbox_len": 0,
        "links": sorted(p.links), "monitors": [[r, t] for r, t in sorted(p.monitors.items())],
        "restarts": p.restarts, "handled": p.handled, "cpu_ns": cpu_ns, "memory": memory,
        "reason": b"" if alive else _encoded(world, p.reason, raw_payload), "mailbox_ids": [],
    }  # fmt: skip
    return alive, [row[k] for k in _KEYS]


def _count(v: Any) -> int:
    return v if type(v) is int and 0 <= v < 1 << 63 else 0  # as World's view reads a sample


def _encoded(world: World, v: Any, raw_payload: Callable[[int], bytes]) -> bytes:
    """The encoded payload of a process value that may still be a reference."""
    t = type(v)
    if t is Lazy:
        raw = raw_payload(v.seq)
        if v.key is None:
            return raw
        got = _map_value(raw, v.key)
        if got is not None:
            return got
    elif t is KfLazy and v.item < 0 and isinstance(v.row, ProcessRow):
        got = v.row.encoded(v.key)
        if got is not None:
            return got
    return pack(world.resolve(v))


def _map_value(raw: bytes, key: str) -> bytes | None:
    """The bytes of ``key``'s value in an encoded map (``None``: not a plain map holding it;
    ``b""`` would mean None, so a missing key says ``None`` too and the caller decodes)."""
    if not raw:
        return None
    up = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(raw) + 16)
    up.feed(raw)
    try:
        n = up.read_map_header()
        for _ in range(n):
            k = up.unpack()
            if k == key and type(k) is str:
                at = up.tell()
                up.skip()
                value = raw[at : up.tell()]
                return b"" if value == b"\xc0" else value  # None is stored as no payload
            up.skip()
    except (ValueError, msgpack.UnpackException, TypeError):
        return None
    return None


def _redact_rows(rows: list[tuple[bool, list[Any]]], redactor: Redactor) -> None:
    """The rules over every row: names, then the encoded states, mailboxes and exit reasons
    (the prefilter over all of them at once: only candidates are decoded)."""
    lazy_cols = [(_KEYS.index(k), k) for k in _LAZY]
    named = [_KEYS.index("name"), _KEYS.index("registered")]
    raws: list[bytes] = []
    places: list[tuple[int, int, str]] = []
    for r, (_, values) in enumerate(rows):
        for c in named:
            values[c] = _texts(values[c], redactor, "process name")
        for c, key in lazy_cols:
            v = values[c]
            if isinstance(v, bytes) and v:
                raws.append(v)
                places.append((r, c, key))
    if not redactor.active or not raws:
        return
    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in raws], out=offsets[1:])
    for i in redactor.candidates(b"".join(raws), offsets).tolist():
        r, c, key = places[i]
        rows[r][1][c] = _lazy(key, raws[i], redactor)


def _table(rows: list[list[Any]]) -> dict[str, Any]:
    columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in _KEYS]
    return {"__table__": 1, "keys": list(_KEYS), "columns": columns, "lazy": list(_LAZY)}


def copied_keyframe(raw: bytes, seq: int, redactor: Redactor) -> bytes:
    """An original keyframe body with its ``seq`` set to the bundle's and the rules applied
    (its bytes stay as they were when no rule could touch them)."""
    if redactor.active and redactor.may_touch(raw):
        return _packb(_redacted_body(raw, seq, redactor))
    # {"seq": S, "world": ...}: rewrite the seq, keep the world's bytes
    up = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=len(raw) + 16)
    up.feed(raw)
    try:
        if up.read_map_header() == 2 and up.unpack() == "seq":
            up.unpack()
            at = up.tell()
            return b"\x82" + _packb("seq") + _packb(seq) + raw[at:]
    except (ValueError, msgpack.UnpackException):
        pass  # not the usual layout: rewritten whole below
    m = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    m["seq"] = seq
    return _packb(m)


def _redacted_body(raw: bytes, seq: int, redactor: Redactor) -> Any:
    m = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    m["seq"] = seq
    world = m.get("world")
    if not isinstance(world, dict):
        return m
    for name in ("processes", "dead"):
        table = world.get(name)
        if isinstance(table, dict) and table.get("__table__") == 1:
            lazy = set(table.get("lazy") or ())
            cols = table.get("columns") or []
            for i, key in enumerate(table.get("keys") or []):
                if i >= len(cols):
                    break
                if key in lazy:
                    cols[i] = [_lazy(key, v, redactor) for v in cols[i]]
                else:
                    cols[i] = _texts(cols[i], redactor, "process name")
        elif isinstance(table, list):  # plain lists of maps (older or hand-made keyframes)
            world[name] = [_plain_entry(e, redactor) for e in table]
    for key in ("supervisors", "registry"):
        if key in world:
            world[key] = _texts(world[key], redactor, key)
    return m


def _plain_entry(e: Any, redactor: Redactor) -> Any:
    if not isinstance(e, dict):
        return e
    out: dict[str, Any] = {}
    for k, v in e.items():
        if k in ("state", "reason"):
            v = msgpack.unpackb(
                redactor.payload(_packb(v), _ROOTS[k], f"keyframe {k}"), raw=False,
                strict_map_key=False,
            )  # fmt: skip
        elif k == "mailbox":
            v = msgpack.unpackb(_mailbox(_packb(v), redactor), raw=False, strict_map_key=False)
        else:
            v = _texts(v, redactor, "process name")
        out[k] = v
    return out
