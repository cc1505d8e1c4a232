"""Processes: mailboxes, selective receive, timeouts, links, monitors, registry, timers."""

from __future__ import annotations

from typing import Any

import pytest

from recorder.events import EventKind
from recorder.sandbox import ANY, BadArg, Process, ProcessExit, ReceiveTimeout, Runtime
from recorder.testing import CaptureSink


def test_selective_receive_keeps_other_messages_in_order(rt: Runtime) -> None:
    got: list[Any] = []

    async def worker(proc: Process) -> None:
        got.append(await proc.receive(("urgent", ANY)))
        got.append(await proc.receive())
        got.append(await proc.receive(lambda m: m == 3))
        got.append(await proc.receive())

    pid = rt.spawn(worker)
    for message in (1, 2, ("urgent", "x"), 3):
        rt.send(pid, message)
    rt.run()
    assert got == [("urgent", "x"), 1, 3, 2]


def test_receive_timeout_is_recorded(rt: Runtime, sink: CaptureSink) -> None:
    outcome: list[Any] = []

    async def waiter(proc: Process) -> None:
        try:
            await proc.receive(timeout=25)
        except ReceiveTimeout as exc:
            outcome.append((exc.after_ms, proc.runtime.now_ms()))

    rt.spawn(waiter)
    rt.run()
    assert outcome and outcome[0][0] == 25 and outcome[0][1] >= 25
    (timeout,) = sink.events.of(EventKind.TIMEOUT)
    assert timeout.data == {"op": "receive", "after_ms": 25}


def test_virtual_clock_jumps_to_timers(rt: Runtime) -> None:
    async def sleeper(proc: Process) -> None:
        await proc.sleep(10_000)

    rt.spawn(sleeper)
    rt.run()
    assert 10_000 <= rt.now_ms() < 10_001


def test_crash_is_recorded_and_runtime_survives(rt: Runtime, sink: CaptureSink) -> None:
    async def bad(proc: Process) -> None:
        raise KeyError("missing")

    async def good(proc: Process) -> None:
        proc.marker("still here")

    rt.spawn(bad)
    rt.spawn(good)
    rt.run()
    (crash,) = sink.events.of(EventKind.CRASH)
    assert crash.data["reason"] == ("exception", "KeyError: 'missing'")
    assert crash.data["error"] == "KeyError: 'missing'"
    assert "Traceback" in crash.data["traceback"] and "KeyError" in crash.data["traceback"]
    assert sink.events.of(EventKind.MARKER)


def test_link_propagates_abnormal_exit_and_trap_exit_turns_it_into_message(rt: Runtime) -> None:
    seen: list[Any] = []

    async def doomed(proc: Process) -> None:
        await proc.sleep(5)
        proc.exit("boom")

    async def bystander(proc: Process, other: Any) -> None:
        proc.link(other)
        await proc.receive()

    async def trapper(proc: Process, other: Any) -> None:
        proc.trap_exit = True
        proc.link(other)
        seen.append(await proc.receive())

    victim = rt.spawn(doomed)
    b = rt.spawn(bystander, victim)
    t = rt.spawn(trapper, victim)
    rt.run()
    assert seen == [("EXIT", victim, "boom")]
    assert rt.dead[b.n] == "crashed" and rt.dead[t.n] == "dead"


def test_normal_exit_does_not_kill_links_and_kill_is_untrappable(rt: Runtime) -> None:
    async def quick(proc: Process) -> None:
        return None

    async def linked(proc: Process, other: Any) -> None:
        proc.trap_exit = True
        proc.link(other)
        await proc.receive(("EXIT", ANY, "normal"))
        await proc.receive()  # wait forever

    a = rt.spawn(quick)
    b = rt.spawn(linked, a)
    rt.run()
    assert b.n in rt.processes
    rt.exit(b, "kill")
    assert rt.dead[b.n] == "crashed"


def test_link_to_dead_process_gives_noproc(rt: Runtime) -> None:
    seen: list[Any] = []

    async def quick(proc: Process) -> None:
        return None

    dead = rt.spawn(quick)
    rt.run()

    async def linker(proc: Process) -> None:
        proc.trap_exit = True
        proc.link(dead)
        seen.append(await proc.receive())

    rt.spawn(linker)
    rt.run()
    assert seen == [("EXIT", dead, "noproc")]


def test_monitor_down_and_demonitor(rt: Runtime, sink: CaptureSink) -> None:
    seen: list[Any] = []

    async def target(proc: Process) -> None:
        await proc.sleep(5)
        raise RuntimeError("bye")

    async def watcher(proc: Process, pid: Any) -> None:
        ref = proc.monitor(pid)
        seen.append(await proc.receive())
        assert seen[0][1] == ref
        ref2 = proc.monitor(pid)  # already dead: immediate noproc DOWN
        seen.append(await proc.receive())
        assert seen[1][1] == ref2

    async def undecided(proc: Process, pid: Any) -> None:
        proc.demonitor(proc.monitor(pid))

    t = rt.spawn(target)
    rt.spawn(watcher, t)
    rt.spawn(undecided, t)
    rt.run()
    assert seen[0][0] == "DOWN" and seen[0][2] == t
    assert seen[0][3] == ("exception", "RuntimeError: bye")
    assert seen[1][3] == "noproc"
    assert len(sink.events.of(EventKind.DEMONITOR)) == 1


def test_registry_and_errors(rt: Runtime, sink: CaptureSink) -> None:
    async def named(proc: Process) -> None:
        await proc.receive()

    pid = rt.spawn(named, register="svc")
    assert rt.whereis("svc") == pid
    with pytest.raises(BadArg, match="already registered"):
        rt.register("svc", rt.spawn(named))
    with pytest.raises(BadArg, match="'nobody'"):
        rt.send("nobody", "hi")
    rt.send("svc", "hi")
    rt.run()
    assert rt.whereis("svc") is None  # unregistered when it exited
    kinds = sink.events.kinds()
    assert EventKind.REGISTER in kinds and EventKind.UNREGISTER in kinds


def test_send_to_unknown_name_inside_process_crashes_with_badarg(
    rt: Runtime, sink: CaptureSink
) -> None:
    async def sender(proc: Process) -> None:
        proc.send("ghost", 1)

    rt.spawn(sender)
    rt.run()
    (crash,) = sink.events.of(EventKind.CRASH)
    assert crash.data["reason"][0] == "badarg" and "ghost" in crash.data["reason"][1]


def test_send_to_dead_pid_is_dropped_noproc(rt: Runtime, sink: CaptureSink) -> None:
    async def quick(proc: Process) -> None:
        return None

    pid = rt.spawn(quick)
    rt.run()
    rt.send(pid, "late")
    send, drop = sink.events[-2:]
    assert send.kind == EventKind.SEND and drop.kind == EventKind.DROP
    assert drop.data == {"reason": "noproc"} and drop.ref == send.ref


def test_send_after_and_cancel(rt: Runtime) -> None:
    got: list[Any] = []

    async def receiver(proc: Process) -> None:
        keep = proc.send_after(30, proc.pid, "kept")
        cancel = proc.send_after(20, proc.pid, "cancelled")
        assert proc.cancel_timer(cancel) == pytest.approx(20, abs=0.01)
        got.append(await proc.receive())
        got.append(proc.runtime.now_ms())
        assert proc.cancel_timer(keep) is None

    rt.spawn(receiver)
    rt.run()
    assert got[0] == "kept" and 30 <= got[1] < 31


def test_exit_self_normal_and_process_exit(rt: Runtime, sink: CaptureSink) -> None:
    async def leaver(proc: Process) -> None:
        raise ProcessExit("shutdown")

    rt.spawn(leaver)
    rt.run()
    (exit_event,) = sink.events.of(EventKind.EXIT)
    assert exit_event.data == {"reason": "shutdown"}


def test_spawn_rejects_non_async_functions(rt: Runtime) -> None:
    def plain(proc: Process) -> None:
        return None

    with pytest.raises(TypeError, match="async"):
        rt.spawn(plain)


def test_real_time_mode_runs_under_asyncio() -> None:
    import asyncio

    rt = Runtime(record=None)
    got: list[Any] = []

    async def io_user(proc: Process) -> None:
        await asyncio.sleep(0.01)  # real asyncio I/O inside a sandbox process
        got.append(await proc.receive(timeout=200))

    pid = rt.spawn(io_user)
    rt.send(pid, "ping")
    asyncio.run(rt.run_async())
    assert got == ["ping"]


def test_awaiting_asyncio_in_sync_run_crashes_clearly(rt: Runtime, sink: CaptureSink) -> None:
    import asyncio

    async def io_user(proc: Process) -> None:
        await asyncio.sleep(0.01)

    async def main() -> None:
        rt.spawn(io_user)
        rt.run()

    asyncio.run(main())
    (crash,) = sink.events.of(EventKind.CRASH)
    assert "run_async" in crash.data["error"]
