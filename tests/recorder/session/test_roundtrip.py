"""Writing then reading sessions: every field of every event comes back, by any access path."""

from __future__ import annotations

import hashlib
import io
import itertools
import random
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recorder import EventKind, Pid, Recorder
from recorder.events import NO_PEER, Event
from recorder.session.format import FrameType
from recorder.session.reader import SessionReader


def fake_clock(step: int = 1000):
    counter = itertools.count(10_000, step)
    return lambda: next(counter)


def record(path: Path, rows: list[tuple], **kw) -> Recorder:
    kw.setdefault("clock", fake_clock())
    kw.setdefault("flush_interval", None)
    rec = Recorder(path, **kw)
    for row in rows:
        rec.emit(*row)
    rec.close()
    return rec


# Process ids are interned small integers: a reader refuses ids from ReadLimits.max_pid (2^22)
# up, other than NO_PEER (see tests/fuzz for the refusal).
_pid = st.integers(0, 2**22 - 1)
row_strategy = st.tuples(
    st.sampled_from(list(EventKind)),
    _pid,
    _pid | st.just(NO_PEER),
    st.integers(-(2**63), 2**63 - 1),
    st.none()
    | st.integers()
    | st.text(max_size=20)
    | st.tuples(st.text(max_size=5), st.integers()),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(row_strategy, max_size=300),
    frame_events=st.integers(1, 64),
    compress=st.sampled_from([None, 1, 3]),
)
def test_every_event_round_trips(tmp_path: Path, rows, frame_events: int, compress) -> None:
    path = tmp_path / "s.cinema"
    record(path, rows, frame_events=frame_events, compress=compress)
    with SessionReader(path) as r:
        assert not r.recovered
        assert r.event_count == len(rows)
        got = list(r.events())
        for seq, (ev, row) in enumerate(zip(got, rows, strict=True)):
            assert ev.seq == seq
            assert (ev.kind, ev.pid, ev.peer, ev.ref, ev.data) == tuple(
                int(x) if i < 4 else x for i, x in enumerate(row)
            )
        if rows:
            sk = r.skeleton()
            assert sk.kind.tolist() == [int(x[0]) for x in rows]
            assert sk.pid.tolist() == [x[1] for x in rows]
            assert sk.peer.tolist() == [x[2] for x in rows]
            assert np.all(np.diff(sk.ts) == 1000)
            assert r.refs().tolist() == [x[3] for x in rows]
            k = random.Random(len(rows)).randrange(len(rows))
            assert r.event(k) == got[k]


def test_random_access_agrees_with_sequential_reads(tmp_path: Path) -> None:
    rows = [
        (EventKind.SEND, i % 7, (i + 1) % 7, i + 1, ("msg", i, Pid(i % 7))) for i in range(20_000)
    ]
    path = tmp_path / "s.cinema"
    record(path, rows, frame_events=200)  # 100 frames: the skeleton loads on a thread pool
    with SessionReader(path) as r:
        sk = r.skeleton()
        assert sk.pid.tolist() == [i % 7 for i in range(20_000)]
        assert sk.peer.tolist() == [(i + 1) % 7 for i in range(20_000)]
        assert (sk.kind == EventKind.SEND).all() and (np.diff(sk.ts) > 0).all()
        cols = r.columns(4321, 5432)
        assert cols.start == 4321 and cols.pid.tolist() == sk.pid[4321:5432].tolist()
        assert cols.ref.tolist() == list(range(4322, 5433))
        assert [e.seq for e in r.events_at([5, 999, 1000, 19_999])] == [5, 999, 1000, 19_999]
        assert r.payload_sizes(0, 3).tolist() == [len(r.payload_bytes(i)) for i in range(3)]
        seq_read = list(r.events(4990, 5010))
        for ev in seq_read:
            assert r.event(ev.seq) == ev
        assert r.event(19_999).data == ("msg", 19_999, Pid(19_999 % 7))
        assert r.frame_bounds(4999) == (4800, 5000)
        with pytest.raises(IndexError, match="out of range"):
            r.event(20_000)


def test_header_metadata_and_footer_facts(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    rows = [
        (EventKind.SPAWN, 0, NO_PEER, 0, {"name": "root", "behaviour": "supervisor"}),
        (EventKind.SPAWN, 1, 0, 0, {"name": "worker", "behaviour": "gen_server", "supervisor": 0}),
        (EventKind.SEND, 0, 1, 1, "hi"),
        (EventKind.RECEIVE, 1, 0, 1, None),
    ]
    record(path, rows, metadata={"scenario": "unit", "seed": 3})
    with SessionReader(path) as r:
        assert r.meta["scenario"] == "unit" and r.meta["seed"] == 3
        assert r.meta["clock_anchor"]["wall_ns"] > 0
        assert r.version == (1, 2)
        assert {p.name for p in r.processes.values()} == {"root", "worker"}
        assert r.processes[1].supervisor == 0
        assert r.kind_counts() == {EventKind.SPAWN: 2, EventKind.SEND: 1, EventKind.RECEIVE: 1}
        assert r.lost == 0


def test_keyframes_sit_at_frame_boundaries_and_hold_the_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    world = {"n": 0}

    def snapshot() -> dict:
        return {"processes": [], "n": world["n"]}

    rec = Recorder(
        path,
        clock=fake_clock(),
        flush_interval=None,
        keyframe_every=100,
        frame_events=64,
        snapshot=snapshot,
    )
    for i in range(1000):
        world["n"] = i + 1
        rec.emit(EventKind.MARKER, 0, data={"label": str(i)})
    rec.close()
    with SessionReader(path) as r:
        seqs = r.keyframe_seqs
        assert seqs and all(b - a >= 100 for a, b in itertools.pairwise(seqs))
        for kf_seq in seqs:
            got_seq, w = r.keyframe_before(kf_seq)
            assert got_seq == kf_seq and w["n"] == kf_seq  # the world after kf_seq events
        assert r.keyframe_before(seqs[0] - 1) is None
        table = r.frame_table()
        ev = table["type"] == FrameType.EVENTS
        starts = set(table["first_seq"][ev].tolist())
        assert set(seqs) <= starts | {r.event_count}


def test_mutated_state_after_snapshot_does_not_leak_into_the_keyframe(tmp_path: Path) -> None:
    state = {"balance": 1}
    rec = Recorder(tmp_path / "s.cinema", flush_interval=None, snapshot=lambda: {"s": state})
    rec.emit(EventKind.MARKER, 0)
    rec.keyframe()
    state["balance"] = 999
    rec.emit(EventKind.MARKER, 0)
    rec.close()
    with SessionReader(tmp_path / "s.cinema") as r:
        assert r.keyframe_before(1)[1]["s"] == {"balance": 1}


def test_fake_clock_gives_byte_identical_files(tmp_path: Path) -> None:
    def write(name: str) -> str:
        path = tmp_path / name
        rows = [(EventKind.SEND, i % 3, (i + 1) % 3, i + 1, ("m", i)) for i in range(5000)]
        record(
            path,
            rows,
            wall_clock=lambda: 1,
            snapshot=lambda: {"processes": []},
            keyframe_every=1000,
            metadata={"host": "h", "argv": [], "pid": 0, "program": "p"},
        )
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert write("a.cinema") == write("b.cinema")


def test_writer_outputs_receive_exactly_the_file_bytes_and_a_stream_reader_follows(
    tmp_path: Path,
) -> None:
    sink = io.BytesIO()
    path = tmp_path / "s.cinema"
    rows = [(EventKind.SEND, 1, 2, i + 1, ("m", i)) for i in range(3000)]
    record(
        path,
        rows,
        outputs=[sink.write],
        frame_events=100,
        snapshot=lambda: {"processes": []},
        keyframe_every=500,
    )
    assert sink.getvalue() == path.read_bytes()
    live = SessionReader(None)
    data = sink.getvalue()
    rng = random.Random(1)
    pos = 0
    seen = 0
    while pos < len(data):
        step = rng.randint(1, 5000)
        seen += live.feed(data[pos : pos + step])
        pos += step
    assert seen == live.event_count == 3000
    with SessionReader(path) as r:
        assert list(live.events(2990)) == list(r.events(2990))
        assert live.keyframe_seqs == r.keyframe_seqs
        assert np.array_equal(live.skeleton().ts, r.skeleton().ts)
        assert live.meta == r.meta


def test_drop_policy_counts_and_records_what_it_lost(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    rec = Recorder(path, overflow="drop", buffer_events=64, frame_events=16, flush_interval=None)
    gate = threading.Event()
    rec.add_output(lambda data: gate.wait(10))  # a stalled live client holds the writer up
    for i in range(200_000):
        rec.emit(EventKind.SEND, 0, 1, i + 1, None)
    gate.set()
    rec.close()
    with SessionReader(path) as r:
        assert rec.lost > 0
        assert r.lost == rec.lost
        assert r.event_count + rec.lost - r.kind_counts().get(EventKind.LOST, 0) == 200_000
        lost_events = [e for e in r.events() if e.kind == EventKind.LOST]
        assert sum(e.data["count"] for e in lost_events) == rec.lost


def test_block_policy_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    rec = Recorder(path, overflow="block", buffer_events=64, flush_interval=None)
    for i in range(50_000):
        rec.emit(EventKind.SEND, 0, 1, i + 1, None)
    rec.close()
    with SessionReader(path) as r:
        assert r.event_count == 50_000 and r.lost == 0


def test_flush_makes_events_durable_before_close(tmp_path: Path) -> None:
    path = tmp_path / "s.cinema"
    rec = Recorder(path, flush_interval=60)
    for i in range(10):
        rec.emit(EventKind.MARKER, 0, data={"label": str(i)})
    rec.flush()
    with SessionReader(path) as r:
        assert r.recovered and r.event_count == 10
    rec.close()


def test_a_failing_snapshot_source_is_disabled_not_fatal(tmp_path: Path) -> None:
    def broken() -> dict:
        raise RuntimeError("boom")

    rec = Recorder(tmp_path / "s.cinema", snapshot=broken, keyframe_every=10, flush_interval=None)
    for _ in range(100):
        rec.emit(EventKind.MARKER, 0)
    rec.close()
    with SessionReader(tmp_path / "s.cinema") as r:
        assert r.event_count == 100 and r.keyframe_seqs == []


def test_event_kinds_map_to_names() -> None:
    from recorder.events import kind_from_name

    assert kind_from_name("Supervisor-Restart".replace("Supervisor-", "")) == EventKind.RESTART
    assert Event(0, 0, EventKind.CRASH, 1).kind_name == "crash"
    with pytest.raises(ValueError, match="valid kinds"):
        kind_from_name("explode")
