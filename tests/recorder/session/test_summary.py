"""Frame summaries (format 1.1): written by the recorder, read back, equal to what the frames
hold; files without them (1.0) and killed recordings still get the same answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

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
        masks.append(sum(1 << int(k) for k in set(kinds.tolist())))
        u, n = np.unique(sk.pid[a : a + c], return_counts=True)
        lanes.append((u.tolist(), n.tolist()))
    return np.array(masks, np.uint64), lanes


def test_the_recorder_summarises_every_frame(tmp_path: Path) -> None:
    path = _record(tmp_path / "s.cinema")
    with SessionReader(path) as r:
        got = summary.read(r)
        assert got is not None
        assert r.version == (1, 1)
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
    monkeypatch.setattr(summary, "_np", None)
    assert run() == fast


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
