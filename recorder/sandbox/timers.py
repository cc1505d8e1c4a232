"""The timer heap: receive timeouts, ``send_after``, delayed deliveries, profile ticks.

An entry is a list ``[deadline_ns, seq, callback, arg, counts]``; cancelling sets the callback
to ``None`` (lazy deletion, as in :mod:`heapq`'s docs). ``counts`` is false for the runtime's
own housekeeping timers (profile samples): those never keep :meth:`Runtime.run` going.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

__all__ = ["TimerEntry", "TimerHeap"]

TimerEntry = list[Any]


class TimerHeap:
    """A min-heap of timers ordered by deadline, then by creation order."""

    __slots__ = ("_counting", "_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[TimerEntry] = []
        self._seq = 0
        self._counting = 0

    def add(
        self, deadline_ns: int, callback: Callable[[Any], None], arg: Any, counts: bool = True
    ) -> TimerEntry:
        """Schedule ``callback(arg)`` at ``deadline_ns``; returns the entry (for :meth:`cancel`)."""
        self._seq += 1
        entry: TimerEntry = [deadline_ns, self._seq, callback, arg, counts]
        heapq.heappush(self._heap, entry)
        if counts:
            self._counting += 1
        return entry

    def cancel(self, entry: TimerEntry) -> bool:
        """Cancel a pending timer; ``False`` if it already fired or was cancelled."""
        if entry[2] is None:
            return False
        entry[2] = None
        if entry[4]:
            self._counting -= 1
        return True

    @property
    def has_work(self) -> bool:
        """Whether a timer other than housekeeping is pending."""
        return self._counting > 0

    def next_deadline(self) -> int | None:
        """The earliest pending deadline, or ``None``."""
        heap = self._heap
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def due(self, now_ns: int) -> bool:
        heap = self._heap
        return bool(heap) and heap[0][0] <= now_ns

    def fire_due(self, now_ns: int) -> None:
        """Run every callback whose deadline is at or before ``now_ns``, in deadline order."""
        heap = self._heap
        while heap and heap[0][0] <= now_ns:
            entry = heapq.heappop(heap)
            callback = entry[2]
            if callback is None:
                continue
            entry[2] = None
            if entry[4]:
                self._counting -= 1
            callback(entry[3])

    def pending(self) -> list[TimerEntry]:
        """The timers not yet fired nor cancelled, in no particular order (snapshots read them)."""
        return [e for e in self._heap if e[2] is not None]

    def __len__(self) -> int:
        return sum(1 for e in self._heap if e[2] is not None)
