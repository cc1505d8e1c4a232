"""Replay verification: re-run a recording and compare the new run with it, event by event.

:func:`verify_recording` is ``cinema verify``; :func:`divergence_report` is the text both it and
generated tests (``cinema gen-test``) print when the runs part: the first differing event of
each run side by side, in the one presentation of ``cinema events``, after the last events they
share.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from cinema.model import present
from cinema.model.session import Session
from cinema.reuse.divergence import Divergence, first_divergence
from cinema.reuse.rerun import DEFAULT_TIMEOUT, RerunPlan, plan_rerun, rerun
from recorder.events import Event

__all__ = ["Verification", "divergence_report", "divergence_text", "verify_recording"]

#: Shared events shown before a divergence.
CONTEXT_EVENTS = 3


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify_recording`.

    Attributes:
        plan: what was re-run.
        recorded_events: events in the recording.
        rerun_events: events in the new run.
        divergence: where they part, or ``None`` when they match.
        source_changed: whether the program's source differs from the recorded hash
            (``None``: cannot tell).
        rerun_path: the new run's recording.
        report: the divergence as text (``""`` when they match).
    """

    plan: RerunPlan
    recorded_events: int
    rerun_events: int
    divergence: Divergence | None
    source_changed: bool | None
    rerun_path: str
    report: str

    @property
    def matches(self) -> bool:
        """Whether the new run did exactly what the recording holds."""
        return self.divergence is None


def verify_recording(path: str, folder: str, *, timeout: float = DEFAULT_TIMEOUT) -> Verification:
    """Re-run the recording at ``path`` (recording the new run into the empty ``folder``) and
    compare. When the program named its own file and made several, the new recording compared
    is the one that matches, else the one that goes on matching longest.

    Raises:
        RerunError: the recording cannot be re-run, or the re-run failed.
        SessionFormatError: a file is not a readable session.
    """
    with Session.open(path) as recorded:
        plan = plan_rerun(recorded.meta, os.path.basename(path))
        source_changed = plan.source_changed()
        best: tuple[int, str, Divergence | None] | None = None
        for candidate in rerun(plan, folder, timeout=timeout):
            with Session.open(candidate) as new:
                divergence = first_divergence(recorded.reader, new.reader)
            reach = divergence.seq if divergence is not None else 1 << 62
            if best is None or reach > best[0]:
                best = (reach, candidate, divergence)
        assert best is not None  # rerun() returns at least one recording
        _, new_path, divergence = best
        with Session.open(new_path) as new:
            report = "" if divergence is None else divergence_report(recorded, new, divergence)
            return Verification(
                plan, recorded.event_count, new.event_count, divergence, source_changed,
                new_path, report,
            )  # fmt: skip


def divergence_report(
    recorded: Session, new: Session, divergence: Divergence, *, new_label: str = "re-run"
) -> str:
    """The divergence as lines of text: the shared events before it, then the two events."""
    seq = divergence.seq
    before = list(recorded.events(max(0, seq - CONTEXT_EVENTS), seq))
    return divergence_text(
        divergence, before=before, recorded_names=recorded, new_names=new,
        recorded_count=recorded.event_count, new_count=new.event_count, new_label=new_label,
    )  # fmt: skip


def divergence_text(
    divergence: Divergence,
    *,
    before: Sequence[Event],
    recorded_names: present.Names,
    new_names: present.Names,
    recorded_count: int,
    new_count: int,
    new_label: str = "re-run",
) -> str:
    """:func:`divergence_report` from its parts: the events before the divergence (the same
    in both runs) and how to name each run's processes."""
    seq = divergence.seq
    width = max(len("recorded"), len(new_label))
    what = "one run ended" if divergence.fields == ("end",) else ", ".join(divergence.fields)
    lines = [f"the runs part at event #{seq} (the first {seq:,} events are the same): {what}"]
    if before:
        lines.append("  before it, in both:")
        lines.extend(f"    {present.event_line(recorded_names, ev)}" for ev in before)
    sides: tuple[tuple[str, present.Names, Event | None], ...] = (
        ("recorded", recorded_names, divergence.recorded),
        (new_label, new_names, divergence.rerun),
    )
    for label, names, event in sides:
        shown = present.event_line(names, event) if event is not None else None
        lines.append(f"  {label:<{width}}  {shown or '(no event: the run ended here)'}")
    lines.append(f"  (the recording has {recorded_count:,} events, the {new_label} {new_count:,})")
    return "\n".join(lines)
