"""Large sessions recorded by the sandbox itself, for the benchmarks of what users wait for.

A synthetic generator (:mod:`benchmarks._sessions`) writes events straight into a Recorder;
that hides what a real recording looks like (keyframe spacing chosen by the runtime, PROFILE
samples, call/reply pairs, restart bursts). :func:`ensure_sandbox_session` runs a real sandbox
program instead, deterministically (seeded scheduler, virtual clock, no flush timer), and caches
the file:

- ``supervisors`` one_for_one supervisors under one root, each with ``workers / supervisors``
  :class:`Worker` GenServers registered as ``w<N>`` (5,000 under 50 at full size);
- ``clients`` plain processes that call (and now and then cast to) random workers, with a
  dataclass state that grows a little on each request;
- about one request in 1,200 is a ``("boom",)`` that crashes its worker: the supervisor restarts
  it (≈900 crashes and restarts in 10 M events), and the caller sees the call fail.

At full size (``n_events=10_000_000``) this is the session issue 13 measures: ~10 M events,
~6,200 processes.
"""

from __future__ import annotations

import fcntl
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._sessions import cache_dir
from recorder.sandbox import (
    CallError,
    ChildSpec,
    GenServer,
    Process,
    Runtime,
    Supervisor,
    SupervisorSpec,
    start_supervisor,
)
from recorder.sandbox.process import From

__all__ = ["SANDBOX_GENERATOR_VERSION", "ensure_sandbox_session", "record_sandbox_session"]

SANDBOX_GENERATOR_VERSION = (
    5  # 3: ~10M events; 4: format 1.1 (frame summaries); 5: 1.2 (kind index)
)
_EVENTS_PER_REQUEST = 4.92  # call SEND, RECEIVE, STATE, reply SEND, RECEIVE (+ samples, crashes)
_BOOM_EVERY = 1200


@dataclass
class WorkerState:
    """A worker's state: counters and the last few requests (a realistic ~200-byte record)."""

    name: str
    handled: int = 0
    total: int = 0
    recent: list[tuple[str, int]] = field(default_factory=list)


class Worker(GenServer):
    """``("add", n)`` calls, ``("note", n)`` casts; ``("boom",)`` crashes it."""

    def init(self, name: str) -> Any:
        return ("ok", WorkerState(name))

    def handle_call(self, request: Any, from_: From, state: WorkerState) -> Any:
        if request[0] == "boom":
            raise RuntimeError(f"{state.name} was asked to crash")
        state.handled += 1
        state.total += request[1]
        state.recent = [*state.recent[-3:], ("add", request[1])]
        return ("reply", ("ok", state.total), state)

    def handle_cast(self, request: Any, state: WorkerState) -> Any:
        state.handled += 1
        state.recent = [*state.recent[-3:], ("note", request[1])]
        return ("noreply", state)


@dataclass
class ClientState:
    sent: int = 0
    failed: int = 0
    last: Any = None


async def _client(proc: Process, seed: int, requests: int, workers: int) -> None:
    rng = random.Random(seed)
    state = ClientState()
    for _ in range(requests):
        target = f"w{rng.randrange(workers)}"
        state.sent += 1
        if rng.randrange(_BOOM_EVERY) == 0:
            request: tuple[Any, ...] = ("boom",)
        else:
            request = ("add", rng.randrange(100))
        if rng.random() < 0.1:
            proc.cast(target, ("note", state.sent))
            continue
        try:
            state.last = await proc.call(target, request, timeout=None)
        except CallError as exc:
            state.failed += 1
            state.last = ("failed", str(exc.reason)[:40])


def record_sandbox_session(
    path: str | os.PathLike[str],
    n_events: int,
    *,
    workers: int = 5000,
    supervisors: int = 50,
    clients: int = 200,
    seed: int = 1,
) -> None:
    """Run the benchmark program once, recording about ``n_events`` events to ``path``."""
    per_sup = max(1, workers // supervisors)
    requests = max(1, int(n_events / _EVENTS_PER_REQUEST / clients))
    options = {"flush_interval": None, "wall_clock": lambda: 1_700_000_000_000_000_000}
    with Runtime(
        deterministic=True,
        seed=seed,
        record=path,
        metadata={"scenario": "benchmarks.sandbox_session", "n_events": n_events},
        recorder_options=options,
    ) as rt:
        sups = []
        for s in range(supervisors):
            children = [
                ChildSpec(f"w{s * per_sup + i}", Worker, (f"w{s * per_sup + i}",),
                          name=f"w{s * per_sup + i}")
                for i in range(per_sup)
            ]  # fmt: skip
            spec = SupervisorSpec(tuple(children), "one_for_one", max_restarts=10_000,
                                  max_seconds=1.0)  # fmt: skip
            sups.append(ChildSpec(f"sup{s}", Supervisor, (spec,), type="supervisor"))
        start_supervisor(rt, sups, strategy="one_for_one", name="root", max_restarts=10)
        rt.run()  # boot the tree before the load starts
        for c in range(clients):
            rt.spawn(_client, seed * 1000 + c, requests, per_sup * supervisors, name=f"client{c}")
        rt.run()


def ensure_sandbox_session(
    n_events: int, *, workers: int = 5000, supervisors: int = 50, clients: int = 200
) -> Path:
    """The cached sandbox recording of about ``n_events`` events (written once, then reused)."""
    name = (
        f"sandbox-v{SANDBOX_GENERATOR_VERSION}-{n_events}-{workers}-{supervisors}-{clients}.cinema"
    )
    path = cache_dir() / name
    if path.exists():
        return path
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        tmp = path.with_suffix(f".{os.getpid()}.partial")
        t0 = time.perf_counter()
        print(f"[bench] recording {path.name} with the sandbox ...", file=sys.stderr, flush=True)
        record_sandbox_session(
            tmp, n_events, workers=workers, supervisors=supervisors, clients=clients
        )
        tmp.replace(path)
        print(f"[bench] recorded in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return path
