"""Effects of RECEIVE, STATE and PROFILE events not yet folded into a process, as pid arrays.

Replaying thousands of messages touches most processes only to count a message, remember its
latest state and its latest profile sample. Keeping those effects in three numpy arrays
indexed by pid spares copying each process (see ``_replay``), and a window's worth of them is
added with a few vectorised operations instead of one dict update per process. The state and
the sample stay references to their events (:class:`Lazy`), decoded only when a view shows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from cinema.model._proc import Proc

__all__ = ["EMPTY_OVERLAY", "Lazy", "Overlay"]


class Lazy(NamedTuple):
    """A payload value not decoded yet: ``data`` of event ``seq`` (or ``data[key]``)."""

    seq: int
    key: str | None = None


class Overlay:
    """Pending per-process effects: messages handled since the entry was last folded, the
    seq of the latest STATE and of the latest PROFILE (``-1``: none).

    A pid beyond the arrays has no pending effect. Replay mutates its own copy only.
    """

    __slots__ = ("handled", "profile", "state")

    def __init__(self, handled: np.ndarray, state: np.ndarray, profile: np.ndarray) -> None:
        self.handled = handled  # int64[pids]
        self.state = state  # int64[pids]
        self.profile = profile  # int64[pids]

    @classmethod
    def empty(cls) -> Overlay:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def copy(self) -> Overlay:
        return Overlay(self.handled.copy(), self.state.copy(), self.profile.copy())

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

    def profile_of(self, pid: int) -> int:
        """The seq of the latest PROFILE of ``pid`` not folded yet (``-1``: none)."""
        return int(self.profile[pid]) if 0 <= pid < len(self.profile) else -1

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
        s = int(self.profile[pid])
        if s >= 0:
            p.sample = Lazy(s)
            self.profile[pid] = -1

    def clear(self, pid: int) -> None:
        """Forget the pending effects for ``pid`` (a SPAWN starts it afresh)."""
        if 0 <= pid < len(self.handled):
            self.handled[pid] = 0
            self.state[pid] = -1
            self.profile[pid] = -1

    def add(
        self, pids: np.ndarray, received: np.ndarray, last_state: np.ndarray,
        last_profile: np.ndarray,
    ) -> None:  # fmt: skip
        """Add RECEIVE counts, latest STATE and PROFILE seqs (``-1``: none) of distinct pids."""
        if not len(pids):
            return
        top = int(pids.max()) + 1
        if top > len(self.handled):
            size = max(top, 2 * len(self.handled))
            self.handled = _grown(self.handled, size, 0)
            self.state = _grown(self.state, size, -1)
            self.profile = _grown(self.profile, size, -1)
        self.handled[pids] += received
        has = last_state >= 0
        self.state[pids[has]] = last_state[has]
        has = last_profile >= 0
        self.profile[pids[has]] = last_profile[has]


def _grown(a: np.ndarray, size: int, fill: int) -> np.ndarray:
    out = np.full(size, fill, dtype=a.dtype)
    out[: len(a)] = a
    return out


EMPTY_OVERLAY = Overlay.empty()
