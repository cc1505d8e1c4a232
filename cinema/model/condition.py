"""Conditions: a parsed expression evaluated over a session, vectorised where it can be.

:meth:`Condition.hits` splits an expression into the parts that only read event *columns*
(``kind``, ``pid``, ``peer``, ``process``, ``peer_process``, ``behaviour``, ``seq``, ``t``,
``ref``) and the parts that need payloads. Column parts become numpy masks over the session's
skeleton: a sub-expression that reads one column (say ``process ~ "acc"``) is evaluated once per
distinct value of that column and mapped back through a lookup table, and ``seq`` / ``t`` /
``ref`` comparisons with a constant are numpy comparisons. Payload names that are ``none``
outside some kinds (``state`` outside state events, ...) narrow the candidates further. Only the
remaining candidate events are decoded and evaluated one by one, with the same closures as
:meth:`Condition.matches`, so both paths agree event for event (a property the tests check).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from cinema.model.event_scope import NAME_KINDS, EventScope, EventTable
from cinema.model.expr import COMPARISONS, Binary, BoolOp, Lit, Name, Node, Unary, free_names, parse
from cinema.model.expr_eval import FAILURES, Fn, Scope, compile_node, guarded, truth
from recorder.events import KIND_NAMES, NO_PEER

__all__ = ["Condition"]

# Names whose value is a function of one column (the column's name is the key).
_PID_NAMES = frozenset({"pid", "process", "behaviour"})
_PEER_NAMES = frozenset({"peer", "peer_process"})
_NUMERIC = frozenset({"seq", "t", "ref"})
_DENSE_LIMIT = 1 << 22  # pids up to this value get a dense lookup table

Mask = np.ndarray  # bool array over a range of events
Plan = tuple[Mask | None, bool]  # (superset of the hits or None for "all", exact?)


class _Fixed(Scope):
    """A scope with given values (absent names are ``none``; ``changed()`` is false)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def get(self, name: str) -> Any:
        return self.values.get(name)


def _bool_of(fn: Fn, scope: Scope) -> bool:
    try:
        return truth(fn(scope))
    except FAILURES:
        return False


class Condition:
    """A breakpoint condition or filter, parsed once and evaluated per event or per session.

    Args:
        text: the expression (see ``docs/expressions.md``).

    Raises:
        ExprError: the text does not parse (position and reason in the message).

    Attributes:
        errors: evaluations that failed (a type error, a missing field...) and so counted as
            false, over all the events evaluated one by one.
        evaluated: events evaluated one by one (the rest were decided by column masks).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.tree = parse(text)
        self.names = free_names(self.tree)
        self._fn = compile_node(self.tree)
        self.errors = 0
        self.evaluated = 0

    def __repr__(self) -> str:
        return f"Condition({self.text!r})"

    @property
    def columnar(self) -> bool:
        """True when the condition reads only event columns (no payload is ever decoded)."""
        return self.names <= {"kind", "pid", "peer", "process", "peer_process", "behaviour",
                              "seq", "t", "ref"}  # fmt: skip

    # ------------------------------------------------------------------ one event

    def matches(self, scope: Scope) -> bool:
        """Evaluate for one event's scope; a failure counts as false (and in :attr:`errors`)."""
        try:
            return truth(self._fn(scope))
        except FAILURES:
            scope.note_error()
            return False

    def matches_event(self, source: Any, seq: int) -> bool:
        """Evaluate for event ``seq`` of a Session or SessionReader."""
        return self._eval(EventTable.of(source).scope(seq))

    def _eval(self, scope: EventScope) -> bool:
        hit = self.matches(scope)
        self.evaluated += 1
        self.errors += scope.errors
        return hit

    # ------------------------------------------------------------------ a whole session

    def hits(self, source: Any, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Sequence numbers (ascending int64) of the events in ``start <= seq < stop`` where the
        condition holds, using column masks and decoding only candidate events."""
        table = EventTable.of(source)
        start, stop = _clamp(table, start, stop)
        if stop <= start:
            return np.empty(0, dtype=np.int64)
        # The top-level "and" chain: conjuncts decided exactly by masks need no per-event test
        # (every candidate satisfies them); the others are evaluated on the candidates.
        mask: Mask | None = None
        residual: list[Node] = []
        for part in _conjuncts(self.tree):
            m, exact = self._plan(part, table, start, stop)
            if m is not None:
                mask = m if mask is None else mask & m
            if not exact or m is None:
                residual.append(part)
        if mask is None:
            candidates = np.arange(start, stop, dtype=np.int64)
        else:
            candidates = np.flatnonzero(mask).astype(np.int64) + start
        if not residual:
            return candidates
        tests = [guarded(compile_node(p)) for p in residual]
        keep: list[int] = []
        for ev in table.events_at(candidates):
            scope = EventScope(table, ev.seq, ev)
            if all(test(scope) for test in tests):
                keep.append(ev.seq)
            self.evaluated += 1
            self.errors += scope.errors
        return np.asarray(keep, dtype=np.int64)

    def iter_hits(
        self, source: Any, start: int = 0, stop: int | None = None, chunk: int = 1 << 20
    ) -> Iterator[int]:
        """Hits in ascending order, computed ``chunk`` events at a time (stops early cheaply)."""
        table = EventTable.of(source)
        start, stop = _clamp(table, start, stop)
        for a in range(start, stop, chunk):
            yield from self.hits(source, a, min(a + chunk, stop)).tolist()

    def hits_slow(self, source: Any, start: int = 0, stop: int | None = None) -> np.ndarray:
        """The same as :meth:`hits`, evaluating every event one by one (reference, tests)."""
        table = EventTable.of(source)
        start, stop = _clamp(table, start, stop)
        keep = [seq for seq in range(start, stop) if self._eval(table.scope(seq))]
        return np.asarray(keep, dtype=np.int64)

    # ------------------------------------------------------------------ vectorisation

    def _plan(self, node: Node, table: EventTable, a: int, b: int) -> Plan:
        """A mask over events ``a .. b-1`` that contains every hit of ``node`` in a boolean
        context, and whether it is exactly the hits."""
        if isinstance(node, BoolOp):
            ma, ea = self._plan(node.left, table, a, b)
            mb, eb = self._plan(node.right, table, a, b)
            if node.op == "and":
                if ma is None:
                    return mb, False
                if mb is None:
                    return ma, False
                return ma & mb, ea and eb
            if ma is None or mb is None:
                return None, False
            return ma | mb, ea and eb
        if isinstance(node, Unary) and node.op == "not":
            m, exact = self._plan(node.operand, table, a, b)
            return (~m, True) if exact and m is not None else (None, False)
        names = free_names(node)
        fn = compile_node(node)
        if not names:
            return np.full(b - a, _bool_of(fn, _Fixed({}))), True
        if names == {"kind"}:
            lut = np.array(
                [_bool_of(fn, _Fixed({"kind": KIND_NAMES.get(k, f"kind{k}")})) for k in range(256)]
            )
            return lut[table.kind[a:b]], True
        if names <= _PID_NAMES:
            return _pid_mask(fn, table, table.pid[a:b], "pid", "process"), True
        if names <= _PEER_NAMES:
            return _pid_mask(fn, table, table.peer[a:b], "peer", "peer_process"), True
        numeric = _numeric_mask(node, table, a, b)
        if numeric is not None:
            return numeric, True
        if names <= NAME_KINDS.keys():
            # Outside these kinds every name read here is none (and changed() false): if the
            # sub-expression is false there, only events of these kinds can hit.
            kinds = sorted(set().union(*(NAME_KINDS[n] for n in names)))
            if not _bool_of(fn, _Fixed({})):
                return np.isin(table.kind[a:b], np.array(kinds, dtype=np.uint8)), False
        return None, False


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, BoolOp) and node.op == "and":
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _clamp(table: EventTable, start: int, stop: int | None) -> tuple[int, int]:
    n = table.n
    stop = n if stop is None else min(stop, n)
    return max(start, 0), stop


def _pid_mask(fn: Fn, table: EventTable, col: np.ndarray, id_name: str, name_name: str) -> Mask:
    """Evaluate ``fn`` once per distinct process id in ``col`` and map the results back."""
    if len(col) == 0:
        return np.zeros(0, dtype=bool)

    def value(pid: int) -> bool:
        if pid == NO_PEER:
            return _bool_of(fn, _Fixed({}))
        return _bool_of(
            fn,
            _Fixed({id_name: pid, name_name: table.process_name(pid),
                    "behaviour": table.behaviour(pid)}),
        )  # fmt: skip

    real = col[col != NO_PEER]
    top = int(real.max()) if len(real) else -1
    if top < _DENSE_LIMIT:
        present: list[int] = []
        if top >= 0:
            present = np.flatnonzero(np.bincount(real, minlength=top + 1)).tolist()
        lut = np.zeros(top + 2, dtype=bool)
        for pid in present:
            lut[pid] = value(pid)
        lut[top + 1] = value(NO_PEER)
        mask: Mask = lut[np.minimum(col, top + 1)]
        return mask
    distinct = np.unique(col)
    results = np.array([value(int(p)) for p in distinct], dtype=bool)
    mask = results[np.searchsorted(distinct, col)]
    return mask


def _numeric_mask(node: Node, table: EventTable, a: int, b: int) -> Mask | None:
    """``seq`` / ``t`` / ``ref`` compared with a constant number, as a numpy comparison."""
    if not isinstance(node, Binary) or node.op not in COMPARISONS[:6]:
        return None
    op, left, right = node.op, node.left, node.right
    if isinstance(right, Name) and right.name in _NUMERIC:
        left, right = right, left
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
    if not isinstance(left, Name) or left.name not in _NUMERIC or free_names(right):
        return None
    if not isinstance(right, (Lit, Unary)):
        return None
    try:
        value = compile_node(right)(_Fixed({}))
    except FAILURES:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int) and abs(value) >= 1 << 53:
        return None
    col: np.ndarray
    if left.name == "seq":
        col = np.arange(a, b, dtype=np.int64)
    elif left.name == "t":
        col = (table.ts[a:b] - table.t0) / 1e9
    else:
        col = table.ref[a:b]
    result: Mask
    if op == "==":
        result = col == value
    elif op == "!=":
        result = col != value
    elif op == "<":
        result = col < value
    elif op == "<=":
        result = col <= value
    elif op == ">":
        result = col > value
    else:
        result = col >= value
    return result
