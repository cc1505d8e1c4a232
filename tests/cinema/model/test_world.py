"""World at event N: keyframe + replay equals the reference, from any starting point."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cinema.model import ModelError, Session

from ._gen import comparable_model, comparable_ref, generate


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300), kf=st.sampled_from([None, 1, 5, 8, 33]))
def test_world_at_n_equals_reference(tmp_path: Path, seed: int, n: int, kf: int | None) -> None:
    path = tmp_path / f"s{seed}-{n}-{kf}.cinema"
    refs, _ = generate(path, seed, n, kf)
    with Session.open(path) as s:
        assert s.event_count == len(refs)
        rng = random.Random(seed)
        for seq in rng.sample(range(len(refs)), min(len(refs), 25)):
            s._worlds.clear()  # a cold seek: keyframe + replay
            assert comparable_model(s.world_at(seq)) == comparable_ref(refs[seq]), seq


def test_keyframes_equal_replay_from_start(tmp_path: Path) -> None:
    _refs, _ = generate(tmp_path / "kf.cinema", 3, 400, 8)
    generate(tmp_path / "nokf.cinema", 3, 400, None)
    with Session.open(tmp_path / "kf.cinema") as a, Session.open(tmp_path / "nokf.cinema") as b:
        assert a.reader.keyframe_seqs and not b.reader.keyframe_seqs
        for seq in range(0, 400, 7):
            assert comparable_model(a.world_at(seq)) == comparable_model(b.world_at(seq))


def test_step_forward_and_back_agree_with_cold_seeks(tmp_path: Path) -> None:
    refs, _ = generate(tmp_path / "s.cinema", 11, 300, 16)
    with Session.open(tmp_path / "s.cinema") as s:
        forward = [comparable_model(s.world_at(i)) for i in range(300)]
        backward = [comparable_model(s.world_at(i)) for i in reversed(range(300))][::-1]
        assert forward == backward == [comparable_ref(r) for r in refs]


def test_world_before_first_event_and_bad_numbers(tmp_path: Path) -> None:
    generate(tmp_path / "s.cinema", 1, 20, 8)
    with Session.open(tmp_path / "s.cinema") as s:
        assert len(s.world_at(-1).processes) == 0
        with pytest.raises(ModelError, match=r"event #20 is out of range.*#0 to #19"):
            s.world_at(20)
        with pytest.raises(ModelError, match="out of range"):
            s.world_at(-2)


def test_dead_processes_are_kept_and_tree_has_live_ones(tmp_path: Path) -> None:
    _, _events = generate(tmp_path / "s.cinema", 5, 400, 8)
    with Session.open(tmp_path / "s.cinema") as s:
        w = s.world_at(s.event_count - 1)
        dead = [p for p in w.processes.values() if not p.alive]
        assert dead and all(p.status in ("dead", "crashed") for p in dead)
        tree = w.supervision_tree()
        walked = [pid for _, pid in tree.walk()]
        assert sorted(walked) == w.alive()


def test_world_at_time(tmp_path: Path) -> None:
    generate(tmp_path / "s.cinema", 2, 50, 8)
    with Session.open(tmp_path / "s.cinema") as s:
        t = s.time_of(10)
        assert s.seq_at_time(t) == 10
        assert s.world_at_time(t).seq == 10
        assert s.seq_at_time(s.t_last) == 49
        with pytest.raises(ModelError, match="before the start"):
            s.seq_at_time(s.t_first - 1)
        with pytest.raises(ModelError, match="after the end"):
            s.seq_at_time(s.t_last + 1)
