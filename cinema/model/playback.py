"""The playback controller: play, pause, rewind, seek, step and run to breakpoints.

No threads and no timers: the UI (or a test) calls :meth:`PlaybackController.tick` with the wall
time that passed, and the controller moves its position by that much recorded time (times the
speed) or by that many events (event-by-event mode). Everything is deterministic: the same
calls give the same positions, hits and log.

Position is an event number: the world shown is the world *after* that event. It stays within
``0 .. event_count - 1`` (both ends clamp; playing into an end pauses there).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, TypeVar

import numpy as np

from cinema.model.breakpoints import BreakpointSet, Hit
from cinema.model.errors import ModelError
from cinema.model.event_scope import EventTable, reader_of
from cinema.model.sidecar import Bookmark, load_sidecar, save_sidecar, sidecar_path
from recorder.events import KIND_NAMES, EventKind, kind_from_name

__all__ = ["MAX_SPEED", "MIN_SPEED", "LogEntry", "PlaybackController", "PlaybackState"]

log = logging.getLogger("cinema.model.playback")
log.addHandler(logging.NullHandler())

PlaybackState = Literal["paused", "playing", "rewinding", "fast_forward"]
MIN_SPEED = 0.1
MAX_SPEED = 100.0
MAX_EVENTS_PER_SECOND = 1_000_000.0
_PAUSING = ("pause", "pause_highlight")

T = TypeVar("T")


class LogEntry(NamedTuple):
    """A hit of a ``log`` breakpoint met while playing or running."""

    seq: int
    breakpoint: str
    ts: int
    text: str


class PlaybackController:
    """Drives the current position through a session.

    Args:
        session: a model ``Session`` (or a ``SessionReader``).
        breakpoints: the breakpoints to stop at (a new empty set by default).
        bookmarks: initial bookmarks.
        max_log: log entries kept (later ones are counted in :attr:`log_dropped`).

    Attributes:
        breakpoints: the :class:`BreakpointSet` consulted by play and run.
        log: entries of ``log`` breakpoints met so far.
        highlight: the last hit of a ``pause_highlight`` breakpoint (None after a move).
    """

    def __init__(
        self,
        session: Any,
        breakpoints: BreakpointSet | None = None,
        bookmarks: list[Bookmark] | None = None,
        *,
        max_log: int = 10_000,
    ) -> None:
        self.session = session
        self.breakpoints = breakpoints if breakpoints is not None else BreakpointSet()
        self._table = EventTable.of(session)
        self._pos = 0
        self._state: PlaybackState = "paused"
        self._speed = 1.0
        self._eps: float | None = None
        self._play_ns = 0.0
        self._event_acc = 0.0
        self._stop_at_breakpoints = True
        self._bookmarks: dict[int, Bookmark] = {b.seq: b for b in bookmarks or []}
        self.max_log = max_log
        self.log: list[LogEntry] = []
        self.log_dropped = 0
        self.highlight: Hit | None = None
        self._on_position: list[Callable[[int], None]] = []
        self._on_state: list[Callable[[PlaybackState], None]] = []
        self._on_breakpoint: list[Callable[[Hit], None]] = []
        self._on_bookmarks: list[Callable[[list[Bookmark]], None]] = []

    # ------------------------------------------------------------------ facts

    @property
    def event_count(self) -> int:
        return self._table.refresh()

    @property
    def position(self) -> int:
        """The current event number."""
        return self._pos

    @property
    def time(self) -> int:
        """Timestamp (ns, the session's clock) of the current event (0 for an empty session)."""
        return self._table.time_of(self._pos) if self.event_count else 0

    @property
    def elapsed(self) -> float:
        """Seconds from the first event to the current one."""
        return (self.time - self._table.t0) / 1e9 if self.event_count else 0.0

    @property
    def state(self) -> PlaybackState:
        return self._state

    @property
    def speed(self) -> float:
        """Multiple of recorded time while playing (ignored in event-by-event mode)."""
        return self._speed

    @property
    def events_per_second(self) -> float | None:
        """Events per wall second in event-by-event mode, or None in recorded-time mode."""
        return self._eps

    # ------------------------------------------------------------------ listeners

    def on_position(self, callback: Callable[[int], None]) -> Callable[[], None]:
        """Call ``callback(seq)`` when the position changes; returns an unsubscribe function."""
        return _subscribe(self._on_position, callback)

    def on_state(self, callback: Callable[[PlaybackState], None]) -> Callable[[], None]:
        """Call ``callback(state)`` when the playback state changes."""
        return _subscribe(self._on_state, callback)

    def on_breakpoint(self, callback: Callable[[Hit], None]) -> Callable[[], None]:
        """Call ``callback(hit)`` when playback or a run stops at a breakpoint."""
        return _subscribe(self._on_breakpoint, callback)

    def on_bookmarks(self, callback: Callable[[list[Bookmark]], None]) -> Callable[[], None]:
        """Call ``callback(bookmarks)`` when bookmarks are added or removed."""
        return _subscribe(self._on_bookmarks, callback)

    # ------------------------------------------------------------------ play / pause

    def play(
        self, speed: float = 1.0, *, events_per_second: float | None = None,
        stop_at_breakpoints: bool = True,
    ) -> None:  # fmt: skip
        """Play forward at ``speed`` × recorded time, or ``events_per_second`` events per second.

        Raises:
            ModelError: a speed outside 0.1 .. 100, or a non-positive event rate.
        """
        self._start("playing", speed, events_per_second, stop_at_breakpoints)

    def fast_forward(
        self, speed: float = 10.0, *, events_per_second: float | None = None,
        stop_at_breakpoints: bool = True,
    ) -> None:  # fmt: skip
        """Like :meth:`play`, shown as fast-forward (default 10×)."""
        self._start("fast_forward", speed, events_per_second, stop_at_breakpoints)

    def rewind(
        self, speed: float = 1.0, *, events_per_second: float | None = None,
        stop_at_breakpoints: bool = True,
    ) -> None:  # fmt: skip
        """Play backward through recorded time (or events)."""
        self._start("rewinding", speed, events_per_second, stop_at_breakpoints)

    def pause(self) -> None:
        self._set_state("paused")

    def toggle(self) -> None:
        """Pause when moving, else play at the last speed."""
        if self._state == "paused":
            self._start("playing", self._speed, self._eps, self._stop_at_breakpoints)
        else:
            self.pause()

    def _start(
        self, state: PlaybackState, speed: float, eps: float | None, stop_at_bps: bool
    ) -> None:
        if eps is not None:
            if not 0 < eps <= MAX_EVENTS_PER_SECOND:
                raise ModelError(
                    f"events per second must be > 0 and at most {MAX_EVENTS_PER_SECOND:g}, "
                    f"not {eps:g}"
                )
        elif not MIN_SPEED <= speed <= MAX_SPEED:
            raise ModelError(
                f"speed must be between {MIN_SPEED}x and {MAX_SPEED:g}x, not {speed:g}x"
            )
        self._speed = float(speed)
        self._eps = None if eps is None else float(eps)
        self._stop_at_breakpoints = stop_at_bps
        self._resync()
        if self.event_count == 0:
            return
        self._set_state(state)

    def tick(self, wall_dt: float) -> int:
        """Advance playback by ``wall_dt`` seconds of wall time; return the position.

        Moving into either end pauses there; a ``pause`` breakpoint met on the way stops
        playback at its event; ``log`` breakpoints met are appended to :attr:`log`.
        """
        if self._state == "paused" or wall_dt <= 0:
            return self._pos
        n = self.event_count
        direction = -1 if self._state == "rewinding" else 1
        if self._eps is not None:
            self._event_acc += wall_dt * self._eps
            steps = int(self._event_acc)
            self._event_acc -= steps
            target = self._pos + direction * steps
        else:
            self._play_ns += direction * wall_dt * self._speed * 1e9
            target = self._table.seq_at_or_before(self._play_ns)
        at_end = target >= n - 1 if direction > 0 else target <= 0
        target = min(max(target, 0), n - 1)
        play_ns, event_acc = self._play_ns, self._event_acc
        stopped = self._travel(target, stop=self._stop_at_breakpoints)
        if stopped is None:
            # keep the play head between events (a move re-synced it onto the event)
            self._play_ns, self._event_acc = play_ns, event_acc
            if at_end:
                self._set_state("paused")
                self._resync()
        return self._pos

    # ------------------------------------------------------------------ seek & step

    def seek_event(self, seq: int) -> int:
        """Go to event ``seq`` (clamped to the session); return the new position."""
        n = self.event_count
        self._move(min(max(int(seq), 0), max(n - 1, 0)))
        return self._pos

    def seek_time(self, t_ns: int) -> int:
        """Go to the last event at or before ``t_ns`` (the session's clock, ns), clamped."""
        if not self.event_count:
            return self._pos
        return self.seek_event(self._table.seq_at_or_before(t_ns))

    def seek_elapsed(self, seconds: float) -> int:
        """Go to the last event at most ``seconds`` after the first event."""
        return self.seek_time(self._table.t0 + round(seconds * 1e9))

    def step_forward(
        self, process: str | int | None = None, kind: str | int | None = None
    ) -> int | None:
        """Go to the next event (of ``process`` and/or ``kind``, if given); pauses playback.

        Returns:
            The new position, or None when there is no such event (the position stays).
        """
        return self._step(1, process, kind)

    def step_back(
        self, process: str | int | None = None, kind: str | int | None = None
    ) -> int | None:
        """Go to the previous event (of ``process`` and/or ``kind``, if given); pauses."""
        return self._step(-1, process, kind)

    def _step(
        self, direction: int, process: str | int | None, kind: str | int | None
    ) -> int | None:
        self.pause()
        n = self.event_count
        pids = self._pids(process)
        code = self._kind(kind)
        if pids is None and code is None:
            seq = self._pos + direction
            found = seq if 0 <= seq < n else None
        else:
            found = self._find(direction, pids, code)
        if found is not None:
            self._move(found)
        return found

    def _find(self, direction: int, pids: np.ndarray | None, code: int | None) -> int | None:
        """The nearest matching event in ``direction``: among the events of ``pids`` (the
        session's index of events by process), else scanning windows that grow 4× (cheap
        near, bounded far)."""
        if pids is not None:
            return self._find_of(direction, pids, code)
        n, width = self.event_count, 4096
        lo = hi = self._pos
        while (direction > 0 and hi < n - 1) or (direction < 0 and lo > 0):
            if direction > 0:
                a, b = hi + 1, min(hi + 1 + width, n)
                hi = b - 1
            else:
                a, b = max(lo - width, 0), lo
                lo = a
            idx = np.flatnonzero(self._table.columns(a, b).kind == code)
            if len(idx):
                return a + int(idx[0] if direction > 0 else idx[-1])
            width *= 4
        return None

    def _find_of(self, direction: int, pids: np.ndarray, code: int | None) -> int | None:
        index = self._table.index
        n = self.event_count
        best: int | None = None
        for pid in pids.tolist():
            seqs = index.actor_events(pid)
            seqs = seqs[seqs < n]
            if code is not None and len(seqs):
                seqs = seqs[self._table.kind[seqs] == code]
            if direction > 0:
                i = int(np.searchsorted(seqs, self._pos, side="right"))
                if i < len(seqs) and (best is None or seqs[i] < best):
                    best = int(seqs[i])
            else:
                i = int(np.searchsorted(seqs, self._pos, side="left")) - 1
                if i >= 0 and (best is None or seqs[i] > best):
                    best = int(seqs[i])
        return best

    def _pids(self, process: str | int | None) -> np.ndarray | None:
        if process is None:
            return None
        if isinstance(process, int) and not isinstance(process, bool):
            return np.array([process], dtype=np.uint32)
        procs = reader_of(self.session).processes
        pids = [p for p, info in procs.items() if info.name == process]
        if not pids:
            names = ", ".join(sorted({i.name for i in procs.values()})[:20])
            raise ModelError(f"no process named {process!r} in this session (processes: {names})")
        return np.array(pids, dtype=np.uint32)

    @staticmethod
    def _kind(kind: str | int | None) -> int | None:
        if kind is None:
            return None
        if isinstance(kind, int):
            return int(EventKind(kind))
        try:
            return int(kind_from_name(kind))
        except ValueError as exc:
            raise ModelError(str(exc)) from None

    # ------------------------------------------------------------------ breakpoints

    def run_to_next_breakpoint(self) -> Hit | None:
        """Run forward to the next ``pause`` / ``pause_highlight`` hit, logging ``log`` hits
        on the way. Without one, stop at the last event and return None."""
        self.pause()
        n = self.event_count
        if n == 0:
            return None
        return self._travel(n - 1, stop=True)

    def run_to_prev_breakpoint(self) -> Hit | None:
        """Run backward to the previous pausing hit (the first event when there is none)."""
        self.pause()
        if self.event_count == 0:
            return None
        return self._travel(0, stop=True)

    def _travel(self, target: int, *, stop: bool) -> Hit | None:
        """Move toward ``target``: log ``log`` hits passed, stop at the first pausing hit."""
        pos = self._pos
        if target == pos:
            return None
        bps = self.breakpoints
        hit: Hit | None = None
        if stop:
            found = (
                bps.next_hit(self.session, pos, actions=_PAUSING)
                if target > pos
                else bps.prev_hit(self.session, pos, actions=_PAUSING)
            )
            if found is not None and (found.seq <= target if target > pos else found.seq >= target):
                hit, target = found, found.seq
        self._log_range(pos, target)
        if hit is not None:
            for bp_id in hit.breakpoints:
                if bps.get(bp_id).action in _PAUSING:
                    bps.get(bp_id).hit_count += 1
            self._move(target)
            self.highlight = hit if hit.action == "pause_highlight" else None
            self._set_state("paused")
            _emit(self._on_breakpoint, hit)
            return hit
        self._move(target)
        return None

    def _log_range(self, pos: int, target: int) -> None:
        """Log the hits of ``log`` breakpoints between ``pos`` (excluded) and ``target``."""
        lo, hi = (pos + 1, target + 1) if target > pos else (target, pos)
        entries: list[tuple[int, str]] = []
        for bp in self.breakpoints:
            if not bp.enabled or bp.action != "log":
                continue
            h = self.breakpoints.hits_of(self.session, bp.id)
            sel = h[np.searchsorted(h, lo) : np.searchsorted(h, hi)]
            bp.hit_count += len(sel)
            entries.extend((int(s), bp.id) for s in sel)
        entries.sort(reverse=target < pos)  # in the order they were met
        room = max(self.max_log - len(self.log), 0)
        for seq, bp_id in entries[:room]:
            self.log.append(LogEntry(seq, bp_id, self._table.time_of(seq), self._describe(seq)))
        self.log_dropped += max(len(entries) - room, 0)

    def _describe(self, seq: int) -> str:
        cols = self._table.columns(seq, seq + 1)
        pid = int(cols.pid[0])
        name = self._table.process_name(pid) or f"<0.{pid}.0>"
        kind = KIND_NAMES.get(int(cols.kind[0]), "?")
        return f"#{seq} {kind} {name}"

    # ------------------------------------------------------------------ bookmarks

    @property
    def bookmarks(self) -> list[Bookmark]:
        """Bookmarks in event order."""
        return [self._bookmarks[s] for s in sorted(self._bookmarks)]

    def add_bookmark(self, note: str = "", seq: int | None = None) -> Bookmark:
        """Bookmark ``seq`` (default: the current event); replaces a bookmark already there."""
        seq = self._pos if seq is None else int(seq)
        if not 0 <= seq < max(self.event_count, 1):
            raise ModelError(
                f"cannot bookmark event #{seq}: the session has {self.event_count} events"
            )
        mark = self._bookmarks[seq] = Bookmark(seq, note)
        _emit(self._on_bookmarks, self.bookmarks)
        return mark

    def remove_bookmark(self, seq: int) -> None:
        if self._bookmarks.pop(seq, None) is None:
            raise ModelError(f"there is no bookmark at event #{seq}")
        _emit(self._on_bookmarks, self.bookmarks)

    def jump_to_bookmark(self, index: int) -> int:
        """Go to the ``index``-th bookmark (event order; negative counts from the end)."""
        marks = self.bookmarks
        if not -len(marks) <= index < len(marks):
            raise ModelError(f"there is no bookmark #{index} ({len(marks)} bookmarks)")
        return self.seek_event(marks[index].seq)

    def next_bookmark(self) -> Bookmark | None:
        """Go to the first bookmark after the position (None: there is none)."""
        after = [b for b in self.bookmarks if b.seq > self._pos]
        if after:
            self.seek_event(after[0].seq)
        return after[0] if after else None

    def prev_bookmark(self) -> Bookmark | None:
        before = [b for b in self.bookmarks if b.seq < self._pos]
        if before:
            self.seek_event(before[-1].seq)
        return before[-1] if before else None

    def save(self, path: str | os.PathLike[str] | None = None) -> str:
        """Save breakpoints and bookmarks (default: ``<session>.cinema-bp.json``)."""
        return str(save_sidecar(self._sidecar(path), self.breakpoints, self.bookmarks))

    def load(self, path: str | os.PathLike[str] | None = None) -> None:
        """Replace breakpoints and bookmarks with those saved in ``path`` (default: beside
        the session).

        Raises:
            SidecarError: a corrupt or newer file (nothing is replaced then).
        """
        bps, marks = load_sidecar(self._sidecar(path))
        self.breakpoints = bps
        self._bookmarks = {b.seq: b for b in marks}
        _emit(self._on_bookmarks, self.bookmarks)

    def _sidecar(self, path: str | os.PathLike[str] | None) -> str | os.PathLike[str]:
        if path is not None:
            return path
        session_path = reader_of(self.session).path
        if session_path is None:
            raise ModelError("a live session has no file: give the path to save breakpoints to")
        return sidecar_path(session_path)

    # ------------------------------------------------------------------ internals

    def _move(self, seq: int) -> None:
        if seq != self._pos:
            self._pos = seq
            self.highlight = None
            _emit(self._on_position, seq)
        self._resync()

    def _resync(self) -> None:
        """Put the play head on the current event (after a seek, a step or a stop)."""
        self._play_ns = float(self._table.time_of(self._pos)) if self.event_count else 0.0
        self._event_acc = 0.0

    def _set_state(self, state: PlaybackState) -> None:
        if state != self._state:
            self._state = state
            _emit(self._on_state, state)


def _subscribe(listeners: list[Callable[[T], None]], cb: Callable[[T], None]) -> Callable[[], None]:
    listeners.append(cb)

    def unsubscribe() -> None:
        if cb in listeners:
            listeners.remove(cb)

    return unsubscribe


def _emit(listeners: list[Callable[[T], None]], value: T) -> None:
    """Call each listener; one that raises is logged and dropped (never breaks playback)."""
    for cb in list(listeners):
        try:
            cb(value)
        except Exception:
            log.exception("playback listener %r raised; it is removed", cb)
            if cb in listeners:
                listeners.remove(cb)
