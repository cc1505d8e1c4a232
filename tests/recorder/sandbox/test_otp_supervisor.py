"""Supervisor rules, as OTP 25 has them, in both scheduler modes (and with several seeds).

Each scenario mirrors one in ``otp/supervisor_rules.escript``; each rule test states the
outcome OTP's documentation promises, and :func:`test_the_sandbox_does_what_otp_25_does` runs
the script on the real OTP (when ``escript`` is installed) and compares outcome for outcome.
"""

from __future__ import annotations

from typing import Any

import pytest

from recorder.sandbox import ANY, ChildSpec, GenServer, Process, Supervisor, SupervisorSpec

from ._otp import MODES, alive, otp_outcomes, receive_or, requires_otp, run_scenario

LOG: list[Any] = []  # what the children note, like the escript's log process


class Srv(GenServer):
    """The escript's child: ``init(id, behaviour)``; a ``"crash"`` cast exits with boom."""

    def init(self, sid: Any, behaviour: Any) -> Any:
        if type(behaviour) is tuple and behaviour[0] == "stop":
            return ("stop", behaviour[1])
        if type(behaviour) is tuple and behaviour[0] == "exit":
            self.process.exit(behaviour[1])
        if behaviour == "trap":
            self.process.trap_exit = True
        LOG.append(("started", sid))
        return ("ok", sid)

    def handle_call(self, request: Any, from_: Any, sid: Any) -> Any:
        return ("reply", sid, sid)

    def handle_cast(self, request: Any, sid: Any) -> Any:
        self.process.exit("boom")

    def terminate(self, reason: Any, sid: Any) -> Any:
        LOG.append(("terminated", sid, reason))


class Dyn(Srv):
    """The escript's ``start_dyn(Base, X)``: a trapping child whose id is ``(base, x)``."""

    def init(self, base: Any, x: Any) -> Any:  # type: ignore[override]
        return super().init((base, x), "trap")


def spec(sid: str, behaviour: Any) -> ChildSpec:
    return ChildSpec(sid, Srv, (sid, behaviour))


async def sup(proc: Process, strategy: str, specs: list[ChildSpec]) -> Any:
    """``supervisor:start_link`` with intensity 10; returns ``("ok", pid)``/``("error", r)``."""
    from ._otp import start_result

    sup_spec = SupervisorSpec(tuple(specs), strategy, max_restarts=10)  # type: ignore[arg-type]
    return await start_result(proc, Supervisor, sup_spec, link=True)


def with_child(reply: Any) -> Any:
    """The escript's ``with_child``: ``("error", (why, spec))`` -> ``("error", why, "child")``."""
    if type(reply) is tuple and reply[0] == "error" and type(reply[1]) is tuple:
        why, what = reply[1] if len(reply[1]) == 2 else (None, None)
        if isinstance(what, ChildSpec):
            return ("error", why, "child")
    return reply


def dump() -> list[Any]:
    entries = list(LOG)
    LOG.clear()
    return entries


# --------------------------------------------------------------------------- scenarios


async def children_start_one_at_a_time_in_order(proc: Process, o: dict[str, Any]) -> None:
    dump()
    await sup(proc, "one_for_one", [spec("a", "ok"), spec("b", "ok"), spec("c", "ok")])
    o["log"] = dump()


async def boot_failure_stops_the_started_children(proc: Process, o: dict[str, Any]) -> None:
    dump()
    proc.trap_exit = True
    children = [spec("a", "trap"), spec("b", "trap"), spec("c", ("stop", "cfail"))]
    o["result"] = await sup(proc, "one_for_one", [*children, spec("d", "trap")])
    o["log"] = dump()
    exit_message = await receive_or(proc, ("EXIT", ANY, ANY), 200, None)
    o["then_exit"] = exit_message[2] if exit_message else "none"


async def start_child_failure_leaves_the_supervisor_up(proc: Process, o: dict[str, Any]) -> None:
    _, pid = await sup(proc, "one_for_one", [])
    o["stop"] = with_child(await proc.call(pid, ("start_child", spec("x", ("stop", "nope")))))
    o["exit"] = with_child(await proc.call(pid, ("start_child", spec("y", ("exit", "boom")))))
    o["alive"] = alive(proc, pid)
    o["children"] = await proc.call(pid, ("which_children",))


async def _restart_order(proc: Process, o: dict[str, Any], strategy: str) -> None:
    _, pid = await sup(proc, strategy, [spec(i, "trap") for i in "abcd"])
    dump()
    rows = await proc.call(pid, ("which_children",))
    b = next(child for child_id, child, _ in rows if child_id == "b")
    proc.cast(b, "crash")
    await proc.sleep(100)
    o["log"] = dump()


async def one_for_all_restart_order(proc: Process, o: dict[str, Any]) -> None:
    await _restart_order(proc, o, "one_for_all")


async def rest_for_one_restart_order(proc: Process, o: dict[str, Any]) -> None:
    await _restart_order(proc, o, "rest_for_one")


async def start_child_with_a_present_id(proc: Process, o: dict[str, Any]) -> None:
    _, pid = await sup(proc, "one_for_one", [spec("a", "ok")])
    o["running"] = await proc.call(pid, ("start_child", spec("a", "ok")))
    o["terminate"] = await proc.call(pid, ("terminate_child", "a"))
    o["stopped"] = await proc.call(pid, ("start_child", spec("a", "ok")))
    restarted = await proc.call(pid, ("restart_child", "a"))
    assert restarted[0] == "ok"
    o["delete_running"] = await proc.call(pid, ("delete_child", "a"))
    await proc.call(pid, ("terminate_child", "a"))
    o["delete"] = await proc.call(pid, ("delete_child", "a"))
    o["restart_deleted"] = await proc.call(pid, ("restart_child", "a"))


async def start_child_with_a_taken_name(proc: Process, o: dict[str, Any]) -> None:
    _, pid = await sup(proc, "one_for_one", [])

    async def holder(p: Process) -> None:
        await p.receive("stop")

    holding = proc.spawn(holder)
    proc.runtime.register("taken", holding)
    before = len(proc.runtime.processes)
    named = ChildSpec("n", Srv, ("n", "ok"), name="taken")
    o["result"] = with_child(await proc.call(pid, ("start_child", named)))
    await proc.sleep(50)
    o["processes_made"] = len(proc.runtime.processes) - before
    o["alive"] = alive(proc, pid)
    o["specs"] = (await proc.call(pid, ("count_children",)))["specs"]
    proc.send(holding, "stop")


async def malformed_child_spec_is_an_error_reply(proc: Process, o: dict[str, Any]) -> None:
    _, pid = await sup(proc, "one_for_one", [])
    start = {"id": "x", "start": Srv, "args": ("x", "ok")}
    o["restart"] = await proc.call(pid, ("start_child", {**start, "restart": "sometimes"}))
    o["shutdown"] = await proc.call(pid, ("start_child", {**start, "shutdown": -1}))
    o["type"] = await proc.call(pid, ("start_child", {**start, "type": "robot"}))
    o["no_start"] = await proc.call(pid, ("start_child", {"id": "x"}))
    o["alive"] = alive(proc, pid)


def _inner() -> ChildSpec:
    return ChildSpec("inner", Supervisor, (SupervisorSpec(),))


async def count_children(proc: Process, o: dict[str, Any]) -> None:
    _, pid = await sup(proc, "one_for_one", [spec("a", "ok"), _inner(), spec("c", "ok")])
    assert await proc.call(pid, ("terminate_child", "c")) == "ok"
    o["counts"] = await proc.call(pid, ("count_children",))


async def default_shutdown(proc: Process, o: dict[str, Any]) -> None:
    _, pid = await sup(proc, "one_for_one", [spec("a", "ok"), _inner()])
    _, worker = await proc.call(pid, ("get_childspec", "a"))
    _, supervisor = await proc.call(pid, ("get_childspec", "inner"))
    o["worker"] = worker["shutdown"]
    o["supervisor"] = supervisor["shutdown"]


async def simple_one_for_one(proc: Process, o: dict[str, Any]) -> None:
    dump()
    _, pid = await sup(proc, "simple_one_for_one", [ChildSpec("dyn", Dyn, ("base",))])
    _, p1 = await proc.call(pid, ("start_child", (1,)))
    _, p2 = await proc.call(pid, ("start_child", [2]))
    o["which"] = [(cid, kind) for cid, _, kind in await proc.call(pid, ("which_children",))]
    o["counts"] = await proc.call(pid, ("count_children",))
    o["terminate"] = await proc.call(pid, ("terminate_child", p1))
    o["terminate_again"] = await proc.call(pid, ("terminate_child", p1))
    o["terminate_not_a_child"] = await proc.call(pid, ("terminate_child", proc.pid))
    o["terminate_by_id"] = await proc.call(pid, ("terminate_child", "dyn"))
    o["delete"] = await proc.call(pid, ("delete_child", "dyn"))
    o["restart"] = await proc.call(pid, ("restart_child", "dyn"))
    proc.cast(p2, "crash")
    await proc.sleep(100)
    ((_, p3, _),) = await proc.call(pid, ("which_children",))
    o["restarted_as_new_pid"] = p3 != p2
    o["log"] = dump()


SCENARIOS = {
    f.__name__: f
    for f in (
        children_start_one_at_a_time_in_order,
        boot_failure_stops_the_started_children,
        start_child_failure_leaves_the_supervisor_up,
        one_for_all_restart_order,
        rest_for_one_restart_order,
        start_child_with_a_present_id,
        start_child_with_a_taken_name,
        malformed_child_spec_is_an_error_reply,
        count_children,
        default_shutdown,
        simple_one_for_one,
    )
}
SEEDS = (1, 2, 3, 5, 8)


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("mode", MODES)
def test_children_start_one_at_a_time_in_order(mode: str) -> None:
    """supervisor(3erl), Supervision Principles: "When the supervisor is started, the child
    processes are started in order from left to right according to this list." (OTP 25) Each
    start waits for the child's init (``start_link`` is synchronous), whatever the seed."""
    for seed in SEEDS:
        assert run_scenario(mode, children_start_one_at_a_time_in_order, seed) == {
            "log": [("started", "a"), ("started", "b"), ("started", "c")]
        }


@pytest.mark.parametrize("mode", MODES)
def test_a_child_that_fails_at_boot_stops_the_supervisor_after_its_started_siblings(
    mode: str,
) -> None:
    """supervisor(3erl), ``start_link/2,3``: "If any child process start function fails or
    returns an error tuple or an erroneous value, the supervisor first terminates all already
    started child processes with reason shutdown and then terminate itself and returns
    {error, {shutdown, Reason}}." (OTP 25) Reason is ``{failed_to_start_child, Id, Why}``;
    the children stop last-started first."""
    for seed in SEEDS:
        assert run_scenario(mode, boot_failure_stops_the_started_children, seed) == {
            "result": ("error", ("shutdown", ("failed_to_start_child", "c", "cfail"))),
            "log": [
                ("started", "a"),
                ("started", "b"),
                ("terminated", "b", "shutdown"),
                ("terminated", "a", "shutdown"),
            ],
            "then_exit": ("shutdown", ("failed_to_start_child", "c", "cfail")),
        }


@pytest.mark.parametrize("mode", MODES)
def test_start_child_failure_is_an_error_and_the_supervisor_stays_up(mode: str) -> None:
    """supervisor(3erl), ``start_child/2``: "If the child process start function returns an
    error tuple or an erroneous value, or if it fails, the child specification is discarded,
    and the function returns {error,Error}, where Error is a term containing information
    about the error and child specification." (OTP 25)"""
    assert run_scenario(mode, start_child_failure_leaves_the_supervisor_up) == {
        "stop": ("error", "nope", "child"),
        "exit": ("error", "boom", "child"),
        "alive": True,
        "children": [],
    }


@pytest.mark.parametrize("mode", MODES)
def test_one_for_all_restarts_stop_in_reverse_and_start_in_order(mode: str) -> None:
    """supervisor(3erl): one_for_all - "If one child process terminates and is to be
    restarted, all other child processes are terminated and then all child processes are
    restarted."; "When the supervisor terminates, it first terminates its child processes in
    reversed start order" (OTP 25). The restart stops in reverse start order and starts in
    start order, whatever the seed."""
    expected = {
        "log": [
            ("terminated", "b", "boom"),
            ("terminated", "d", "shutdown"),
            ("terminated", "c", "shutdown"),
            ("terminated", "a", "shutdown"),
            ("started", "a"),
            ("started", "b"),
            ("started", "c"),
            ("started", "d"),
        ]
    }
    for seed in SEEDS:
        assert run_scenario(mode, one_for_all_restart_order, seed) == expected


@pytest.mark.parametrize("mode", MODES)
def test_rest_for_one_restarts_stop_in_reverse_and_start_in_order(mode: str) -> None:
    """supervisor(3erl): rest_for_one - "the 'rest' of the child processes (that is, the child
    processes after the terminated child process in the start order) are terminated. Then the
    terminated child process and all child processes after it are restarted." (OTP 25)"""
    expected = {
        "log": [
            ("terminated", "b", "boom"),
            ("terminated", "d", "shutdown"),
            ("terminated", "c", "shutdown"),
            ("started", "b"),
            ("started", "c"),
            ("started", "d"),
        ]
    }
    for seed in SEEDS:
        assert run_scenario(mode, rest_for_one_restart_order, seed) == expected


@pytest.mark.parametrize("mode", MODES)
def test_start_child_with_a_present_id_is_already_started_or_already_present(mode: str) -> None:
    """supervisor(3erl), ``start_child/2``: "If there already exists a child specification with
    the specified identifier, ChildSpec is discarded, and the function returns
    {error,already_present} or {error,{already_started,Child}}, depending on if the
    corresponding child process is running or not." (OTP 25) ``delete_child`` of a running
    child is ``{error, running}``, ``restart_child`` of an unknown one ``{error, not_found}``."""
    assert run_scenario(mode, start_child_with_a_present_id) == {
        "running": ("error", ("already_started", "pid")),
        "terminate": "ok",
        "stopped": ("error", "already_present"),
        "delete_running": ("error", "running"),
        "delete": "ok",
        "restart_deleted": ("error", "not_found"),
    }


@pytest.mark.parametrize("mode", MODES)
def test_start_child_with_a_taken_name_is_already_started_and_makes_no_process(mode: str) -> None:
    """gen_server(3erl), ``start_ret()``: "{error,{already_started,OtherPid}}: A process with the
    specified ServerName exists already with the process identifier OtherPid. This
    gen_server was not started." (OTP 25) Through ``start_child`` the error also names the
    spec; no process is left behind and the supervisor lives."""
    assert run_scenario(mode, start_child_with_a_taken_name) == {
        "result": ("error", ("already_started", "pid"), "child"),
        "processes_made": 0,
        "alive": True,
        "specs": 0,
    }


@pytest.mark.parametrize("mode", MODES)
def test_a_malformed_child_spec_is_an_error_reply(mode: str) -> None:
    """supervisor(3erl), ``start_child/2`` and ``check_childspecs/1``: a malformed spec is an
    error reply, ``{error, {invalid_restart_type, R}}``, ``{invalid_shutdown, S}``,
    ``{invalid_child_type, T}``, ``missing_start`` (OTP 25, supervisor.erl
    ``check_childspec``); the supervisor goes on."""
    assert run_scenario(mode, malformed_child_spec_is_an_error_reply) == {
        "restart": ("error", ("invalid_restart_type", "sometimes")),
        "shutdown": ("error", ("invalid_shutdown", -1)),
        "type": ("error", ("invalid_child_type", "robot")),
        "no_start": ("error", "missing_start"),
        "alive": True,
    }


@pytest.mark.parametrize("mode", MODES)
def test_count_children_reports_specs_active_supervisors_workers(mode: str) -> None:
    """supervisor(3erl), ``count_children/1``: "specs - The total count of children, dead or
    alive. active - The count of all actively running child processes managed by this
    supervisor. ... supervisors - The count of all children marked as child_type = supervisor
    in the specification list, regardless if the child process is still alive. workers - The
    count of all children marked as child_type = worker ..." (OTP 25)"""
    assert run_scenario(mode, count_children) == {
        "counts": {"active": 2, "specs": 3, "supervisors": 1, "workers": 2}
    }


@pytest.mark.parametrize("mode", MODES)
def test_a_supervisor_child_shuts_down_in_infinity_by_default(mode: str) -> None:
    """supervisor(3erl), child specification: "The shutdown key is optional. If it is not
    specified, it defaults to 5000 if the child is of type worker and it defaults to infinity
    if the child is of type supervisor." (OTP 25)"""
    assert run_scenario(mode, default_shutdown) == {"worker": 5000, "supervisor": "infinity"}


@pytest.mark.parametrize("mode", MODES)
def test_simple_one_for_one_starts_children_from_one_template(mode: str) -> None:
    """supervisor(3erl): "simple_one_for_one - A simplified one_for_one supervisor, where all
    child processes are dynamically added instances of the same process type ... Functions
    delete_child/2 and restart_child/2 are invalid for simple_one_for_one supervisors and
    return {error,simple_one_for_one}"; ``start_child`` appends ``List`` to the template's
    arguments, ``terminate_child(Sup, Pid)`` stops one (OTP 25)."""
    assert run_scenario(mode, simple_one_for_one) == {
        "which": [("undefined", "worker"), ("undefined", "worker")],
        "counts": {"active": 2, "specs": 1, "supervisors": 0, "workers": 2},
        "terminate": "ok",
        "terminate_again": "ok",
        "terminate_not_a_child": ("error", "not_found"),
        "terminate_by_id": ("error", "simple_one_for_one"),
        "delete": ("error", "simple_one_for_one"),
        "restart": ("error", "simple_one_for_one"),
        "restarted_as_new_pid": True,
        "log": [
            ("started", ("base", 1)),
            ("started", ("base", 2)),
            ("terminated", ("base", 1), "shutdown"),
            ("terminated", ("base", 2), "boom"),
            ("started", ("base", 2)),
        ],
    }


# --------------------------------------------------------------------------- against OTP 25


@requires_otp
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_sandbox_does_what_otp_25_does(name: str, mode: str) -> None:
    """Run ``otp/supervisor_rules.escript`` on the real OTP and compare every outcome, in both
    scheduler modes (``realtime`` must follow the same rules)."""
    reference = otp_outcomes("supervisor_rules.escript")
    assert name in reference, f"the escript has no scenario {name}"
    assert "crashed" not in reference[name], reference[name]
    assert run_scenario(mode, SCENARIOS[name]) == reference[name]
