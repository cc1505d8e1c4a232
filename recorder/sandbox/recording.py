"""Recording: the one way an event leaves a runtime, and where it goes.

Every event of a runtime goes through :meth:`Recording.record`. It is bound once: to a no-op
while nothing records, to a :class:`~recorder.Recorder`'s own native ``emit`` (which never
raises into the program), or to a forwarder to any other sink. Neither lets a sink hurt the
program: a sink whose ``emit`` (or ``keyframe``) raises, or a Recorder closed under the runtime,
is detached, the failure is logged once and counted in :attr:`Recording.sink_failures`, and the
program runs on unrecorded (the rule of Trio's ``Instrument``). Hot paths test
:attr:`Recording.active` first, so that building an event's data costs nothing when nobody
records.

Where events go, in order of precedence:

1. ``Runtime(record=...)``: a path (a :class:`~recorder.Recorder` is opened on it), a
   ``Recorder``, or any *sink* of :mod:`recorder.sink`: ``emit(kind, pid, peer, ref, data)``
   and optionally ``keyframe(world)``, ``events_emitted``, ``bind(clock=...)`` and
   ``close()``. A sink captures ``data`` before ``emit`` returns: the program may change its
   objects right after.
2. The ``CINEMA_RECORD`` environment variable (set by ``cinema record``): a session file path.
   The first runtime of the program records to it, later ones to ``NAME-2.cinema``, ...
   ``CINEMA_RECORD_SEED`` replaces the seed of deterministic runtimes.
3. The innermost :func:`recorder.testing.capture_events` block.

GenServer states are frozen (:func:`recorder.payload.freeze`) when their STATE event is
recorded; keyframes embed those same bytes, so an unchanged state is never encoded again.
Keyframes are adaptive: one is taken when at least ``max(keyframe_min_events,
8 * (live processes + mailbox entries in the last keyframe))`` events passed since the last, so
a keyframe (which grows with the number of processes and with the queued messages it shows, up
to 100 per process) stays a small fraction of the file and of the recording's cost -- a
fan-out whose receivers keep long mailboxes would otherwise spend more on keyframes than on its
events -- or sooner, once :data:`SPAWNS_PER_KEYFRAME`
processes were spawned since the last one (and a quarter of ``keyframe_min_events`` events
passed): a tree of thousands of processes booting is a long run of events a replay must apply
one by one (spawns, child specs, names, links), and this bounds what a seek there replays.
The Recorder's own schedule is switched off.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recorder.events import EventKind
from recorder.payload import Limits, Packed, Pid, Ref, freeze, freeze_after
from recorder.sandbox.provenance import ENV_RERUN, program_rerun, rerun_path
from recorder.session.keyframes import MailboxCells, ProcessColumns
from recorder.session.writer import Recorder, RecorderClosed
from recorder.sink import EventSink, wants_world

if TYPE_CHECKING:
    from recorder.sandbox.process import Process

__all__ = [
    "ENV_RECORD",
    "ENV_SEED",
    "IMMUTABLE",
    "EventSink",
    "Record",
    "RecordTarget",
    "Recording",
    "captured",
    "env_seed",
    "open_sink",
    "pop_default_sink",
    "push_default_sink",
    "state_data",
]

log = logging.getLogger("recorder.sandbox")
log.addHandler(logging.NullHandler())

ENV_RECORD = "CINEMA_RECORD"
ENV_SEED = "CINEMA_RECORD_SEED"
_NEVER = 1 << 62
#: Processes spawned since the last keyframe that make the next one due (see the docstring).
SPAWNS_PER_KEYFRAME = 512
_STATE = int(EventKind.STATE)

#: ``record(kind, pid, peer, ref, data)``.
Record = Callable[[int, int, int, int, Any], None]

#: Types whose values never change: recorded as they are, without freezing.
IMMUTABLE = frozenset({int, float, complex, str, bytes, bool, type(None), Pid, Ref})


def captured(value: Any) -> Any:
    """``value`` as it is now, for the recording: itself if its type cannot change (numbers,
    strings, pids), else frozen into a :class:`~recorder.payload.Packed` (a mutable message
    may be changed by its receiver, or by its sender, after it was sent).

    Tuples are frozen too: proving in Python that a tuple holds nothing mutable costs several
    times what the native encoder takes to freeze it, and the frozen bytes are the ones the
    recorder would have written for the tuple (then copied, not encoded again)."""
    if type(value) in IMMUTABLE:
        return value
    return freeze(value)


_STATE_PREFIXES: dict[str, bytes] = {}


def _state_prefix(trigger: str) -> bytes | None:
    """The encoded beginning of ``{"trigger": trigger, "state": ...}`` (cached per trigger),
    or ``None`` when the map cannot be made by joining (a trigger that is not a str)."""
    prefix = _STATE_PREFIXES.get(trigger) if type(trigger) is str else None
    if prefix is None:
        whole = freeze({"trigger": trigger, "state": None}).data
        if type(trigger) is not str or not whole.endswith(b"\xc0"):
            return None
        prefix = whole[:-1]
        if len(_STATE_PREFIXES) < 64:
            _STATE_PREFIXES[trigger] = prefix
    return prefix


def state_data(trigger: str, frozen: Packed) -> Packed:
    """The data of a STATE event, ``{"trigger": trigger, "state": frozen}``, frozen: the same
    bytes the encoder writes for that map, made by joining the map's encoded beginning (one
    per trigger, encoded once) and the state's bytes, so the state is not copied through a
    Python dict and a second encoder pass for every event."""
    prefix = _state_prefix(trigger)
    if prefix is None:
        return freeze({"trigger": trigger, "state": frozen})
    return Packed(prefix + (frozen.data or b"\xc0"))  # empty bytes: None, as encoded alone


RecordTarget = str | os.PathLike[str] | Recorder | EventSink | None

_default_sinks: list[EventSink] = []
_env_uses = 0
_rerun_redirects = 0  # files a re-run (CINEMA_RERUN) redirected so far


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


def _ignore(kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
    return None


class Recording:
    """A runtime's connection to its sink: the recording choke point, keyframes, states.

    Args:
        clock: the runtime clock (ns), for sinks that stamp events themselves.
        world: builds the keyframe world (``docs/world-schema.md``).
        recorder_world: builds it for a :class:`~recorder.Recorder` with the given limits
            (mailboxes as encoded cells: :func:`recorder.sandbox.introspection.world`).
        live_processes: how many processes are alive (the keyframe interval grows with it).
        keyframe_min_events: the smallest keyframe interval, in events.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], int],
        world: Callable[[], dict[str, Any]],
        live_processes: Callable[[], int],
        keyframe_min_events: int,
        spawned: Callable[[], int] | None = None,
        recorder_world: Callable[[Limits], dict[str, Any]] | None = None,
    ) -> None:
        self.record: Record = _ignore
        self.active = False
        self.sink: Any = None
        self.owned = False
        self.path: str | None = None
        self.keyframe_min_events = keyframe_min_events
        #: Sinks detached because they raised (each failure is logged once).
        self.sink_failures = 0
        #: Keyframes that could not be built (keyframes stop after the first).
        self.keyframe_failures = 0
        self._clock = clock
        self._world = world
        self._recorder_world = recorder_world
        #: The limits of the Recorder attached (its keyframes may take encoded mailboxes).
        self._recorder_limits: Limits | None = None
        self._live = live_processes
        self._spawned = spawned
        self._spawned_at_keyframe = 0
        self._push_keyframe: Callable[[Any], None] | None = None
        #: The Recorder's own emit when record() is bound to it (nobody else sees the data).
        self._direct: Record | None = None
        self._pull_keyframe: Callable[[], None] | None = None
        self._last_keyframe = 0
        #: Mailbox entries the last keyframe's world showed (they weigh on its cost as rows do).
        self._keyframe_messages = 0

    # ------------------------------------------------------------------ attaching

    def attach(self, sink: Any, *, owned: bool) -> None:
        """Send every later event to ``sink`` (``owned``: :meth:`close` closes it)."""
        self.sink = sink
        self.owned = owned
        self.path = getattr(sink, "path", None)
        emit = sink.emit
        failed = self._sink_failed
        forward: Record
        if isinstance(sink, Recorder):
            # A Recorder's emit (one native call) never raises into the program: a recording
            # that fails stops on its own. The one exception is an emit after someone else
            # closed it: the Recorder tells us when it closes, and record() then detaches on
            # the next event as if the sink had raised. Binding emit directly saves a Python
            # call per event, the largest part of what the choke point itself costs.
            sink.add_close_listener(self._sink_closed)
            forward = self._direct = emit
            self._recorder_limits = sink.limits
        else:

            def forward(kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
                try:
                    emit(kind, pid, peer, ref, data)
                except Exception as exc:  # a broken sink never hurts the program
                    failed(exc, "emit")

        keyframe = getattr(sink, "keyframe", None)
        if callable(keyframe):
            if wants_world(sink):
                self._push_keyframe = keyframe
            else:  # an older sink: keyframe() calls back the snapshot bound below
                self._pull_keyframe = keyframe
        bind = getattr(sink, "bind", None)
        if callable(bind) and not isinstance(sink, Recorder):
            if self._pull_keyframe is not None:
                bind(clock=self._clock, snapshot=self._world)
            else:
                bind(clock=self._clock)
        self.record = forward
        self.active = True
        self.keyframe()  # the (empty) world at seq 0: replay can always start from a keyframe

    def wrap(self, wrapper: Callable[[Record], Record]) -> Callable[[], None]:
        """Route every later event through ``wrapper(forward)`` until the returned function
        is called: a live debugger's gate (breakpoints, pause, step), installed only while it is
        needed so that it costs nothing otherwise. May be called from another thread (one
        attribute store). The wrapper must never raise; it calls ``forward`` to record."""
        inner = self.record
        wrapped = wrapper(inner)
        self.record = wrapped

        def unwrap() -> None:
            if self.record is wrapped:  # a detach since then already removed it
                self.record = inner

        return unwrap

    def detach(self) -> None:
        """Stop recording: :meth:`record` becomes a no-op again."""
        self.record = _ignore
        self.active = False
        self._direct = None
        self._recorder_limits = None
        self._push_keyframe = None
        self._pull_keyframe = None
        if isinstance(self.sink, Recorder):
            self.sink.remove_close_listener(self._sink_closed)

    def _sink_closed(self) -> None:
        # The Recorder was closed under us (maybe on another thread): the next event detaches.
        if self.active:
            self.record = self._emit_after_close

    def _emit_after_close(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
        if self.active:
            self._sink_failed(RecorderClosed("emit() on a closed Recorder"), "emit")

    def _sink_failed(self, exc: BaseException, what: str) -> None:
        sink = self.sink
        self.sink_failures += 1
        self.detach()
        log.error(
            "event sink %r failed in %s() and was detached; the program goes on unrecorded",
            sink,
            what,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        if self.owned:
            self._close_sink(sink)

    def _close_sink(self, sink: Any) -> None:
        self.owned = False
        try:
            sink.close()
        except Exception:  # the sink is already broken; its file keeps what it wrote
            log.exception("closing the failed event sink %r failed too", sink)

    def close(self) -> None:
        """Stop recording and close the sink if the runtime opened it."""
        sink, owned = self.sink, self.owned
        self.detach()
        if owned and sink is not None:
            self.owned = False
            sink.close()

    # ------------------------------------------------------------------ states

    def state(self, proc: Process, trigger: str, peer: int, ref: int) -> None:
        """Record ``proc``'s state as a STATE event, frozen now: the process may mutate the live
        object later, and the keyframes embed these bytes instead of encoding it again."""
        if self.active:
            record = self.record
            if record is self._direct:  # straight into a Recorder: the map frozen whole
                prefix = _STATE_PREFIXES.get(trigger) if type(trigger) is str else None
                if prefix is not None or (prefix := _state_prefix(trigger)) is not None:
                    # state_data(trigger, freeze(state)), from one encoding in one call
                    frozen, data = freeze_after(proc._state, prefix)
                    proc._recorded_state = frozen
                    record(_STATE, proc._n, peer, ref, data)
                    return
            frozen = freeze(proc._state)
            proc._recorded_state = frozen
            if record is self._direct:
                record(_STATE, proc._n, peer, ref, state_data(trigger, frozen))
            else:  # a sink or a live gate may read the map (the same bytes either way)
                record(_STATE, proc._n, peer, ref, {"trigger": trigger, "state": frozen})

    # ------------------------------------------------------------------ keyframes

    def events_emitted(self) -> int:
        """Events given to the sink so far (``-1`` if the sink does not count)."""
        count = getattr(self.sink, "events_emitted", None)
        return count if isinstance(count, int) else -1

    def maybe_keyframe(self) -> None:
        """Take a keyframe if enough events passed since the last (see the module docstring)."""
        if self._push_keyframe is None and self._pull_keyframe is None:
            return
        since = self.events_emitted() - self._last_keyframe
        if since >= max(self.keyframe_min_events, 8 * (self._live() + self._keyframe_messages)) or (
            self._spawned is not None
            and self._spawned() - self._spawned_at_keyframe >= SPAWNS_PER_KEYFRAME
            and since >= self.keyframe_min_events // 4
        ):
            self.keyframe()

    def keyframe(self) -> None:
        """Take a keyframe now (if the sink takes keyframes)."""
        push, pull = self._push_keyframe, self._pull_keyframe
        if push is None and pull is None:
            return
        self._last_keyframe = max(self.events_emitted(), 0)
        if self._spawned is not None:
            self._spawned_at_keyframe = self._spawned()
        if pull is not None:  # the sink calls back for the world (older sink protocol)
            try:
                pull()
            except Exception as exc:
                self._sink_failed(exc, "keyframe")
            return
        assert push is not None
        limits, for_recorder = self._recorder_limits, self._recorder_world
        try:
            world = (
                for_recorder(limits)
                if limits is not None and for_recorder is not None
                else self._world()
            )
        except Exception:  # our own bug: keyframes stop, events go on
            self.keyframe_failures += 1
            self._push_keyframe = None
            log.exception("building a keyframe world failed; keyframes disabled")
            return
        self._keyframe_messages = _mailbox_entries(world)
        try:
            push(world)
        except Exception as exc:
            self._sink_failed(exc, "keyframe")


def _mailbox_entries(world: dict[str, Any]) -> int:
    """How many queued messages ``world``'s live processes show (the keyframe's weight beyond
    its rows)."""
    procs = world.get("processes")
    if isinstance(procs, ProcessColumns):
        column = procs.columns.get("mailbox", [])
        return sum(len(m) for m in column if isinstance(m, (list, MailboxCells)))
    if not isinstance(procs, list):
        return 0
    total = 0
    for p in procs:
        mailbox = p.get("mailbox") if isinstance(p, dict) else None
        if isinstance(mailbox, (list, MailboxCells)):
            total += len(mailbox)
    return total


def open_sink(
    record: RecordTarget,
    *,
    clock: Callable[[], int],
    seed: int,
    deterministic: bool,
    metadata: dict[str, Any],
    recorder_options: dict[str, Any],
    need_recorder: bool = False,
    replay_options: dict[str, Any] | None = None,
) -> tuple[Any, bool] | None:
    """Resolve where a runtime's events go (see the module docstring).

    Args:
        need_recorder: when nothing else records, open a :class:`~recorder.Recorder` with no
            file anyway (its ``outputs``, a live server, take the stream).
        replay_options: the runtime options a re-run needs (the header's ``rerun`` map, see
            :mod:`recorder.sandbox.provenance`).

    Returns:
        ``(sink, owned)``, or ``None`` when nothing records.
    """
    global _rerun_redirects
    from_env = False
    if record is None:
        record = _env_path()
        from_env = record is not None
        if record is None and _default_sinks and not need_recorder:
            record = _default_sinks[-1]
    if record is None and not need_recorder:
        return None
    if record is not None and not isinstance(record, (str, os.PathLike)):
        return record, False
    if record is not None:
        rerun_folder = os.environ.get(ENV_RERUN, "").strip()
        if rerun_folder and not from_env:  # a re-run never writes over the program's files
            _rerun_redirects += 1
            record = rerun_path(rerun_folder, _rerun_redirects)
        metadata = _with_rerun(metadata, from_env, replay_options or {})
    meta = {
        "program": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python",
        "argv": list(sys.argv),
        "seed": seed,
        "deterministic": deterministic,
        "runtime": "recorder.sandbox",
        **metadata,
    }
    options: dict[str, Any] = {
        "metadata": meta,
        "clock": clock,
        "keyframe_every": _NEVER,  # the runtime decides when and pushes the world
        **recorder_options,
    }
    return Recorder(record, **options), True


def _with_rerun(
    metadata: dict[str, Any], from_env: bool, options: dict[str, Any]
) -> dict[str, Any]:
    """``metadata`` with the header's ``rerun`` map (:mod:`recorder.sandbox.provenance`): the
    caller's (a scenario's), else the program's; none when the caller passes ``None``."""
    rerun = metadata.get("rerun", ...)
    if rerun is None:  # the caller says a re-run of this program means nothing
        return {k: v for k, v in metadata.items() if k != "rerun"}
    if not isinstance(rerun, dict):
        how, index = ("cinema record", _env_uses) if from_env else ("program", None)
        rerun = program_rerun(how=how, runtime_index=index)
    return {**metadata, "rerun": {**rerun, "options": dict(options)}}
