"""The benchmark session recorded by a real sandbox program: crashes, restarts, keyframes."""

from __future__ import annotations

from pathlib import Path

from benchmarks._sandbox_sessions import record_sandbox_session
from recorder.events import EventKind
from recorder.session.reader import SessionReader


def test_a_small_sandbox_session_has_the_shape_of_the_large_one(tmp_path: Path) -> None:
    path = tmp_path / "sb.cinema"
    record_sandbox_session(path, 60_000, workers=200, supervisors=4, clients=10, seed=3)
    with SessionReader(path) as reader:
        n = reader.event_count
        skel = reader.skeleton()
        counts = {k: int((skel.kind == k).sum()) for k in (EventKind.CRASH, EventKind.RESTART)}
        assert 40_000 < n < 80_000, n
        assert counts[EventKind.CRASH] >= 3 and counts[EventKind.RESTART] == counts[EventKind.CRASH]
        assert len(reader.keyframe_seqs) >= 5
    again = tmp_path / "again.cinema"
    record_sandbox_session(again, 60_000, workers=200, supervisors=4, clients=10, seed=3)
    assert again.read_bytes() == path.read_bytes()  # deterministic: cached files are valid
