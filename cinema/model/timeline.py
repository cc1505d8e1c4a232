"""Per-process timelines: the events a process took part in, fast to page through.

Built from the skeleton columns with numpy (no payload is decoded): an event belongs to the
timeline of ``pid`` when ``pid`` is its acting process or its peer.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from cinema.model.errors import ModelError
from cinema.model.session import Session
from recorder.events import Event

__all__ = ["page", "page_events", "process_events"]


def process_events(session: Session, pid: int, *, as_peer: bool = True) -> np.ndarray:
    """Sequence numbers (int64, ascending) of the events of process ``pid``.

    Args:
        session: the session.
        pid: the process.
        as_peer: also include events where ``pid`` is the peer (messages it received, links to
            it, ...); ``False`` keeps only the events it performed.

    Raises:
        ModelError: ``pid`` is not a process of this session.
    """
    if pid not in session.processes:
        raise ModelError(f"no process {pid} in this session")
    sk = session.skeleton
    mask = sk.pid == pid
    if as_peer:
        mask |= sk.peer == pid
    return np.flatnonzero(mask).astype(np.int64)


def page(seqs: np.ndarray, start: int, count: int) -> np.ndarray:
    """Items ``start .. start + count - 1`` of ``seqs`` (clamped; empty past the end)."""
    if start < 0 or count < 0:
        raise ModelError("page start and count must not be negative")
    return seqs[start : start + count]


def page_events(session: Session, seqs: Iterable[int]) -> list[Event]:
    """The decoded events of one page of sequence numbers."""
    return [session.event(int(s)) for s in seqs]
