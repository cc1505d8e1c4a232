"""GenServer: call / cast / info / reply later / timeouts / bad returns, with STATE triggers."""

from __future__ import annotations

from typing import Any

import pytest

from recorder.events import EventKind, Trigger
from recorder.sandbox import CallError, From, GenServer, Process, Runtime
from recorder.testing import CaptureSink


class Counter(GenServer):
    def init(self, start: int) -> Any:
        return ("ok", {"n": start}, 50)  # idle timeout of 50 ms after init

    def handle_call(self, request: Any, from_: From, state: dict[str, int]) -> Any:
        if request == "get":
            return ("reply", state["n"], state)
        if request == "later":
            self.process.send_after(10, self.process.pid, ("answer", from_))
            return ("noreply", state)
        if request == "bad":
            return "not a tuple"
        if request == "sleepy":
            return ("noreply", state)  # never answers
        if request == "stop":
            return ("stop", "normal", "bye", state)
        raise ValueError(f"unknown {request}")

    def handle_cast(self, amount: int, state: dict[str, int]) -> Any:
        return ("noreply", {"n": state["n"] + amount})

    def handle_info(self, message: Any, state: dict[str, int]) -> Any:
        if message == "timeout":
            return ("noreply", {**state, "idle": True})
        if message[0] == "answer":
            self.process.reply(message[1], "late answer")
        return ("noreply", state)


def test_call_cast_info_and_state_triggers(rt: Runtime, sink: CaptureSink) -> None:
    pid = rt.start(Counter, 1, name="counter")
    rt.run()
    assert rt.get_state(pid) == {"n": 1, "idle": True}
    rt.cast("counter", 4)
    assert rt.call("counter", "get") == 5
    assert rt.call(pid, "later") == "late answer"
    triggers = [e.data["trigger"] for e in sink.events.of(EventKind.STATE)]
    assert triggers[:2] == [Trigger.INIT, Trigger.TIMEOUT]
    assert {Trigger.CAST, Trigger.CALL, Trigger.INFO} <= set(triggers)
    call_state = next(e for e in sink.events.of(EventKind.STATE) if e.data["trigger"] == "call")
    assert call_state.peer != 0xFFFFFFFF and call_state.ref > 0  # caller and message id


def test_calling_a_dead_or_unknown_server_is_noproc(rt: Runtime) -> None:
    pid = rt.start(Counter, 0)
    assert rt.call(pid, "stop") == "bye"
    with pytest.raises(CallError) as info:
        rt.call(pid, "get")
    assert info.value.reason == "noproc" and "noproc" in str(info.value)
    with pytest.raises(CallError, match=r"'nobody'.*noproc"):
        rt.call("nobody", "get")


def test_call_timeout_is_recorded(rt: Runtime, sink: CaptureSink) -> None:
    pid = rt.start(Counter, 0)
    with pytest.raises(CallError) as info:
        rt.call(pid, "sleepy", timeout=20)
    assert info.value.reason == "timeout"
    (timeout,) = [e for e in sink.events.of(EventKind.TIMEOUT) if e.data["op"] == "call"]
    assert timeout.peer == pid.n and timeout.data["after_ms"] == 20
    assert any(e.kind == EventKind.SEND and e.ref == timeout.ref for e in sink.events)


def test_bad_return_value_crashes_the_server_not_the_runtime(
    rt: Runtime, sink: CaptureSink
) -> None:
    pid = rt.start(Counter, 0)
    with pytest.raises(CallError) as info:
        rt.call(pid, "bad")
    assert info.value.reason == ("bad_return_value", "not a tuple")
    (crash,) = sink.events.of(EventKind.CRASH)
    assert crash.data["reason"] == ("bad_return_value", "not a tuple")
    assert "handle_call returned 'not a tuple'" in crash.data["error"]


def test_exception_in_callback_reaches_caller_and_terminate_runs(rt: Runtime) -> None:
    terminated: list[Any] = []

    class Fragile(Counter):
        def terminate(self, reason: Any, state: Any) -> Any:
            terminated.append(reason)

    pid = rt.start(Fragile, 0)
    with pytest.raises(CallError) as info:
        rt.call(pid, "explode")
    assert info.value.reason == ("exception", "ValueError: unknown explode")
    assert terminated == [info.value.reason]  # terminate gets the reason the server exits with


def test_async_callbacks_can_call_other_servers(rt: Runtime) -> None:
    class Front(GenServer):
        async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
            value = await self.process.call("counter", "get")
            return ("reply", value * 10, state)

    rt.start(Counter, 3, name="counter")
    front = rt.start(Front, None)
    assert rt.call(front, "x") == 30


def test_uncaught_call_error_in_a_process_gives_erlang_like_reason(
    rt: Runtime, sink: CaptureSink
) -> None:
    async def client(proc: Process) -> None:
        await proc.call("missing", "hello")

    rt.spawn(client)
    rt.run()
    (crash,) = sink.events.of(EventKind.CRASH)
    assert crash.data["reason"] == ("noproc", ("call", "missing", "hello"))


def test_replace_state_records_replace(rt: Runtime, sink: CaptureSink) -> None:
    pid = rt.start(Counter, 0)
    rt.run()
    rt.replace_state(pid, {"n": 99})
    assert rt.call(pid, "get") == 99
    assert any(e.data["trigger"] == "replace" for e in sink.events.of(EventKind.STATE))


class Picky(GenServer):
    def init(self, how: str) -> Any:
        if how == "stop":
            return ("stop", "no_thanks")
        if how == "raise":
            raise KeyError("missing")
        if how == "wait":
            return self._wait()
        return ("ok", how)

    async def _wait(self) -> Any:
        await self.process.receive("never comes")
        return ("ok", None)


def test_start_from_outside_raises_start_error_with_otp_reason(
    rt: Runtime, sink: CaptureSink
) -> None:
    from recorder.sandbox import StartError

    with pytest.raises(StartError) as info:
        rt.start(Picky, "stop")
    assert info.value.reason == "no_thanks" and info.value.result == ("error", "no_thanks")
    with pytest.raises(StartError) as info:
        rt.start(Picky, "raise")
    assert info.value.reason == ("exception", "KeyError: 'missing'")
    pid = rt.start(Picky, "fine", name="picky")
    assert rt.get_state(pid) == "fine"  # init ran before start returned, no rt.run() needed
    with pytest.raises(StartError) as info:
        rt.start(Picky, "fine", name="picky")
    assert info.value.reason == ("already_started", pid)
    assert len(rt.processes) == 1  # no half-made process for the taken name
    reasons = [e.data["reason"] for e in sink.events.of(EventKind.CRASH)]
    assert reasons == ["no_thanks", ("exception", "KeyError: 'missing'")]


def test_start_of_an_init_that_waits_forever_times_out_and_leaves_nothing(rt: Runtime) -> None:
    from recorder.sandbox import StartError

    with pytest.raises(StartError) as info:
        rt.start(Picky, "wait")
    assert info.value.reason == "timeout"
    assert rt.processes == {}


def test_start_inside_a_process_must_be_awaited(rt: Runtime) -> None:
    got: list[Any] = []

    async def starter(proc: Process) -> None:
        try:
            proc.runtime.start(Picky, "fine")
        except RuntimeError as exc:
            got.append(str(exc))
        got.append(await proc.start(Picky, "fine"))

    rt.spawn(starter)
    rt.run()
    assert "await proc.start" in got[0] and got[1].n in rt.processes
