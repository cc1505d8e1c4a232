"""Effects of RECEIVE and STATE events not yet folded into a process entry, as pid-indexed arrays.

Replaying thousands of messages touches most processes only to count a message, mark the
process running and remember its latest state. Keeping those effects in three numpy arrays
indexed by pid spares copying each process (see ``_replay``), and a window's worth of them is
added with a few vectorised operations instead of one dict update per process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from cinema.model.world import Proc

__all__ = ["EMPTY_OVERLAY", "Lazy", "Overlay"]


class Lazy(NamedTuple):
    """A payload value not decoded yet: ``data`` of event ``seq`` (or ``data[key]``)."""

    seq: int
    key: str | None = None


class Overlay:
    """Pending per-process effects: messages handled since the entry was last folded, the
    seq of the latest STATE (``-1``: none), and whether the last status change was a RECEIVE.

    A pid beyond the arrays has no pending effect. Replay mutates its own copy only.
    """

    __slots__ = ("handled", "running", "state")

    def __init__(self, handled: np.ndarray, state: np.ndarray, running: np.ndarray) -> None:
        self.handled = handled  # int64[pids]
        self.state = state  # int64[pids]
        self.running = running  # bool[pids]

    @classmethod
    def empty(cls) -> Overlay:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, bool))

    def copy(self) -> Overlay:
        return Overlay(self.handled.copy(), self.state.copy(), self.running.copy())

    # ------------------------------------------------------------------ reading

    def handled_of(self, pid: int) -> int:
        return int(self.handled[pid]) if 0 <= pid < len(self.handled) else 0

    def state_of(self, pid: int) -> Lazy | None:
        """The latest STATE of ``pid`` not folded yet, if any."""
        if 0 <= pid < len(self.state):
            s = int(self.state[pid])
            if s >= 0:
                return Lazy(s, "state")
        return None

    def is_running(self, pid: int) -> bool:
        return 0 <= pid < len(self.running) and bool(self.running[pid])

    # ------------------------------------------------------------------ changing (replay only)

    def fold(self, p: Proc) -> None:
        """Move the pending effects for ``p`` into it."""
        pid = p.pid
        if not 0 <= pid < len(self.handled):
            return
        n = int(self.handled[pid])
        if n:
            p.handled += n
            self.handled[pid] = 0
        s = int(self.state[pid])
        if s >= 0:
            p.state = Lazy(s, "state")
            self.state[pid] = -1
        if self.running[pid]:
            self.running[pid] = False
            p.status = "running"

    def clear(self, pid: int) -> None:
        """Forget the pending effects for ``pid`` (a SPAWN starts it afresh)."""
        if 0 <= pid < len(self.handled):
            self.handled[pid] = 0
            self.state[pid] = -1
            self.running[pid] = False

    def add(self, pids: np.ndarray, received: np.ndarray, last_state: np.ndarray) -> None:
        """Add RECEIVE counts and latest STATE seqs (``-1``: none) for distinct ``pids``."""
        if not len(pids):
            return
        top = int(pids.max()) + 1
        if top > len(self.handled):
            size = max(top, 2 * len(self.handled))
            self.handled = _grown(self.handled, size, 0)
            self.state = _grown(self.state, size, -1)
            self.running = _grown(self.running, size, False)
        self.handled[pids] += received
        self.running[pids[received > 0]] = True
        has_state = last_state >= 0
        self.state[pids[has_state]] = last_state[has_state]


def _grown(a: np.ndarray, size: int, fill: int | bool) -> np.ndarray:
    out = np.full(size, fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


EMPTY_OVERLAY = Overlay.empty()
