"""A reader closed by one thread (a window's close) while another still uses it (the
window's lanes worker): reads after the close raise ``ValueError`` (no assert, no read of a
descriptor number that may already name another file), and a read in flight finishes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from recorder import EventKind, Recorder
from recorder.session.filebytes import FileBytes
from recorder.session.reader import SessionReader


def _record(path: Path) -> Path:
    with Recorder(path, frame_events=100) as rec:
        for i in range(2000):
            rec.emit(EventKind.SEND, pid=1 + i % 7, peer=2, data={"i": i})
    return path


def test_a_closed_reader_refuses_to_read_with_a_value_error(tmp_path: Path) -> None:
    r = SessionReader(_record(tmp_path / "s.cinema"))
    assert not r.closed and not r.skeleton_loaded
    r.close()
    assert r.closed
    with pytest.raises(ValueError, match="closed session file"):
        r.skeleton()
    with pytest.raises(ValueError, match="closed session file"):
        r.event(1999)


def test_close_during_a_read_closes_the_file_after_the_read(tmp_path: Path) -> None:
    p = tmp_path / "f.bin"
    p.write_bytes(b"x" * 1000)
    inside, go_on = threading.Event(), threading.Event()
    got: list[bytes] = []

    class Slow(FileBytes):  # the real read, held in flight until the test lets it go on
        def _read(self, fd: int, start: int, want: int) -> bytes:
            inside.set()
            go_on.wait(10)
            return super()._read(fd, start, want)

    fb = Slow(os.open(p, os.O_RDONLY), 1000)
    t = threading.Thread(target=lambda: got.append(fb[0:10]))
    t.start()
    assert inside.wait(10)
    fb.close()  # while the read is in flight
    assert fb.closed and fb._fd is not None  # the descriptor waits for the read
    with pytest.raises(ValueError, match="closed"):
        fb[0:5]
    go_on.set()
    t.join(10)
    assert got == [b"x" * 10] and fb._fd is None
