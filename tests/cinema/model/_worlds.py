"""Worlds as plain data, field by field, with a readable diff (for the path-agreement tests)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from cinema.model import STATUSES, ProcessView, Session, World
from cinema.model._overlay import Lazy
from cinema.model._proc import KfLazy, KfMessage

__all__ = ["assert_same", "diff", "facts", "full", "memoize", "processes"]

_FIELDS = [f.name for f in dataclasses.fields(ProcessView)]


def process_fields(p: ProcessView) -> dict[str, Any]:
    """Every field of a process view (values as decoded; messages as plain tuples)."""
    out = {name: getattr(p, name) for name in _FIELDS}
    out["mailbox"] = [tuple(m) for m in p.mailbox]
    return out


def facts(w: World) -> dict[str, Any]:
    """Everything but the processes' views: the cheap part of a world, for every process."""
    t = w.status_table()
    tree = w.supervision_tree()
    return {
        "seq": w.seq,
        "time_ns": w.time_ns,
        "registry": dict(w.registry),
        "supervisors": {
            pid: (s.strategy, s.max_restarts, s.max_seconds, [dict(c) for c in s.children])
            for pid, s in w.supervisors.items()
        },
        # pid-ordered columns; shown per process when they differ (see _readable)
        "table": tuple(
            col.tolist() for col in (t.pid, t.status, t.mailbox_len, t.restarts, t.supervisor)
        ),
        "tree": (tree.roots, dict(tree.children)),
    }


def _readable(v: Any) -> Any:
    """A status table as ``pid -> (status, mailbox length, restarts, supervisor)``."""
    if isinstance(v, dict) and isinstance(v.get("table"), tuple):
        pid, status, mlen, restarts, sup = v["table"]
        rows = zip(pid, status, mlen, restarts, sup, strict=True)
        table = {p: (STATUSES[s], m, r, u) for p, s, m, r, u in rows}
        return {**v, "table": table}
    return v


def processes(w: World, pids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
    """The views of ``pids`` (all processes when ``None``), field by field."""
    procs = w.processes
    wanted = procs if pids is None else [p for p in pids if p in procs]
    return {pid: process_fields(procs[pid]) for pid in wanted}


def full(w: World) -> dict[str, Any]:
    """The whole world, field by field."""
    return {**facts(w), "processes": processes(w)}


def diff(a: Any, b: Any, path: str = "") -> list[str]:
    """The differences between two nested values, one line per leaf (``a`` left, ``b`` right)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=repr):
            where = f"{path}/{k}"
            if k not in b:
                out.append(f"{where}: only on the left: {a[k]!r:.300}")
            elif k not in a:
                out.append(f"{where}: only on the right: {b[k]!r:.300}")
            else:
                out.extend(diff(a[k], b[k], where))
        return out
    if a != b:
        return [f"{path}: {a!r:.300} != {b!r:.300}"]
    return []


def assert_same(what: str, left: str, a: Any, right: str, b: Any) -> None:
    """Fail with a readable diff (first 25 differences) unless ``a == b``."""
    if a == b:
        return
    lines = diff(_readable(a), _readable(b))
    if lines:
        shown = "\n  ".join(lines[:25])
        more = f"\n  ... and {len(lines) - 25} more" if len(lines) > 25 else ""
        raise AssertionError(f"{what}: {left} (left) != {right} (right)\n  {shown}{more}")


def memoize(session: Session) -> Session:
    """Cache decoded payload values of ``session`` (a pure cache: the same values, decoded
    once), so that comparing thousands of whole worlds stays fast."""
    raw = session._resolve
    cache: dict[Any, Any] = {}

    def resolve(v: Any) -> Any:
        t = type(v)
        if t is Lazy:
            key: Any = v
        elif t is KfMessage:
            key = ("message", v.msg_id, v.before)
        elif t is KfLazy:  # the cache keeps the row alive, so its id stays its own
            key = ("keyframe", id(v.row), v.key, v.item)
        else:
            return v
        got = cache.get(key)
        if got is None:
            got = cache[key] = (v, raw(v))
        return got[1]

    session._resolve = resolve  # type: ignore[method-assign]
    return session
