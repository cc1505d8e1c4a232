"""World.status_table(): the facts of every process without views, equal to the views' own."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks._sessions import write_synthetic
from cinema.model import STATUSES, Session, World
from recorder.payload import Pid

from . import bp_sessions
from ._gen import generate


def from_views(w: World) -> dict[int, tuple[str, int, int, int]]:
    """The reference: what ProcessView says about each process."""
    return {
        pid: (p.status, p.mailbox_len, p.restarts, -1 if p.supervisor is None else p.supervisor)
        for pid, p in w.processes.items()
    }


def from_table(w: World) -> dict[int, tuple[str, int, int, int]]:
    t = w.status_table()
    assert list(t.pid) == sorted(t.pid), "pid order"
    return {
        int(pid): (STATUSES[int(s)], int(m), int(r), int(sup))
        for pid, s, m, r, sup in zip(
            t.pid, t.status, t.mailbox_len, t.restarts, t.supervisor, strict=True
        )
    }


def tree_from_views(w: World) -> tuple[list[int], dict[int, list[int]]]:
    live = sorted(pid for pid, p in w.processes.items() if p.alive)
    roots: list[int] = []
    children: dict[int, list[int]] = {}
    for pid in live:
        sup = w.processes[pid].supervisor
        if sup is None or sup not in live or sup == pid:
            roots.append(pid)
        else:
            children.setdefault(sup, []).append(pid)
    return roots, children


def check(w: World) -> None:
    assert from_table(w) == from_views(w), w
    assert w.alive() == sorted(pid for pid, p in w.processes.items() if p.alive)
    tree = w.supervision_tree()
    roots, children = tree_from_views(w)
    assert list(tree.roots) == roots
    assert {k: list(v) for k, v in tree.children.items()} == children
    assert list(tree.children) == list(children), "supervisors in order of their first child"


def check_fresh(s: Session, seq: int) -> None:
    """Both orders: the table first (views never built), then the views."""
    s._worlds.clear()
    w = s.world_at(seq)
    table = from_table(w)
    assert table == from_views(w)
    check(w)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300), kf=st.sampled_from([None, 1, 5, 33]))
def test_random_worlds(tmp_path: Path, seed: int, n: int, kf: int | None) -> None:
    path = tmp_path / f"s{seed}-{n}-{kf}.cinema"
    generate(path, seed, n, kf)
    with Session.open(path) as s:
        rng = random.Random(seed)
        for seq in rng.sample(range(-1, s.event_count), min(s.event_count + 1, 12)):
            check_fresh(s, seq)
        for seq in range(0, s.event_count, 7):  # warm: worlds derived from cached ones
            check(s.world_at(seq))


def test_supervisors_restarts_and_truncated_mailboxes(tmp_path: Path) -> None:
    # keyframes with supervisors, restarts, dead rows and mailboxes cut at 100 messages
    path = tmp_path / "syn.cinema"
    write_synthetic(path, 40_000, 200)
    with Session.open(path) as s:
        assert s.reader.keyframe_seqs
        seqs = [*s.reader.keyframe_seqs, 16_383, 16_385, 39_999]
        seqs += random.Random(3).sample(range(s.event_count), 8)
        for seq in seqs:
            check_fresh(s, seq)
        w = s.world_at(39_999)
        t = w.status_table()
        assert (t.restarts > 0).any() and (t.supervisor >= 0).any() and (~t.alive).any()


def test_bank_crash_and_restart(tmp_path: Path) -> None:
    path = bp_sessions.bank_session(tmp_path / "bank.cinema")
    with Session.open(path) as s:
        for seq in range(s.event_count):
            check_fresh(s, seq)
        t = s.world_at(19).status_table()
        assert t.status_of(bp_sessions.ACC2) == "crashed"
        assert int(t.restarts[t.rows_of([bp_sessions.ACC2B])[0]]) == 1
        assert t.status_of(99) is None


def test_plain_keyframe_entries_with_odd_values() -> None:
    """Entries not from a keyframe table (no shared facts): read one by one, like views."""
    procs: dict[int, Any] = {
        1: {"pid": 1, "status": "running", "supervisor": Pid(7), "restarts": 2},
        2: {"pid": 2, "status": "bogus", "mailbox": [[5, 1, "m"], [6, 1, "n"], [5, 1, "dup"]]},
        3: {"pid": 3, "status": "waiting", "mailbox": [[5, 1, "m"]], "mailbox_len": 40},
        4: {"pid": 4, "status": "crashed", "restarts": "x", "supervisor": "nope"},
        7: {"pid": 7, "status": "suspended", "mailbox_len": True},
    }
    w = World(10, 0, procs, {}, {}, frozenset(), {}, lambda v: v, str)
    assert from_table(w) == from_views(w)
    # the mailbox decides running / waiting, whatever a keyframe says (docs/world-schema.md)
    assert from_table(w)[2][:2] == ("running", 2) and from_table(w)[3][:2] == ("running", 40)
    assert from_table(w)[1][0] == "waiting" and from_table(w)[7][0] == "suspended"
    check(w)
    empty = World(-1, 0, {}, {}, {}, frozenset(), {}, lambda v: v, str)
    t = empty.status_table()
    assert len(t.pid) == 0 and t.status.dtype == np.uint8 and empty.alive() == []


def test_a_world_replayed_from_one_with_a_table_updates_that_table(tmp_path: Path) -> None:
    """Playback: each world's table is its parent's with the rows replay changed read again,
    and equals the table read from every entry."""
    from cinema.model._facts import status_table

    path = tmp_path / "syn.cinema"
    write_synthetic(path, 40_000, 200)
    with Session.open(path) as s:
        parent = s.world_at(1_000)
        parent.status_table()
        incremental = 0
        for seq in range(1_003, 30_000, 25):  # spawns, exits, restarts on the way
            w = s.world_at(seq)
            incremental += w._parent_table is not None
            got, want = w.status_table(), status_table(w._entries(), w._base)
            for a, b in zip(got, want, strict=True):
                assert np.array_equal(a, b), seq
            check(w)
        assert incremental > 1_000


@pytest.fixture(scope="module")
def syn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("status-table") / "syn.cinema"
    write_synthetic(path, 40_000, 200)
    return path


@settings(max_examples=6, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    steps=st.lists(st.tuples(st.integers(-300, 3_000), st.booleans()), min_size=5, max_size=25),
)
def test_tables_updated_through_checkpoints_and_keyframe_worlds(
    syn: Path, seed: int, steps: list[tuple[int, bool]]
) -> None:
    """Scrubbing: a world replayed through checkpoints whose tables nobody asked for, or
    straight from a keyframe's world, updates the table it was replayed from (the last one
    asked, or the keyframe's) and equals the table read from every entry and the views."""
    from cinema.model._facts import status_table

    with Session.open(syn) as s:
        seq = random.Random(seed).randrange(s.event_count // 2)
        for delta, ask in steps:
            seq = min(max(seq + delta, -1), s.event_count - 1)
            w = s.world_at(seq)
            if not ask:
                continue  # a step whose table nobody reads
            got, want = w.status_table(), status_table(w._entries(), w._base)
            for a, b in zip(got, want, strict=True):
                assert np.array_equal(a, b), seq
            assert from_table(w) == from_views(w), seq


def test_a_keyframe_world_is_the_parent_of_the_worlds_replayed_from_it(syn: Path) -> None:
    from cinema.model._facts import status_table

    with Session.open(syn) as s:
        kf = s.reader.keyframe_seqs[1]
        w = s.world_at(kf + 1_000)  # from the keyframe's world, through checkpoints
        assert w._parent_table is not None and isinstance(w._parent_table[0], World)
        kf_world = w._parent_table[0]
        assert kf_world.seq == kf - 1 and not kf_world._procs
        got, want = kf_world.status_table(), status_table(kf_world._entries(), kf_world._base)
        for a, b in zip(got, want, strict=True):
            assert np.array_equal(a, b)
        check(kf_world)
        step = s.world_at(kf + 1_100)  # from w, whose table nobody asked: the keyframe's
        assert step._parent_table is not None and step._parent_table[0] is w._parent_table[0]
        check(step)
        nxt = s.world_at(kf + 1_900)  # from step, whose table was asked
        assert nxt._parent_table is not None and nxt._parent_table[0] is step.status_table()
        check(nxt)
        check(w)
