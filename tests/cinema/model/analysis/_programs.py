"""Small sandbox programs built to trigger one detector each, and twins built not to.

Every program runs in the deterministic sandbox (seeded scheduler, virtual clock) and is
recorded to a real session file by :func:`record`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from recorder.sandbox import (
    CallError,
    ChildSpec,
    GenServer,
    Process,
    Runtime,
    start_supervisor,
)
from recorder.sandbox.process import From

__all__ = ["PROGRAMS", "record"]

Program = Callable[[Runtime], None]


def record(folder: Path, name: str, program: Program, *, seed: int = 3) -> Path:
    """Run ``program`` in a deterministic sandbox recording to ``folder/name.cinema``."""
    path = folder / f"{name}.cinema"
    with Runtime(deterministic=True, seed=seed, record=str(path)) as rt:
        program(rt)
    return path


# --------------------------------------------------------------------------- servers


class Counter(GenServer):
    """Counts; ``("slow", ms)`` takes ``ms`` of (virtual) time to answer; ``("boom",)``
    crashes it."""

    def init(self, *args: Any) -> Any:
        return ("ok", 0)

    async def handle_call(self, request: Any, from_: From, state: int) -> Any:
        if request[0] == "slow":
            await self.process.sleep(request[1])
        if request[0] == "boom":
            raise RuntimeError("asked to crash")
        return ("reply", state + 1, state + 1)

    def handle_cast(self, request: Any, state: int) -> Any:
        return ("noreply", state + 1)


class Forwarder(GenServer):
    """On ``("ask", target, then, timeout)`` calls ``target`` with ``("ask", then, None,
    timeout)`` before answering: alice asking bob to ask alice is a circle."""

    def init(self, *args: Any) -> Any:
        return ("ok", None)

    async def handle_call(self, request: Any, from_: From, state: Any) -> Any:
        _, target, then, timeout = request
        if target is not None:
            with contextlib.suppress(CallError):
                await self.process.call(target, ("ask", then, None, timeout), timeout=timeout)
        return ("reply", "ok", state)


class Flaky(GenServer):
    """Crashes on its ``after``-th message (every life alike); ``after=0``: never."""

    def init(self, after: int) -> Any:
        return ("ok", {"after": after, "seen": 0})

    def handle_cast(self, request: Any, state: dict[str, int]) -> Any:
        state["seen"] += 1
        if state["after"] and state["seen"] >= state["after"]:
            raise RuntimeError("bad batch")
        return ("noreply", state)


# --------------------------------------------------------------------------- mailbox


class _Slow(Counter):
    """Takes 5 ms per cast."""

    async def handle_cast(self, request: Any, state: int) -> Any:  # type: ignore[override]
        await self.process.sleep(5)
        return ("noreply", state + 1)


def flood(rt: Runtime) -> None:
    """A producer casts 400 requests, one per 0.1 ms, at a server that takes 5 ms per
    request: its queue grows."""
    rt.start(_Slow, name="slow")

    async def producer(proc: Process) -> None:
        for i in range(400):
            proc.cast("slow", ("tick", i))
            await proc.sleep(0.1)

    rt.spawn(producer, name="producer")
    rt.run()


def paced(rt: Runtime) -> None:
    """The same load, but the server keeps up (a request per ms, handled in microseconds)."""
    rt.start(Counter, name="sink")

    async def producer(proc: Process) -> None:
        for i in range(400):
            proc.cast("sink", ("tick", i))
            await proc.sleep(1)

    rt.spawn(producer, name="producer")
    rt.run()


# --------------------------------------------------------------------------- restarts


def _tree(rt: Runtime, after: int, *, children: int = 1, max_restarts: int = 100) -> None:
    specs = [ChildSpec(f"flaky{i}", Flaky, (after,), name=f"flaky{i}") for i in range(children)]
    start_supervisor(
        rt, specs, strategy="one_for_one", max_restarts=max_restarts, max_seconds=1.0,
        name="sup",
    )  # fmt: skip


def _feed(rt: Runtime, names: list[str], n: int, gap_ms: float) -> None:
    async def feeder(proc: Process) -> None:
        for i in range(n):
            for name in names:
                with contextlib.suppress(Exception):
                    proc.cast(name, ("batch", i))
            await proc.sleep(gap_ms)

    rt.spawn(feeder, name="feeder")
    rt.run()


def crash_loop(rt: Runtime) -> None:
    """A child that crashes on its 5th message, every life: a crash loop."""
    _tree(rt, 5)
    _feed(rt, ["flaky0"], 40, 2)


def restart_storm(rt: Runtime) -> None:
    """Six children, each crashing on its 3rd message, all fed at once: many restarts in a
    short time under one supervisor."""
    _tree(rt, 3, children=6)
    _feed(rt, [f"flaky{i}" for i in range(6)], 3, 5)


def gave_up(rt: Runtime) -> None:
    """A supervisor allowing 2 restarts a second, a child crashing on every message."""
    _tree(rt, 1, max_restarts=2)
    _feed(rt, ["flaky0"], 10, 1)


def steady_tree(rt: Runtime) -> None:
    """The same tree and load, nothing crashes."""
    _tree(rt, 0, children=6)
    _feed(rt, [f"flaky{i}" for i in range(6)], 40, 2)


def rare_crashes(rt: Runtime) -> None:
    """A child that crashes once, after a long life: restarted once, no loop, no storm."""
    _tree(rt, 30)
    _feed(rt, ["flaky0"], 40, 20)


# --------------------------------------------------------------------------- calls


def _ask(rt: Runtime, then: str | None, timeout: float | None, times: int = 1) -> None:
    a = rt.start(Forwarder, name="alice")
    rt.start(Forwarder, name="bob")

    async def client(proc: Process) -> None:
        for _ in range(times):
            with contextlib.suppress(CallError):
                await proc.call(a, ("ask", "bob", then, timeout), timeout=None)
            await proc.sleep(1)

    rt.spawn(client, name="client")
    rt.run()


def deadlock(rt: Runtime) -> None:
    """alice calls bob, who calls alice back: neither can answer (no timeouts)."""
    _ask(rt, "alice", None)


def deadlock_timeout(rt: Runtime) -> None:
    """The same circle with 50 ms timeouts: it ends when a call times out."""
    _ask(rt, "alice", 50)


def chained_calls(rt: Runtime) -> None:
    """alice calls bob, who answers at once: no circle, no timeout."""
    _ask(rt, None, None, times=5)


def timeouts(rt: Runtime) -> None:
    """A client calls a server that takes 100 ms with a 10 ms timeout, three times."""
    rt.start(Counter, name="slowpoke")

    async def client(proc: Process) -> None:
        for _ in range(3):
            with contextlib.suppress(CallError):
                await proc.call("slowpoke", ("slow", 100), timeout=10)
            await proc.sleep(200)

    rt.spawn(client, name="client")
    rt.run()


def unanswered(rt: Runtime) -> None:
    """A client calls a process that never reads its mailbox (10 ms timeout), twice."""

    async def deaf(proc: Process) -> None:
        await proc.sleep(500)

    target = rt.spawn(deaf, name="deaf")

    async def client(proc: Process) -> None:
        for _ in range(2):
            with contextlib.suppress(CallError):
                await proc.call(target, ("hello",), timeout=10)

    rt.spawn(client, name="client")
    rt.run()


def patient(rt: Runtime) -> None:
    """The same calls with a timeout longer than the work."""
    rt.start(Counter, name="slowpoke")

    async def client(proc: Process) -> None:
        for _ in range(3):
            await proc.call("slowpoke", ("slow", 100), timeout=1000)

    rt.spawn(client, name="client")
    rt.run()


# --------------------------------------------------------------------------- load


def hub(rt: Runtime) -> None:
    """Eight clients each call one server 100 times (and call each other a little)."""
    rt.start(Counter, name="hub")
    for i in range(8):
        rt.start(Counter, name=f"peer{i}")

    async def client(proc: Process, i: int) -> None:
        for k in range(100):
            await proc.call("hub", ("add",), timeout=None)
            if k % 20 == 0:
                await proc.call(f"peer{(i + 1) % 8}", ("add",), timeout=None)

    for i in range(8):
        rt.spawn(client, i, name=f"client{i}")
    rt.run()


def chatty_pair(rt: Runtime) -> None:
    """One client calls one server 600 times; six others make a few calls each."""
    for i in range(8):
        rt.start(Counter, name=f"peer{i}")

    async def client(proc: Process, i: int, n: int) -> None:
        for k in range(n):
            await proc.call(f"peer{(i + k) % 8 if n < 100 else 0}", ("add",), timeout=None)

    rt.spawn(client, 0, 600, name="chatty")
    for i in range(1, 7):
        rt.spawn(client, i, 20, name=f"client{i}")
    rt.run()


def spread(rt: Runtime) -> None:
    """The same number of calls spread over eight servers."""
    for i in range(8):
        rt.start(Counter, name=f"peer{i}")

    async def client(proc: Process, i: int) -> None:
        for k in range(100):
            await proc.call(f"peer{(i + k) % 8}", ("add",), timeout=None)

    for i in range(8):
        rt.spawn(client, i, name=f"client{i}")
    rt.run()


def _calls(rt: Runtime, slow_every: int) -> None:
    rt.start(Counter, name="server")

    async def client(proc: Process) -> None:
        for k in range(200):
            if slow_every and k % slow_every == slow_every - 1:
                await proc.call("server", ("slow", 40), timeout=None)
            else:
                await proc.call("server", ("add",), timeout=None)

    rt.spawn(client, name="client")
    rt.run()


def slow_handler(rt: Runtime) -> None:
    """200 calls; two of them take 40 ms, the rest microseconds."""
    _calls(rt, 100)


def uniform_handlers(rt: Runtime) -> None:
    """200 calls, all alike."""
    _calls(rt, 0)


def always_slow(rt: Runtime) -> None:
    """200 calls, every one takes 40 ms: slow is its usual speed, no outlier."""
    _calls(rt, 1)


# --------------------------------------------------------------------------- delivery


def drops(rt: Runtime) -> None:
    """Messages to a process that has ended, and to a name nobody registered."""

    async def short(proc: Process) -> None:
        await proc.receive()

    async def sender(proc: Process, target: Any) -> None:
        proc.send(target, "first")
        await proc.sleep(5)
        for i in range(3):
            proc.send(target, ("late", i))
        proc.cast("nobody", "hello")

    t = rt.spawn(short, name="short")
    rt.spawn(sender, t, name="sender")
    rt.run()


def lost(rt: Runtime) -> None:
    """A process that ends with messages in its mailbox."""

    async def quitter(proc: Process) -> None:
        await proc.sleep(10)

    async def sender(proc: Process, target: Any) -> None:
        for i in range(4):
            proc.send(target, ("job", i))

    t = rt.spawn(quitter, name="quitter")
    rt.spawn(sender, t, name="sender")
    rt.run()


def held(rt: Runtime) -> None:
    """A delay rule holds messages longer than the run lasts: never released."""
    rt.interceptor.add("delay", receiver="worker", message=("job", 1), delay_ms=60_000)

    async def worker(proc: Process) -> None:
        while True:
            await proc.receive()

    async def sender(proc: Process, target: Any) -> None:
        for i in range(3):
            proc.send(target, ("job", i))

    t = rt.spawn(worker, register="worker")
    rt.spawn(sender, t, name="sender")
    rt.run(until_ms=1_000)


def delayed(rt: Runtime) -> None:
    """A delay rule holds messages, then lets them through before the run ends."""
    rt.interceptor.add("delay", receiver="worker", delay_ms=50)

    async def worker(proc: Process) -> None:
        for _ in range(3):
            await proc.receive()

    async def sender(proc: Process, target: Any) -> None:
        for i in range(3):
            proc.send(target, ("job", i))

    t = rt.spawn(worker, register="worker")
    rt.spawn(sender, t, name="sender")
    rt.run()


def delivered(rt: Runtime) -> None:
    """Every message sent is received."""

    async def worker(proc: Process) -> None:
        for _ in range(4):
            await proc.receive()

    async def sender(proc: Process, target: Any) -> None:
        for i in range(4):
            proc.send(target, ("job", i))

    t = rt.spawn(worker, name="worker")
    rt.spawn(sender, t, name="sender")
    rt.run()


# --------------------------------------------------------------------------- supervision


def lonely_server(rt: Runtime) -> None:
    """A server started outside any supervisor."""
    rt.start(Counter, name="lonely")
    rt.run()


def supervised_server(rt: Runtime) -> None:
    """The same server under a supervisor."""
    start_supervisor(rt, [ChildSpec("counter", Counter, (), name="counter")], name="sup")
    rt.run()


def _linked(rt: Runtime, trap: bool) -> None:
    async def crasher(proc: Process) -> None:
        await proc.sleep(5)
        raise RuntimeError("crasher failed")

    async def bystander(proc: Process, other: Any) -> None:
        proc.trap_exit = trap
        proc.link(other)
        if trap:
            await proc.receive(timeout=50)
        await proc.sleep(50)

    c = rt.spawn(crasher, name="crasher")
    rt.spawn(bystander, c, name="bystander")
    rt.run()


def link_cascade(rt: Runtime) -> None:
    """A crash reaches an unrelated process through a link; it does not trap exits: it dies."""
    _linked(rt, False)


def trapped_link(rt: Runtime) -> None:
    """The same link, but the bystander traps exits and lives on."""
    _linked(rt, True)


PROGRAMS: dict[str, Program] = {
    name: fn for name, fn in globals().items()
    if callable(fn) and not name.startswith("_") and name not in {"record"}
    and getattr(fn, "__module__", None) == __name__ and not isinstance(fn, type)
}  # fmt: skip
