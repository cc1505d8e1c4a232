"""The keyframe world the sandbox writes is the recorded world (docs/world-schema.md), not the
live runtime's notions where those differ: what a reader replaying the events reaches."""

from __future__ import annotations

from typing import Any

import pytest

from recorder.events import EventKind
from recorder.sandbox import CallError, ChildSpec, GenServer, Process, Runtime, start_supervisor
from recorder.sandbox.introspection import world
from recorder.sandbox.process import RECEIVE_BUDGET, From
from recorder.testing import CaptureSink


def _entry(rt: Runtime, n: int) -> dict[str, Any]:
    return next(p for p in world(rt)["processes"] if p["pid"] == n)


def test_status_is_the_mailbox_rule_not_the_run_queue(rt: Runtime) -> None:
    async def idle(proc: Process) -> None:
        await proc.receive(("never",))

    pid = rt.spawn(idle)
    assert _entry(rt, pid.n)["status"] == "waiting"  # queued to run, but no message: waiting
    rt.send(pid, "x")  # queued, unmatched by its selective receive: it has a message
    rt.run()
    assert _entry(rt, pid.n)["status"] == "running"
    rt.suspend(pid)
    assert _entry(rt, pid.n)["status"] == "suspended"


def test_cpu_and_memory_are_the_last_samples(sink: CaptureSink) -> None:
    rt = Runtime(deterministic=True, seed=1, record=sink, profile_interval_ms=None)

    async def busy(proc: Process) -> None:
        while True:
            await proc.receive()

    pid = rt.spawn(busy)
    rt.send(pid, "a")
    rt.run()
    assert (_entry(rt, pid.n)["cpu_ns"], _entry(rt, pid.n)["memory"]) == (0, 0)  # no sample yet
    rt.profile_sample()
    (sample,) = [e for e in sink.events.of(EventKind.PROFILE) if e.pid == pid.n]
    rt.send(pid, "b")
    rt.run()  # more CPU time since the sample: the world still shows the sample's
    entry = _entry(rt, pid.n)
    assert (entry["cpu_ns"], entry["memory"]) == (sample.data["cpu_ns"], sample.data["memory"])
    assert rt.processes[pid.n]._cpu_ns > entry["cpu_ns"]
    rt.close()


def test_trap_exit_changes_are_recorded(rt: Runtime, sink: CaptureSink) -> None:
    async def trapper(proc: Process) -> None:
        proc.trap_exit = True
        proc.trap_exit = True  # no change, no event
        await proc.receive()
        proc.trap_exit = False

    pid = rt.spawn(trapper)
    born = rt.spawn(trapper, trap_exit=True)
    rt.run()
    assert _entry(rt, pid.n)["trap_exit"] is True
    flags = [(e.pid, e.data) for e in sink.events.of(EventKind.PROCESS_FLAG)]
    assert flags == [(pid.n, {"flag": "trap_exit", "value": True})]
    (spawn,) = [e for e in sink.events.of(EventKind.SPAWN) if e.pid == born.n]
    assert spawn.data["trap_exit"] is True  # set before it runs: in its SPAWN
    rt.send(pid, "go")
    rt.run()
    assert sink.events.of(EventKind.PROCESS_FLAG)[-1].data == {"flag": "trap_exit", "value": False}


class _Counter(GenServer):
    def init(self, n: int) -> Any:
        return ("ok", {"n": n})

    def handle_call(self, request: Any, from_: From, state: dict[str, int]) -> Any:
        if request == "crash":
            raise RuntimeError("asked to")
        state["n"] += 1
        return ("reply", state["n"], state)


def test_a_process_that_ended_keeps_its_last_entry(rt: Runtime) -> None:
    pid = rt.start(_Counter, 41)
    assert rt.call(pid, "inc") == 42
    with pytest.raises(CallError):
        rt.call(pid, "crash")
    rt.run()
    (dead,) = [d for d in world(rt)["dead"] if d["pid"] == pid.n]
    assert dead["status"] == "crashed" and dead["handled"] == 2
    assert dead["state"].decode() == {"n": 42}  # the state as last recorded
    assert dead["reason"].decode() == ("exception", "RuntimeError: asked to")
    assert dead["name"] == "_Counter" and dead["behaviour"] == "gen_server"
    assert "mailbox" not in dead and "links" not in dead  # empty, left out


def test_supervisor_slots_as_recorded(rt: Runtime, sink: CaptureSink) -> None:
    sup = start_supervisor(rt, [ChildSpec("c", _Counter, (0,), name="c")], max_restarts=5)
    (init, add) = sink.events.of(EventKind.CHILD_SPEC)
    assert init.data == {
        "op": "init", "child_id": None, "strategy": "one_for_one", "max_restarts": 5,
        "max_seconds": 5.0,
    }  # fmt: skip
    assert add.data["op"] == "add"
    child = rt.whereis("c")
    assert child is not None
    rt.exit(child, "kill")  # dead, and the supervisor has not handled its EXIT yet
    (entry,) = [s for s in world(rt)["supervisors"] if s["pid"] == sup.n]
    assert entry["children"][0]["pid"] is None  # a dead child's slot names no process
    rt.run()
    again = rt.whereis("c")
    assert again is not None and again != child
    (entry,) = [s for s in world(rt)["supervisors"] if s["pid"] == sup.n]
    assert entry["children"][0]["pid"] == again.n
    assert _entry(rt, again.n)["restarts"] == 1


def test_a_message_taken_out_of_budget_keeps_its_place(rt: Runtime) -> None:
    # A selective receive that finds its message when its budget is spent yields first; the
    # mailbox must keep the order the SENDs gave it meanwhile (what replay shows).
    seen: list[list[int]] = []
    yielded: list[bool] = []

    async def receiver(proc: Process) -> None:
        for _ in range(RECEIVE_BUDGET):
            await proc.receive()
        yielded.append(True)
        await proc.receive(("b",))
        yielded.append(False)

    async def observer(proc: Process, target: Any) -> None:
        while rt.processes.get(target.n) is not None:
            if yielded == [True]:
                seen.append([e[0] for e in rt.processes[target.n]._mailbox])
            await proc.yield_now()

    pid = rt.spawn(receiver)
    for i in range(RECEIVE_BUDGET + 3):
        rt.send(pid, ("a", i))
    rt.send(pid, ("b",))
    rt.send(pid, ("a", "last"))
    rt.spawn(observer, pid)
    rt.run()
    assert seen, "the observer never ran while the receiver yielded (pick another seed)"
    assert all(order == sorted(order) for order in seen), seen
