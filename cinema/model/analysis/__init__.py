"""Findings: what is wrong in a session, each with a severity, an explanation a newcomer
understands, and the events that prove it (``cinema analyze``, the window's Findings panel).

Detectors read columns (the skeleton, the ``ref`` column, the message flow) and decode only
the payloads of the few events they report; docs/analysis.md lists each detector, its
thresholds and what it reads.
"""

from __future__ import annotations

from collections.abc import Callable

from cinema.model.analysis._context import Context, duration_text
from cinema.model.analysis.calls import detect_calls
from cinema.model.analysis.delivery import detect_undelivered
from cinema.model.analysis.findings import MAX_PROOF_EVENTS, Finding, Severity, severity_from_name
from cinema.model.analysis.load import detect_hot, detect_slow_handlers
from cinema.model.analysis.mailbox import detect_mailbox_growth
from cinema.model.analysis.restarts import detect_restarts
from cinema.model.analysis.supervision import detect_link_cascades, detect_unsupervised
from cinema.model.session import Session

__all__ = [
    "DETECTORS",
    "DETECTOR_NAMES",
    "MAX_PROOF_EVENTS",
    "Context",
    "Finding",
    "Severity",
    "analyze",
    "duration_text",
    "severity_from_name",
]

Detector = Callable[[Context], list[Finding]]

#: Every detector, in the order they run.
DETECTORS: tuple[Detector, ...] = (
    detect_mailbox_growth,
    detect_restarts,
    detect_calls,
    detect_hot,
    detect_slow_handlers,
    detect_undelivered,
    detect_unsupervised,
    detect_link_cascades,
)

#: The names findings carry in ``detector``.
DETECTOR_NAMES: tuple[str, ...] = (
    "mailbox_growth", "restart_storm", "crash_loop", "supervisor_gave_up", "deadlock",
    "call_timeout", "hot_process", "hot_edge", "slow_handler", "dropped_messages",
    "held_messages", "lost_messages", "never_received", "unsupervised", "link_cascade",
)  # fmt: skip


def analyze(
    session: Session,
    *,
    context: Context | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[Finding]:
    """Run every detector over ``session``: findings, worst first, then by their first event.

    ``progress(fraction)`` is called between steps (the columns, the message flow, each
    detector), from 0 to 1; an exception it raises stops the analysis (how a worker cancels).
    """
    cx = context if context is not None else Context(session)
    if session.event_count == 0:
        return []
    tell = progress if progress is not None else (lambda _f: None)
    tell(0.0)
    cx.sk, cx.refs  # noqa: B018 -- the columns (and a damaged file's checksums) first
    tell(0.2)
    cx.flow  # noqa: B018
    tell(0.45)
    found: list[Finding] = []
    for i, detect in enumerate(DETECTORS):
        found.extend(detect(cx))
        tell(0.45 + 0.55 * (i + 1) / len(DETECTORS))
    found.sort(key=lambda f: (-f.severity, f.seq if f.seq >= 0 else 1 << 62, f.detector))
    return found
