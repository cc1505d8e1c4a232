"""Message interception: rules that delay, drop or transform messages in flight.

A rule matches on sender, receiver (a pid or a registered name, ``None`` for any) and message
shape (a pattern, see :mod:`.patterns`). Rules apply in the order they were added: a transform
rewrites the message and the next rules see the new one; a delay or a drop ends the chain.

Each application is recorded: INTERCEPT (with the rule id, the action and the message as it
will be delivered), then for a delay a DELAY (its SEND follows when the message is released),
for a drop the SEND and a DROP with reason ``"rule"``. Drops with a probability use a RNG seeded
from the runtime's seed in deterministic mode.

Declarative rules (what a remote debugger may send) never run code: a transform is a field
replacement ``set={key: value}`` -- dict keys, tuple indices, or dataclass / named-tuple fields.
A Python callable is accepted only from in-process code (``transform=fn``).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from recorder.events import EventKind
from recorder.payload import Pid
from recorder.sandbox.patterns import ANY, matches

if TYPE_CHECKING:
    from recorder.sandbox.messaging import PostOffice
    from recorder.sandbox.recording import Recording
    from recorder.sandbox.registry import Registry
    from recorder.sandbox.scheduler import Scheduler

__all__ = ["MAX_DELAY_MS", "Action", "Interceptor", "Rule", "apply_fields"]

Action = Literal["delay", "drop", "transform"]
_INTERCEPT = int(EventKind.INTERCEPT)
_DELAY = int(EventKind.DELAY)
_DROP = int(EventKind.DROP)
_SEND = int(EventKind.SEND)
_NOT_APPLICABLE: Any = object()


#: The longest a rule may hold a message back (a timer beyond that is a mistake: use drop).
MAX_DELAY_MS = 86_400_000


@dataclass(slots=True)
class Rule:
    """One interception rule. Create rules with :meth:`Interceptor.add`."""

    id: int
    action: Action
    sender: Pid | str | None = None
    receiver: Pid | str | None = None
    message: Any = ANY
    delay_ms: float = 0.0
    probability: float = 1.0
    set_fields: dict[Any, Any] | None = None
    transform: Callable[[Any], Any] | None = field(default=None, repr=False)
    applied: int = 0

    def describe(self) -> dict[str, Any]:
        """A plain description (for the debugger and the live protocol)."""
        return {
            "id": self.id,
            "action": self.action,
            "sender": self.sender,
            "receiver": self.receiver,
            "message": repr(self.message),
            "delay_ms": self.delay_ms,
            "probability": self.probability,
            "set": self.set_fields,
            "callable": self.transform is not None,
            "applied": self.applied,
        }


def apply_fields(message: Any, fields: dict[Any, Any]) -> Any:
    """``message`` with ``fields`` replaced; the sentinel result means "does not apply"."""
    if isinstance(message, dict):
        return {**message, **fields}
    if isinstance(message, tuple) and hasattr(message, "_replace"):
        try:
            return message._replace(**{str(k): v for k, v in fields.items()})
        except (TypeError, ValueError):
            return _NOT_APPLICABLE
    if type(message) is tuple:
        items = list(message)
        for key, value in fields.items():
            if not isinstance(key, int) or not -len(items) <= key < len(items):
                return _NOT_APPLICABLE
            items[key] = value
        return tuple(items)
    if dataclasses.is_dataclass(message) and not isinstance(message, type):
        try:
            return dataclasses.replace(message, **{str(k): v for k, v in fields.items()})
        except TypeError:
            return _NOT_APPLICABLE
    return _NOT_APPLICABLE


class Interceptor:
    """The interception rules of one runtime (``runtime.interceptor``).

    Args:
        post: delivers messages (and routes sends here while a rule exists).
        registry: resolves the names that rules match on.
        recording: where INTERCEPT, DELAY, SEND and DROP go.
        scheduler: the clock and timers of delays.
        rng: the random source of probabilistic rules (seeded in deterministic mode).
    """

    def __init__(
        self,
        *,
        post: PostOffice,
        registry: Registry,
        recording: Recording,
        scheduler: Scheduler,
        rng: random.Random,
    ) -> None:
        self._post = post
        self._registry = registry
        self._rec = recording
        self._scheduler = scheduler
        self.rules: list[Rule] = []
        self.active = False
        self._next_id = 0
        self.rng = rng

    def _set_active(self) -> None:
        self.active = bool(self.rules)
        self._post.intercept_with(self.intercept if self.active else None)

    def add(
        self,
        action: Action,
        *,
        sender: Pid | str | None = None,
        receiver: Pid | str | None = None,
        message: Any = ANY,
        delay_ms: float = 0.0,
        probability: float = 1.0,
        set: dict[Any, Any] | None = None,
        transform: Callable[[Any], Any] | None = None,
    ) -> Rule:
        """Add a rule; returns it (its ``id`` removes it).

        Args:
            action: ``"delay"``, ``"drop"`` or ``"transform"``.
            sender, receiver: a pid or registered name to match, or ``None`` for any.
            message: a pattern the message must match.
            delay_ms: for ``"delay"``: how long to hold the message.
            probability: for ``"drop"`` (and the others): chance the rule applies, 0..1.
            set: for ``"transform"``: fields to replace (declarative).
            transform: for ``"transform"``: a function of the message (in-process only).

        Raises:
            ValueError: inconsistent arguments (named in the message).
        """
        if action not in ("delay", "drop", "transform"):
            raise ValueError(f"action must be 'delay', 'drop' or 'transform', not {action!r}")
        if not 0.0 <= probability <= 1.0:  # also refuses NaN
            raise ValueError(f"probability must be within 0..1, not {probability!r}")
        if action == "delay" and not 0 < delay_ms <= MAX_DELAY_MS:  # NaN and inf too
            raise ValueError(
                f"a delay rule needs 0 < delay_ms <= {MAX_DELAY_MS:,} (a day), not {delay_ms!r}"
            )
        if action == "transform" and (set is None) == (transform is None):
            raise ValueError("a transform rule needs exactly one of set={...} or transform=fn")
        self._next_id += 1
        rule = Rule(
            self._next_id,
            action,
            sender,
            receiver,
            message,
            delay_ms,
            probability,
            dict(set) if set is not None else None,
            transform,
        )
        self.rules.append(rule)
        self._set_active()
        return rule

    def remove(self, rule_id: int) -> bool:
        """Remove a rule by id; ``False`` if there was none."""
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        self._set_active()
        return len(self.rules) != before

    def clear(self) -> None:
        """Remove every rule."""
        self.rules = []
        self._set_active()

    def _is(self, who: Pid | str | None, n: int) -> bool:
        if who is None:
            return True
        if isinstance(who, Pid):
            return who.n == n
        return self._registry.names.get(who) == n

    def intercept(self, sender_n: int, target_n: int, msg_id: int, message: Any) -> None:
        """Apply the rules to one message, then deliver, hold or drop it."""
        rec = self._rec
        for rule in self.rules:
            if not (self._is(rule.sender, sender_n) and self._is(rule.receiver, target_n)):
                continue
            try:
                if not matches(rule.message, message):
                    continue
            except Exception:  # a predicate that fails on this message does not match it
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            if rule.action == "transform":
                new = self._transform(rule, message)
                if new is _NOT_APPLICABLE:
                    continue
                message = new
            rule.applied += 1
            if rec.active:
                rec.record(
                    _INTERCEPT,
                    sender_n,
                    target_n,
                    msg_id,
                    {"rule": rule.id, "action": rule.action, "message": message},
                )
            if rule.action == "transform":  # later rules see the transformed message
                continue
            if rule.action == "drop":
                if rec.active:
                    rec.record(_SEND, sender_n, target_n, msg_id, message)
                    rec.record(
                        _DROP, sender_n, target_n, msg_id, {"reason": "rule", "rule": rule.id}
                    )
                return
            if rec.active:
                rec.record(
                    _DELAY,
                    sender_n,
                    target_n,
                    msg_id,
                    {"rule": rule.id, "delay_ms": rule.delay_ms},
                )
            scheduler = self._scheduler
            scheduler.timers.add(
                scheduler.deadline(rule.delay_ms),
                self._release,
                (sender_n, target_n, msg_id, message),
            )
            return
        self._post.deliver(sender_n, target_n, msg_id, message)

    def _transform(self, rule: Rule, message: Any) -> Any:
        if rule.transform is not None:
            try:
                return rule.transform(message)
            except Exception:  # a broken transform leaves the message alone
                return _NOT_APPLICABLE
        assert rule.set_fields is not None
        return apply_fields(message, rule.set_fields)

    def _release(self, arg: tuple[int, int, int, Any]) -> None:
        self._post.deliver(*arg)
