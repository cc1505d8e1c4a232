"""Snapshot and restore GenServer states within one run (``deepcopy`` of each state)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from recorder.payload import Pid

if TYPE_CHECKING:
    from recorder.sandbox.runtime import Runtime

__all__ = ["StateSnapshot", "restore_snapshot", "take_snapshot"]


@dataclass(frozen=True, slots=True)
class SavedState:
    pid: Pid
    name: str
    registered: str | None
    state: Any


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """States of GenServers at one moment (``taken_at_ms`` of runtime time)."""

    taken_at_ms: float
    states: tuple[SavedState, ...] = field(default=())

    def pids(self) -> list[Pid]:
        return [s.pid for s in self.states]


def take_snapshot(rt: Runtime, pids: Iterable[Pid | str] | None = None) -> StateSnapshot:
    """Copy the states of all GenServers (or of ``pids``; plain processes are skipped)."""
    if pids is None:
        procs = [p for p in rt.processes.values() if p._has_state]
    else:
        procs = [rt.process(p) for p in pids]
    saved = tuple(
        SavedState(p.pid, p.name, p.registered, copy.deepcopy(p.state))
        for p in procs
        if p._has_state
    )
    return StateSnapshot(rt.now_ms(), saved)


def restore_snapshot(
    rt: Runtime, snapshot: StateSnapshot, pids: Iterable[Pid | str] | None = None
) -> list[Pid]:
    """Put saved states back (each recorded as STATE with trigger ``replace``).

    A process that died since is found again by its registered name, if it had one (a
    supervisor restarted it); otherwise its saved state is skipped.

    Returns:
        the pids whose state was restored.
    """
    wanted = (
        None if pids is None else {rt.process(p).pid if isinstance(p, str) else p for p in pids}
    )
    restored = []
    for saved in snapshot.states:
        if wanted is not None and saved.pid not in wanted:
            continue
        proc = rt.processes.get(saved.pid.n)
        if proc is None and saved.registered is not None:
            proc = rt.resolve(saved.registered)
        if proc is None or not proc._has_state:
            continue
        rt.replace_state(proc.pid, copy.deepcopy(saved.state))
        restored.append(proc.pid)
    return restored
