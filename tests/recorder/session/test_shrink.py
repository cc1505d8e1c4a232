"""A file that shrinks under an open reader gives a clean error, never SIGBUS.

The reader runs in a child process: a memory-mapped read past the new end of a truncated file
kills the process (signal 7), which no ``pytest.raises`` could catch.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recorder import EventKind, Recorder
from recorder.session.reader import SessionReader

from ._programs import ROOT

READER = """
    import sys
    from cinema.model import Session
    from recorder.session.format import SessionFormatError

    session = Session.open(sys.argv[1])
    reader = session.reader
    n = reader.event_count
    print("ready", n, flush=True)
    sys.stdin.readline()  # the file shrinks meanwhile
    for what, read in (
        ("events", lambda: sum(1 for _ in reader.events())),
        ("event", lambda: reader.event(n - 1)),
        ("world", lambda: session.world_at(n - 1)),
        ("columns", lambda: reader.columns(0, n)),
    ):
        try:
            read()
            print(what, "read", flush=True)
        except SessionFormatError as exc:
            print(what, "refused:", exc, flush=True)
"""


def _session(path: Path, n: int = 3000) -> None:
    with Recorder(path, frame_events=100, flush_interval=None, keyframe_every=500) as rec:
        for i in range(n):
            rec.emit(EventKind.MARKER, 0, data={"label": f"event {i}", "pad": "p" * 50})


def _shrink_to_header(path: Path) -> None:
    with open(path, "r+b") as f:
        f.truncate(200)


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _copy_a_smaller_session_over(path: Path) -> None:
    other = path.with_name("other.cinema")
    with Recorder(other, flush_interval=None) as rec:
        rec.emit(EventKind.MARKER, 0, data={"label": "other"})
    path.write_bytes(other.read_bytes())  # what cp does: truncate in place, then write


@pytest.mark.parametrize("shrink", [_shrink_to_header, _empty, _copy_a_smaller_session_over])
def test_a_reader_survives_its_file_shrinking(tmp_path: Path, shrink) -> None:
    path = tmp_path / "open.cinema"
    _session(path)
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(READER), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().split() == ["ready", "3000"]
        shrink(path)
        reader.stdin.write("go\n")
        reader.stdin.flush()
        out, err = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, (reader.returncode, err)  # -7 would be SIGBUS
    lines = out.splitlines()
    assert len(lines) == 4, out
    assert lines[0].startswith("events refused:")
    if shrink is not _copy_a_smaller_session_over:  # there the first frame read is foreign
        assert "the file shrank while it was open" in lines[0]
    assert all(" read" in line or "refused:" in line for line in lines)


def test_reading_a_session_is_unchanged_by_the_reads(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    _session(path)
    with SessionReader(path) as r:
        labels = [e.data["label"] for e in r.events()]
        assert labels[0] == "event 0" and labels[-1] == "event 2999" and len(labels) == 3000
        assert r.event(1234).data["label"] == "event 1234"


def test_a_reader_nobody_closes_gives_its_file_back(tmp_path: Path) -> None:
    import gc
    import os

    path = tmp_path / "s.cinema"
    _session(path, 300)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(100):
        SessionReader(path).event(5)  # never closed: dropped at once
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) - before <= 2
