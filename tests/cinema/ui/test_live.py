"""The window over a live session: a real ``Session.live()`` fed the bytes of a recorded file in
chunks grows the timeline, the event list and the slider; "follow live" keeps the playhead on
the newest event."""

from __future__ import annotations

from pathlib import Path

from cinema.model.session import Session
from cinema.ui.main_window import MainWindow
from cinema.ui.state import ViewState
from recorder.events import EventKind
from recorder.session.format import SessionFormatError


def _stream_bytes(path: Path) -> bytes:
    """The bytes of ``path`` a live stream would carry (a file may hold more after the
    stream's trailer, which a stream decoder refuses)."""
    data = path.read_bytes()
    try:
        Session.live().feed(data)
    except SessionFormatError as exc:
        assert exc.offset is not None
        return data[: exc.offset]
    return data


def _live_window(qtbot, settings) -> tuple[Session, ViewState, MainWindow]:  # type: ignore[no-untyped-def]
    session = Session.live()
    state = ViewState(session)
    win = MainWindow(state, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return session, state, win


def test_the_window_grows_with_a_live_session(qtbot, bank_frames_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    data = _stream_bytes(bank_frames_path)
    total = Session.open(bank_frames_path).event_count
    session, state, win = _live_window(qtbot, settings)
    assert state.live and state.follow_live and win.act_follow.isChecked()
    assert state.event_count == 0 and win.events.model.rowCount() == 0
    assert "LIVE" in win.status_live.text()
    grown: list[int] = []
    state.sigGrown.connect(grown.append)
    chunk = max(len(data) // 6, 1)
    counts = []
    for start in range(0, len(data), chunk):
        session.feed(data[start : start + chunk])
        n = session.event_count
        if not n or (counts and counts[-1] == n):
            continue
        counts.append(n)
        # the growth is applied in a batch, on a timer: then every panel has the new events
        qtbot.waitUntil(lambda n=n: bool(grown) and grown[-1] == n)
        assert win.events.model.rowCount() == n
        assert win.playback.slider.maximum() == n - 1
        assert state.seq == n - 1  # following: the playhead is on the newest event
        assert abs(win.timeline.playhead.value() - state.rel_seconds(n - 1)) < 1e-12
        dur = session.duration_ns / 1e9
        assert win.timeline.vb.state["limits"]["xLimits"][1] >= dur  # the time axis extends
        assert f"of {n:,}" in win.status_pos.text()
    assert len(counts) >= 2 and counts[-1] == total
    assert len(state.layout.rows) == len(session.processes)  # new processes got lanes


def test_without_follow_the_playhead_stays(qtbot, bank_frames_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    data = _stream_bytes(bank_frames_path)
    session, state, win = _live_window(qtbot, settings)
    win.act_follow.setChecked(False)
    assert not state.follow_live
    half = len(data) // 2
    session.feed(data[:half])
    n1 = session.event_count
    qtbot.waitUntil(lambda: win.events.model.rowCount() == n1)
    state.seek(3)
    win.events.filter.setText("crash")
    win.events.apply_filter()
    session.feed(data[half:])
    n2 = session.event_count
    assert n2 > n1
    qtbot.waitUntil(lambda: win.playback.slider.maximum() == n2 - 1)
    assert state.seq == 3  # not following: the playhead stays where the user put it
    # a filtered list runs its filter again over the grown session
    crashes = int((state.skeleton.kind == EventKind.CRASH).sum())
    assert crashes and win.events.model.rowCount() == crashes
    win.act_follow.setChecked(True)  # turning follow on jumps to the newest event
    assert state.seq == n2 - 1
