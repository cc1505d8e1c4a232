"""Errors and exit reasons, worded the way Erlang/OTP words them.

An *exit reason* is any value. ``"normal"``, ``"shutdown"`` and ``("shutdown", detail)`` are
normal: a process ending with one of them is recorded as EXIT, links do not propagate it to
processes that do not trap exits, and a *transient* child is not restarted. Every other reason is
abnormal: recorded as CRASH, propagated through links.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadArg",
    "CallError",
    "ChildSpecError",
    "ProcessExit",
    "ReceiveTimeout",
    "SandboxError",
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


_CALL_EXPLANATIONS = {
    "noproc": "no process is alive at that pid or name",
    "timeout": "no reply within the timeout",
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


class ChildSpecError(SandboxError, ValueError):
    """A supervisor child spec is malformed; the message names the offending field."""

    def __init__(self, field: str, problem: str, child_id: Any = None) -> None:
        where = f"child spec {child_id!r}" if child_id is not None else "child spec"
        super().__init__(f"{where}: field {field!r} {problem}")
        self.field = field
