"""The sink protocol: what an event source calls to record what happens, as it happens.

An event source (the sandbox runtime, an adapter, a hand-written program) hands every event to
a *sink* on the thread where the event happens. Two sinks ship with Cinema:
:class:`recorder.Recorder` (a session file and live outputs) and
:class:`recorder.testing.CaptureSink` (a list in memory, for tests). Any object with the
methods below is a sink too.

``emit(kind, pid, peer, ref, data)``
    One event: an :class:`~recorder.events.EventKind` code, the acting process, the other
    process (or :data:`~recorder.events.NO_PEER`), a reference (or
    :data:`~recorder.events.NO_REF`) and the kind's data. The sink *captures* ``data`` before it
    returns (it encodes or freezes it), so a program that later mutates the value, or a receiver
    that mutates a message it got, cannot change what the recording says happened. It never
    raises for any value and never waits for I/O.

``keyframe(world)``
    The whole world after the events emitted so far (schema: ``docs/world-schema.md``),
    captured before the call returns, like ``data``. The event source decides when (the sandbox
    takes one every few thousand events); the sink places it between the events emitted before
    and after the call.

``close()``
    End the recording: everything emitted reaches its destination, then the file's footer.
    Never raises into the program: a failed recording is reported through the sink's ``error``
    and ``failed`` attributes (see :class:`recorder.Recorder`).

``events_emitted`` (optional, read-only)
    How many events the sink has taken so far; a breakpoint event names its own position with
    it.

A source must call these from one thread at a time (the sandbox's scheduler thread; a program
with several threads serialises its calls to one sink, or gives each thread a sink of its own).
What a sink must never do is hurt the program: the sandbox detaches a sink whose ``emit``
raises, logs it once, and goes on.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["EventSink", "KeyframeSink", "wants_world"]


@runtime_checkable
class EventSink(Protocol):
    """The one required method of a sink (see the module docstring)."""

    def emit(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None: ...


@runtime_checkable
class KeyframeSink(EventSink, Protocol):
    """A sink that also takes keyframes and is closed by its source."""

    def keyframe(self, world: Any) -> None: ...

    def close(self) -> None: ...


def wants_world(sink: object) -> bool:
    """Whether ``sink.keyframe`` takes the world as an argument (this protocol) rather than
    calling back a ``snapshot`` function bound earlier (the older ``bind(snapshot=...)``
    protocol). Recorder and CaptureSink accept both."""
    import inspect

    method = getattr(sink, "keyframe", None)
    if method is None:
        return False
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params
    )
