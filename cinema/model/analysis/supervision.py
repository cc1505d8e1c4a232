"""Fault-tolerance gaps: servers nobody supervises, and links that let one crash take down
unrelated work.

An EXIT_SIGNAL event says a linked process's exit reached another process, and whether that
one traps exits (then it gets a message and lives on). An untrapped abnormal exit signal kills
its receiver: when that receiver is neither the crashed process's supervisor nor its child,
one process's bug took down another's work.
"""

from __future__ import annotations

from collections import defaultdict

from cinema.model import present
from cinema.model.analysis._context import Context
from cinema.model.analysis.findings import Finding, Severity, proof
from recorder.events import NO_PEER, EventKind

__all__ = ["detect_link_cascades", "detect_unsupervised"]

#: Behaviours that are long-lived servers and belong under a supervisor.
SERVER_BEHAVIOURS = frozenset({"gen_server", "gen_statem", "gen_event"})


def detect_unsupervised(cx: Context) -> list[Finding]:
    """One finding (info) listing the servers started outside any supervision tree."""
    procs = cx.session.processes
    lonely = sorted(
        p.pid for p in procs.values()
        if p.behaviour in SERVER_BEHAVIOURS and p.supervisor in (NO_PEER, -1)
    )  # fmt: skip
    if not lonely:
        return []
    names = ", ".join(cx.label(p) for p in lonely[:5]) + ("…" if len(lonely) > 5 else "")
    return [
        Finding(
            detector="unsupervised",
            severity=Severity.INFO,
            title=f"{len(lonely)} server(s) run without a supervisor: {names}",
            explanation=(
                f"{len(lonely)} GenServer(s) were started outside any supervision tree. If one "
                "crashes, nothing restarts it: its registered name disappears and every later "
                "call to it fails. Start long-lived servers as children of a supervisor (a "
                "ChildSpec in a Supervisor), so a crash costs a restart, not the feature."
            ),
            pids=tuple(lonely),
            events=proof(cx.spawn_seq.get(p, -1) for p in lonely),
            figures={"processes": len(lonely)},
        )
    ]


def detect_link_cascades(cx: Context) -> list[Finding]:
    """One finding (warning) per crash whose exit signal killed unrelated linked processes."""
    sk = cx.sk
    deaths = cx.death_seq
    sigs = [
        s for s in cx.seqs_of(EventKind.EXIT_SIGNAL).tolist()
        if deaths.get(int(sk.pid[s]), -1) > s
    ]  # fmt: skip
    if not sigs:
        return []
    data = cx.data_of(sigs)
    procs = cx.session.processes
    victim_of: dict[int, tuple[int, int]] = {}  # victim -> (origin, signal seq)
    for s in sigs:
        d = data.get(s)
        if not isinstance(d, dict) or d.get("trapped") or _normal(d.get("reason")):
            continue
        b, a = int(sk.pid[s]), int(sk.peer[s])
        if a == NO_PEER or b in victim_of:
            continue
        pa, pb = procs.get(a), procs.get(b)
        if (pa is not None and pa.supervisor == b) or (pb is not None and pb.supervisor == a):
            continue  # a supervisor and its own child: supervision, not a stray link
        victim_of[b] = (a, s)
    groups: dict[int, list[int]] = defaultdict(list)
    for b in victim_of:
        root, hops = victim_of[b][0], 0
        while root in victim_of and hops < 1000:
            root, hops = victim_of[root][0], hops + 1
        groups[root].append(b)
    out = []
    for root, victims in groups.items():
        victims.sort(key=lambda b: victim_of[b][1])
        crash = deaths.get(root, -1)
        reason = data[victim_of[victims[0]][1]].get("reason")
        names = ", ".join(cx.label(b) for b in victims[:5]) + ("…" if len(victims) > 5 else "")
        seqs = [crash]
        for b in victims:
            seqs += [victim_of[b][1], deaths[b]]
        out.append(
            Finding(
                detector="link_cascade",
                severity=Severity.WARNING,
                title=(
                    f"crash of {cx.label(root)} took down {len(victims)} linked process(es): "
                    f"{names}"
                ),
                explanation=(
                    f"{cx.label(root)} ended abnormally ({present.brief(reason, 100)}) and, "
                    f"through links, its exit signal killed {names}, which did not trap exits "
                    "and are not its supervisor or its children. A link ties two processes' "
                    "lives together: use one only when the two cannot work without each other. "
                    "Otherwise monitor instead (you get a DOWN message), or trap exits in the "
                    "process that should survive."
                ),
                pids=(root, *victims),
                events=proof(seqs),
                figures={"victims": len(victims)},
            )
        )
    return out


def _normal(reason: object) -> bool:
    if reason in ("normal", "shutdown"):
        return True
    return type(reason) is tuple and len(reason) == 2 and reason[0] == "shutdown"
