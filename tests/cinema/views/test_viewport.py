"""Lane layout and the timeline's visible-window selection (cinema.views.viewport)."""

from __future__ import annotations

import numpy as np
import pytest

from cinema.views.viewport import EXACT_GROUP_LANES, LaneLayout, Viewport, lane_order
from recorder.events import NO_PID
from recorder.session.reader import ProcessInfo


def _procs(n_workers: int = 4) -> dict[int, ProcessInfo]:
    procs = {0: ProcessInfo(0, "root", "supervisor", NO_PID, NO_PID)}
    procs[1] = ProcessInfo(1, "sup", "supervisor", 0, 0)
    for i in range(2, 2 + n_workers):
        procs[i] = ProcessInfo(i, f"w{i}", "gen_server", 1, 1)
    procs[99] = ProcessInfo(99, "loner", "process", NO_PID, NO_PID)
    return procs


def test_lane_order_is_depth_first_by_supervision_tree() -> None:
    order, depth, end = lane_order(_procs(2))
    assert order == [0, 1, 2, 3, 99]
    assert depth == [0, 1, 2, 2, 0]
    assert end[1] == 4 and end[0] == 4 and end[99] == 5


def test_collapse_folds_a_subtree_into_one_row() -> None:
    lay = LaneLayout(_procs(3))
    assert len(lay.rows) == 6
    lay.toggle(1)
    assert [r.pid for r in lay.rows] == [0, 1, 99]
    sup = lay.rows[1]
    assert sup.collapsed and (sup.lo, sup.hi) == (1, 5)
    assert lay.row_of_pid(3) == 1  # a hidden worker shows on its group's row
    lay.toggle(1)
    assert len(lay.rows) == 6


def test_unknown_pids_map_past_the_last_lane() -> None:
    lay = LaneLayout(_procs(1))
    assert lay.rank(np.array([NO_PID, 5000, 2], np.uint32)).tolist() == [
        lay.lane_count,
        lay.lane_count,
        2,
    ]


def _viewport(n: int = 10_000, workers: int = 4, seed: int = 3) -> Viewport:
    rng = np.random.default_rng(seed)
    procs = _procs(workers)
    pids = np.array(sorted(procs), np.uint32)
    ts = np.cumsum(rng.integers(1, 100, n)).astype(np.int64)
    pid = rng.choice(pids, n).astype(np.uint32)
    kind = rng.integers(0, 20, n).astype(np.uint8)
    send = np.arange(0, n - 2, 7)
    return Viewport(ts, kind, pid, LaneLayout(procs), (send, send + 2))


def _brute_counts(vp: Viewport, row: int, edges: np.ndarray) -> np.ndarray:
    r = vp.layout.rows[row]
    ranks = vp.layout.rank(vp.pid)
    sel = (ranks >= r.lo) & (ranks < r.hi)
    counts, _ = np.histogram(vp.ts[sel], bins=edges)
    # np.histogram closes the last bin; the viewport's bins are half-open [a, b)
    counts[-1] -= int(np.sum(vp.ts[sel] == edges[-1]))
    return counts


def test_density_counts_match_a_brute_force_histogram() -> None:
    vp = _viewport()
    t0, t1 = int(vp.ts[1000]), int(vp.ts[8000])
    fr = vp.frame(t0, t1, -0.5, 10, pixels=50, glyph_limit=0)
    assert fr.mode == "density" and fr.density is not None
    edges = np.linspace(t0, t1 + 1, 51).astype(np.int64)
    for row in range(fr.row_lo, fr.row_hi):
        np.testing.assert_array_equal(fr.density[row - fr.row_lo], _brute_counts(vp, row, edges))
    assert fr.density.sum() == fr.visible_events


def test_glyphs_are_exactly_the_visible_events() -> None:
    vp = _viewport()
    t0, t1 = int(vp.ts[5000]), int(vp.ts[5100])
    fr = vp.frame(t0, t1, 1.5, 3.5, pixels=800)  # rows 2 and 3 only
    assert fr.mode == "glyphs"
    rows = vp.layout.row_of_rank[vp.layout.rank(vp.pid)]
    expect = np.flatnonzero((vp.ts >= t0) & (vp.ts <= t1) & (rows >= 2) & (rows <= 3))
    np.testing.assert_array_equal(fr.glyph_seq, expect)
    assert set(fr.glyph_row.tolist()) <= {2, 3}
    np.testing.assert_array_equal(fr.glyph_x, vp.ts[expect])


def test_many_events_turn_into_density() -> None:
    vp = _viewport()
    fr = vp.frame(vp.t_first, vp.t_last, -0.5, 10, pixels=100)
    assert fr.mode == "density"
    assert fr.visible_events == len(vp.ts)


def test_collapsed_group_counts_are_the_sum_of_its_lanes() -> None:
    vp = _viewport()
    vp.layout.set_collapsed([1])
    edges = np.linspace(vp.t_first, vp.t_last + 1, 21).astype(np.int64)
    got = vp.row_counts(1, 2, edges)[0]
    np.testing.assert_array_equal(got, _brute_counts(vp, 1, edges))


def test_big_groups_use_the_coarse_grid_and_keep_totals() -> None:
    vp = _viewport(n=20_000, workers=EXACT_GROUP_LANES + 10)
    vp.layout.set_collapsed([0])
    edges = np.array([vp.t_first, vp.t_last + 1])
    total = vp.row_counts(0, 1, edges)[0].sum()
    group = vp.layout.rows[0]
    ranks = vp.layout.rank(vp.pid)
    assert total == pytest.approx(np.sum((ranks >= group.lo) & (ranks < group.hi)), rel=1e-6)


def test_arrows_join_sender_and_receiver_rows_inside_the_window() -> None:
    vp = _viewport()
    t0, t1 = int(vp.ts[3000]), int(vp.ts[3060])
    fr = vp.frame(t0, t1, -0.5, 10, pixels=800)
    rows = vp.layout.row_of_rank[vp.layout.rank(vp.pid)]
    for x0, r0, x1, r1 in fr.arrows.tolist():
        s = int(np.flatnonzero(vp.ts == x0)[0])
        assert x1 >= t0 and x0 <= t1
        assert rows[s] == r0 and r0 != r1


def test_step_in_lane() -> None:
    vp = _viewport(n=500)
    pid = int(vp.pid[100])
    mine = np.flatnonzero(vp.pid == pid)
    nxt = vp.step_in_lane(pid, 100, 1)
    assert nxt == int(mine[mine > 100][0])
    prev = vp.step_in_lane(pid, 100, -1)
    assert prev == int(mine[mine < 100][-1])
    assert vp.step_in_lane(pid, int(mine[-1]), 1) is None


def test_frame_cost_does_not_grow_with_the_session() -> None:
    """The window query is O(visible rows x pixels x log n): 100x more events, same work."""
    import time

    def cost(vp: Viewport) -> float:
        best = 1e9
        for k in range(5):
            t0 = vp.t_first + (vp.t_last - vp.t_first) * k // 10
            start = time.perf_counter()
            vp.frame(t0, t0 + (vp.t_last - vp.t_first) // 20, -0.5, 5, pixels=400)
            best = min(best, time.perf_counter() - start)
        return best

    small, big = _viewport(n=10_000), _viewport(n=1_000_000)
    assert cost(big) < 10 * cost(small) + 0.005
