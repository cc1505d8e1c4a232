"""GenServer: a process that holds a state and serves calls, casts and other messages.

Subclass :class:`GenServer` and override the callbacks (plain or ``async def``; an async
callback may itself ``await self.process.call(...)`` other servers). Return values, as in
Elixir (a malformed one crashes the server with reason ``("bad_return_value", value)``):

===============  ============================================================================
``init``         ``("ok", state)`` | ``("ok", state, timeout_ms)`` | ``("stop", reason)``
``handle_call``  ``("reply", reply, state[, timeout_ms])`` | ``("noreply", state[, timeout_ms])``
                 | ``("stop", reason, reply, state)`` | ``("stop", reason, state)``
``handle_cast``  ``("noreply", state[, timeout_ms])`` | ``("stop", reason, state)``
``handle_info``  same as ``handle_cast``; also receives ``"timeout"`` after a timeout
===============  ============================================================================

Starting is synchronous, as ``gen_server:start_link`` is: the starter waits for ``init`` to
finish (an init acknowledgement) and gets the pid, or the error when ``init`` returned
``("stop", reason)`` or raised. With ``("noreply", state)`` from ``handle_call``, reply later
with ``self.process.reply(from_, value)``. Every callback's resulting state is recorded as a
STATE event whose trigger is ``init``, ``call``, ``cast``, ``info`` or ``timeout``.
"""

from __future__ import annotations

from types import CoroutineType
from typing import Any

from recorder.events import NO_PEER, NO_PID, NO_REF, Trigger
from recorder.payload import Pid
from recorder.sandbox.errors import (
    ProcessExit,
    ReceiveTimeout,
    SandboxError,
    exit_reason_of,
    is_normal_reason,
)
from recorder.sandbox.process import From, Process

__all__ = ["BadReturnValue", "GenServer", "StartResult", "gen_server_main"]

#: What starting returns, as OTP's ``gen_server:start``: ``("ok", pid)`` or ``("error", reason)``.
StartResult = tuple[str, Any]


class BadReturnValue(SandboxError):
    """A GenServer callback returned something that is not one of its documented shapes."""

    def __init__(self, callback: str, server: str, value: Any, expected: str) -> None:
        super().__init__(
            f"{server}.{callback} returned {value!r}; expected {expected} (bad_return_value)"
        )
        self.value = value

    @property
    def exit_reason(self) -> Any:
        return ("bad_return_value", self.value)


class GenServer:
    """Base class of GenServers. ``self.process`` is the running :class:`Process`."""

    #: The label the debugger shows for processes of this class.
    behaviour = "gen_server"
    process: Process

    def init(self, *args: Any) -> Any:
        """Build the initial state; default: ``("ok", the single argument or the tuple)``."""
        return ("ok", args[0] if len(args) == 1 else (args or None))

    def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        """Answer a call. The default stops the server with ``("bad_call", request)``."""
        return ("stop", ("bad_call", request), state)

    def handle_cast(self, request: Any, state: Any) -> Any:
        """Handle a cast. The default stops the server with ``("bad_cast", request)``."""
        return ("stop", ("bad_cast", request), state)

    def handle_info(self, message: Any, state: Any) -> Any:
        """Handle any other message (``EXIT``, ``DOWN``, timers). The default ignores it."""
        return ("noreply", state)

    def terminate(self, reason: Any, state: Any) -> Any:
        """Clean up when the server stops (also after a crash in a callback)."""
        return None


async def _run(value: Any) -> Any:
    return (await value) if type(value) is CoroutineType else value


def _timeout_of(result: tuple[Any, ...], length: int) -> float | None:
    if len(result) == length + 1:
        timeout = result[length]
        if timeout is None or (isinstance(timeout, (int, float)) and timeout >= 0):
            return timeout
        raise ValueError
    return None


class _Stopped(ProcessExit):
    """The server stops after ``terminate`` already ran (``("stop", reason, reply, state)``)."""


async def _init(proc: Process, server: GenServer, cls: str, args: tuple[Any, ...]) -> Any:
    """Run ``init`` and acknowledge its outcome to the starter (proc_lib's ``init_ack``)."""
    post = proc.runtime.post
    try:
        result = await _run(server.init(*args))
        if type(result) is tuple and len(result) == 2 and result[0] == "stop":
            raise ProcessExit(result[1])
        if not (type(result) is tuple and len(result) in (2, 3) and result[0] == "ok"):
            raise BadReturnValue(
                "init", cls, result, "('ok', state[, timeout]) or ('stop', reason)"
            )
        try:
            timeout = _timeout_of(result, 2)
        except ValueError:
            raise BadReturnValue("init", cls, result, "a timeout in ms or None") from None
    except Exception as exc:  # the starter learns why, then this process exits with it
        post.ack(proc, ("error", exit_reason_of(exc)))
        raise
    proc._state = result[1]
    proc.runtime.recording.state(proc, Trigger.INIT, NO_PEER, NO_REF)
    post.ack(proc, ("ok", proc.pid))
    return timeout


async def gen_server_main(proc: Process, server: GenServer, args: tuple[Any, ...]) -> None:
    """The body of a GenServer process: ``init`` (acknowledged to the starter), then serve."""
    server.process = proc
    proc._has_state = True
    cls = type(server).__name__
    timeout = await _init(proc, server, cls, args)
    try:
        while True:
            timeout = await _serve_one(proc, server, cls, timeout)
    except _Stopped:
        raise
    except Exception as exc:
        await _terminate(server, exit_reason_of(exc), proc)
        raise


async def _terminate(server: GenServer, reason: Any, proc: Process) -> None:
    try:
        await _run(server.terminate(reason, proc._state))
    except Exception:  # terminate failing must not hide the original exit
        if is_normal_reason(reason):
            raise


_CALL_SHAPES = "('reply', reply, state[, timeout]), ('noreply', state[, timeout]) or ('stop', ...)"
_NOREPLY_SHAPES = "('noreply', state[, timeout]) or ('stop', reason, state)"


async def _serve_one(
    proc: Process, server: GenServer, cls: str, timeout: float | None
) -> float | None:
    try:
        msg_id, sender, message, _ = await proc._receive_envelope(None, timeout)
    except ReceiveTimeout:
        result = await _run(server.handle_info("timeout", proc._state))
        return _after_noreply(proc, cls, "handle_info", result, Trigger.TIMEOUT, NO_PEER, NO_REF)
    if type(message) is tuple and len(message) >= 2:
        tag = message[0]
        if tag == "$call" and len(message) == 3:
            from_ = message[1]
            result = await _run(server.handle_call(message[2], from_, proc._state))
            if type(result) is tuple and len(result) == 4 and result[0] == "stop":
                await _stop_and_reply(proc, server, result, from_, sender, msg_id)
            return _after_call(proc, cls, result, from_, sender, msg_id)
        if tag == "$cast" and len(message) == 2:
            result = await _run(server.handle_cast(message[1], proc._state))
            return _after_noreply(proc, cls, "handle_cast", result, Trigger.CAST, sender, msg_id)
        if (
            tag == "EXIT"
            and len(message) == 3
            and proc.trap_exit
            and message[1] == Pid(NO_PID if proc._parent is None else proc._parent)
        ):
            raise ProcessExit(message[2])  # the parent (or, top-level, the outside) says stop
    result = await _run(server.handle_info(message, proc._state))
    return _after_noreply(proc, cls, "handle_info", result, Trigger.INFO, sender, msg_id)


async def _stop_and_reply(
    proc: Process, server: GenServer, result: tuple[Any, ...], from_: From, sender: int, msg_id: int
) -> None:
    """``("stop", reason, reply, state)``: terminate first, then reply, then exit (as
    gen_server does: the caller sees the reply only once ``terminate`` ran)."""
    _, reason, reply, state = result
    proc._state = state
    rt = proc.runtime
    rt.recording.state(proc, Trigger.CALL, sender, msg_id)
    try:
        await _terminate(server, reason, proc)
    finally:
        rt.post.reply_from(proc._n, from_, reply)
    raise _Stopped(reason)


def _after_call(
    proc: Process, cls: str, result: Any, from_: From, sender: int, msg_id: int
) -> float | None:
    rt = proc.runtime
    if type(result) is tuple and result:
        tag = result[0]
        try:
            if tag == "reply" and len(result) in (3, 4):
                proc._state = result[2]
                rt.recording.state(proc, Trigger.CALL, sender, msg_id)
                rt.post.reply_from(proc._n, from_, result[1])
                return _timeout_of(result, 3)
            if tag == "noreply" and len(result) in (2, 3):
                proc._state = result[1]
                rt.recording.state(proc, Trigger.CALL, sender, msg_id)
                return _timeout_of(result, 2)
        except ValueError:  # a malformed timeout: the reply shape is bad after all
            pass
        else:
            if tag == "stop" and len(result) == 3:
                proc._state = result[2]
                rt.recording.state(proc, Trigger.CALL, sender, msg_id)
                raise ProcessExit(result[1])
    raise BadReturnValue("handle_call", cls, result, _CALL_SHAPES)


def _after_noreply(
    proc: Process, cls: str, callback: str, result: Any, trigger: str, sender: int, msg_id: int
) -> float | None:
    rt = proc.runtime
    if type(result) is tuple and result:
        tag = result[0]
        if tag == "noreply" and len(result) in (2, 3):
            proc._state = result[1]
            rt.recording.state(proc, trigger, sender, msg_id)
            try:
                return _timeout_of(result, 2)
            except ValueError:  # a malformed timeout: falls through to bad_return_value
                pass
        elif tag == "stop" and len(result) == 3:
            proc._state = result[2]
            rt.recording.state(proc, trigger, sender, msg_id)
            raise ProcessExit(result[1])
    raise BadReturnValue(callback, cls, result, _NOREPLY_SHAPES)
