"""The window's shared view state: the open session, the playhead, the selection.

:class:`ViewState` turns the model's plain callbacks into Qt signals that the panels connect to,
and caches what several panels ask for at one position (the world at the playhead, the lane
viewport, message pairs). Every computation here is a call into :mod:`cinema.model`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from cinema.model.breakpoints import BreakpointSet
from cinema.model.session import Session
from cinema.model.sidecar import Bookmark
from cinema.model.viewport import LaneLayout, Viewport
from cinema.model.world import World
from recorder.events import EventKind

__all__ = ["ViewState", "message_pairs"]


def message_pairs(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """``(send_seq, recv_seq)`` of delivered messages (from the model's flow pairing)."""
    from cinema.model.flow import message_flow

    mf = message_flow(session)
    send, recv = np.asarray(mf.send_seq), np.asarray(mf.recv_seq)
    ok = recv >= 0
    return send[ok], recv[ok]


class ViewState(QObject):
    """Playhead and selection for one open session.

    Signals:
        sigPosition(int): the playhead moved to this event (``-1``: before the first event).
        sigProcess(int): the selected process changed (``-1``: none).
        sigEvent(int): the selected event changed (``-1``: none).
        sigPlaying(bool): playback started or stopped.
        sigBreakpointsChanged(): breakpoints, hits or bookmarks changed.
        sigLayout(): the lanes were regrouped (collapse / expand).
    """

    sigPosition = Signal(int)
    sigProcess = Signal(int)
    sigEvent = Signal(int)
    sigPlaying = Signal(bool)
    sigBreakpointsChanged = Signal()
    sigLayout = Signal()
    sigHit = Signal(int, str)  # event number, breakpoint ids (comma separated)

    #: Events per second played at speed 1x.
    BASE_RATE = 20.0

    def __init__(
        self, session: Session, viewport: Viewport | None = None, parent: QObject | None = None
    ):
        super().__init__(parent)
        self.session = session
        self.skeleton = session.skeleton
        self.seq = -1
        self.pid = -1
        self.event_seq = -1
        self.live = False
        self._world: World | None = None
        self._world_seq = -2
        if viewport is None:
            viewport = build_viewport(session)
        self.viewport = viewport
        self.layout: LaneLayout = viewport.layout
        self.breakpoints = BreakpointSet()
        self.bookmarks: list[Bookmark] = []
        self.playing = False
        self.speed = 1.0
        self._play_acc = 0.0
        self.breakpoints.subscribe(lambda _bps: self.sigBreakpointsChanged.emit())

    # ---------------------------------------------------------------- queries

    @property
    def event_count(self) -> int:
        return int(self.session.event_count)

    def world(self) -> World:
        """The world at the playhead (cached until the playhead moves)."""
        if self._world_seq != self.seq or self._world is None:
            self._world = self.session.world_at(self.seq)
            self._world_seq = self.seq
        return self._world

    def time_ns(self, seq: int | None = None) -> int:
        s = self.seq if seq is None else seq
        if s < 0 or not self.event_count:
            return int(self.session.t_first) if self.event_count else 0
        return int(self.skeleton.ts[min(s, self.event_count - 1)])

    def rel_seconds(self, seq: int | None = None) -> float:
        return (self.time_ns(seq) - (self.session.t_first if self.event_count else 0)) / 1e9

    def seq_at_time(self, t_ns: float) -> int:
        """The last event at or before ``t_ns`` (-1 before the first)."""
        return int(np.searchsorted(self.skeleton.ts, int(t_ns), side="right")) - 1

    def process_label(self, pid: int) -> str:
        if pid < 0 or pid == 0xFFFFFFFF:
            return "-"
        return f"{self.session.process_name(pid)} <{pid}>"

    # ---------------------------------------------------------------- commands

    def seek(self, seq: int) -> None:
        """Move the playhead to event ``seq`` (clamped to the session)."""
        seq = max(-1, min(int(seq), self.event_count - 1))
        if seq != self.seq:
            self.seq = seq
            self.sigPosition.emit(seq)

    def seek_time(self, t_ns: float) -> None:
        self.seek(self.seq_at_time(t_ns))

    def select_process(self, pid: int) -> None:
        if pid != self.pid:
            self.pid = pid
            self.sigProcess.emit(pid)

    def select_event(self, seq: int, *, seek: bool = True) -> None:
        """Select event ``seq`` (its process too); move the playhead there unless told not to."""
        if not 0 <= seq < self.event_count:
            return
        self.event_seq = seq
        self.sigEvent.emit(seq)
        pid = int(self.skeleton.pid[seq])
        if pid != 0xFFFFFFFF:
            self.select_process(pid)
        if seek:
            self.seek(seq)

    # ---------------------------------------------------------------- playback

    def play(self) -> None:
        if not self.playing and self.event_count:
            if self.seq >= self.event_count - 1:
                self.seek(-1)
            self.playing = True
            self._play_acc = 0.0
            self.sigPlaying.emit(True)

    def pause(self) -> None:
        if self.playing:
            self.playing = False
            self.sigPlaying.emit(False)

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def set_speed(self, speed: float) -> None:
        self.speed = max(float(speed), 0.01)

    def tick(self, wall_dt: float) -> None:
        """Advance playback by ``wall_dt`` seconds of wall time; stop at a pausing breakpoint
        hit (the model finds it) or at the end."""
        if not self.playing:
            return
        self._play_acc += wall_dt * self.BASE_RATE * self.speed
        n = int(self._play_acc)
        if n <= 0:
            return
        self._play_acc -= n
        target = min(self.seq + n, self.event_count - 1)
        hit = self.breakpoints.next_hit(
            self.session, self.seq, actions=("pause", "pause_highlight")
        )
        if hit is not None and hit.seq <= target:
            self._stop_at_hit(hit.seq, hit.breakpoints)
            return
        self.seek(target)
        if target >= self.event_count - 1:
            self.pause()

    def _stop_at_hit(self, seq: int, ids: tuple[str, ...]) -> None:
        self.pause()
        for bp_id in ids:
            bp = self.breakpoints.get(bp_id)
            bp.hit_count += 1
        self.select_event(seq)
        self.sigHit.emit(seq, ",".join(ids))
        self.sigBreakpointsChanged.emit()

    def step(self, direction: int, *, within_process: bool = False) -> None:
        """One event forward (``direction`` > 0) or back; within the selected process if asked."""
        self.pause()
        if within_process and self.pid >= 0:
            nxt = self.viewport.step_in_lane(self.pid, self.seq, direction)
            if nxt is not None:
                self.select_event(nxt)
            return
        target = self.seq + (1 if direction > 0 else -1)
        if 0 <= target < self.event_count:
            self.select_event(target)
        else:
            self.seek(target)

    def run_to_next_breakpoint(self) -> None:
        self.pause()
        hit = self.breakpoints.next_hit(self.session, self.seq)
        if hit is not None:
            self._stop_at_hit(hit.seq, hit.breakpoints)

    def run_to_prev_breakpoint(self) -> None:
        self.pause()
        hit = self.breakpoints.prev_hit(self.session, self.seq)
        if hit is not None:
            self._stop_at_hit(hit.seq, hit.breakpoints)

    def hit_seqs(self) -> np.ndarray:
        return self.breakpoints.hits(self.session)

    def bookmark_seqs(self) -> list[int]:
        return [b.seq for b in self.bookmarks]

    def toggle_bookmark(self, note: str = "") -> None:
        seqs = self.bookmark_seqs()
        if self.seq in seqs:
            self.bookmarks = [b for b in self.bookmarks if b.seq != self.seq]
        elif self.seq >= 0:
            self.bookmarks.append(Bookmark(self.seq, note))
        self.sigBreakpointsChanged.emit()

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


def build_viewport(session: Session) -> Viewport:
    """Lanes and the (lane, time) index of a session; message pairs for the arrows."""
    sk = session.skeleton
    layout = LaneLayout(session.processes)
    try:
        messages = message_pairs(session)
    except (ImportError, AttributeError):  # the flow module is optional for the timeline
        messages = _pairs_from_refs(session)
    return Viewport(sk.ts, sk.kind, sk.pid, layout, messages)


def _pairs_from_refs(session: Session) -> tuple[np.ndarray, np.ndarray]:
    sk = session.skeleton
    refs = session.refs
    send = np.flatnonzero(sk.kind == EventKind.SEND)
    recv = np.flatnonzero(sk.kind == EventKind.RECEIVE)
    if not len(send) or not len(recv):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(refs[send], kind="stable")
    sref = refs[send][order]
    pos = np.searchsorted(sref, refs[recv])
    ok = (pos < len(sref)) & (sref[np.minimum(pos, len(sref) - 1)] == refs[recv])
    return send[order][pos[ok]], recv[ok]
