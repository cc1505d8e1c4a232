"""Parsing what a person types for a moment or a process (CLI options, UI search boxes).

Moments: ``#123`` is event number 123; ``1.5s``, ``250ms``, ``40us``, ``900ns``, ``+3s`` or a
bare number (seconds) are times relative to the session's first event.

Processes: a pid number (``12``), a pid as printed (``<0.12.0>``), or a process name (every
process spawned under that name, e.g. all incarnations of a restarted worker).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cinema.model.errors import ModelError
from cinema.model.session import Session

__all__ = ["Moment", "parse_moment", "pid_number", "resolve_processes"]

_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "µs": 1_000, "ns": 1}
# ASCII digits only (\d also takes "²" and other scripts' digits), and not too many of them:
# 19 digits hold any event number or pid, 30 any time a session can have.
_SEQ = re.compile(r"#([0-9]{1,19})", re.ASCII)
_TIME = re.compile(r"\+?([0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})\s*(s|ms|us|µs|ns)?", re.ASCII)
_PID = re.compile(r"<0\.([0-9]{1,19})\.0>|([0-9]{1,19})", re.ASCII)
#: Times a session can have (ns either side of its start; see ``recorder`` ``MAX_ABS_TIME``).
_MAX_NS = 1 << 62


class Moment(NamedTuple):
    """A parsed moment: exactly one of ``seq`` (an event number) or ``t_ns`` (absolute ns)."""

    seq: int | None
    t_ns: int | None

    def to_seq(self, session: Session) -> int:
        """The event this moment names (the last event at or before a time)."""
        if self.seq is not None:
            return session.check_seq(self.seq)
        assert self.t_ns is not None
        return session.seq_at_time(self.t_ns)


def parse_moment(session: Session, text: str) -> Moment:
    """Parse ``#N`` or a relative time (module docs).

    Raises:
        ModelError: the text is neither.
    """
    t = text.strip()
    shown = _shown(text)
    if t.startswith("#"):
        m = _SEQ.fullmatch(t)
        if m is None:
            if t[1:].isascii() and t[1:].isdigit():  # 20 digits or more
                n = session.event_count
                has = f"events #0 to #{n - 1}" if n else "no events"
                raise ModelError(f"event {shown} is out of range: the session has {has}")
            raise ModelError(f"bad event number {shown}: write #N, e.g. #120")
        return Moment(int(m.group(1)), None)
    m = _TIME.fullmatch(t)
    if m is None:
        raise ModelError(
            f"bad time {shown}: write seconds from the start (1.5s, 250ms, 40us, +3s) "
            "or an event number (#120)"
        )
    ns = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    if not ns <= _MAX_NS:
        raise ModelError(f"time {shown} is after the end of any session")
    return Moment(None, session.t_first + round(ns))


def _shown(text: str) -> str:
    """User text for a message (cut in the middle past 60 characters)."""
    return repr(text if len(text) <= 60 else f"{text[:28]}…{text[-28:]}")


def pid_number(text: str) -> int | None:
    """The process number ``text`` gives (``N`` or ``<0.N.0>``, ASCII digits, below 2^32),
    or ``None`` when it is not one (a name, or a number no process can have)."""
    m = _PID.fullmatch(text.strip())
    if m is None:
        return None
    pid = int(m.group(1) or m.group(2))
    return pid if pid < 1 << 32 else None


def resolve_processes(session: Session, text: str) -> list[int]:
    """The pids ``text`` names (module docs), in pid order.

    Raises:
        ModelError: no such process.
    """
    t = text.strip()
    procs = session.processes
    m = _PID.fullmatch(t)
    if m is not None:
        pid = int(m.group(1) or m.group(2))
        if pid in procs:
            return [pid]
    named = sorted(pid for pid, info in procs.items() if info.name == t)
    if named:
        return named
    shown = _shown(text)
    raise ModelError(f"no process {shown} in this session (give a pid or a process name)")
