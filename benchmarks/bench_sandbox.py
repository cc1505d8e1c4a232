"""``sandbox``: message throughput of the sandbox against Pykka and bare asyncio, and what
recording costs.

A message storm, in two shapes, each measured side by side in one run (interleaved rounds,
medians):

- ping-pong: ``PAIRS`` pairs of processes bounce a message ``ROUNDS`` times;
- fan-out: one process sends ``FANOUT_MESSAGES`` messages to each of ``FANOUT_WIDTH`` receivers;
- GenServer: ``SERVERS`` account servers whose states are dataclasses (mutated in place, as
  Python code does), and as many clients, each making calls and casts in turn.

Figures: sandbox messages/s (recording off) vs Pykka threaded actors (goal: >= 3x) and vs an
``asyncio.Queue`` ping-pong (for scale: the floor of Python message passing); and the sandbox
with recording on (zstd session file) vs off (goal: <= 1.3x slowdown).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from benchmarks._harness import Figure, Timings, benchmark, interleaved, interleaved_timings
from recorder.sandbox import From, GenServer, Process, Runtime

PAIRS = 10
SERVERS = 20


# --------------------------------------------------------------------------- sandbox


async def _pinger(proc: Process, partner: Any, rounds: int) -> None:
    me = proc.pid
    receive = proc.receive
    for _ in range(rounds):
        proc.send(partner, me)
        await receive()
    proc.send(partner, None)


async def _ponger(proc: Process) -> None:
    receive = proc.receive
    send = proc.send
    me = proc.pid
    while True:
        sender = await receive()
        if sender is None:
            return
        send(sender, me)


class _CountingSink:
    """Takes every event and keeps none: the sandbox's side of recording (building and handing
    over each event), without the session writer's encoding. (Keeping 400k tuples in a list
    would mostly measure the garbage collector walking them.)"""

    def __init__(self) -> None:
        self.count = 0

    def emit(self, kind: int, pid: int, peer: int, ref: int, data: Any) -> None:
        self.count += 1


def sandbox_ping_pong(rounds: int, record: Any = None) -> int:
    rt = Runtime(record=record, profile_interval_ms=None)
    for _ in range(PAIRS):
        rt.spawn(_pinger, rt.spawn(_ponger), rounds)
    rt.run()
    rt.close()
    return PAIRS * rounds * 2


async def _fan_receiver(proc: Process, count: int) -> None:
    receive = proc.receive
    for _ in range(count):
        await receive()


async def _fan_sender(proc: Process, targets: list[Any], count: int) -> None:
    send = proc.send
    for i in range(count):
        for t in targets:
            send(t, i)
        if i % 64 == 63:
            await proc.yield_now()


def sandbox_fan_out(width: int, count: int, record: Any = None) -> int:
    rt = Runtime(record=record, profile_interval_ms=None)
    targets = [rt.spawn(_fan_receiver, count) for _ in range(width)]
    rt.spawn(_fan_sender, targets, count)
    rt.run()
    rt.close()
    return width * count


@dataclass
class _Account:
    name: str
    balance: int = 0
    operations: int = 0
    recent: list[int] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


class _AccountServer(GenServer):
    """A bank account: calls deposit / read the balance, casts touch it. The state is mutated in
    place, so recording must capture it at STATE time for the session to be right."""

    def init(self, name: str) -> Any:
        return ("ok", _Account(name))

    def handle_call(self, request: Any, from_: From, state: _Account) -> Any:
        op, amount = request
        if op == "deposit":
            state.balance += amount
            state.operations += 1
            state.recent = [*state.recent[-3:], amount]
        return ("reply", state.balance, state)

    def handle_cast(self, request: Any, state: _Account) -> Any:
        state.operations += 1
        if request[1] % 97 == 0:
            state.flags.add(f"audit-{request[1] % 3}")
        return ("noreply", state)


async def _account_client(proc: Process, servers: list[Any], ops: int, seed: int) -> None:
    call, cast = proc.call, proc.cast
    n = len(servers)
    for i in range(ops):
        server = servers[(seed + i * 7) % n]
        await call(server, ("deposit", i % 50))
        cast(server, ("touch", i))


def sandbox_gen_server(ops: int, record: Any = None) -> int:
    """``SERVERS`` account servers and as many clients doing ``ops`` call + cast each; returns
    the number of client requests (each a call or a cast)."""
    rt = Runtime(record=record, profile_interval_ms=None)
    servers = [rt.start(_AccountServer, f"acct-{i}") for i in range(SERVERS)]
    for c in range(SERVERS):
        rt.spawn(_account_client, servers, ops, c)
    rt.run()
    rt.close()
    return SERVERS * ops * 2


# --------------------------------------------------------------------------- pykka


def pykka_ping_pong(rounds: int) -> int:
    import pykka

    done = threading.Barrier(PAIRS + 1)

    class Ponger(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> None:
            message.tell(self.actor_ref)

    class Pinger(pykka.ThreadingActor):
        def __init__(self, partner: Any) -> None:
            super().__init__()
            self.partner = partner
            self.left = rounds

        def on_receive(self, message: Any) -> None:
            self.left -= 1
            if self.left <= 0:
                done.wait()
                return
            self.partner.tell(self.actor_ref)

    pairs = []
    for _ in range(PAIRS):
        ponger = Ponger.start()
        pairs.append((Pinger.start(ponger), ponger))
    for pinger, ponger in pairs:
        ponger.tell(pinger)  # the first ping
    done.wait()
    pykka.ActorRegistry.stop_all()
    return PAIRS * rounds * 2


def pykka_fan_out(width: int, count: int) -> int:
    import pykka

    done = threading.Barrier(width + 1)

    class Receiver(pykka.ThreadingActor):
        def __init__(self) -> None:
            super().__init__()
            self.left = count

        def on_receive(self, message: Any) -> None:
            self.left -= 1
            if self.left == 0:
                done.wait()

    receivers = [Receiver.start() for _ in range(width)]
    for i in range(count):
        for r in receivers:
            r.tell(i)
    done.wait()
    pykka.ActorRegistry.stop_all()
    return width * count


# --------------------------------------------------------------------------- asyncio


def asyncio_ping_pong(rounds: int) -> int:
    async def pinger(inbox: asyncio.Queue[Any], outbox: asyncio.Queue[Any]) -> None:
        for _ in range(rounds):
            outbox.put_nowait(1)
            await inbox.get()
        outbox.put_nowait(None)

    async def ponger(inbox: asyncio.Queue[Any], outbox: asyncio.Queue[Any]) -> None:
        while (await inbox.get()) is not None:
            outbox.put_nowait(1)

    async def main() -> None:
        tasks = []
        for _ in range(PAIRS):
            a: asyncio.Queue[Any] = asyncio.Queue()
            b: asyncio.Queue[Any] = asyncio.Queue()
            tasks += [pinger(a, b), ponger(b, a)]
        await asyncio.gather(*tasks)

    asyncio.run(main())
    return PAIRS * rounds * 2


# --------------------------------------------------------------------------- figures


@benchmark("sandbox", help="sandbox message storm vs Pykka and asyncio; recording on vs off")
def run(quick: bool) -> Iterator[Figure]:
    rounds = 2_000 if quick else 10_000
    width, count = (20, 1_000) if quick else (50, 4_000)
    gs_ops = 300 if quick else 1_500
    repeat = 3 if quick else 5
    msgs_pp = PAIRS * rounds * 2
    msgs_fan = width * count

    t_sb, t_pk = interleaved(
        lambda: sandbox_ping_pong(rounds), lambda: pykka_ping_pong(rounds), repeat
    )
    yield Figure(
        "ping-pong, recording off",
        msgs_pp / t_sb,
        "msgs/s",
        msgs_pp / t_pk,
        goal=">= 3x",
        note=f"baseline: Pykka ThreadingActor, {PAIRS} pairs",
    )
    t_sb2, t_aq = interleaved(
        lambda: sandbox_ping_pong(rounds), lambda: asyncio_ping_pong(rounds), repeat
    )
    yield Figure(
        "ping-pong, recording off",
        msgs_pp / t_sb2,
        "msgs/s",
        msgs_pp / t_aq,
        note="baseline: bare asyncio.Queue ping-pong (no actor semantics)",
    )
    t_fs, t_fp = interleaved(
        lambda: sandbox_fan_out(width, count), lambda: pykka_fan_out(width, count), repeat
    )
    yield Figure(
        "fan-out, recording off",
        msgs_fan / t_fs,
        "msgs/s",
        msgs_fan / t_fp,
        goal=">= 3x",
        note=f"baseline: Pykka, 1 -> {width} actors",
    )

    t_mem, t_off = interleaved(
        lambda: sandbox_ping_pong(rounds, _CountingSink()),
        lambda: sandbox_ping_pong(rounds),
        repeat,
    )
    yield Figure(
        "ping-pong, emit hook on / off",
        t_mem,
        "s",
        t_off,
        note="the sandbox's own share (events built, frozen), no Recorder, no keyframes",
    )
    t_mem, t_off = interleaved(
        lambda: sandbox_gen_server(gs_ops, _CountingSink()),
        lambda: sandbox_gen_server(gs_ops),
        repeat,
    )
    yield Figure(
        "GenServer, emit hook on / off",
        t_mem,
        "s",
        t_off,
        note="the sandbox's own share (states, messages frozen), no Recorder, no keyframes",
    )
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bench.cinema")
        shapes: list[tuple[str, Callable[[Any], int], str]] = [
            (
                "ping-pong",
                lambda record: sandbox_ping_pong(rounds, record),
                f"{msgs_pp * 2:,} events/run to a zstd file (Recorder with its writer thread)",
            ),
            ("fan-out", lambda record: sandbox_fan_out(width, count, record),
             f"{msgs_fan * 2:,} events per run"),
            (
                "GenServer calls + casts",
                lambda record: sandbox_gen_server(gs_ops, record),
                f"{SERVERS} servers with dataclass states, {SERVERS} clients x {gs_ops:,} "
                "call + cast",
            ),
        ]  # fmt: skip
        for name, shape, note in shapes:
            on, off = interleaved_timings(partial(shape, path), partial(shape, None), repeat)
            yield from _on_off(name, on, off, note)


def _on_off(name: str, on: Timings, off: Timings, note: str) -> Iterator[Figure]:
    """Recording on / off, wall and CPU time (medians of the same interleaved runs)."""
    med = statistics.median
    yield Figure(f"{name}, recording on / off", med(on.wall), "s", med(off.wall),
                 goal="<= 1.3x", note=note)  # fmt: skip
    yield Figure(
        f"{name}, recording on / off, CPU",
        med(on.cpu),
        "s",
        med(off.cpu),
        goal="<= 1.3x",
        note="CPU time of every thread (the writer's too): the cost on a loaded machine, "
        "where wall time also counts the other programs",
    )
