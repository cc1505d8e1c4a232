"""Qt-free helpers of the desktop app: tree layout, graph frames, metrics series, event query."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cinema.views.eventquery import QueryError, filter_events
from cinema.views.layout import TreeLayout, ego_layout, tidy_tree
from cinema.views.metrics import mailbox_series, message_rate
from recorder.events import NO_PID, EventKind
from recorder.session.reader import ProcessInfo, Skeleton

K = EventKind


def test_tidy_tree_centres_parents_over_children() -> None:
    pos = tidy_tree([0], {0: [1, 2], 1: [3, 4]})
    assert pos[3] == (0.0, 2.0) and pos[4] == (1.0, 2.0)
    assert pos[1] == (0.5, 1.0)
    assert pos[2] == (2.0, 1.0)
    assert pos[0] == (1.25, 0.0)


def test_tree_layout_of_ten_thousand_processes_is_fast_and_kept() -> None:
    children = {0: list(range(1, 101))}
    for s in range(1, 101):
        children[s] = list(range(100 + s * 100, 100 + s * 100 + 99))
    lay = TreeLayout()
    start = time.perf_counter()
    assert lay.update([0], children)
    assert time.perf_counter() - start < 1.0
    assert len(lay.positions) == 1 + 100 + 9900
    assert not lay.update([0], children)  # same shape: not recomputed
    assert lay.recomputed == 1


def test_ego_layout_is_deterministic() -> None:
    a = ego_layout(5, [3, 1, 2], [9])
    assert a == ego_layout(5, [2, 3, 1], [9])
    assert a[5] == (0.0, 0.0)
    assert abs(np.hypot(*a[9]) - 2.0) < 1e-9


def _sk(rows: list[tuple[int, int, int, int]]) -> Skeleton:
    ts, kind, pid, peer = zip(*rows, strict=True)
    return Skeleton(np.array(ts, np.int64), np.array(kind, np.uint8), np.array(pid, np.uint32),
                    np.array(peer, np.uint32))  # fmt: skip


def test_mailbox_series_counts_queued_messages_and_resets_on_crash() -> None:
    sk = _sk([(10, K.SEND, 1, 2), (20, K.SEND, 3, 2), (30, K.RECEIVE, 2, 1), (40, K.SEND, 1, 2),
              (50, K.CRASH, 2, NO_PID), (60, K.SEND, 1, 2)])  # fmt: skip
    s = mailbox_series(sk, 2)
    assert s.t.tolist() == [10, 20, 30, 40, 50, 60]
    assert s.value.tolist() == [1, 2, 1, 2, 0, 1]


def test_message_rate_per_second() -> None:
    sk = _sk([(0, K.SEND, 1, 2), (500_000_000, K.RECEIVE, 1, 2), (1_500_000_000, K.SEND, 1, 2)])
    r = message_rate(sk, 1, 0, 2_000_000_000, bins=2)
    assert r.value.tolist() == [2.0, 1.0]


def test_event_query() -> None:
    sk = _sk(
        [(0, K.SPAWN, 0, NO_PID), (1, K.SEND, 0, 1), (2, K.CRASH, 1, NO_PID), (3, K.RESTART, 0, 2)]
    )
    procs = {0: ProcessInfo(0, "sup"), 1: ProcessInfo(1, "worker"), 2: ProcessInfo(2, "worker")}
    assert filter_events(sk, procs, "") is None
    assert filter_events(sk, procs, "crash").tolist() == [2]
    assert filter_events(sk, procs, "kind:crash,restart").tolist() == [2, 3]
    assert filter_events(sk, procs, "proc:work").tolist() == [1, 2, 3]
    assert filter_events(sk, procs, "pid:0 #1-").tolist() == [1, 3]
    with pytest.raises(QueryError, match="unknown event kind"):
        filter_events(sk, procs, "kind:nope")


def test_the_graph_pairs_messages_in_send_order_from_any_source() -> None:
    """A session's index hands the messages over in send order (taken as they are); another
    source's are sorted by send first."""
    from cinema.views.graphview import GraphModel
    from cinema.views.timeline_source import ArrayTimeline

    n = 12
    kind = np.full(n, EventKind.SEND, np.uint8)
    args = (np.arange(n) * 10, kind, np.zeros(n, np.uint32))
    shuffled = (np.array([6, 2, 4, 0]), np.array([9, 3, 8, 1]))
    ordered = (np.array([0, 2, 4, 6]), np.array([1, 3, 8, 9]))
    for messages in (shuffled, ordered):
        g = GraphModel(ArrayTimeline(*args, messages=messages), {})
        assert g.send_seq.tolist() == [0, 2, 4, 6]
        assert g.recv_seq.tolist() == [1, 3, 8, 9]
