"""Truncated, corrupt, random and hostile session files: clear errors or honest recovery."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder import EventKind, Recorder
from recorder.session.format import (
    FILE_HEADER,
    FRAME_HEADER,
    FrameHeader,
    SessionFormatError,
    UnsupportedVersion,
    pack_frame_header,
    unpack_frame_header,
)
from recorder.session.reader import SessionReader

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def good_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("good") / "s.cinema"
    rec = Recorder(
        path,
        flush_interval=None,
        frame_events=100,
        keyframe_every=250,
        snapshot=lambda: {"processes": [], "time_ns": 0},
    )
    for i in range(1000):
        rec.emit(EventKind.SEND, i % 5, (i + 1) % 5, i + 1, ("msg", i))
    rec.close()
    return path.read_bytes()


def read_all(path: Path) -> SessionReader:
    """Open and touch everything a viewer would."""
    r = SessionReader(path)
    r.skeleton()
    r.refs()
    for _ in r.events():
        pass
    for s in r.keyframe_seqs:
        r.keyframe_before(s)
    return r


def test_truncation_at_every_frame_boundary_and_between(tmp_path: Path, good_file: bytes) -> None:
    path = tmp_path / "t.cinema"
    header_end = FILE_HEADER.size + struct.unpack_from("<I", good_file, 12)[0]
    complete_counts = []
    full = tmp_path / "full.cinema"
    full.write_bytes(good_file)
    with SessionReader(full) as whole:
        boundaries = set(whole.frame_table()["first_seq"].tolist()) | {whole.event_count}
    for cut in [*range(0, len(good_file), max(1, len(good_file) // 300)), len(good_file) - 1]:
        path.write_bytes(good_file[:cut])
        if cut < header_end:
            with pytest.raises(SessionFormatError) as err:
                SessionReader(path)
            assert str(path) in str(err.value) and "byte" in str(err.value)
            continue
        r = read_all(path)
        assert r.recovered and r.recovery_note
        assert r.event_count in boundaries  # whole frames only
        assert [e.data for e in r.events()] == [("msg", i) for i in range(r.event_count)]
        complete_counts.append(r.event_count)
        r.close()
    assert complete_counts == sorted(complete_counts)
    assert complete_counts[-1] == 1000  # only the footer was cut: every event kept


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2000))
def test_random_bytes_give_a_format_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "r.cinema"
    path.write_bytes(data)
    with pytest.raises(SessionFormatError):
        SessionReader(path)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pos=st.integers(0, 10**9), byte=st.integers(0, 255))
def test_corrupt_bytes_give_a_format_error_or_a_clean_read(
    tmp_path: Path, good_file: bytes, pos: int, byte: int
) -> None:
    data = bytearray(good_file)
    pos %= len(data)
    data[pos] = byte
    path = tmp_path / "c.cinema"
    path.write_bytes(bytes(data))
    try:
        r = read_all(path)
    except SessionFormatError as exc:
        assert "byte" in str(exc) or "event" in str(exc)
    else:
        r.close()


def test_unknown_major_version_is_refused_clearly(tmp_path: Path, good_file: bytes) -> None:
    data = bytearray(good_file)
    struct.pack_into("<H", data, 8, 7)
    path = tmp_path / "v.cinema"
    path.write_bytes(bytes(data))
    with pytest.raises(UnsupportedVersion, match=r"version 7\.2 is not supported"):
        SessionReader(path)


def test_older_minor_versions_and_newer_minor_versions_still_open(
    tmp_path: Path, good_file: bytes
) -> None:
    data = bytearray(good_file)
    struct.pack_into("<H", data, 10, 9)  # a newer minor version only adds what we can ignore
    path = tmp_path / "m.cinema"
    path.write_bytes(bytes(data))
    with SessionReader(path) as r:
        assert r.version == (1, 9) and r.event_count == 1000


def _hostile(tmp_path: Path, good_file: bytes, frame: bytes) -> Path:
    header_end = FILE_HEADER.size + struct.unpack_from("<I", good_file, 12)[0]
    path = tmp_path / "h.cinema"
    path.write_bytes(good_file[:header_end] + frame)
    return path


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"count": 2**31}, "claims"),
        ({"stored": (2**31, 0, 0)}, "exceeds the limit"),
        ({"ftype": 99}, "unknown frame type"),
        ({"raw": (5, 0, 8)}, "do not match its count"),
    ],
)
def test_crafted_frame_headers_are_refused_before_allocating(
    tmp_path: Path, good_file: bytes, fields: dict, reason: str
) -> None:
    args = {
        "ftype": 1,
        "flags": 0,
        "count": 1,
        "crc": 0,
        "first_seq": 0,
        "t_first": 0,
        "t_last": 0,
        "stored": (17, 8, 4 * 2),
        "raw": (17, 8, 4 * 2),
    }
    args.update(fields)
    frame = pack_frame_header(**args) + b"\x00" * 64
    r = SessionReader(_hostile(tmp_path, good_file, frame))
    assert r.event_count == 0 and r.recovered and reason in (r.recovery_note or "")


def test_a_hostile_zstd_bomb_is_bounded_by_the_declared_size(
    tmp_path: Path, good_file: bytes
) -> None:
    import zlib

    import zstandard

    bomb = zstandard.ZstdCompressor().compress(b"\x00" * (50 << 20))
    n = 1
    body = bomb + b"" + b""
    frame = (
        pack_frame_header(1, 1, n, zlib.crc32(body), 0, 0, 0, (len(bomb), 0, 0), (17, 8, 8)) + body
    )
    r = SessionReader(_hostile(tmp_path, good_file, frame))
    with pytest.raises(SessionFormatError, match=r"decompress|corrupt"):
        r.skeleton()


def test_garbage_after_complete_frames_is_reported_with_its_offset(
    tmp_path: Path, good_file: bytes
) -> None:
    cut = good_file.rfind(b"CFRM")  # the footer frame
    path = tmp_path / "g.cinema"
    path.write_bytes(good_file[:cut] + b"garbage!" * 20)
    r = SessionReader(path)
    assert r.event_count == 1000
    assert f"bad frame magic (not a frame boundary) at byte {cut}" in (r.recovery_note or "")


def test_a_directory_and_an_empty_file_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SessionFormatError, match="directory"):
        SessionReader(tmp_path)
    empty = tmp_path / "e.cinema"
    empty.write_bytes(b"")
    with pytest.raises(SessionFormatError, match="empty file"):
        SessionReader(empty)


def test_frame_header_size_is_fixed() -> None:
    assert FRAME_HEADER.size == 64


WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {repo!r})
    from recorder import Recorder, EventKind
    rec = Recorder(sys.argv[1], flush_interval=0.05, frame_events=256)
    i = 0
    while True:
        rec.emit(EventKind.SEND, 1, 2, i + 1, ("tick", i))
        i += 1
        if i % 1000 == 0:
            rec.flush()
            print(i, flush=True)
            time.sleep(0.001)
    """
)


def test_a_writer_killed_with_sigkill_leaves_a_file_that_opens(tmp_path: Path) -> None:
    path = tmp_path / "k.cinema"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER.format(repo=str(REPO)), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    flushed = 0
    deadline = time.monotonic() + 60
    while flushed < 20_000 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        flushed = int(line)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert flushed >= 20_000, "the writer subprocess did not get going"
    r = read_all(path)
    assert r.recovered and "no footer" in (r.recovery_note or "")
    assert r.event_count >= flushed  # everything up to the last flush survived
    assert [e.data for e in r.events(0, 5)] == [("tick", i) for i in range(5)]
    last = r.event(r.event_count - 1)
    assert last.data == ("tick", r.event_count - 1)


def test_a_trailer_split_across_feeds_is_waited_for(good_file: bytes) -> None:
    whole = SessionReader(None)
    whole.feed(good_file)
    for cut in range(len(good_file) - 16, len(good_file)):  # every split inside the trailer
        r = SessionReader(None)
        r.feed(good_file[:cut])
        r.feed(good_file[cut:])
        assert r.event_count == whole.event_count > 0


def _without_footer(good_file: bytes) -> tuple[bytes, dict[str, list[FrameHeader]]]:
    """The file cut where its footer starts (a killed recording), and its frames' headers."""
    from recorder.session.format import TRAILER, FrameType

    footer_at, _ = TRAILER.unpack(good_file[-TRAILER.size :])
    frames: dict[str, list[FrameHeader]] = {"events": [], "keyframes": []}
    off = FILE_HEADER.size + struct.unpack_from("<I", good_file, 12)[0]
    while off < footer_at:
        h = unpack_frame_header(good_file[off : off + FRAME_HEADER.size], off)
        frames["events" if h.type == FrameType.EVENTS else "keyframes"].append(h)
        off = h.end
    return good_file[:footer_at], frames


def test_a_scan_steps_over_a_damaged_frame_in_the_middle(tmp_path: Path, good_file: bytes) -> None:
    """Without a footer, a frame whose body fails its checksum but whose neighbours are sound
    does not end the index: a damaged keyframe is left out, a damaged event frame stays (its
    events unreadable, the later ones keep their numbers), as with a footer."""
    data, frames = _without_footer(good_file)
    path = tmp_path / "k.cinema"
    kf = frames["keyframes"][1].offset
    damaged = bytearray(data)
    damaged[kf + FRAME_HEADER.size + 3] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with SessionReader(path) as r:
        assert r.event_count == 1000 and f"skipped a damaged keyframe at byte {kf}" in (
            r.recovery_note or ""
        )
        assert [e.data for e in r.events()] == [("msg", i) for i in range(1000)]
        assert len(r.keyframe_seqs) == len(frames["keyframes"]) - 1
    h = frames["events"][4]
    a, b, ev = h.first_seq, h.first_seq + h.count - 1, h.offset
    damaged = bytearray(data)
    damaged[ev + FRAME_HEADER.size + 3] ^= 0xFF
    path.write_bytes(bytes(damaged))
    with SessionReader(path) as r:
        assert r.event_count == 1000 and 0 < a < b < 999
        assert f"kept the damaged event frame at byte {ev} (events {a}-{b} unreadable" in (
            r.recovery_note or ""
        )
        assert [k for k, _ in r.bad_event_frames()] == [4]
        assert r.event(a - 1).data == ("msg", a - 1) and r.event(b + 1).data == ("msg", b + 1)
        with pytest.raises(SessionFormatError, match="checksum"):
            r.event(a)


def test_a_damaged_last_frame_is_dropped_as_a_torn_write(tmp_path: Path, good_file: bytes) -> None:
    """A damaged frame with nothing sound after it is what a killed write leaves: dropped."""
    data, frames = _without_footer(good_file)
    last = frames["events"][-1]
    damaged = bytearray(data[: last.end])
    damaged[last.offset + FRAME_HEADER.size + 3] ^= 0xFF
    path = tmp_path / "torn.cinema"
    path.write_bytes(bytes(damaged))
    with SessionReader(path) as r:
        assert r.event_count == last.first_seq and "checksum" in (r.recovery_note or "")
        assert "kept" not in (r.recovery_note or "") and r.bad_event_frames() == []
