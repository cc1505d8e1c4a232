"""Starting GenServers synchronously, as OTP's ``proc_lib`` start protocol does.

The starter spawns the server with an *acknowledgement address* and waits: the server runs
``init`` and acknowledges ``("ok", pid)`` or ``("error", reason)`` (then exits with ``reason``),
like ``proc_lib:init_ack``. A starter inside a process waits with a selective receive for
``("$ack", ref, result)``; a starter outside any process (``Runtime.start``) runs the
scheduler until the acknowledgement arrives. A server that ends before acknowledging is
acknowledged for by the runtime, with its exit reason. A taken name fails the start before any
process exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recorder.events import NO_PID
from recorder.payload import Pid, Ref
from recorder.sandbox.errors import StartError
from recorder.sandbox.genserver import GenServer, StartResult, gen_server_main

if TYPE_CHECKING:
    from recorder.sandbox.messaging import PostOffice
    from recorder.sandbox.process import Process
    from recorder.sandbox.registry import Registry
    from recorder.sandbox.scheduler import Scheduler
    from recorder.sandbox.signals import Signals

__all__ = ["Starter"]


def _is_ack(ref: Ref) -> Callable[[Any], bool]:
    def match(message: Any) -> bool:
        return (
            type(message) is tuple
            and len(message) == 3
            and message[0] == "$ack"
            and (message[1] == ref)
        )

    return match


class Starter:
    """Synchronous GenServer starts of one runtime.

    Args:
        processes: the live processes by pid number (shared).
        registry: checks that a name is free.
        post: references, acknowledgements to starters outside any process.
        scheduler: run until an outside start is acknowledged.
        signals: kills a server whose init waits forever.
        spawn: the runtime's ``spawn``.
    """

    def __init__(
        self,
        *,
        processes: dict[int, Process],
        registry: Registry,
        post: PostOffice,
        scheduler: Scheduler,
        signals: Signals,
        spawn: Callable[..., Pid],
    ) -> None:
        self._processes = processes
        self._registry = registry
        self._post = post
        self._scheduler = scheduler
        self._signals = signals
        self._spawn = spawn

    def spawn_server(
        self,
        server: Any,
        *args: Any,
        name: str | None,
        link_to: Pid | None,
        supervisor: Pid | None,
        label: str | None,
        ack_to: tuple[int, int],
    ) -> StartResult | Pid:
        """Spawn ``server`` (a GenServer subclass, instantiated with no arguments, or an
        instance); its ``init`` acknowledges to ``ack_to`` = ``(starter pid, ref number)``.

        Returns:
            the new pid, or ``("error", ("already_started", pid))`` when ``name`` is taken (no
            process is made then, like ``gen:start``'s name check).
        """
        instance = server() if isinstance(server, type) else server
        if not isinstance(instance, GenServer):
            raise TypeError(f"start() needs a GenServer subclass or instance, got {server!r}")
        if name is not None:
            owner = self._registry.whereis(name)
            if owner is not None:
                return ("error", ("already_started", owner))
        pid = self._spawn(
            gen_server_main,
            instance,
            args,
            name=label or name or type(instance).__name__,
            link_to=link_to,
            behaviour=instance.behaviour,
            supervisor=supervisor,
            register=name,
        )
        self._processes[pid.n]._ack = ack_to
        return pid

    def start_outside(
        self,
        server: Any,
        *args: Any,
        name: str | None,
        link_to: Pid | None,
        supervisor: Pid | None,
        label: str | None,
    ) -> Pid:
        """``Runtime.start``: start from outside any process, running the scheduler until the
        server's init is acknowledged.

        Raises:
            StartError: the start failed; ``"timeout"`` when init waits for what never comes.
            RuntimeError: called from inside a process.
        """
        scheduler = self._scheduler
        if scheduler.running:
            raise RuntimeError("Runtime.start() from inside a process: use `await proc.start()`")
        ref = self._post.make_ref()
        started = self.spawn_server(
            server,
            *args,
            name=name,
            link_to=link_to,
            supervisor=supervisor,
            label=label,
            ack_to=(NO_PID, ref.n),
        )
        if not isinstance(started, Pid):
            raise StartError(started[1], server)
        acks = self._post.outside_acks
        while ref.n not in acks:
            scheduler.run()
            if ref.n not in acks and not scheduler.has_runnable() and not scheduler.timers.has_work:
                proc = self._processes.get(started.n)  # its init waits for what never comes
                if proc is not None:
                    self._signals.kill(proc, "kill")
                acks.pop(ref.n, None)
                raise StartError("timeout", server)
        status, value = acks.pop(ref.n)
        if status != "ok":
            raise StartError(value, server)
        pid: Pid = value
        return pid

    async def start_result(
        self,
        starter: Process,
        server: Any,
        *args: Any,
        name: str | None = None,
        link: bool = False,
        supervisor: Pid | None = None,
        label: str | None = None,
    ) -> StartResult:
        """``starter`` starts ``server`` and waits for its init: OTP's ``("ok", pid)`` or
        ``("error", reason)``. ``link`` links the two first (``start_link``)."""
        ref = self._post.make_ref()
        started = self.spawn_server(
            server,
            *args,
            name=name,
            link_to=starter.pid if link else None,
            supervisor=supervisor,
            label=label,
            ack_to=(starter._n, ref.n),
        )
        if not isinstance(started, Pid):
            return started
        envelope = await starter._receive_envelope(_is_ack(ref))
        result: StartResult = envelope[2][2]
        return result

    async def start_from(
        self,
        starter: Process,
        server: Any,
        *args: Any,
        name: str | None = None,
        link: bool = False,
        supervisor: Pid | None = None,
        label: str | None = None,
    ) -> Pid:
        """:meth:`start_result`, raising :class:`StartError` on an error."""
        status, value = await self.start_result(
            starter, server, *args, name=name, link=link, supervisor=supervisor, label=label
        )
        if status != "ok":
            raise StartError(value, server)
        pid: Pid = value
        return pid
