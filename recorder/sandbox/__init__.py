"""The sandbox: an OTP-style actor runtime in Python whose every event can be recorded.

Layers, lowest first (a module imports only from layers below it; ``pyproject.toml``'s
import-linter contract keeps it so):

1. ``errors``, ``patterns``, ``timers``: values and the timer heap; ``provenance``: what a
   session header records so that the run can be repeated;
2. ``process``: the process API its coroutine uses;
3. ``memory``, ``recording`` (the one way an event leaves), ``registry``, ``scheduler``;
4. ``messaging`` (the post office: sends, calls, replies, ``send_after``);
5. ``signals`` (links, monitors, exit signals), ``interception``, ``observability``,
   ``calltrace`` (CALL / RETURN events of traced functions);
6. ``genserver``; 7. ``childspec``; 8. ``children``; 9. ``introspection``;
   10. ``lifecycle`` (spawning and ending processes), ``starting`` (synchronous GenServer
   starts); 11. ``runtime``, which owns one of each part; 12. ``supervisor``, ``snapshots``;
   13. ``scenarios``.

See ``docs/sandbox.md`` for the user guide.
"""

from recorder.sandbox.calltrace import CallTraceError
from recorder.sandbox.childspec import ChildSpec, child_spec
from recorder.sandbox.errors import (
    BadArg,
    CallError,
    ChildSpecError,
    NoProcError,
    ProcessExit,
    ReceiveTimeout,
    SandboxError,
    StartError,
    is_normal_reason,
)
from recorder.sandbox.genserver import BadReturnValue, GenServer
from recorder.sandbox.interception import Rule
from recorder.sandbox.introspection import process_info, system_snapshot, world
from recorder.sandbox.observability import BreakpointHit
from recorder.sandbox.patterns import ANY
from recorder.sandbox.process import From, Process
from recorder.sandbox.runtime import Runtime
from recorder.sandbox.snapshots import StateSnapshot, restore_snapshot, take_snapshot
from recorder.sandbox.supervisor import Supervisor, SupervisorSpec, start_supervisor

__all__ = [
    "ANY",
    "BadArg",
    "BadReturnValue",
    "BreakpointHit",
    "CallError",
    "CallTraceError",
    "ChildSpec",
    "ChildSpecError",
    "From",
    "GenServer",
    "NoProcError",
    "Process",
    "ProcessExit",
    "ReceiveTimeout",
    "Rule",
    "Runtime",
    "SandboxError",
    "StartError",
    "StateSnapshot",
    "Supervisor",
    "SupervisorSpec",
    "child_spec",
    "is_normal_reason",
    "process_info",
    "restore_snapshot",
    "start_supervisor",
    "system_snapshot",
    "take_snapshot",
    "world",
]
