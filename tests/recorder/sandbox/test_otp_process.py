"""Process rules (exit signals, links, monitors), as OTP 25 has them, in both scheduler modes.

Each scenario mirrors one in ``otp/process_rules.escript``; each rule test states the outcome
OTP's documentation promises, and :func:`test_the_sandbox_does_what_otp_25_does` runs the
script on the real OTP (when ``escript`` is installed) and compares outcome for outcome.
"""

from __future__ import annotations

from typing import Any

import pytest

from recorder.events import EventKind
from recorder.payload import Pid, Ref
from recorder.sandbox import ANY, NoProcError, Process
from recorder.testing import CaptureSink

from ._otp import (
    MODES,
    alive,
    mailbox,
    otp_outcomes,
    receive_or,
    requires_otp,
    run_scenario,
    runtime,
)


async def waiter(proc: Process) -> None:
    await proc.receive("go")


async def down_of(proc: Process, ref: Ref, timeout: float = 1000) -> Any:
    """The ``(who, reason)`` of the DOWN of ``ref``, or ``"alive"`` if none comes in time."""
    message = await receive_or(proc, ("DOWN", ref, ANY, ANY), timeout, None)
    return "alive" if message is None else (message[2], message[3])


# --------------------------------------------------------------------------- scenarios


async def exit_self_normal_ends_the_process(proc: Process, o: dict[str, Any]) -> None:
    parent = proc.pid

    async def leaver(p: Process) -> None:
        p.exit_process(p.pid, "normal")
        p.send(parent, "still_running")

    ref = proc.monitor(proc.spawn(leaver))
    o["down"] = (await down_of(proc, ref))[1]
    await proc.sleep(50)
    o["ran_on"] = await receive_or(proc, "still_running", 0, None) is not None

    async def trapper(p: Process) -> None:
        p.trap_exit = True
        p.exit_process(p.pid, "normal")
        p.send(parent, ("got", await receive_or(p, ANY, 100)))

    ref2 = proc.monitor(proc.spawn(trapper))
    o["trapping_gets"] = (await proc.receive(("got", ANY)))[1]
    o["trapping_down"] = (await down_of(proc, ref2))[1]


async def link_to_a_dead_process(proc: Process, o: dict[str, Any]) -> None:
    async def quick(p: Process) -> None:
        return None

    dead = proc.spawn(quick)
    await proc.sleep(50)
    try:
        proc.link(dead)
        o["not_trapping"] = "linked"
    except NoProcError as exc:
        o["not_trapping"] = ("error", exc.exit_reason[0])
    o["still_alive"] = alive(proc, proc.pid)
    proc.trap_exit = True
    o["trapping_returns"] = proc.link(dead)
    o["trapping_gets"] = await receive_or(proc, ANY, 100)


async def monitor_by_name_reports_the_name(proc: Process, o: dict[str, Any]) -> None:
    async def named(p: Process) -> None:
        await p.receive("stop")
        p.exit("bye")

    pid = proc.spawn(named)
    proc.runtime.register("named", pid)
    ref = proc.monitor("named")
    proc.send(pid, "stop")
    o["down"] = await down_of(proc, ref)
    o["nobody"] = await down_of(proc, proc.monitor("nobody"))
    p3 = proc.spawn(waiter)
    ref3 = proc.monitor(p3)
    proc.send(p3, "go")
    who, why = await down_of(proc, ref3)
    o["by_pid"] = (isinstance(who, Pid) and who == p3, why)


async def demonitor_flush_and_info(proc: Process, o: dict[str, Any]) -> None:
    q = proc.spawn(waiter)
    ref = proc.monitor(q)
    proc.send(q, "go")
    await proc.sleep(50)
    o["flush_info_after_down"] = proc.demonitor(ref, flush=True, info=True)
    o["mailbox_after_flush"] = mailbox(proc)
    q2 = proc.spawn(waiter)
    ref2 = proc.monitor(q2)
    o["info_while_alive"] = proc.demonitor(ref2, info=True)
    o["info_again"] = proc.demonitor(ref2, info=True)
    o["plain_again"] = proc.demonitor(ref2)
    q3 = proc.spawn(waiter)
    ref3 = proc.monitor(q3)
    proc.send(q3, "go")
    await proc.sleep(50)
    o["info_after_down"] = proc.demonitor(ref3, info=True)
    o["down_kept"] = [m[0] for m in mailbox(proc)]
    proc.send(q2, "go")


async def shutdown_exits_propagate_through_links(proc: Process, o: dict[str, Any]) -> None:
    parent = proc.pid

    async def a_body(p: Process, reason: Any) -> None:
        async def b_body(q: Process) -> None:
            await q.receive("go")
            q.exit(reason)

        p.send(parent, ("b", p.spawn_link(b_body)))
        await p.receive("never")

    async def linked(reason: Any) -> tuple[Pid, Any]:
        a = proc.spawn(a_body, reason)
        ref = proc.monitor(a)
        _, b = await proc.receive(("b", ANY))
        proc.send(b, "go")
        outcome = await down_of(proc, ref, 200)
        return a, outcome if outcome == "alive" else outcome[1]

    _, o["shutdown_kills"] = await linked("shutdown")
    _, o["shutdown_tuple_kills"] = await linked(("shutdown", "done"))
    a3, o["normal_kills"] = await linked("normal")
    proc.exit_process(a3, "kill")


async def timers_of_ended_processes(proc: Process, o: dict[str, Any]) -> None:
    me = proc.pid
    target = proc.spawn(waiter)
    to_dead = proc.send_after(100, target, "tick")
    proc.send(target, "go")
    await proc.sleep(20)
    o["aimed_at_ended_pid_pending"] = proc.cancel_timer(to_dead) is not None
    ended = proc.spawn(waiter)
    proc.send(ended, "go")
    await proc.sleep(20)
    o["aimed_at_dead_pid_pending"] = proc.cancel_timer(proc.send_after(50, ended, "x")) is not None

    async def creator(p: Process) -> None:
        p.send_after(50, me, "from_ended_creator")
        await p.receive("go")

    c = proc.spawn(creator)
    await proc.sleep(5)
    proc.send(c, "go")
    o["from_ended_creator"] = await receive_or(proc, "from_ended_creator", 200, "nothing")


SCENARIOS = {
    f.__name__: f
    for f in (
        exit_self_normal_ends_the_process,
        link_to_a_dead_process,
        monitor_by_name_reports_the_name,
        demonitor_flush_and_info,
        shutdown_exits_propagate_through_links,
        timers_of_ended_processes,
    )
}


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("mode", MODES)
def test_exit_self_normal_ends_the_process(mode: str) -> None:
    """erlang(3erl), ``exit/2``, on ``erlang:exit(self(), normal)``: "If P is trapping exits,
    the exit signal is transformed into a message {'EXIT', From, normal}, where From is P's
    process identifier, and delivered to P's message queue. P exits with reason normal if P
    is not trapping exits." (OTP 25)"""
    assert run_scenario(mode, exit_self_normal_ends_the_process) == {
        "down": "normal",
        "ran_on": False,
        "trapping_gets": ("EXIT", "pid", "normal"),
        "trapping_down": "normal",
    }


@pytest.mark.parametrize("mode", MODES)
def test_linking_to_a_dead_process_raises_noproc_or_gives_an_exit(mode: str) -> None:
    """erlang(3erl), ``link/1``: "If the above is true [it is cheap to check, and the caller
    does not trap exits] and the linkee does not exist, link/1 will raise a noproc error
    exception." Otherwise "exit signals are triggered due to a link ... when no linkee exist
    (noproc exit reason)": a caller that traps exits gets ``{'EXIT', Pid, noproc}`` (OTP 25).
    The exception is catchable: the caller lives on."""
    assert run_scenario(mode, link_to_a_dead_process) == {
        "not_trapping": ("error", "noproc"),
        "still_alive": True,
        "trapping_returns": True,
        "trapping_gets": ("EXIT", "pid", "noproc"),
    }


@pytest.mark.parametrize("mode", MODES)
def test_a_monitor_by_name_reports_the_name_in_its_down(mode: str) -> None:
    """erlang(3erl), ``monitor/2``, in ``{'DOWN', MonitorRef, Type, Object, Info}``: "When
    monitoring process or port by name, Object will have format {RegisteredName, Node} where
    RegisteredName is the name which has been used with monitor/2 call"; Info is "noproc
    (process or port did not exist at the time of monitor creation)" (OTP 25). The sandbox has
    one node: its DOWN names the name alone (docs/sandbox.md)."""
    assert run_scenario(mode, monitor_by_name_reports_the_name) == {
        "down": ("named", "bye"),
        "nobody": ("nobody", "noproc"),
        "by_pid": (True, "normal"),
    }


@pytest.mark.parametrize("mode", MODES)
def test_demonitor_takes_flush_and_info(mode: str) -> None:
    """erlang(3erl), ``demonitor/2``: "flush: Removes (one) {_, MonitorRef, _, _, _} message,
    if there is one, from the caller message queue after monitoring has been stopped."
    "info: ... true: The monitor was found and removed. ... false: The monitor was not found
    and could not be removed." (OTP 25)"""
    assert run_scenario(mode, demonitor_flush_and_info) == {
        "flush_info_after_down": False,
        "mailbox_after_flush": [],
        "info_while_alive": True,
        "info_again": False,
        "plain_again": True,
        "info_after_down": False,
        "down_kept": ["DOWN"],
    }


@pytest.mark.parametrize("mode", MODES)
def test_shutdown_exits_propagate_through_links(mode: str) -> None:
    """erlang(3erl), ``exit/2``: "The following behavior applies if Reason is any term, except
    normal or kill ...: If P is not trapping exits, P exits with exit reason Reason." A link
    sends the same signal (Reference Manual, Processes): ``shutdown`` and ``{shutdown, _}``
    kill a linked process that does not trap exits; only ``normal`` is ignored (OTP 25)."""
    assert run_scenario(mode, shutdown_exits_propagate_through_links) == {
        "shutdown_kills": "shutdown",
        "shutdown_tuple_kills": ("shutdown", "done"),
        "normal_kills": "alive",
    }


@pytest.mark.parametrize("mode", MODES)
def test_a_timer_aimed_at_a_pid_goes_when_the_process_ends(mode: str) -> None:
    """erlang(3erl), ``send_after/3``: "If Dest is a pid(), the timer is automatically canceled
    if the process referred to by the pid() is not alive." The creator ending does not cancel
    it. Nothing is recorded for a cancelled timer: no SEND from a dead process, no DROP."""
    assert run_scenario(mode, timers_of_ended_processes) == {
        "aimed_at_ended_pid_pending": False,
        "aimed_at_dead_pid_pending": False,
        "from_ended_creator": "from_ended_creator",
    }
    sink = CaptureSink()
    rt = runtime(mode, sink=sink)

    async def main(proc: Process) -> None:
        target = proc.spawn(waiter)
        proc.send_after(30, target, "tick")
        proc.send(target, "go")
        await proc.sleep(60)

    rt.spawn(main, name="main")
    rt.run()
    rt.close()
    kinds = [e.kind for e in sink.events]
    assert EventKind.DROP not in kinds
    assert [e.data for e in sink.events if e.kind == EventKind.SEND] == ["go"]


# --------------------------------------------------------------------------- against OTP 25


@requires_otp
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_sandbox_does_what_otp_25_does(name: str, mode: str) -> None:
    """Run ``otp/process_rules.escript`` on the real OTP and compare every outcome, in both
    scheduler modes (``realtime`` must follow the same rules)."""
    reference = otp_outcomes("process_rules.escript")
    assert name in reference, f"the escript has no scenario {name}"
    assert "crashed" not in reference[name], reference[name]
    assert run_scenario(mode, SCENARIOS[name]) == reference[name]
