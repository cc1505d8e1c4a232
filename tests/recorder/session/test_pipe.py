"""The recorder's slow path while the writer thread is in a pass: batches are still handed
over at frame boundaries, so emit does not fall into the slow path on every event."""

from __future__ import annotations

from pathlib import Path

from recorder import EventKind, Recorder
from recorder.session.reader import SessionReader


def test_a_busy_writer_pass_does_not_put_every_emit_on_the_slow_path(tmp_path: Path) -> None:
    path = tmp_path / "busy.cinema"
    rec = Recorder(path, frame_events=1024, flush_interval=0.2, check_every=256)
    calls = 0
    slow = rec._buffer.on_threshold

    def counted() -> None:
        nonlocal calls
        calls += 1
        slow()

    rec._buffer.on_threshold = counted
    drain = rec._drain
    n = 20_000
    with drain.lock:  # the writer thread is in a pass (a long one: it never ends here)
        drain.written_at = 0.0  # and events look overdue: the program cannot write them itself
        for i in range(n):
            rec.emit(EventKind.SEND, 1, 2, i, i)
        assert len(rec._buffer) < 1024  # handed over at each frame boundary all the same
    assert calls <= 4 * n // 256, calls  # before: a slow-path call per event once overdue
    rec.close()
    with SessionReader(path) as reader:
        assert reader.event_count == n
        assert [e.ref for e in reader.events(0, n)] == list(range(n))
