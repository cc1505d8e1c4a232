"""Cinema's capture side: the event model, the session writer and the sandbox runtime.

Layering: ``events`` and ``payload`` (the model of what is recorded) <- ``session`` (file
format: writer needs only msgpack, plus zstandard when compression is on; the reader also uses
numpy) <- ``sandbox`` (an OTP-style runtime that emits events). Nothing here imports Qt,
networkx or ``cinema``.
"""

from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_PID, NO_REF, Event, EventKind, SpawnInfo, Trigger
from recorder.payload import Limits, Pid, Ref
from recorder.session.format import SessionFormatError, UnsupportedVersion

if TYPE_CHECKING:
    from recorder.session.writer import Recorder, RecorderClosed

__all__ = [
    "NO_PEER",
    "NO_PID",
    "NO_REF",
    "Event",
    "EventKind",
    "Limits",
    "Pid",
    "Recorder",
    "RecorderClosed",
    "Ref",
    "SessionFormatError",
    "SpawnInfo",
    "Trigger",
    "UnsupportedVersion",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The writer (and what it brings: threads, the live pipe) loads on first use: a program
    # that only reads sessions (`cinema events`, `cinema info`) never pays for it.
    if name in ("Recorder", "RecorderClosed"):
        from recorder.session import writer

        return getattr(writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
