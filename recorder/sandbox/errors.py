"""Errors and exit reasons, worded the way Erlang/OTP words them.

An *exit reason* is any value. Two rules decide what it does, as in OTP:

- **Links**: only ``"normal"`` is harmless. An exit signal with any other reason, ``"shutdown"``
  and ``("shutdown", detail)`` included, kills a linked process that does not trap exits (one
  that traps gets the message ``("EXIT", pid, reason)``).
- **Supervision and recording**: ``"normal"``, ``"shutdown"`` and ``("shutdown", detail)`` are
  *normal* ends: recorded as EXIT (not CRASH), and a *transient* child is not restarted after
  them. Every other reason is abnormal: recorded as CRASH.
"""

from __future__ import annotations

import traceback
from typing import Any

__all__ = [
    "BadArg",
    "CallError",
    "ChildSpecError",
    "NoProcError",
    "ProcessExit",
    "ReceiveTimeout",
    "SandboxError",
    "StartError",
    "crash_data",
    "exit_reason_of",
    "is_normal_reason",
]


def is_normal_reason(reason: Any) -> bool:
    """Whether ``reason`` ends a process normally (``normal``, ``shutdown``, ``(shutdown, _)``)."""
    if reason == "normal" or reason == "shutdown":
        return True
    return type(reason) is tuple and len(reason) == 2 and reason[0] == "shutdown"


class SandboxError(Exception):
    """Base class of the sandbox's errors."""


class ProcessExit(SandboxError):
    """Raised inside a process to end it with ``reason`` (``Process.exit`` raises it).

    Also raised into the running process when an exit signal that is not trapped reaches it.
    """

    def __init__(self, reason: Any = "normal") -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return f"exit({self.reason!r})"


class ReceiveTimeout(SandboxError, TimeoutError):
    """``receive(timeout=...)`` found no matching message in time (Erlang's ``after`` clause)."""

    def __init__(self, after_ms: float) -> None:
        super().__init__(f"no matching message within {after_ms:g} ms")
        self.after_ms = after_ms


def exit_reason_of(exc: BaseException) -> Any:
    """The exit reason of a process that ``exc`` ends: its ``exit_reason`` if it has one (the
    sandbox's own errors), else ``("exception", "Type: message")``."""
    if isinstance(exc, ProcessExit):
        return exc.reason
    reason = getattr(exc, "exit_reason", None)
    if reason is None:
        reason = ("exception", f"{type(exc).__name__}: {exc}")
    return reason


def crash_data(reason: Any, exc: BaseException | None) -> dict[str, Any]:
    """The CRASH event's data: reason, error text, traceback text."""
    if exc is None:
        return {"reason": reason, "error": f"exit({reason!r})", "traceback": ""}
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"reason": reason, "error": f"{type(exc).__name__}: {exc}", "traceback": text}


_CALL_EXPLANATIONS = {
    "noproc": "no process is alive at that pid or name",
    "timeout": "no reply within the timeout",
    "calling_self": "a process cannot call itself (it would wait for its own reply forever)",
}


class CallError(SandboxError):
    """A ``call`` failed. ``reason`` is ``"noproc"``, ``"timeout"``, or the server's exit reason.

    Uncaught in a process, it ends that process with the exit reason
    ``(reason, ("call", target, request))``, like Erlang's ``gen_server:call`` exit.
    """

    def __init__(self, reason: Any, target: Any, request: Any) -> None:
        explanation = _CALL_EXPLANATIONS.get(reason) if isinstance(reason, str) else None
        if explanation is None:
            explanation = "the server exited before replying"
        super().__init__(
            f"call to {target!r} failed: {reason!r} ({explanation}); request was {request!r}"
        )
        self.reason = reason
        self.target = target
        self.request = request

    @property
    def exit_reason(self) -> Any:
        """The exit reason of a process that does not catch this error."""
        return (self.reason, ("call", self.target, self.request))


class BadArg(SandboxError, ValueError):
    """A bad argument to a runtime operation, e.g. sending to a name nobody registered."""

    @property
    def exit_reason(self) -> Any:
        return ("badarg", str(self))


class NoProcError(SandboxError, LookupError):
    """An operation on a process that does not exist (Erlang's ``error:noproc``), e.g. linking
    to a process that already ended. Catchable; uncaught it ends the process with reason
    ``("noproc", (operation, target))``."""

    def __init__(self, operation: str, target: Any) -> None:
        super().__init__(f"{operation} {target!r} failed: noproc (no such process)")
        self.operation = operation
        self.target = target

    @property
    def exit_reason(self) -> Any:
        return ("noproc", (self.operation, self.target))


class StartError(SandboxError):
    """Starting a GenServer failed: ``init`` returned ``("stop", reason)`` or raised, the name was
    taken (``("already_started", pid)``), or a supervisor could not start a child
    (``("shutdown", ("failed_to_start_child", id, reason))``).

    ``reason`` is the reason of OTP's ``{error, Reason}``; :attr:`result` is that tuple.
    """

    def __init__(self, reason: Any, server: Any = None) -> None:
        what = f"starting {server!r}" if server is not None else "start"
        super().__init__(f"{what} failed: {reason!r}")
        self.reason = reason

    @property
    def result(self) -> tuple[str, Any]:
        """``("error", reason)``, what ``gen_server:start`` returns in OTP."""
        return ("error", self.reason)

    @property
    def exit_reason(self) -> Any:
        return self.reason


#: ChildSpecError fields -> the reason OTP's supervisor gives for a bad value of that field.
_OTP_SPEC_REASONS = {
    "restart": "invalid_restart_type",
    "shutdown": "invalid_shutdown",
    "type": "invalid_child_type",
    "start": "invalid_mfa",
    "args": "invalid_mfa",
    "name": "invalid_name",
    "id": "invalid_child_id",
}


class ChildSpecError(SandboxError, ValueError):
    """A supervisor child spec is malformed; the message names the offending field."""

    def __init__(self, field: str, problem: str, child_id: Any = None, value: Any = None) -> None:
        where = f"child spec {child_id!r}" if child_id is not None else "child spec"
        super().__init__(f"{where}: field {field!r} {problem}")
        self.field = field
        self.value = value
        self.missing = problem == "is required"

    @property
    def otp_reason(self) -> Any:
        """The reason of the ``("error", reason)`` a supervisor replies, worded as OTP's
        ``check_childspec`` words it: ``("invalid_restart_type", value)``, ``"missing_id"``..."""
        if self.missing:
            return f"missing_{self.field}"
        if self.field == "spec":
            return ("invalid_child_spec", self.value)
        name = _OTP_SPEC_REASONS.get(self.field)
        if name is None:
            return ("invalid_child_spec", self.field)
        return (name, self.value)
