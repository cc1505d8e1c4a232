"""Connecting a runtime to a recorder: a session file, a Recorder, or any event sink.

Where events go, in order of precedence:

1. ``Runtime(record=...)``: a path (a :class:`~recorder.Recorder` is opened on it), a
   ``Recorder`` (keyframes need it built with ``snapshot=``; prefer a path), or any *sink*:
   an object with ``emit(kind, pid, peer, ref, data)`` and optionally ``keyframe()``,
   ``events_emitted`` and ``bind(clock=..., snapshot=...)``.
2. The ``CINEMA_RECORD`` environment variable (set by ``cinema record``): a session file path.
   The first runtime of the program records to it, later ones to ``NAME-2.cinema``, ...
   ``CINEMA_RECORD_SEED`` replaces the seed of deterministic runtimes.
3. The innermost :func:`recorder.testing.capture_events` block.

Keyframes are adaptive: the runtime takes one when at least ``max(keyframe_min_events,
8 * live processes)`` events passed since the last, so a keyframe (which grows with the number
of processes) stays a small fraction of the file. The Recorder's own schedule is switched off.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from recorder.session.writer import Recorder

if TYPE_CHECKING:
    from recorder.sandbox.runtime import Runtime

__all__ = [
    "ENV_RECORD",
    "ENV_SEED",
    "EventSink",
    "RecordTarget",
    "Recording",
    "attach_recording",
    "env_seed",
    "pop_default_sink",
    "push_default_sink",
]

ENV_RECORD = "CINEMA_RECORD"
ENV_SEED = "CINEMA_RECORD_SEED"
_NEVER = 1 << 62


class EventSink(Protocol):
    def emit(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None: ...


RecordTarget = str | os.PathLike[str] | Recorder | EventSink | None

_default_sinks: list[EventSink] = []
_env_uses = 0


def push_default_sink(sink: EventSink) -> None:
    """Make ``sink`` receive the events of runtimes created without ``record=``."""
    _default_sinks.append(sink)


def pop_default_sink(sink: EventSink) -> None:
    """Undo :func:`push_default_sink`."""
    if sink in _default_sinks:
        _default_sinks.remove(sink)


def env_seed(seed: int) -> int:
    """``CINEMA_RECORD_SEED`` if set (and an integer), else ``seed``."""
    text = os.environ.get(ENV_SEED, "").strip()
    if not text:
        return seed
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{ENV_SEED} must be an integer, not {text!r}") from None


def _env_path() -> str | None:
    global _env_uses
    path = os.environ.get(ENV_RECORD, "").strip()
    if not path:
        return None
    _env_uses += 1
    if _env_uses == 1:
        return path
    stem, ext = os.path.splitext(path)
    return f"{stem}-{_env_uses}{ext}"


class Recording:
    """A runtime's connection to its sink; takes the adaptive keyframes."""

    def __init__(self, runtime: Runtime, sink: Any, *, owned: bool, keyframe_min_events: int):
        self.runtime = runtime
        self.sink = sink
        self.owned = owned
        self.keyframe_min_events = keyframe_min_events
        self.path: str | None = getattr(sink, "path", None)
        self._keyframe: Callable[[], None] | None = getattr(sink, "keyframe", None)
        self._last_keyframe = 0

    def events_emitted(self) -> int:
        """Events given to the sink so far (``-1`` if the sink does not count)."""
        count = getattr(self.sink, "events_emitted", None)
        return count if isinstance(count, int) else -1

    def maybe_keyframe(self) -> None:
        """Take a keyframe if enough events passed since the last (see the module docstring)."""
        if self._keyframe is None:
            return
        emitted = self.events_emitted()
        due = max(self.keyframe_min_events, 8 * len(self.runtime.processes))
        if emitted - self._last_keyframe >= due:
            self.keyframe()

    def keyframe(self) -> None:
        """Take a keyframe now."""
        if self._keyframe is not None:
            self._last_keyframe = max(self.events_emitted(), 0)
            self._keyframe()

    def close(self) -> None:
        """Close the sink if this runtime opened it."""
        if self.owned:
            self.sink.close()


def attach_recording(
    runtime: Runtime,
    record: RecordTarget,
    *,
    metadata: dict[str, Any],
    keyframe_min_events: int,
    recorder_options: dict[str, Any],
) -> Recording | None:
    """Resolve where ``runtime``'s events go (see the module docstring) and connect it."""
    from recorder.sandbox.introspection import world

    if record is None:
        record = _env_path()
        if record is None and _default_sinks:
            record = _default_sinks[-1]
    if record is None:
        return None

    def snapshot() -> dict[str, Any]:
        return world(runtime)

    owned = False
    sink: Any
    if isinstance(record, (str, os.PathLike)):
        meta = {
            "program": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python",
            "argv": list(sys.argv),
            "seed": runtime.seed,
            "deterministic": runtime.deterministic,
            "runtime": "recorder.sandbox",
            **metadata,
        }
        options: dict[str, Any] = {
            "metadata": meta,
            "clock": runtime.clock,
            "snapshot": snapshot,
            "keyframe_every": _NEVER,
            **recorder_options,
        }
        sink = Recorder(record, **options)
        owned = True
    else:
        sink = record
        bind = getattr(sink, "bind", None)
        if bind is not None:
            bind(clock=runtime.clock, snapshot=snapshot)
    recording = Recording(runtime, sink, owned=owned, keyframe_min_events=keyframe_min_events)
    runtime.emit = sink.emit
    runtime._events_counter = recording.events_emitted
    recording.keyframe()  # the (empty) world at seq 0: replay can always start from a keyframe
    runtime.on_housekeeping(recording.maybe_keyframe)
    runtime.start_profiling()
    return recording
