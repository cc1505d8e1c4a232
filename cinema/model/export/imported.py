"""Opening a bundle: what ``cinema export`` put beside the events (``docs/export.md``).

A bundle is a session like any other; :func:`bundle_facts` reads what makes it a bundle: the
cut (header metadata ``export``: cut from, range, processes, note) and its META frame
(breakpoints, bookmarks with their notes, the redaction report). The window and ``cinema
info`` show them; the window takes the breakpoints and bookmarks when no breakpoint file lies
beside the bundle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cinema.model.breakpoints import BreakpointSet
from cinema.model.session import Session
from cinema.model.sidecar import Bookmark

__all__ = ["BundleFacts", "bundle_facts"]

_KEY = "export"


@dataclass(frozen=True)
class BundleFacts:
    """What a bundle says about itself."""

    cut: Mapping[str, Any]
    breakpoints_json: list[Any] = field(default_factory=list)
    bookmarks: list[Bookmark] = field(default_factory=list)
    redaction: Mapping[str, Any] = field(default_factory=dict)

    @property
    def note(self) -> str:
        return str(self.cut.get("note") or "")

    def breakpoints(self) -> BreakpointSet:
        """The bundle's breakpoints.

        Raises:
            ModelError: a breakpoint that does not parse (a newer Cinema's, or damaged).
        """
        return BreakpointSet.from_json(self.breakpoints_json)

    def summary(self) -> str:
        """One line: ``Cut from bank.cinema: events #1000..#2999 (+0.112375s to +0.451088s) of
        4,032; all processes. 3 values redacted.``"""
        rng = self.cut.get("range") or ["?", "?"]
        t = self.cut.get("t_range") or [0.0, 0.0]
        procs = self.cut.get("processes")
        who = (
            "all processes"
            if not procs
            else "processes " + ", ".join(f"{p.get('name')} <0.{p.get('pid')}.0>" for p in procs)
        )
        total = self.cut.get("original_events")
        of = f" of {total:,}" if isinstance(total, int) else ""
        text = (
            f"Cut from {self.cut.get('cut_from')}: events #{rng[0]}..#{rng[1]} "
            f"(+{float(t[0]):.6f}s to +{float(t[1]):.6f}s){of}; {who}."
        )
        redacted = self.redaction.get("redacted")
        if isinstance(redacted, int):
            text += f" {redacted:,} value(s) redacted." if redacted else " Nothing redacted."
        return text


def bundle_facts(session: Session) -> BundleFacts | None:
    """The facts of a bundle, or ``None`` for a session that is not one."""
    cut = session.meta.get(_KEY)
    if not isinstance(cut, Mapping):
        return None
    extra: Mapping[str, Any] = {}
    for m in session.reader.meta_frames():
        if isinstance(m.get(_KEY), Mapping):
            extra = m
    bps = extra.get("breakpoints")
    marks: list[Bookmark] = []
    for m in extra.get("bookmarks") or ():
        seq = m.get("seq") if isinstance(m, Mapping) else None
        if type(seq) is int and 0 <= seq < session.event_count:
            marks.append(Bookmark(seq, str(m.get("note") or "")))
    report = extra.get("redaction")
    merged = {**cut, **{k: v for k, v in (extra.get(_KEY) or {}).items() if k not in cut}}
    return BundleFacts(
        merged,
        list(bps) if isinstance(bps, list) else [],
        marks,
        report if isinstance(report, Mapping) else {},
    )
