"""The kind index (format 1.2): the writer lists each frame's rare events exactly, a kind filter
that reads them instead of the frames gives the same events, and files without an index (1.1),
killed recordings and indexes that lie are still read right (from the frames themselves)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest

from cinema.model import Session
from cinema.model.filters import EventFilter
from recorder import EventKind as K
from recorder import Recorder
from recorder.session import format as fmt
from recorder.session import kindex
from recorder.session.format import FrameType, SessionFormatError
from recorder.session.reader import SessionReader

_KINDS = [K.SEND, K.RECEIVE, K.STATE, K.CRASH, K.RESTART, K.MARKER, K.EXIT, 70]
_P = [0.45, 0.35, 0.15, 0.012, 0.008, 0.02, 0.005, 0.005]


def _record(path: Path, n: int = 20_000, frame_events: int = 100, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    clock = iter(range(1000, 10**12, 7))
    with Recorder(path, clock=lambda: next(clock), flush_interval=None,
                  frame_events=frame_events) as rec:  # fmt: skip
        for pid in range(40):
            rec.emit(K.SPAWN, pid, 0xFFFFFFFF, 0, {"name": f"p{pid}"})
        kinds = rng.choice(np.array(_KINDS), n, p=_P)
        for i, k in enumerate(kinds.tolist()):
            pid = int(rng.integers(0, 40))
            # now and then a payload too big for a frame's listing budget
            size = int(rng.integers(0, 300))
            text = ["x" * 4000] * 9 if k == K.CRASH and i % 9 == 0 else "x" * size
            rec.emit(int(k), pid, (pid + 1) % 40, i + 1, {"i": i, "text": text})
    return path


def _frames(r: SessionReader) -> list[tuple[int, int]]:
    ft = r.frame_table()
    ev = ft["type"] == FrameType.EVENTS
    return list(zip(ft["first_seq"][ev].tolist(), ft["count"][ev].tolist(), strict=True))


def test_the_index_lists_exactly_each_frames_rare_events(tmp_path: Path) -> None:
    path = _record(tmp_path / "s.cinema")
    with SessionReader(path) as r:
        assert r.version == (1, 2)
        kx = r.kind_index()
        assert kx is not None
        frames = _frames(r)
        assert kx.first_seq.tolist() == [f for f, _ in frames]  # every frame covered
        want_rows: list[tuple[Any, ...]] = []
        for j, (first, count) in enumerate(frames):
            evs = list(r.events(first, first + count))
            listed, budget = 0, kindex.RARE_BYTES
            mine = []
            for k in sorted({e.kind for e in evs if e.kind < 63}):
                of_k = [e for e in evs if e.kind == k]
                size = sum(len(r.payload_bytes(e.seq)) for e in of_k)
                if len(of_k) <= kindex.RARE_PER_FRAME and size <= budget:
                    budget -= size
                    listed |= 1 << k
                    mine += of_k
            assert int(kx.listed[j]) == listed
            assert int(kx.kinds[j]) == sum({1 << min(e.kind, 63) for e in evs})
            for e in sorted(mine, key=lambda e: e.seq):
                want_rows.append((e.seq, e.ts, e.kind, e.pid, e.peer, e.ref,
                                  r.payload_bytes(e.seq)))  # fmt: skip
        got = [
            (int(kx.seq[j]), int(kx.ts[j]), int(kx.kind[j]), int(kx.pid[j]), int(kx.peer[j]),
             int(kx.ref[j]), kx.payload(j))
            for j in range(len(kx.seq))
        ]  # fmt: skip
        assert got == want_rows
        assert any(
            int(m) & (1 << K.CRASH) == 0
            for m, k in zip(kx.listed, kx.kinds, strict=True)
            if int(k) & (1 << K.CRASH)
        )  # the budget left some crashes in their frame


def _filters(s: Session) -> list[EventFilter]:
    t = s.skeleton.ts
    mid = int(t[len(t) // 2])
    return [
        EventFilter(kinds=[K.CRASH]),
        EventFilter(kinds=[K.CRASH, K.RESTART, K.EXIT]),
        EventFilter(kinds=[K.MARKER], processes=[3, 7]),
        EventFilter(kinds=[K.CRASH, 70], t_from=mid),
        EventFilter(kinds=[K.RESTART], seq_from=5_000, seq_to=12_000),
        EventFilter(kinds=[K.CRASH, K.EXIT], match="/i: \\d*7,/"),
        EventFilter(kinds=[K.SEND]),
    ]


def _without_index(s: Session, flt: EventFilter) -> list[Any]:
    r = s.reader
    saved = r._kindex
    r._kindex = (len(r._ix.types), None)
    try:
        return list(flt.scan(s))
    finally:
        r._kindex = saved


@pytest.mark.parametrize("cut", [None, -3, -70])
def test_kind_filters_read_the_index_and_give_the_same_events(
    tmp_path: Path, cut: int | None
) -> None:
    """Same events, data included, as reading every frame that may hold the kinds; also for a
    killed recording (no footer: the last frames are not covered and are read)."""
    path = _record(tmp_path / "s.cinema")
    if cut is not None:
        with SessionReader(path) as r:
            offsets = r.frame_table()["offset"]
        path.write_bytes(path.read_bytes()[: int(offsets[cut])])
    with Session.open(path) as s:
        assert s.reader.recovered == (cut is not None)
        kx = s.reader.kind_index()
        assert kx is not None and 0 < len(kx.first_seq) <= s.reader.event_frame_count
        for flt in _filters(s):
            got = list(flt.scan(s))
            assert got == _without_index(s, flt)
            seqs = [e.seq for e in got]
            assert seqs == sorted(seqs) and seqs


def test_a_crash_filter_opens_few_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _record(tmp_path / "s.cinema")
    with Session.open(path) as s:
        opened: list[int] = []
        real = s.reader.scan

        def spy(*a: Any, frames: Any = None, **kw: Any) -> Any:
            opened.extend(frames if frames is not None else range(s.reader.event_frame_count))
            return real(*a, frames=frames, **kw)

        monkeypatch.setattr(s.reader, "scan", spy)
        crashes = list(EventFilter(kinds=[K.CRASH]).scan(s))
        kx = s.reader.kind_index()
        assert kx is not None
        unlisted = (kx.kinds & ~kx.listed & np.uint64(1 << K.CRASH)) != 0
        assert len(opened) == int(unlisted.sum()) < s.reader.event_frame_count // 4
        assert len(crashes) > 3 * len(opened)


def test_a_1_1_file_has_no_index_and_filters_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written the way format 1.1 was (no kind index, minor version 1)."""
    monkeypatch.setattr(fmt, "FORMAT_MINOR", 1)
    monkeypatch.setattr(kindex.KindIndexer, "take", lambda self: (self._reset(), None)[1])
    path = _record(tmp_path / "old.cinema")
    monkeypatch.undo()
    with Session.open(path) as s:
        assert s.reader.version == (1, 1)
        assert s.reader.kind_index() is None
        for flt in _filters(s):
            assert [e.seq for e in flt.scan(s)] == flt.seqs(s).tolist()


def test_without_numpy_the_index_is_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def frames(path: Path) -> bytes:  # the header's metadata holds the wall clock
        data = path.read_bytes()
        return data[16 + int.from_bytes(data[12:16], "little") :]

    a = frames(_record(tmp_path / "a.cinema", n=3_000))
    monkeypatch.setattr(kindex, "_np", None)
    assert frames(_record(tmp_path / "b.cinema", n=3_000)) == a


def _lying(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    real = kindex.KindIndexer.take

    def take(self: kindex.KindIndexer) -> bytes | None:
        packed = real(self)
        if packed is None:
            return None
        m = msgpack.unpackb(packed)
        out = change(m)
        return out if isinstance(out, bytes) else msgpack.packb(out, use_bin_type=True)

    monkeypatch.setattr(kindex.KindIndexer, "take", take)


def _shift_seq(m: dict[str, Any]) -> dict[str, Any]:
    seq = np.frombuffer(m["seq"], "<i8") + 10**6
    return {**m, "seq": seq.tobytes()}


def _unlisted(m: dict[str, Any]) -> dict[str, Any]:
    return {**m, "listed": np.zeros(len(m["listed"]) // 8, "<u8").tobytes()}


def _bad_offsets(m: dict[str, Any]) -> dict[str, Any]:
    off = np.frombuffer(m["offsets"], "<u4").copy()
    off[-1] += 5
    return {**m, "offsets": off.tobytes()}


def _bad_time(m: dict[str, Any]) -> dict[str, Any]:
    return {**m, "ts": (np.frombuffer(m["ts"], "<i8") - 10**9).tobytes()}


def _big_pid(m: dict[str, Any]) -> dict[str, Any]:
    return {**m, "pid": np.full(len(m["pid"]) // 4, 1 << 30, "<u4").tobytes()}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda m: b"\xc1 not msgpack", "not a msgpack map"),
        (lambda m: [1, 2], "lacks a column"),
        (lambda m: {k: v for k, v in m.items() if k != "kind"}, "lacks a column"),
        (lambda m: {**m, "ts": m["ts"][:-3]}, "cut short"),
        (lambda m: {**m, "kind": m["kind"][:-1]}, "event columns disagree"),
        (_bad_offsets, "offsets are inconsistent"),
        (_shift_seq, "outside its frames"),
        (_unlisted, "does not list"),
        (_bad_time, "outside its frame's times"),
        (_big_pid, "process ids must be below"),
    ],
)
def test_an_index_that_lies_is_refused_and_the_frames_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any, words: str
) -> None:
    _lying(monkeypatch, change)
    path = _record(tmp_path / "s.cinema", n=12_000)
    monkeypatch.undo()
    with Session.open(path) as s:
        with pytest.raises(SessionFormatError, match=words):
            s.reader.kind_index()
        flt = EventFilter(kinds=[K.CRASH, K.RESTART])
        assert [e.seq for e in flt.scan(s)] == flt.seqs(s).tolist()


def test_a_scan_without_read_ahead_reads_the_same_frames(tmp_path: Path) -> None:
    # ahead=False (a seek's few frames, read on the calling thread) must see what the pool sees
    path = _record(tmp_path / "s.cinema", n=3_000)
    with SessionReader(path) as r:
        pooled = list(r.scan(17, 2_950))
        inline = list(r.scan(17, 2_950, ahead=False))
        assert len(pooled) > 4  # enough frames for the pool to run
        assert [(f.first_seq, len(f)) for f in inline] == [(f.first_seq, len(f)) for f in pooled]
        for a, b in zip(pooled, inline, strict=True):
            assert np.array_equal(a.kind, b.kind) and np.array_equal(a.refs(), b.refs())
            assert [a.data(j) for j in range(len(a))] == [b.data(j) for j in range(len(b))]
