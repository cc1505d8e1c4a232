"""The world at event N is one thing, whatever path computes it (docs/world-schema.md).

Over real sandbox recordings of the three demos (and larger runs), each recorded twice -- with
keyframes and with none (:mod:`._recordings`) -- the world after event N is compared field by
field, with a readable diff on failure, between:

- replay from event 0 on the twin without keyframes (the definition),
- the nearest keyframe plus replay (a cold seek), and every world stepped forward from it,
- whatever cached checkpoints and LRU worlds a session holds after seeks in any order,
- the keyframe's own contents, as the writer wrote them (writer and reader agree).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks._sandbox_sessions import record_sandbox_session
from cinema.model import STATUSES, Session, World
from cinema.model._proc import Proc
from recorder.events import EventKind
from recorder.session.reader import SessionReader

from ._recordings import Twins, demo_twins, program_twins, same_events
from ._worlds import assert_same, facts, full, memoize, processes

SCENARIOS = ("bank", "chat", "pipeline")


# --------------------------------------------------------------------------- recordings


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("paths")


_RECORDINGS: dict[str, Twins] = {}


def _twins(name: str, folder: Path) -> Twins:
    """The recording ``name`` (``small-S``, ``large-S`` or ``program``), made once per run."""
    got = _RECORDINGS.get(name)
    if got is not None and got.keyframes.exists():
        return got
    kind, _, scenario = name.partition("-")
    if kind == "small":  # a demo at scale 1 with dense keyframes (~8 x live processes apart)
        twins = demo_twins(folder, scenario, seed=5, keyframe_min_events=32)
    elif kind == "large":  # a demo at --scale 3, recorded by `cinema demo --headless` itself
        twins = demo_twins(folder, scenario, seed=7, scale=3, keyframe_min_events=None)
    else:  # the benchmark's program: 200 GenServers under 4 supervisors, crashes, restarts

        def record(target: Any) -> None:
            record_sandbox_session(target, 40_000, workers=200, supervisors=4, clients=10, seed=3)

        twins = program_twins(folder, record, "program")
    same_events(twins)
    _RECORDINGS[name] = twins
    return twins


SMALL = [f"small-{s}" for s in SCENARIOS]
ALL = [*SMALL, *(f"large-{s}" for s in SCENARIOS), "program"]


@pytest.fixture(
    scope="module",
    # chat's ~10k events with ~190 processes take the longest: `-m "not slow"` skips it
    params=[pytest.param(n, marks=pytest.mark.slow) if "chat" in n else n for n in SMALL],
)
def small(request: pytest.FixtureRequest, folder: Path) -> Twins:
    return _twins(request.param, folder)


@pytest.fixture(scope="module", params=ALL)
def recording(request: pytest.FixtureRequest, folder: Path) -> Twins:
    return _twins(request.param, folder)


def _open(twins: Twins) -> tuple[Session, Session]:
    return memoize(Session.open(twins.keyframes)), memoize(Session.open(twins.linear))


def _samples(s: Session, n: int, seed: int, keyframes: int = 24) -> list[int]:
    """The events around (up to ``keyframes``) keyframes (+-1) and ``n`` random events."""
    count = s.event_count
    rng = random.Random(seed)
    kf = s.reader.keyframe_seqs
    kf = sorted(rng.sample(kf, keyframes)) if len(kf) > keyframes else kf
    around = {k + d for k in kf for d in (-2, -1, 0)}
    picked = around | set(rng.sample(range(count), min(n, count))) | {0, count - 1}
    return sorted(x for x in picked if 0 <= x < count)


def _cold(s: Session, seq: int) -> World:
    """``world_at(seq)`` from the nearest keyframe, with no cached world to start from."""
    s._worlds.clear()
    s._visited.clear()
    return s.world_at(seq)


# --------------------------------------------------------------------------- the tests


def test_every_event_from_keyframes_equals_replay_from_event_0(small: Twins) -> None:
    """Every event of each demo: the chain of worlds that restarts at each keyframe equals the
    chain replayed from event 0. At every event the cheap facts of every process (status,
    mailbox length, restarts, supervisor, the tree, supervisors, registry, time) and the full
    views of the processes the event names plus a rotating sixteenth of the others are
    compared; at each keyframe and the event after it, and every 251 events, whole worlds."""
    kf, lin = _open(small)
    boundaries = {k - 1 for k in kf.reader.keyframe_seqs}
    assert len(boundaries) > 5, "dense keyframes expected"
    sk = kf.skeleton
    full_at = {b + d for b in boundaries for d in (0, 1)}
    for n in range(kf.event_count):
        if n in boundaries:
            kf._worlds.clear()  # this world comes straight from the keyframe
        a, b = kf.world_at(n), lin.world_at(n)
        where = f"{small.name} after event #{n}"
        if n in full_at or n % 251 == 0:
            assert_same(where, "from keyframe", full(a), "from event 0", full(b))
            continue
        assert_same(where, "from keyframe", facts(a), "from event 0", facts(b))
        named = {int(sk.pid[n]), int(sk.peer[n])}
        some = [p for p in b.processes if p % 16 == n % 16 or p in named]
        assert_same(where, "from keyframe", processes(a, some), "from event 0", processes(b, some))


def test_cold_seeks_equal_replay_from_event_0(recording: Twins) -> None:
    """Keyframe boundaries +-1 and random events: a cold seek (keyframe + one replay window)
    equals a cold replay from event 0."""
    twins = recording
    kf, lin = _open(twins)
    for n in _samples(kf, 12, seed=len(twins.name), keyframes=12):
        assert_same(
            f"{twins.name} after event #{n}",
            "from keyframe", full(_cold(kf, n)), "from event 0", full(_cold(lin, n)),
        )  # fmt: skip


def test_keyframes_hold_what_replay_reaches(recording: Twins) -> None:
    """Each keyframe's contents, as written, equal the world replayed from event 0 up to it:
    the writer follows the same definition as the reader."""
    for twins in (recording,):
        with SessionReader(twins.keyframes) as reader:
            lin = memoize(Session.open(twins.linear))
            ts = reader.skeleton().ts
            for kf_seq in reader.keyframe_seqs:
                got = reader.keyframe_before(kf_seq)
                assert got is not None
                world = lin.world_at(kf_seq - 1)
                where = f"{twins.name} keyframe at #{kf_seq}"
                assert_same(where, "keyframe", _as_written(got[1]), "replay", _in_schema(world))
                if kf_seq:  # metadata: the clock when taken, at or after the last event
                    assert got[1]["time_ns"] >= int(ts[kf_seq - 1]), where
                    assert world.time_ns == int(ts[kf_seq - 1]), where


_SEEKS = st.lists(
    st.one_of(
        st.tuples(st.just("boundary"), st.integers(0, 10_000), st.sampled_from([-2, -1, 0, 1])),
        st.tuples(st.just("step"), st.sampled_from([-1, 1]), st.integers(1, 6)),
        # a drag forward: steps of many events, across keyframes not decoded yet
        st.tuples(st.just("drag"), st.integers(2, 120), st.integers(1, 8)),
        st.tuples(st.just("jump"), st.integers(0, 10_000), st.just(0)),
        st.tuples(st.just("forget"), st.just(0), st.just(0)),
    ),
    min_size=3,
    max_size=14,
)


@pytest.fixture(scope="module")
def orders(folder: Path) -> tuple[Session, Session, dict[int, dict[str, Any]]]:
    """The chat demo (dense keyframes) and its linear twin, with a memo of whole worlds."""
    twins = demo_twins(folder, "chat", seed=9, keyframe_min_events=32)
    same_events(twins)
    kf, lin = _open(twins)
    return kf, lin, {}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_SEEKS)
def test_any_order_of_seeks_gives_the_same_worlds(
    orders: tuple[Session, Session, dict[int, dict[str, Any]]], ops: list[tuple[str, int, int]]
) -> None:
    """Seek forward and back, step, drag, jump around keyframe boundaries, forget the caches:
    every world equals the one replayed from event 0, whichever cached world, checkpoint or
    world before a keyframe (a drag across it) the session started from."""
    kf, lin, reference = orders
    count = kf.event_count
    boundaries = [k - 1 for k in kf.reader.keyframe_seqs if k > 0]
    at = count // 2
    for op, x, y in ops:
        if op == "boundary":
            at = boundaries[x % len(boundaries)] + y
        elif op == "jump":
            at = x * count // 10_001
        elif op == "forget":
            kf._worlds.clear()
            kf._visited.clear()
            continue
        at = min(max(at, 0), count - 1)
        steps = y if op in ("step", "drag") else 1
        for _ in range(steps):
            if op in ("step", "drag"):
                at = min(max(at + x, 0), count - 1)
            want = reference.get(at)
            if want is None:
                want = reference[at] = full(_cold(lin, at))
            assert_same(f"chat after event #{at} ({ops})", "seeked", full(kf.world_at(at)),
                        "from event 0", want)  # fmt: skip


# --------------------------------------------------------------------------- the schema


def _as_written(kf: dict[str, Any]) -> dict[str, Any]:
    """A keyframe's contents in the schema's terms, exactly as the writer wrote them."""
    procs: dict[int, dict[str, Any]] = {}
    for e in kf["processes"]:
        procs[e["pid"]] = {
            **_common(e),
            "mailbox": [tuple(m) for m in e["mailbox"]],
            "links": sorted(e["links"]),
            "monitors": sorted(tuple(m) for m in e["monitors"]),
        }
    for e in kf["dead"]:
        procs[e["pid"]] = {
            **_common(e), "mailbox": [], "links": [], "monitors": [], "reason": e["reason"]
        }  # fmt: skip
    sups = {
        s["pid"]: (s["strategy"], s["max_restarts"], s["max_seconds"],
                   [dict(c) for c in s["children"]])
        for s in kf["supervisors"]
    }  # fmt: skip
    return {"processes": procs, "supervisors": sups, "registry": dict(kf["registry"])}


def _common(e: Any) -> dict[str, Any]:
    keys = ("name", "behaviour", "status", "parent", "supervisor", "registered", "trap_exit",
            "state", "mailbox_len", "restarts", "handled", "cpu_ns", "memory")  # fmt: skip
    return {k: e[k] for k in keys}


def _in_schema(w: World) -> dict[str, Any]:
    """A world in the keyframe schema's terms (a keyframe lists the first 100 queued
    messages)."""
    procs: dict[int, dict[str, Any]] = {}
    for pid, p in w.processes.items():
        row = {
            "name": p.name, "behaviour": p.behaviour, "status": p.status, "parent": p.parent,
            "supervisor": p.supervisor, "registered": p.registered, "trap_exit": p.trap_exit,
            "state": p.state, "mailbox_len": p.mailbox_len, "restarts": p.restarts,
            "handled": p.handled, "cpu_ns": p.cpu_ns, "memory": p.memory,
            "mailbox": [tuple(m) for m in p.mailbox[:100]], "links": list(p.links),
            "monitors": [tuple(m) for m in p.monitors],
        }  # fmt: skip
        if not p.alive:
            row["reason"] = p.exit_reason
        procs[pid] = row
    sups = {
        pid: (s.strategy, s.max_restarts, s.max_seconds, [dict(c) for c in s.children])
        for pid, s in w.supervisors.items()
    }
    return {"processes": procs, "supervisors": sups, "registry": dict(w.registry)}


# --------------------------------------------------------------------------- sanity


def test_the_recordings_exercise_what_the_world_holds(recording: Twins) -> None:
    """The comparisons above are not vacuous: dead processes with states and reasons,
    restarts, supervisors with slots, queued messages, both statuses of live processes."""
    with Session.open(recording.linear) as s:
        kinds = set(s.skeleton.kind.tolist())
        assert {EventKind.CRASH, EventKind.RESTART, EventKind.CHILD_SPEC} <= kinds
        seen: set[str] = set()
        slots = restarts = queued = 0
        for n in range(0, s.event_count, max(1, s.event_count // 40)):
            w = s.world_at(n)
            t = w.status_table()
            seen |= {STATUSES[int(c)] for c in np.unique(t.status)}
            slots += sum(len(v.children) for v in w.supervisors.values())
            restarts += int(t.restarts.sum())
            queued += int(t.mailbox_len.sum())
        w = s.world_at(s.event_count - 1)
        dead = [p for p in w.processes.values() if not p.alive]
        assert dead and all(p.exit_reason is not None for p in dead)
        assert any(p.state is not None for p in dead)
        assert slots and restarts and queued
        assert {"running", "waiting", "crashed"} <= seen, seen


def test_cached_worlds_hold_few_keyframes_and_stay_right(
    small: Twins, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seeking all over a recording, the cached worlds hold the rows of at most
    ``_KEYFRAMES`` keyframes (a keyframe leaving the cache takes its worlds along), and every
    world still equals the one replayed from event 0."""
    from cinema.model import session

    monkeypatch.setattr(session, "_KEYFRAMES", 2)
    kf, lin = _open(small)
    assert len(kf.reader.keyframe_seqs) > 3, "the recording has keyframes to move between"
    seqs = _samples(kf, 30, seed=11, keyframes=8)
    random.Random(5).shuffle(seqs)
    dropped: list[int] = []
    forget = kf._forget_keyframe

    def counting(kf_seq: int) -> None:  # the real one, counting the worlds it drops
        n = len(kf._worlds)
        forget(kf_seq)
        dropped.append(n - len(kf._worlds))

    kf._forget_keyframe = counting  # type: ignore[method-assign]
    for at in seqs:
        got = full(kf.world_at(at))
        held = {w.keyframe_seq for w in kf._worlds.values()} - {-1}
        assert held <= set(kf._kf_worlds), (at, held, list(kf._kf_worlds))
        assert len(kf._kf_worlds) <= 2
        for w in kf._worlds.values():  # a world holds what replay changed; the rest is shared
            if w.keyframe_seq >= 0:
                assert w._kf_procs is kf._kf_worlds[w.keyframe_seq]._kf_procs
                assert all(type(e) is Proc for e in w._procs.values())
        assert_same(f"after event #{at}", "seeked", got, "from event 0", full(_cold(lin, at)))
    assert sum(dropped), "some keyframe left the cache and took its worlds along"


def test_a_drag_across_keyframes_replays_from_the_last_step(
    small: Twins, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forward steps across keyframes start from the world of the step before (no keyframe
    decoded) every other keyframe at most, and equal replay from event 0; the worlds they
    leave hold the previous keyframe's rows, which stay cached."""
    kf, lin = _open(small)
    hops = 0
    real = kf._hop_base

    def counting(j: int, seq: int) -> World | None:
        nonlocal hops
        got = real(j, seq)
        hops += got is not None
        return got

    monkeypatch.setattr(kf, "_hop_base", counting)
    step = max(2, kf.event_count // 300)
    for at in range(kf.event_count // 3, kf.event_count, step):
        got = full(kf.world_at(at))
        held = {w.keyframe_seq for w in kf._worlds.values()} - {-1}
        assert held <= set(kf._kf_worlds), (at, held, list(kf._kf_worlds))
        assert_same(f"after event #{at}", "dragged", got, "from event 0", full(_cold(lin, at)))
    crossed = sum(kf.event_count // 3 < k < kf.event_count for k in kf.reader.keyframe_seqs)
    assert 0 < hops <= (crossed + 1) // 2 + 1, (hops, crossed)
