"""GenServer rules, as OTP 25 has them, in both scheduler modes.

Each scenario mirrors one in ``otp/gen_server_rules.escript``; each rule test states the
outcome OTP's documentation promises, and :func:`test_the_sandbox_does_what_otp_25_does` runs
the script on the real OTP (when ``escript`` is installed) and compares outcome for outcome.
"""

from __future__ import annotations

from typing import Any

import pytest

from recorder.sandbox import ANY, CallError, From, GenServer, Process

from ._otp import (
    MODES,
    alive,
    mailbox,
    otp_outcomes,
    receive_or,
    requires_otp,
    run_scenario,
    start_result,
)

LOG: list[Any] = []  # what the servers note, like the escripts' log process


class Srv(GenServer):
    """The escript's server: ``init(id, behaviour)``."""

    def init(self, sid: str, behaviour: Any) -> Any:
        self.sid = sid
        if type(behaviour) is tuple and behaviour[0] == "tell":
            self.process.send(behaviour[1], ("init_ran", sid))
        elif type(behaviour) is tuple and behaviour[0] == "stop":
            return ("stop", behaviour[1])
        elif type(behaviour) is tuple and behaviour[0] == "exit":
            self.process.exit(behaviour[1])
        elif behaviour == "bad_return":
            return "bad_return"
        elif behaviour == "trap":
            self.process.trap_exit = True
        return ("ok", {"id": sid})

    def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        if request == "slow":
            self.process.send_after(50, self.process.pid, ("late", from_))
            return ("noreply", state)
        if request == "stop":
            return ("stop", "normal", "stopped", {**state, "caller": from_[0]})
        return ("reply", state["id"], state)

    def handle_info(self, message: Any, state: Any) -> Any:
        if type(message) is tuple and message[0] == "late":
            self.process.reply(message[1], "late")
        else:
            LOG.append(("info", state["id"], message))
        return ("noreply", state)

    def terminate(self, reason: Any, state: Any) -> Any:
        if "caller" in state:
            self.process.send(state["caller"], ("terminated", reason))
        LOG.append(("terminated", state["id"], reason))


# --------------------------------------------------------------------------- scenarios


async def start_is_synchronous(proc: Process, o: dict[str, Any]) -> None:
    await proc.start(Srv, "a", ("tell", proc.pid))
    got = await receive_or(proc, ("init_ran", "a"), 0, None)
    o["init_ran_before_start_returned"] = got is not None


async def init_failure_is_a_start_error(proc: Process, o: dict[str, Any]) -> None:
    o["stop"] = await start_result(proc, Srv, "b", ("stop", "no_way"))
    o["exit"] = await start_result(proc, Srv, "c", ("exit", "boom"))
    o["bad_return"] = await start_result(proc, Srv, "d", "bad_return")
    proc.trap_exit = True
    o["start_link_stop"] = await start_result(proc, Srv, "e", ("stop", "no_way"), link=True)
    exit_message = await receive_or(proc, ("EXIT", ANY, ANY), 200, None)
    o["then_exit"] = exit_message[2] if exit_message else "none"


async def late_reply_never_lands(proc: Process, o: dict[str, Any]) -> None:
    pid = await proc.start(Srv, "f", "ok")
    try:
        await proc.call(pid, "slow", timeout=10)
    except CallError as exc:
        o["call"] = exc.reason
    await proc.sleep(100)  # the server replies at 50 ms
    o["mailbox_after"] = mailbox(proc)
    o["server_alive"] = alive(proc, pid)


async def calling_self_exits(proc: Process, o: dict[str, Any]) -> None:
    try:
        await proc.call(proc.pid, "hello")
    except CallError as exc:
        o["reason"] = exc.reason


async def stop_with_reply_runs_terminate_before_replying(proc: Process, o: dict[str, Any]) -> None:
    pid = await proc.start(Srv, "g", "ok")
    o["reply"] = await proc.call(pid, "stop")
    o["mailbox_when_reply_came"] = mailbox(proc)
    await proc.sleep(50)
    o["server_alive"] = alive(proc, pid)


async def only_the_parent_exit_stops_a_trapping_server(proc: Process, o: dict[str, Any]) -> None:
    LOG.clear()
    proc.trap_exit = True
    pid = await proc.start_link(Srv, "h", "trap")

    async def other(p: Process) -> None:
        await p.receive("go")
        p.exit_process(pid, "shutdown")
        await p.receive()

    proc.send(proc.spawn(other), "go")
    await proc.sleep(50)
    o["alive_after_other_exit"] = alive(proc, pid)
    proc.exit_process(pid, "shutdown")
    await proc.sleep(50)
    o["alive_after_parent_exit"] = alive(proc, pid)
    o["log"] = [e for e in LOG if e[1] == "h"]
    exit_message = await receive_or(proc, ("EXIT", pid, ANY), 100, None)
    o["parent_got"] = exit_message[2] if exit_message else "none"


SCENARIOS = {
    f.__name__: f
    for f in (
        start_is_synchronous,
        init_failure_is_a_start_error,
        late_reply_never_lands,
        calling_self_exits,
        stop_with_reply_runs_terminate_before_replying,
        only_the_parent_exit_stops_a_trapping_server,
    )
}


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("mode", MODES)
def test_start_is_synchronous(mode: str) -> None:
    """gen_server(3erl), ``start_link/3,4``: "The gen_server process calls Module:init/1 to
    initialize. To ensure a synchronized startup procedure, start_link/3,4 does not return
    until Module:init/1 has returned." (OTP 25)"""
    assert run_scenario(mode, start_is_synchronous) == {"init_ran_before_start_returned": True}


@pytest.mark.parametrize("mode", MODES)
def test_init_stop_or_exit_makes_start_return_an_error(mode: str) -> None:
    """gen_server(3erl), ``start_ret()``: "{error,Reason}: Module:init/1 returned
    {stop,Reason} or failed with Reason. The gen_server process is terminated and an exit
    signal with the same Reason is sent to linked processes and ports." (OTP 25) A bad return
    value fails with ``{bad_return_value, V}`` (gen_server.erl ``init_it``)."""
    assert run_scenario(mode, init_failure_is_a_start_error) == {
        "stop": ("error", "no_way"),
        "exit": ("error", "boom"),
        "bad_return": ("error", ("bad_return_value", "bad_return")),
        "start_link_stop": ("error", "no_way"),
        "then_exit": "no_way",
    }


@pytest.mark.parametrize("mode", MODES)
def test_a_late_reply_never_lands(mode: str) -> None:
    """gen_server(3erl), ``call/3``: "Before OTP 24, if the caller uses (try...)catch to avoid
    process exit, and the server happens to just be late with the reply, it may arrive to the
    process message queue any time later. ... Starting with OTP 24, gen_server:call uses
    process aliases, so late replies will not be received." (OTP 25)"""
    assert run_scenario(mode, late_reply_never_lands) == {
        "call": "timeout",
        "mailbox_after": [],
        "server_alive": True,
    }


@pytest.mark.parametrize("mode", MODES)
def test_calling_self_exits_with_calling_self(mode: str) -> None:
    """gen_server(3erl), ``call/2,3``: "This call may exit the calling process with an exit
    term on the form {Reason, Location} ... calling_self: A call to self() would hang
    indefinitely." (OTP 25)"""
    assert run_scenario(mode, calling_self_exits) == {"reason": "calling_self"}


@pytest.mark.parametrize("mode", MODES)
def test_stop_with_a_reply_runs_terminate_before_replying(mode: str) -> None:
    """gen_server(3erl), ``Module:handle_call/3``: "{stop,Reason,Reply,NewState}: The
    gen_server process will call Module:terminate(Reason,NewState) and then terminate." In
    OTP 25's gen_server.erl the reply is sent in the ``after`` of that terminate call, so
    ``terminate`` has run when the caller gets the reply."""
    assert run_scenario(mode, stop_with_reply_runs_terminate_before_replying) == {
        "reply": "stopped",
        "mailbox_when_reply_came": [("terminated", "normal")],
        "server_alive": False,
    }


@pytest.mark.parametrize("mode", MODES)
def test_only_the_parent_exit_stops_a_trapping_server(mode: str) -> None:
    """gen_server(3erl), ``Module:terminate/2``: "Even if the gen_server process is not part
    of a supervision tree, this function is called if it receives an 'EXIT' message from its
    parent. Reason is the same as in the 'EXIT' message." (OTP 25) An 'EXIT' from any other
    process is an ordinary message for ``handle_info/2``."""
    assert run_scenario(mode, only_the_parent_exit_stops_a_trapping_server) == {
        "alive_after_other_exit": True,
        "alive_after_parent_exit": False,
        "log": [("info", "h", ("EXIT", "pid", "shutdown")), ("terminated", "h", "shutdown")],
        "parent_got": "shutdown",
    }


# --------------------------------------------------------------------------- against OTP 25


@requires_otp
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_sandbox_does_what_otp_25_does(name: str, mode: str) -> None:
    """Run ``otp/gen_server_rules.escript`` on the real OTP and compare every outcome, in both
    scheduler modes (``realtime`` must follow the same rules)."""
    reference = otp_outcomes("gen_server_rules.escript")
    assert name in reference, f"the escript has no scenario {name}"
    assert "crashed" not in reference[name], reference[name]
    assert run_scenario(mode, SCENARIOS[name]) == reference[name]
