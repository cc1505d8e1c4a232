"""Mailbox growth: a queue that keeps growing because its process takes messages more slowly
than they arrive.

The length of every mailbox over time comes from the message flow alone: +1 at each SEND to
the process, -1 when it takes (RECEIVE) or loses (DROP) that message, until the process ends.
"""

from __future__ import annotations

import numpy as np

from cinema.model.analysis._context import Context
from cinema.model.analysis.findings import Finding, Severity, proof
from cinema.model.flow import DROPPED, RECEIVED

__all__ = ["MIN_PEAK", "detect_mailbox_growth"]

#: A mailbox is reported when it held at least this many messages at once.
MIN_PEAK = 50
#: ... and grew for at least this long (a burst answered at once is no growth).
MIN_GROWTH_NS = 1_000_000


def detect_mailbox_growth(cx: Context) -> list[Finding]:
    """One finding per process whose mailbox reached :data:`MIN_PEAK` messages."""
    fl = cx.flow
    if not len(fl):
        return []
    taken = (fl.outcome == RECEIVED) | (fl.outcome == DROPPED)
    # +1 / -1 on the events themselves: their positions are then in event order for free.
    step = np.zeros(cx.n, np.int8)
    owner = np.zeros(cx.n, np.int64)
    # In a damaged file a message not taken in the readable frames may have been taken in an
    # unreadable one after it: left out, so that no growth rests on what cannot be read.
    counted = taken | ~cx.outcome_unknown(fl.send_seq)
    step[fl.send_seq[counted]] = 1
    owner[fl.send_seq[counted]] = fl.receiver[counted]
    step[fl.recv_seq[taken]] = -1
    owner[fl.recv_seq[taken]] = fl.receiver[taken]
    seq = np.flatnonzero(step)
    pid, delta = owner[seq], step[seq].astype(np.int64)
    # Stop counting at the process's end: what is left was lost, not queued.
    deaths = cx.death_seq
    if deaths:
        dpids = np.fromiter(deaths.keys(), np.int64, len(deaths))
        dseqs = np.fromiter(deaths.values(), np.int64, len(deaths))
        # each event's pid looked up in a table by pid (a searchsorted of millions of pids in
        # the deaths took 1.3 s on 10 M events)
        last = np.full(int(dpids.max()) + 2, np.iinfo(np.int64).max, np.int64)
        last[dpids] = dseqs  # the row past the largest pid: "never ended"
        keep = seq <= last[np.minimum(pid, len(last) - 1)]
        pid, seq, delta = pid[keep], seq[keep], delta[keep]
    # Group by process keeping event order: a stable sort on the pids (a radix sort when they
    # fit in 16 bits).
    narrow = pid.astype(np.uint16) if len(pid) and int(pid.max()) < 1 << 16 else pid
    order = np.argsort(narrow, kind="stable")
    pid, seq, delta = pid[order], seq[order], delta[order]
    length = np.cumsum(delta)
    starts = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]])
    before = np.r_[0, length[starts[1:] - 1]]
    length -= np.repeat(before, np.diff(np.r_[starts, len(pid)]))
    peaks = np.maximum.reduceat(length, starts)
    ts = cx.sk.ts
    out: list[Finding] = []
    ends = np.r_[starts[1:], len(pid)]
    for g in np.flatnonzero(peaks >= MIN_PEAK).tolist():
        a, b = int(starts[g]), int(ends[g])
        series = length[a:b]
        top = int(np.argmax(series))
        low = int(np.argmin(series[: top + 1]))
        t_low, t_top = int(ts[seq[a + low]]), int(ts[seq[a + top]])
        grew_ns = t_top - t_low
        if grew_ns < MIN_GROWTH_NS:
            continue
        p = int(pid[a])
        peak, trough, final = int(series[top]), int(series[low]), int(series[-1])
        rate = (peak - trough) / (grew_ns / 1e9)
        arrived = int((delta[a + low : a + top + 1] > 0).sum())
        taken_n = int((delta[a + low : a + top + 1] < 0).sum())
        still = final >= peak // 2
        dead = p in deaths
        end_text = (
            f"It still held {final} when {'it ended' if dead else 'the recording ended'}."
            if still
            else f"It drained afterwards ({final} left at the end)."
        )
        out.append(
            Finding(
                detector="mailbox_growth",
                severity=Severity.WARNING if still else Severity.INFO,
                title=(
                    f"mailbox of {cx.label(p)} grew to {peak} messages "
                    f"({rate:,.0f} msg/s over {cx.seconds(grew_ns)})"
                ),
                explanation=(
                    f"Messages reached {cx.label(p)} faster than it took them: {arrived} "
                    f"arrived and it handled only {taken_n} while its queue grew from {trough} "
                    f"to {peak} in {cx.seconds(grew_ns)} (about {rate:,.0f} messages a "
                    f"second). {end_text} A queue that keeps growing means the process is a "
                    "bottleneck: its senders wait longer and longer for answers, and memory "
                    "grows until something gives. Look at what it does per message (its "
                    "handler times) and at who sends to it."
                ),
                pids=(p,),
                events=proof([seq[a + low], seq[a + top], seq[b - 1]]),
                figures={
                    "peak": peak,
                    "start": trough,
                    "final": final,
                    "rate_per_s": round(rate, 3),
                    "growth_ns": grew_ns,
                    "peak_seq": int(seq[a + top]),
                },
            )
        )
    return out
