"""A recording that fails never stops the program: disk full, read-only, a target that raises.

Each program runs in its own interpreter and prints a line after its recording block, so a
test sees that the program's own code ran to its end.
"""

from __future__ import annotations

import io
import os
import resource
import signal
from pathlib import Path

import pytest

from recorder import EventKind, Recorder
from recorder.session.reader import SessionReader

from ._programs import can_mount, run_program, tmpfs

#: Records until the disk gives out; then the program goes on and says how the recording ended.
FILL_THE_DISK = """
    import errno, sys
    from recorder import EventKind, Recorder

    with Recorder(sys.argv[1], compress=None, frame_events=64, flush_interval=0.01) as rec:
        for i in range(int(sys.argv[2])):
            rec.emit(EventKind.SEND, i % 5, (i + 1) % 5, i + 1, ("payload", i, "x" * 200))
        rec.flush()
    print("after the block:", rec.failed, errno.errorcode.get(getattr(rec.error, "errno", 0)))
    rec.close()  # a second close is harmless too
    print("program finished")
"""


def _check_disk_full(result, path: Path, codes: set[str]) -> int:
    assert result.returncode == 0, result.stderr
    assert "program finished" in result.stdout
    flag, code = result.stdout.split("after the block: ")[1].split("\n")[0].split()
    assert flag == "True" and code in codes, result.stdout
    warnings = [line for line in result.stderr.splitlines() if "recording to" in line]
    assert len(warnings) == 1, result.stderr  # warned once, on stderr
    assert "stopped" in warnings[0] and "program goes on" in warnings[0]
    assert "Traceback" not in result.stderr
    with SessionReader(path) as reader:  # what was written stays readable
        n = reader.event_count
        assert n > 0
        last = reader.event(n - 1)
        assert last.kind == EventKind.SEND and last.data == ("payload", last.seq, "x" * 200)
        assert [e.seq for e in reader.events(0, n)] == list(range(n))
    return n


@pytest.mark.skipif(not can_mount(), reason="needs root to mount a small tmpfs")
def test_a_full_disk_stops_the_recording_not_the_program(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "512k") as disk:
        path = disk / "full.cinema"
        result = run_program(FILL_THE_DISK, str(path), "100000")
        n = _check_disk_full(result, path, {"ENOSPC"})
        assert n < 100_000
        # The file was cut back to its last complete frame and ends with a footer if it fit.
        assert not [p for p in os.listdir(disk) if p.endswith(".recording")]


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death by signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


def test_a_file_size_limit_stops_the_recording_not_the_program(tmp_path: Path) -> None:
    path = tmp_path / "limited.cinema"
    result = run_program(FILL_THE_DISK, str(path), "100000", preexec=_limit_file_size)
    n = _check_disk_full(result, path, {"EFBIG"})
    assert n < 100_000 and os.path.getsize(path) <= 300_000


def test_dev_full_fails_at_once_and_the_program_goes_on() -> None:
    result = run_program(FILL_THE_DISK, "/dev/full", "1000")
    assert result.returncode == 0 and "program finished" in result.stdout, result.stderr
    assert "after the block: True ENOSPC" in result.stdout
    assert result.stderr.count("recording to /dev/full stopped") == 1


READ_ONLY = """
    import sys
    from recorder.sandbox import Runtime

    async def worker(proc):
        proc.marker("working")

    with Runtime(deterministic=True, record=sys.argv[1]) as rt:
        recorder = rt.recording.sink
        rt.spawn(worker)
        rt.run()
    print("failed:", recorder.failed, type(recorder.error).__name__)
    print("program finished")
"""


def test_a_read_only_folder_stops_the_recording_not_the_program(tmp_path: Path) -> None:
    if can_mount():
        ctx = tmpfs(tmp_path / "ro", "64k", read_only=True)
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        ctx = _nullcontext(folder)
    with ctx as folder:
        result = run_program(READ_ONLY, str(folder / "x.cinema"))
        assert result.returncode == 0, result.stderr
        assert "program finished" in result.stdout
        assert "failed: True" in result.stdout
        assert result.stderr.count("stopped") == 1 and "Traceback" not in result.stderr
        assert not os.listdir(folder)


class _nullcontext:
    def __init__(self, value: Path) -> None:
        self.value = value

    def __enter__(self) -> Path:
        return self.value

    def __exit__(self, *exc: object) -> None:
        self.value.chmod(0o755)


class _BrokenFile(io.RawIOBase):
    """A binary target that accepts ``budget`` bytes, then raises like a dead disk would."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # type: ignore[override]
        if len(self.data) + len(b) > self.budget:
            raise OSError(5, "Input/output error")
        self.data += b
        return len(b)


def test_a_target_that_raises_stops_recording_and_close_does_not_raise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = _BrokenFile(20_000)
    rec = Recorder(target, frame_events=50, flush_interval=None)
    for i in range(20_000):
        rec.emit(EventKind.MARKER, 0, data={"label": f"event {i}"})
    rec.close()
    assert rec.failed and isinstance(rec.error, OSError)
    assert capsys.readouterr().err.count("stopped: Input/output error") == 1
    rec.keyframe({"processes": []})  # after a failure every call stays harmless
    rec.flush()


def test_an_output_that_raises_is_removed_and_the_file_goes_on(tmp_path: Path) -> None:
    calls = []

    def flaky(data: bytes) -> None:
        calls.append(len(data))
        raise ConnectionResetError("client went away")

    path = tmp_path / "s.cinema"
    with Recorder(path, frame_events=10, flush_interval=None) as rec:
        rec.add_output(flaky)
        for i in range(100):
            rec.emit(EventKind.MARKER, 0, data={"label": str(i)})
    assert not rec.failed and len(calls) == 1
    with SessionReader(path) as reader:
        assert reader.event_count == 100 and not reader.recovered
