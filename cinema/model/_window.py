"""Window-wide analysis of a replay: what numpy can settle for a whole window of events.

Replaying a window of events, most SENDs are consumed (RECEIVE or DROP) a few events later in
the same window: the message is queued and unqueued again, and the world at the end of the
window never shows it. :func:`transient_messages` finds those SEND / consume pairs with a few
sorted-array operations, so the replay can skip their mailbox bookkeeping altogether -- it is
what decides how many processes a seek has to materialise (about a hundred instead of a
thousand on a 5,000-process session). :func:`counters` sums the RECEIVEs and finds the last
STATE and PROFILE of each process between its structural events, so the replay adds them to
the world once.
"""

from __future__ import annotations

import numpy as np

from recorder.events import NO_PID, EventKind

__all__ = ["Counts", "counters", "transient_messages"]

_K = EventKind
#: Distinct pids, their RECEIVE counts, and the window indices of their last STATE and last
#: PROFILE (or -1).
Counts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def transient_messages(
    kind: np.ndarray, pid: np.ndarray, peer: np.ndarray, ref: np.ndarray, breaks: np.ndarray
) -> np.ndarray:
    """A mask of the SENDs and consumes (RECEIVE, DROP) whose mailbox effects cancel out.

    A SEND at ``i`` and a consume at ``j`` pair up when ``i < j``, they carry the same
    non-zero message id, that id occurs in exactly one SEND and one consume of the window, both
    name the same receiving process, and no event of ``breaks`` (event indices of kinds that
    create or end a process) acts on that process between them. Applied
    one at a time, such a message would enter the receiver's mailbox and leave it again with
    nothing in between able to observe it, so skipping both mailbox effects changes nothing.
    A RECEIVE's other effects (``handled``, status) are not the mailbox's and still apply.
    """
    n = len(kind)
    out = np.zeros(n, dtype=bool)
    send = np.flatnonzero(kind == _K.SEND)
    is_recv = kind == _K.RECEIVE
    cons = np.flatnonzero(is_recv | (kind == _K.DROP))
    if not len(send) or not len(cons):
        return out
    s_ref, c_ref = ref[send], ref[cons]
    s_order = np.argsort(s_ref, kind="stable")
    s_sorted = s_ref[s_order]
    s_once = _once(s_sorted)
    # Searched in sorted order, then put back: searchsorted with unsorted needles costs ~10x
    # (~1.2 ms for 8,000 consumes of a 20,000-event window, against a 0.1 ms sort).
    c_order = np.argsort(c_ref)  # (any order of equal ids: those are not transient)
    c_sorted = c_ref[c_order]
    # For each consume, the (unique) SEND with its id, if any.
    at = np.empty(len(cons), np.int64)
    at[c_order] = np.minimum(np.searchsorted(s_sorted, c_sorted), len(s_sorted) - 1)
    c_once = np.empty(len(cons), bool)
    c_once[c_order] = _once(c_sorted)
    ok = (s_sorted[at] == c_ref) & s_once[at] & c_once & (c_ref != 0)
    si = send[s_order[at]]
    owner = np.where(is_recv[cons], pid[cons], peer[cons]).astype(np.int64)
    ok &= (si < cons) & (peer[si].astype(np.int64) == owner)
    if len(breaks):
        # Count the receiver's breaks before i and before j: equal counts, none in between.
        stride = n + 1
        keys = np.sort(pid[breaks].astype(np.int64) * stride + breaks)
        base = owner * stride
        ok &= np.searchsorted(keys, base + si) == np.searchsorted(keys, base + cons)
    out[cons[ok]] = True
    out[si[ok]] = True
    return out


def _once(sorted_values: np.ndarray) -> np.ndarray:
    """For a sorted array: True where the value occurs exactly once."""
    once = np.ones(len(sorted_values), dtype=bool)
    dup = sorted_values[1:] == sorted_values[:-1]
    once[1:] &= ~dup
    once[:-1] &= ~dup
    return once


def _run_ends(sorted_values: np.ndarray) -> np.ndarray:
    """Indices of the last element of each run of equal values of a sorted array."""
    if not len(sorted_values):
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[sorted_values[1:] != sorted_values[:-1], True])


def counters(kind: np.ndarray, pid: np.ndarray, breaks: np.ndarray) -> dict[int, Counts]:
    """RECEIVE counts, last STATEs and last PROFILEs per process, due before each event that
    needs them.

    A process's counters only interact with its own structural events (``breaks``: SPAWN
    resets them, EXIT / CRASH end the process), so the RECEIVEs, STATEs and PROFILEs of one
    process between two of those sum up (or keep their latest) in any order. Returns event
    index -> :data:`Counts` to add to the overlay just before that event (index ``len(kind)``:
    at the end of the window).
    """
    n = len(kind)
    stride = n + 1
    keys = np.sort(pid[breaks].astype(np.int64) * stride + breaks)

    def group(idx: np.ndarray) -> np.ndarray:
        # pid * stride + the index of that pid's next break (n when none).
        q: np.ndarray = pid[idx].astype(np.int64) * stride
        if not len(keys):
            return q + n
        at = np.searchsorted(keys, q + idx)
        nxt = keys[np.minimum(at, len(keys) - 1)] - q
        out: np.ndarray = q + np.where((at < len(keys)) & (nxt < stride), nxt, n)
        return out

    # (Sorts and run boundaries by hand: np.unique with return_index / return_counts and
    # np.union1d cost ~1.5 ms each on a 20,000-event window, these ~0.1-0.2 ms.)
    def latest(of_kind: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.flatnonzero((kind == of_kind) & (pid != NO_PID))
        g = group(idx)
        order = np.argsort(g, kind="stable")  # within a group, in event order
        g = g[order]
        last = _run_ends(g)
        return g[last], idx[order[last]]

    g = np.sort(group(np.flatnonzero(kind == _K.RECEIVE)))
    ends = _run_ends(g)
    rk, rc = g[ends], np.diff(np.r_[-1, ends])
    sk, s_last = latest(_K.STATE)
    pk, p_last = latest(_K.PROFILE)
    groups = np.concatenate([rk, sk, pk])
    groups.sort()
    groups = groups[_run_ends(groups)]
    received = np.zeros(len(groups), dtype=np.int64)
    received[np.searchsorted(groups, rk)] = rc
    last_state = np.full(len(groups), -1, dtype=np.int64)
    last_state[np.searchsorted(groups, sk)] = s_last
    last_profile = np.full(len(groups), -1, dtype=np.int64)
    last_profile[np.searchsorted(groups, pk)] = p_last
    pids, due = np.divmod(groups, stride)
    order = np.argsort(due, kind="stable")
    due = due[order]
    cuts = np.flatnonzero(due[1:] != due[:-1]) + 1
    out: dict[int, Counts] = {}
    for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), len(due)], strict=True):
        if hi > lo:
            sel = order[lo:hi]
            out[int(due[lo])] = (pids[sel], received[sel], last_state[sel], last_profile[sel])
    return out
