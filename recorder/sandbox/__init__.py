"""The sandbox: an OTP-style actor runtime in Python whose every event can be recorded.

Layers (each module imports only those above it): ``errors``, ``patterns``, ``timers`` <-
``process`` (mailbox, receive, the process API) <- ``scheduler`` (run loop, clocks) <-
``signals`` (links, monitors, registry), ``messaging`` (casts, calls, timers),
``observability``, ``introspection``, ``interception``, ``recording`` <- ``runtime`` <-
``genserver`` <- ``childspec``, ``supervisor``, ``snapshots``.
See ``docs/sandbox.md`` for the user guide.
"""

from recorder.sandbox.childspec import ChildSpec, child_spec
from recorder.sandbox.errors import (
    BadArg,
    CallError,
    ChildSpecError,
    ProcessExit,
    ReceiveTimeout,
    SandboxError,
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
    "ChildSpec",
    "ChildSpecError",
    "From",
    "GenServer",
    "Process",
    "ProcessExit",
    "ReceiveTimeout",
    "Rule",
    "Runtime",
    "SandboxError",
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
