"""The window's shared view state: the open session, the playhead, the selection.

:class:`ViewState` wraps the model's :class:`~cinema.model.playback.PlaybackController` (play,
pause, step, seek, run to breakpoints, bookmarks) and turns its plain callbacks and the
session's growth into Qt signals that the panels connect to. It caches what several panels ask
for at one position (the world at the playhead, the lane viewport, message pairs). Every
computation here is a call into :mod:`cinema.model`.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from typing import Any

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QThread, QTimer, Signal

from cinema.model import present
from cinema.model.breakpoints import BreakpointSet, Hit
from cinema.model.errors import ModelError
from cinema.model.event_scope import EventTable
from cinema.model.playback import MAX_EVENTS_PER_SECOND, LogEntry, PlaybackController
from cinema.model.session import Session
from cinema.model.sidecar import Bookmark
from cinema.model.world import World
from cinema.ui.hits import HitsComputer
from cinema.ui.loading import build_viewport
from cinema.views.damage import Damage, Problem
from cinema.views.viewport import LaneLayout, Viewport
from recorder.events import NO_PID
from recorder.session.format import SessionFormatError
from recorder.session.reader import Skeleton

__all__ = ["ViewState"]


class ViewState(QObject):
    """Playhead and selection for one open session: the Qt face of a
    :class:`~cinema.model.playback.PlaybackController`.

    Play, pause, step, seek, run to breakpoints and bookmarks are the controller's; this class
    turns its listeners into Qt signals, drives :meth:`PlaybackController.tick` from a QTimer,
    keeps the selection, and batches the growth of a live session.

    Signals:
        sigPosition(int): the playhead moved to this event (``-1``: the session is empty).
        sigProcess(int): the selected process changed (``-1``: none).
        sigEvent(int): the selected event changed (``-1``: none).
        sigPlaying(bool): playback started or stopped.
        sigBreakpointsChanged(): breakpoints, hits or bookmarks changed.
        sigLayout(): the lanes were regrouped (collapse / expand).
        sigHit(int, str): playback stopped at a breakpoint hit (event, breakpoint ids).
        sigGrown(int): a live session grew to this many events (batched on a timer).
        sigMessage(str): something to tell the user in passing (the status bar shows it).
        sigHighlight(): the processes to highlight changed (a "pause and highlight" hit, or a
            move that ended it): see :meth:`highlighted_pids`.
        sigLog(int): log breakpoints recorded entries (the count of :attr:`log` now).
        sigDamage(): a damaged part of the file was met (see :attr:`damage`).
    """

    sigPosition = Signal(int)
    sigProcess = Signal(int)
    sigEvent = Signal(int)
    sigPlaying = Signal(bool)
    sigBreakpointsChanged = Signal()
    sigLayout = Signal()
    sigHit = Signal(int, str)  # event number, breakpoint ids (comma separated)
    sigGrown = Signal(int)
    sigMessage = Signal(str)
    sigHighlight = Signal()
    sigLog = Signal(int)
    sigDamage = Signal()
    sigClosing = Signal()  # the window closes: workers stop

    #: Events per second played at speed 1x.
    BASE_RATE = 20.0
    #: Growth of a live session is applied at most this often (ms): never per event.
    GROWTH_BATCH_MS = 50
    #: Frame interval of the playback timer (ms).
    TICK_MS = 33
    #: A move of the playhead by more events than this is a jump (a scrub, a seek): its world
    #: is replayed without the checkpoints that make stepping back cheap, and they are laid
    #: once the playhead has rested :data:`CHECKPOINT_IDLE_MS` (a scrub moves on first).
    JUMP_EVENTS = 64
    CHECKPOINT_IDLE_MS = 250

    def __init__(
        self,
        session: Session,
        viewport: Viewport | None = None,
        parent: QObject | None = None,
        *,
        breakpoints: BreakpointSet | None = None,
        bookmarks: list[Bookmark] | None = None,
    ):
        super().__init__(parent)
        self.session = session
        self.pid = -1
        self.event_seq = -1
        self.live = session.reader.path is None
        #: A growing live session keeps the playhead on its last event while this is on.
        self.follow_live = self.live
        #: Save breakpoints and bookmarks beside the session after every change.
        self.autosave = True
        self._world: World | None = None
        self._world_seq = -2
        self._blocks: OrderedDict[int, tuple[list[int], ...]] = OrderedDict()
        if viewport is None:
            viewport = build_viewport(session)
        self.viewport = viewport
        self.layout: LaneLayout = viewport.layout
        self.speed = 1.0
        self.controller = PlaybackController(session, breakpoints, bookmarks)
        self._log_seen = 0  # log entries announced with sigLog
        #: unreadable parts of the file met so far (panels show a note instead of a traceback)
        self.damage = Damage()
        self._highlighted = False
        self.controller.on_position(self._emit_position)
        self.controller.on_state(lambda s: self._on_playback_state(s != "paused"))
        self.controller.on_breakpoint(self._on_hit)
        self.controller.on_bookmarks(lambda _marks: self._bookmarks_changed())
        #: slow breakpoint hits are computed by a worker (progress, cancel)
        self.hits = HitsComputer(self)
        self.hits.sigDone.connect(lambda _id: self.sigBreakpointsChanged.emit())
        self._bp_unsubscribe = self.breakpoints.subscribe(lambda _bps: self._breakpoints_edited())
        # playback: the controller moves by the wall time that passed between two ticks
        self._timer = QTimer(self)
        self._timer.setInterval(self.TICK_MS)
        self._timer.timeout.connect(self._on_timer)
        self._clock = QElapsedTimer()
        # live growth: the session's callback only counts; a timer applies it in batches
        self._known_events = self.event_count
        self._grow_timer = QTimer(self)
        self._grow_timer.setSingleShot(True)
        self._grow_timer.setInterval(self.GROWTH_BATCH_MS)
        self._grow_timer.timeout.connect(self.apply_growth)
        self._grown_pending = False
        # after a jump: the checkpoints for stepping back, laid when the playhead rests
        self._checkpoint_timer = QTimer(self)
        self._checkpoint_timer.setSingleShot(True)
        self._checkpoint_timer.setInterval(self.CHECKPOINT_IDLE_MS)
        self._checkpoint_timer.timeout.connect(self._lay_checkpoints)
        self._session_unsubscribe = session.subscribe(self._on_session_grew)
        self.hits.schedule()  # breakpoints saved with the session: their slow hits too

    # ---------------------------------------------------------------- queries

    @property
    def event_count(self) -> int:
        return int(self.session.event_count)

    @property
    def seq(self) -> int:
        """The event at the playhead (-1 while the session is empty)."""
        return self.controller.position if self.event_count else -1

    @property
    def playing(self) -> bool:
        return self.controller.state != "paused"

    @property
    def breakpoints(self) -> BreakpointSet:
        """The breakpoints the editor edits and playback stops at (the controller's)."""
        return self.controller.breakpoints

    @property
    def bookmarks(self) -> list[Bookmark]:
        return self.controller.bookmarks

    def report(self, exc: SessionFormatError) -> Problem:
        """Note a damaged part of the file met by a panel; ``sigDamage`` when it is new."""
        before = len(self.damage.problems)
        problem = self.damage.note(self.session, exc)
        if len(self.damage.problems) != before:
            self.sigDamage.emit()
        return problem

    def world_problem(self, exc: SessionFormatError) -> str:
        """Why the world at the playhead cannot be shown (after :meth:`world` raised ``exc``)."""
        problem = self.report(exc)
        return (
            f"What happened up to event #{self.seq:,} cannot be shown in full: it needs "
            f"{problem.events_text()}, which cannot be read ({problem.reason})."
        )

    def world(self) -> World:
        """The world at the playhead (cached until the playhead moves).

        Raises:
            SessionFormatError: the replay to the playhead crosses a damaged part of the file.
        """
        if self._world_seq != self.seq or self._world is None:
            jump = self._world is None or abs(self.seq - self._world_seq) > self.JUMP_EVENTS
            self._world = self.session.world_at(self.seq, checkpoints=not jump)
            self._world_seq = self.seq
            if jump and QThread.currentThread() is self.thread():
                self._checkpoint_timer.start()
        return self._world

    def _lay_checkpoints(self) -> None:
        if self._world is None or self._world_seq != self.seq:
            return  # moved since: that move's world decides
        # a damaged part: the step that needs it reports it
        with contextlib.suppress(SessionFormatError, ModelError):
            self.session.lay_checkpoints(self._world_seq)

    @property
    def skeleton(self) -> Skeleton:
        """The columns of every event (loaded on first use: a first screen reads only the
        events it shows, through :meth:`columns_at`)."""
        return self.session.skeleton

    def columns_at(self, seq: int) -> tuple[int, int, int, int]:
        """``(ts, kind, pid, peer)`` of event ``seq`` (from a small cache of event windows)."""
        block = seq >> 10
        cols = self._blocks.get(block)
        if cols is None:
            w = self.session.index.activity.window(block << 10, (block + 1) << 10)
            cols = (w.ts.tolist(), w.kind.tolist(), w.pid.tolist(), w.peer.tolist())
            self._blocks[block] = cols
            if len(self._blocks) > 64:
                self._blocks.popitem(last=False)
        j = seq - (block << 10)
        if j >= len(cols[0]):  # a live session grew past a cached block
            del self._blocks[block]
            return self.columns_at(seq)
        return cols[0][j], cols[1][j], cols[2][j], cols[3][j]

    def time_ns(self, seq: int | None = None) -> int:
        s = self.seq if seq is None else seq
        if s < 0 or not self.event_count:
            return int(self.session.t_first) if self.event_count else 0
        return self.columns_at(min(s, self.event_count - 1))[0]

    def rel_ns(self, seq: int | None = None) -> int:
        """Nanoseconds from the first event to ``seq`` (default: the playhead)."""
        return self.time_ns(seq) - (int(self.session.t_first) if self.event_count else 0)

    def rel_seconds(self, seq: int | None = None) -> float:
        return self.rel_ns(seq) / 1e9

    def seq_at_time(self, t_ns: float) -> int:
        """The last event at or before ``t_ns`` (-1 before the first)."""
        return EventTable.of(self.session).seq_at_or_before(int(t_ns))

    def process_label(self, pid: int) -> str:
        return present.process_label(self.session, pid)

    def hit_seqs(self, actions: tuple[str, ...] | None = None) -> np.ndarray:
        """Events where an enabled breakpoint (with one of ``actions``, default any) hits
        (the hits of a breakpoint whose evaluation meets a damaged frame are left out, and
        the damage reported)."""
        bps = self.breakpoints
        parts = []
        for bp in bps:
            if not bp.enabled or (actions is not None and bp.action not in actions):
                continue
            if self.hits.pending(bp.id) is not None:
                continue  # drawn when the worker has them
            try:
                parts.append(bps.hits_of(self.session, bp.id))
            except SessionFormatError as exc:
                self.report(exc)
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    @property
    def log(self) -> list[LogEntry]:
        """What "log" breakpoints recorded while playing or running (the controller's log)."""
        return self.controller.log

    def clear_log(self) -> None:
        self.controller.log.clear()
        self.controller.log_dropped = 0
        self._log_seen = 0
        self.sigLog.emit(0)

    def highlighted_pids(self) -> list[int]:
        """The processes of the last "pause and highlight" hit (the acting process and its
        peer), until the playhead moves on; empty otherwise."""
        hit = self.controller.highlight
        if hit is None or not 0 <= hit.seq < self.event_count:
            return []
        _ts, _kind, pid, peer = self.columns_at(hit.seq)
        pids = (pid, peer)
        return list(dict.fromkeys(p for p in pids if p != NO_PID))

    def bookmark_seqs(self) -> list[int]:
        return [b.seq for b in self.bookmarks]

    # ---------------------------------------------------------------- commands

    def seek(self, seq: int) -> None:
        """Move the playhead to event ``seq`` (clamped to the session)."""
        self.controller.seek_event(seq)

    def seek_time(self, t_ns: float) -> None:
        self.controller.seek_time(int(t_ns))

    def select_process(self, pid: int) -> None:
        """Select process ``pid`` (``-1``: none). No process (``NO_PID``: the sandbox's sender
        outside any process, a lifeline of the messages view) is nothing to inspect: it
        leaves the selection as it is and says so."""
        if pid == NO_PID or not -1 <= pid < 2**31:  # sigProcess carries a signed 32-bit int
            self.sigMessage.emit("No process: the sender outside any process (the runtime)")
            return
        if pid != self.pid:
            self.pid = pid
            self.sigProcess.emit(pid)

    def select_event(self, seq: int, *, seek: bool = True) -> None:
        """Select event ``seq`` (its process too); move the playhead there unless told not to."""
        if not 0 <= seq < self.event_count:
            return
        self.event_seq = seq
        self.sigEvent.emit(seq)
        pid = self.columns_at(seq)[2]
        if pid != NO_PID:
            self.select_process(pid)
        if seek:
            self.seek(seq)

    # ---------------------------------------------------------------- playback

    def play(self) -> None:
        """Play from the playhead (from the start when it is at the end)."""
        if self.playing or not self.event_count or self._waiting_for_hits():
            return
        if self.seq >= self.event_count - 1:
            self.controller.seek_event(0)
        self.controller.play(events_per_second=self.BASE_RATE * self.speed)

    #: Fast-forward starts this many times faster than play (each press doubles it).
    FF_FACTOR = 4.0

    def rewind(self) -> None:
        """Play backwards from the playhead (pressed again while rewinding: twice as fast)."""
        if not self.event_count or self._waiting_for_hits():
            return
        c = self.controller
        if c.state == "rewinding" and c.events_per_second is not None:
            rate = c.events_per_second * 2
        elif self.seq <= 0:
            self.sigMessage.emit("At the first event: nothing to rewind")
            return
        else:
            rate = self.BASE_RATE * self.speed
        c.rewind(events_per_second=min(rate, MAX_EVENTS_PER_SECOND))

    def fast_forward(self) -> None:
        """Play forward faster than :meth:`play` (pressed again: twice as fast)."""
        if not self.event_count or self._waiting_for_hits():
            return
        c = self.controller
        if c.state == "fast_forward" and c.events_per_second is not None:
            rate = c.events_per_second * 2
        elif self.seq >= self.event_count - 1:
            self.sigMessage.emit("At the last event: nothing to fast-forward")
            return
        else:
            rate = self.BASE_RATE * self.speed * self.FF_FACTOR
        c.fast_forward(events_per_second=min(rate, MAX_EVENTS_PER_SECOND))

    @property
    def mode(self) -> str:
        """``paused``, ``playing``, ``rewinding`` or ``fast_forward``."""
        return str(self.controller.state)

    def pause(self) -> None:
        self.controller.pause()

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def set_speed(self, speed: float) -> None:
        """Playback speed as a multiple of :attr:`BASE_RATE` events per second."""
        self.speed = max(float(speed), 0.01)
        c, rate = self.controller, self.BASE_RATE * self.speed
        if c.state == "playing":
            c.play(events_per_second=rate)
        elif c.state == "rewinding":
            c.rewind(events_per_second=rate)
        elif c.state == "fast_forward":
            c.fast_forward(events_per_second=min(rate * self.FF_FACTOR, MAX_EVENTS_PER_SECOND))

    def tick(self, wall_dt: float) -> None:
        """Advance playback by ``wall_dt`` seconds of wall time (the timer calls this)."""
        self.controller.tick(wall_dt)

    def step(self, direction: int, *, within_process: bool = False) -> None:
        """One event forward (``direction`` > 0) or back; within the selected process if asked."""
        process = self.pid if within_process and self.pid >= 0 else None
        c = self.controller
        found = c.step_forward(process) if direction > 0 else c.step_back(process)
        if found is not None:
            self.select_event(found, seek=False)

    def run_to_next_breakpoint(self) -> None:
        """F5: run to the next hit of a pausing breakpoint; say why when there is none (the
        playhead then stays where it is)."""
        self._run_to_breakpoint(1)

    def run_to_prev_breakpoint(self) -> None:
        """F6: run back to the previous pausing hit (or say why there is none)."""
        self._run_to_breakpoint(-1)

    def _run_to_breakpoint(self, direction: int) -> None:
        if not self.event_count or self._waiting_for_hits():
            return
        pausing = [b for b in self.breakpoints if b.enabled and b.action != "log"]
        if not pausing:
            self.sigMessage.emit(
                "No breakpoint to run to: add one in the Breakpoints panel"
                if not len(self.breakpoints)
                else "No enabled breakpoint pauses (log breakpoints only record their hits)"
            )
            return
        bps, seq = self.breakpoints, self.seq
        actions = ("pause", "pause_highlight")
        try:
            found = (
                bps.next_hit(self.session, seq, actions=actions)
                if direction > 0
                else bps.prev_hit(self.session, seq, actions=actions)
            )
        except SessionFormatError as exc:
            self.sigMessage.emit(f"Cannot run to the breakpoint: {self.report(exc).text()}")
            return
        if found is None:
            where = "after" if direction > 0 else "before"
            self.sigMessage.emit(f"No breakpoint hit {where} event #{seq:,}")
            return
        try:
            if direction > 0:
                self.controller.run_to_next_breakpoint()
            else:
                self.controller.run_to_prev_breakpoint()
        except SessionFormatError as exc:
            self.sigMessage.emit(f"Cannot run to the breakpoint: {self.report(exc).text()}")

    def toggle_bookmark(self, note: str = "") -> None:
        """Bookmark the playhead, or remove the bookmark there (saved with the session)."""
        if self.seq < 0:
            return
        if self.seq in self.bookmark_seqs():
            self.controller.remove_bookmark(self.seq)
        else:
            self.controller.add_bookmark(note)

    def save_sidecar(self) -> None:
        """Save breakpoints and bookmarks beside the session (not for live sessions, and
        silently not into a read-only folder: they are kept for this run)."""
        if not self.autosave or getattr(self.session.reader, "path", None) is None:
            return
        with contextlib.suppress(OSError, ModelError):
            self.controller.save()

    # ---------------------------------------------------------------- lanes

    def toggle_group(self, pid: int) -> None:
        self.layout.toggle(pid)
        self.sigLayout.emit()

    def set_collapsed(self, pids: Any) -> None:
        self.layout.set_collapsed(pids)
        self.sigLayout.emit()

    def supervisors(self) -> list[int]:
        """Processes with children in the lane tree (candidates for collapsing)."""
        return [r.pid for r in self._all_rows() if r.has_children]

    def _all_rows(self) -> list[Any]:
        keep = set(self.layout.collapsed)
        self.layout.set_collapsed(())
        rows = list(self.layout.rows)
        self.layout.set_collapsed(keep)
        return rows

    # ---------------------------------------------------------------- live growth

    def _on_session_grew(self, _n_new: int) -> None:
        # Called by Session.feed, maybe many times a second: only note it; the timer batches.
        self._grown_pending = True
        if QThread.currentThread() is self.thread() and not self._grow_timer.isActive():
            self._grow_timer.start()
        # from another thread a QTimer cannot be started: poll_growth() picks it up

    def poll_growth(self) -> None:
        """Apply growth noted from another thread (call from the GUI thread)."""
        if self._grown_pending or self.event_count != self._known_events:
            self.apply_growth()

    def apply_growth(self) -> None:
        """Take in the events a live session received since the last call: lanes, message
        pairs, then ``sigGrown``; with :attr:`follow_live` the playhead moves to the end."""
        self._grown_pending = False
        self._grow_timer.stop()
        n, before = self.event_count, self._known_events
        if n == before:
            return
        self._known_events = n
        self._blocks.clear()
        collapsed = set(self.layout.collapsed)
        self.viewport = build_viewport(self.session)
        self.layout = self.viewport.layout
        self.layout.set_collapsed(collapsed & set(self.session.processes))
        self.sigGrown.emit(n)
        self.sigLayout.emit()
        if self.follow_live and n:
            self.controller.seek_event(n - 1)
        elif before == 0:
            self.sigPosition.emit(self.seq)  # the playhead now stands on the first event

    def set_follow_live(self, on: bool) -> None:
        self.follow_live = bool(on)
        if on and self.event_count:
            self.controller.seek_event(self.event_count - 1)

    # ---------------------------------------------------------------- controller → Qt

    def _emit_position(self, seq: int) -> None:
        self.sigPosition.emit(seq)
        self._check_log()
        if self._highlighted and self.controller.highlight is None:
            self._highlighted = False  # a move ends the highlight
            self.sigHighlight.emit()

    def _check_log(self) -> None:
        n = len(self.controller.log)
        if n != self._log_seen:
            self._log_seen = n
            self.sigLog.emit(n)

    def _on_playback_state(self, playing: bool) -> None:
        if playing:
            self._clock.start()
            self._timer.start()
        else:
            self._timer.stop()
        self.sigPlaying.emit(playing)

    def _on_timer(self) -> None:
        try:
            self.controller.tick(self._clock.restart() / 1000.0)
        except SessionFormatError as exc:  # a breakpoint's hits cross a damaged frame
            self.pause()
            self.sigMessage.emit(f"Playback stopped: {self.report(exc).text()}")

    def _on_hit(self, hit: Hit) -> None:
        self.select_event(hit.seq, seek=False)  # the controller has moved the playhead there
        self._check_log()
        self._highlighted = self.controller.highlight is not None
        self.sigHighlight.emit()
        self.sigHit.emit(hit.seq, ",".join(hit.breakpoints))
        self.sigBreakpointsChanged.emit()  # "stopped" counts changed

    def _breakpoints_edited(self) -> None:
        self.hits.schedule()  # before the panels ask: what is slow is pending, not computed
        if self.hits.busy() and self.playing:
            self.pause()
            self.sigMessage.emit(f"Playback paused: {self.hits.describe()}")
        self.sigBreakpointsChanged.emit()

    def _waiting_for_hits(self) -> bool:
        """Say so and return True while breakpoint hits are still being computed."""
        if not self.hits.busy():
            return False
        self.sigMessage.emit(f"Wait a moment: {self.hits.describe()} (Cancel in Breakpoints)")
        return True

    def _bookmarks_changed(self) -> None:
        self.sigBreakpointsChanged.emit()
        self.save_sidecar()

    def close(self) -> None:
        """Stop playback and stop listening to the session."""
        self.sigClosing.emit()
        self.pause()
        self.hits.close()
        self._session_unsubscribe()
        self._grow_timer.stop()
        self._checkpoint_timer.stop()
