"""A recording never destroys a file: it takes its name only once it has events on disk, on a new
inode, so a reader that has the old file mapped keeps reading it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from recorder import EventKind, Recorder
from recorder.session.reader import SessionReader

from ._programs import ROOT, run_program


def _old_session(path: Path, n: int = 3000) -> bytes:
    with Recorder(path, frame_events=100, flush_interval=None) as rec:
        for i in range(n):
            rec.emit(EventKind.MARKER, 0, data={"label": f"old {i}", "pad": "o" * 50})
    return path.read_bytes()


def test_the_old_file_stays_until_the_new_recording_has_events(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    old = _old_session(path)
    rec = Recorder(path, flush_interval=None)
    assert path.read_bytes() == old  # the header went to a hidden file beside it
    rec.keyframe({"processes": []})
    rec.flush()
    assert path.read_bytes() == old  # a keyframe alone is not a recording yet
    rec.emit(EventKind.MARKER, 0, data={"label": "new"})
    rec.flush()
    with SessionReader(path) as reader:  # now the new one, readable before close
        assert reader.event_count == 1 and reader.event(0).data == {"label": "new"}
    rec.close()
    assert sorted(os.listdir(tmp_path)) == ["s.cinema"]


def test_a_recording_that_fails_before_its_first_events_leaves_the_old_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.cinema"
    old = _old_session(path)
    code = """
        import os, sys
        from recorder import EventKind, Recorder
        rec = Recorder(sys.argv[1], flush_interval=None)
        rec.emit(EventKind.MARKER, 0, data={"label": "never written"})
        os._exit(3)  # killed before anything reached the disk
    """
    result = run_program(code, str(path))
    assert result.returncode == 3
    assert path.read_bytes() == old


def test_a_closed_recording_without_events_is_a_valid_empty_session(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    _old_session(path)
    Recorder(path).close()
    with SessionReader(path) as reader:
        assert reader.event_count == 0 and not reader.recovered


def test_a_symlinked_target_keeps_its_link(tmp_path: Path) -> None:
    real = tmp_path / "real.cinema"
    _old_session(real)
    link = tmp_path / "link.cinema"
    link.symlink_to(real)
    with Recorder(link) as rec:
        rec.emit(EventKind.MARKER, 0, data={"label": "through the link"})
    assert link.is_symlink()
    with SessionReader(real) as reader:
        assert reader.event(0).data == {"label": "through the link"}


OLD_READER = """
    import sys
    from cinema.model import Session

    with Session.open(sys.argv[1]) as session:
        reader = session.reader
        print("ready", reader.event_count, flush=True)
        sys.stdin.readline()  # the file is re-recorded meanwhile
        labels = [e.data["label"] for e in reader.events()]
        world = session.world_at(reader.event_count - 1)
        print("read", len(labels), labels[0], labels[-1], len(world.processes), flush=True)
"""


def test_an_open_reader_survives_a_re_record_of_its_file(tmp_path: Path) -> None:
    path = tmp_path / "same.cinema"
    _old_session(path)
    reader = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(OLD_READER), str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().split() == ["ready", "3000"]
        # Re-record the same path, smaller: truncating in place would SIGBUS the reader.
        with Recorder(path, frame_events=10, flush_interval=None) as rec:
            for i in range(20):
                rec.emit(EventKind.MARKER, 1, data={"label": f"new {i}"})
        reader.stdin.write("go\n")
        reader.stdin.flush()
        out, err = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, (reader.returncode, err)  # -7 would be SIGBUS
    assert out.split() == ["read", "3000", "old", "0", "old", "2999", "0"]
    with SessionReader(path) as new:
        assert new.event_count == 20


KILLED = """
    import sys, time
    from recorder import EventKind, Recorder

    rec = Recorder(sys.argv[1], flush_interval=0.05)
    for i in range(50):
        rec.emit(EventKind.MARKER, 0, data={"label": str(i)})
    print("emitted", flush=True)
    time.sleep(60)
"""


def test_a_killed_recording_is_readable_under_its_name(tmp_path: Path) -> None:
    path = tmp_path / "killed.cinema"
    _old_session(path)
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "emitted"
    time.sleep(0.3)  # several flush intervals
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    with SessionReader(path) as reader:
        assert reader.recovered and reader.event_count == 50
        assert reader.event(49).data == {"label": "49"}
