"""Breakpoint conditions: the structured kinds of the seed's Breakpoint System, each compiled to
one expression of the language in :mod:`cinema.model.expr` (see :mod:`cinema.model.breakpoints`
for the table), and their JSON form."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeAlias, cast

from cinema.model.condition import Condition
from cinema.model.errors import ModelError
from cinema.model.expr import literal

__all__ = [
    "BreakpointCondition",
    "ExpressionCondition",
    "MessageCondition",
    "MessageResultCondition",
    "ProcessEventCondition",
    "StateCondition",
    "condition_from_json",
    "condition_to_json",
]

_STATE_OPS = ("==", "!=", "<", "<=", ">", ">=", "changed", "equals")
_PROCESS_EVENTS = {"spawn": "spawn", "exit": "exit", "crash": "crash", "restart": "restart",
                   "exit_signal": "exit_signal"}  # fmt: skip
_RESULTS = {"timeout": "timeout", "dropped": "drop", "drop": "drop"}
_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _process_clause(process: str | int | None, *, peer_too: bool = False) -> str:
    if process is None:
        return ""
    if isinstance(process, bool) or not isinstance(process, (str, int)):
        raise ModelError(f"a process is a name or a pid number, not {process!r}")
    if isinstance(process, int):
        clause = f"pid == {process}"
        return f"(pid == {process} or peer == {process})" if peer_too else clause
    name = literal(process)
    return f"(process == {name} or peer_process == {name})" if peer_too else f"process == {name}"


def _join(*clauses: str) -> str:
    return " and ".join(c for c in clauses if c)


@dataclass(frozen=True, slots=True)
class MessageCondition:
    """A message of a type (``msg_type``) or matching a regular expression (``msg ~ pattern``).

    Args:
        message_type: e.g. ``"withdraw"`` for ``("withdraw", 10)`` or a ``Withdraw`` record.
        pattern: a regular expression searched in the message's text.
        on: ``"receive"`` (when a process takes it), ``"send"``, or ``"any"`` (both).
        process: only for this process (name or pid): the receiver or the sender.
    """

    message_type: str | None = None
    pattern: str | None = None
    on: Literal["receive", "send", "any"] = "receive"
    process: str | int | None = None

    def __post_init__(self) -> None:
        if self.message_type is None and self.pattern is None:
            raise ModelError("a message breakpoint needs a message type or a pattern")
        if self.on not in ("receive", "send", "any"):
            raise ModelError(f"on must be 'receive', 'send' or 'any', not {self.on!r}")

    def expression(self) -> str:
        kind = {"receive": 'kind == "receive"', "send": 'kind == "send"',
                "any": 'kind in ["send", "receive"]'}[self.on]  # fmt: skip
        return _join(
            kind,
            _process_clause(self.process),
            f"msg_type == {literal(self.message_type)}" if self.message_type is not None else "",
            f"msg ~ {literal(self.pattern)}" if self.pattern is not None else "",
        )


@dataclass(frozen=True, slots=True)
class StateCondition:
    """A state field compared with a value (``balance > 100``), equal to one, or changed.

    Args:
        field: a dotted path into the state (``"balance"``, ``"account.status"``); ``""`` is
            the whole state.
        op: ``== != < <= > >=``, ``"equals"`` (same as ``==``) or ``"changed"``.
        value: the value to compare with (unused for ``changed``).
        process: only for this process (name or pid).
    """

    field: str
    op: str = "changed"
    value: Any = None
    process: str | int | None = None

    def __post_init__(self) -> None:
        if self.op not in _STATE_OPS:
            raise ModelError(
                f"unknown state operator {self.op!r} (use one of {', '.join(_STATE_OPS)})"
            )
        if self.field and not all(_FIELD.fullmatch(p) for p in self.field.split(".")):
            raise ModelError(
                f"bad state field {self.field!r}: use dotted names like 'balance' or 'a.b' "
                "(letters, digits and '_', not starting with '_')"
            )
        if self.op != "changed":
            literal(self.value)  # raises for a value the language cannot spell

    def expression(self) -> str:
        path = f"state.{self.field}" if self.field else "state"
        if self.op == "changed":
            test = f"changed({path})"
        else:
            op = "==" if self.op == "equals" else self.op
            test = f"{path} {op} {literal(self.value)}"
        return _join('kind == "state"', _process_clause(self.process), test)


@dataclass(frozen=True, slots=True)
class ProcessEventCondition:
    """Process life events: ``spawn``, ``exit``, ``crash``, ``restart`` (by a supervisor),
    ``exit_signal``. With ``process``, a restart hits for the supervisor or the new child."""

    events: tuple[str, ...] = ("crash",)
    process: str | int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.events, str):
            object.__setattr__(self, "events", (self.events,))
        object.__setattr__(self, "events", tuple(self.events))
        bad = [e for e in self.events if e not in _PROCESS_EVENTS]
        if bad or not self.events:
            raise ModelError(
                f"unknown process event {bad[0] if bad else '(none given)'!r} "
                f"(use {', '.join(_PROCESS_EVENTS)})"
            )

    def expression(self) -> str:
        kinds = [_PROCESS_EVENTS[e] for e in self.events]
        proc = _process_clause(self.process, peer_too="restart" in kinds)
        return _join(f"kind in {literal(kinds)}", proc)


@dataclass(frozen=True, slots=True)
class MessageResultCondition:
    """Messages that did not arrive: ``timeout`` (a call or receive timed out) and ``dropped``.
    With ``process``, either side of the message (sender or receiver) counts."""

    results: tuple[str, ...] = ("timeout", "dropped")
    process: str | int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.results, str):
            object.__setattr__(self, "results", (self.results,))
        object.__setattr__(self, "results", tuple(self.results))
        bad = [r for r in self.results if r not in _RESULTS]
        if bad or not self.results:
            raise ModelError(
                f"unknown message result {bad[0] if bad else '(none given)'!r} "
                "(use timeout, dropped)"
            )

    def expression(self) -> str:
        kinds = sorted({_RESULTS[r] for r in self.results})
        return _join(f"kind in {literal(kinds)}", _process_clause(self.process, peer_too=True))


@dataclass(frozen=True, slots=True)
class ExpressionCondition:
    """A custom expression (see ``docs/expressions.md``)."""

    text: str

    def __post_init__(self) -> None:
        Condition(self.text)  # raises ExprError with the position

    def expression(self) -> str:
        return self.text


BreakpointCondition: TypeAlias = (
    MessageCondition
    | StateCondition
    | ProcessEventCondition
    | MessageResultCondition
    | ExpressionCondition
)

_CONDITION_TYPES: dict[str, type[Any]] = {
    "message": MessageCondition,
    "state": StateCondition,
    "process_event": ProcessEventCondition,
    "message_result": MessageResultCondition,
    "expression": ExpressionCondition,
}
_TYPE_NAMES = {cls: name for name, cls in _CONDITION_TYPES.items()}


def condition_to_json(cond: BreakpointCondition) -> dict[str, Any]:
    out: dict[str, Any] = {"type": _TYPE_NAMES[type(cond)]}
    out.update({k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cond).items()})
    return out


def condition_from_json(data: Any) -> BreakpointCondition:
    """Rebuild a condition from :func:`condition_to_json` output.

    Raises:
        ModelError: an unknown type or bad parameters (the message says which).
    """
    if not isinstance(data, dict):
        raise ModelError("a breakpoint condition must be a JSON object")
    params = dict(data)
    type_name = params.pop("type", None)
    cls = _CONDITION_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        raise ModelError(
            f"unknown condition type {type_name!r} (known: {', '.join(_CONDITION_TYPES)})"
        )
    for key in ("events", "results"):
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    try:
        return cast(BreakpointCondition, cls(**params))
    except TypeError as exc:
        raise ModelError(f"bad {type_name} condition: {exc}") from None
