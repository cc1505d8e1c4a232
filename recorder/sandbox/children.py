"""What a supervisor knows: its spec, its child slots, its restart history.

:class:`SupervisorSpec` is how a supervisor is configured; :class:`SupervisorState` is its
GenServer state (what the debugger shows), one :class:`Child` per slot in start order.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recorder.payload import Pid
from recorder.sandbox.childspec import ChildSpec, Strategy, child_spec

if TYPE_CHECKING:
    from recorder.sandbox.process import Process

__all__ = ["STRATEGIES", "Child", "SupervisorSpec", "SupervisorState", "supervisor_entry"]

STRATEGIES = ("one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one")


@dataclass(frozen=True, slots=True)
class SupervisorSpec:
    """How a supervisor runs: its children and its restart strategy and intensity.

    With ``strategy="simple_one_for_one"`` (Elixir's DynamicSupervisor), ``children`` holds
    exactly one spec, the template: no child starts with the supervisor, each
    ``("start_child", extra_args)`` starts one more with ``template.args + extra_args``.
    """

    children: tuple[ChildSpec, ...] = ()
    strategy: Strategy = "one_for_one"
    max_restarts: int = 3
    max_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}"
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
        if self.strategy == "simple_one_for_one" and len(specs) != 1:
            raise ValueError(
                f"a simple_one_for_one supervisor needs exactly one child spec (the template), "
                f"not {len(specs)}"
            )
        object.__setattr__(self, "children", specs)


@dataclass(slots=True)
class Child:
    """One child slot of a running supervisor.

    ``slot`` names it in CHILD_SPEC and RESTART events and keyframes: the spec's id, or for a
    child of a ``simple_one_for_one`` supervisor ``"<template id>#<n>"`` (OTP gives those no
    id; the recording needs one per slot). ``args`` are a dynamic child's extra arguments.
    """

    spec: ChildSpec
    slot: str
    pid: Pid | None = None
    restarts: int = 0
    args: tuple[Any, ...] = ()
    #: The pid the recording last named for this slot (its CHILD_SPEC ``add``, its RESTARTs):
    #: what keyframes show while that process lives, even while ``pid`` is already cleared
    #: for a child being stopped (docs/world-schema.md).
    recorded_pid: int | None = None


@dataclass(slots=True)
class SupervisorState:
    """The state of a supervisor process (what the debugger shows)."""

    strategy: Strategy
    max_restarts: int
    max_seconds: float
    children: list[Child] = field(default_factory=list)
    restart_times: collections.deque[int] = field(default_factory=collections.deque)
    template: ChildSpec | None = None
    dynamic_started: int = 0

    def find(self, child_id: Any) -> Child | None:
        return next((c for c in self.children if c.spec.id == child_id), None)

    def by_pid(self, pid: Any) -> Child | None:
        return next((c for c in self.children if c.pid is not None and c.pid == pid), None)

    def counts(self) -> dict[str, int]:
        """``count_children``: specs, active (running), supervisors and workers."""
        if self.template is not None:  # one spec; every running child is of its type
            kind = self.template.type
            n = sum(1 for c in self.children if c.pid is not None)
            return {
                "specs": 1,
                "active": n,
                "supervisors": n if kind == "supervisor" else 0,
                "workers": n if kind == "worker" else 0,
            }
        return {
            "specs": len(self.children),
            "active": sum(1 for c in self.children if c.pid is not None),
            "supervisors": sum(1 for c in self.children if c.spec.type == "supervisor"),
            "workers": sum(1 for c in self.children if c.spec.type == "worker"),
        }


def supervisor_entry(proc: Process) -> dict[str, Any] | None:
    """The ``SupervisorEntry`` of ``docs/world-schema.md`` for a supervisor process: its slots
    as recorded, each slot's pid only while that process is alive."""
    state = proc._state
    if not isinstance(state, SupervisorState):
        return None
    alive = proc.runtime.processes
    return {
        "pid": proc._n,
        "strategy": state.strategy,
        "max_restarts": state.max_restarts,
        "max_seconds": float(state.max_seconds),
        "children": [
            {
                "id": c.slot,
                "pid": c.recorded_pid if c.recorded_pid in alive else None,
                "restart": c.spec.restart,
                "type": c.spec.type,
            }
            for c in state.children
        ],
    }
