"""The playback controller: ticks at speeds, event mode, seeks, steps, runs, bookmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cinema.model.breakpoints import MessageResultCondition, ProcessEventCondition, StateCondition
from cinema.model.errors import ModelError
from cinema.model.playback import PlaybackController
from cinema.model.session import Session
from cinema.model.sidecar import SidecarError, sidecar_path

from . import bp_sessions

MS = 1_000_000


@pytest.fixture
def bank(tmp_path: Path) -> Session:
    return Session.open(bp_sessions.bank_session(tmp_path / "bank.cinema"))


@pytest.fixture
def uniform(tmp_path: Path) -> Session:
    """100 events exactly 1 ms apart, two processes alternating."""
    s = bp_sessions.Script(tmp_path / "u.cinema", frame_events=16)
    s.spawn(0, "a")
    s.spawn(1, "b")
    for i in range(98):
        s.emit(bp_sessions.K.PROFILE, i % 2, data={"i": i})
    s.close()
    return Session.open(tmp_path / "u.cinema")


def test_play_at_speeds_is_deterministic(uniform: Session) -> None:
    pc = PlaybackController(uniform)
    states: list[str] = []
    positions: list[int] = []
    pc.on_state(states.append)
    pc.on_position(positions.append)
    pc.play(1.0)
    assert pc.tick(0.0105) == 10  # 10.5 ms of recorded time: 10 events later
    pc.tick(0.0005)
    assert pc.position == 11  # the half millisecond carried over
    pc.play(10.0)
    assert pc.tick(0.001) == 21
    pc.play(0.1)
    assert pc.tick(0.01) == 22
    pc.fast_forward(100.0)
    assert pc.state == "fast_forward"
    assert pc.tick(1.0) == 99 and pc.state == "paused"  # clamped at the end, paused
    assert states == ["playing", "fast_forward", "paused"]
    assert positions[:3] == [10, 11, 21]
    pc.rewind(2.0)
    assert pc.tick(0.005) == 89
    assert pc.tick(10.0) == 0 and pc.state == "paused"  # clamped at the start
    assert pc.elapsed == 0.0


def test_event_by_event_mode(uniform: Session) -> None:
    pc = PlaybackController(uniform)
    pc.play(events_per_second=4)
    assert pc.tick(0.5) == 2
    assert pc.tick(0.1) == 2 and pc.tick(0.15) == 3  # fractions accumulate
    pc.rewind(events_per_second=10)
    assert pc.tick(0.2) == 1
    with pytest.raises(ModelError, match=r"speed must be between 0\.1x and 100x"):
        pc.play(250)
    with pytest.raises(ModelError, match="speed must be between"):
        pc.play(0.01)
    with pytest.raises(ModelError, match="events per second must be > 0"):
        pc.play(events_per_second=0)


def test_seek_and_clamp(uniform: Session) -> None:
    pc = PlaybackController(uniform)
    assert pc.seek_event(50) == 50
    assert pc.seek_event(10**9) == 99 and pc.seek_event(-5) == 0
    t0 = bp_sessions.T0
    assert pc.seek_time(t0 + 20 * MS + 1) == 20
    assert pc.seek_time(0) == 0 and pc.seek_time(t0 * 10) == 99
    assert pc.seek_elapsed(0.0305) == 30 and pc.time == t0 + 30 * MS
    assert pc.step_forward() == 31 and pc.step_back() == 30
    pc.seek_event(99)
    assert pc.step_forward() is None and pc.position == 99
    pc.seek_event(0)
    assert pc.step_back() is None and pc.position == 0


def test_restricted_steps(bank: Session) -> None:
    pc = PlaybackController(bank)
    assert pc.step_forward(process="account-2") == 2
    assert pc.step_forward(process="account-2") == 5
    assert pc.step_forward(kind="crash") == 17
    # both incarnations of account-2 (pids 2 and 4) share the name
    assert pc.step_forward(process="account-2") == 19
    assert pc.step_forward(process="account-2", kind="state") == 20
    assert pc.step_forward(process="account-2", kind="crash") is None and pc.position == 20
    assert pc.step_back(kind="send") == 15
    assert pc.step_back(process=1, kind="receive") == 13
    with pytest.raises(ModelError, match="no process named 'ghost'"):
        pc.step_forward(process="ghost")
    with pytest.raises(ModelError, match="unknown event kind 'boom'"):
        pc.step_forward(kind="boom")


def test_run_to_breakpoints_forward_and_backward(bank: Session) -> None:
    pc = PlaybackController(bank)
    crash = pc.breakpoints.add(ProcessEventCondition(("crash",)))
    log = pc.breakpoints.add(StateCondition("balance", "changed"), action="log")
    hl = pc.breakpoints.add(MessageResultCondition(("timeout",)), action="pause_highlight")
    hits: list[Any] = []
    pc.on_breakpoint(hits.append)
    hit = pc.run_to_next_breakpoint()
    assert hit is not None and hit.seq == 17 and pc.position == 17
    assert [(e.seq, e.breakpoint) for e in pc.log] == [(8, log.id), (11, log.id)]
    assert pc.log[0].text == "#8 state account-1"
    hit = pc.run_to_next_breakpoint()
    assert hit is not None and hit.seq == 22 and pc.highlight == hit
    assert pc.run_to_next_breakpoint() is None and pc.position == 25  # ran to the end
    back = pc.run_to_prev_breakpoint()
    assert back is not None and back.seq == 22
    back = pc.run_to_prev_breakpoint()
    assert back is not None and back.seq == 17
    assert pc.run_to_prev_breakpoint() is None and pc.position == 0
    assert [e.seq for e in pc.log] == [8, 11, 11, 8]  # the backward run logged them again
    assert [h.seq for h in hits] == [17, 22, 22, 17]
    assert crash.hit_count == 2 and hl.hit_count == 2 and log.hit_count == 4
    # playing stops at a pausing breakpoint too
    pc.seek_event(0)
    pc.play(100.0)
    pc.tick(10.0)
    assert pc.position == 17 and pc.state == "paused"
    pc.play(100.0, stop_at_breakpoints=False)
    pc.tick(100.0)
    assert pc.position == 25


def test_listener_that_raises_is_dropped(bank: Session) -> None:
    pc = PlaybackController(bank)
    seen: list[int] = []

    def bad(_: int) -> None:
        raise RuntimeError("boom")

    pc.on_position(bad)
    unsubscribe = pc.on_position(seen.append)
    pc.seek_event(3)
    pc.seek_event(4)
    assert seen == [3, 4]
    unsubscribe()
    pc.seek_event(5)
    assert seen == [3, 4]


def test_bookmarks_persist(bank: Session, tmp_path: Path) -> None:
    pc = PlaybackController(bank)
    pc.seek_event(11)
    pc.add_bookmark("overdrawn")
    pc.add_bookmark("crash", seq=17)
    pc.add_bookmark("first", seq=1)
    assert [b.seq for b in pc.bookmarks] == [1, 11, 17]
    assert pc.next_bookmark() is not None and pc.position == 17
    assert pc.prev_bookmark() is not None and pc.position == 11
    assert pc.jump_to_bookmark(0) == 1 and pc.jump_to_bookmark(-1) == 17
    pc.remove_bookmark(1)
    with pytest.raises(ModelError, match="no bookmark at event #1"):
        pc.remove_bookmark(1)
    with pytest.raises(ModelError, match="cannot bookmark event #99"):
        pc.add_bookmark(seq=99)
    pc.breakpoints.add(StateCondition("status", "changed"), label="freeze")
    saved = pc.save()
    assert saved == str(sidecar_path(bank.reader.path))
    again = PlaybackController(bank)
    again.load()
    assert [(b.seq, b.note) for b in again.bookmarks] == [(11, "overdrawn"), (17, "crash")]
    assert again.breakpoints.to_json() == pc.breakpoints.to_json()
    assert again.run_to_next_breakpoint() is not None and again.position == 14
    Path(saved).write_text("{garbage")
    with pytest.raises(SidecarError, match="corrupt breakpoint file"):
        again.load()
    assert len(again.bookmarks) == 2  # a failed load replaces nothing


def test_empty_session(tmp_path: Path) -> None:
    s = bp_sessions.Script(tmp_path / "e.cinema")
    s.close()
    pc = PlaybackController(Session.open(tmp_path / "e.cinema"))
    pc.play()
    assert pc.state == "paused" and pc.tick(1.0) == 0
    assert pc.run_to_next_breakpoint() is None and pc.step_forward() is None
