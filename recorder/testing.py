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

import msgpack

from recorder.events import Event, EventKind
from recorder.payload import DEFAULT_LIMITS, Limits, PayloadError, decode_payload, encode_payload
from recorder.session.keyframes import pack_world, unpack_world

__all__ = ["CaptureSink", "CapturedEvents", "as_recorded", "capture_events"]


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
    """An event sink that keeps events in memory (``Runtime(record=CaptureSink())``).

    A sink of :mod:`recorder.sink`: each event's data (and each keyframe's world) is captured
    when it is emitted, encoded and decoded again, so a test sees exactly what a session file
    would hold, whatever the program does to the value afterwards. A dataclass state, for
    instance, comes back as a :class:`~recorder.payload.Record`, as a reader shows it.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.events = CapturedEvents()
        self.events.keyframes = []
        self.clock: Callable[[], int] = lambda: 0
        self.closed = False
        self.failed = False
        """Never set by the sink itself (memory does not fill up like a disk); the
        Recorder's attribute of the same name."""
        self.error: BaseException | None = None
        self._limits = limits
        self._snapshot: Callable[[], Any] | None = None

    def bind(self, *, clock: Callable[[], int], snapshot: Callable[[], Any] | None = None) -> None:
        """Called by the runtime: its clock stamps events; ``snapshot`` makes keyframes when
        :meth:`keyframe` is called without a world (the older protocol)."""
        self.clock = clock
        self._snapshot = snapshot

    def emit(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
        """Capture one event now, as a file would hold it."""
        events = self.events
        captured = _as_recorded(data, self._limits)
        events.append(Event(len(events), self.clock(), int(kind), pid, peer, ref, captured))

    @property
    def events_emitted(self) -> int:
        return len(self.events)

    def keyframe(self, world: Any = None) -> None:
        """Keep ``world`` (or, without one, the bound ``snapshot()``) at this point, as a
        reader would decode it from a file's keyframe."""
        if world is None:
            if self._snapshot is None:
                return
            world = self._snapshot()
        packed = msgpack.packb(pack_world(world, self._limits), use_bin_type=True)
        decoded = decode_payload(packed)
        if isinstance(decoded, dict):
            decoded = unpack_world(decoded)
        self.events.keyframes.append((len(self.events), decoded))

    def close(self) -> None:
        """Nothing to write; marks the sink closed."""
        self.closed = True


def as_recorded(value: Any, limits: Limits = DEFAULT_LIMITS) -> Any:
    """``value`` as a session file shows it (encoded, then decoded): what to compare captured
    data with. A dataclass becomes a :class:`~recorder.payload.Record`, a tuple stays a tuple.
    """
    return _as_recorded(value, limits)


def _as_recorded(data: Any, limits: Limits) -> Any:
    if data is None:
        return None
    try:
        return decode_payload(encode_payload(data, limits))
    except PayloadError as exc:  # the encoder's bug, shown where it is rather than raised
        return f"<undecodable payload: {exc}>"


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
