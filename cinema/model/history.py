"""State history of a process and structural diffs between states.

:func:`state_history` finds the STATE events of one process in the session's index and decodes
only those. :func:`diff` compares two decoded values path by path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

import numpy as np

from cinema.model.errors import ModelError
from cinema.model.session import Session
from recorder.payload import Record

__all__ = ["Change", "StateChange", "diff", "last_change", "state_changes", "state_history"]


class StateChange(NamedTuple):
    """One state change: the STATE event, its time, its trigger (``recorder.Trigger``) and the
    new state."""

    seq: int
    ts: int
    trigger: str | None
    state: Any


class Change(NamedTuple):
    """One difference between two values at ``path`` (a tuple of keys, indexes, field names)."""

    path: tuple[Any, ...]
    op: Literal["added", "removed", "changed"]
    old: Any
    new: Any


def state_seqs(session: Session, pid: int) -> np.ndarray:
    """Sequence numbers of the STATE events of ``pid`` (no payload decoded)."""
    if pid not in session.processes:
        raise ModelError(f"no process {pid} in this session")
    return session.index.states_of(pid)


def state_history(session: Session, pid: int) -> list[StateChange]:
    """Every state change of ``pid``, oldest first."""
    return list(state_changes(session, pid))


def state_changes(session: Session, pid: int) -> Iterator[StateChange]:
    """Like :func:`state_history`, decoding lazily (for long histories)."""
    for seq in state_seqs(session, pid).tolist():
        ev = session.event(seq)
        d = ev.data if isinstance(ev.data, dict) else {}
        trigger = d.get("trigger")
        yield StateChange(seq, ev.ts, trigger if isinstance(trigger, str) else None, d.get("state"))


def last_change(session: Session, pid: int, seq: int) -> tuple[list[Change], int | None]:
    """What ``pid``'s last state change at or before ``seq`` changed, and its event number
    (``([], None)`` when the state never changed by then). Decodes two events: the session's
    index of STATE events by process finds them."""
    index = session.index
    last = index.prev_state(seq + 1, pid)
    if last is None:
        return [], None
    before = index.prev_state(last, pid)

    def state_of(s: int) -> Any:
        d = session.event(s).data
        return d.get("state") if isinstance(d, dict) else None

    old = state_of(before) if before is not None else None
    return diff(old, state_of(last)), last


def diff(old: Any, new: Any, *, max_changes: int = 10_000) -> list[Change]:
    """The structural differences from ``old`` to ``new``.

    Dicts compare by key, lists and tuples by index (a longer one has ``added`` / ``removed``
    items at the end), :class:`~recorder.payload.Record` values of the same type by field;
    anything else (and containers of different types) compare by equality as one ``changed``.

    Args:
        old: the earlier value.
        new: the later value.
        max_changes: stop after this many changes (huge states).
    """
    out: list[Change] = []
    _diff((), old, new, out, max_changes)
    return out


#: Below this many levels, two values are compared as wholes (one ``changed`` at most).
_MAX_DIFF_DEPTH = 64


def _diff(path: tuple[Any, ...], a: Any, b: Any, out: list[Change], cap: int) -> None:
    if len(out) >= cap:
        return
    if len(path) >= _MAX_DIFF_DEPTH:
        if a != b:
            out.append(Change(path, "changed", a, b))
        return
    if type(a) is not type(b):
        out.append(Change(path, "changed", a, b))
        return
    if isinstance(a, dict):
        _diff_maps(path, a, b, out, cap)
    elif isinstance(a, Record):
        if a.type_name != b.type_name:
            out.append(Change(path, "changed", a, b))
        else:
            _diff_maps(path, dict(a.fields), dict(b.fields), out, cap)
    elif isinstance(a, (list, tuple)):
        for i in range(min(len(a), len(b))):
            _diff((*path, i), a[i], b[i], out, cap)
        for i in range(len(b), len(a)):
            out.append(Change((*path, i), "removed", a[i], None))
        for i in range(len(a), len(b)):
            out.append(Change((*path, i), "added", None, b[i]))
    elif a != b:
        out.append(Change(path, "changed", a, b))


def _diff_maps(path: tuple[Any, ...], a: dict[Any, Any], b: dict[Any, Any], out: list[Change],
               cap: int) -> None:  # fmt: skip
    for k, v in a.items():
        if k not in b:
            out.append(Change((*path, k), "removed", v, None))
        else:
            _diff((*path, k), v, b[k], out, cap)
    for k, v in b.items():
        if k not in a:
            out.append(Change((*path, k), "added", None, v))
