"""Supervisor: starts children, watches them, restarts them by strategy and policy.

Strategies: ``one_for_one`` (restart the child that ended), ``one_for_all`` (stop the others,
restart all), ``rest_for_one`` (stop and restart the ones started after it, and it). Restart
policies: ``permanent`` (always), ``transient`` (only after an abnormal exit), ``temporary``
(never; the spec is removed). More than ``max_restarts`` restarts within ``max_seconds`` and the
supervisor gives up: it stops its children and exits with reason ``"shutdown"`` (its own
supervisor, if any, then decides). Children stop with an exit signal ``"shutdown"``, and after
``shutdown`` ms without ending, ``"kill"`` (``"brutal_kill"`` kills at once).

Calls a supervisor answers (``await proc.call(sup, request)`` or ``runtime.call``):
``("start_child", spec)``, ``("terminate_child", id)``, ``("restart_child", id)``,
``("delete_child", id)``, ``("which_children",)``, ``("count_children",)``.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_REF, EventKind
from recorder.payload import Pid
from recorder.sandbox.childspec import ChildSpec, Strategy, child_spec
from recorder.sandbox.errors import ProcessExit, ReceiveTimeout, is_normal_reason
from recorder.sandbox.genserver import GenServer
from recorder.sandbox.process import From, Process

if TYPE_CHECKING:
    from recorder.sandbox.runtime import Runtime

__all__ = ["Child", "Supervisor", "SupervisorSpec", "start_supervisor", "supervisor_entry"]

_RESTART = int(EventKind.RESTART)
_CHILD_SPEC = int(EventKind.CHILD_SPEC)
_STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one")


@dataclass(frozen=True, slots=True)
class SupervisorSpec:
    """How a supervisor runs: its children and its restart strategy and intensity."""

    children: tuple[ChildSpec, ...] = ()
    strategy: Strategy = "one_for_one"
    max_restarts: int = 3
    max_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.strategy not in _STRATEGIES:
            raise ValueError(
                f"strategy must be one of {', '.join(_STRATEGIES)}, not {self.strategy!r}"
            )
        if not isinstance(self.max_restarts, int) or self.max_restarts < 0:
            raise ValueError(f"max_restarts must be an int >= 0, not {self.max_restarts!r}")
        if not isinstance(self.max_seconds, (int, float)) or self.max_seconds <= 0:
            raise ValueError(f"max_seconds must be a number > 0, not {self.max_seconds!r}")
        specs = tuple(child_spec(c) for c in self.children)
        ids = [c.id for c in specs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"child ids must be unique; repeated: {', '.join(duplicates)}")
        object.__setattr__(self, "children", specs)


@dataclass(slots=True)
class Child:
    """One child slot of a running supervisor."""

    spec: ChildSpec
    pid: Pid | None = None
    restarts: int = 0


@dataclass(slots=True)
class SupervisorState:
    """The state of a supervisor process (what the debugger shows)."""

    strategy: Strategy
    max_restarts: int
    max_seconds: float
    children: list[Child] = field(default_factory=list)
    restart_times: collections.deque[int] = field(default_factory=collections.deque)

    def find(self, child_id: str) -> Child | None:
        return next((c for c in self.children if c.spec.id == child_id), None)

    def by_pid(self, pid: Any) -> Child | None:
        return next((c for c in self.children if c.pid is not None and c.pid == pid), None)


def start_supervisor(
    rt: Runtime,
    children: Any = (),
    *,
    strategy: Strategy = "one_for_one",
    max_restarts: int = 3,
    max_seconds: float = 5.0,
    name: str | None = None,
) -> Pid:
    """Start a top-level supervisor of ``children`` (ChildSpecs or dicts); returns its pid."""
    spec = SupervisorSpec(tuple(children), strategy, max_restarts, max_seconds)
    return rt.start(Supervisor, spec, name=name)


def supervisor_entry(proc: Process) -> dict[str, Any] | None:
    """The ``SupervisorEntry`` of ``docs/world-schema.md`` for a supervisor process."""
    state = proc.state
    if not isinstance(state, SupervisorState):
        return None
    return {
        "pid": proc.n,
        "strategy": state.strategy,
        "max_restarts": state.max_restarts,
        "max_seconds": float(state.max_seconds),
        "children": [
            {
                "id": c.spec.id,
                "pid": None if c.pid is None else c.pid.n,
                "restart": c.spec.restart,
                "type": c.spec.type,
            }
            for c in state.children
        ],
    }


class Supervisor(GenServer):
    """The supervisor behaviour. Start with :func:`start_supervisor` or as a child spec."""

    behaviour = "supervisor"

    async def init(self, *args: Any) -> Any:
        spec = args[0] if args else SupervisorSpec()
        if not isinstance(spec, SupervisorSpec):
            spec = SupervisorSpec(**spec) if isinstance(spec, dict) else SupervisorSpec(tuple(spec))
        self.process.trap_exit = True
        state = SupervisorState(spec.strategy, spec.max_restarts, spec.max_seconds)
        for cs in spec.children:
            child = Child(cs)
            state.children.append(child)
            self._record_spec("add", child)
            self._start(child)
        return ("ok", state)

    # ------------------------------------------------------------------ child lifecycle

    @property
    def _rt(self) -> Runtime:
        return self.process.runtime

    def _record_spec(self, op: str, child: Child) -> None:
        peer = child.pid.n if child.pid is not None else NO_PEER
        self._rt.emit_raw(
            _CHILD_SPEC,
            self.process.n,
            peer,
            NO_REF,
            {"op": op, "child_id": child.spec.id, "spec": child.spec.describe()},
        )

    def _start(self, child: Child) -> Pid:
        spec = child.spec
        me = self.process.pid
        rt = self._rt
        if spec.is_gen_server:
            pid = rt.start(
                spec.start,
                *spec.args,
                name=spec.name,
                link_to=me,
                supervisor=me,
                label=spec.name or spec.id,
            )
        else:
            pid = rt.spawn(
                spec.start,
                *spec.args,
                name=spec.name or spec.id,
                register=spec.name,
                link_to=me,
                supervisor=me,
                behaviour=spec.behaviour,
            )
        child.pid = pid
        proc = rt.processes.get(pid.n)
        if proc is not None:
            proc.restarts = child.restarts
        return pid

    async def _stop(self, child: Child) -> None:
        pid = child.pid
        child.pid = None
        rt = self._rt
        if pid is None or pid.n not in rt.processes:
            return
        me = self.process

        def exit_of(message: Any) -> bool:
            return (
                type(message) is tuple
                and len(message) == 3
                and message[0] == "EXIT"
                and message[1] == pid
            )

        shutdown = child.spec.shutdown
        rt.exit(pid, "kill" if shutdown == "brutal_kill" else "shutdown", sender=me.pid)
        # "kill" acts at once; a child trapping exits gets `shutdown` ms to end by itself.
        wait = None if shutdown in ("infinity", "brutal_kill") else float(shutdown)
        try:
            await me.receive(exit_of, wait)
        except ReceiveTimeout:
            rt.exit(pid, "kill", sender=me.pid)
            await me.receive(exit_of)

    async def _restart(
        self, state: SupervisorState, child: Child, old: Pid | None, reason: Any
    ) -> None:
        child.restarts += 1
        pid = self._start(child)
        self._record_restart(state, child, old, reason, pid.n)

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
        data = {
            "child_id": child.spec.id,
            "old_pid": None if old is None else old.n,
            "reason": reason,
            "strategy": state.strategy,
            "restarts": child.restarts,
        }
        if gave_up:
            data["gave_up"] = True
        self._rt.emit_raw(_RESTART, self.process.n, new_n, NO_REF, data)

    async def _child_exited(self, state: SupervisorState, child: Child, reason: Any) -> None:
        old = child.pid
        child.pid = None
        restart = child.spec.restart
        if restart == "temporary" or (restart == "transient" and is_normal_reason(reason)):
            if restart == "temporary":
                state.children.remove(child)
                self._record_spec("remove", child)
            return
        now = self._rt.clock()
        times = state.restart_times
        times.append(now)
        horizon = now - int(state.max_seconds * 1e9)
        while times and times[0] < horizon:
            times.popleft()
        if len(times) > state.max_restarts:
            self._record_restart(state, child, old, reason, NO_PEER, gave_up=True)
            raise ProcessExit("shutdown")
        index = state.children.index(child)
        if state.strategy == "one_for_one":
            affected = [child]
        elif state.strategy == "one_for_all":
            affected = list(state.children)
        else:
            affected = state.children[index:]
        for other in reversed(affected):
            if other is not child:
                await self._stop(other)
        for other in affected:
            if other.spec.restart == "temporary" and other is not child:
                state.children.remove(other)
                self._record_spec("remove", other)
                continue
            await self._restart(
                state,
                other,
                old if other is child else None,
                reason if other is child else "shutdown",
            )

    # ------------------------------------------------------------------ callbacks

    async def handle_info(self, message: Any, state: SupervisorState) -> Any:
        if type(message) is tuple and len(message) == 3 and message[0] == "EXIT":
            child = state.by_pid(message[1])
            if child is not None:
                await self._child_exited(state, child, message[2])
        return ("noreply", state)

    async def handle_call(self, request: Any, from_: From, state: SupervisorState) -> Any:
        op = request[0] if type(request) is tuple and request else request
        if op == "start_child" and len(request) == 2:
            spec = child_spec(request[1])
            if state.find(spec.id) is not None:
                return ("reply", ("error", ("already_present", spec.id)), state)
            new_child = Child(spec)
            state.children.append(new_child)
            pid = self._start(new_child)
            self._record_spec("add", new_child)
            return ("reply", ("ok", pid), state)
        if op in ("terminate_child", "restart_child", "delete_child") and len(request) == 2:
            child = state.find(request[1])
            if child is None:
                return ("reply", ("error", "not_found"), state)
            if op == "terminate_child":
                await self._stop(child)
                if child.spec.restart == "temporary":
                    state.children.remove(child)
                    self._record_spec("remove", child)
                return ("reply", "ok", state)
            if child.pid is not None:
                return ("reply", ("error", "running"), state)
            if op == "restart_child":
                await self._restart(state, child, None, "restart_child")
                return ("reply", ("ok", child.pid), state)
            state.children.remove(child)
            self._record_spec("remove", child)
            return ("reply", "ok", state)
        if op == "which_children":
            rows = [(c.spec.id, c.pid, c.spec.type) for c in state.children]
            return ("reply", rows, state)
        if op == "count_children":
            running = sum(1 for c in state.children if c.pid is not None)
            return ("reply", {"specs": len(state.children), "active": running}, state)
        return ("reply", ("error", ("unknown_request", request)), state)

    async def terminate(self, reason: Any, state: Any) -> Any:
        if isinstance(state, SupervisorState):
            for child in reversed(state.children):
                await self._stop(child)
        return None
