"""Synthetic sessions for benchmarks: large, realistic, consistent, cached on disk.

:func:`ensure_synthetic` writes (once) a session of ``n_events`` events among ``n_processes``
processes with the real :class:`recorder.Recorder`: a supervision tree is spawned, then workers
exchange messages (SEND, RECEIVE a few events later), update their states (STATE), and now and
then crash and get restarted (CRASH, RESTART, SPAWN), link, monitor, register and emit profile
samples. Keyframes follow ``docs/world-schema.md`` and agree with the events, so the model can
seek in these files exactly as in a sandbox recording. The output is deterministic for given
arguments (seeded RNG, fake clock, no flush timer).
"""

from __future__ import annotations

import fcntl
import os
import random
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from recorder import EventKind, Recorder
from recorder.events import NO_PEER

__all__ = ["cache_dir", "ensure_synthetic", "write_synthetic"]

GENERATOR_VERSION = 4  # 4: keyframes with process tables and mailbox id columns
_K = EventKind


def cache_dir() -> Path:
    """Where generated sessions live (``CINEMA_BENCH_CACHE`` or the user cache dir)."""
    env = os.environ.get("CINEMA_BENCH_CACHE")
    if env:
        d = Path(env)
    else:
        from platformdirs import user_cache_dir

        d = Path(user_cache_dir("cinema")) / "bench"
    d.mkdir(parents=True, exist_ok=True)
    return d


def ensure_synthetic(n_events: int, n_processes: int, *, compress: int | None = 1) -> Path:
    """Return the path of a cached synthetic session, writing it first if needed."""
    tag = "z" if compress is not None else "raw"
    path = cache_dir() / f"synthetic-v{GENERATOR_VERSION}-{n_events}-{n_processes}-{tag}.cinema"
    if path.exists():
        return path
    # One generator at a time: concurrent benchmark runs wait for it instead of repeating it.
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        tmp = path.with_suffix(f".{os.getpid()}.partial")
        t0 = time.perf_counter()
        print(f"[bench] generating {path.name} ...", file=sys.stderr, flush=True)
        write_synthetic(tmp, n_events, n_processes, compress=compress)
        tmp.replace(path)
        print(f"[bench] generated in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return path


class _Sim:
    """The generator's own world, kept consistent with the events it emits."""

    def __init__(self, n_processes: int, rng: random.Random) -> None:
        self.rng = rng
        self.now = 1_000_000_000
        self.procs: dict[int, dict[str, Any]] = {}
        self.dead: list[list[Any]] = []
        self.sups: dict[int, dict[str, Any]] = {}
        self.registry: dict[str, int] = {}
        self.next_pid = 0
        self.n_sups = max(1, n_processes // 100)

    def clock(self) -> int:
        self.now += self.rng.randint(150, 2500)
        return self.now

    def world(self) -> dict[str, Any]:
        return {
            "time_ns": self.now,
            "processes": [
                {
                    **p,
                    "mailbox": [list(m) for m in list(p["mailbox"])[:100]],
                    "mailbox_len": len(p["mailbox"]),
                    "links": sorted(p["links"]),
                    "monitors": [list(m) for m in p["monitors"]],
                }
                for p in self.procs.values()
            ],
            "dead": self.dead[-1000:],
            "supervisors": [
                {
                    "pid": pid,
                    "strategy": "one_for_one",
                    "max_restarts": 1000,
                    "max_seconds": 5.0,
                    "children": [dict(c) for c in s["children"]],
                }
                for pid, s in self.sups.items()
            ],
            "registry": dict(self.registry),
        }


def write_synthetic(
    path: str | os.PathLike[str],
    n_events: int,
    n_processes: int,
    *,
    compress: int | None = 1,
    seed: int = 7,
) -> None:
    """Write a synthetic session of exactly ``n_events`` events to ``path``."""
    rng = random.Random(seed)
    sim = _Sim(n_processes, rng)
    keyframe_every = max(16384, 4 * n_processes)
    rec = Recorder(
        path,
        clock=sim.clock,
        wall_clock=lambda: 1_700_000_000_000_000_000,
        metadata={
            "program": "synthetic",
            "argv": [],
            "host": "bench",
            "pid": 0,
            "scenario": "synthetic",
            "seed": seed,
        },
        snapshot=sim.world,
        keyframe_every=keyframe_every,
        compress=compress,
        flush_interval=None,
        buffer_events=1 << 21,
    )
    emit = rec.emit
    count = 0

    def spawn(name: str, behaviour: str, parent: int, sup: int) -> int:
        nonlocal count
        pid = sim.next_pid
        sim.next_pid += 1
        sim.procs[pid] = {
            "pid": pid,
            "name": name,
            "behaviour": behaviour,
            "status": "waiting",
            "parent": parent if parent != NO_PEER else None,
            "supervisor": sup if sup != NO_PEER else None,
            "registered": None,
            "trap_exit": behaviour == "supervisor",
            "state": {"count": 0, "last": None},
            "mailbox": deque(),
            "links": set(),
            "monitors": [],
            "restarts": 0,
            "handled": 0,
            "cpu_ns": 0,
            "memory": 200,
        }
        emit(
            _K.SPAWN,
            pid,
            parent,
            0,
            {
                "name": name,
                "behaviour": behaviour,
                "parent": parent,
                "supervisor": sup,
                "node": "local",
            },
        )
        count += 1
        return pid

    root = spawn("root_sup", "supervisor", NO_PEER, NO_PEER)
    sim.sups[root] = {"children": []}
    sups = []
    for s in range(sim.n_sups):
        if count >= n_events:
            break
        sp = spawn(f"sup_{s}", "supervisor", root, root)
        sim.sups[sp] = {"children": []}
        sim.sups[root]["children"].append(
            {"id": f"sup_{s}", "pid": sp, "restart": "permanent", "type": "supervisor"}
        )
        sups.append(sp)
    workers: list[int] = []
    w = 0
    while len(sim.procs) < n_processes and count < n_events:
        sup = sups[w % len(sups)] if sups else root
        pid = spawn(f"worker_{w}", "gen_server", sup, sup)
        sim.sups[sup]["children"].append(
            {"id": f"worker_{w}", "pid": pid, "restart": "permanent", "type": "worker"}
        )
        workers.append(pid)
        w += 1
    if not workers:
        workers = [root]
    msg_id = 0
    in_flight: deque[tuple[int, int, int]] = deque()  # (msg_id, sender, receiver)
    rand = rng.random
    choice = rng.choice
    procs = sim.procs
    while count < n_events:
        r = rand()
        if in_flight and (r < 0.42 or len(in_flight) > 64):
            mid, sender, receiver = in_flight.popleft()
            p = procs.get(receiver)
            if p is None:
                continue
            if p["mailbox"] and p["mailbox"][0][0] == mid:
                p["mailbox"].popleft()
            else:
                p["mailbox"] = deque(m for m in p["mailbox"] if m[0] != mid)
            p["handled"] += 1
            emit(_K.RECEIVE, receiver, sender, mid, None)
            count += 1
            if count < n_events and rand() < 0.5:
                st = p["state"]
                new = {"count": st["count"] + 1, "last": mid}
                p["state"] = new
                emit(_K.STATE, receiver, sender, mid, {"trigger": "cast", "state": new})
                count += 1
        elif r < 0.995 or len(workers) < 2:
            a, b = choice(workers), choice(workers)
            msg_id += 1
            message = ("work", msg_id % 1000, a)
            procs[b]["mailbox"].append((msg_id, a, message))
            emit(_K.SEND, a, b, msg_id, message)
            in_flight.append((msg_id, a, b))
            count += 1
        elif r < 0.9975:
            a = choice(workers)
            p = procs[a]
            emit(
                _K.PROFILE,
                a,
                NO_PEER,
                0,
                {
                    "cpu_ns": p["cpu_ns"] + 1000,
                    "handled": p["handled"],
                    "mailbox": len(p["mailbox"]),
                    "memory": p["memory"],
                },
            )
            p["cpu_ns"] += 1000
            count += 1
        elif r < 0.9985 and count + 4 < n_events:
            # a crash and its restart: CRASH, RESTART, SPAWN (replacement), STATE(init)
            i = rng.randrange(len(workers))
            old = workers[i]
            p = procs.pop(old)
            sim.dead.append([old, "crashed"])
            for q in procs.values():
                q["links"].discard(old)
            sup = p["supervisor"] if p["supervisor"] is not None else root
            emit(
                _K.CRASH,
                old,
                NO_PEER,
                0,
                {
                    "reason": ("badarith", old),
                    "error": "ZeroDivisionError: division by zero",
                    "traceback": "",
                },
            )
            in_flight = deque(m for m in in_flight if m[2] != old)
            restarts = p["restarts"] + 1
            count += 1
            npid = spawn(p["name"], "gen_server", sup, sup)
            procs[npid]["restarts"] = restarts
            for c in sim.sups[sup]["children"]:
                if c["pid"] == old:
                    c["pid"] = npid
            emit(
                _K.RESTART,
                sup,
                npid,
                0,
                {
                    "child_id": p["name"],
                    "old_pid": old,
                    "reason": "crash",
                    "strategy": "one_for_one",
                    "restarts": restarts,
                },
            )
            emit(
                _K.STATE, npid, NO_PEER, 0, {"trigger": "init", "state": {"count": 0, "last": None}}
            )
            count += 2
            workers[i] = npid
        else:
            a, b = choice(workers), choice(workers)
            if a != b and b not in procs[a]["links"]:
                procs[a]["links"].add(b)
                procs[b]["links"].add(a)
                emit(_K.LINK, a, b, 0, None)
                count += 1
    rec.close()
