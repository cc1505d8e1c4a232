"""Messages that never reached their handler: dropped, lost with their receiver, or still
queued when the recording ended, from the message flow's outcomes (a call request whose caller
timed out and that nobody took is one of the last two); sends to a name nobody had registered
(a DROP without a SEND); and messages an interception rule held back and never let through
(a DELAY without a SEND after it: the recording ended first)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from cinema.model import present
from cinema.model.analysis._context import Context
from cinema.model.analysis.findings import Finding, Severity, proof
from cinema.model.flow import DROPPED, LOST, QUEUED, TIMED_OUT
from recorder.events import NO_PEER, NO_PID, EventKind

__all__ = ["detect_undelivered"]

#: Payloads decoded per finding to name the unregistered names.
_REASON_SAMPLES = 20


#: Up to this many DROP events are decoded to group drops by reason.
_MAX_DECODED_DROPS = 20_000


def detect_undelivered(cx: Context) -> list[Finding]:
    """Dropped messages by reason, lost ones by receiver name (warning), and messages never
    taken by receiver name (info)."""
    fl = cx.flow
    out: list[Finding] = []
    dropped = np.flatnonzero(fl.outcome == DROPPED)
    if len(dropped):
        seqs = fl.recv_seq[dropped]
        data = cx.data_of(seqs.tolist()) if len(seqs) <= _MAX_DECODED_DROPS else {}
        reasons = np.array([_reason(data.get(int(s))) for s in seqs.tolist()], dtype=object)
        for r in sorted(set(reasons.tolist())):
            out.append(_dropped(cx, r, dropped[reasons == r]))
    names = cx.session.process_name
    # A call request nobody took is TIMED_OUT in the flow (the caller gave up), but it is
    # still in its receiver's mailbox: lost with it if it ended, else never received.
    outcome = fl.outcome.copy()
    timed_out = np.flatnonzero(outcome == TIMED_OUT)
    if len(timed_out):
        ended = np.isin(fl.receiver[timed_out], np.fromiter(cx.death_seq, np.int64))
        outcome[timed_out] = np.where(ended, LOST, QUEUED)
    for code in (LOST, QUEUED):
        rows = np.flatnonzero(outcome == code)
        if cx.damage is not None and len(rows):  # taken, perhaps, in an unreadable frame
            ends = np.array([cx.death_seq.get(p, cx.n) for p in fl.receiver[rows].tolist()])
            rows = rows[~cx.outcome_unknown(fl.send_seq[rows], ends.astype(np.int64))]
        if not len(rows):
            continue
        by_name: dict[str, list[int]] = {}
        for r, p in zip(rows.tolist(), fl.receiver[rows].tolist(), strict=True):
            by_name.setdefault(names(p), []).append(r)
        for name, rs in by_name.items():
            out.append(_left(cx, code, name, np.asarray(rs, np.int64)))
    out.extend(_unsent_drops(cx))
    out.extend(_held(cx))
    return out


def _reason(d: object) -> str:
    if isinstance(d, dict) and d.get("reason") is not None:
        return present.brief(d.get("reason"), 40)
    return "unknown"


def _who(cx: Context, pids: np.ndarray) -> tuple[str, list[int]]:
    counts = Counter(pids.tolist())
    top = [p for p, _ in counts.most_common()]
    text = ", ".join(
        f"{cx.label(p)}" + (f" ({c})" if len(counts) > 1 else "") for p, c in counts.most_common(4)
    )
    if len(counts) > 4:
        text += f" and {len(counts) - 4} more"
    return text, top


_REASONS = {
    "noproc": "the receiver was not running",
    "rule": "an interception rule dropped them",
    "late_reply": "the caller had already stopped waiting for this reply",
}


def _dropped(cx: Context, reason: str, rows: np.ndarray) -> Finding:
    fl = cx.flow
    n = len(rows)
    msgs = f"{n} message{'s' if n > 1 else ''}"
    to, receivers = _who(cx, fl.receiver[rows])
    frm, senders = _who(cx, fl.sender[rows])
    sends, drops = fl.send_seq[rows], fl.recv_seq[rows]
    meaning = _REASONS.get(reason, "see the DROP events")
    return Finding(
        detector="dropped_messages",
        severity=Severity.WARNING,
        title=f"{msgs} dropped ({reason}), to {to}",
        explanation=(
            f"{msgs} from {frm} to {to} were dropped and never handled: {meaning}. Whoever sent "
            "them gets no error: the work they asked for silently did not happen. Check that "
            "receivers are running when messages reach them (monitor them, or send through a "
            "registered name their supervisor restarts)."
        ),
        pids=tuple(dict.fromkeys([*receivers[:8], *senders[:8]])),
        events=proof(np.r_[sends[:10], drops[:9]]),
        figures={"messages": n, "reason": reason, "receivers": len(receivers)},
    )


def _left(cx: Context, code: int, name: str, rows: np.ndarray) -> Finding:
    fl = cx.flow
    n = len(rows)
    msgs = f"{n} message{'s' if n > 1 else ''}"
    frm, senders = _who(cx, fl.sender[rows])
    sends = fl.send_seq[rows]
    recv = list(dict.fromkeys(fl.receiver[rows].tolist()))
    if code == LOST:
        ends = [cx.death_seq.get(p, -1) for p in recv]
        lives = f" ({len(recv)} incarnations)" if len(recv) > 1 else ""
        return Finding(
            detector="lost_messages",
            severity=Severity.WARNING,
            title=f"{msgs} to {name} lost: still queued when it ended{lives}",
            explanation=(
                f"{name}{lives} ended with {msgs} from {frm} still in its mailbox: they were "
                "never handled and are gone with it. Their senders are not told (a call "
                "times out or fails; a cast or plain send is just lost), and a restarted "
                "process starts with an empty mailbox."
            ),
            pids=tuple(dict.fromkeys([*recv, *senders[:8]])),
            events=proof([*sends[:15].tolist(), *ends]),
            figures={"messages": n, "receiver": name, "incarnations": len(recv)},
        )
    return Finding(
        detector="never_received",
        severity=Severity.INFO,
        title=f"{msgs} to {name} never received (still queued at the end)",
        explanation=(
            f"{msgs} from {frm} were still waiting in the mailbox of {name} when the recording "
            "ended. That is normal for the last few messages of a run; many of them mean the "
            "process stopped taking messages (blocked, waiting for a message it never gets, "
            "or matching only some messages in a selective receive)."
        ),
        pids=tuple(dict.fromkeys([*recv, *senders[:8]])),
        events=proof(sends),
        figures={"messages": n, "receiver": name},
    )


def _unsent_drops(cx: Context) -> list[Finding]:
    """DROPs of messages that were never SENT: sends to a name nobody had registered."""
    drops = cx.seqs_of(EventKind.DROP)
    if not len(drops):
        return []
    ids = cx.flow.msg_id
    refs = cx.refs[drops]
    orphan = ~np.isin(refs, ids)
    if cx.damage is not None:  # its SEND may be in an unreadable frame: only name sends
        orphan &= cx.sk.peer[drops] == NO_PEER
    orphan = drops[orphan]
    out = []
    senders = cx.sk.pid[orphan].astype(np.int64)
    for p in np.unique(senders).tolist():
        mine = orphan[senders == p]
        data = cx.data_of(mine[:_REASON_SAMPLES].tolist())
        names = sorted(
            {present.brief(d.get("name"), 40) for d in data.values() if isinstance(d, dict)}
        )
        who = "outside any process" if p == NO_PID else cx.label(p)
        out.append(
            Finding(
                detector="dropped_messages",
                severity=Severity.WARNING,
                title=f"{len(mine)} message(s) from {who} sent to unregistered names",
                explanation=(
                    f"{who} sent {len(mine)} message(s) to a registered name that no process "
                    f"held at the time ({', '.join(names) or 'unknown'}): they went nowhere. "
                    "The name was never registered, or its process had ended (a restarted "
                    "process registers it again only once it has started)."
                ),
                pids=() if p == NO_PID else (p,),
                events=proof(mine),
                figures={"messages": len(mine), "names": names},
            )
        )
    return out


def _held(cx: Context) -> list[Finding]:
    """DELAYs whose message was never SENT after them: held by a rule past the recording's
    end (its SEND comes only when the rule lets it through), by rule."""
    delays = cx.seqs_of(EventKind.DELAY)
    if not len(delays):
        return []
    fl = cx.flow
    refs = cx.refs[delays]
    # Held for good: no SEND of its id after the DELAY (the last SEND of an id, if any, is
    # the one that matters: ids are unique in a sandbox, but a file may reuse them).
    order = np.argsort(fl.msg_id, kind="stable")
    ids, sends = fl.msg_id[order], fl.send_seq[order]
    at = np.searchsorted(ids, refs, side="right") - 1
    sent_after = (at >= 0) & (ids[np.maximum(at, 0)] == refs) & (sends[np.maximum(at, 0)] > delays)
    held = delays[~sent_after & ~cx.outcome_unknown(delays)]
    if not len(held):
        return []
    data = cx.data_of(held[:_MAX_DECODED_DROPS].tolist())
    rules = np.array([_rule_of(data.get(int(s))) for s in held.tolist()], dtype=np.int64)
    out = []
    for r in sorted(set(rules.tolist())):
        rows = held[rules == r]
        n = len(rows)
        msgs = f"{n} message{'s' if n > 1 else ''}"
        to, receivers = _who(cx, cx.sk.peer[rows].astype(np.int64))
        frm, senders = _who(cx, cx.sk.pid[rows].astype(np.int64))
        delay = _delay_of([data.get(int(s)) for s in rows[:_REASON_SAMPLES].tolist()])
        rule = f"rule {r}" if r >= 0 else "an interception rule"
        out.append(
            Finding(
                detector="held_messages",
                severity=Severity.WARNING,
                title=f"{msgs} to {to} held back by {rule} and never released",
                explanation=(
                    f"{rule.capitalize()}{delay} held {msgs} from {frm} to {to}, and the "
                    "recording ended before it let them through: they reached no mailbox, so "
                    "their receivers never saw them. A long delay can look like a lost message "
                    "or a hung process; check the rule's delay against how long the run lasts, "
                    "or remove the rule to release what it holds."
                ),
                pids=tuple(dict.fromkeys([*receivers[:8], *senders[:8]])),
                events=proof(rows),
                figures={"messages": n, "rule": r, "receivers": len(receivers)},
            )
        )
    return out


def _rule_of(d: object) -> int:
    rule = d.get("rule") if isinstance(d, dict) else None
    return rule if isinstance(rule, int) and not isinstance(rule, bool) else -1


def _delay_of(data: list[object]) -> str:
    """ " (a 5,000 ms delay)" when the sampled DELAYs agree on it, else ""."""
    ms = {d.get("delay_ms") for d in data if isinstance(d, dict)}
    if len(ms) == 1:
        (v,) = ms
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return f" (a {v:,g} ms delay)"
    return ""
