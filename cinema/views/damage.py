"""What a damaged or unfinished session file cannot show, in words for the user (Qt-free).

A corrupt frame in the middle of a file leaves its events unreadable (their payloads, and any
world replayed across them), while the rest of the session reads fine. The window reports
each problem here once: :meth:`Damage.note` turns the reader's
:class:`~recorder.session.format.SessionFormatError` into the range of events it covers, and
:meth:`Damage.summary` says which events are unreadable and why, so every panel can show one
short note in place instead of a traceback. :func:`recovery_text` explains a file whose
recording did not finish (the reader recovered its complete frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recorder.session.format import FrameType, SessionFormatError

__all__ = ["Damage", "Problem", "recovery_text"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One unreadable stretch of a session: events ``first .. last`` (or unknown: -1)."""

    first: int
    last: int
    reason: str
    offset: int | None

    def events_text(self) -> str:
        if self.first < 0:
            return "some events"
        if self.first == self.last:
            return f"event #{self.first:,}"
        return f"events #{self.first:,}–#{self.last:,}"

    def text(self) -> str:
        at = f" at byte {self.offset:,}" if self.offset is not None else ""
        return f"{self.events_text()} cannot be read ({self.reason}{at})"

    def covers(self, seq: int) -> bool:
        return self.first <= seq <= self.last


@dataclass(slots=True)
class Damage:
    """The problems met so far in one session (each frame once)."""

    problems: list[Problem] = field(default_factory=list)

    def note(self, session: Any, exc: SessionFormatError) -> Problem:
        """Remember ``exc`` (met reading ``session``); returns its :class:`Problem`."""
        problem = _problem(session, exc)
        for known in self.problems:
            if (known.first, known.last, known.offset) == (
                problem.first, problem.last, problem.offset,
            ):  # fmt: skip
                return known
        self.problems.append(problem)
        self.problems.sort(key=lambda p: (p.first, p.last))
        return problem

    def covering(self, seq: int) -> Problem | None:
        """The problem that makes event ``seq`` unreadable, if one is known."""
        return next((p for p in self.problems if p.covers(seq)), None)

    def before(self, seq: int) -> Problem | None:
        """The last known unreadable stretch at or before ``seq`` (a replay crosses it)."""
        hits = [p for p in self.problems if 0 <= p.first <= seq]
        return hits[-1] if hits else None

    def summary(self) -> str:
        """One sentence for the whole session ("" when nothing is damaged)."""
        if not self.problems:
            return ""
        parts = "; ".join(p.text() for p in self.problems)
        return f"This file is damaged: {parts}. Everything else is shown."

    def __bool__(self) -> bool:
        return bool(self.problems)


def _problem(session: Any, exc: SessionFormatError) -> Problem:
    reader = getattr(session, "reader", session)
    first = last = -1
    if exc.offset is not None:
        try:
            table = reader.frame_table()
        except (SessionFormatError, AttributeError):
            table = None
        if table is not None:
            ev = table["type"] == FrameType.EVENTS
            offs, firsts, counts = table["offset"][ev], table["first_seq"][ev], table["count"][ev]
            # the frame that starts at the offset, else the one the offset falls in
            k = int(np.searchsorted(offs, exc.offset, side="right")) - 1
            if 0 <= k < len(offs) and counts[k] > 0:
                first = int(firsts[k])
                last = first + int(counts[k]) - 1
    reason = exc.reason
    if reason.startswith("event ") and "): " in reason:  # "event 12 (in the frame): why"
        reason = reason.split("): ", 1)[1]
    return Problem(first, last, reason, exc.offset)


def recovery_text(session: Any) -> str:
    """Why a file opened by recovery looks shorter than expected ("" for a finished file)."""
    reader = getattr(session, "reader", session)
    if not getattr(reader, "recovered", False):
        return ""
    n = int(reader.event_count)
    note = str(getattr(reader, "recovery_note", "") or "")
    dropped = note.split("; dropped ", 1)[1] if "; dropped " in note else ""
    text = f"The recording did not finish: {n:,} events recovered"
    if dropped:
        text += f" (dropped {dropped})"
    return text + "." + ("" if n else " There is nothing to replay.")
