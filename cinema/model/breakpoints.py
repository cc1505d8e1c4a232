"""Breakpoints: structured conditions and custom expressions, with actions and hit counts.

Every condition kind of the seed's Breakpoint System compiles to one expression of the
language in :mod:`cinema.model.expr`, so there is one engine (vectorised over the session's
columns, see :mod:`cinema.model.condition`):

================================  ==================================================================
condition                         expression it compiles to (example)
================================  ==================================================================
``MessageCondition``              ``kind == "receive" and msg_type == "withdraw"``
``StateCondition``                ``kind == "state" and state.balance > 100`` / ``changed(...)``
``ProcessEventCondition``         ``kind in ["crash", "restart"]``
``MessageResultCondition``        ``kind in ["timeout", "drop"]``
``ExpressionCondition``           the text as written
================================  ==================================================================

A :class:`BreakpointSet` holds the breakpoints of a session, answers "every hit", "next hit
after event N" and "previous hit before N", and serialises to JSON (see
:mod:`cinema.model.sidecar` for the file beside the session).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

import numpy as np

from cinema.model.bp_conditions import (
    BreakpointCondition,
    ExpressionCondition,
    MessageCondition,
    MessageResultCondition,
    ProcessEventCondition,
    StateCondition,
    condition_from_json,
    condition_to_json,
)
from cinema.model.condition import Condition
from cinema.model.errors import ModelError
from cinema.model.event_scope import EventTable, reader_of
from cinema.model.expr import ExprError
from recorder.session.reader import SessionReader

__all__ = [
    "ACTIONS",
    "Action",
    "Breakpoint",
    "BreakpointCondition",
    "BreakpointSet",
    "ExpressionCondition",
    "Hit",
    "MessageCondition",
    "MessageResultCondition",
    "ProcessEventCondition",
    "StateCondition",
    "condition_from_json",
]

Action = Literal["pause", "pause_highlight", "log"]
#: ``pause``: stop and inspect; ``pause_highlight``: stop and highlight the event's processes;
#: ``log``: record the hit and keep running.
ACTIONS: tuple[Action, ...] = ("pause", "pause_highlight", "log")


@dataclass(slots=True)
class Breakpoint:
    """One breakpoint.

    Attributes:
        id: unique within its set (``"bp1"``, ``"bp2"``...).
        condition: what makes it hit.
        action: what a hit does (see :data:`ACTIONS`).
        enabled: disabled breakpoints never hit.
        where: an optional extra expression that must also hold (``"t > 2.5"``).
        label: free text shown in lists.
        hit_count: hits met during playback and runs (not every hit in the file: see
            :meth:`BreakpointSet.hits_of` for that).
    """

    id: str
    condition: BreakpointCondition
    action: Action = "pause"
    enabled: bool = True
    where: str | None = None
    label: str = ""
    hit_count: int = 0
    _compiled: Condition | None = field(default=None, repr=False, compare=False)

    @property
    def expression(self) -> str:
        """The one expression this breakpoint evaluates."""
        base = self.condition.expression()
        if self.where:
            return f"({base}) and ({self.where})"
        return base

    @property
    def compiled(self) -> Condition:
        if self._compiled is None or self._compiled.text != self.expression:
            self._compiled = Condition(self.expression)
        return self._compiled

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "condition": condition_to_json(self.condition),
            "action": self.action,
            "enabled": self.enabled,
            "where": self.where,
            "label": self.label,
            "hit_count": self.hit_count,
        }


class Hit(NamedTuple):
    """Event ``seq`` hit these breakpoints; ``action`` is the strongest of their actions."""

    seq: int
    breakpoints: tuple[str, ...]
    action: Action


def _validate_action(action: str) -> Action:
    if action not in ACTIONS:
        raise ModelError(f"unknown breakpoint action {action!r} (use {', '.join(ACTIONS)})")
    return action


def _validate_where(where: str | None) -> str | None:
    if where is not None and not where.strip():
        return None
    if where is not None:
        Condition(where)
    return where


class BreakpointSet:
    """The breakpoints of a session: edit them, and find their hits.

    Hits are computed once per breakpoint and session (column masks, payloads decoded only for
    candidates) and extended incrementally when a live session grows.
    """

    def __init__(self) -> None:
        self._bps: dict[str, Breakpoint] = {}
        self._next = 1
        self._cache: dict[str, tuple[str, int, np.ndarray]] = {}  # id -> (expr, n, hits)
        self._reader: weakref.ref[SessionReader] | None = None
        self._listeners: list[Callable[[BreakpointSet], None]] = []

    # ------------------------------------------------------------------ editing

    def add(
        self,
        condition: BreakpointCondition | str,
        *,
        action: str = "pause",
        enabled: bool = True,
        where: str | None = None,
        label: str = "",
        id: str | None = None,
    ) -> Breakpoint:
        """Add a breakpoint (a string condition is a custom expression).

        Raises:
            ExprError: an expression does not parse.
            ModelError: a bad action or a duplicate id.
        """
        cond = ExpressionCondition(condition) if isinstance(condition, str) else condition
        if id is None:
            while f"bp{self._next}" in self._bps:
                self._next += 1
            id = f"bp{self._next}"
            self._next += 1
        elif id in self._bps:
            raise ModelError(f"there is already a breakpoint {id!r}")
        bp = Breakpoint(id, cond, _validate_action(action), enabled, _validate_where(where), label)
        bp.compiled  # noqa: B018 - parse now, so a bad expression fails here
        self._bps[id] = bp
        self._changed()
        return bp

    def edit(self, id: str, **changes: Any) -> Breakpoint:
        """Change fields of a breakpoint (``condition``, ``action``, ``enabled``, ``where``,
        ``label``); a string ``condition`` is a custom expression."""
        bp = self.get(id)
        allowed = {"condition", "action", "enabled", "where", "label", "hit_count"}
        unknown = set(changes) - allowed
        if unknown:
            raise ModelError(f"cannot edit {sorted(unknown)[0]!r} of a breakpoint")
        if isinstance(changes.get("condition"), str):
            changes["condition"] = ExpressionCondition(changes["condition"])
        if "action" in changes:
            changes["action"] = _validate_action(changes["action"])
        if "where" in changes:
            changes["where"] = _validate_where(changes["where"])
        new = replace(bp, **changes, _compiled=None)
        new.compiled  # noqa: B018 - validate before replacing
        self._bps[id] = new
        self._cache.pop(id, None)
        self._changed()
        return new

    def remove(self, id: str) -> None:
        self.get(id)
        del self._bps[id]
        self._cache.pop(id, None)
        self._changed()

    def enable(self, id: str, enabled: bool = True) -> None:
        self.get(id).enabled = enabled
        self._changed()

    def disable(self, id: str) -> None:
        self.enable(id, False)

    def clear(self) -> None:
        self._bps.clear()
        self._cache.clear()
        self._changed()

    def get(self, id: str) -> Breakpoint:
        try:
            return self._bps[id]
        except KeyError:
            known = ", ".join(self._bps) or "none"
            raise ModelError(f"no breakpoint {id!r} (breakpoints: {known})") from None

    def __iter__(self) -> Iterator[Breakpoint]:
        return iter(list(self._bps.values()))

    def __len__(self) -> int:
        return len(self._bps)

    def __contains__(self, id: object) -> bool:
        return id in self._bps

    def subscribe(self, callback: Callable[[BreakpointSet], None]) -> Callable[[], None]:
        """Call ``callback(self)`` after every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _changed(self) -> None:
        for cb in list(self._listeners):
            cb(self)

    def reset_hit_counts(self) -> None:
        for bp in self._bps.values():
            bp.hit_count = 0

    # ------------------------------------------------------------------ hits

    def hits_of(self, session: Any, id: str) -> np.ndarray:
        """Every event where breakpoint ``id`` hits (enabled or not), ascending."""
        bp = self.get(id)
        reader = reader_of(session)
        if self._reader is None or self._reader() is not reader:
            self._cache.clear()  # another session: hits computed for the old one are stale
            self._reader = weakref.ref(reader)
        n = EventTable.of(reader).n
        cond = bp.compiled
        cached = self._cache.get(id)
        if cached is not None and cached[0] == cond.text and cached[1] == n:
            return cached[2]
        if cached is not None and cached[0] == cond.text and cached[1] < n:
            hits = np.concatenate([cached[2], cond.hits(reader, cached[1], n)])
        else:
            hits = cond.hits(reader)
        self._cache[id] = (cond.text, n, hits)
        return hits

    def cached_hits(self, session: Any, id: str) -> np.ndarray | None:
        """The hits of breakpoint ``id`` when they are known for the session as it is now,
        without computing anything; None when :meth:`hits_of` would have to compute them."""
        bp = self.get(id)
        reader = reader_of(session)
        if self._reader is None or self._reader() is not reader:
            return None
        cached = self._cache.get(id)
        if (
            cached is not None
            and cached[0] == bp.expression
            and cached[1] == EventTable.of(reader).n
        ):
            return cached[2]
        return None

    def store_hits(
        self, session: Any, id: str, hits: np.ndarray, n: int, expression: str | None = None
    ) -> None:
        """Take the hits of breakpoint ``id`` over events ``0 .. n-1`` computed elsewhere (a
        worker with its own reader of the same file); :meth:`hits_of` answers from them and
        extends them when the session has grown. Ignored when ``expression`` (what they were
        computed for) is no longer the breakpoint's."""
        bp = self.get(id)
        if expression is not None and expression != bp.expression:
            return
        reader = reader_of(session)
        if self._reader is None or self._reader() is not reader:
            self._cache.clear()
            self._reader = weakref.ref(reader)
        self._cache[id] = (bp.expression, int(n), np.asarray(hits, dtype=np.int64))

    def hits_by_breakpoint(
        self, session: Any, *, enabled_only: bool = True
    ) -> dict[str, np.ndarray]:
        return {
            bp.id: self.hits_of(session, bp.id)
            for bp in self._bps.values()
            if bp.enabled or not enabled_only
        }

    def hits(self, session: Any, *, actions: tuple[str, ...] = ACTIONS) -> np.ndarray:
        """Every event where an enabled breakpoint (with one of ``actions``) hits."""
        parts = [
            self.hits_of(session, bp.id)
            for bp in self._bps.values()
            if bp.enabled and bp.action in actions
        ]
        if not parts:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(parts))

    def hit_at(self, session: Any, seq: int) -> Hit | None:
        """Which enabled breakpoints hit at event ``seq`` (None if none)."""
        ids: list[str] = []
        for bp in self._bps.values():
            if not bp.enabled:
                continue
            h = self.hits_of(session, bp.id)
            i = int(np.searchsorted(h, seq))
            if i < len(h) and int(h[i]) == seq:
                ids.append(bp.id)
        if not ids:
            return None
        order = {a: i for i, a in enumerate(ACTIONS)}
        action = min((self._bps[i].action for i in ids), key=order.__getitem__)
        return Hit(seq, tuple(ids), action)

    def next_hit(
        self, session: Any, from_seq: int, *, actions: tuple[str, ...] = ACTIONS
    ) -> Hit | None:
        """The first hit strictly after ``from_seq`` (None when there is none)."""
        h = self.hits(session, actions=actions)
        i = int(np.searchsorted(h, from_seq, side="right"))
        return self.hit_at(session, int(h[i])) if i < len(h) else None

    def prev_hit(
        self, session: Any, from_seq: int, *, actions: tuple[str, ...] = ACTIONS
    ) -> Hit | None:
        """The last hit strictly before ``from_seq`` (None when there is none)."""
        h = self.hits(session, actions=actions)
        i = int(np.searchsorted(h, from_seq, side="left")) - 1
        return self.hit_at(session, int(h[i])) if i >= 0 else None

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> list[dict[str, Any]]:
        return [bp.to_json() for bp in self._bps.values()]

    @classmethod
    def from_json(cls, items: Any) -> BreakpointSet:
        """Rebuild a set from :meth:`to_json` output.

        Raises:
            ModelError: a malformed entry (the message names which, and why).
        """
        if not isinstance(items, list):
            raise ModelError("breakpoints must be a JSON list")
        out = cls()
        for i, item in enumerate(items, 1):
            try:
                if not isinstance(item, dict):
                    raise ModelError("not a JSON object")
                bp = out.add(
                    condition_from_json(item.get("condition")),
                    action=str(item.get("action", "pause")),
                    enabled=bool(item.get("enabled", True)),
                    where=_opt_str(item.get("where")),
                    label=str(item.get("label") or ""),
                    id=_opt_str(item.get("id")),
                )
                count = item.get("hit_count", 0)
                bp.hit_count = count if isinstance(count, int) and count >= 0 else 0
            except ExprError as exc:
                raise ModelError(f"breakpoint {i}: bad expression: {exc.message}") from None
            except ModelError as exc:
                raise ModelError(f"breakpoint {i}: {exc}") from None
        return out


def _opt_str(v: Any) -> str | None:
    return None if v is None else str(v)
