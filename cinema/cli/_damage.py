"""What a command says when a session file is damaged in the middle, and goes on.

A corrupt frame leaves its events unreadable while the rest of the file reads fine (the window
shows a banner and everything else; see :mod:`cinema.views.damage`). A command does the same:
it lists what it can read, says on stderr which events it cannot read and why, in the
window's words, as it meets them, and exits with :data:`DAMAGED_EXIT` at the end so that a
script knows its output has a gap.

Imported inside commands only (it loads the model's damage wording).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from cinema.views.damage import Damage, Problem
from recorder.session.format import SessionFormatError

__all__ = ["DAMAGED_EXIT", "DamageReport"]

#: Exit status of a command that did its work except on the events it could not read.
DAMAGED_EXIT = 1


class DamageReport:
    """The unreadable stretches one command met in ``session``, each said once on stderr.

    Args:
        session: the open :class:`~cinema.model.session.Session` (or its reader).
        what: what the command leaves out of its output for those events, e.g. "not listed".
        rest: what it says of the rest, after the summary.
    """

    def __init__(self, session: Any, what: str, rest: str = "everything else is shown") -> None:
        self.session = session
        self.what = what
        self.rest = rest
        self.damage = Damage()

    def note(self, exc: SessionFormatError, seqs: int | list[int] | None = None) -> None:
        """Remember ``exc``, said the first time it is met: for the whole frame it names
        (``seqs`` None), for one event whose data cannot be decoded (``seqs`` an int), or for
        readable events that need the unreadable data of another frame (a list)."""
        before = len(self.damage.problems)
        if seqs is None:
            problem = self.damage.note(self.session, exc)
            if len(self.damage.problems) > before:
                self._say(problem)
            return
        if isinstance(seqs, int):
            reason = exc.reason
            if reason.startswith("event ") and "): " in reason:  # "event 12 (in the frame): why"
                reason = reason.split("): ", 1)[1]
            problem = Problem(seqs, seqs, reason, None)
            self.damage.problems.append(problem)
            self._say(problem)
            return
        cause = self.damage.note(self.session, exc)
        if len(self.damage.problems) > before:
            self._say(cause)
        reason = f"needs {cause.events_text()}, which cannot be read"
        runs = _runs(seqs)
        self.damage.problems.extend(Problem(a, b, reason, None) for a, b in runs)
        self.damage.problems.sort(key=lambda p: (p.first, p.last))
        n = len(seqs)
        click.echo(
            f"cinema: warning: {n:,} event{'s' if n != 1 else ''} between #{runs[0][0]:,} and "
            f"#{runs[-1][1]:,} {'need' if n != 1 else 'needs'} {cause.events_text()}, which "
            f"cannot be read: {self.what}",
            err=True,
        )

    def __call__(self, exc: SessionFormatError, seqs: int | list[int] | None = None) -> None:
        self.note(exc, seqs)

    def _say(self, problem: Problem) -> None:
        click.echo(f"cinema: warning: {problem.text()}: {self.what}", err=True)

    def __bool__(self) -> bool:
        return bool(self.damage)

    def finish(self) -> None:
        """Exit with :data:`DAMAGED_EXIT` after a one-line summary if anything was unreadable."""
        if not self.damage:
            return
        spans = [p.last - p.first + 1 for p in self.damage.problems if p.first >= 0]
        count = f"{sum(spans):,} events" if len(spans) == len(self.damage.problems) else "events"
        if count == "1 events":
            count = "1 event"
        click.echo(
            f"cinema: the file is damaged: {count} could not be read ({self.what}); {self.rest}",
            err=True,
        )
        sys.stdout.flush()
        sys.exit(DAMAGED_EXIT)


def _runs(seqs: list[int]) -> list[tuple[int, int]]:
    """Ascending ``seqs`` as ``(first, last)`` runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and seq == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs
