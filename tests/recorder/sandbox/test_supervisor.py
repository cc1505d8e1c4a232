"""Supervisor: strategies, restart policies, intensity, dynamic children, nesting, bad specs."""

from __future__ import annotations

from typing import Any

import pytest

from recorder.events import EventKind
from recorder.sandbox import (
    CallError,
    ChildSpec,
    ChildSpecError,
    From,
    GenServer,
    Process,
    Runtime,
    Supervisor,
    SupervisorSpec,
    child_spec,
    start_supervisor,
)
from recorder.testing import CaptureSink


class Worker(GenServer):
    def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        if request == "crash":
            raise RuntimeError("asked to crash")
        if request == "quit":
            return ("stop", "normal", "ok", state)
        return ("reply", self.process.pid, state)


def specs(restart: str = "permanent") -> list[ChildSpec]:
    return [ChildSpec(name, Worker, (name,), restart=restart, name=name) for name in "abc"]  # type: ignore[arg-type]


def pids(rt: Runtime) -> dict[str, Any]:
    return {name: rt.whereis(name) for name in "abc"}


@pytest.mark.parametrize(
    ("strategy", "restarted"),
    [("one_for_one", {"b"}), ("one_for_all", {"a", "b", "c"}), ("rest_for_one", {"b", "c"})],
)
def test_strategies(rt: Runtime, sink: CaptureSink, strategy: str, restarted: set[str]) -> None:
    start_supervisor(rt, specs(), strategy=strategy)  # type: ignore[arg-type]
    rt.run()
    before = pids(rt)
    with pytest.raises(CallError):
        rt.call("b", "crash")
    rt.run()
    after = pids(rt)
    assert {n for n in "abc" if before[n] != after[n]} == restarted
    assert all(after.values())
    restarts = sink.events.of(EventKind.RESTART)
    assert {e.data["child_id"] for e in restarts} == restarted
    assert all(e.data["strategy"] == strategy for e in restarts)
    failed = next(e for e in restarts if e.data["child_id"] == "b")
    assert failed.data["old_pid"] == before["b"].n and failed.peer == after["b"].n


def test_transient_and_temporary_policies(rt: Runtime, sink: CaptureSink) -> None:
    start_supervisor(
        rt,
        [
            ChildSpec("t", Worker, restart="transient", name="t"),
            ChildSpec("tmp", Worker, restart="temporary", name="tmp"),
        ],
    )
    rt.run()
    rt.call("t", "quit")  # normal exit: not restarted
    rt.run()
    assert rt.whereis("t") is None
    with pytest.raises(CallError):
        rt.call("tmp", "crash")  # temporary: never restarted, spec removed
    rt.run()
    assert rt.whereis("tmp") is None
    ops = [(e.data["op"], e.data["child_id"]) for e in sink.events.of(EventKind.CHILD_SPEC)]
    assert ("remove", "tmp") in ops and ("remove", "t") not in ops


def test_restart_intensity_makes_the_supervisor_give_up(rt: Runtime, sink: CaptureSink) -> None:
    sup = start_supervisor(rt, specs()[:1], max_restarts=2, max_seconds=5)
    rt.run()
    for _ in range(3):
        with pytest.raises(CallError):
            rt.call("a", "crash")
        rt.run()
    gave_up = [e for e in sink.events.of(EventKind.RESTART) if e.data.get("gave_up")]
    assert len(gave_up) == 1 and gave_up[0].pid == sup.n
    assert sup.n not in rt.processes and rt.whereis("a") is None
    (sup_exit,) = [e for e in sink.events.of(EventKind.EXIT) if e.pid == sup.n]
    assert sup_exit.data == {"reason": "shutdown"}


def test_dynamic_children(rt: Runtime, sink: CaptureSink) -> None:
    sup = start_supervisor(rt, [])
    status, pid = rt.call(sup, ("start_child", {"id": "w", "start": Worker, "name": "w"}))
    assert status == "ok" and rt.whereis("w") == pid
    assert rt.call(sup, ("start_child", ChildSpec("w", Worker))) == (
        "error",
        ("already_started", pid),
    )
    assert rt.call(sup, ("which_children",)) == [("w", pid, "worker")]
    assert rt.call(sup, ("delete_child", "w")) == ("error", "running")
    assert rt.call(sup, ("terminate_child", "w")) == "ok"
    assert pid.n not in rt.processes
    assert rt.call(sup, ("restart_child", "w"))[0] == "ok"
    rt.call(sup, ("terminate_child", "w"))
    assert rt.call(sup, ("delete_child", "w")) == "ok"
    assert rt.call(sup, ("count_children",)) == {
        "specs": 0,
        "active": 0,
        "supervisors": 0,
        "workers": 0,
    }
    ops = [e.data["op"] for e in sink.events.of(EventKind.CHILD_SPEC)]
    assert ops == ["init", "add", "remove"]  # init: the supervisor's flags (world-schema.md)


def test_shutdown_waits_then_kills_a_child_that_traps_exits(rt: Runtime) -> None:
    async def stubborn(proc: Process) -> None:
        proc.trap_exit = True
        while True:
            await proc.receive()  # ignores the shutdown request

    sup = start_supervisor(rt, [ChildSpec("s", stubborn, shutdown=100)])
    rt.run()
    (child,) = [p for p in rt.processes.values() if p.name == "s"]
    started = rt.now_ms()
    rt.call(sup, ("terminate_child", "s"))
    assert not child.alive and rt.now_ms() - started >= 100
    assert rt.dead[child.pid.n] == "crashed"  # killed


def test_nested_trees_restart_a_whole_branch(rt: Runtime) -> None:
    inner = SupervisorSpec((ChildSpec("a", Worker, name="a"),), max_restarts=0)
    top = start_supervisor(rt, [ChildSpec("inner", Supervisor, (inner,))], max_restarts=5)
    rt.run()
    first = rt.whereis("a")
    with pytest.raises(CallError):
        rt.call("a", "crash")  # inner gives up at once; top restarts the branch
    rt.run()
    assert rt.whereis("a") not in (None, first)
    rows = rt.call(top, ("which_children",))
    assert rows[0][0] == "inner" and rows[0][2] == "supervisor"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"id": "x", "start": Worker, "restart": "sometimes"}, "restart"),
        ({"id": "x", "start": Worker, "shutdown": -1}, "shutdown"),
        ({"id": "x", "start": print}, "start"),
        ({"id": "", "start": Worker}, "id"),
        ({"id": "x", "start": Worker, "colour": "red"}, "colour"),
        ({"start": Worker}, "id"),
        ({"id": "x", "start": Worker, "args": 3}, "args"),
    ],
)
def test_bad_child_specs_name_the_field(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ChildSpecError, match=f"field '{named}'") as info:
        child_spec(fields)
    assert isinstance(info.value, ValueError) and info.value.field == named


def test_bad_child_spec_in_start_child_is_an_error_reply(rt: Runtime, sink: CaptureSink) -> None:
    sup = start_supervisor(rt, [], name="sup")
    reply = rt.call(sup, ("start_child", {"id": "x", "start": Worker, "restart": "nope"}))
    assert reply == ("error", ("invalid_restart_type", "nope"))
    assert not sink.events.of(EventKind.CRASH)  # the supervisor lives on
    assert rt.call(sup, ("count_children",))["specs"] == 0


class FailsAfterFirst(GenServer):
    """Starts once; every later init fails (a dependency that went away)."""

    starts = 0

    def init(self) -> Any:
        FailsAfterFirst.starts += 1
        if FailsAfterFirst.starts > 1:
            return ("stop", "dependency_gone")
        return ("ok", None)

    def handle_cast(self, request: Any, state: Any) -> Any:
        raise RuntimeError("crash")


def test_a_restart_that_fails_counts_as_another_restart_until_the_supervisor_gives_up(
    rt: Runtime, sink: CaptureSink
) -> None:
    FailsAfterFirst.starts = 0
    sup = start_supervisor(rt, [ChildSpec("f", FailsAfterFirst, name="f")], max_restarts=3)
    rt.cast("f", "crash")
    rt.run()
    assert FailsAfterFirst.starts == 1 + 3  # the first start, then three failed restarts
    (gave_up,) = [e for e in sink.events.of(EventKind.RESTART) if e.data.get("gave_up")]
    assert gave_up.data["reason"] == "dependency_gone"
    assert sup.n not in rt.processes


def test_start_supervisor_raises_when_a_child_fails_at_boot(rt: Runtime) -> None:
    from recorder.sandbox import StartError

    FailsAfterFirst.starts = 1  # the next init fails
    with pytest.raises(StartError) as info:
        start_supervisor(rt, [ChildSpec("a", Worker, ("a",)), ChildSpec("f", FailsAfterFirst)])
    assert info.value.reason == ("shutdown", ("failed_to_start_child", "f", "dependency_gone"))
    rt.run()
    assert rt.processes == {}  # "a" was stopped again
