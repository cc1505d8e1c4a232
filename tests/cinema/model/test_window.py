"""The window analysis of a replay (:mod:`cinema.model._window`) against a plain reading of its
rules, one event at a time, on random windows (ids repeated, consumes before sends, breaks)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cinema.model._replay import _BREAK
from cinema.model._window import counters, transient_messages
from recorder.events import NO_PID, EventKind

_K = EventKind
_KINDS = [_K.SEND, _K.RECEIVE, _K.DROP, _K.STATE, _K.PROFILE, _K.SPAWN, _K.EXIT, _K.CRASH]

events = st.lists(
    st.tuples(
        st.sampled_from(_KINDS),
        st.sampled_from([0, 1, 2, 3, NO_PID]),
        st.sampled_from([0, 1, 2, 3, NO_PID]),
        st.integers(0, 12),
    ),
    max_size=60,
)


def _columns(evs: list[tuple[int, int, int, int]]) -> tuple[np.ndarray, ...]:
    kind = np.array([e[0] for e in evs], np.uint8)
    pid = np.array([e[1] for e in evs], np.uint32)
    peer = np.array([e[2] for e in evs], np.uint32)
    ref = np.array([e[3] for e in evs], np.int64)
    return kind, pid, peer, ref, np.flatnonzero(_BREAK[kind])


def _is_break(e: tuple[int, int, int, int]) -> bool:
    return e[0] in (_K.SPAWN, _K.EXIT, _K.CRASH)


@settings(max_examples=300, deadline=None)
@given(events)
def test_transient_messages_are_the_pairs_nothing_can_observe(
    evs: list[tuple[int, int, int, int]],
) -> None:
    kind, pid, peer, ref, breaks = _columns(evs)
    want = np.zeros(len(evs), bool)
    sends = [i for i, e in enumerate(evs) if e[0] == _K.SEND]
    consumes = [j for j, e in enumerate(evs) if e[0] in (_K.RECEIVE, _K.DROP)]
    for j in consumes:
        r = evs[j][3]
        owner = evs[j][1] if evs[j][0] == _K.RECEIVE else evs[j][2]
        same_s = [i for i in sends if evs[i][3] == r]
        same_c = [c for c in consumes if evs[c][3] == r]
        if r == 0 or len(same_s) != 1 or len(same_c) != 1:
            continue
        i = same_s[0]
        between = evs[i + 1 : j]
        if (
            i < j
            and evs[i][2] == owner
            and not any(_is_break(b) and b[1] == owner for b in between)
        ):
            want[i] = want[j] = True
    got = transient_messages(kind, pid, peer, ref, breaks)
    assert got.tolist() == want.tolist()


@settings(max_examples=300, deadline=None)
@given(events)
def test_counters_sum_each_process_between_its_breaks(
    evs: list[tuple[int, int, int, int]],
) -> None:
    kind, pid, _, _, breaks = _columns(evs)
    n = len(evs)
    want: dict[int, dict[int, list[int]]] = {}
    for i, (k, p, _, _) in enumerate(evs):
        if k not in (_K.RECEIVE, _K.STATE, _K.PROFILE) or (k != _K.RECEIVE and p == NO_PID):
            continue
        due = next((b for b in range(i + 1, n) if _is_break(evs[b]) and evs[b][1] == p), n)
        row = want.setdefault(due, {}).setdefault(p, [0, -1, -1])
        if k == _K.RECEIVE:
            row[0] += 1
        else:
            row[1 if k == _K.STATE else 2] = i  # the latest wins
    got = {
        due: {
            int(p): [int(c), int(s), int(f)]
            for p, c, s, f in zip(*(a.tolist() for a in counts), strict=True)
        }
        for due, counts in counters(kind, pid, breaks).items()
    }
    assert got == want
    for counts in counters(kind, pid, breaks).values():
        assert counts[0].tolist() == sorted(counts[0].tolist())  # pids in order, once each
        assert len(set(counts[0].tolist())) == len(counts[0])
