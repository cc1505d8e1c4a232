"""Replay windows and checkpoints: however a replay is cut up, the world is the same.

The replay applies a window of events as a whole (transient messages skip the mailboxes,
counters are summed per process); :meth:`Replayer.apply` applies one event at a time by the
rules of ``docs/world-schema.md``. Seeks leave checkpoint worlds behind and later seeks start
from them. Every path must give the same world as the independent reference.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cinema.model import Session, session
from cinema.model._from_keyframe import empty_world
from cinema.model._replay import Replayer
from cinema.model.world import World
from recorder import EventKind as K
from recorder import Recorder
from recorder.events import NO_PEER

from ._gen import comparable_model, comparable_ref, generate


def _replay(s: Session, cuts: list[int], stop: int) -> World:
    """The world after event ``stop``, replayed from the start in windows ending at ``cuts``."""
    w = empty_world(s._resolve, s.process_name)
    for end in [*(c for c in cuts if c < stop), stop]:
        rp = Replayer(w, s.data)
        cols = s.reader.columns(w.seq + 1, end + 1)
        rp.apply_columns(cols.start, cols.ts, cols.kind, cols.pid, cols.peer, cols.ref)
        w = rp.world()
    return w


def _one_by_one(s: Session, stop: int) -> World:
    rp = Replayer(empty_world(s._resolve, s.process_name), s.data)
    for e in s.events(0, stop + 1):
        rp.apply(e.seq, e.kind, e.pid, e.peer, e.ref)
    rp.time_ns = s.time_of(stop)
    return rp.world()


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 400), n_cuts=st.integers(0, 6))
def test_any_windowing_equals_event_by_event_and_the_reference(
    tmp_path: Path, seed: int, n: int, n_cuts: int
) -> None:
    path = tmp_path / f"w{seed}-{n}.cinema"
    refs, _ = generate(path, seed, n, None)
    rng = random.Random(seed)
    with Session.open(path) as s:
        for stop in rng.sample(range(len(refs)), min(len(refs), 6)):
            cuts = sorted(rng.sample(range(stop + 1), min(stop + 1, n_cuts)))
            whole = comparable_model(_replay(s, [], stop))
            assert whole == comparable_model(_replay(s, cuts, stop)), (stop, cuts)
            assert whole == comparable_model(_one_by_one(s, stop)), stop
            assert whole == comparable_ref(refs[stop]), stop


@pytest.mark.parametrize("keyframes", [None, 40])
def test_checkpoint_grid_worlds_equal_plain_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyframes: int | None
) -> None:
    # A small grid so that 400 events make many checkpoints, seeked in random order.
    monkeypatch.setattr(session, "_GRID", 7)
    monkeypatch.setattr(session, "_CHECKPOINT", 5)
    refs, _ = generate(tmp_path / "s.cinema", 17, 400, keyframes)
    rng = random.Random(3)
    with Session.open(tmp_path / "s.cinema") as s:
        for _ in range(3):
            s._worlds.clear()
            for seq in [rng.randrange(len(refs)) for _ in range(60)]:
                got = comparable_model(s.world_at(seq))
                assert got == comparable_ref(refs[seq]), seq
                assert got == comparable_model(_replay(s, [], seq)), seq
        assert len(s._worlds) > 20  # the grid was laid: seeks started from checkpoints


@pytest.mark.parametrize("keyframes", [None, 40])
def test_jumps_without_checkpoints_then_laid_later_give_the_same_worlds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keyframes: int | None
) -> None:
    """A jump replays one window (``checkpoints=False``) and leaves no checkpoint;
    :meth:`Session.lay_checkpoints` lays afterwards the very checkpoints a plain seek lays;
    every world is the reference's."""
    monkeypatch.setattr(session, "_NEAR", 4)
    monkeypatch.setattr(session, "_CHECKPOINT", 16)
    refs, _ = generate(tmp_path / "s.cinema", 23, 600, keyframes)
    rng = random.Random(5)

    def cold(s: Session) -> None:
        s._worlds.clear()
        s._kf_worlds.clear()
        s._visited.clear()

    with Session.open(tmp_path / "s.cinema") as s:
        for seq in rng.sample(range(100, len(refs)), 12):
            cold(s)
            s.world_at(seq)
            want = sorted(k for k in s._worlds if k < seq)
            cold(s)
            got = s.world_at(seq, checkpoints=False)
            assert comparable_model(got) == comparable_ref(refs[seq]), seq
            assert list(s._worlds) == [seq], "a jump leaves only its own world"
            s.lay_checkpoints(seq)
            assert sorted(k for k in s._worlds if k < seq) == want, seq
            assert s.world_at(seq) is got, "laying checkpoints keeps the world shown"
            if seq - s._interval_origin(seq) > 4:  # else the keyframe's world is close enough
                assert want and seq - want[-1] <= 4, (seq, want)
            s.lay_checkpoints(seq)  # a second call finds them: nothing more
            assert sorted(k for k in s._worlds if k < seq) == want
            for k in range(1, 9):  # stepping back from them
                back = s.world_at(seq - k)
                assert comparable_model(back) == comparable_ref(refs[seq - k]), (seq, k)


def _record(path: Path, events: list[tuple[int, int, int, int, object]]) -> None:
    clock = iter(range(1000, 10**9, 10))
    rec = Recorder(
        path, clock=lambda: next(clock), wall_clock=lambda: 0, snapshot=None,
        keyframe_every=1000, frame_events=16, flush_interval=None,
    )  # fmt: skip
    for kind, pid, peer, ref, data in events:
        rec.emit(kind, pid, peer, ref, data)
    rec.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000))
def test_profiles_and_exits_between_a_send_and_its_receive(tmp_path: Path, seed: int) -> None:
    # EXIT clears the mailbox: a message whose SEND and RECEIVE straddle one must not be skipped
    # as transient; PROFILEs and SUSPEND / RESUME in between change nothing of it.
    rng = random.Random(seed)
    events: list[tuple[int, int, int, int, object]] = []
    queues: dict[int, list[int]] = {}
    msg = 0
    for pid in range(4):
        events.append((K.SPAWN, pid, NO_PEER, 0, {"name": f"p{pid}"}))
        queues[pid] = []
    for _ in range(rng.randrange(10, 120)):
        a, b = rng.randrange(4), rng.randrange(4)
        r = rng.random()
        if r < 0.45:
            msg += 1
            queues[b].append(msg)
            events.append((K.SEND, a, b, msg, ("m", msg)))
        elif r < 0.75 and queues[a]:
            events.append((K.RECEIVE, a, NO_PEER, queues[a].pop(0), None))
        elif r < 0.85:
            data = {"mailbox_len": rng.randrange(6), "handled": rng.randrange(9), "cpu_ns": 1}
            events.append((K.PROFILE, a, NO_PEER, 0, data))
        elif r < 0.9:
            events.append((rng.choice([K.SUSPEND, K.RESUME]), a, NO_PEER, 0, None))
        elif r < 0.93:
            events.append((K.STATE, a, NO_PEER, 0, {"trigger": "cast", "state": rng.random()}))
        elif r < 0.96:
            queues[a].clear()  # its queued messages are never received
            events.append((K.EXIT, a, NO_PEER, 0, {"reason": "normal"}))
            events.append((K.SPAWN, a, NO_PEER, 0, {"name": f"p{a}"}))
    _record(tmp_path / f"p{seed}.cinema", events)
    with Session.open(tmp_path / f"p{seed}.cinema") as s:
        stop = s.event_count - 1
        cuts = sorted(rng.sample(range(stop + 1), min(stop + 1, rng.randrange(4))))
        expected = comparable_model(_one_by_one(s, stop))
        assert comparable_model(_replay(s, [], stop)) == expected
        assert comparable_model(_replay(s, cuts, stop)) == expected, cuts


def test_a_profile_is_a_sample_of_cpu_and_memory_only(tmp_path: Path) -> None:
    # docs/world-schema.md: handled counts RECEIVEs and the mailbox counts messages exactly; a
    # PROFILE's handled / mailbox_len change nothing, its cpu_ns / memory are the world's.
    _record(
        tmp_path / "s.cinema",
        [
            (K.SPAWN, 0, NO_PEER, 0, {"name": "a"}),
            (K.SPAWN, 1, NO_PEER, 0, {"name": "b"}),
            (K.SEND, 0, 1, 1, "x"),
            (K.SEND, 0, 1, 2, "y"),
            (K.PROFILE, 1, NO_PEER, 0, {"mailbox_len": 5, "handled": 9, "cpu_ns": 7, "memory": 3}),
            (K.RECEIVE, 1, 0, 1, None),
            (K.PROFILE, 1, NO_PEER, 0, {"cpu_ns": 8}),  # no memory in this sample: 0
            (K.PROFILE, NO_PEER, NO_PEER, 0, {"processes": 2}),  # the system's: no process
        ],
    )
    with Session.open(tmp_path / "s.cinema") as s:
        seen = [
            (p.mailbox_len, p.handled, p.status, p.cpu_ns, p.memory)
            for p in (s.world_at(n).processes[1] for n in (3, 4, 5, 6, 7))
        ]
        assert seen == [
            (2, 0, "running", 0, 0),
            (2, 0, "running", 7, 3),
            (1, 1, "running", 7, 3),
            (1, 1, "running", 8, 0),
            (1, 1, "running", 8, 0),
        ]
        one = _one_by_one(s, 7).processes[1]
        assert (one.cpu_ns, one.memory, one.handled) == (8, 0, 1)
