"""What a detector reports: a :class:`Finding` with its :class:`Severity`, an explanation a
newcomer understands, and the events that prove it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

__all__ = ["MAX_PROOF_EVENTS", "Finding", "Severity", "severity_from_name"]

#: At most this many proving events are listed per finding (the first and the telling ones).
MAX_PROOF_EVENTS = 20


class Severity(IntEnum):
    """How bad a finding is; ordered, so ``--fail-on warning`` also fails on errors."""

    INFO = 0
    """Worth knowing (a hot process, an unsupervised server); often by design."""
    WARNING = 1
    """Probably a problem (timeouts, lost messages, a queue that grows)."""
    ERROR = 2
    """Something is broken (a deadlock, a crash loop, a supervisor that gave up)."""

    @property
    def label(self) -> str:
        return self.name.lower()


def severity_from_name(name: str) -> Severity:
    """``info``, ``warning`` or ``error`` (case-insensitive).

    Raises:
        ValueError: with the valid names.
    """
    try:
        return Severity[name.strip().upper()]
    except KeyError:
        raise ValueError(
            f"unknown severity {name!r} (valid: {', '.join(s.label for s in Severity)})"
        ) from None


@dataclass(frozen=True)
class Finding:
    """One thing a detector found.

    Attributes:
        detector: the detector's name (``mailbox_growth``, ``deadlock``, ...).
        severity: how bad it is.
        title: one line: what happened, to whom.
        explanation: a few sentences for someone new to actor systems: what it means, why it
            matters, what to look at.
        pids: the processes involved, most involved first.
        events: the events that prove it, ascending (at most :data:`MAX_PROOF_EVENTS`); the
            first is where the panel seeks.
        figures: the numbers behind it (rates, counts, durations in ns).
    """

    detector: str
    severity: Severity
    title: str
    explanation: str
    pids: tuple[int, ...]
    events: tuple[int, ...]
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def seq(self) -> int:
        """The event to show first (``-1`` when the finding has no event)."""
        return self.events[0] if self.events else -1


def proof(seqs: Any, keep: int = MAX_PROOF_EVENTS) -> tuple[int, ...]:
    """Sorted distinct event numbers, cut to ``keep`` (the first ones and the last one)."""
    uniq = sorted({int(s) for s in seqs if int(s) >= 0})
    if len(uniq) > keep:
        uniq = [*uniq[: keep - 1], uniq[-1]]
    return tuple(uniq)
