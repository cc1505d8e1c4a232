"""Generate small, consistent sessions with the real Recorder, plus the reference world after
every event (an independent, naive implementation of ``docs/world-schema.md``)."""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

from recorder import EventKind, Recorder
from recorder.events import NO_PEER

K = EventKind


class Sim:
    def __init__(self) -> None:
        self.procs: dict[int, dict[str, Any]] = {}
        self.dead: dict[int, dict[str, Any]] = {}
        self.registry: dict[str, int] = {}
        self.now = 1_000

    def clock(self) -> int:
        self.now += 10
        return self.now

    def world(self, old_dead: bool = False) -> dict[str, Any]:
        """The world by docs/world-schema.md (``old_dead``: the ``[pid, status]`` dead pairs of
        keyframes written before full dead entries)."""
        return {
            "time_ns": self.now,
            "processes": [
                {
                    **p,
                    "status": _shown(p["status"], p["mailbox"]),
                    "mailbox": [list(m) for m in p["mailbox"]],
                    "mailbox_len": len(p["mailbox"]),
                    "links": sorted(p["links"]),
                    "monitors": [list(m) for m in p["monitors"]],
                }
                for p in self.procs.values()
            ],
            "dead": (
                [[pid, e["status"]] for pid, e in self.dead.items()]
                if old_dead
                else [dict(e) for e in self.dead.values()]
            ),
            "supervisors": [],
            "registry": dict(self.registry),
        }


def _shown(status: str, mailbox: list[Any]) -> str:
    """The status a world shows: alive and not suspended is running while messages wait."""
    return "running" if status == "waiting" and mailbox else status


def generate(
    path: Path, seed: int, n: int, keyframe_every: int | None = 8, *, old_dead: bool = False
) -> tuple[list[dict[str, Any]], list[tuple[int, int, int, int, Any]]]:
    """Write a session; return the reference world after each event and the events.

    ``old_dead`` writes keyframes as older recorders did (dead processes as ``[pid, status]``).
    """
    rng = random.Random(seed)
    sim = Sim()
    snapshot = (lambda: sim.world(old_dead)) if keyframe_every else None
    rec = Recorder(
        path, clock=sim.clock, wall_clock=lambda: 0, snapshot=snapshot,
        keyframe_every=keyframe_every or 1000, frame_events=16, flush_interval=None,
    )  # fmt: skip
    refs: list[dict[str, Any]] = []
    events: list[tuple[int, int, int, int, Any]] = []
    next_pid = 0
    msg = 0
    mon = 1000

    def emit(kind: int, pid: int, peer: int = NO_PEER, ref: int = 0, data: Any = None) -> None:
        rec.emit(kind, pid, peer, ref, data)
        events.append((kind, pid, peer, ref, data))
        refs.append(copy.deepcopy(sim.world()))

    while len(events) < n:
        alive = list(sim.procs)
        r = rng.random()
        if len(alive) < 2 or r < 0.08:
            pid, next_pid = next_pid, next_pid + 1
            parent = rng.choice(alive) if alive else NO_PEER
            sim.procs[pid] = {
                "pid": pid, "name": f"p{pid}", "behaviour": "gen_server", "status": "waiting",
                "parent": None if parent == NO_PEER else parent, "supervisor": None,
                "registered": None, "trap_exit": False, "state": None, "mailbox": [],
                "links": set(), "monitors": [], "restarts": 0, "handled": 0, "cpu_ns": 0,
                "memory": 0,
            }  # fmt: skip
            emit(K.SPAWN, pid, parent, 0, {"name": f"p{pid}", "behaviour": "gen_server",
                                            "parent": parent, "supervisor": NO_PEER})  # fmt: skip
            continue
        a, b = rng.choice(alive), rng.choice(alive)
        pa = sim.procs[a]
        if r < 0.40:
            msg += 1
            m = ("hello", msg, [a, b])
            sim.procs[b]["mailbox"].append((msg, a, m))
            emit(K.SEND, a, b, msg, m)
        elif r < 0.62:
            if pa["mailbox"]:
                mid, sender, _ = pa["mailbox"].pop(rng.randrange(len(pa["mailbox"])))
                pa["handled"] += 1
                emit(K.RECEIVE, a, sender, mid, None)
        elif r < 0.72:
            st = {"count": rng.randrange(100), "items": (1, "x")[: rng.randrange(3)]}
            pa["state"] = st
            emit(K.STATE, a, NO_PEER, 0, {"trigger": "cast", "state": st})
        elif r < 0.75:
            if pa["mailbox"]:
                mid, sender, _ = pa["mailbox"].pop(0)
                emit(K.DROP, sender, a, mid, {"reason": "rule"})
        elif r < 0.79:
            if a != b:
                pa["links"].add(b)
                sim.procs[b]["links"].add(a)
                emit(K.LINK, a, b)
        elif r < 0.81:
            pa["links"].discard(b)
            sim.procs[b]["links"].discard(a)
            emit(K.UNLINK, a, b)
        elif r < 0.85:
            mon += 1
            pa["monitors"].append((mon, b))
            emit(K.MONITOR, a, b, mon)
        elif r < 0.86:
            if pa["monitors"]:
                ref, target = pa["monitors"].pop(0)
                emit(K.DEMONITOR, a, target, ref)
        elif r < 0.89:
            name = f"n{rng.randrange(4)}"
            if name not in sim.registry and pa["registered"] is None:
                sim.registry[name] = a
                pa["registered"] = name
                emit(K.REGISTER, a, NO_PEER, 0, {"name": name})
            elif pa["registered"] is not None:
                name = pa["registered"]
                del sim.registry[name]
                pa["registered"] = None
                emit(K.UNREGISTER, a, NO_PEER, 0, {"name": name})
        elif r < 0.92:
            if pa["status"] == "suspended":
                pa["status"] = "waiting"
                emit(K.RESUME, a)
            else:
                pa["status"] = "suspended"
                emit(K.SUSPEND, a)
        elif r < 0.95:
            emit(K.MARKER, NO_PEER, NO_PEER, 0, {"label": "m"})
        else:
            if pa["registered"] is not None:  # the runtime unregisters before the exit
                name = pa["registered"]
                del sim.registry[name]
                pa["registered"] = None
                emit(K.UNREGISTER, a, NO_PEER, 0, {"name": name})
            gone = sim.procs.pop(a)
            status = "crashed" if rng.random() < 0.5 else "dead"
            reason = ("boom", a) if status == "crashed" else "normal"
            sim.dead[a] = {
                **{k: v for k, v in gone.items() if k not in ("mailbox", "links", "monitors")},
                "status": status, "mailbox_len": 0, "reason": reason,
            }  # fmt: skip
            for q in sim.procs.values():
                q["links"].discard(a)
                q["monitors"] = [m for m in q["monitors"] if m[1] != a]
            emit(K.CRASH if status == "crashed" else K.EXIT, a, NO_PEER, 0, {"reason": reason})
    rec.close()
    return refs, events


def comparable_model(world: Any) -> dict[str, Any]:
    """The model's world in the reference's terms."""
    out: dict[str, Any] = {}
    for pid, p in world.processes.items():
        out[pid] = {
            "status": p.status, "state": p.state,
            "mailbox": [tuple(m) for m in p.mailbox], "mailbox_len": p.mailbox_len,
            "links": sorted(p.links), "monitors": sorted(p.monitors), "handled": p.handled,
            "registered": p.registered, "name": p.name, "reason": p.exit_reason,
        }  # fmt: skip
    return {"procs": out, "registry": dict(world.registry)}


def comparable_ref(w: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in [*w["dead"], *w["processes"]]:
        out[p["pid"]] = {
            "status": p["status"], "state": p["state"],
            "mailbox": [tuple(m) for m in p.get("mailbox", ())], "mailbox_len": p["mailbox_len"],
            "links": sorted(p.get("links", ())),
            "monitors": sorted(tuple(m) for m in p.get("monitors", ())),
            "handled": p["handled"], "registered": p["registered"], "name": p["name"],
            "reason": p.get("reason"),
        }  # fmt: skip
    return {"procs": out, "registry": w["registry"]}
