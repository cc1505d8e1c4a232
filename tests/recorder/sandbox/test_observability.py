"""Introspection, suspend / resume, markers, breakpoints, profile samples, snapshots."""

from __future__ import annotations

from typing import Any

from recorder.events import NO_PID, EventKind
from recorder.sandbox import (
    BreakpointHit,
    From,
    GenServer,
    Process,
    Runtime,
    process_info,
    restore_snapshot,
    system_snapshot,
    take_snapshot,
)
from recorder.testing import CaptureSink, capture_events


class Box(GenServer):
    def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        return ("reply", state, state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        return ("noreply", request)


def test_process_info_and_system_snapshot(rt: Runtime) -> None:
    async def hoarder(proc: Process) -> None:
        await proc.receive("never")

    pid = rt.spawn(hoarder, name="hoarder")
    box = rt.start(Box, {"k": "v" * 1000}, name="box")
    for i in range(5):
        rt.send(pid, ("junk", i))
    rt.run()
    info = process_info(rt, pid)
    assert info["mailbox_len"] == 5 and info["status"] == "waiting"
    assert info["mailbox"][0][2] == ("junk", 0)
    assert process_info(rt, box)["state"] == {"k": "v" * 1000}
    assert process_info(rt, "box")["registered"] == "box"
    snap = system_snapshot(rt, top=1)
    assert snap["process_count"] == 2
    assert snap["top_mailbox"][0]["pid"] == pid
    assert snap["top_memory"][0]["pid"] == box


def test_suspend_and_resume(rt: Runtime, sink: CaptureSink) -> None:
    got: list[Any] = []

    async def worker(proc: Process) -> None:
        while True:
            got.append(await proc.receive())

    pid = rt.spawn(worker)
    rt.run()
    rt.suspend(pid)
    rt.send(pid, 1)
    rt.run()
    assert got == [] and process_info(rt, pid)["status"] == "suspended"
    rt.resume(pid)
    rt.run()
    assert got == [1]
    assert sink.events.kinds().count(EventKind.SUSPEND) == 1
    assert sink.events.kinds().count(EventKind.RESUME) == 1


def test_marker_and_breakpoint_with_pause_handler(rt: Runtime, sink: CaptureSink) -> None:
    hits: list[BreakpointHit] = []
    rt.set_pause_handler(hits.append)

    async def worker(proc: Process) -> None:
        proc.marker("phase", n=1)
        proc.breakpoint("here")
        proc.breakpoint("here")

    pid = rt.spawn(worker)
    rt.run()
    assert [h.name for h in hits] == ["here", "here"] and hits[0].pid == pid
    bps = sink.events.of(EventKind.BREAKPOINT)
    assert bps[0].ref == bps[1].ref == 1
    assert bps[0].data["at_seq"] == bps[0].seq
    (marker,) = sink.events.of(EventKind.MARKER)
    assert marker.data == {"label": "phase", "n": 1}


def test_profile_samples() -> None:
    with capture_events() as events:
        rt = Runtime(deterministic=True, profile_interval_ms=10)

        async def busy(proc: Process) -> None:
            for _ in range(5):
                await proc.sleep(7)

        rt.spawn(busy)
        rt.run()
    samples = events.of(EventKind.PROFILE)
    system = [e for e in samples if e.pid == NO_PID]
    per_process = [e for e in samples if e.pid != NO_PID]
    assert len(system) >= 3 and per_process
    assert {"cpu_ns", "handled", "mailbox_len", "memory"} <= set(per_process[0].data)


def test_snapshot_and_restore(rt: Runtime, sink: CaptureSink) -> None:
    a = rt.start(Box, {"n": 1}, name="a")
    b = rt.start(Box, [1, 2])
    rt.run()
    snap = take_snapshot(rt)
    rt.cast(a, {"n": 2})
    rt.cast(b, [])
    rt.run()
    assert restore_snapshot(rt, snap, [a]) == [a]
    assert rt.get_state(a) == {"n": 1} and rt.get_state(b) == []
    assert restore_snapshot(rt, snap) == [a, b]
    assert rt.get_state(b) == [1, 2]
    replaced = [e for e in sink.events.of(EventKind.STATE) if e.data["trigger"] == "replace"]
    assert len(replaced) == 3
