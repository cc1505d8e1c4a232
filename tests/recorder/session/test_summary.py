"""Frame summaries (format 1.1): written by the recorder, read back, equal to what the frames
hold; files without them (1.0) and killed recordings still get the same answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cinema.model import Session
from cinema.model.activity import Activity
from recorder import EventKind as K
from recorder import Recorder
from recorder.events import NO_PEER
from recorder.session import summary
from recorder.session.format import FrameType
from recorder.session.reader import SessionReader


def _record(path: Path, n: int = 9_000, frame_events: int = 100, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    clock = iter(range(1000, 10**12, 7))
    with Recorder(path, clock=lambda: next(clock), flush_interval=None,
                  frame_events=frame_events) as rec:  # fmt: skip
        for pid in range(40):
            rec.emit(K.SPAWN, pid, NO_PEER, 0, {"name": f"p{pid}"})
        pids = rng.integers(0, 40, n)
        kinds = rng.choice([K.SEND, K.RECEIVE, K.STATE, K.CRASH, K.MARKER], n,
                           p=[0.4, 0.4, 0.17, 0.01, 0.02])  # fmt: skip
        for p, k in zip(pids.tolist(), kinds.tolist(), strict=True):
            rec.emit(int(k), p, (p + 1) % 40, 0, None)
    return path


def _from_frames(reader: SessionReader) -> tuple[np.ndarray, list[tuple[list[int], list[int]]]]:
    """Kinds masks and lane counts of every EVENTS frame, by brute force."""
    masks, lanes = [], []
    sk = reader.skeleton()
    ft = reader.frame_table()
    ev = ft["type"] == FrameType.EVENTS
    for a, c in zip(ft["first_seq"][ev].tolist(), ft["count"][ev].tolist(), strict=True):
        kinds = sk.kind[a : a + c]
        masks.append(sum({1 << min(int(k), 63) for k in set(kinds.tolist())}))
        u, n = np.unique(sk.pid[a : a + c], return_counts=True)
        lanes.append((u.tolist(), n.tolist()))
    return np.array(masks, np.uint64), lanes


def test_the_recorder_summarises_every_frame(tmp_path: Path) -> None:
    path = _record(tmp_path / "s.cinema")
    with SessionReader(path) as r:
        got = summary.read(r)
        assert got is not None
        assert r.version == (1, 2)
        metas = [t for t in r.frame_table()["type"].tolist() if t == FrameType.META]
        assert len(metas) == r.event_frame_count // summary.FRAMES_PER_META  # rest: footer
        masks, lanes = _from_frames(r)
        assert (
            got.first_seq.tolist()
            == r.frame_table()["first_seq"][r.frame_table()["type"] == FrameType.EVENTS].tolist()
        )
        assert got.kinds.tolist() == masks.tolist()
        for j, (u, n) in enumerate(lanes):
            a, b = got.starts[j], got.starts[j + 1]
            assert got.pid[a:b].tolist() == u and got.counts[a:b].tolist() == n


def test_without_numpy_the_summaries_are_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    frames = [
        (rng.integers(0, 30, 500).astype("u1").tobytes(),
         rng.integers(0, 2**32 - 1 if big else 900, 500).astype("<u4").tobytes())
        for big in (False, True, False)
    ]  # fmt: skip

    def run() -> dict[str, bytes] | None:
        z = summary.Summarizer()
        for i, (kinds, pids) in enumerate(frames):
            z.add(i * 500, kinds, pids)
        return z.take()

    fast = run()
    monkeypatch.setattr(summary, "frame_tally", summary.py_frame_tally)
    assert run() == fast  # numpy
    monkeypatch.setattr(summary, "_np", None)
    assert run() == fast  # neither numpy nor the native tally


def _tally_frames() -> list[tuple[bytes, bytes]]:
    rng = np.random.default_rng(7)
    frames = [(b"", b""), (bytes([255]), (2**32 - 1).to_bytes(4, "little"))]
    for n, top in ((1, 5), (700, 40), (4096, 70_000), (300, 2**32 - 1), (50, 2**20)):
        kinds = rng.choice([0, 1, 5, 6, 63, 64, 200, 255], n).astype("u1").tobytes()
        frames.append((kinds, rng.integers(0, top, n, dtype=np.uint64).astype("<u4").tobytes()))
    return frames


@pytest.mark.skipif(summary.native_frame_tally is None, reason="the native module is not built")
@pytest.mark.parametrize("numpy", [True, False])
def test_the_native_tally_is_the_python_one(numpy: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kinds past 63, pids dense (counted in a tally) and sparse (sorted), empty frames."""
    if not numpy:
        monkeypatch.setattr(summary, "_np", None)
    for kinds, pids in _tally_frames():
        got = summary.native_frame_tally(kinds, pids)
        assert got == summary.py_frame_tally(kinds, pids)
        counts, n, keys, lanes = got
        assert sum(c for _, c in counts) == len(kinds) and n == len(keys) // 4
        assert summary.mask_of(counts) == summary.kind_mask(kinds)
        assert sum(np.frombuffer(lanes, "<u4").tolist()) == len(pids) // 4


@pytest.mark.skipif(summary.native_frame_tally is None, reason="the native module is not built")
def test_the_native_tally_refuses_a_torn_pid_column() -> None:
    with pytest.raises(ValueError, match="whole uint32"):
        summary.native_frame_tally(b"\x01", b"\x01\x00\x00")


def test_activity_reads_what_it_would_work_out(tmp_path: Path) -> None:
    """The stored summaries and the ones worked out from the frames (a 1.0 file) agree."""
    path = _record(tmp_path / "s.cinema")
    with Session.open(path) as s:
        stored = Activity(s.reader)
        computed = Activity(s.reader)
        computed._read_stored = lambda: None  # type: ignore[method-assign]
        a, b = stored.lanes(), computed.lanes()
        for x, y in zip(a, b, strict=True):
            assert x.tolist() == y.tolist()
        assert stored.kinds().tolist() == computed.kinds().tolist()
        crash = stored.frames_with([K.CRASH])
        sk = s.skeleton
        spans = stored.spans()
        want = [
            k for k in range(spans.frames)
            if (sk.kind[spans.first[k] : spans.first[k] + spans.count[k]] == K.CRASH).any()
        ]  # fmt: skip
        assert crash.tolist() == want
        assert stored.frames_with([K.CRASH], stored_only=True).tolist() == want


def test_a_killed_recording_keeps_the_summaries_of_its_meta_frames(tmp_path: Path) -> None:
    """No footer: the META frames' summaries are read, the last frames are worked out."""
    path = _record(tmp_path / "s.cinema")
    data = path.read_bytes()
    with SessionReader(path) as r:
        ft = r.frame_table()
        cut = int(ft["offset"][-3])  # inside the recording: the last frames are gone
    killed = tmp_path / "killed.cinema"
    killed.write_bytes(data[:cut])
    with Session.open(killed) as s:
        assert s.reader.recovered
        got = summary.read(s.reader)
        assert got is not None and 0 < len(got.first_seq) < s.reader.event_frame_count
        full = Activity(s.reader)
        brute = Activity(s.reader)
        brute._read_stored = lambda: None  # type: ignore[method-assign]
        for x, y in zip(full.lanes(), brute.lanes(), strict=True):
            assert x.tolist() == y.tolist()
        frames = full.frames_with([K.CRASH], stored_only=True)
        assert set(full.frames_with([K.CRASH]).tolist()) <= set(frames.tolist())


def test_a_live_stream_grows_its_activity(tmp_path: Path) -> None:
    path = _record(tmp_path / "s.cinema")
    whole = path.read_bytes()
    live = Session.live()
    act = live.index.activity
    for i in range(0, len(whole), 9_000):
        live.feed(whole[i : i + 9_000])
        act.lanes()
    copy = tmp_path / "copy.cinema"
    shutil.copy(path, copy)
    with Session.open(copy) as s:
        for x, y in zip(act.lanes(), s.index.activity.lanes(), strict=True):
            assert x.tolist() == y.tolist()
        assert act.kinds().tolist() == s.index.activity.kinds().tolist()


FORMAT_1_0 = Path(__file__).parent / "data" / "format-1.0.cinema"


def _kind_filter_seqs(s: Session, kinds: list[int]) -> list[int]:
    from cinema.model.filters import EventFilter

    return [ev.seq for ev in EventFilter(kinds=kinds).scan(s)]


def test_a_1_0_file_still_reads_and_filters_by_kind() -> None:
    """A file written before frame summaries (format 1.0, checked in): nothing stored, the
    activity is worked out from the frames and a kind filter reads every frame."""
    with Session.open(FORMAT_1_0) as s:
        assert s.reader.version == (1, 0)
        assert summary.read(s.reader) is None
        sk = s.skeleton
        act = s.index.activity
        assert act.frames_with([K.CRASH], stored_only=True).tolist() == list(
            range(act.spans().frames)
        )
        for k in set(sk.kind.tolist()):
            assert _kind_filter_seqs(s, [k]) == np.flatnonzero(sk.kind == k).tolist()
        lanes = act.lanes()
        total = np.bincount(lanes.pid.astype(np.int64), weights=lanes.events)
        want = np.bincount(sk.pid.astype(np.int64))
        assert total[: len(want)].astype(np.int64).tolist() == want.tolist()


# ------------------------------------------------------------------ properties

_KINDS = [int(K.SEND), int(K.RECEIVE), int(K.STATE), int(K.CRASH), int(K.MARKER), 70, 200]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frames=st.integers(1, 3 * summary.FRAMES_PER_META + 5),  # around the META frame cut
    per_frame=st.integers(1, 40),
    pids=st.sampled_from([5, 300, 70_000]),  # both ways of counting lanes
    crash_rate=st.sampled_from([0.0, 0.002, 0.3]),
    seed=st.integers(0, 2**16),
    cut=st.sampled_from([None, -2, -40]),  # a recording killed before its last frames
)
def test_summaries_and_kind_filters_match_the_frames(
    tmp_path_factory: pytest.TempPathFactory,
    frames: int,
    per_frame: int,
    pids: int,
    crash_rate: float,
    seed: int,
    cut: int | None,
) -> None:
    """Whatever the number of frames (below, at and past a META frame's worth), lanes and
    kinds (codes past 63 included), a file's stored summaries equal the brute-force ones and a
    kind filter that skips frames by them finds exactly the events a full scan finds."""
    tmp = tmp_path_factory.mktemp("p")
    rng = np.random.default_rng(seed)
    n = frames * per_frame
    path = tmp / "s.cinema"
    clock = iter(range(1000, 10**12, 7))
    rest = (1 - crash_rate) / (len(_KINDS) - 1)
    p = [crash_rate if k == K.CRASH else rest for k in _KINDS]
    with Recorder(path, clock=lambda: next(clock), flush_interval=None,
                  frame_events=per_frame) as rec:  # fmt: skip
        for pid, kind in zip(rng.integers(0, pids, n).tolist(),
                             rng.choice(_KINDS, n, p=p).tolist(), strict=True):  # fmt: skip
            rec.emit(int(kind), pid, NO_PEER, 0, None)
    if cut is not None:
        with SessionReader(path) as r:
            offsets = r.frame_table()["offset"]
        if len(offsets) > -cut:
            path.write_bytes(path.read_bytes()[: int(offsets[cut])])
    with Session.open(path) as s:
        r = s.reader
        sk = s.skeleton
        stored = summary.read(r)
        masks, lanes = _from_frames(r)
        if stored is not None:
            ft = r.frame_table()
            firsts = ft["first_seq"][ft["type"] == FrameType.EVENTS].tolist()
            for j, first in enumerate(stored.first_seq.tolist()):
                k = firsts.index(first)
                assert int(stored.kinds[j]) == int(masks[k])
                a, b = stored.starts[j], stored.starts[j + 1]
                assert (stored.pid[a:b].tolist(), stored.counts[a:b].tolist()) == lanes[k]
        for kinds in ([int(K.CRASH)], [70], [200, int(K.MARKER)]):
            want_seqs = np.flatnonzero(np.isin(sk.kind, kinds)).tolist()
            assert _kind_filter_seqs(s, kinds) == want_seqs
