"""Supervisor: starts children, watches them, restarts them by strategy and policy (OTP rules).

Strategies: ``one_for_one`` (restart the child that ended), ``one_for_all`` (stop the others,
restart all), ``rest_for_one`` (stop and restart the ones started after it, and it), and
``simple_one_for_one`` (one template spec; children are added with ``("start_child",
extra_args)`` and stopped with ``("terminate_child", pid)``, as Elixir's DynamicSupervisor).
Restart policies: ``permanent`` (always), ``transient`` (only after an abnormal exit),
``temporary`` (never; the spec is removed).

Children start one at a time, in order, each start waiting for the child's ``init``. A child
that fails to start while the supervisor boots makes the supervisor stop the children already
started (last first) and fail with ``("shutdown", ("failed_to_start_child", id, reason))``.
When several children restart, they stop last-started first and start again in start order.
More than ``max_restarts`` restarts within ``max_seconds`` and the supervisor gives up: it stops
its children and exits with reason ``"shutdown"`` (its own supervisor, if any, then decides).
A child stops with the exit signal ``"shutdown"``, and ``"kill"`` after ``shutdown`` ms
(``"brutal_kill"`` kills at once, ``"infinity"`` waits).

Calls a supervisor answers (``await proc.call(sup, request)`` or ``runtime.call``), with OTP's
replies: ``("start_child", spec | extra_args)`` -> ``("ok", pid)`` | ``("error", reason)``
(``("already_started", pid)``, ``"already_present"``, a malformed spec's reason such as
``("invalid_restart_type", value)``, or, when the child does not start, ``(why, spec)``),
``("terminate_child", id | pid)``, ``("restart_child", id)``, ``("delete_child", id)``,
``("get_childspec", id | pid)`` -> ``("ok", spec map)``, ``("which_children",)`` ->
``[(id, pid, type)]``, ``("count_children",)`` -> ``{"specs", "active", "supervisors",
"workers"}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import Pid
from recorder.sandbox.children import Child, SupervisorSpec, SupervisorState, supervisor_entry
from recorder.sandbox.childspec import Strategy, child_spec
from recorder.sandbox.errors import ChildSpecError, ProcessExit, ReceiveTimeout, is_normal_reason
from recorder.sandbox.genserver import GenServer, StartResult
from recorder.sandbox.process import From

if TYPE_CHECKING:
    from recorder.sandbox.runtime import Runtime

__all__ = ["Supervisor", "SupervisorSpec", "start_supervisor", "supervisor_entry"]

_RESTART = int(EventKind.RESTART)
_CHILD_SPEC = int(EventKind.CHILD_SPEC)


def start_supervisor(
    rt: Runtime,
    children: Any = (),
    *,
    strategy: Strategy = "one_for_one",
    max_restarts: int = 3,
    max_seconds: float = 5.0,
    name: str | None = None,
) -> Pid:
    """Start a top-level supervisor of ``children`` (ChildSpecs or dicts); returns its pid once
    every child started.

    Raises:
        StartError: a child failed to start (reason
            ``("shutdown", ("failed_to_start_child", id, reason))``); the children started
            before it are stopped again.
    """
    spec = SupervisorSpec(tuple(children), strategy, max_restarts, max_seconds)
    return rt.start(Supervisor, spec, name=name)


def _exit_of(pid: Pid) -> Any:
    def match(message: Any) -> bool:
        return (type(message) is tuple and len(message) == 3 and message[0] == "EXIT") and message[
            1
        ] == pid

    return match


class Supervisor(GenServer):
    """The supervisor behaviour. Start with :func:`start_supervisor` or as a child spec."""

    behaviour = "supervisor"

    async def init(self, *args: Any) -> Any:
        spec = args[0] if args else SupervisorSpec()
        if not isinstance(spec, SupervisorSpec):
            spec = SupervisorSpec(**spec) if isinstance(spec, dict) else SupervisorSpec(tuple(spec))
        proc = self.process
        proc.trap_exit = True
        state = SupervisorState(spec.strategy, spec.max_restarts, spec.max_seconds)
        # Visible to keyframes while the children start (init spans several steps now), and
        # announced to the recording at the same moment (the world's supervisor entry).
        proc._state = state
        rec = self._rt.recording
        if rec.active:
            flags = {
                "op": "init",
                "child_id": None,
                "strategy": spec.strategy,
                "max_restarts": spec.max_restarts,
                "max_seconds": float(spec.max_seconds),
            }
            rec.record(_CHILD_SPEC, proc._n, NO_PEER, NO_REF, flags)
        if spec.strategy == "simple_one_for_one":
            state.template = spec.children[0]
            return ("ok", state)
        for cs in spec.children:
            child = Child(cs, cs.id)
            status, reason = await self._start(child)
            if status != "ok":
                await self._stop_all(state)
                return ("stop", ("shutdown", ("failed_to_start_child", cs.id, reason)))
            # A slot exists from its CHILD_SPEC add (as the recording says), not while its
            # child is still starting.
            state.children.append(child)
            self._record_spec("add", child)
        return ("ok", state)

    # ------------------------------------------------------------------ child lifecycle

    @property
    def _rt(self) -> Runtime:
        return self.process.runtime

    def _record_spec(self, op: str, child: Child) -> None:
        if op == "add":
            child.recorded_pid = None if child.pid is None else child.pid.n
        rec = self._rt.recording
        if rec.active:
            peer = child.pid.n if child.pid is not None else NO_PEER
            spec = {**child.spec.describe(), "id": child.slot, "args": child.spec.args + child.args}
            data = {"op": op, "child_id": child.slot, "spec": spec}
            rec.record(_CHILD_SPEC, self.process._n, peer, NO_REF, data)

    async def _start(self, child: Child) -> StartResult:
        """Start ``child`` and wait for its init; sets ``child.pid`` when it started."""
        spec = child.spec
        me = self.process
        rt = self._rt
        args = spec.args + child.args
        result: StartResult
        if spec.is_gen_server:
            result = await rt.starter.start_result(
                me,
                spec.start,
                *args,
                name=spec.name,
                link=True,
                supervisor=me.pid,
                label=spec.name or spec.id,
            )
        else:
            owner = None if spec.name is None else rt.whereis(spec.name)
            if owner is not None:
                result = ("error", ("already_started", owner))
            else:
                pid = rt.spawn(
                    spec.start,
                    *args,
                    name=spec.name or spec.id,
                    register=spec.name,
                    link_to=me.pid,
                    supervisor=me.pid,
                    behaviour=spec.behaviour,
                )
                result = ("ok", pid)
        if result[0] == "ok":
            started = result[1]
            assert isinstance(started, Pid)
            child.pid = started
            proc = rt.processes.get(started.n)
            if proc is not None:
                proc._restarts = child.restarts
        return result

    async def _stop(self, child: Child) -> None:
        """Stop ``child``: the ``shutdown`` exit signal, then ``kill`` after its shutdown time."""
        pid = child.pid
        child.pid = None
        rt = self._rt
        if pid is None or pid.n not in rt.processes:
            return
        me = self.process
        shutdown = child.spec.shutdown
        rt.exit(pid, "kill" if shutdown == "brutal_kill" else "shutdown", sender=me.pid)
        # "kill" acts at once; a child trapping exits gets `shutdown` ms to end by itself.
        wait = None if shutdown in ("infinity", "brutal_kill") else float(shutdown)  # type: ignore[arg-type]
        try:
            await me._receive_envelope(_exit_of(pid), wait)
        except ReceiveTimeout:
            rt.exit(pid, "kill", sender=me.pid)
            await me._receive_envelope(_exit_of(pid))

    async def _stop_all(self, state: SupervisorState) -> None:
        """Stop every child: last started first (a simple_one_for_one's all at once)."""
        if state.template is None:
            for child in reversed(state.children):
                await self._stop(child)
            return
        rt = self._rt
        me = self.process
        running = [c for c in state.children if c.pid is not None and c.pid.n in rt.processes]
        shutdown = state.template.shutdown
        signal = "kill" if shutdown == "brutal_kill" else "shutdown"
        pids = []
        for child in running:
            assert child.pid is not None
            pids.append(child.pid)
            child.pid = None
            rt.exit(pids[-1], signal, sender=me.pid)
        deadline = None
        if shutdown not in ("infinity", "brutal_kill"):
            deadline = rt.now_ms() + float(shutdown)  # type: ignore[arg-type]
        for pid in pids:
            wait = None if deadline is None else max(0.0, deadline - rt.now_ms())
            try:
                await me._receive_envelope(_exit_of(pid), wait)
            except ReceiveTimeout:
                rt.exit(pid, "kill", sender=me.pid)
                await me._receive_envelope(_exit_of(pid))

    def _record_restart(
        self,
        state: SupervisorState,
        child: Child,
        old: Pid | None,
        reason: Any,
        new_n: int,
        *,
        gave_up: bool = False,
    ) -> None:
        """The RESTART event: a child restarted as ``new_n``, or (``gave_up``) the restart
        intensity was exceeded and the supervisor exits."""
        child.recorded_pid = None if new_n == NO_PEER else new_n
        rec = self._rt.recording
        if not rec.active:
            return
        data = {
            "child_id": child.slot,
            "old_pid": None if old is None else old.n,
            "reason": reason,
            "strategy": state.strategy,
            "restarts": child.restarts,
        }
        if gave_up:
            data["gave_up"] = True
        rec.record(_RESTART, self.process._n, new_n, NO_REF, data)

    def _remove(self, state: SupervisorState, child: Child) -> None:
        if child in state.children:
            state.children.remove(child)
            self._record_spec("remove", child)

    def _within_intensity(self, state: SupervisorState) -> bool:
        """Count one restart; whether the supervisor may still restart (OTP's intensity)."""
        now = self._rt.clock()
        times = state.restart_times
        times.append(now)
        horizon = now - int(state.max_seconds * 1e9)
        while times and times[0] < horizon:
            times.popleft()
        return len(times) <= state.max_restarts

    def _affected(self, state: SupervisorState, child: Child) -> list[Child]:
        if state.strategy == "one_for_all":
            return list(state.children)
        if state.strategy == "rest_for_one":
            return state.children[state.children.index(child) :]
        return [child]

    async def _child_exited(self, state: SupervisorState, child: Child, reason: Any) -> None:
        old = child.pid
        child.pid = None
        restart = child.spec.restart
        if restart == "temporary" or (restart == "transient" and is_normal_reason(reason)):
            if restart == "temporary" or state.template is not None:
                self._remove(state, child)
            return
        await self._restart(state, child, old, reason)

    async def _restart(
        self, state: SupervisorState, child: Child, old: Pid | None, reason: Any
    ) -> None:
        """Restart ``child`` (and, by strategy, its siblings); a start that fails counts as
        another restart and is tried again (OTP's ``try_again``) until the intensity is spent."""
        while True:
            if not self._within_intensity(state):
                self._record_restart(state, child, old, reason, NO_PEER, gave_up=True)
                raise ProcessExit("shutdown")
            affected = self._affected(state, child)
            for other in reversed(affected):  # stop the others, last started first
                if other is not child:
                    await self._stop(other)
            started: list[Child] = []
            failed: tuple[Child, Any] | None = None
            for other in affected:  # start again, in start order
                if other.spec.restart == "temporary" and other is not child:
                    self._remove(state, other)
                    continue
                other.restarts += 1
                status, value = await self._start(other)
                if status != "ok":
                    failed = (other, value)
                    break
                started.append(other)
                self._record_restart(
                    state,
                    other,
                    old if other is child else None,
                    reason if other is child else "shutdown",
                    value.n,
                )
            if failed is None:
                return
            for other in reversed(started):
                await self._stop(other)
            child, reason = failed
            old = None

    # ------------------------------------------------------------------ callbacks

    async def handle_info(self, message: Any, state: SupervisorState) -> Any:
        if type(message) is tuple and len(message) == 3 and message[0] == "EXIT":
            child = state.by_pid(message[1])
            if child is not None:
                await self._child_exited(state, child, message[2])
        return ("noreply", state)

    async def handle_call(self, request: Any, from_: From, state: SupervisorState) -> Any:
        op = request[0] if type(request) is tuple and request else request
        simple = state.template is not None
        if op == "start_child" and len(request) == 2:
            if simple:
                return ("reply", await self._start_dynamic(state, request[1]), state)
            return ("reply", await self._start_child(state, request[1]), state)
        if op == "terminate_child" and len(request) == 2:
            return ("reply", await self._terminate_child(state, request[1]), state)
        if op == "get_childspec" and len(request) == 2:
            found = state.by_pid(request[1]) if isinstance(request[1], Pid) else None
            if found is None and not simple:
                found = state.find(request[1])
            if found is None:
                return ("reply", ("error", "not_found"), state)
            return ("reply", ("ok", found.spec.describe()), state)
        if op in ("restart_child", "delete_child") and len(request) == 2:
            if simple:
                return ("reply", ("error", "simple_one_for_one"), state)
            child = state.find(request[1])
            if child is None:
                return ("reply", ("error", "not_found"), state)
            if child.pid is not None:
                return ("reply", ("error", "running"), state)
            if op == "restart_child":
                child.restarts += 1
                status, value = await self._start(child)
                if status != "ok":
                    return ("reply", ("error", value), state)
                self._record_restart(state, child, None, "restart_child", value.n)
                return ("reply", ("ok", value), state)
            self._remove(state, child)
            return ("reply", "ok", state)
        if op == "which_children":
            rows = [(None if simple else c.spec.id, c.pid, c.spec.type) for c in state.children]
            return ("reply", rows, state)
        if op == "count_children":
            return ("reply", state.counts(), state)
        return ("reply", ("error", ("unknown_request", request)), state)

    async def _terminate_child(self, state: SupervisorState, which: Any) -> Any:
        """``terminate_child`` by id, or by pid (a simple_one_for_one's children have no id)."""
        simple = state.template is not None
        if isinstance(which, Pid):
            child = state.by_pid(which)
            if child is None:
                # As OTP: for a simple_one_for_one, a pid that already ended is "terminated".
                if simple and which.n not in self._rt.processes:
                    return "ok"
                return ("error", "not_found")
        elif simple:
            return ("error", "simple_one_for_one")
        else:
            child = state.find(which)
            if child is None:
                return ("error", "not_found")
        await self._stop(child)
        if simple or child.spec.restart == "temporary":
            self._remove(state, child)
        return "ok"

    async def _start_child(self, state: SupervisorState, value: Any) -> StartResult:
        """``start_child`` with a spec: OTP's replies, the supervisor never crashes on them."""
        try:
            spec = child_spec(value)
        except ChildSpecError as exc:
            return ("error", exc.otp_reason)
        existing = state.find(spec.id)
        if existing is not None:
            if existing.pid is not None:
                return ("error", ("already_started", existing.pid))
            return ("error", "already_present")
        child = Child(spec, spec.id)
        status, value = await self._start(child)
        if status != "ok":  # as OTP: the spec is not kept, the error names it
            return ("error", (value, spec))
        state.children.append(child)
        self._record_spec("add", child)
        return ("ok", value)

    async def _start_dynamic(self, state: SupervisorState, extra: Any) -> StartResult:
        """``start_child`` of a simple_one_for_one: the template with ``extra`` arguments."""
        template = state.template
        assert template is not None
        if not isinstance(extra, (list, tuple)):
            return ("error", ("badarg", extra))
        state.dynamic_started += 1
        child = Child(template, f"{template.id}#{state.dynamic_started}", args=tuple(extra))
        status, value = await self._start(child)
        if status != "ok":
            return ("error", (value, template))
        state.children.append(child)
        self._record_spec("add", child)
        return ("ok", value)

    async def terminate(self, reason: Any, state: Any) -> Any:
        if isinstance(state, SupervisorState):
            await self._stop_all(state)
        return None
