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

With ``("noreply", state)`` from ``handle_call``, reply later with
``self.process.reply(from_, value)``. Every callback's resulting state is recorded as a STATE
event whose trigger is ``init``, ``call``, ``cast``, ``info`` or ``timeout``.
"""

from __future__ import annotations

from types import CoroutineType
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PEER, NO_PID, NO_REF, Trigger
from recorder.payload import Pid
from recorder.sandbox.errors import ProcessExit, ReceiveTimeout, SandboxError, is_normal_reason
from recorder.sandbox.process import From, Process

if TYPE_CHECKING:
    from recorder.sandbox.runtime import Runtime

__all__ = ["BadReturnValue", "GenServer", "start_gen_server"]


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


def start_gen_server(
    rt: Runtime,
    server: Any,
    *args: Any,
    name: str | None = None,
    link_to: Pid | None = None,
    supervisor: Pid | None = None,
    label: str | None = None,
) -> Pid:
    """Start ``server`` (a GenServer subclass, instantiated with no arguments, or an instance).

    ``name`` registers the server under that name; ``label`` is the display name (default:
    ``name``, else the class name).
    """
    instance = server() if isinstance(server, type) else server
    if not isinstance(instance, GenServer):
        raise TypeError(f"start() needs a GenServer subclass or instance, got {server!r}")
    label = label or name or type(instance).__name__
    return rt.spawn(
        _main,
        instance,
        args,
        name=label,
        link_to=link_to,
        behaviour=instance.behaviour,
        supervisor=supervisor,
        register=name,
    )


async def _run(value: Any) -> Any:
    return (await value) if type(value) is CoroutineType else value


def _timeout_of(result: tuple[Any, ...], length: int) -> float | None:
    if len(result) == length + 1:
        timeout = result[length]
        if timeout is None or (isinstance(timeout, (int, float)) and timeout >= 0):
            return timeout
        raise ValueError
    return None


async def _main(proc: Process, server: GenServer, args: tuple[Any, ...]) -> None:
    rt = proc.runtime
    server.process = proc
    proc.has_state = True
    cls = type(server).__name__
    result = await _run(server.init(*args))
    if type(result) is tuple and len(result) == 2 and result[0] == "stop":
        raise ProcessExit(result[1])
    if not (type(result) is tuple and len(result) in (2, 3) and result[0] == "ok"):
        raise BadReturnValue("init", cls, result, "('ok', state[, timeout]) or ('stop', reason)")
    proc.state = result[1]
    try:
        timeout = _timeout_of(result, 2)
    except ValueError:
        raise BadReturnValue("init", cls, result, "a timeout in ms or None") from None
    rt.record_state(proc, Trigger.INIT)
    try:
        while True:
            timeout = await _serve_one(proc, server, cls, timeout)
    except ProcessExit as exc:
        await _terminate(server, exc.reason, proc)
        raise
    except Exception as exc:
        await _terminate(server, getattr(exc, "exit_reason", ("exception", str(exc))), proc)
        raise


async def _terminate(server: GenServer, reason: Any, proc: Process) -> None:
    try:
        await _run(server.terminate(reason, proc.state))
    except Exception:  # terminate failing must not hide the original exit
        if is_normal_reason(reason):
            raise


_CALL_SHAPES = "('reply', reply, state[, timeout]), ('noreply', state[, timeout]) or ('stop', ...)"
_NOREPLY_SHAPES = "('noreply', state[, timeout]) or ('stop', reason, state)"


async def _serve_one(
    proc: Process, server: GenServer, cls: str, timeout: float | None
) -> float | None:
    try:
        msg_id, sender, message = await proc.receive_envelope(None, timeout)
    except ReceiveTimeout:
        result = await _run(server.handle_info("timeout", proc.state))
        return _after_noreply(proc, cls, "handle_info", result, Trigger.TIMEOUT, NO_PEER, NO_REF)
    if type(message) is tuple and len(message) >= 2:
        tag = message[0]
        if tag == "$call" and len(message) == 3:
            from_ = message[1]
            result = await _run(server.handle_call(message[2], from_, proc.state))
            return _after_call(proc, cls, result, from_, sender, msg_id)
        if tag == "$cast" and len(message) == 2:
            result = await _run(server.handle_cast(message[1], proc.state))
            return _after_noreply(proc, cls, "handle_cast", result, Trigger.CAST, sender, msg_id)
        if (
            tag == "EXIT"
            and len(message) == 3
            and proc.trap_exit
            and message[1] == Pid(NO_PID if proc.parent is None else proc.parent)
        ):
            raise ProcessExit(message[2])  # the parent (or, top-level, the outside) says stop
    result = await _run(server.handle_info(message, proc.state))
    return _after_noreply(proc, cls, "handle_info", result, Trigger.INFO, sender, msg_id)


def _after_call(
    proc: Process, cls: str, result: Any, from_: From, sender: int, msg_id: int
) -> float | None:
    rt = proc.runtime
    if type(result) is tuple and result:
        tag = result[0]
        try:
            if tag == "reply" and len(result) in (3, 4):
                proc.state = result[2]
                rt.record_state(proc, Trigger.CALL, sender, msg_id)
                rt.reply_from(proc.n, from_, result[1])
                return _timeout_of(result, 3)
            if tag == "noreply" and len(result) in (2, 3):
                proc.state = result[1]
                rt.record_state(proc, Trigger.CALL, sender, msg_id)
                return _timeout_of(result, 2)
        except ValueError:  # a malformed timeout: the reply shape is bad after all
            pass
        else:
            if tag == "stop" and len(result) == 4:
                proc.state = result[3]
                rt.record_state(proc, Trigger.CALL, sender, msg_id)
                rt.reply_from(proc.n, from_, result[2])
                raise ProcessExit(result[1])
            if tag == "stop" and len(result) == 3:
                proc.state = result[2]
                rt.record_state(proc, Trigger.CALL, sender, msg_id)
                raise ProcessExit(result[1])
    raise BadReturnValue("handle_call", cls, result, _CALL_SHAPES)


def _after_noreply(
    proc: Process, cls: str, callback: str, result: Any, trigger: str, sender: int, msg_id: int
) -> float | None:
    rt = proc.runtime
    if type(result) is tuple and result:
        tag = result[0]
        if tag == "noreply" and len(result) in (2, 3):
            proc.state = result[1]
            rt.record_state(proc, trigger, sender, msg_id)
            try:
                return _timeout_of(result, 2)
            except ValueError:  # a malformed timeout: falls through to bad_return_value
                pass
        elif tag == "stop" and len(result) == 3:
            proc.state = result[2]
            rt.record_state(proc, trigger, sender, msg_id)
            raise ProcessExit(result[1])
    raise BadReturnValue(callback, cls, result, _NOREPLY_SHAPES)
