"""Filters and search over events: by process, kind, time range, and a pattern over payloads.

The process, kind and time conditions are evaluated on the skeleton columns with numpy; the
pattern only on the events that pass them, decoding just those payloads.

Patterns: text is matched case-insensitively as a substring of the event's data rendered by
:func:`cinema.model.render.render_value` (what the CLI and UI show, e.g. ``('work', 3)`` or
``{'count': 5}``). A pattern written between slashes, ``/work.*3/``, is a case-insensitive
regular expression searched in the same text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from cinema.model.errors import ModelError
from cinema.model.render import render_value
from cinema.model.session import Session

__all__ = ["EventFilter", "compile_pattern"]


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a search pattern (see the module docs).

    Raises:
        ModelError: a ``/regex/`` that does not compile (with the reason and position).
    """
    if len(pattern) >= 2 and pattern.startswith("/") and pattern.endswith("/"):
        try:
            return re.compile(pattern[1:-1], re.IGNORECASE)
        except re.error as exc:
            where = f" at position {exc.pos + 1}" if exc.pos is not None else ""
            raise ModelError(f"bad regular expression {pattern!r}: {exc.msg}{where}") from None
    return re.compile(re.escape(pattern), re.IGNORECASE)


@dataclass(frozen=True)
class EventFilter:
    """Which events to keep. Every condition left as ``None`` keeps everything.

    Attributes:
        processes: pids; an event matches when its process *or its peer* is one of them.
        kinds: event kind codes (``recorder.EventKind``).
        t_from, t_to: inclusive bounds on timestamps (ns, the session's clock).
        match: a payload pattern (module docs).
        seq_from, seq_to: inclusive bounds on sequence numbers.
    """

    processes: Iterable[int] | None = None
    kinds: Iterable[int] | None = None
    t_from: int | None = None
    t_to: int | None = None
    match: str | None = None
    seq_from: int | None = None
    seq_to: int | None = None

    def candidates(self, session: Session, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Sequence numbers in ``start .. stop - 1`` passing the column conditions."""
        sk = session.skeleton
        n = len(sk.kind)
        lo, hi = max(start, 0), n if stop is None else min(stop, n)
        if self.seq_from is not None:
            lo = max(lo, self.seq_from)
        if self.seq_to is not None:
            hi = min(hi, self.seq_to + 1)
        if self.t_from is not None:
            lo = max(lo, int(np.searchsorted(sk.ts, self.t_from, side="left")))
        if self.t_to is not None:
            hi = min(hi, int(np.searchsorted(sk.ts, self.t_to, side="right")))
        if hi <= lo:
            return np.empty(0, dtype=np.int64)
        mask = np.ones(hi - lo, dtype=bool)
        if self.kinds is not None:
            mask &= np.isin(sk.kind[lo:hi], np.fromiter(self.kinds, dtype=np.uint8))
        if self.processes is not None:
            pids = np.fromiter(self.processes, dtype=np.uint32)
            mask &= np.isin(sk.pid[lo:hi], pids) | np.isin(sk.peer[lo:hi], pids)
        return (np.flatnonzero(mask) + lo).astype(np.int64)

    def iter_seqs(self, session: Session, *, chunk: int = 1 << 20) -> Iterator[int]:
        """Matching sequence numbers in order, produced lazily chunk by chunk."""
        pat = compile_pattern(self.match) if self.match else None
        n = session.event_count
        for start in range(0, n, chunk):
            cand = self.candidates(session, start, start + chunk)
            if pat is None:
                yield from cand.tolist()
                continue
            for seq in cand.tolist():
                if pat.search(render_value(session.event(seq).data, 0)):
                    yield seq

    def seqs(self, session: Session, limit: int | None = None) -> np.ndarray:
        """All matching sequence numbers (int64), or the first ``limit``."""
        if self.match is None:
            out = self.candidates(session)
            return out if limit is None else out[:limit]
        got: list[int] = []
        for seq in self.iter_seqs(session):
            got.append(seq)
            if limit is not None and len(got) >= limit:
                break
        return np.array(got, dtype=np.int64)
