"""Where the work goes: hot processes, hot edges, and slow handlers.

Hot: a process that takes a large share of all messages, or a sender -> receiver edge that
carries one (counted from the RECEIVE events and the message flow). Slow handlers: a GenServer
handles a message from its RECEIVE to the STATE event that names that message (``ref``); a
handling far slower than the process's own usual one is an outlier worth a look.
"""

from __future__ import annotations

import numpy as np

from cinema.model.analysis._context import Context
from cinema.model.analysis.findings import Finding, Severity, proof
from recorder.events import NO_PID, EventKind

__all__ = ["detect_hot", "detect_slow_handlers", "handler_times"]

_K = EventKind
#: A hot process handles at least this share of all messages ...
HOT_SHARE = 0.2
#: ... and at least this many, with at least this many processes receiving.
HOT_MIN_MESSAGES = 500
HOT_MIN_PROCESSES = 4
#: A hot edge carries at least this share of all messages, and at least HOT_MIN_MESSAGES.
HOT_EDGE_SHARE = 0.2
#: Slow handlers: a process needs this many handled messages for a distribution ...
SLOW_MIN_SAMPLES = 20
#: ... an outlier takes this many times its median, and at least SLOW_FLOOR_NS more ...
SLOW_FACTOR = 10.0
SLOW_FLOOR_NS = 1_000_000
#: ... and outliers are rare: at most this share of its handlings.
SLOW_MAX_SHARE = 0.05


def detect_hot(cx: Context) -> list[Finding]:
    """Hot processes and hot edges (info: often by design, worth knowing)."""
    recv = cx.seqs_of(_K.RECEIVE)
    if len(recv) < HOT_MIN_MESSAGES:
        return []
    pids = cx.sk.pid[recv].astype(np.int64)
    pids = pids[pids != NO_PID]
    per_pid = np.bincount(pids)
    uniq = np.flatnonzero(per_pid)
    counts = per_pid[uniq]
    total = len(recv)
    out: list[Finding] = []
    if len(uniq) >= HOT_MIN_PROCESSES:
        median = float(np.median(counts))
        for i in np.flatnonzero((counts >= HOT_MIN_MESSAGES) & (counts >= HOT_SHARE * total)):
            p, c = int(uniq[i]), int(counts[i])
            mine = recv[cx.sk.pid[recv] == p]
            out.append(
                Finding(
                    detector="hot_process",
                    severity=Severity.INFO,
                    title=f"{cx.label(p)} handles {c / total:.0%} of all messages ({c:,})",
                    explanation=(
                        f"{cx.label(p)} took {c:,} of the session's {total:,} messages, "
                        f"{c / max(median, 1):,.0f} times as many as a typical process "
                        f"({median:,.0f}). Every message to it waits its turn in one mailbox, "
                        "so it sets the pace of everything that depends on it. That can be by "
                        "design (a registry, a router); if it is slow or its mailbox grows, "
                        "spread its work over several processes."
                    ),
                    pids=(p,),
                    events=proof([mine[0], mine[len(mine) // 2], mine[-1]]),
                    figures={"messages": c, "share": round(c / total, 4), "median": median},
                )
            )
    fl = cx.flow
    if len(fl) >= HOT_MIN_MESSAGES:
        # A hot edge's receiver takes at least the edge's share: look only at those receivers.
        rc = np.bincount(fl.receiver[fl.receiver != NO_PID])
        busy = np.flatnonzero(rc >= max(HOT_MIN_MESSAGES, HOT_EDGE_SHARE * len(fl)))
        rows_busy = np.flatnonzero(np.isin(fl.receiver, busy)) if len(busy) else busy
        key = fl.sender[rows_busy] * (1 << 32) + fl.receiver[rows_busy]
        ek, ecounts = np.unique(key, return_counts=True)
        for i in np.flatnonzero(
            (ecounts >= HOT_MIN_MESSAGES) & (ecounts >= HOT_EDGE_SHARE * len(fl))
        ):
            a, b, c = int(ek[i] >> 32), int(ek[i] & 0xFFFFFFFF), int(ecounts[i])
            if a == NO_PID:
                continue
            rows = rows_busy[key == ek[i]]
            out.append(
                Finding(
                    detector="hot_edge",
                    severity=Severity.INFO,
                    title=(
                        f"{cx.label(a)} -> {cx.label(b)} carries {c / len(fl):.0%} of all "
                        f"messages ({c:,})"
                    ),
                    explanation=(
                        f"{c:,} of the session's {len(fl):,} messages went from {cx.label(a)} "
                        f"to {cx.label(b)}. One pair of processes doing most of the talking is "
                        "where latency and queueing show first; batching the messages, or "
                        "keeping the data where it is used, cuts the traffic."
                    ),
                    pids=(a, b),
                    events=proof(fl.send_seq[rows[[0, len(rows) // 2, -1]]]),
                    figures={"messages": c, "share": round(c / len(fl), 4)},
                )
            )
    return out


def handler_times(cx: Context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pid, receive seq, duration ns)`` of every handled message that ended in a STATE
    event naming it (GenServer calls, casts and infos), in receive order."""
    sk, refs = cx.sk, cx.refs
    states = cx.seqs_of(_K.STATE)
    states = states[refs[states] != 0]
    recvs = cx.seqs_of(_K.RECEIVE)
    if not len(states) or not len(recvs):
        e = np.empty(0, np.int64)
        return e, e, e
    s_ref = refs[states]
    order = np.argsort(s_ref, kind="stable")
    s_ref, s_seq = s_ref[order], states[order]
    r_ref = refs[recvs]
    pos = np.clip(np.searchsorted(s_ref, r_ref), 0, len(s_ref) - 1)
    st = s_seq[pos]
    ok = (s_ref[pos] == r_ref) & (st > recvs) & (sk.pid[st] == sk.pid[recvs])
    recvs, st = recvs[ok], st[ok]
    return sk.pid[recvs].astype(np.int64), recvs, (sk.ts[st] - sk.ts[recvs]).astype(np.int64)


def detect_slow_handlers(cx: Context) -> list[Finding]:
    """One finding per process with handlings far slower than its own median (warning)."""
    pid, recv, dur = handler_times(cx)
    if not len(pid):
        return []
    order = np.lexsort((dur, pid))
    spid, sdur, srecv = pid[order], dur[order], recv[order]
    starts = np.flatnonzero(np.r_[True, spid[1:] != spid[:-1]])
    ends = np.r_[starts[1:], len(spid)]
    sizes = ends - starts
    medians = sdur[starts + (sizes - 1) // 2]
    limit = np.maximum(medians * SLOW_FACTOR, medians + SLOW_FLOOR_NS)
    out = []
    for g in np.flatnonzero((sizes >= SLOW_MIN_SAMPLES) & (sdur[ends - 1] > limit)).tolist():
        a, b = int(starts[g]), int(ends[g])
        slow = np.flatnonzero(sdur[a:b] > limit[g]) + a
        if len(slow) > SLOW_MAX_SHARE * (b - a):
            continue  # slow is its usual speed, not an outlier
        p, med, worst = int(spid[a]), int(medians[g]), int(sdur[b - 1])
        seqs = np.sort(srecv[slow])
        out.append(
            Finding(
                detector="slow_handler",
                severity=Severity.WARNING,
                title=(
                    f"{cx.label(p)} took up to {cx.seconds(worst)} on a message "
                    f"(usually {cx.seconds(med)}): {len(slow)} slow handling(s)"
                ),
                explanation=(
                    f"{cx.label(p)} usually handles a message in {cx.seconds(med)} (median of "
                    f"{b - a:,}), but {len(slow)} took more than {cx.seconds(int(limit[g]))}, "
                    f"the slowest {cx.seconds(worst)}. While a process handles one message, "
                    "everything else queues behind it and callers wait. Look at the message "
                    "it was handling then (the event this finding shows): a slow dependency, "
                    "a big input or a blocking call."
                ),
                pids=(p,),
                events=proof(seqs),
                figures={
                    "median_ns": med,
                    "worst_ns": worst,
                    "slow": len(slow),
                    "handled": b - a,
                    "limit_ns": int(limit[g]),
                },
            )
        )
    return out
