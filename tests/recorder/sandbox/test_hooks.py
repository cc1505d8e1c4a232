"""The runtime's hook points for a live debugger: idle_wait and the pending timers."""

from __future__ import annotations

from typing import Any

from recorder.sandbox import Process, Runtime


async def _sleeper(proc: Process, ms: float) -> None:
    await proc.sleep(ms)
    proc.marker("woke")


def test_idle_wait_sees_each_deadline_deterministic() -> None:
    rt = Runtime(deterministic=True, seed=1, profile_interval_ms=None)
    rt.spawn(_sleeper, 5.0)
    rt.spawn(_sleeper, 12.0)
    seen: list[int] = []
    rt.scheduler.idle_wait = seen.append
    rt.run()
    # each sleeper armed its timer after one step (1 µs of virtual time) or two
    assert len(seen) == 2 and 5_000_000 <= seen[0] < 5_010_000 <= 12_000_000 <= seen[1]
    assert rt.now_ms() >= 12.0


def test_idle_wait_replaces_the_real_time_sleep() -> None:
    rt = Runtime(profile_interval_ms=None)
    rt.spawn(_sleeper, 30.0)
    calls: list[int] = []

    def wait(deadline: int) -> None:
        calls.append(deadline)
        # return at once: the scheduler must call again until the deadline really passed
        if rt.clock() < deadline:
            import time

            time.sleep(max(0.0, (deadline - rt.clock()) / 1e9))

    rt.scheduler.idle_wait = wait
    rt.run()
    assert calls and rt.now_ms() >= 30.0


def test_idle_wait_can_make_work_that_runs_before_the_timer() -> None:
    rt = Runtime(deterministic=True, seed=1, profile_interval_ms=None)
    got: list[Any] = []

    async def waiter(proc: Process) -> None:
        got.append(await proc.receive(timeout=50))

    pid = rt.spawn(waiter)
    state = {"sent": False}

    def wait(_deadline: int) -> None:
        if not state["sent"]:
            state["sent"] = True
            rt.send(pid, "hello")  # what a debugger's command might do while idle

    rt.scheduler.idle_wait = wait
    rt.run()
    assert got == ["hello"]
    assert rt.now_ms() < 50


def test_pending_lists_live_timers_only() -> None:
    rt = Runtime(deterministic=True, seed=1, profile_interval_ms=None)
    a = rt.send_after(10, "nobody", "x")
    rt.send_after(20, "nobody", "y")
    assert len(rt.timers.pending()) == 2
    rt.cancel_timer(a)
    assert [e[0] for e in rt.timers.pending()] == [20_000_000]


def test_recording_wrap_sees_every_event_until_unwrapped() -> None:
    from recorder.testing import CaptureSink

    sink = CaptureSink()
    rt = Runtime(deterministic=True, seed=1, record=sink, profile_interval_ms=None)
    seen: list[int] = []

    def wrapper(forward: Any) -> Any:
        def gate(kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
            forward(kind, pid, peer, ref, data)
            seen.append(kind)

        return gate

    unwrap = rt.recording.wrap(wrapper)
    rt.spawn(_sleeper, 1.0)
    rt.run()
    assert seen == [e.kind for e in sink.events]
    unwrap()
    before = len(seen)
    rt.spawn(_sleeper, 1.0)
    rt.run()
    assert len(seen) == before and len(sink.events) > before + 1
