"""Test helpers for programs that use the sandbox (and for Cinema's own tests).

Example::

    from recorder.testing import capture_events
    from recorder.events import EventKind

    with capture_events() as events:
        rt = Runtime(deterministic=True)
        ...
        rt.run()
    assert EventKind.CRASH in events.kinds()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from recorder.events import Event, EventKind
from recorder.payload import to_structural

__all__ = ["CaptureSink", "CapturedEvents", "capture_events"]


class CapturedEvents(list[Event]):
    """The captured events (a list of :class:`~recorder.events.Event`) plus helpers."""

    keyframes: list[tuple[int, Any]]

    def kinds(self) -> list[int]:
        """The kind of each event, in order."""
        return [e.kind for e in self]

    def of(self, kind: EventKind | int) -> list[Event]:
        """The events of one kind."""
        return [e for e in self if e.kind == kind]

    def for_pid(self, pid: int) -> list[Event]:
        """The events whose acting process is ``pid``."""
        return [e for e in self if e.pid == pid]


class CaptureSink:
    """An event sink that keeps events in memory (``Runtime(record=CaptureSink())``)."""

    def __init__(self) -> None:
        self.events = CapturedEvents()
        self.events.keyframes = []
        self.clock: Callable[[], int] = lambda: 0
        self._snapshot: Callable[[], Any] | None = None

    def bind(self, *, clock: Callable[[], int], snapshot: Callable[[], Any]) -> None:
        """Called by the runtime: its clock stamps events; ``snapshot`` makes keyframes."""
        self.clock = clock
        self._snapshot = snapshot

    def emit(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
        events = self.events
        events.append(Event(len(events), self.clock(), int(kind), pid, peer, ref, data))

    @property
    def events_emitted(self) -> int:
        return len(self.events)

    def keyframe(self) -> None:
        """Keep the world at this point (structural form, as a file would hold it)."""
        if self._snapshot is not None:
            self.events.keyframes.append((len(self.events), to_structural(self._snapshot())))


@contextmanager
def capture_events() -> Iterator[CapturedEvents]:
    """Capture the events of every sandbox runtime created inside the block (without
    ``record=``); yields the list they are appended to."""
    from recorder.sandbox.recording import pop_default_sink, push_default_sink

    sink = CaptureSink()
    push_default_sink(sink)
    try:
        yield sink.events
    finally:
        pop_default_sink(sink)
