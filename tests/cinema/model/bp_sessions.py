"""Crafted session files for the breakpoint, expression and playback tests.

Loaded by path from the test modules (the tests tree is not a package).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recorder import NO_PEER, EventKind, Recorder, SpawnInfo
from recorder.payload import Pid

K = EventKind


@dataclass(frozen=True)
class Freeze:
    why: str


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class S:
    count: int


MS = 1_000_000
T0 = 5_000_000_000


class Script:
    """Emit events with a fake clock: each event ``dt_ms`` after the previous one."""

    def __init__(self, path: Path, frame_events: int = 8) -> None:
        self.now = T0 - MS
        self.rec = Recorder(
            path,
            clock=lambda: self.now,
            wall_clock=lambda: 1_700_000_000_000_000_000,
            flush_interval=None,
            frame_events=frame_events,
            compress=None,
        )
        self.seq = -1
        self.msg_id = 0

    def emit(self, kind: int, pid: int, peer: int = NO_PEER, ref: int = 0, data: Any = None,
             dt_ms: float = 1.0) -> int:  # fmt: skip
        self.now += int(dt_ms * MS)
        self.rec.emit(kind, pid, peer, ref, data)
        self.seq += 1
        return self.seq

    def spawn(self, pid: int, name: str, behaviour: str = "gen_server", parent: int = NO_PEER,
              sup: int = NO_PEER) -> int:  # fmt: skip
        return self.emit(K.SPAWN, pid, parent, 0, SpawnInfo(name, behaviour, parent, sup).as_data())

    def send(self, a: int, b: int, message: Any, dt_ms: float = 1.0) -> int:
        self.msg_id += 1
        self.emit(K.SEND, a, b, self.msg_id, message, dt_ms)
        return self.msg_id

    def close(self) -> None:
        self.rec.close()


# pids of the bank session
SUP, ACC1, ACC2, CLIENT, ACC2B = 0, 1, 2, 3, 4


def bank_session(path: Path) -> Path:
    """A small bank: deposits and withdrawals, a freeze, a crash and restart, a timeout and a
    drop. Returns ``path``. Event numbers are listed in ``BANK_SEQS``."""
    s = Script(path)
    s.spawn(SUP, "bank_sup", "supervisor")  # 0
    s.spawn(ACC1, "account-1", parent=SUP, sup=SUP)  # 1
    s.spawn(ACC2, "account-2", parent=SUP, sup=SUP)  # 2
    s.spawn(CLIENT, "client", "process")  # 3
    s.emit(K.STATE, ACC1, data={"trigger": "init", "state": {"balance": 0, "status": "open"}})  # 4
    s.emit(K.STATE, ACC2, data={"trigger": "init", "state": {"balance": 10, "status": "open"}})  # 5
    m = s.send(CLIENT, ACC1, ("$call", (Pid(CLIENT), 1), ("deposit", 50)))  # 6
    s.emit(K.RECEIVE, ACC1, CLIENT, m)  # 7
    s.emit(
        K.STATE, ACC1, CLIENT, m, {"trigger": "call", "state": {"balance": 50, "status": "open"}}
    )  # 8
    m = s.send(CLIENT, ACC1, ("$call", (Pid(CLIENT), 2), ("withdraw", 80)))  # 9
    s.emit(K.RECEIVE, ACC1, CLIENT, m)  # 10
    s.emit(
        K.STATE, ACC1, CLIENT, m, {"trigger": "call", "state": {"balance": -30, "status": "open"}}
    )  # 11
    m = s.send(CLIENT, ACC1, Freeze("overdrawn"), dt_ms=500)  # 12
    s.emit(K.RECEIVE, ACC1, CLIENT, m)  # 13
    s.emit(
        K.STATE, ACC1, CLIENT, m, {"trigger": "cast", "state": {"balance": -30, "status": "frozen"}}
    )  # 14
    m = s.send(CLIENT, ACC2, ("withdraw", 5), dt_ms=1000)  # 15
    s.emit(K.RECEIVE, ACC2, CLIENT, m)  # 16
    s.emit(
        K.CRASH,
        ACC2,
        data={"reason": ("badarith", 1), "error": "ZeroDivisionError", "traceback": ""},
    )  # 17
    s.emit(
        K.RESTART,
        SUP,
        ACC2B,
        0,
        {
            "child_id": "account-2",
            "old_pid": ACC2,
            "reason": "crash",
            "strategy": "one_for_one",
            "restarts": 1,
        },
    )  # 18
    s.spawn(ACC2B, "account-2", parent=SUP, sup=SUP)  # 19
    s.emit(
        K.STATE, ACC2B, data={"trigger": "init", "state": {"balance": 10, "status": "open"}}
    )  # 20
    m = s.send(CLIENT, ACC1, ("$call", (Pid(CLIENT), 3), ("balance",)))  # 21
    s.emit(K.TIMEOUT, CLIENT, ACC1, m, {"op": "call", "after_ms": 5000}, dt_ms=5000)  # 22
    m = s.send(CLIENT, ACC2, "ping")  # 23
    s.emit(K.DROP, CLIENT, ACC2, m, {"reason": "noproc"})  # 24
    s.emit(K.EXIT, CLIENT, data={"reason": "normal"})  # 25
    s.close()
    return path


def random_session(path: Path, seed: int, n_events: int = 120) -> Path:
    """A random but well-formed session: processes, sends, receives, state changes, crashes."""
    rng = random.Random(seed)
    s = Script(path, frame_events=rng.choice([4, 16, 64]))
    names = ["alpha", "beta", "gamma", "delta"]
    behaviours = ["gen_server", "process", "supervisor"]
    pids: list[int] = []
    for i in range(rng.randint(1, 4)):
        s.spawn(i, names[i], rng.choice(behaviours))
        pids.append(i)
    in_flight: list[tuple[int, int, int]] = []
    states = {p: 0 for p in pids}
    while s.seq + 1 < n_events:
        r = rng.random()
        a, b = rng.choice(pids), rng.choice(pids)
        if r < 0.35:
            msg = rng.choice(
                [
                    ("inc", rng.randint(0, 9)),
                    ("get",),
                    "ping",
                    Stop(),
                    ("$call", (Pid(a), 1), ("add", rng.randint(-5, 5))),
                    7,
                    None,
                ]
            )
            in_flight.append((s.send(a, b, msg), a, b))
        elif r < 0.6 and in_flight:
            mid, x, y = in_flight.pop(rng.randrange(len(in_flight)))
            s.emit(K.RECEIVE, y, x, mid)
            if rng.random() < 0.6:
                states[y] += rng.choice([0, 1, 5])
                st: Any = {"count": states[y], "tag": rng.choice(["a", "b"]), "items": [1, 2]}
                if rng.random() < 0.1:
                    st = S(states[y])
                s.emit(K.STATE, y, x, mid, {"trigger": "call", "state": st})
        elif r < 0.65:
            s.emit(K.CRASH, a, data={"reason": rng.choice(["boom", ("badarg", 1)])})
        elif r < 0.7 and in_flight:
            mid, x, y = in_flight.pop()
            s.emit(rng.choice([K.DROP, K.TIMEOUT]), x, y, mid, {"reason": "noproc"})
        elif r < 0.8:
            s.emit(K.LINK, a, b)
        else:
            s.emit(K.PROFILE, a, NO_PEER, 0, {"cpu_ns": rng.randint(0, 100)},
                   dt_ms=rng.choice([0.5, 1, 30]))  # fmt: skip
    s.close()
    return path
