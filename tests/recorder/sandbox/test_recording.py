"""Recorded sessions: determinism, every kind per scenario, world schema, keyframe replay."""

from __future__ import annotations

import copy
import itertools
import os
from pathlib import Path
from typing import Any

import pytest

from recorder.events import NO_PID, Event, EventKind
from recorder.sandbox import Process, Runtime
from recorder.sandbox.scenarios import SCENARIOS
from recorder.session.reader import SessionReader
from recorder.testing import CaptureSink

# LOST needs a full buffer; CALL / RETURN need call tracing switched on
ALL_BUT_LOST = set(EventKind) - {EventKind.LOST, EventKind.CALL, EventKind.RETURN}


def run_scenario(name: str, seed: int, **runtime_options: Any) -> list[Event]:
    sink = CaptureSink()
    rt = Runtime(deterministic=True, seed=seed, record=sink, **runtime_options)
    SCENARIOS[name](rt)
    return list(sink.events)


def comparable(events: list[Event]) -> list[tuple[Any, ...]]:
    # Process states hold Pid / Ref objects and records; repr is a faithful comparison key.
    return [(e.kind, e.pid, e.peer, e.ref, repr(e.data)) for e in events]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_seed_same_events_three_times(name: str) -> None:
    runs = [comparable(run_scenario(name, seed=11)) for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]
    assert comparable(run_scenario(name, seed=12)) != runs[0]


def _record(path: Path, seed: int, name: str = "bank") -> bytes:
    rt = Runtime(
        deterministic=True,
        seed=seed,
        record=str(path),
        metadata={"scenario": name, "argv": [], "host": "test", "pid": 0},
        recorder_options={"flush_interval": None, "wall_clock": lambda: 0},
    )
    SCENARIOS[name](rt)
    rt.close()
    return path.read_bytes()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_files_are_byte_identical_for_the_same_seed(tmp_path: Path, name: str) -> None:
    assert _record(tmp_path / "a.cinema", 5, name) == _record(tmp_path / "b.cinema", 5, name)


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SessionReader:
    path = tmp_path_factory.mktemp("sessions") / f"{request.param}.cinema"
    with Runtime(
        deterministic=True,
        seed=2,
        record=str(path),
        keyframe_min_events=500,
        metadata={"scenario": request.param},
    ) as rt:
        SCENARIOS[request.param](rt)
    return SessionReader(path)


def test_every_event_kind_is_recorded(session: SessionReader) -> None:
    kinds = set(session.skeleton().kind.tolist())
    assert kinds >= ALL_BUT_LOST, {k.name for k in ALL_BUT_LOST - kinds}
    assert 1000 < session.event_count < 100_000
    assert session.meta["metadata"]["deterministic"] if "metadata" in session.meta else True


_PROCESS_KEYS = {
    "pid",
    "name",
    "behaviour",
    "status",
    "parent",
    "supervisor",
    "registered",
    "trap_exit",
    "state",
    "mailbox",
    "mailbox_len",
    "links",
    "monitors",
    "restarts",
    "handled",
    "cpu_ns",
    "memory",
}


_DEAD_KEYS = (_PROCESS_KEYS - {"mailbox", "links", "monitors"}) | {"reason"}


def test_keyframes_follow_the_world_schema(session: SessionReader) -> None:
    seqs = session.keyframe_seqs
    assert len(seqs) >= 3
    for seq in seqs:
        got = session.keyframe_before(seq)
        assert got is not None
        _, world = got
        assert set(world) == {"time_ns", "processes", "dead", "supervisors", "registry"}
        assert isinstance(world["time_ns"], int)
        for proc in world["processes"]:
            assert set(proc) - {"mailbox_ids"} == _PROCESS_KEYS  # the reader adds mailbox_ids
            assert isinstance(proc["pid"], int)
            assert proc["status"] in ("running", "waiting", "suspended")
            assert all(isinstance(p, int) for p in proc["links"])
            assert len(proc["mailbox"]) == min(proc["mailbox_len"], 100)
        for dead in world["dead"]:  # full last entries (docs/world-schema.md)
            assert set(dead) == _DEAD_KEYS, set(dead) ^ _DEAD_KEYS
            assert isinstance(dead["pid"], int) and dead["status"] in ("dead", "crashed")
            assert dead["registered"] is None and dead["mailbox_len"] == 0
        for sup in world["supervisors"]:
            assert sup["strategy"] in (
                "one_for_one",
                "one_for_all",
                "rest_for_one",
                "simple_one_for_one",
            )
            for child in sup["children"]:
                assert set(child) == {"id", "pid", "restart", "type"}
        assert all(isinstance(v, int) for v in world["registry"].values())


# --------------------------------------------------------------------------- reference replayer


def _opt(pid: int) -> int | None:
    return None if pid == NO_PID else pid


def replay(world: dict[str, Any], events: list[Event]) -> dict[str, Any]:
    """Apply events to a world by the table of docs/world-schema.md."""
    # The reader gives read-only process rows (links, monitors and mailbox ids as tuples):
    # copy them into plain dicts of lists.
    procs = {
        p["pid"]: {k: list(v) if isinstance(v, tuple) else copy.deepcopy(v) for k, v in p.items()}
        for p in world["processes"]
    }
    registry = dict(world["registry"])
    w = {"processes": [], "registry": registry}
    for e in events:
        k, pid, peer, data = e.kind, e.pid, e.peer, e.data
        if k == EventKind.SPAWN:
            procs[pid] = {
                "pid": pid,
                "name": data["name"],
                "behaviour": data["behaviour"],
                "parent": _opt(peer),
                "supervisor": _opt(data["supervisor"]),
                "registered": None,
                "state": None,
                "mailbox": [],
                "mailbox_len": 0,
                "links": [],
                "monitors": [],
                "restarts": 0,
                "handled": 0,
            }
        elif k in (EventKind.EXIT, EventKind.CRASH):
            procs.pop(pid, None)
            for p in procs.values():
                p["links"] = [x for x in p["links"] if x != pid]
                p["monitors"] = [m for m in p["monitors"] if m[1] != pid]
        elif k == EventKind.SEND and peer in procs:
            procs[peer]["mailbox"].append([e.ref, pid, data])
            procs[peer]["mailbox_len"] += 1
        elif k == EventKind.RECEIVE and pid in procs:
            box = procs[pid]["mailbox"]
            procs[pid]["mailbox"] = [m for m in box if m[0] != e.ref]
            procs[pid]["mailbox_len"] -= 1
            procs[pid]["handled"] += 1
        elif k == EventKind.DROP and peer in procs:
            box = procs[peer]["mailbox"]
            if any(m[0] == e.ref for m in box):
                procs[peer]["mailbox"] = [m for m in box if m[0] != e.ref]
                procs[peer]["mailbox_len"] -= 1
        elif k == EventKind.STATE and pid in procs:
            procs[pid]["state"] = data["state"]
        elif k == EventKind.LINK:
            procs[pid]["links"].append(peer)
            procs[peer]["links"].append(pid)
        elif k == EventKind.UNLINK:
            for a, b in ((pid, peer), (peer, pid)):
                if a in procs:
                    procs[a]["links"] = [x for x in procs[a]["links"] if x != b]
        elif k == EventKind.MONITOR:
            procs[pid]["monitors"].append([e.ref, peer])
        elif k == EventKind.DEMONITOR and pid in procs:
            procs[pid]["monitors"] = [m for m in procs[pid]["monitors"] if m[0] != e.ref]
        elif k == EventKind.RESTART and not data.get("gave_up"):
            procs[peer]["restarts"] = data["restarts"]
        elif k == EventKind.REGISTER:
            registry[data["name"]] = pid
            procs[pid]["registered"] = data["name"]
        elif k == EventKind.UNREGISTER:
            registry.pop(data["name"], None)
            if pid in procs:
                procs[pid]["registered"] = None
    w["processes"] = list(procs.values())
    return w


def summary(world: dict[str, Any]) -> dict[str, Any]:
    procs = {}
    for p in world["processes"]:
        procs[p["pid"]] = (
            p["name"],
            p["registered"],
            repr(p["state"]),
            p["mailbox_len"],
            [m[0] for m in p["mailbox"]][:50],
            sorted(p["links"]),
            sorted(tuple(m) for m in p["monitors"]),
            p["restarts"],
            p["handled"],
        )
    return {"processes": procs, "registry": dict(world["registry"])}


def test_replaying_from_a_keyframe_reaches_the_next_keyframe(session: SessionReader) -> None:
    seqs = session.keyframe_seqs
    for a, b in itertools.pairwise(seqs):
        _, start = session.keyframe_before(a)  # type: ignore[misc]
        _, end = session.keyframe_before(b)  # type: ignore[misc]
        replayed = replay(start, list(session.events(a, b)))
        assert summary(replayed) == summary(end), f"keyframes {a} -> {b}"


def test_adaptive_keyframe_interval_scales_with_processes(sink: CaptureSink) -> None:
    rt = Runtime(deterministic=True, record=sink, keyframe_min_events=100, profile_interval_ms=None)

    async def idle(proc: Process) -> None:
        await proc.receive()

    for _ in range(200):
        rt.spawn(idle)
    for pid in list(rt.processes):
        for _ in range(10):
            rt.send(rt.processes[pid].pid, "x")
    rt.run()
    seqs = [s for s, _ in sink.events.keyframes]
    gaps = [b - a for a, b in itertools.pairwise(seqs)]
    assert gaps and min(gaps) >= 8 * 200


def test_env_var_records_without_code_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recorder.sandbox.recording as recording

    monkeypatch.setenv("CINEMA_RECORD", str(tmp_path / "env.cinema"))
    monkeypatch.setenv("CINEMA_RECORD_SEED", "42")
    monkeypatch.setattr(recording, "_env_uses", 0)
    rt = Runtime(deterministic=True, seed=1)
    assert rt.seed == 42
    rt.marker("hello")
    rt.close()
    second = Runtime(deterministic=True)
    second.close()
    assert os.path.exists(tmp_path / "env-2.cinema")
    with SessionReader(tmp_path / "env.cinema") as reader:
        assert reader.event(reader.event_count - 1).data == {"label": "hello"}
